"""Shared fixtures: firmware importable under CPython, and a MicroPython runner."""

import importlib.util
import sys
from pathlib import Path

import pytest

from ground import FIRMWARE_DIR
from ground import runtimes

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
    from hil.plugin import need_micropython  # the plugin this file registers, imported by pytest first

    need_micropython()

    def run(code, **kwargs):
        return runtimes.run_snippet(code, runtime="micropython", **kwargs)

    return run


@pytest.fixture(scope="session")
def built_firmware():
    """built_firmware(board) -> path of MicroPython firmware with the C core built in
    (scripts/firmware.py; `make test` builds `unix` first, so this is a cached no-op there).
    Skips when there is no MicroPython source (vendor tarball or MICROPY_DIR) or toolchain; fails
    so under CI."""
    spec = importlib.util.spec_from_file_location("mitra_firmware_script", _NATIVE.parent / "scripts" / "firmware.py")
    fw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fw)
    done = {}

    def build(board):
        if board not in done:
            try:
                done[board] = fw.firmware(board, fw.Source())
            except fw.Unavailable as e:
                done[board] = e
        if isinstance(done[board], Exception):
            from hil.plugin import unavailable

            unavailable("cannot build %s firmware: %s" % (board, done[board]), "CI must build %s firmware (the vendor "
                        "tarball beside the checkout, or MICROPY_DIR; scripts/bootstrap.sh installs the toolchains): %s"
                        % (board, done[board]))
        return str(done[board])

    return build
