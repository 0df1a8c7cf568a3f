# The inspector's truth world, run on the board itself: a circular LEO orbit, the Sun,
# the Earth's shadow, the geomagnetic field, the tumbling debris and the inspector's
# relative motion (Hill / LVLH about the debris) and attitude with three wheels.
#
# The same functions serve as the flight app's ON-BOARD REFERENCE MODELS (sun_dir, field,
# lvlh_to_inertial, eclipse): an emulated vehicle has no better ephemeris than its own
# world, so truth and reference coincide here; sensor noise and biases are what separate
# the estimate from the truth. Models match hil/offline/world.py (the float64 reference):
#   orbit   circular two-body, basis p (ascending node), q (90 deg ahead in the plane);
#   field   IGRF-13 (2020) dipole terms, turning with the Earth (Wertz, appendix H);
#   Sun     mean Sun, ecliptic longitude from the day of year, obliquity 23.44 deg;
#   shadow  cylindrical (Wertz 3.3 / Vallado 5.3 "cylindrical shadow").
# The environment (field, Sun, shadow) is evaluated at the debris' orbit position: the
# inspector is at most a few km away, which changes the field by well under 0.1 %.
#
# Time is flight seconds from the start of the world, kept as integer seconds plus a
# fraction so a long run does not lose the 0.1 s steps (floats are single precision on
# the boards); the phase n t in float32 still costs ~1e-6 rad/s of run, harmless for
# the environment (the relative motion is integrated step by step, not from t).
import math
from array import array

from micropython import const

import gnc

MU = 3.986004418e14  # m^3/s^2 (WGS-84)
R_EARTH = 6371.2e3  # m, IGRF reference radius (also the shadow cylinder's radius)
W_EARTH = 7.2921150e-5  # rad/s
_G10 = -29404.8e-9  # T, IGRF-13 2020 dipole Gauss coefficients
_G11 = -1450.9e-9
_H11 = 4652.5e-9
_OBLIQUITY = 0.40910518  # rad, 23.44 deg
_DAY = 86400.0
_YEAR_DAYS = 365.25
_EQUINOX_DAY = 80.0  # day of year of the March equinox (ecliptic longitude 0)

_SUBSTEPS = const(1)  # RK4 over 0.1 s: the fastest mode (1 deg/s tumble, n ~ 1e-3) is far below 1/dt


def _vec(v, size, name):
    # a caller's vector -> array('f'); at construction only (allocates)
    if len(v) != size:
        raise ValueError(name + ": needs %d numbers, got %d" % (size, len(v)))
    out = array("f", v)
    for f in out:
        if f != f or f in (math.inf, -math.inf):
            raise ValueError(name + ": NaN or infinite value")
    return out


def _shadow(r, s):
    # behind the Earth (r.s < 0) and within R_EARTH of the Earth-Sun line
    d = r[0] * s[0] + r[1] * s[1] + r[2] * s[2]
    if d >= 0.0:
        return False
    return r[0] * r[0] + r[1] * r[1] + r[2] * r[2] - d * d < R_EARTH * R_EARTH


class SpaceWorld:
    def __init__(self, altitude=500e3, inclination=math.radians(97.4), raan=0.0, u0=0.0, epoch_day=80.0, gmst0=0.0,
                 J=(0.12, 0.002, -0.001, 0.002, 0.10, 0.0015, -0.001, 0.0015, 0.05),
                 q0=(1.0, 0.0, 0.0, 0.0), w0=(0.0, 0.0, 0.0), h0=(0.0, 0.0, 0.0),
                 rel0=(0.0, -300.0, 0.0, 0.0, 0.0, 0.0),
                 target_q0=(1.0, 0.0, 0.0, 0.0), target_rate=(0.0, math.radians(1.0), math.radians(0.1)),
                 disturbance=(0.0, 0.0, 0.0)):
        if not altitude > 0.0:
            raise ValueError("space: altitude must be > 0 m")
        self.a = R_EARTH + altitude
        self.n = math.sqrt(MU / (self.a * self.a * self.a))  # mean motion of the debris, rad/s
        self.period = 2.0 * math.pi / self.n
        self.u0 = u0
        self.epoch_day = epoch_day
        self.gmst0 = gmst0
        ci, si, co, so = math.cos(inclination), math.sin(inclination), math.cos(raan), math.sin(raan)
        self._p = array("f", (co, so, 0.0))
        self._q = array("f", (-so * ci, co * ci, si))
        self.normal = array("f", (so * si, -co * si, ci))  # orbit normal = LVLH z
        # inspector rigid body [q | w | h_wheels] (gnc.body_step layout), inertia J (row-major)
        self.J = _vec(J, 9, "J")
        self.body = array("f", bytes(4 * 10))
        q = _vec(q0, 4, "q0")
        gnc.quat_normalize(q)
        w = _vec(w0, 3, "w0")
        h = _vec(h0, 3, "h0")
        for i in range(4):
            self.body[i] = q[i]
        for i in range(3):
            self.body[4 + i] = w[i]
            self.body[7 + i] = h[i]
        self.cw = _vec(rel0, 6, "rel0")  # inspector relative to the debris, LVLH [r | v]
        self.q_target = _vec(target_q0, 4, "target_q0")  # debris body from inertial; its long axis is body z
        gnc.quat_normalize(self.q_target)
        self.w_target = _vec(target_rate, 3, "target_rate")  # constant: a torque-free spin about a principal axis
        self.disturbance = _vec(disturbance, 3, "disturbance")  # constant external torque, body, N m
        # actuator inputs, written in place by the devices
        self.tau_wheel = array("f", bytes(4 * 3))  # torque of the wheels on the body, N m (wheels get -tau)
        self.dipole = array("f", bytes(4 * 3))  # magnetorquer dipole, body, A m^2
        self.accel = array("f", bytes(4 * 3))  # continuous LVLH acceleration (a leaking thruster), m/s^2
        # environment at the current time (inertial), refreshed by step
        self.r_eci = array("f", bytes(4 * 3))
        self.sun_eci = array("f", bytes(4 * 3))
        self.b_eci = array("f", bytes(4 * 3))
        self.in_eclipse = False
        self.b_body = array("f", bytes(4 * 3))  # field in the body at the current attitude
        self._qb = array("f", bytes(4 * 4))
        self._r = array("f", bytes(4 * 3))
        self._sun = array("f", bytes(4 * 3))
        self._tau_ext = array("f", bytes(4 * 3))
        self._s = 0  # whole flight seconds
        self._frac = 0.0
        self.t = 0.0
        self._env()

    # ---- on-board reference models (caller-owned outputs, no allocation) ------------
    def position(self, t, out):
        # ECI position of the debris (m)
        u = self.u0 + self.n * t
        c, s, a = math.cos(u), math.sin(u), self.a
        p, q = self._p, self._q
        for i in range(3):
            out[i] = a * (c * p[i] + s * q[i])

    def lvlh_to_inertial(self, t, v, out):
        # inertial components of an LVLH vector v: x radial, y along-track, z orbit normal
        u = self.u0 + self.n * t
        c, s = math.cos(u), math.sin(u)
        p, q, nrm = self._p, self._q, self.normal
        v0, v1, v2 = v[0], v[1], v[2]
        for i in range(3):
            out[i] = v0 * (c * p[i] + s * q[i]) + v1 * (c * q[i] - s * p[i]) + v2 * nrm[i]

    def sun_dir(self, t, out):
        # unit Sun direction (ECI), mean Sun turning once a year
        lam = 2.0 * math.pi * (self.epoch_day - _EQUINOX_DAY + t / _DAY) / _YEAR_DAYS
        s = math.sin(lam)
        out[0] = math.cos(lam)
        out[1] = s * math.cos(_OBLIQUITY)
        out[2] = s * math.sin(_OBLIQUITY)

    def field(self, t, out):
        # geomagnetic field (T, ECI) at the orbit position at t: B = (R/r)^3 [3 (m.r^) r^ - m]
        self.position(t, out)
        x, y, z = out[0], out[1], out[2]
        r = math.sqrt(x * x + y * y + z * z)
        x, y, z = x / r, y / r, z / r
        th = self.gmst0 + W_EARTH * t
        c, s = math.cos(th), math.sin(th)
        mx = c * _G11 - s * _H11
        my = s * _G11 + c * _H11
        mz = _G10
        k = R_EARTH / r
        k = k * k * k
        d = 3.0 * (mx * x + my * y + mz * z)
        out[0] = k * (d * x - mx)
        out[1] = k * (d * y - my)
        out[2] = k * (d * z - mz)

    def eclipse(self, t):
        # True when the debris is in the Earth's cylindrical shadow at t (scratch buffers:
        # a reference call never disturbs the world's current environment)
        self.position(t, self._r)
        self.sun_dir(t, self._sun)
        return _shadow(self._r, self._sun)

    # ---- truth propagation ------------------------------------------------------------
    def impulse(self, dvx, dvy, dvz):
        # an impulsive thruster firing (LVLH m/s), applied now
        cw = self.cw
        cw[3] += dvx
        cw[4] += dvy
        cw[5] += dvz

    def _env(self):
        t = self.t
        self.position(t, self.r_eci)
        self.sun_dir(t, self.sun_eci)
        self.in_eclipse = _shadow(self.r_eci, self.sun_eci)
        self.field(t, self.b_eci)
        qb = self._qb
        body = self.body
        for i in range(4):
            qb[i] = body[i]
        gnc.quat_rotate_inv(qb, self.b_eci, self.b_body)

    def step(self, dt):
        if not dt > 0.0 or dt == math.inf:
            raise ValueError("space.step: dt must be a finite number > 0 s")
        # external torque: dipole x B (field at the start of the step, held) + disturbance
        m, b, tau, dist = self.dipole, self.b_body, self._tau_ext, self.disturbance
        tau[0] = m[1] * b[2] - m[2] * b[1] + dist[0]
        tau[1] = m[2] * b[0] - m[0] * b[2] + dist[1]
        tau[2] = m[0] * b[1] - m[1] * b[0] + dist[2]
        gnc.body_step(self.body, self.J, self.tau_wheel, tau, dt, _SUBSTEPS)
        gnc.attitude_propagate(self.q_target, self.w_target, dt)
        gnc.cw_step(self.cw, self.n, self.accel, dt, _SUBSTEPS)
        f = self._frac + dt
        if f >= 1.0:
            k = int(f)
            f -= k
            self._s += k
        self._frac = f
        self.t = self._s + f
        self._env()
