# Live heap of a vehicle app, step by step, booted as the SITL boots it (ROMFS, ground/romboot.py):
#   micropython -X heapsize=600000 ground/romboot.py IMAGE hil/heap_probe.py [CYCLES]
# run in a folder holding a board.json with "vehicle", "scenario": {}, "speed": "max",
# "security": false; IMAGE from `python -c "from ground import runtimes; print(runtimes.build_romfs())"`.
# Prints hal.heap_used() (gc.mem_alloc after gc.collect, the image left out) after each step.
import gc
import sys

import hal

marks = []


def mark(name):
    gc.collect()
    marks.append((name, hal.heap_used()))


class _NoLink:  # the probe talks to no ground
    eof = False

    async def read_into(self, buf):
        return 0

    def write(self, buf, n):
        pass


mark("boot")
from fsw import dictionary as D  # noqa: E402

mark("fsw.dictionary")
from fsw.app import Obc, load_board  # noqa: E402

mark("fsw.app import")
board = load_board()
D.use_vehicle(board.get("vehicle"))
mark("use_vehicle")
obc = Obc(board, _NoLink())
mark("Obc()")
app = __import__(board["vehicle"] + ".app", None, None, ("start",))
mark("app import")
app.start(obc, board)
mark("app start")
for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 20):
    obc.vehicle.cycle(100)
mark("cycles")
prev = 0
for name, used in marks:
    print("%-16s %7d  +%6d" % (name, used, used - prev))
    prev = used
