"""One virtualenv per Singer target, built from a pinned requirements file and cached.

Targets pin conflicting libraries (jsonschema 2.6 for target-jsonl, 3.2 for pipelinewise,
4.x for the SDK targets), so each gets its own venv, never the tap's. A venv lives under
`.tmp/target-venvs/<name>-<key>`, where the key hashes the requirements file and the
interpreter's version: a repeated local run reuses it, a changed pin builds a new one, and a
clean CI checkout builds each once. The venv is built in a scratch directory and renamed
into place only once pip succeeded, so an interrupted build is never mistaken for a cached one.

Each target names the Python it needs, found as `python3.X` on PATH or under pyenv
(`TAP_ACEFONE_PYTHON_3_X` overrides it). Python 3.11 by default: pipelinewise-target-postgres
2.1.2 pins psycopg2-binary 2.9.5, whose newest wheels are for CPython 3.11 (on 3.12+ pip
would build it from source: pg_config and a C compiler). target-sqlite 0.2.0 needs 3.9: its
SQLAlchemy 1.2 uses `collections.MutableMapping`, gone since Python 3.10.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = Path(__file__).parent / "requirements"
CACHE = REPO_ROOT / ".tmp" / "target-venvs"
INSTALL_TIMEOUT_S = 900


def find_python(version: str) -> str | None:
    """An interpreter of this `major.minor` version, or None."""
    chosen = os.environ.get(f"TAP_ACEFONE_PYTHON_{version.replace('.', '_')}")
    if chosen:
        return chosen
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if found and _runs(found):
        return found
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(pyenv.glob(f"versions/{version}.*/bin/python{version}"), reverse=True)
    return next((str(c) for c in candidates if _runs(str(c))), None)


def _runs(python: str) -> bool:
    """pyenv's shims exist for every name but fail for a version not selected."""
    try:
        result = subprocess.run([python, "-c", ""], capture_output=True, timeout=60, check=False)
    except OSError:
        return False
    return result.returncode == 0


def _python_version(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


def target_venv(name: str, python_version: str = "3.11") -> Path:
    """The venv of target `name` (requirements/<name>.txt), built if not cached yet."""
    requirements = REQUIREMENTS / f"{name}.txt"
    python = find_python(python_version)
    if python is None:
        raise RuntimeError(f"{name} needs Python {python_version}: none found")
    version = _python_version(python)
    key = hashlib.sha256(requirements.read_bytes() + version.encode()).hexdigest()[:12]
    venv = CACHE / f"{name}-py{version}-{key}"
    if (venv / "bin" / "python").exists():
        return venv
    scratch = CACHE / f".building-{name}-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([python, "-m", "venv", str(scratch)], check=True, timeout=300)
        result = subprocess.run(
            [str(scratch / "bin" / "pip"), "install", "--quiet", "-r", str(requirements)],
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"pip install -r {requirements.name} failed with Python {version}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        # A venv's scripts name its own path: fix them up for the final location.
        _relocate(scratch, venv)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return venv


def _relocate(scratch: Path, venv: Path) -> None:
    old, new = str(scratch), str(venv)
    for script in (scratch / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            data = script.read_bytes()
            if data.startswith(b"#!") and old.encode() in data:
                script.write_bytes(data.replace(old.encode(), new.encode()))
    cfg = scratch / "pyvenv.cfg"
    cfg.write_text(cfg.read_text().replace(old, new))
    if venv.exists():  # another run built it meanwhile
        return
    scratch.rename(venv)
