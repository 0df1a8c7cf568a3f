"""Shared fixtures: firmware importable under CPython, and a MicroPython runner."""

import os
import sys

import pytest

from ground import FIRMWARE_DIR
from hil import runtimes

pytest_plugins = ["hil.plugin"]

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
