# Relative navigation and guidance of the inspector: a CW-propagated filter of the
# rel_nav measurements (what the step's keep-out sweep and the burns start from), the
# two-impulse transfers (approach, safety ellipse), the abort, and the burns themselves,
# fired in pulses of at most the thrusters' per-fire limit, one pulse per 10 Hz cycle.
# Every buffer is allocated here once; the per-cycle path (nav, fire) allocates nothing.
import math
from array import array

from micropython import const

import gnc
from fsw import dictionary as D

_DT = 0.1
_BURN_1 = const(1)
_BURN_2 = const(2)
_BURN_ABORT = const(3)
_LOST_CYCLES = const(10)  # 1 s without a measurement: the target is lost
_QUIET_CYCLES = const(25)  # after a burn: the sweep in flight was latched before it (gnc.h: 10 cycles a sweep)
_FAR = -1.0e4  # m along-track: the state fed to the step before any measurement (no false keep-out alarm)
_PULSE = 0.99  # fraction of the per-fire limit per pulse (a full pulse would be counted as capped)


def _f(n):
    return array("f", bytes(4 * n))


class Guidance:
    def __init__(self, hw, params, events):
        self.hw = hw
        self.thr = hw.thrusters  # None on a board without thrusters: no burns
        self.params = params
        self.events = events
        self.n = hw.world.n  # the debris' mean motion: the orbit is the mission's, known on board
        self.est = _f(6)  # filtered relative state, LVLH [r | v]
        self.meas = _f(6)  # this cycle's rel_nav reading
        self.have = False  # est holds a measured state
        self.valid = False  # rel_nav measured this cycle
        self.locked = False  # target acquired (events), in target modes only
        self.missed = 0
        self.last_range = 0.0
        self.pending = _f(3)  # delta-v still to fire in the current burn
        self.fired = _f(3)  # delta-v fired in the current burn (for its event)
        self.pulse = _f(3)
        self.dv1 = _f(3)
        self.dv2 = _f(3)  # the second burn of the transfer in progress
        self.dv_abort = _f(3)
        self.target = _f(6)  # ellipse entry state
        self.rf = _f(3)
        self.vf = _f(3)
        self.hold = _f(3)
        self.kind = 0  # burn in progress: 0 none, _BURN_1, _BURN_2, _BURN_ABORT
        self.burn2_at = -1  # cycle of the second burn, -1: none
        self.ellipse = False  # the transfer ends on a safety ellipse (FLY_AROUND)
        self.quiet = 0
        self.aborts = 0
        self.abort_safe = 0
        self.arrived = None  # callback(ellipse) when burn 2 is done: the app changes mode

    # ---- navigation (every cycle) ---------------------------------------------------------
    def nav(self, rel_nav, gain, target_mode, out):
        # filter: CW propagation over one cycle (explicit Euler: n dt ~ 1e-4), then a fixed-gain
        # correction toward the measurement; `out` (the step's rel_state) gets the estimate
        e = self.est
        if self.have:
            n = self.n
            x, y, z = e[0], e[1], e[2]  # two 3-assignments: MicroPython builds no tuple for these
            vx, vy, vz = e[3], e[4], e[5]
            e[0] = x + vx * _DT
            e[1] = y + vy * _DT
            e[2] = z + vz * _DT
            e[3] = vx + (3.0 * n * n * x + 2.0 * n * vy) * _DT
            e[4] = vy - 2.0 * n * vx * _DT
            e[5] = vz - n * n * z * _DT
        m = self.meas
        self.valid = rel_nav is not None and rel_nav.read(m)
        if self.valid:
            if self.have:
                for i in range(6):
                    e[i] += gain * (m[i] - e[i])
            else:
                for i in range(6):
                    e[i] = m[i]
                self.have = True
        if self.have:
            for i in range(6):
                out[i] = e[i]
        else:
            for i in range(6):
                out[i] = 0.0
            out[1] = _FAR
        # target acquired / lost (in target modes)
        if target_mode:
            if self.valid:
                self.missed = 0
                self.last_range = math.sqrt(m[0] * m[0] + m[1] * m[1] + m[2] * m[2])
                if not self.locked:
                    self.locked = True
                    self.events.emit(D.EVT_INSPECTOR_TARGET_ACQUIRED, (self.last_range,))
            elif self.locked:
                self.missed += 1
                if self.missed >= _LOST_CYCLES:
                    self.locked = False
                    self.events.emit(D.EVT_INSPECTOR_TARGET_LOST, (self.last_range,))
        else:
            self.locked = False

    def range(self):
        e = self.est
        return math.sqrt(e[0] * e[0] + e[1] * e[1] + e[2] * e[2])

    # ---- commands (checks return an error code; start() commits) --------------------------
    def plan_transfer(self, x, y, z, t):
        # approach: dv1, dv2 to arrive at rest at (x, y, z) after t; 0 or the error code
        if self.thr is None or not self.have:
            return D.ERR_EXECUTION_FAILED
        if math.sqrt(x * x + y * y + z * z) <= self.params.get(D.PAR_GNC_KEEPOUT_RADIUS):
            return D.ERR_ARG_OUT_OF_RANGE
        rf, vf = self.rf, self.vf
        rf[0], rf[1], rf[2] = x, y, z
        vf[0] = vf[1] = vf[2] = 0.0
        return self._two_impulse(t)

    def plan_ellipse(self, a, c, phase_deg, y_c, t):
        if self.thr is None or not self.have:
            return D.ERR_EXECUTION_FAILED
        tg = self.target
        gnc.safety_ellipse(self.n, a, c, math.radians(phase_deg), y_c, tg)
        radius = self.params.get(D.PAR_GNC_KEEPOUT_RADIUS)
        # the ellipse itself must clear the keep-out sphere over one orbit
        _, unsafe = gnc.keepout_check(tg, self.n, 2.0 * math.pi / self.n, 20.0, radius)
        if unsafe:
            return D.ERR_ARG_OUT_OF_RANGE
        for i in range(3):
            self.rf[i] = tg[i]
            self.vf[i] = tg[3 + i]
        return self._two_impulse(t)

    def _two_impulse(self, t):
        try:
            gnc.cw_two_impulse(self.est, self.rf, self.vf, self.n, t, self.dv1, self.dv2)
        except gnc.GncError:
            return D.ERR_ARG_OUT_OF_RANGE  # a singular transfer time (a multiple of the period)
        self._t = t
        return 0

    def start_transfer(self, cycle, ellipse):
        # commit the planned transfer: burn 1 now, burn 2 t later
        self.cancel()
        self.ellipse = ellipse
        for i in range(3):
            self.hold[i] = self.rf[i]
        self.burn2_at = cycle + int(self._t / _DT + 0.5)
        self._start(_BURN_1, self.dv1)

    def plan_abort(self):
        if self.thr is None or not self.have:
            return D.ERR_EXECUTION_FAILED
        unsafe = gnc.abort_burn(self.est, self.n, self.params.get(D.PAR_GNC_KEEPOUT_RADIUS), self.dv_abort)
        self.abort_safe = 0 if unsafe else 1
        return 0

    def start_abort(self, reason, min_range):
        # the planned abort burn, now; its event
        self.cancel()
        d = self.dv_abort
        self.aborts += 1
        self._start(_BURN_ABORT, d)
        dv = math.sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
        self.events.emit(D.EVT_INSPECTOR_ABORT, (reason, min_range, dv, self.abort_safe))

    def cancel(self):
        self.kind = 0
        self.burn2_at = -1
        for i in range(3):
            self.pending[i] = 0.0

    def _start(self, kind, dv):
        self.kind = kind
        for i in range(3):
            self.pending[i] = dv[i]
            self.fired[i] = 0.0

    # ---- burns (every cycle) ----------------------------------------------------------
    def fire(self, cycle):
        if self.quiet > 0:
            self.quiet -= 1
        if self.kind == 0 and self.burn2_at >= 0 and cycle >= self.burn2_at:
            self.burn2_at = -1
            self._start(_BURN_2, self.dv2)
        if self.kind == 0:
            return
        thr, p, pl = self.thr, self.pending, self.pulse
        mag = math.sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2])
        done = mag < thr.dv_min
        if not done:
            k = 1.0
            if mag > _PULSE * thr.dv_max:
                k = _PULSE * thr.dv_max / mag
            for i in range(3):
                pl[i] = p[i] * k
            before = thr.dv_used
            if thr.fire(pl):
                got = (thr.dv_used - before) / (k * mag)  # fraction of the pulse delivered
                e = self.est
                for i in range(3):
                    f = pl[i] * got
                    p[i] -= f
                    self.fired[i] += f
                    e[3 + i] += f  # the estimate knows its own burn
                mag = math.sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2])
                done = mag < thr.dv_min
            else:
                done = True  # out of propellant: what was fired is the burn
        if done:
            kind = self.kind
            self.kind = 0
            self.quiet = _QUIET_CYCLES
            fd = self.fired
            self.events.emit(
                D.EVT_INSPECTOR_BURN,
                (kind, fd[0], fd[1], fd[2], math.sqrt(fd[0] * fd[0] + fd[1] * fd[1] + fd[2] * fd[2]), thr.dv_used),
            )
            if kind == _BURN_2 and self.arrived is not None:
                self.arrived(self.ellipse)

    def burns_pending(self):
        return (1 if self.kind else 0) + (1 if self.burn2_at >= 0 else 0)
