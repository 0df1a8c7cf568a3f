"""Building MicroPython firmware with the C core built in (scripts/firmware.py, `make firmware`).

Fast checks first; then the unix firmware itself (slow: built once by the `built_firmware`
fixture or `make test`, then cached), whose `import gnc` must run the built-in C core. The
vector set runs on it in tests/gnc/test_vectors.py.
"""

import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ground import runtimes

ROOT = Path(__file__).resolve().parents[2]

# the executables MicroPython's make-based ports link into their build folder
_PORT_EXECUTABLES = {"micropython", "mpy-cross", "firmware"}


def test_user_module_folder_is_not_named_like_a_port_executable():
    # `make -C ports/unix USER_C_MODULES=native` builds each module folder's objects under
    # build-standard/<folder>/ and links build-standard/micropython: a module folder named
    # `micropython` made that path a directory and the link failed.
    folders = [p.parent.name for p in (ROOT / "native").glob("*/micropython.mk")]
    assert folders == ["mpy_module"], folders
    assert not set(folders) & _PORT_EXECUTABLES


# ---- the unix firmware with the C core (slow: built once, then cached) -----------------------

_BACKEND = "import gnc, gnc_native\nprint(gnc.BACKEND, gnc.quat_mul is gnc_native.quat_mul)\n"


def _run(binary, code, **env):
    source = runtimes.firmware_path_setup("micropython") + code
    proc = subprocess.run([binary, "-c", source], capture_output=True, timeout=60, env=dict(os.environ, **env))
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.decode().split()


@pytest.mark.slow
@pytest.mark.micropython
def test_unix_firmware_gnc_uses_the_built_in_c_core(built_firmware):
    assert _run(built_firmware("unix"), _BACKEND, MITRA_GNC_BACKEND="") == ["native-mpy", "True"]


@pytest.mark.slow
@pytest.mark.micropython
def test_unix_firmware_gnc_backend_env_selects_the_fallback(built_firmware):
    # the C module is there (importable), but gnc answers with the fallback
    assert _run(built_firmware("unix"), _BACKEND, MITRA_GNC_BACKEND="fallback") == ["fallback", "False"]


@pytest.mark.slow
@pytest.mark.micropython
def test_unix_firmware_c_core_raises_gnc_error_with_code(built_firmware):
    code = (
        "import gnc\nfrom array import array\n"
        "try:\n    gnc.quat_normalize(array('f', bytes(16)))\n"
        "except gnc.GncError as e:\n    print(type(e).__name__, e.code, e)\n"
    )
    assert _run(built_firmware("unix"), code) == "GncError 1 quat_normalize: argument outside its domain".split()


@pytest.mark.slow
def test_firmware_script_second_run_builds_nothing_and_reports_size(built_firmware):
    built_firmware("unix")  # built (or already up to date)
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "firmware.py"), "--board", "unix"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "unix (C core built in): up to date" in proc.stderr
    assert "building" not in proc.stderr
    assert "unix with the C core: " in proc.stderr and " B file; text " in proc.stderr
    log = (Path(proc.stderr.split("unix with the C core: ")[1].split(" (")[0]).parent / "build.log").read_text()
    assert "native/mpy_module/modgnc.c" in log  # the core was compiled in ...
    assert "warning:" not in log  # ... without a warning


@pytest.mark.slow
def test_rp2_pico_firmware_holds_the_c_core(built_firmware):
    # RPI_PICO with native/mpy_module/micropython.cmake (scripts/firmware.py checks the module's
    # name is in the image before it calls a build done; here: the core's functions are linked)
    image = Path(built_firmware("rp2-pico"))
    elf = image.with_suffix(".elf")
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    linked = {line.split()[-1] for line in out.splitlines()}
    assert {"gnc_inspector_step", "gnc_rover_step", "gnc_quat_mul"} <= linked
    assert image.stat().st_size < 2 * 1024 * 1024  # fits the Pico's 2 MB flash


def _qemu_repl(elf, lines, marker, timeout=30):
    """What MicroPython on qemu-system-arm (mps2-an385, UART on stdio) prints until `marker`
    (which must not occur in the echoed input)."""
    argv = ["qemu-system-arm", "-machine", "mps2-an385", "-nographic", "-monitor", "null", "-semihosting",
            "-serial", "stdio", "-kernel", str(elf)]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = b""
    try:
        proc.stdin.write("".join(line + "\r" for line in lines).encode())
        proc.stdin.flush()
        deadline = time.monotonic() + timeout  # a limit on a hang, not a timed assert
        while marker.encode() not in out and time.monotonic() < deadline:
            if select.select([proc.stdout], [], [], 0.5)[0]:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
    finally:
        proc.kill()
        proc.wait()
    return out.decode(errors="replace")


@pytest.mark.slow
def test_qemu_an385_firmware_links_and_runs_the_c_core(built_firmware):
    # the qemu port links MicroPython's own lib/libm: the core used to fail there on fminf/fmaxf
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm not installed (scripts/bootstrap.sh installs it)")
    elf = built_firmware("qemu-an385")
    out = _qemu_repl(elf, [
        "import gnc_native",
        "from array import array",
        "o = array('f', bytes(16))",
        "gnc_native.quat_mul(array('f', [0.5, 0.5, 0.5, 0.5]), array('f', [0, 1, 0, 0]), o)",
        "print('RESULT', list(o), gnc_native.quat_angle(array('f', [1, 0, 0, 0]), array('f', [0, 1, 0, 0])), 'END')",
    ], "END\r\n")
    assert "RESULT [-0.5, 0.5, 0.5, -0.5] 3.1415928 END" in out, out[-2000:]


def _git(*argv, cwd):
    subprocess.run(["git", *argv], cwd=cwd, check=True, capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t"))


def _vendor_dir_of(checkout):
    from hil.plugin import load_file

    return load_file("mitra_firmware_script_vendor", checkout / "scripts" / "firmware.py").vendor_dir()


def test_vendor_folder_of_a_clone_is_the_one_beside_the_checkout_it_was_cloned_from(tmp_path):
    # a CI run's `git clone . /tmp/ci` has no ../shared of its own; the working tree it came from has
    work = tmp_path / "work"
    (work / "main" / "scripts").mkdir(parents=True)
    (work / "shared" / "vendor").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "firmware.py", work / "main" / "scripts")
    _git("init", "-q", cwd=work / "main")
    _git("add", "scripts", cwd=work / "main")
    _git("commit", "-q", "-m", "x", cwd=work / "main")
    _git("clone", "-q", str(work / "main"), str(tmp_path / "ci"), cwd=tmp_path)
    assert _vendor_dir_of(work / "main") == work / "shared" / "vendor"  # beside the checkout itself
    assert _vendor_dir_of(tmp_path / "ci") == (work / "shared" / "vendor").resolve()  # beside its origin
    _git("remote", "set-url", "origin", "https://example.com/mitra.git", cwd=tmp_path / "ci")
    assert _vendor_dir_of(tmp_path / "ci") == tmp_path / "shared" / "vendor"  # a remote origin: beside the clone


def test_a_changed_board_file_starts_the_build_afresh_a_changed_source_does_not(tmp_path, capsys):
    # make tracks sources, not flags: a board folder's .mk sets flags (the qemu boards' heap), so a
    # change to it must clean the build folder, where a changed C source only re-runs make
    from hil.plugin import load_file

    fw = load_file("mitra_firmware_script_cache", ROOT / "scripts" / "firmware.py")
    monkey = pytest.MonkeyPatch()
    monkey.setattr(fw, "ROOT", tmp_path)
    board_mk, source_c = tmp_path / "board.mk", tmp_path / "core.c"
    board_mk.write_text("HEAP = 143360\n")
    source_c.write_text("int x;\n")
    build = tmp_path / "build"
    out = build / "firmware.elf"
    make = [sys.executable, "-c", "import pathlib; p = pathlib.Path(%r); p.parent.mkdir(exist_ok=True); "
            "p.write_text('built'); (p.parent / 'object.o').write_text('')" % str(out)]

    class Source:
        ident = "tar:test"

    def build_once():
        fw._cached(Source(), make, out, build, "test board", False, files=[board_mk, source_c], config_files=[board_mk])
        return capsys.readouterr().err

    try:
        assert "building" in build_once()
        assert "up to date" in build_once()
        source_c.write_text("int y;\n")
        said = build_once()
        assert "building" in said and "cleaning" not in said
        board_mk.write_text("HEAP = 245888\n")
        said = build_once()
        assert "build command or board files changed, cleaning" in said and "building" in said
        assert "up to date" in build_once()
    finally:
        monkey.undo()
