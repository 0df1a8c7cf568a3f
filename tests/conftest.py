"""Shared fixtures: firmware importable under CPython, and a MicroPython runner."""

import os
import sys
from pathlib import Path

import pytest

from ground import FIRMWARE_DIR
from hil import runtimes

pytest_plugins = ["hil.plugin"]

_NATIVE = Path(__file__).resolve().parents[1] / "native"


def pytest_sessionstart(session):
    """A cffi core older than the C it is built from would test yesterday's code: stop with the fix."""
    built = sorted(_NATIVE.glob("_gnc*.so"))
    if not built:
        return  # not installed: the tests that need it skip (or fail under CI) with their own reason
    sources = [*_NATIVE.glob("src/*.[ch]"), *_NATIVE.glob("include/*.h"), _NATIVE / "build_ffi.py"]
    newest = max(sources, key=lambda p: p.stat().st_mtime)
    if newest.stat().st_mtime > built[0].stat().st_mtime:
        pytest.exit("%s is older than %s: run `make native` (or `make test`, which rebuilds it)"
                    % (built[0].relative_to(_NATIVE.parent), newest.relative_to(_NATIVE.parent)), returncode=4)

for _p in (str(FIRMWARE_DIR), str(runtimes.CPYTHON_SHIMS)):
    if _p not in sys.path:
        sys.path.insert(0, _p)


@pytest.fixture(scope="session")
def micropython():
    """Runs a snippet on the MicroPython unix port: micropython(code, stdin=b'') -> stdout bytes."""
    if runtimes.micropython_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have the MicroPython unix port; `make test` installs it")
        pytest.skip("MicroPython unix port not installed (set MITRA_MICROPYTHON)")

    def run(code, **kwargs):
        return runtimes.run_snippet(code, runtime="micropython", **kwargs)

    return run
