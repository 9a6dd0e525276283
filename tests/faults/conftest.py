"""Fixtures of the fault suite: a sandbox that knows only the suite's distinctive secrets."""

from __future__ import annotations

import pytest

from tap_acefone.sandbox import Sandbox
from tests.conftest import SandboxFactory
from tests.faults.support import secret_sandbox


@pytest.fixture
def secret_sb(make_sandbox: SandboxFactory) -> Sandbox:
    """Two days of calls; accepts only the suite's static tokens and password."""
    return secret_sandbox(make_sandbox, days=2)
