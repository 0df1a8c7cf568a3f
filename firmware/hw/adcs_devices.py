# The inspector's ADCS devices as models on the board: each reads the truth world
# (hw.space.SpaceWorld) and adds its own errors, or writes its command into the world.
# Call shapes are the flight app's HAL: sensors read(out) -> bool valid, filling a
# caller-owned array('f') in place (out is left untouched when invalid); actuators
# command(v3). All noise from hw.noise.Rng, so a seed repeats a run on every runtime.
# Faults (FAULTS, inject / clear) are what ground commands can switch on for FDIR tests.
import math
from array import array

import gnc

_DROPOUT = "dropout"
_STUCK = "stuck"


def check3(v, name):
    # a 3-vector argument: the right length and finite (no allocation: constant messages)
    if len(v) != 3:
        raise ValueError(name + ": needs 3 numbers")
    for i in range(3):
        f = v[i]
        if f != f or f == math.inf or f == -math.inf:
            raise ValueError(name + ": NaN or infinite value")


def _fault_name(dev, fault):
    if fault not in dev.FAULTS:
        raise ValueError("%s: unknown fault %r (known: %s)" % (dev.NAME, fault, ", ".join(dev.FAULTS) or "none"))


class _Sensor:
    # the dropout fault every sensor shares: read() returns False while it is on
    FAULTS = (_DROPOUT,)

    def inject(self, fault, value=None):
        # value: None or true switches the dropout on, a false value off
        _fault_name(self, fault)
        self.dropout = True if value is None else bool(value)

    def clear(self, fault=None):
        if fault is not None:
            _fault_name(self, fault)
        self.dropout = False


class Imu(_Sensor):
    # gyro: rate (rad/s, body) + constant bias + white noise (sigma per sample)
    NAME = "imu"

    def __init__(self, world, rng, bias=(2.4e-5, -4.8e-5, 1.5e-5), sigma=1e-4):
        check3(bias, "imu bias")
        self.world = world
        self.rng = rng
        self.bias = array("f", bias)
        self.sigma = sigma  # 3e-5 rad/s/sqrt(Hz) ARW sampled at 10 Hz
        self.dropout = False

    def read(self, out):
        if self.dropout:
            return False
        body, b, g, s = self.world.body, self.bias, self.rng.gauss, self.sigma
        for i in range(3):
            out[i] = body[4 + i] + b[i] + g(s)
        return True


class Magnetometer(_Sensor):
    # field in the body (T) + bias + white noise
    NAME = "magnetometer"

    def __init__(self, world, rng, bias=(1e-7, -5e-8, 8e-8), sigma=20e-9):
        check3(bias, "magnetometer bias")
        self.world = world
        self.rng = rng
        self.bias = array("f", bias)
        self.sigma = sigma
        self.dropout = False

    def read(self, out):
        if self.dropout:
            return False
        bb, b, g, s = self.world.b_body, self.bias, self.rng.gauss, self.sigma
        for i in range(3):
            out[i] = bb[i] + b[i] + g(s)
        return True


class SunSensor(_Sensor):
    # unit Sun vector in the body; invalid in eclipse or beyond fov (half-angle) of its boresight
    NAME = "sun_sensor"

    def __init__(self, world, rng, boresight=(1.0, 0.0, 0.0), fov=math.radians(60.0), sigma=math.radians(0.5)):
        check3(boresight, "sun_sensor boresight")
        n = math.sqrt(boresight[0] ** 2 + boresight[1] ** 2 + boresight[2] ** 2)
        if not n > 0.0:
            raise ValueError("sun_sensor boresight: zero vector")
        self.world = world
        self.rng = rng
        self.boresight = array("f", (boresight[0] / n, boresight[1] / n, boresight[2] / n))
        self.cos_fov = math.cos(fov)
        self.sigma = sigma  # rad per axis
        self.dropout = False
        self._q = array("f", bytes(4 * 4))
        self._s = array("f", bytes(4 * 3))

    def read(self, out):
        w = self.world
        if self.dropout or w.in_eclipse:
            return False
        q, s, body = self._q, self._s, w.body
        for i in range(4):
            q[i] = body[i]
        gnc.quat_rotate_inv(q, w.sun_eci, s)
        bs = self.boresight
        if s[0] * bs[0] + s[1] * bs[1] + s[2] * bs[2] < self.cos_fov:
            return False
        g, sg = self.rng.gauss, self.sigma
        x, y, z = s[0] + g(sg), s[1] + g(sg), s[2] + g(sg)
        k = 1.0 / math.sqrt(x * x + y * y + z * z)
        out[0] = x * k
        out[1] = y * k
        out[2] = z * k
        return True


class StarTracker(_Sensor):
    # q body-from-inertial with a small random rotation (sigma rad per body axis);
    # invalid when the body rate smears the stars (|w| > max_rate)
    NAME = "star_tracker"

    def __init__(self, world, rng, sigma=1e-4, max_rate=math.radians(1.0), dropout=False):
        self.world = world
        self.rng = rng
        self.sigma = sigma
        self.max_rate = max_rate
        self.dropout = bool(dropout)  # True: out from boot (a scenario's filter starts without a fix)

    def read(self, out):
        if self.dropout:
            return False
        b = self.world.body
        w0, w1, w2 = b[4], b[5], b[6]
        if w0 * w0 + w1 * w1 + w2 * w2 > self.max_rate * self.max_rate:
            return False
        g, s = self.rng.gauss, 0.5 * self.sigma
        e1, e2, e3 = g(s), g(s), g(s)  # error quaternion [1, dtheta / 2], q_meas = q x dq
        q0, q1, q2, q3 = b[0], b[1], b[2], b[3]
        r0 = q0 - q1 * e1 - q2 * e2 - q3 * e3
        r1 = q1 + q0 * e1 + q2 * e3 - q3 * e2
        r2 = q2 + q0 * e2 + q3 * e1 - q1 * e3
        r3 = q3 + q0 * e3 + q1 * e2 - q2 * e1
        k = 1.0 / math.sqrt(r0 * r0 + r1 * r1 + r2 * r2 + r3 * r3)
        out[0] = r0 * k
        out[1] = r1 * k
        out[2] = r2 * k
        out[3] = r3 * k
        return True


class RelNav(_Sensor):
    # lidar / camera relative navigation: the inspector's state relative to the debris in
    # LVLH ([r 3 | v 3], the CW state gnc uses); range-proportional noise; invalid beyond
    # max_range (no return from the target)
    NAME = "rel_nav"

    def __init__(self, world, rng, max_range=1000.0, sigma_pos=0.05, sigma_pos_frac=0.005, sigma_vel=0.002):
        self.world = world
        self.rng = rng
        self.max_range = max_range
        self.sigma_pos = sigma_pos  # m, floor
        self.sigma_pos_frac = sigma_pos_frac  # of the range
        self.sigma_vel = sigma_vel  # m/s
        self.dropout = False

    def read(self, out):
        if self.dropout:
            return False
        x = self.world.cw
        r = math.sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2])
        if r > self.max_range:
            return False
        g = self.rng.gauss
        sp = self.sigma_pos + self.sigma_pos_frac * r
        sv = self.sigma_vel
        for i in range(3):
            out[i] = x[i] + g(sp)
            out[3 + i] = x[3 + i] + g(sv)
        return True


class Wheels:
    # three reaction wheels on the body axes. command(tau) is the torque wanted on the
    # body; each axis is clipped to tau_max, and at every step to what keeps the wheel's
    # momentum within h_max (h' = -tau exactly, so the limit holds at the end of the step).
    # Fault stuck (value: axis 0..2): that wheel produces no torque.
    NAME = "wheels"
    FAULTS = (_STUCK,)

    def __init__(self, world, tau_max=2e-3, h_max=0.03):
        if not tau_max > 0.0 or not h_max > 0.0:
            raise ValueError("wheels: tau_max and h_max must be > 0")
        self.world = world
        self.tau_max = tau_max
        self.h_max = h_max
        self.cmd = array("f", bytes(4 * 3))  # commanded torque after the tau_max clip
        self.torque = array("f", bytes(4 * 3))  # applied in the last step (telemetry)
        self.stuck = array("b", bytes(3))  # 1: that axis produces no torque

    def command(self, tau):
        check3(tau, "wheels.command")
        lim, c = self.tau_max, self.cmd
        for i in range(3):
            f = tau[i]
            c[i] = lim if f > lim else (-lim if f < -lim else f)

    def momentum(self, out):
        b = self.world.body
        out[0] = b[7]
        out[1] = b[8]
        out[2] = b[9]

    def apply(self, dt):
        # the torque the wheels put on the body over the next dt
        b, c, out, hm = self.world.body, self.cmd, self.world.tau_wheel, self.h_max
        for i in range(3):
            f = 0.0 if self.stuck[i] else c[i]
            h = b[7 + i]
            lo = (h - hm) / dt  # h - tau dt <= h_max
            hi = (h + hm) / dt  # h - tau dt >= -h_max
            if f < lo:  # h would pass +h_max: up to the limit only (nothing more if already beyond)
                if lo <= 0.0:
                    f = lo
                elif f < 0.0:
                    f = 0.0
            elif f > hi:  # h would pass -h_max
                if hi >= 0.0:
                    f = hi
                elif f > 0.0:
                    f = 0.0
            out[i] = f
            self.torque[i] = f

    def inject(self, fault, value=None):
        _fault_name(self, fault)
        if value is None or value is True or value is False or value not in (0, 1, 2):
            raise ValueError("wheels: stuck needs an axis 0, 1 or 2, got %r" % (value,))
        self.stuck[int(value)] = 1  # an integral float from the ST8 argument (f32) is an axis too

    def clear(self, fault=None):
        if fault is not None:
            _fault_name(self, fault)
        for i in range(3):
            self.stuck[i] = 0


class Magnetorquers:
    # three rods on the body axes; the dipole is clipped per axis to m_max. Sized as a designer
    # sizes rods for momentum dumping: m_max >= margin x disturbance / weakest field, here
    # 2 x 1e-5 N m (GNC.md M1's constant disturbance) / 20 uT (500 km, near the equator) = 1 A m^2.
    # At 0.4 A m^2 the rods can just match that torque when it is square to the field and not
    # on an orbit's average: the wheels kept filling (M1: 35/48/59/67% after orbits 1-4),
    # where 1 A m^2 holds them near 26%.
    NAME = "magnetorquers"
    FAULTS = ()

    def __init__(self, world, m_max=1.0):
        if not m_max > 0.0:
            raise ValueError("magnetorquers: m_max must be > 0")
        self.world = world
        self.m_max = m_max

    def command(self, m):
        check3(m, "magnetorquers.command")
        lim, d = self.m_max, self.world.dipole
        for i in range(3):
            f = m[i]
            d[i] = lim if f > lim else (-lim if f < -lim else f)

    def inject(self, fault, value=None):
        _fault_name(self, fault)

    def clear(self, fault=None):
        if fault is not None:
            _fault_name(self, fault)
