# The inspector flight app: the Vehicle with its modes, ST8 functions on APIDs
# 0x010-0x014, its tasks and housekeeping. Read top to bottom for the wiring; the
# 10 Hz cycle (cycle()) is: world step, sensors, relative navigation, burns, attitude
# reference, gnc.inspector_step, keep-out reaction, actuators.
#
# Modes (the dictionary's docs): SAFE sun-pointing, no guidance, payload idle; DETUMBLE
# B-dot until the rate is low, then SUN_POINT by itself; SUN_POINT panels on the Sun (or a
# commanded inertial attitude); TARGET_POINT camera on the debris; APPROACH a two-impulse
# transfer to a hold point; FLY_AROUND on a safety ellipse; ABORT after an abort burn.
# A keep-out breach predicted by the step in a target mode is an autonomous abort in the
# same cycle: the abort burn's first pulse fires before the cycle ends.
import math
from array import array

from micropython import const

import gnc
from fsw import dictionary as D
from fsw.vehicle import REASON_AUTONOMOUS, REASON_COMMAND, Vehicle
from inspector.adcs import Adcs, ticks_diff, ticks_us
from inspector.guidance import Guidance
from inspector.payload import Payload

_SAFE = const(0)
_DETUMBLE = const(1)
_SUN_POINT = const(2)
_TARGET_POINT = const(3)
_APPROACH = const(4)
_FLY_AROUND = const(5)
_ABORT = const(6)
_PERIOD_MS = const(100)
_PARAM_EVERY = const(10)  # cycles between parameter refreshes
_ABORT_COMMAND = const(0)
_ABORT_KEEPOUT = const(1)
_THRUSTERS = const(8)  # device number of the thrusters (dictionary inspector.DEVICES)
_LEAK = const(3)
_DEG = 57.29578


class Inspector(Vehicle):
    def __init__(self, obc, hw):
        super().__init__(obc, hw, "inspector", D.EVT_INSPECTOR_MODE_CHANGED, D.MODE_INSPECTOR_SAFE)
        self.adcs = Adcs(hw, obc.params, obc.events)
        self.guidance = Guidance(hw, obc.params, obc.events)
        self.guidance.arrived = self._arrived
        self.payload = Payload(obc, hw.camera)
        self._q = array("f", bytes(16))
        self._q2 = array("f", bytes(16))
        self._v = array("f", bytes(12))
        self._v2 = array("f", bytes(12))
        self._axis = array("f", bytes(12))
        self._bat = array("f", bytes(12))

        fn = self.functions
        fn.add(D.FN_INSPECTOR_ADCS_SET_MODE, self.cmd_set_mode)
        fn.add(D.FN_INSPECTOR_ADCS_INJECT_FAULT, lambda args: self.inject_fault(D.FN_INSPECTOR_ADCS_INJECT_FAULT, args))
        fn.add(D.FN_INSPECTOR_ADCS_CLEAR_FAULTS, lambda args: self.clear_faults(D.FN_INSPECTOR_ADCS_CLEAR_FAULTS, args))
        fn.add(D.FN_INSPECTOR_ADCS_POINT_INERTIAL, self.cmd_point_inertial, self.check_point_inertial)
        fn.add(D.FN_INSPECTOR_ADCS_SLEW, self.cmd_slew)
        fn.add(D.FN_INSPECTOR_GNC_APPROACH, self.cmd_approach, self.check_approach)
        fn.add(D.FN_INSPECTOR_GNC_ENTER_ELLIPSE, self.cmd_enter_ellipse, self.check_enter_ellipse)
        fn.add(D.FN_INSPECTOR_GNC_ABORT, self.cmd_abort, self.check_abort)
        fn.add(D.FN_INSPECTOR_CAMERA_CAPTURE, self.payload.capture, self.payload.check)

        self.control = self.task("adcs", _PERIOD_MS, self.cycle)
        self.task("payload", _PERIOD_MS, self.payload.cycle)

        hk = obc.hk
        hk.add(D.HK_INSPECTOR_ADCS, self.hk_adcs, 1000)
        hk.add(D.HK_INSPECTOR_TRUTH, self.hk_truth, 1000)
        hk.add(D.HK_INSPECTOR_GNC, self.hk_gnc, 1000)
        hk.add(D.HK_INSPECTOR_PROP, self.hk_prop, 5000)
        hk.add(D.HK_INSPECTOR_CAMERA, self.hk_camera, 5000)
        hk.add(D.HK_INSPECTOR_POWER, self.hk_power, 5000)

    # ---- the 10 Hz cycle ---------------------------------------------------------------------
    def cycle(self, cycle_ms):
        t0 = ticks_us()
        a, g = self.adcs, self.guidance
        mode = self.mode
        self.hw.step(0.1)  # the emulated world moves with the commands of the last cycle
        a.cycle += 1
        k = a.cycle
        t = k * 0.1
        a.truth_range()
        if k % _PARAM_EVERY == 0:
            a.load_params()
        a.read_sensors(t)
        axis = a.wheel_check()
        if axis >= 0:  # a stuck reaction wheel: report it and safe the vehicle (FDIR's record keeps why)
            self.events.emit(D.EVT_INSPECTOR_WHEEL_FAULT, (axis, a.fault_torque, a.fault_ratio))
            self.obc.fdir.safe(D.SAFING_DEVICE, axis)
        g.nav(self.hw.rel_nav, self.obc.params.get(D.PAR_GNC_NAV_GAIN), mode >= _TARGET_POINT, a.rel)
        g.fire(k)
        a.reference(self.mode, t, g.have, g.est)
        try:
            unsafe = gnc.inspector_step(a.s, a.inp, a.prm, a.out)
        except gnc.GncError:
            a.step_errors += 1
            a.safe_actuators()  # no command from a failed step
            raise  # the task's heartbeat stops: FDIR sees it
        mode = self.mode
        if unsafe and g.have and g.quiet == 0 and g.kind == 0 and mode >= _TARGET_POINT:
            # keep-out breach predicted: autonomous abort now (first pulse in this cycle)
            if g.plan_abort() == 0:
                g.start_abort(_ABORT_KEEPOUT, a.out[10])
                if mode != _ABORT:
                    self.set_mode(_ABORT, REASON_AUTONOMOUS)
                g.fire(k)
        if self.mode == _DETUMBLE and a.calm_check():
            self.events.emit(D.EVT_INSPECTOR_DETUMBLED, (a.rate_deg(), a.detumble_cycles * 0.1))
            self.set_mode(_SUN_POINT, REASON_AUTONOMOUS)
        a.actuate(self.mode)
        dt = ticks_diff(ticks_us(), t0)
        a.cycle_us = dt
        if dt > a.cycle_us_max:
            a.cycle_us_max = dt

    # ---- modes --------------------------------------------------------------------------
    def enter(self, mode, old):
        a = self.adcs
        if mode != _SAFE:  # leaving safe re-arms the wheel checks (a wheel still stuck is found again)
            for s in a.stall:
                s.reset()
        a.holding = False  # an inertial hold lasts until the next mode change
        if mode == _DETUMBLE:
            a.detumble_reset()
        if mode < _APPROACH:  # guidance stops: transfers and burns are cancelled
            self.guidance.cancel()

    def _arrived(self, ellipse):
        if ellipse and self.mode == _APPROACH:
            self.set_mode(_FLY_AROUND, REASON_AUTONOMOUS)

    # ---- functions ----------------------------------------------------------------------
    def cmd_set_mode(self, args):
        if args[0] != self.mode:
            self.set_mode(args[0], REASON_COMMAND)
        return 0

    def inject_fault(self, fid, args):
        # Vehicle's, except the thrusters' leak: its value is an acceleration toward the
        # debris (m/s^2, negative away), turned into the LVLH vector the emulator takes
        if args[0] == _THRUSTERS and args[1] == _LEAK:
            g = self.guidance
            r = g.range() if g.have else 0.0
            if not r > 0.0 or args[2] == 0.0:
                return D.ERR_ARG_OUT_OF_RANGE  # no direction to the debris known, or no leak
            e, k = g.est, -args[2] / r
            try:
                self.hw.inject("thrusters", "leak", (e[0] * k, e[1] * k, e[2] * k))
            except ValueError:
                return D.ERR_ARG_OUT_OF_RANGE
            return 0
        return Vehicle.inject_fault(self, fid, args)

    def check_point_inertial(self, args):
        n = math.sqrt(args[0] * args[0] + args[1] * args[1] + args[2] * args[2] + args[3] * args[3])
        return 0 if 0.5 <= n <= 1.5 else D.ERR_ARG_OUT_OF_RANGE

    def cmd_point_inertial(self, args):
        q = self.adcs.q_hold
        for i in range(4):
            q[i] = args[i]
        gnc.quat_normalize(q)
        self.adcs.holding = True
        return 0

    def cmd_slew(self, args):
        # the new reference: the current one turned by angle about a body axis (q_ref x dq)
        a, ax, dq = self.adcs, self._axis, self._q
        for i in range(3):
            ax[i] = 1.0 if i == args[0] else 0.0
        gnc.quat_from_axis_angle(ax, args[1] / _DEG, dq)
        gnc.quat_mul(a.q_ref, dq, a.q_hold)
        gnc.quat_normalize(a.q_hold)
        a.holding = True
        return 0

    def check_approach(self, args):
        return self.guidance.plan_transfer(args[0], args[1], args[2], args[3])

    def cmd_approach(self, args):
        self.guidance.start_transfer(self.adcs.cycle, False)
        if self.mode != _APPROACH:
            self.set_mode(_APPROACH, REASON_COMMAND)
        return 0

    def check_enter_ellipse(self, args):
        return self.guidance.plan_ellipse(args[0], args[1], args[2], args[3], args[4])

    def cmd_enter_ellipse(self, args):
        self.guidance.start_transfer(self.adcs.cycle, True)
        if self.mode != _APPROACH:
            self.set_mode(_APPROACH, REASON_COMMAND)
        return 0

    def check_abort(self, args):
        return self.guidance.plan_abort()

    def cmd_abort(self, args):
        g = self.guidance
        g.start_abort(_ABORT_COMMAND, g.range())
        self.set_mode(_ABORT, REASON_COMMAND)
        return 0

    # ---- housekeeping (1 Hz or slower: tuples allowed) ------------------------------------
    def hk_adcs(self):
        a = self.adcs
        s, h, tau, m = a.s, a.h, a.out, a.m_sent
        return (self.mode, s[0], s[1], s[2], s[3], a.rate_deg(), h[0], h[1], h[2], tau[0], tau[1], tau[2],
                m[0], m[1], m[2], a.sensors | (16 if self.guidance.valid else 0), a.step_errors, a.backend,
                a.cycle_us, a.cycle_us_max, math.sqrt(s[7]) * _DEG, math.sqrt(s[14]) * _DEG, math.sqrt(s[21]) * _DEG)

    def hk_truth(self):
        a, w = self.adcs, self.adcs.world
        q, b, c = self._q, w.body, w.cw
        for i in range(4):
            q[i] = b[i]
        rate = math.sqrt(b[4] * b[4] + b[5] * b[5] + b[6] * b[6]) * _DEG
        est = self._q2
        for i in range(4):
            est[i] = a.s[i]
        est_err = gnc.quat_angle(est, q) * _DEG
        r = a.truth_range()
        if self.mode >= _TARGET_POINT and r > 0.0:  # camera boresight against the true line of sight
            los, bore, nl = self._v, self._v2, a.nlos
            nl[0], nl[1], nl[2] = -c[0], -c[1], -c[2]
            w.lvlh_to_inertial(w.t, nl, los)
            gnc.quat_rotate(q, a.z_axis, bore)
            d = (los[0] * bore[0] + los[1] * bore[1] + los[2] * bore[2]) / r
            point = math.acos(1.0 if d > 1.0 else (-1.0 if d < -1.0 else d)) * _DEG
        else:
            point = gnc.quat_angle(a.q_ref, q) * _DEG
        hm = a.prm[12]
        hf = 0.0
        for i in range(3):
            x = abs(b[7 + i]) / hm if hm > 0.0 else 0.0
            if x > hf:
                hf = x
        nees = -1.0  # the filter against the truth: the true attitude and the emulated gyro's bias
        imu = self.hw.imu
        if imu is not None and hasattr(imu, "bias"):
            try:
                nees = gnc.mekf_nees(a.mekf, q, imu.bias)
            except gnc.GncError:
                pass  # P not positive definite: reported as -1
        return (q[0], q[1], q[2], q[3], rate, point, est_err, c[0], c[1], c[2], c[3], c[4], c[5], r,
                a.min_range_true, hf, w.t, nees)

    def hk_gnc(self):
        g, e, h = self.guidance, self.guidance.est, self.guidance.hold
        nxt = (g.burn2_at - self.adcs.cycle) * 0.1 if g.burn2_at >= 0 else 0.0
        return (self.mode, e[0], e[1], e[2], e[3], e[4], e[5], g.range(), self.adcs.out[10], int(self.adcs.out[11]),
                1 if g.valid else 0, g.burns_pending(), nxt, g.aborts, h[0], h[1], h[2])

    def hk_prop(self):
        t = self.hw.thrusters
        if t is None:
            return (0.0, 0.0, 0.0, 0, 0, 0, 0)
        return (t.propellant, t.dv_used, t.dv_leaked, t.fires, t.capped, t.below_min, t.empty)

    def hk_camera(self):
        p = self.payload
        return (p.captures, 1 if p.busy else 0, p.row(), p.last_transaction, p.last_lit)

    def hk_power(self):
        b, out = self.hw.battery, self._bat
        if b is None or not b.read(out):
            out[0] = out[1] = out[2] = 0.0
        w = self.adcs.world
        return (out[0], out[1], out[2], 1 if w.eclipse(w.t) else 0)


def start(obc, board):
    # board["scenario"]: initial conditions and model options for hw.inspector.build (tests, demos)
    from hw import inspector as hw_inspector

    hw = hw_inspector.build(board, board.get("seed", 1), **board.get("scenario", {}))
    return Inspector(obc, hw)
