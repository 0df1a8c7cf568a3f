"""GNC test fixtures: the cffi core built once per session into a pytest tmp dir.

Development build (MITRA_GNC_PARTIAL=1: functions not yet defined in native/src are left
out). To be replaced by the installed `native` package wrapper.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def gnc(tmp_path_factory):
    """(ffi, lib) of the C core."""
    out = tmp_path_factory.mktemp("gncbuild")
    env = dict(os.environ, MITRA_GNC_PARTIAL="1")
    subprocess.run([sys.executable, str(ROOT / "native" / "build_ffi.py"), str(out)], cwd=ROOT, env=env, check=True)
    so = next((out / "native").glob("_gnc*.so"))
    spec = importlib.util.spec_from_file_location("native._gnc", so)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.ffi, mod.lib
