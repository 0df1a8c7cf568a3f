# The drill and the spectrometer. The drill's control law runs inside gnc.rover_step
# (gnc_drill_step on the state s[6..9] = [depth, mode, cycles in mode, fault]: a stall or an
# over-temperature switches to retracting in the same call, so the retract command reaches
# the drill in the cycle that measured the fault). This module starts and retracts it, turns
# its output into drill commands, and reports what happened: drill_retract in that cycle,
# drill_done when the bit is out after reaching the target.
#
# The spectrum product (ST13 product spectrum, big-endian): u16 samples, f32 hole depth, f32 x,
# f32 y, then per sample f32 depth (m) and f32 water-ice abundance (wt%).
import struct
from array import array

from micropython import const

from fsw import dictionary as D

IDLE = const(0)
DRILLING = const(1)
RETRACTING = const(2)
DONE = const(3)
COMMAND = const(4)  # retract reason: the command (gnc's faults are 1 torque, 2 current, 3 temperature)
_S = const(6)  # drill state in the rover_step state
_PRODUCT_SPECTRUM = const(2)  # ST13 product (ground/dictionary/obc.py PRODUCTS)
_MAX_SAMPLES = const(64)
_HEAD = ">Hfff"
_HOLE_RADIUS = 1.0  # m: the spectrometer samples the hole it stands over


class Drill:
    def __init__(self, hw, events, large_data, s, prm, inp, out):
        self.hw = hw
        self.events = events
        self.large_data = large_data
        self.s = s
        self.prm = prm
        self.inp = inp
        self.out = out
        self.mode = IDLE  # drill state before the step
        self.holes = 0
        self.deepest = 0.0  # of the last hole
        self.hole_x = 0.0
        self.hole_y = 0.0
        self.have_hole = False
        self.torque_max = 0.0
        self.temp_max = -273.0
        self.cycles = 0
        self.spectra = 0
        self.last_transaction = 0
        self.last_peak = 0.0
        self.profile = array("f", bytes(4 * _MAX_SAMPLES))
        self.product = bytearray(struct.calcsize(_HEAD) + 8 * _MAX_SAMPLES)

    def active(self):
        m = int(self.s[_S + 1])
        return m == DRILLING or m == RETRACTING

    def start(self, depth, x, y):
        s = self.s
        s[_S], s[_S + 1], s[_S + 2], s[_S + 3] = 0.0, float(DRILLING), 0.0, 0.0
        self.prm[18] = depth
        self.mode = DRILLING
        self.deepest = 0.0
        self.hole_x, self.hole_y = x, y
        self.have_hole = True
        self.torque_max = 0.0
        self.temp_max = -273.0
        self.cycles = 0

    def retract(self):
        # the command (or leaving DRILL with the bit down): out without finishing
        s = self.s
        if int(s[_S + 1]) == DRILLING:
            s[_S + 1], s[_S + 2], s[_S + 3] = float(RETRACTING), 0.0, float(COMMAND)
            self.mode = RETRACTING
            self._retract_event(COMMAND)

    def _retract_event(self, reason):
        i = self.inp
        self.events.emit(D.EVT_ROVER_DRILL_RETRACT, (reason, self.s[_S], i[8], i[9], i[10], 0))

    def busy(self):
        # the state last reported: after_step is owed a call until it has reported the end
        return self.mode == DRILLING or self.mode == RETRACTING

    def after_step(self):
        # after gnc.rover_step, while busy(): command the drill, report transitions.
        # The new state is taken only after its report went out: a cycle that fails half-way
        # (a MemoryError in an event) reports the same transition again in the next cycle
        # instead of losing it, and with it the end of the hole
        s, o = self.s, self.out
        new = int(s[_S + 1])
        old = self.mode
        self.cycles += 1
        i = self.inp
        if i[8] > self.torque_max:
            self.torque_max = i[8]
        if i[10] > self.temp_max:
            self.temp_max = i[10]
        if s[_S] > self.deepest:
            self.deepest = s[_S]
        d = self.hw.drill
        if d is not None:
            feed = o[4]
            fm = d.feed_max if hasattr(d, "feed_max") else 0.005
            d.command(fm if feed > fm else (-fm if feed < -fm else feed), 1 if o[5] > 0.5 else 0)
        if old == DRILLING and new == RETRACTING and s[_S + 3] != 0.0:
            self._retract_event(int(s[_S + 3]))  # in the cycle the fault was measured
        if new == DONE or new == IDLE:
            if d is not None:
                d.stop()
            if new == DONE:
                self.events.emit(D.EVT_ROVER_DRILL_DONE, (self.deepest, self.torque_max, self.temp_max, self.cycles * 0.1))
            self.holes += 1
        self.mode = new

    # ---- spectrometer ----------------------------------------------------------------------
    def check_measure(self, x, y):
        if self.hw.spectrometer is None or not self.have_hole or self.deepest <= 0.0 or self.active():
            return D.ERR_EXECUTION_FAILED
        dx, dy = x - self.hole_x, y - self.hole_y
        if dx * dx + dy * dy > _HOLE_RADIUS * _HOLE_RADIUS:
            return D.ERR_EXECUTION_FAILED
        return 0

    def measure(self, samples, where):
        # where: the true (x, y) the emulated instrument needs for its layered model
        prof = memoryview(self.profile)[:samples]
        depth = self.deepest
        self.hw.spectrometer.spectrum(depth, where[0], where[1], prof)
        buf = self.product
        struct.pack_into(_HEAD, buf, 0, samples, depth, self.hole_x, self.hole_y)
        off = struct.calcsize(_HEAD)
        dz = depth / samples
        peak, peak_z = -1.0, 0.0
        for k in range(samples):
            z = (k + 0.5) * dz
            struct.pack_into(">ff", buf, off + 8 * k, z, prof[k])
            if prof[k] > peak:
                peak, peak_z = prof[k], z
        try:
            tid = self.large_data.start(_PRODUCT_SPECTRUM, bytes(memoryview(buf)[:off + 8 * samples]))
        except OSError:
            return D.ERR_STORAGE_FAILED
        self.spectra += 1
        self.last_transaction = tid
        self.last_peak = peak
        self.events.emit(D.EVT_ROVER_SPECTRUM_READY, (tid, samples, depth, peak, peak_z))
        return 0
