"""The flight apps on our qemu boards (boards/qemu/: MicroPython with the C core built in, asyncio and
a littlefs RAM disk), as on a board flashed with `ground flash`: the firmware's packages precompiled
for the board's .mpy ABI and copied to its filesystem through the raw REPL (test_qemu_firmware.py's
RawRepl), then each app built on the board's OBC and flown for 5 s of virtual flight time with no
ground link (the UART is the REPL here), its tasks and HK running.

What it shows: the apps import and fly on MicroPython on an emulated Cortex-M3 and Cortex-M4F
within the boards' heap (the RPI_PICO firmware's 245888 B, boards/qemu/mitra.mk), and the RAM
they leave (`pytest -s` prints it; docs/benchmarks.md).
"""

import json
from pathlib import Path

import pytest

from ground import runtimes
from ground.sitl import load_board
from hil.plugin import load_file

ROOT = Path(__file__).resolve().parents[2]
qemu = load_file("mitra_qemu_firmware_tests", ROOT / "tests" / "firmware" / "test_qemu_firmware.py")

pytestmark = pytest.mark.slow

# The app on the board's OBC with a link that never hears anything, in virtual time from the start
# (Obc.waiting is the wait for the ground's first packet); then the heap after a collection.
FLY = """
import gc, json, asyncio
from fsw import app as A

class NullLink:
    eof = False
    async def read_into(self, buf):
        await asyncio.sleep_ms(100000000)
        return 0
    def write(self, buf, n):
        pass

board = json.loads(%r)
obc = A.Obc(board, NullLink())
__import__(board["vehicle"] + ".app", None, None, ("start",)).start(obc, board)
obc.waiting = False

async def fly(seconds):
    obc.vehicle.start_tasks()
    asyncio.create_task(obc._schedule())
    while obc.clock.uptime_s() < seconds:
        await asyncio.sleep_ms(0)

asyncio.run(fly(5))
gc.collect()
t = obc.vehicle.tasks
print("FLOWN", gc.mem_free(), obc.heap_peak, sum(x.runs for x in t), sum(x.errors for x in t), obc.schedule_errors)
"""


def _install_app(repl):
    """The firmware's packages, precompiled for the board's .mpy ABI, onto its filesystem."""
    abi = int(repl.exec("import sys\nprint(sys.implementation._mpy)\n"))
    mpy = runtimes.compile_firmware_mpy(runtimes.flashed_packages(), target=runtimes.mpy_target(abi))
    files = sorted(p for p in mpy.rglob("*.mpy"))
    for d in sorted({p.parent.relative_to(mpy) for p in files}):
        repl.exec("import os\ntry:\n    os.mkdir(%r)\nexcept OSError:\n    pass\n" % ("/" + str(d)))
    for p in files:
        qemu._copy_to_board(repl, p.read_bytes(), "/" + str(p.relative_to(mpy)))
    return len(files), sum(p.stat().st_size for p in files)


@pytest.mark.parametrize("name", ["qemu-an385", "qemu-an386"])
@pytest.mark.parametrize("vehicle", ["inspector", "rover"])
def test_the_app_flies_on_the_qemu_board_and_leaves_ram(name, vehicle):
    repl = qemu.RawRepl(qemu._firmware(name, True), qemu.MACHINES[name], timeout=600)
    try:
        repl.enter_raw()
        count, octets = _install_app(repl)
        free_before = int(repl.exec("import gc\ngc.collect()\nprint(gc.mem_free())\n"))
        board = dict(load_board("rp2-pico"), vehicle=vehicle, speed="max", security=False)
        out = repl.exec(FLY % json.dumps(board))
    finally:
        repl.close()
    free, peak, runs, errors, schedule_errors = (int(x) for x in out.split("FLOWN", 1)[1].split())
    print("%s on %s: %d files (%d octets) on littlefs; heap free %d B before the app, %d B after 5 s of flight; "
          "heap_peak %d B" % (vehicle, name, count, octets, free_before, free, peak))
    assert runs >= 40 and errors == 0 and schedule_errors == 0, out  # 5 s of the 10 Hz tasks, none failed
    assert 0 < free < free_before and peak > 0
