"""Truth and reference models for the inspector (not flight code), in numpy float64: what the app-flown
scenarios compute their ground references with (hil/scenarios/inspector_app.py) and the hardware tests
judge the emulator by.

Circular two-body orbit, a tilted dipole magnetic field turning with the Earth, the Sun direction,
rigid-body attitude dynamics with three reaction wheels, the gyro error model, and the nonlinear
relative motion about a target on a circular orbit (with the float64 Clohessy-Wiltshire solution
as the linear reference). Quaternions follow GNC.md / gnc.h: scalar first, Hamilton product,
q_bi (body from inertial), v_body = R(q)^T v_inertial, q_dot = 1/2 q x [0, w].

Every function takes arrays with leading batch axes (Monte Carlo runs) where that makes sense.
"""

import numpy as np
from scipy.integrate import solve_ivp

MU = 3.986004418e14  # m^3/s^2, Earth's gravitational parameter (WGS-84)
R_EARTH = 6371.2e3  # m, IGRF reference radius
W_EARTH = 7.2921150e-5  # rad/s, Earth rotation rate
# Dipole (degree 1) Gauss coefficients of IGRF-13 at epoch 2020, in T: the potential
# V = R_E^3 (m . r) / r^3 with m = (g11, h11, g10) in ECEF, tilted ~11 deg from the spin axis.
_G10, _G11, _H11 = -29404.8e-9, -1450.9e-9, 4652.5e-9


# ---- quaternions (float64, batched over leading axes) ------------------------------------


def qmul(a, b):
    """Hamilton product a x b, scalar first."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    av, bv = a[..., 1:], b[..., 1:]
    s = a[..., :1] * b[..., :1] - np.sum(av * bv, axis=-1, keepdims=True)
    return np.concatenate((s, a[..., :1] * bv + b[..., :1] * av + cross(av, bv)), axis=-1)


def qconj(q):
    q = np.array(q, float)
    q[..., 1:] *= -1.0
    return q


_I1 = np.array([1, 2, 0])
_I2 = np.array([2, 0, 1])


def cross(a, b):
    """a x b over the last axis (np.cross is slow on small batches)."""
    return a[..., _I1] * b[..., _I2] - a[..., _I2] * b[..., _I1]


def rotate(q, v):
    """R(q) v (active rotation: body components -> inertial for q_bi)."""
    q = np.asarray(q, float)
    qv = q[..., 1:]
    t = 2.0 * cross(qv, v)
    return v + q[..., :1] * t + cross(qv, t)


def rotate_inv(q, v):
    """R(q)^T v (inertial components -> body for q_bi)."""
    return rotate(qconj(q), v)


def qexp(rotvec):
    """Quaternion of the rotation vector (axis * angle)."""
    rotvec = np.asarray(rotvec, float)
    ang = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    half = 0.5 * ang
    # sin(x/2)/x, series near zero
    k = np.where(ang > 1e-8, np.sin(half) / np.where(ang > 1e-8, ang, 1.0), 0.5 - ang**2 / 48.0)
    return np.concatenate((np.cos(half), k * rotvec), axis=-1)


def qangle(a, b):
    """Rotation angle between two attitudes, 0..pi (rad)."""
    d = np.abs(np.sum(np.asarray(a, float) * np.asarray(b, float), axis=-1))
    return 2.0 * np.arccos(np.clip(d, 0.0, 1.0))


def qerror_vec(q_ref, q):
    """Small-angle error vector 2 vec(q_ref* x q) (body axes, rad), sign fixed to dq0 >= 0."""
    dq = qmul(qconj(q_ref), q)
    s = np.where(dq[..., :1] < 0.0, -1.0, 1.0)
    return 2.0 * s * dq[..., 1:]


def random_unit(rng, n):
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# ---- orbit and environment ----------------------------------------------------------------


class CircularOrbit:
    """Circular two-body orbit: altitude (m), inclination, RAAN and argument of latitude at t=0 (rad)."""

    def __init__(self, altitude, inclination, raan=0.0, u0=0.0):
        self.a = R_EARTH + altitude
        self.n = np.sqrt(MU / self.a**3)
        self.period = 2.0 * np.pi / self.n
        self.inclination = inclination
        self.raan = raan
        self.u0 = np.asarray(u0, float)
        ci, si, co, so = np.cos(inclination), np.sin(inclination), np.cos(raan), np.sin(raan)
        # perifocal-like basis: p toward the ascending node, q 90 deg ahead in the orbit plane
        self._p = np.array([co, so, 0.0])
        self._q = np.array([-so * ci, co * ci, si])
        self.normal = np.cross(self._p, self._q)

    def position(self, t):
        """ECI position (m) at time t; batched over u0's shape (..., 3)."""
        u = self.u0 + self.n * np.asarray(t, float)
        return self.a * (np.cos(u)[..., None] * self._p + np.sin(u)[..., None] * self._q)

    def velocity(self, t):
        u = self.u0 + self.n * np.asarray(t, float)
        return self.a * self.n * (-np.sin(u)[..., None] * self._p + np.cos(u)[..., None] * self._q)


def dipole_field(r_eci, t, gmst0=0.0):
    """Geomagnetic field (T, ECI) of the IGRF-13 dipole terms, the dipole turning with the Earth.

    B = (R_E / r)^3 [3 (m . r_hat) r_hat - m], m = (g11, h11, g10) in ECEF (Wertz, Spacecraft Attitude
    Determination and Control, appendix H, dipole model); |B| ~ 24 uT at the equator and ~ 48 uT over
    the poles at 500 km.
    """
    r_eci = np.asarray(r_eci, float)
    th = gmst0 + W_EARTH * np.asarray(t, float)
    c, s = np.cos(th), np.sin(th)
    m = np.stack((c * _G11 - s * _H11, s * _G11 + c * _H11, np.full_like(c, _G10)), axis=-1)
    r = np.linalg.norm(r_eci, axis=-1, keepdims=True)
    rh = r_eci / r
    return (R_EARTH / r) ** 3 * (3.0 * np.sum(m * rh, axis=-1, keepdims=True) * rh - m)


def sun_direction(day_of_year=80.0):
    """Unit Sun vector (ECI) from a mean-Sun model: ecliptic longitude from the day, obliquity 23.44 deg."""
    lam = 2.0 * np.pi * (day_of_year - 80.0) / 365.25
    eps = np.radians(23.44)
    return np.array([np.cos(lam), np.sin(lam) * np.cos(eps), np.sin(lam) * np.sin(eps)])


# ---- rigid body with reaction wheels -----------------------------------------------------


def body_derivatives(q, w, h, J, Jinv, tau_body, tau_ext):
    """q_dot, w_dot, h_dot of a rigid body with wheels: J w_dot = tau_body + tau_ext - w x (J w + h),
    h_dot = -tau_body (tau_body: the torque the wheels put on the body)."""
    Jw = w @ J.T
    wdot = (tau_body + tau_ext - cross(w, Jw + h)) @ Jinv.T
    w4 = np.concatenate((np.zeros(w.shape[:-1] + (1,)), w), axis=-1)
    qdot = 0.5 * qmul(q, w4)
    return qdot, wdot, -tau_body


def body_rk4(q, w, h, J, dt, torque, substeps=1, Jinv=None):
    """Advance (q, w, h) over dt with RK4; torque(q, w) -> (tau_body, tau_ext) evaluated at each stage."""
    if Jinv is None:
        Jinv = np.linalg.inv(J)
    step = dt / substeps
    for _ in range(substeps):
        k = []
        state = (q, w, h)
        for c in (0.0, 0.5, 0.5, 1.0):
            if c:
                qs = state[0] + c * step * k[-1][0]
                ws = state[1] + c * step * k[-1][1]
                hs = state[2] + c * step * k[-1][2]
            else:
                qs, ws, hs = state
            tb, te = torque(qs, ws)
            k.append(body_derivatives(qs, ws, hs, J, Jinv, tb, te))
        q = q + step / 6.0 * (k[0][0] + 2 * k[1][0] + 2 * k[2][0] + k[3][0])
        w = w + step / 6.0 * (k[0][1] + 2 * k[1][1] + 2 * k[2][1] + k[3][1])
        h = h + step / 6.0 * (k[0][2] + 2 * k[1][2] + 2 * k[2][2] + k[3][2])
        q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    return q, w, h


class Gyro:
    """Rate gyro: w_meas = w + (b_k + b_k+1)/2 + sqrt(sv^2/dt + su^2 dt/12) N, b_k+1 = b_k + su sqrt(dt) N
    (Crassidis & Junkins, Optimal Estimation of Dynamic Systems, 2nd ed., 7.2.1)."""

    def __init__(self, rng, bias, sigma_v, sigma_u):
        self.rng = rng
        self.bias = np.array(bias, float)
        self.sigma_v = sigma_v
        self.sigma_u = sigma_u

    def measure(self, w, dt):
        b0 = self.bias
        self.bias = b0 + self.sigma_u * np.sqrt(dt) * self.rng.normal(size=b0.shape)
        noise = np.sqrt(self.sigma_v**2 / dt + self.sigma_u**2 * dt / 12.0) * self.rng.normal(size=b0.shape)
        return w + 0.5 * (b0 + self.bias) + noise


# ---- relative motion ----------------------------------------------------------------------


def cw_stm(n, t):
    """Clohessy-Wiltshire state transition matrix (float64), x radial, y along-track, z cross-track
    (Vallado, Fundamentals of Astrodynamics and Applications, 4th ed., 6.8)."""
    s, c = np.sin(n * t), np.cos(n * t)
    return np.array(
        [
            [4 - 3 * c, 0, 0, s / n, 2 * (1 - c) / n, 0],
            [6 * (s - n * t), 1, 0, -2 * (1 - c) / n, (4 * s - 3 * n * t) / n, 0],
            [0, 0, c, 0, 0, s / n],
            [3 * n * s, 0, 0, c, 2 * s, 0],
            [-6 * n * (1 - c), 0, 0, -2 * s, 4 * c - 3, 0],
            [0, 0, -n * s, 0, 0, c],
        ]
    )


def cw_two_impulse(x0, r_f, v_f, n, t):
    """Float64 reference two-impulse transfer: (dv1, dv2) taking x0 to (r_f, v_f) in t."""
    phi = cw_stm(n, t)
    x0 = np.asarray(x0, float)
    v1 = np.linalg.solve(phi[:3, 3:], np.asarray(r_f, float) - phi[:3, :3] @ x0[:3])
    arrive = phi @ np.concatenate((x0[:3], v1))
    return v1 - x0[3:], np.asarray(v_f, float) - arrive[3:]


def relative_derivative(x, n):
    """Exact two-body motion of a chaser relative to a target on a circular orbit of mean motion n,
    in the target's rotating LVLH frame (float64); x: (6, ...) rows [x, y, z, vx, vy, vz]:

        x'' - 2 n y' - n^2 x = mu/R^2 - mu (R + x)/r^3,  y'' + 2 n x' - n^2 y = -mu y / r^3,
        z'' = -mu z / r^3,  r = |(R + x, y, z)|,  R = (mu / n^2)^(1/3).

    (mu/R^2 - mu (R + x)/r^3 is a difference of nearly equal numbers: fine in float64 for x << R.)
    """
    R = (MU / n**2) ** (1.0 / 3.0)
    x_, y, z, vx, vy, vz = x
    r3 = ((R + x_) ** 2 + y**2 + z**2) ** 1.5
    ax = 2 * n * vy + n * n * x_ + MU / R**2 - MU * (R + x_) / r3
    ay = -2 * n * vx + n * n * y - MU * y / r3
    az = -MU * z / r3
    return np.stack((vx, vy, vz, ax, ay, az))


def relative_rk4(x, n, dt, substeps=1):
    """Advance one relative state (6,) over dt with fixed-step RK4 of relative_derivative."""
    x = np.asarray(x, float)
    h = dt / substeps
    for _ in range(substeps):
        k1 = relative_derivative(x, n)
        k2 = relative_derivative(x + 0.5 * h * k1, n)
        k3 = relative_derivative(x + 0.5 * h * k2, n)
        k4 = relative_derivative(x + h * k3, n)
        x = x + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def relative_twobody(x0, n, t_eval):
    """relative_derivative integrated with DOP853 (rtol 1e-11) from t=0 to t_eval[-1].

    x0: (6,) or (runs, 6); returns states (len(t_eval), 6) or (len(t_eval), runs, 6).
    """
    x0 = np.asarray(x0, float)
    single = x0.ndim == 1
    X0 = np.atleast_2d(x0)
    runs = X0.shape[0]

    def f(_t, y):
        return relative_derivative(y.reshape(6, runs), n).reshape(-1)

    sol = solve_ivp(f, (0.0, float(t_eval[-1])), X0.T.reshape(-1), t_eval=t_eval, method="DOP853", rtol=1e-11,
                    atol=1e-9)
    if not sol.success:
        raise RuntimeError("relative_twobody: " + sol.message)
    out = sol.y.reshape(6, runs, len(t_eval)).transpose(2, 1, 0)
    return out[:, 0, :] if single else out
