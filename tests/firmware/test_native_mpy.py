"""The C core as a native .mpy module (scripts/firmware.py --board mpy-ARCH, native/mpy_native/).

The x64 module is loaded by the stock PyPI unix port (`.venv/bin/micropython`, no core built in)
from a folder on its path, as a board loads gnc_native.mpy copied next to the flight code: the
shared vector set must pass on it, and firmware/gnc must pick it as its C backend. The ARM
modules are built and their headers checked here; tests/firmware/test_qemu_firmware.py loads
them on emulated Cortex-M boards.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hil.plugin import load_file, unavailable

ROOT = Path(__file__).resolve().parents[2]

fw = load_file("mitra_firmware_script_natmod", ROOT / "scripts" / "firmware.py")
# the vector set's runner and comparison (one copy of them, in tests/gnc/test_vectors.py)
vectors = load_file("mitra_vectors_for_natmod", ROOT / "tests" / "gnc" / "test_vectors.py")


@pytest.fixture(scope="module")
def x64_mpy(built_firmware):
    return Path(built_firmware("mpy-x64"))


def _stock(micropython_dir, code, **env):
    """(returncode, stdout, stderr) of the stock unix port with `micropython_dir` on its path
    (MICROPYPATH, as a board's / or /lib) and firmware/ first."""
    binary = vectors.runtimes.require_micropython()
    source = vectors.runtimes.firmware_path_setup("micropython") + code
    env = dict(os.environ, MICROPYPATH=str(micropython_dir), MITRA_GNC_BACKEND="", **env)
    proc = subprocess.run([binary, "-c", source], capture_output=True, timeout=120, env=env)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode(errors="replace")


@pytest.mark.micropython
def test_stock_unix_port_has_no_core_built_in(micropython):
    # the tests below prove something only if the module comes from the .mpy
    rc, out, err = _stock(ROOT / "build" / "nothing-here", "import gnc\nprint(gnc.BACKEND)\n")
    assert rc == 0, err
    assert out.split() == ["fallback"]


@pytest.mark.micropython
def test_mpy_x64_is_what_gnc_picks_on_the_stock_port(x64_mpy):
    code = ("import gnc, gnc_native\n"
            "print(gnc.BACKEND, gnc.quat_mul is gnc_native.quat_mul, gnc_native.__file__)\n")
    rc, out, err = _stock(x64_mpy.parent, code)
    assert rc == 0, err
    assert out.split() == ["native-mpy", "True", str(x64_mpy)]


@pytest.mark.micropython
def test_mpy_x64_raises_gnc_error_with_code_and_checks_buffers(x64_mpy):
    code = (
        "import gnc\nfrom array import array\n"
        "for args in ((array('f', bytes(16)),), ([1, 0, 0, 0],), (array('d', [1, 0, 0, 0]),)):\n"
        "    try:\n        gnc.quat_normalize(*args)\n"
        "    except gnc.GncError as e:\n        print(type(e).__name__, e.code, e)\n"
    )
    rc, out, err = _stock(x64_mpy.parent, code)
    assert rc == 0, err
    assert out.splitlines() == [
        "GncError 1 quat_normalize: argument outside its domain",
        "GncError 1 quat_normalize: argument 'q' is list, not a float32 buffer",
        "GncError 1 quat_normalize: argument 'q' holds 'd' items, needs float32 ('f')",
    ]


@pytest.mark.micropython
def test_mpy_x64_without_gnc_raises_value_error(x64_mpy):
    code = ("import gnc_native\nfrom array import array\n"
            "try:\n    gnc_native.quat_normalize(array('f', bytes(16)))\n"
            "except Exception as e:\n    print(type(e).__name__, hasattr(e, 'code'), e)\n")
    rc, out, err = _stock(x64_mpy.parent, code)
    assert rc == 0, err
    assert out.strip() == "ValueError False quat_normalize: argument outside its domain"


@pytest.mark.micropython
def test_mpy_x64_on_the_stock_port_passes_the_vector_set(x64_mpy):
    binary = vectors.runtimes.require_micropython()
    first, results = vectors.run_on_micropython(binary, env={"MICROPYPATH": str(x64_mpy.parent),
                                                             "MITRA_GNC_BACKEND": ""})
    assert first == "backend native-mpy float 8", first
    vectors.check_all("mpy-x64", results)


def _arm_mpy(built_firmware, arch):
    if shutil.which("arm-none-eabi-gcc") is None:
        unavailable("arm-none-eabi-gcc not installed")
    return Path(built_firmware("mpy-" + arch))


@pytest.mark.parametrize("arch", ["armv6m", "armv7m", "armv7emsp"])
def test_arm_mpy_is_built_for_its_architecture(built_firmware, arch):
    mpy = _arm_mpy(built_firmware, arch)
    assert fw.mpy_arch(mpy) == arch
    assert mpy.read_bytes()[:2] == b"M\x06"  # .mpy version 6: MicroPython 1.23 and later


@pytest.mark.micropython
def test_wrong_arch_mpy_fails_to_import_with_a_clear_error(built_firmware):
    # an RP2040 module on the x64 unix port: MicroPython refuses it by its header, before any
    # of its code runs, and `import gnc` passes the error on instead of quietly falling back
    mpy = _arm_mpy(built_firmware, "armv6m")
    for code in ("import gnc_native\n", "import gnc\n"):
        rc, out, err = _stock(mpy.parent, code)
        assert rc != 0
        printed = (out + err).strip().splitlines()  # the unix port prints a -c traceback on stdout
        assert printed[-1] == "ValueError: incompatible .mpy arch", out + err


def test_mpy_arch_reads_the_header_and_refuses_other_files(tmp_path):
    f = tmp_path / "gnc_native.mpy"
    f.write_bytes(b"M\x06" + bytes([(7 << 2) | 3, 31]) + bytes(8))
    assert fw.mpy_arch(f) == "armv7emsp"
    f.write_bytes(b"# not a .mpy\n")
    with pytest.raises(fw.BuildError, match="is not a .mpy file"):
        fw.mpy_arch(f)


def _script(*args):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "firmware.py"), *args], capture_output=True,
                          text=True, timeout=600)


def test_unknown_or_unreachable_architecture_is_one_clear_line():
    proc = _script("--board", "mpy-sparc")
    assert proc.returncode == 2 and "invalid choice: 'mpy-sparc'" in proc.stderr
    with pytest.raises(fw.BuildError, match="unknown native .mpy architecture 'sparc'"):
        fw.native_mpy("sparc", None)
    if shutil.which("xtensa-esp32-elf-gcc") is None:  # Debian and PyPI have no ESP32 compiler
        proc = _script("--board", "mpy-xtensawin")
        assert proc.returncode == 1
        assert proc.stderr.strip().splitlines() == [
            "firmware: a xtensawin native .mpy needs xtensa-esp32-elf-gcc: Espressif's ESP-IDF toolchain "
            "(neither Debian nor PyPI ships one; install ESP-IDF and put xtensa-esp32-elf/bin on PATH)"]
        assert _script("--board", "mpy-xtensawin", "--if-available").returncode == 0


def test_mpy_x64_second_build_is_cached_and_reports_its_size(x64_mpy):
    proc = _script("--board", "mpy-x64")
    assert proc.returncode == 0, proc.stderr
    assert "mpy-x64 (gnc_native.mpy): up to date" in proc.stderr and "building" not in proc.stderr
    assert "mpy-x64: the C core as a native module: %s (%d B file; text " % (x64_mpy, x64_mpy.stat().st_size) \
        in proc.stderr
    log = (x64_mpy.parent / "build.log").read_text()
    assert "CC src/steps.c" in log and "warning:" not in log
    assert (ROOT / "build" / "firmware" / "mpy-x64" / "gnc_native.mpy").read_bytes() == x64_mpy.read_bytes()


def test_mpy_without_the_core_is_refused_in_one_line(x64_mpy):
    proc = _script("--board", "mpy-x64", "--without-core")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == \
        "firmware: mpy-x64 is the core alone: there is nothing to build without it"


@pytest.mark.slow
def test_mpy_rebuilt_from_the_same_inputs_is_the_same_file(built_firmware):
    # mpy_ld.py takes libgcc's members (soft float on armv6m) in set order, which follows Python's
    # per-process string hashing: unseeded, each clean build was a different (valid) file, and a
    # board's copy-what-changed manifest saw a new module after every clean build
    mpy = _arm_mpy(built_firmware, "armv6m")
    before = mpy.read_bytes()
    for _ in range(2):
        shutil.rmtree(mpy.parent / "build")  # dynruntime.mk's objects and config.h: a clean build
        shutil.rmtree(mpy.parent / ".mpy_ld_cache", ignore_errors=True)
        mpy.unlink()
        again = fw.native_mpy("armv6m", fw.Source(), force=True)
        assert again == mpy and again.read_bytes() == before
