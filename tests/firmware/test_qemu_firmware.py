"""Our qemu boards (boards/qemu/, scripts/firmware.py --board qemu-an385 | qemu-an386) under qemu-system-arm.

Each board is MicroPython's qemu port plus asyncio, a littlefs filesystem on a RAM disk at / and
main.py autorun; built with the C core (`gnc_native` built in) and without it. Here, booted in
qemu-system-arm (mps2-an385: Cortex-M3; mps2-an386: Cortex-M4F) and driven through the raw REPL
on the UART, as mpremote drives a board:
  - asyncio runs tasks, a file written is read back, the built-in core gives one case of the
    shared vector set (float32 in and out as bit patterns) within its tolerance;
  - main.py written to the filesystem runs at the next (soft) boot, and the files are still there;
  - on the firmware without the core, the native .mpy for the board's architecture (armv7m,
    armv7emsp), copied to the filesystem, is what `import gnc_native` loads, and it gives the
    same vector; a hard-float armv7emsp module is refused by the Cortex-M3;
  - the whole shared vector set passes on the Cortex-M4F's built-in core (the Cortex-M3's runs in
    tests/gnc/test_vectors.py) and on the native modules: armv7m and the RP2040's armv6m on the
    Cortex-M3, armv7emsp on the Cortex-M4F.
Slow: the first run builds the firmware (cached afterwards).
"""

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from hil.plugin import load_file, unavailable

ROOT = Path(__file__).resolve().parents[2]

fw = load_file("mitra_firmware_script_qemu", ROOT / "scripts" / "firmware.py")
vectors = load_file("mitra_vectors_for_qemu", ROOT / "tests" / "gnc" / "test_vectors.py")

MACHINES = {"qemu-an385": "mps2-an385", "qemu-an386": "mps2-an386"}
NATMOD_ARCH = {"qemu-an385": "armv7m", "qemu-an386": "armv7emsp"}


class RawRepl:
    """MicroPython on qemu-system-arm, its UART on our pipes; exec() through the raw REPL."""

    def __init__(self, elf, machine, timeout=60):
        if shutil.which("qemu-system-arm") is None:
            unavailable("qemu-system-arm not installed (scripts/bootstrap.sh installs it)")
        argv = ["qemu-system-arm", "-machine", machine, "-nographic", "-monitor", "null", "-semihosting",
                "-serial", "stdio", "-kernel", str(elf)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.deadline = time.monotonic() + timeout  # a limit on a hang, not a timed assert
        self.buf = b""
        self.read_until(b">>> ")

    def read_until(self, marker):
        while marker not in self.buf and time.monotonic() < self.deadline and self.proc.poll() is None:
            if select.select([self.proc.stdout], [], [], 0.2)[0]:
                self.buf += os.read(self.proc.stdout.fileno(), 65536)
        assert marker in self.buf, "no %r from the board; it printed:\n%s" % (marker, self.buf[-2000:].decode(
            errors="replace"))
        text, self.buf = self.buf.split(marker, 1)
        return text

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def enter_raw(self):
        self.send(b"\r\x01")
        self.read_until(b"raw REPL; CTRL-B to exit\r\n>")

    def _exec_raw(self, code):
        """(stdout, stderr) of `code` run in the raw REPL."""
        self.send(code.encode() + b"\x04")
        self.read_until(b"OK")
        out = self.read_until(b"\x04")
        err = self.read_until(b"\x04")
        self.read_until(b">")
        return out, err

    def exec(self, code):
        """stdout of `code` run on the board; an exception on the board fails the test."""
        out, err = self._exec_raw(code)
        assert not err, err.decode(errors="replace")
        return out.decode().replace("\r\n", "\n")

    def exec_error(self, code):
        """The exception `code` raises on the board, its last line."""
        err = self._exec_raw(code)[1].decode(errors="replace")
        assert err, "no exception"
        return err.strip().splitlines()[-1]

    def soft_reset_friendly(self):
        """Leave the raw REPL and soft-reset from the friendly one (where main.py runs); what the
        board prints from the reset to its next prompt."""
        self.send(b"\x02")
        self.read_until(b">>> ")
        self.send(b"\x04")
        return self.read_until(b">>> ").decode(errors="replace").replace("\r\n", "\n")

    def close(self):
        self.proc.kill()
        self.proc.wait()


def _firmware(board, with_core):
    try:
        return fw.firmware(board, fw.Source(), with_core=with_core)
    except fw.Unavailable as e:
        unavailable("cannot build %s: %s" % (board, e), "CI must build %s: %s" % (board, e))


@pytest.fixture
def board(request):
    """(name, RawRepl) on the firmware with (param True) or without the core, in the raw REPL."""
    name, with_core = request.param
    repl = RawRepl(_firmware(name, with_core), MACHINES[name])
    try:
        repl.enter_raw()
        yield name, repl
    finally:
        repl.close()


_BOTH = [("qemu-an385", True), ("qemu-an386", True)]
_BOTH_IDS = ["an385", "an386"]
_BARE = [("qemu-an385", False), ("qemu-an386", False)]


def _vector_code(name="quat_rotate", index=2):
    """(board code printing the call's status and float32 outputs as hex, name, case): one case of
    the shared vector set, its inputs as float32 bit patterns."""
    case = vectors.DATA["functions"][name]["cases"][index]
    fn = vectors.api.BY_NAME[name]
    args = vectors.gen.decode(case["args"])
    lines = ["import gnc_native, binascii, struct", "from array import array", "bufs = []", "call = []"]
    for a in fn.args:
        if a.kind in vectors.api.BUFFER_KINDS:
            lines.append("bufs.append(array('f', binascii.unhexlify(%r)))" % vectors.f32_hex(args[a.name]))
            lines.append("call.append(bufs[-1])")
        elif a.kind in (vectors.api.FLOAT, vectors.api.FLOAT_INOUT):
            lines.append("call.append(struct.unpack('<f', binascii.unhexlify(%r))[0])" % vectors.f32_hex(
                float(args[a.name])))
        elif a.kind in (vectors.api.INT, vectors.api.INT_INOUT):
            lines.append("call.append(%d)" % args[a.name])
    lines.append("ret = getattr(gnc_native, %r)(*call)" % name)
    lines.append("print('VECTOR', ' '.join(binascii.hexlify(bytes(b)).decode() for b in bufs))")
    return "\n".join(lines) + "\n", name, case


def _check_vector(out, name, case):
    hexes = out.split("VECTOR ", 1)[1].split()
    fn = vectors.api.BY_NAME[name]
    names = [a.name for a in fn.args if a.kind in vectors.api.BUFFER_KINDS]
    outputs = vectors.gen.collect(fn, 0, None, dict(zip(names, [vectors.f32_unhex(h) for h in hexes])))[1]
    problems, _, _ = vectors.compare(name, case, 0, outputs)
    assert not problems, problems


def _copy_to_board(repl, data, path="/gnc_native.mpy"):
    """Write `data` to a file on the board, as `mpremote cp` does: base64 pieces through the REPL."""
    repl.exec("import binascii\nf = open(%r, 'wb')\n" % path)
    for at in range(0, len(data), 3072):
        repl.exec("f.write(binascii.a2b_base64(%r))\n" % base64.b64encode(data[at: at + 3072]).decode())
    repl.exec("f.close()\n")


def _run_vector_set(repl):
    """(first line, results) of the whole shared vector set through the raw REPL: test_vectors.py's
    runner (float32 as bit patterns) with its stand-in gnc.errors, the cases in batches."""
    runner = vectors.QEMU_RUNNER
    loop = "while True:\n    line = sys.stdin.readline()\n    if not line:\n        break\n"
    assert runner.count(loop) == 1 and "gnc_native" in runner
    head, body = runner.split(loop)
    body = "for line in _LINES:\n" + body
    first = repl.exec(head).split("VECTORS-BEGIN\n", 1)[1].strip()
    lines, order = vectors.case_lines()
    out, batch = [], []
    for i, line in enumerate(lines):
        batch.append(line)
        if sum(map(len, batch)) > 6000 or i == len(lines) - 1:
            out += repl.exec("_LINES = %r\n" % batch + body).splitlines()
            batch = []
    assert len(out) == len(lines), out[-3:]
    return first, vectors._collect_results(order, out)


_ASYNC_AND_FILES = """
import asyncio, os, sys

async def count(n, out):
    for i in range(n):
        out.append(i)
        await asyncio.sleep_ms(1)
    return n

async def main():
    out = []
    got = await asyncio.gather(count(3, out), count(4, out))
    return got, sorted(out)

print('ASYNC', asyncio.run(main()))
with open('/flight.log', 'w') as f:
    f.write('mitra %d\\n' % 42)
with open('/flight.log') as f:
    print('FILE', repr(f.read()))
print('FS', os.statvfs('/')[0] * os.statvfs('/')[2] > 100000, os.listdir('/'))
print('MCU', sys.implementation._machine)
"""


@pytest.mark.slow
@pytest.mark.parametrize("board", _BOTH, ids=_BOTH_IDS, indirect=True)
def test_qemu_board_runs_asyncio_files_and_the_built_in_core(board):
    name, repl = board
    out = repl.exec(_ASYNC_AND_FILES)
    assert "ASYNC ([3, 4], [0, 0, 1, 1, 2, 2, 3])\n" in out, out
    assert "FILE 'mitra 42\\n'\n" in out and "FS True ['flight.log']\n" in out, out
    assert ("Cortex-M4F" if name == "qemu-an386" else "Cortex-M3") in out.split("MCU ", 1)[1]
    code, fname, case = _vector_code()
    _check_vector(repl.exec(code), fname, case)


@pytest.mark.slow
@pytest.mark.parametrize("board", _BOTH, ids=_BOTH_IDS, indirect=True)
def test_qemu_board_runs_main_py_at_boot_and_keeps_its_files(board):
    _, repl = board
    repl.exec("with open('/main.py', 'w') as f:\n"
              "    f.write('import gnc_native\\nprint(\"MAIN RAN\", open(\"/note.txt\").read(), gnc_native.MEKF_SIZE)\\n')\n"
              "with open('/note.txt', 'w') as f:\n    f.write('kept')\n")
    printed = repl.soft_reset_friendly()
    assert "MPY: soft reboot\nMAIN RAN kept 43\n" in printed, printed


@pytest.mark.slow
@pytest.mark.parametrize("board", _BARE, ids=_BOTH_IDS, indirect=True)
def test_stock_qemu_board_loads_the_native_mpy_from_its_filesystem(board):
    name, repl = board
    arch = NATMOD_ARCH[name]
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    mpy = fw.native_mpy(arch, fw.Source())
    # no core in this firmware: the import can only come from the file
    assert repl.exec_error("import gnc_native\n") == "ImportError: no module named 'gnc_native'"
    data = mpy.read_bytes()
    _copy_to_board(repl, data)
    out = repl.exec("import gc, os\ngc.collect()\nfree = gc.mem_free()\nimport gnc_native\ngc.collect()\n"
                    "print('HEAP', free - gc.mem_free(), free)\n"
                    "print('LOADED', os.stat('/gnc_native.mpy')[6], gnc_native.__file__)\n")
    assert out.splitlines()[1] == "LOADED %d gnc_native.mpy" % len(data), out  # found through sys.path's "" (cwd /)
    taken, free = (int(v) for v in out.split()[1:3])
    # its code is loaded into the heap (docs/benchmarks.md quotes these, `pytest -s`)
    print("\n%s: gnc_native.mpy (%s, %d B) takes %d B of the %d B heap free before" % (name, arch, len(data), taken, free))
    assert len(data) * 0.8 < taken < free
    code, fname, case = _vector_code()
    _check_vector(repl.exec(code), fname, case)


@pytest.mark.slow
@pytest.mark.parametrize("board", [("qemu-an386", True)], ids=["an386"], indirect=True)
def test_vector_set_on_the_cortex_m4f_built_in_core(board):
    # hard-float code (fpv4-sp-d16): the an385 runs the whole set in tests/gnc/test_vectors.py
    _, repl = board
    first, results = _run_vector_set(repl)
    assert first == "backend native-mpy float 4", first
    vectors.check_all("qemu-an386 c", results)


@pytest.mark.slow
@pytest.mark.parametrize("board, arch", [(("qemu-an385", False), "armv7m"), (("qemu-an386", False), "armv7emsp"),
                                         (("qemu-an385", False), "armv6m")],
                         ids=["an385-armv7m", "an386-armv7emsp", "an385-armv6m"], indirect=["board"])
def test_vector_set_on_the_native_mpy_on_stock_qemu_boards(board, arch):
    # armv6m: the RP2040's module, byte for byte; a Cortex-M3 runs Thumb-1 code and MicroPython
    # loads a .mpy of an older ARM architecture than its own, so its code runs here too
    _, repl = board
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    data = fw.native_mpy(arch, fw.Source()).read_bytes()
    _copy_to_board(repl, data)
    first, results = _run_vector_set(repl)
    assert first == "backend native-mpy float 4", first
    vectors.check_all("%s mpy" % arch, results)


@pytest.mark.slow
@pytest.mark.parametrize("board", [("qemu-an385", False)], ids=["an385"], indirect=True)
def test_hard_float_mpy_is_refused_by_the_cortex_m3(board):
    _, repl = board
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    data = fw.native_mpy("armv7emsp", fw.Source()).read_bytes()
    _copy_to_board(repl, data)
    assert repl.exec_error("import gnc_native\n") == "ValueError: incompatible .mpy arch"


def test_qemu_boards_are_ours_outside_the_micropython_tree():
    # the boards build from boards/qemu/ (BOARD_DIR), and each of their files is a build input
    for board in MACHINES:
        spec = fw.BOARDS[board]
        board_dir = Path(dict(a.split("=", 1) for a in spec["make"])["BOARD_DIR"])
        assert board_dir.parent == ROOT / "boards" / "qemu" and (board_dir / "mpconfigboard.mk").exists()
        assert spec["without_core"] and spec["inputs"] == ROOT / "boards" / "qemu"
    mk = (ROOT / "boards" / "qemu" / "MITRA_AN386" / "mpconfigboard.mk").read_text()
    assert "-mfpu=fpv4-sp-d16" in mk and "QEMU_MACHINE = mps2-an386" in mk
    assert json.dumps(sorted(MACHINES)) == json.dumps(["qemu-an385", "qemu-an386"])
