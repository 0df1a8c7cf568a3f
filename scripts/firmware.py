#!/usr/bin/env python3
"""Build MicroPython firmware with the mitra C core built in, offline and cached.

    python scripts/firmware.py --board unix              # `make firmware BOARD=unix`
    python scripts/firmware.py --board rp2-pico          # also the same firmware without the core
    python scripts/firmware.py --board unix --path       # print the executable's path, build nothing

Boards: `unix` (the unix port's standard variant: double-precision floats, for tests and
benchmarks), `unix-f32` (the same with single-precision floats, like the boards), `unix-m32`
(32-bit with single-precision floats: a board's object sizes, for the memory budgets; needs
gcc-multilib), `rp2-pico`
(RPI_PICO; needs gcc-arm-none-eabi, libstdc++-arm-none-eabi-newlib, cmake), `qemu-an385` (the
qemu port's mps2-an385, Cortex-M3, for qemu-system-arm; needs gcc-arm-none-eabi), `qemu-an386`
(mps2-an386, Cortex-M4F); both on our board folders in boards/qemu/ (asyncio, a littlefs RAM
disk at /, main.py autorun), and, like `rp2-pico`, also built without the core for its size.

The core as a native .mpy module for stock firmware (`make firmware BOARD=mpy-x64`, or
`make native-mpy ARCH=armv6m`): `mpy-ARCH` builds gnc_native.mpy with MicroPython's
py/dynruntime.mk and tools/mpy_ld.py (PyPI pyelftools and ar, the test extra) from
native/mpy_native/, for ARCH x64 (the unix port), armv6m (RP2040), armv7m (Cortex-M3),
armv7emsp (Cortex-M4F) or xtensawin (ESP32, ESP32-S3: needs Espressif's xtensa-esp32-elf-gcc,
which neither Debian nor PyPI ships). Copy it beside the flight code (`mpremote cp
gnc_native.mpy :`): `import gnc_native` finds a .mpy on sys.path like a .py.

The MicroPython source is $MICROPY_DIR (or --micropy-dir) when set, else the vendor tarball
(MITRA_MICROPY_TARBALL, default ../shared/vendor/micropython-v1.28.0-rp2-src.tar.gz beside the
repository, or beside the local checkout a clone was made from: `vendor_dir()`), unpacked once into the cache. Everything is built out of tree under the cache
($MITRA_CACHE, default ~/.cache/mitra): nothing is written into the repository or into a
user's MicroPython tree. The core goes in as the user C module native/mpy_module/
(`gnc_native`). A build whose inputs (the core's sources, the source tree, the command) have
not changed since the last successful one is not run again (--force runs make anyway). A
compiler warning fails the build. The sizes are printed at the end.
"""

import argparse
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE_DIR = ROOT / "native" / "mpy_module"
TARBALL_NAME = "micropython-v1.28.0-rp2-src.tar.gz"


def vendor_dir():
    """The folder of third-party build inputs, ../shared/vendor/ beside this checkout; for a clone of
    a local checkout (a CI run's `git clone . /tmp/ci`), beside the checkout it was cloned from."""
    here = ROOT.parent / "shared" / "vendor"
    if here.is_dir():
        return here
    try:
        url = subprocess.run(["git", "-C", str(ROOT), "config", "--get", "remote.origin.url"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        url = ""
    if url.startswith("file://"):
        url = url[len("file://"):]
    if url and "://" not in url and not re.match(r"^[^/]+:", url):  # a path, not a URL or host:path
        origin = Path(url).expanduser()
        beside = (origin if origin.is_absolute() else ROOT / origin).resolve().parent / "shared" / "vendor"
        if beside.is_dir():
            return beside
    return here
_RECIPE = 2  # bump when a build command below changes in a way the stamp cannot see

# The unix port's standard variant needs two submodules the tarball leaves empty: berkeley-db
# (btree) and libffi (when no system libffi is found); the flight software uses neither.
UNIX_MAKE = ["MICROPY_PY_BTREE=0", "MICROPY_PY_FFI=0"]

NATMOD_DIR = ROOT / "native" / "mpy_native"
NATMOD_FILES = ("gnc_native.c", "natmod_libc.c", "Makefile")  # native/mpy_native/'s build inputs
QEMU_BOARDS = ROOT / "boards" / "qemu"
# native .mpy architectures (py/dynruntime.mk's ARCH) -> the C compiler they need and the number
# the .mpy header carries (py/persistentcode.h MP_NATIVE_ARCH_*)
NATMOD_ARCHS = {
    "x64": {"cc": "gcc", "code": 2},
    "armv6m": {"cc": "arm-none-eabi-gcc", "code": 4},
    "armv7m": {"cc": "arm-none-eabi-gcc", "code": 5},
    "armv7emsp": {"cc": "arm-none-eabi-gcc", "code": 7},
    "xtensawin": {"cc": "xtensa-esp32-elf-gcc", "code": 10},
}
_TOOLCHAIN_HINT = {
    "gcc": "sudo apt-get install gcc",
    "arm-none-eabi-gcc": "sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi",
    "xtensa-esp32-elf-gcc": "Espressif's ESP-IDF toolchain (neither Debian nor PyPI ships one; "
                            "install ESP-IDF and put xtensa-esp32-elf/bin on PATH)",
}

BOARDS = {
    "unix": {"port": "unix", "make": ["VARIANT=standard", *UNIX_MAKE], "output": "micropython"},
    # the 64-bit standard variant with single-precision floats (the longlong variant has them too
    # but builds with -m32, which needs gcc-multilib)
    "unix-f32": {"port": "unix", "make": ["VARIANT=standard", *UNIX_MAKE,
                                          "CFLAGS_EXTRA=-DMICROPY_FLOAT_IMPL=MICROPY_FLOAT_IMPL_FLOAT"],
                 "output": "micropython"},
    # a 32-bit build (pointers and objects the size of a Cortex-M's) with single-precision floats:
    # the unix port nearest an RP2040's heap, for the memory budgets (needs gcc-multilib)
    "unix-m32": {"port": "unix", "make": ["VARIANT=standard", *UNIX_MAKE, "MICROPY_FORCE_32BIT=1",
                                          "CFLAGS_EXTRA=-DMICROPY_FLOAT_IMPL=MICROPY_FLOAT_IMPL_FLOAT"],
                 "output": "micropython"},
    "rp2-pico": {"port": "rp2", "make": ["BOARD=RPI_PICO"], "output": "firmware.bin", "without_core": True},
    # the qemu port (MicroPython's lib/libm, single-precision floats) on our boards in boards/qemu/:
    # the port's MPS2 support plus asyncio, a littlefs RAM disk at / and main.py autorun. an385:
    # Cortex-M3 (qemu-system-arm -machine mps2-an385); an386: Cortex-M4F (-machine mps2-an386).
    "qemu-an385": {"port": "qemu", "make": ["BOARD=MITRA_AN385", "BOARD_DIR=%s" % (QEMU_BOARDS / "MITRA_AN385")],
                   "output": "firmware.elf", "without_core": True, "inputs": QEMU_BOARDS},
    "qemu-an386": {"port": "qemu", "make": ["BOARD=MITRA_AN386", "BOARD_DIR=%s" % (QEMU_BOARDS / "MITRA_AN386")],
                   "output": "firmware.elf", "without_core": True, "inputs": QEMU_BOARDS},
}
BOARDS.update({"mpy-" + arch: {"natmod": arch, "output": "gnc_native.mpy"} for arch in NATMOD_ARCHS})


class BuildError(RuntimeError):
    """A build that could not run or failed; the message says why and what to do."""


class Unavailable(BuildError):
    """No MicroPython source or no toolchain for the board: nothing to build with (--if-available skips)."""


def say(msg):
    print("firmware: %s" % msg, file=sys.stderr, flush=True)


def cache_root():
    root = os.environ.get("MITRA_CACHE")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mitra"


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Source:
    """The MicroPython tree to build from: `top` (the folder holding py/ and ports/), `ident`."""

    def __init__(self, micropy_dir=None, tarball=None):
        micropy_dir = micropy_dir or os.environ.get("MICROPY_DIR")
        if micropy_dir:
            top = Path(micropy_dir).resolve()
            if not (top / "py" / "mkenv.mk").exists():
                raise BuildError("%s is not a MicroPython source tree (no py/mkenv.mk)" % top)
            self.top, self.ident, self.tarball = top, "dir:%s" % top, None
            return
        tarball = Path(tarball or os.environ.get("MITRA_MICROPY_TARBALL") or vendor_dir() / TARBALL_NAME)
        if not tarball.exists():
            raise Unavailable("no MicroPython source: %s is missing; set MICROPY_DIR to a MicroPython checkout "
                             "(v1.22 or later, with the port's submodules)" % tarball)
        self.tarball = tarball
        digest = _sha256(tarball)
        self.ident = "tar:%s" % digest
        dest = cache_root() / "src" / ("%s-%s" % (tarball.name.split(".tar")[0], digest[:12]))
        self.top = dest / "mp"
        if not (dest / ".complete").exists():
            self._unpack(tarball, dest)

    @staticmethod
    def _unpack(tarball, dest):
        say("unpacking %s into %s" % (tarball.name, dest))
        tmp = dest.with_name(dest.name + ".tmp%d" % os.getpid())
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        with tarfile.open(tarball) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(tmp, filter="data")
            else:
                tar.extractall(tmp)
        if not (tmp / "mp" / "py" / "mkenv.mk").exists():
            shutil.rmtree(tmp, ignore_errors=True)
            raise BuildError("%s does not hold a MicroPython tree under mp/" % tarball)
        (tmp / ".complete").write_text("")
        try:
            tmp.rename(dest)
        except OSError:  # another build unpacked it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
            if not (dest / ".complete").exists():
                raise

    def build_root(self):
        return cache_root() / "build" / hashlib.sha256(self.ident.encode()).hexdigest()[:12]


def _core_sources():
    return [*sorted((ROOT / "native" / "src").glob("*.[ch]")), *sorted((ROOT / "native" / "include").glob("*.h"))]


def core_files():
    """The files the user C module is built from, in a stable order."""
    return [*_core_sources(), MODULE_DIR / "modgnc.c", MODULE_DIR / "micropython.mk", MODULE_DIR / "micropython.cmake"]


def natmod_files():
    """The files the native .mpy module is built from, in a stable order."""
    return [*_core_sources(), *(NATMOD_DIR / name for name in NATMOD_FILES)]


def _inputs_key(source, argv, files):
    h = hashlib.sha256()
    h.update(("%d\n%s\n%s\n" % (_RECIPE, source.ident, "\0".join(argv))).encode())
    for f in files:
        h.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _run(argv, log, env=None, cwd=None):
    """Run a build command with its output in `log`; fail with the log's tail, or on a warning."""
    with open(log, "w") as f:
        f.write("$ %s\n" % " ".join(argv))
        f.flush()
        rc = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=cwd).returncode
    text = Path(log).read_text(errors="replace")
    if rc != 0:
        raise BuildError("%s failed (exit %d); the end of %s:\n%s" % (argv[0], rc, log, "\n".join(
            text.splitlines()[-25:])))
    warnings = [line for line in text.splitlines() if re.search(r"\bwarning:", line)]
    if warnings:
        raise BuildError("%d compiler warnings (see %s):\n%s" % (len(warnings), log, "\n".join(warnings[:10])))


def _jobs(jobs):
    return "-j%d" % (jobs or int(os.environ.get("MITRA_JOBS", "2")))


def mpy_cross(source, jobs=None):
    """Path of mpy-cross built from `source` (cached)."""
    out = source.build_root() / "mpy-cross"
    exe = out / "mpy-cross"
    argv = ["make", "-C", str(source.top / "mpy-cross"), _jobs(jobs), "BUILD=%s" % out]
    return _cached(source, argv, exe, out, "mpy-cross", with_core=False)


def _cached(source, argv, output, build_dir, what, with_core, env=None, force=False, module=None, files=None,
            prepare=None, config_files=()):
    # module: True / False when the output must / must not hold the module gnc_native;
    # files: the inputs besides the source tree (default: core_files() with the core, else none);
    # config_files: those of them that set the build's flags (a board folder's .mk and .h), which
    # make does not track: a change to one starts the build afresh, as a changed command does;
    # prepare(): called in the (cleaned) folder before make runs
    build_dir.mkdir(parents=True, exist_ok=True)
    recorded = [a for a in argv if not a.startswith("-j")]
    if files is None:
        files = core_files() if with_core else []
    key = _inputs_key(source, recorded, files)
    config = _inputs_key(source, recorded, config_files)
    stamp = build_dir / ".mitra-stamp"
    with open(build_dir / ".mitra-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build per folder at a time (parallel `make test`s)
        if not force and output.exists() and stamp.exists() and stamp.read_text() == key:
            say("%s: up to date (%s)" % (what, output))
            return output
        # make does not see changed flags and cmake configures once: another command starts afresh
        configured = build_dir / ".mitra-config"
        leftovers = [p for p in build_dir.iterdir() if p.name != ".mitra-lock"]
        if leftovers and not (configured.exists() and configured.read_text() == config):
            say("%s: build command or board files changed, cleaning %s" % (what, build_dir))
            for p in leftovers:
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
        configured.write_text(config)
        say("%s: building (log: %s)" % (what, build_dir / "build.log"))
        t0 = time.monotonic()
        stamp.unlink(missing_ok=True)
        if prepare is not None:
            prepare()
        _run([a for a in argv if not a.startswith("CMAKE_ARGS=")], build_dir / "build.log", env=env)
        if not output.exists():
            raise BuildError("%s: the build finished without %s" % (what, output))
        if module is not None and (b"gnc_native" in output.read_bytes()) != module:
            raise BuildError("%s: %s %s the module gnc_native" % (what, output, "lacks" if module else "has"))
        stamp.write_text(key)
        say("%s: built in %.0f s" % (what, time.monotonic() - t0))
    return output


def _arm_toolchain():
    # the rp2 port links C++ (pico-sdk): the cross compiler's libstdc++ must be there too
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("cmake") is None:
        return False
    lib = subprocess.run(["arm-none-eabi-gcc", "-print-file-name=libstdc++.a"], capture_output=True, text=True)
    return os.path.isabs(lib.stdout.strip())


def _board_build_dir(source, board, with_core):
    return source.build_root() / (board + ("" if with_core else "-nocore"))


def _natmod_python():
    """A Python that can run tools/mpy_ld.py (pyelftools and ar): this one, else the repository's .venv."""
    for python in (sys.executable, str(ROOT / ".venv" / "bin" / "python")):
        if os.path.exists(python) and subprocess.run([python, "-c", "import elftools, ar"],
                                                     capture_output=True).returncode == 0:
            return python
    raise Unavailable("native .mpy modules need the PyPI packages pyelftools and ar (mpy_ld.py): "
                      ".venv/bin/pip install pyelftools ar (the test extra has them: make setup)")


def mpy_arch(path):
    """The architecture a native .mpy file is built for (a NATMOD_ARCHS key), from its header."""
    head = Path(path).read_bytes()[:4]
    if len(head) < 4 or head[0] != ord("M"):
        raise BuildError("%s is not a .mpy file" % path)
    code = head[2] >> 2
    for arch, spec in NATMOD_ARCHS.items():
        if spec["code"] == code:
            return arch
    raise BuildError("%s is a .mpy for architecture number %d, not one of %s" % (path, code, ", ".join(NATMOD_ARCHS)))


def native_mpy(arch, source, jobs=None, force=False):
    """Build the core as the native module gnc_native.mpy for `arch` (cached); return its path."""
    if arch not in NATMOD_ARCHS:
        raise BuildError("unknown native .mpy architecture %r (one of %s)" % (arch, ", ".join(NATMOD_ARCHS)))
    cc = NATMOD_ARCHS[arch]["cc"]
    if shutil.which(cc) is None:
        raise Unavailable("a %s native .mpy needs %s: %s" % (arch, cc, _TOOLCHAIN_HINT[cc]))
    python = _natmod_python()
    board = "mpy-" + arch
    build_dir = _board_build_dir(source, board, True)
    links = {name: NATMOD_DIR / name for name in NATMOD_FILES}
    links.update({"src": ROOT / "native" / "src", "include": ROOT / "native" / "include",
                  "libm": source.top / "lib" / "libm"})

    def prepare():
        # dynruntime.mk builds $(BUILD)/<source path>.o: the sources are linked into the folder
        for name, target in links.items():
            link = build_dir / name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(target)

    # PYTHONHASHSEED (make puts command-line variables in its recipes' environment): mpy_ld.py links
    # libgcc's members in set order, so with string hashing seeded the same inputs give the same
    # file (a board's copy-what-changed manifest sees no change after a clean build)
    argv = ["make", "-C", str(build_dir), _jobs(jobs), "ARCH=%s" % arch, "MPY_DIR=%s" % source.top,
            "PYTHON=%s" % python, "PYTHONHASHSEED=0"]
    out = _cached(source, argv, build_dir / "gnc_native.mpy", build_dir, "%s (gnc_native.mpy)" % board, True,
                  force=force, files=natmod_files(), prepare=prepare)
    if mpy_arch(out) != arch:
        raise BuildError("%s: %s is a %s module" % (board, out, mpy_arch(out)))
    return out


def firmware(board, source, with_core=True, jobs=None, force=False):
    """Build `board`'s firmware from `source` (cached); return the path of its output."""
    spec = BOARDS[board]
    if "natmod" in spec:
        return native_mpy(spec["natmod"], source, jobs=jobs, force=force)
    cross = mpy_cross(source, jobs)
    build_dir = _board_build_dir(source, board, with_core)
    port = spec["port"]
    env = dict(os.environ, MICROPY_MPYCROSS=str(cross))
    argv = ["make", "-C", str(source.top / "ports" / port), _jobs(jobs), *spec["make"],
            "MICROPY_MPYCROSS=%s" % cross]
    if port in ("unix", "qemu"):
        if port == "qemu" and shutil.which("arm-none-eabi-gcc") is None:
            raise Unavailable("%s needs arm-none-eabi-gcc: sudo apt-get install gcc-arm-none-eabi "
                             "libnewlib-arm-none-eabi" % board)
        # make-based ports take the folder holding module folders
        argv.append("BUILD=%s" % build_dir)
        if with_core:
            argv.append("USER_C_MODULES=%s" % MODULE_DIR.parent)
    else:
        if not _arm_toolchain():
            raise Unavailable("%s needs arm-none-eabi-gcc, its libstdc++ and cmake: sudo apt-get install "
                             "gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib cmake" % board)
        argv.append("BUILD=%s" % build_dir)
        if with_core:
            argv.append("USER_C_MODULES=%s" % (MODULE_DIR / "micropython.cmake"))
        # no picotool download: .bin and .elf, no .uf2 (../shared/vendor/README.md). In the
        # environment, not on make's command line, where it would replace the port's own
        # CMAKE_ARGS (board, USER_C_MODULES) instead of adding to them.
        env["CMAKE_ARGS"] = "-DPICO_NO_PICOTOOL=1"
        argv.insert(0, "CMAKE_ARGS=-DPICO_NO_PICOTOOL=1")  # recorded in the stamp; stripped before running
    what = "%s%s" % (board, " (C core built in)" if with_core else " (without the core)")
    files = None
    board_files = ()
    if "inputs" in spec:  # a board folder of ours: its files are inputs too, and set the flags
        board_files = sorted(p for p in spec["inputs"].rglob("*") if p.is_file())
        files = (core_files() if with_core else []) + board_files
    return _cached(source, argv, build_dir / spec["output"], build_dir, what, with_core, env=env, force=force,
                   module=with_core, files=files, config_files=board_files)


def built_path(board, source, with_core=True):
    """The output of `board`'s last successful build if it is up to date, else None."""
    build_dir = _board_build_dir(source, board, with_core)
    out = build_dir / BOARDS[board]["output"]
    stamp = build_dir / ".mitra-stamp"
    if not (out.exists() and stamp.exists()):
        return None
    return out


def sizes(path):
    """{'file': bytes, 'text': .., 'data': .., 'bss': ..} of an executable or image."""
    path = Path(path)
    result = {"file": path.stat().st_size}
    if path.suffix == ".mpy":  # the code mpy_ld linked (what a board loads into RAM), from its log
        log = path.parent / "build.log"
        found = re.search(r"^text size:\s+(\d+)", log.read_text(), re.M) if log.exists() else None
        if found:
            result["text"] = int(found.group(1))
        return result
    elf = path.with_suffix(".elf") if path.suffix == ".bin" else path
    tool = "arm-none-eabi-size" if path.suffix in (".bin", ".elf") else "size"
    if elf.exists() and shutil.which(tool):
        out = subprocess.run([tool, str(elf)], capture_output=True, text=True, check=True).stdout.splitlines()
        text, data, bss = (int(v) for v in out[1].split()[:3])
        result.update(text=text, data=data, bss=bss)
    return result


def _describe(label, path):
    s = sizes(path)
    parts = ["%d B file" % s["file"]]
    if "data" in s:
        parts.append("text %d, data %d, bss %d" % (s["text"], s["data"], s["bss"]))
    elif "text" in s:
        parts.append("text %d" % s["text"])
    return "%s: %s (%s)" % (label, path, "; ".join(parts))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--board", default="unix", choices=sorted(BOARDS))
    p.add_argument("--micropy-dir", help="a MicroPython source tree (default $MICROPY_DIR, else the vendor tarball)")
    p.add_argument("-j", "--jobs", type=int, help="parallel compiles (default $MITRA_JOBS or 2)")
    p.add_argument("--force", action="store_true", help="run make even when the inputs have not changed")
    p.add_argument("--without-core", action="store_true",
                   help="also build it without the core and print both sizes (rp2-pico and the qemu boards always do)")
    p.add_argument("--path", action="store_true", help="print the built output's path (exit 1 if not built)")
    p.add_argument("--if-available", action="store_true",
                   help="exit 0 with a note when there is no MicroPython source or toolchain (make test)")
    args = p.parse_args(argv)
    try:
        source = Source(args.micropy_dir)
        if args.path:
            out = built_path(args.board, source)
            if out is None:
                raise BuildError("%s is not built: make firmware BOARD=%s" % (args.board, args.board))
            print(out)
            return 0
        natmod = "natmod" in BOARDS[args.board]
        if natmod and args.without_core:  # refused before anything is built
            raise BuildError("%s is the core alone: there is nothing to build without it" % args.board)
        out = firmware(args.board, source, jobs=args.jobs, force=args.force)
        lines = [_describe("%s%s" % (args.board, ": the C core as a native module" if natmod else " with the C core"), out)]
        if BOARDS[args.board].get("without_core") or args.without_core:
            bare = firmware(args.board, source, with_core=False, jobs=args.jobs, force=args.force)
            lines.append(_describe("%s without the core" % args.board, bare))
            core, base = sizes(out), sizes(bare)
            if out.suffix != ".bin" and "data" in core:  # an executable's size counts symbols too
                grown = sum(core[k] - base[k] for k in ("text", "data"))
                lines.append("%s: the core adds %d B of text and data to the image" % (args.board, grown))
            else:
                lines.append("%s: the core adds %d B to the image" % (args.board, core["file"] - base["file"]))
        dest = ROOT / "build" / "firmware" / args.board
        dest.mkdir(parents=True, exist_ok=True)
        for f in out.parent.glob(out.stem + "*"):
            if f.is_file() and not f.is_symlink() and f.suffix in ("", ".bin", ".elf", ".uf2", ".mpy"):
                shutil.copy2(f, dest / f.name)
        for line in lines:
            say(line)
        say("copied to %s" % (dest / out.name).relative_to(ROOT))
        return 0
    except BuildError as e:
        if args.if_available and isinstance(e, Unavailable):
            say("skipped: %s" % e)
            return 0
        say(str(e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
