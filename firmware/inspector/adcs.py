# The inspector's 10 Hz control cycle: advance the emulated world, read the sensors into
# the step's `in` buffer, run gnc.inspector_step (MEKF, PD, dumping, keep-out sweep), then
# command the actuators. DETUMBLE runs B-dot at 1 Hz on the magnetorquers instead (the
# magnetometer reads after two cycles with the torquers off). Buffers are allocated once,
# in __init__; the cycle fills them in place (memoryview slices made here).
import math
from array import array

from micropython import const

import gnc
from fsw import dictionary as D
from fsw.stall import Stall

from hal import ticks_diff, ticks_us  # noqa: F401 (the 10 Hz task times itself; app.py imports them from here)


_DT = 0.1
_SAFE = const(0)
_DETUMBLE = const(1)
_SUN_POINT = const(2)
_TARGET_POINT = const(3)
_ABORT = const(6)
_BDOT_EVERY = const(10)  # B-dot period, cycles
_BDOT_OFF = const(8)  # torquers off from this cycle of the period (measure with them off)
_DUMP_COS = math.cos(math.radians(5.0) / 2.0)  # |q_est . q_ref| above this: within 5 deg of the reference, dumping on
_CALM_CYCLES = const(100)  # DETUMBLE ends after 10 s below the rate threshold
_STUCK_CYCLES = const(20)  # a wheel that does not follow 2 s of torque commands is stuck
_DEG = 57.29578
# MEKF tuning (sensor models of hw.adcs_devices; magnetometer: bias and noise over ~30 uT)
_SIGMA_V = 3.2e-5  # rad/s/sqrt(Hz): 1e-4 rad/s per 10 Hz sample
_SIGMA_U = 1e-7
_SIGMA_SUN = 0.0087  # 0.5 deg
_SIGMA_MAG = 0.005
_SIGMA_STAR = 1e-4
_BACKENDS = {"fallback": 0, "cffi": 1, "native-mpy": 2}


def _f(n):
    return array("f", bytes(4 * n))


def _unit(v):
    # normalise in place; a zero vector stays zero (the step skips it)
    n = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    if n > 0.0:
        v[0] /= n
        v[1] /= n
        v[2] /= n


def _zero(v):
    for i in range(len(v)):
        v[i] = 0.0


class Adcs:
    def __init__(self, hw, params, events):
        self.hw = hw
        self.world = hw.world
        self.params = params
        self.events = events
        self.s = _f(gnc.INSPECTOR_SIZE)
        self.inp = _f(gnc.INSPECTOR_IN)
        self.prm = _f(gnc.INSPECTOR_PRM)
        self.out = _f(gnc.INSPECTOR_OUT)
        mi, mo = memoryview(self.inp), memoryview(self.out)
        self.gyro, self.sun_ref, self.sun_meas = mi[0:3], mi[3:6], mi[6:9]
        self.mag_ref, self.mag_meas, self.b = mi[9:12], mi[12:15], mi[15:18]
        self.q_star, self.q_ref, self.w_ref = mi[18:22], mi[23:27], mi[27:30]
        self.h, self.rel = mi[30:33], mi[33:39]
        self.tau, self.m_dump, self.q_est = mo[0:3], mo[3:6], mo[6:10]
        self.mekf = memoryview(self.s)[0:gnc.MEKF_SIZE]
        self.qe = _f(4)  # estimate at the start of the cycle (for the reference)
        self.q_hold = _f(4)  # commanded inertial attitude (point_inertial, slew)
        self.holding = False
        self.los = _f(3)  # line of sight to the debris (inertial)
        self.nlos = _f(3)
        self.bdot_s = _f(gnc.BDOT_SIZE)
        self.m_cmd = _f(3)
        self.zero3 = _f(3)
        self.m_sent = self.zero3  # the dipole last commanded to the rods (HK reports it): m_cmd, m_dump or zero3
        self.x_axis = array("f", (1.0, 0.0, 0.0))  # panel normal and sun sensor boresight
        self.z_axis = array("f", (0.0, 0.0, 1.0))  # camera boresight
        self.mekf_from_star = False
        self.cycle = 0  # cycles since boot: world time is cycle * 0.1 s
        self.calm = 0
        self.detumble_cycles = 0
        self.sensors = 0
        self.step_errors = 0
        self.cycle_us = 0
        self.cycle_us_max = 0
        self.backend = _BACKENDS.get(gnc.BACKEND, 0)
        self.min_range_true = 1e30
        self.tau_sent = _f(3)  # wheel torque commanded last cycle
        self.h_prev = _f(3)  # wheel momentum read last cycle
        self.h_seen = False
        self.fault_torque = 0.0  # the declaring cycle's torque and response ratio (wheel fault event)
        self.fault_ratio = 0.0
        self.stall = (Stall(_STUCK_CYCLES, 0.0, 0.2), Stall(_STUCK_CYCLES, 0.0, 0.2), Stall(_STUCK_CYCLES, 0.0, 0.2))
        q1 = array("f", (1.0, 0.0, 0.0, 0.0))
        gnc.mekf_init(self.mekf, q1, self.zero3, 1.0, 1e-3)
        for i in range(4):
            self.qe[i] = q1[i]
            self.q_ref[i] = q1[i]
        self.load_params()
        self.inp[39] = _DT

    def load_params(self):
        # prm from the design values and the parameters (each guidance second: no allocation)
        p, g = self.prm, self.params.get
        J = self.world.J  # the inspector's design inertia, from which the emulator was built
        for i in range(9):
            p[i] = J[i]
        p[9] = g(D.PAR_ADCS_KP)
        p[10] = g(D.PAR_ADCS_KD)
        w = self.hw.wheels
        p[11] = w.tau_max if w is not None else 0.0
        p[12] = w.h_max if w is not None else 0.0
        p[13] = g(D.PAR_ADCS_K_DUMP)
        mt = self.hw.magnetorquers
        p[14] = mt.m_max if mt is not None else 0.0
        p[15] = _SIGMA_V
        p[16] = _SIGMA_U
        p[17] = _SIGMA_SUN
        p[18] = _SIGMA_MAG
        p[19] = _SIGMA_STAR
        p[20] = self.world.n
        p[21] = g(D.PAR_GNC_KEEPOUT_RADIUS)
        p[22] = g(D.PAR_GNC_HORIZON)
        p[23] = g(D.PAR_GNC_HORIZON_DT)

    # ---- sensors ----------------------------------------------------------------------------
    def read_sensors(self, t):
        hw, w = self.hw, self.world
        bits = 0
        if hw.imu is not None and hw.imu.read(self.gyro):
            bits |= 1
        else:
            _zero(self.gyro)
        w.field(t, self.mag_ref)
        _unit(self.mag_ref)
        if hw.magnetometer is not None and hw.magnetometer.read(self.b):
            bits |= 2
            m, b = self.mag_meas, self.b
            m[0], m[1], m[2] = b[0], b[1], b[2]
            _unit(m)
        else:
            _zero(self.b)
            _zero(self.mag_meas)
        w.sun_dir(t, self.sun_ref)
        if hw.sun_sensor is not None and hw.sun_sensor.read(self.sun_meas):
            bits |= 4
        else:
            _zero(self.sun_meas)
        star = hw.star_tracker is not None and hw.star_tracker.read(self.q_star)
        self.inp[22] = 1.0 if star else 0.0
        if star:
            bits |= 8
            if not self.mekf_from_star:  # the first fix: start the filter from it
                gnc.mekf_init(self.mekf, self.q_star, self.zero3, 1e-3, 1e-4)
                self.mekf_from_star = True
        if hw.wheels is not None:
            hw.wheels.momentum(self.h)
        self.sensors = bits

    # ---- attitude reference ------------------------------------------------------------------
    def reference(self, mode, t, rel_have, rel):
        qe, s = self.qe, self.s
        for i in range(4):
            qe[i] = s[i]
        if mode >= _TARGET_POINT and rel_have:  # camera (+z) on the debris
            los, nl = self.los, self.nlos
            nl[0], nl[1], nl[2] = -rel[0], -rel[1], -rel[2]
            self.world.lvlh_to_inertial(t, nl, los)
            gnc.point_to(qe, self.z_axis, los, self.q_ref)
            # the line of sight to a target held in LVLH turns with the LVLH frame: n about
            # the orbit normal (feed-forward; without it the PD lags by 2 kd n / kp ~ 1 deg)
            nrm, n = self.world.normal, self.world.n
            los[0], los[1], los[2] = nrm[0] * n, nrm[1] * n, nrm[2] * n
            gnc.quat_rotate_inv(self.q_ref, los, self.w_ref)
            return
        _zero(self.w_ref)  # inertial references: the Sun and a commanded attitude
        if self.holding:
            q, h = self.q_ref, self.q_hold
            for i in range(4):
                q[i] = h[i]
        else:  # panels (+x) on the Sun
            gnc.point_to(qe, self.x_axis, self.sun_ref, self.q_ref)

    # ---- actuators --------------------------------------------------------------------------
    def actuate(self, mode):
        hw = self.hw
        if mode == _DETUMBLE:
            if hw.wheels is not None:
                hw.wheels.command(self.zero3)
            phase = self.cycle % _BDOT_EVERY
            if phase == 0 and self.sensors & 2:
                gnc.bdot(self.bdot_s, self.b, _BDOT_EVERY * _DT, self.params.get(D.PAR_ADCS_BDOT_GAIN),
                         self.prm[14], self.m_cmd)
            elif phase >= _BDOT_OFF or not self.sensors & 2:
                _zero(self.m_cmd)
            self._command_rods(self.m_cmd)
            return
        if hw.wheels is not None:
            hw.wheels.command(self.tau)
            t = self.tau_sent
            t[0], t[1], t[2] = self.tau[0], self.tau[1], self.tau[2]
        self._command_rods(self.m_dump if self.settled() else self.zero3)

    def _command_rods(self, m):
        # no rods on the board: nothing commanded, HK says zero
        if self.hw.magnetorquers is None:
            m = self.zero3
        else:
            self.hw.magnetorquers.command(m)
        self.m_sent = m

    def settled(self):
        # dump momentum only near the reference: in a slew the wheels hold the body's momentum
        # and dumping it would brake the slew (with the 1 A m^2 rods P1's 180 deg slew took
        # 274 s instead of 215 s); the estimate within 5 deg of the reference (_DUMP_COS)
        q, r = self.q_est, self.q_ref
        c = q[0] * r[0] + q[1] * r[1] + q[2] * r[2] + q[3] * r[3]
        return c > _DUMP_COS or c < -_DUMP_COS

    def wheel_check(self):
        # After read_sensors: the axis of a wheel whose momentum has not followed its torque
        # commands (|dh| < 20% of |tau| dt) for _STUCK_CYCLES cycles of at least 10% of the
        # torque limit, declared once; else -1. Momentum changes by -tau dt (hw.adcs_devices).
        h, hp, t = self.h, self.h_prev, self.tau_sent
        axis = -1
        if self.hw.wheels is not None and self.h_seen:
            floor = 0.1 * self.prm[11] * _DT
            for i in range(3):
                s = self.stall[i]
                s.min_command = floor
                cmd, resp = abs(t[i]) * _DT, abs(h[i] - hp[i])
                if s.check(cmd, resp) and axis < 0:
                    axis = i
                    self.fault_torque = t[i]
                    self.fault_ratio = resp / cmd
        hp[0], hp[1], hp[2] = h[0], h[1], h[2]
        t[0] = t[1] = t[2] = 0.0  # judged once: a cycle that commands nothing says nothing
        self.h_seen = True
        return axis

    def safe_actuators(self):
        if self.hw.wheels is not None:
            self.hw.wheels.command(self.zero3)
        self._command_rods(self.zero3)

    def detumble_reset(self):
        gnc.bdot_init(self.bdot_s)
        _zero(self.m_cmd)
        self.calm = 0
        self.detumble_cycles = 0

    def calm_check(self):
        # DETUMBLE: True once the gyro rate stayed below the threshold for _CALM_CYCLES
        self.detumble_cycles += 1
        g = self.gyro
        rate = math.sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]) * _DEG
        if self.sensors & 1 and rate < self.params.get(D.PAR_ADCS_DETUMBLE_RATE):
            self.calm += 1
        else:
            self.calm = 0
        return self.calm >= _CALM_CYCLES

    def rate_deg(self):
        g, s = self.gyro, self.s
        x, y, z = g[0] - s[4], g[1] - s[5], g[2] - s[6]
        return math.sqrt(x * x + y * y + z * z) * _DEG

    def truth_range(self):
        c = self.world.cw
        r = math.sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2])
        if r < self.min_range_true:
            self.min_range_true = r
        return r
