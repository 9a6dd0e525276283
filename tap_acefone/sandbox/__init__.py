"""A local, faithful Acefone API for tests, the demo and benchmarks."""

from .clock import Clock
from .config import SandboxConfig
from .faults import Faults
from .realtime import ManualTime, RealTime, SystemTime
from .reqlog import RequestLogEntry
from .sandbox import Sandbox
from .truth import TruthRow

__all__ = [
    "Clock",
    "Faults",
    "ManualTime",
    "RealTime",
    "RequestLogEntry",
    "Sandbox",
    "SandboxConfig",
    "SystemTime",
    "TruthRow",
]
