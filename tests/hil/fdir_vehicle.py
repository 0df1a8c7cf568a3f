# A test-only flight program for tests/hil/test_fdir_e2e.py (the SITL's `program=`):
# firmware/main.py's wiring with a minimal rover-named vehicle (two periodic
# tasks and set_mode), so FDIR's watchdog can be exercised end to end on the
# unix port and CPython whatever state the real vehicle apps are in.
import asyncio

import hal
from fsw import dictionary as D
from fsw.app import Obc, load_board
from fsw.vehicle import REASON_COMMAND, Vehicle


class Hw:
    # no emulated devices: every fault injection is refused
    def inject(self, device, fault, value):
        raise ValueError("test vehicle: no device %r" % (device,))

    def clear(self, device=None):
        return None


class TestRover(Vehicle):
    def __init__(self, obc):
        Vehicle.__init__(self, obc, Hw(), "rover", D.EVT_ROVER_MODE_CHANGED, D.MODE_ROVER_SURVIVAL)
        self.cycles = 0
        self.functions.add(D.FN_ROVER_MOBILITY_SET_MODE, self.command_mode)
        self.task("control", 100, self.step)
        self.task("nav", 500, self.step)

    def command_mode(self, args):
        self.set_mode(args[0], REASON_COMMAND)
        return 0

    def step(self, cycle_ms):
        self.cycles += 1


obc = Obc(load_board(), hal.Link())
TestRover(obc)
asyncio.run(obc.run())
