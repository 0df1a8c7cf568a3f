# Plant propagators for the emulated hardware: the pure MicroPython fallback of
# native/src/plant.c (same names without gnc_, same arguments, outputs in place).
# Rigid body with wheels: J w' = -w x (J w + h) + tau_wheel + tau_ext, h' = -tau_wheel,
# q' = 1/2 q x [0, w] (Markley & Crassidis 3.3, 7.2; Wie 7.2); CW with a constant
# acceleration (Vallado 6.8); both RK4 (Numerical Recipes 17.1) with equal sub-steps.
# Rover: exact unicycle arc as a chord v dt sinc(omega dt / 2) along psi + omega dt / 2.
import math
from micropython import const

from gnc.errors import EINVAL, ENAN, ERANGE, GncError

_MAX_SUBSTEPS = const(1000)  # GNC_MAX_SUBSTEPS

# work buffers, allocated once (lists: full precision on CPython, no float32 rounding)
_JINV = [0.0] * 9
_TAU = [0.0] * 6  # tau_wheel | tau_ext
_Y = [0.0] * 10
_K = [0.0] * 40  # k1..k4
_TMP = [0.0] * 10


def _finite(v, n, name):
    for i in range(n):
        f = v[i]
        if f != f or f in (math.inf, -math.inf):
            raise GncError(ENAN, name + ": NaN or infinite input")


def _fin(f, name):
    if f != f or f in (math.inf, -math.inf):
        raise GncError(ENAN, name + ": NaN or infinite input")


def _check_steps(dt, substeps, name):
    if dt < 0.0 or substeps < 1:
        raise GncError(EINVAL, name + ": needs dt >= 0 and substeps >= 1")
    if substeps > _MAX_SUBSTEPS:
        raise GncError(ERANGE, name + ": substeps beyond GNC_MAX_SUBSTEPS")


def _inv3(a, out):
    c00 = a[4] * a[8] - a[5] * a[7]
    c01 = a[5] * a[6] - a[3] * a[8]
    c02 = a[3] * a[7] - a[4] * a[6]
    det = a[0] * c00 + a[1] * c01 + a[2] * c02
    f2 = 0.0
    for i in range(9):
        f2 += a[i] * a[i]
    if not abs(det) > 1e-6 * f2 * math.sqrt(f2):
        return False
    out[0] = c00 / det
    out[1] = (a[2] * a[7] - a[1] * a[8]) / det
    out[2] = (a[1] * a[5] - a[2] * a[4]) / det
    out[3] = c01 / det
    out[4] = (a[0] * a[8] - a[2] * a[6]) / det
    out[5] = (a[2] * a[3] - a[0] * a[5]) / det
    out[6] = c02 / det
    out[7] = (a[1] * a[6] - a[0] * a[7]) / det
    out[8] = (a[0] * a[4] - a[1] * a[3]) / det
    return True


def _body_deriv(j, y, dy, o):
    # d/dt of (q, w, h) into dy[o:o+10]
    jinv = _JINV
    tau = _TAU
    w0, w1, w2 = y[4], y[5], y[6]
    l0 = j[0] * w0 + j[1] * w1 + j[2] * w2 + y[7]
    l1 = j[3] * w0 + j[4] * w1 + j[5] * w2 + y[8]
    l2 = j[6] * w0 + j[7] * w1 + j[8] * w2 + y[9]
    t0 = -(w1 * l2 - w2 * l1) + tau[0] + tau[3]
    t1 = -(w2 * l0 - w0 * l2) + tau[1] + tau[4]
    t2 = -(w0 * l1 - w1 * l0) + tau[2] + tau[5]
    q0, q1, q2, q3 = y[0], y[1], y[2], y[3]
    dy[o] = 0.5 * (-q1 * w0 - q2 * w1 - q3 * w2)
    dy[o + 1] = 0.5 * (q0 * w0 + q2 * w2 - q3 * w1)
    dy[o + 2] = 0.5 * (q0 * w1 + q3 * w0 - q1 * w2)
    dy[o + 3] = 0.5 * (q0 * w2 + q1 * w1 - q2 * w0)
    dy[o + 4] = jinv[0] * t0 + jinv[1] * t1 + jinv[2] * t2
    dy[o + 5] = jinv[3] * t0 + jinv[4] * t1 + jinv[5] * t2
    dy[o + 6] = jinv[6] * t0 + jinv[7] * t1 + jinv[8] * t2
    dy[o + 7] = -tau[0]
    dy[o + 8] = -tau[1]
    dy[o + 9] = -tau[2]


def _rk4(deriv, arg, y, size, h, steps, renorm_q):
    k = _K
    tmp = _TMP
    for _ in range(steps):
        deriv(arg, y, k, 0)
        for i in range(size):
            tmp[i] = y[i] + 0.5 * h * k[i]
        deriv(arg, tmp, k, 10)
        for i in range(size):
            tmp[i] = y[i] + 0.5 * h * k[10 + i]
        deriv(arg, tmp, k, 20)
        for i in range(size):
            tmp[i] = y[i] + h * k[20 + i]
        deriv(arg, tmp, k, 30)
        for i in range(size):
            y[i] += h / 6.0 * (k[i] + 2.0 * k[10 + i] + 2.0 * k[20 + i] + k[30 + i])
        if renorm_q:
            qn = math.sqrt(y[0] * y[0] + y[1] * y[1] + y[2] * y[2] + y[3] * y[3])
            for i in range(4):
                y[i] /= qn


def body_step(x, J, tau_wheel_cmd, tau_ext, dt, substeps):
    _finite(x, 10, "body_step")
    _finite(J, 9, "body_step")
    _finite(tau_wheel_cmd, 3, "body_step")
    _finite(tau_ext, 3, "body_step")
    _fin(dt, "body_step")
    _check_steps(dt, substeps, "body_step")
    if not x[0] * x[0] + x[1] * x[1] + x[2] * x[2] + x[3] * x[3] > 0.0:
        raise GncError(EINVAL, "body_step: zero quaternion")
    if not _inv3(J, _JINV):
        raise GncError(EINVAL, "body_step: singular inertia")
    for i in range(3):
        _TAU[i] = tau_wheel_cmd[i]
        _TAU[3 + i] = tau_ext[i]
    y = _Y
    for i in range(10):
        y[i] = x[i]
    _rk4(_body_deriv, J, y, 10, dt / substeps, substeps, True)
    for i in range(10):
        f = y[i]
        if f != f or f in (math.inf, -math.inf):
            raise GncError(ERANGE, "body_step: state overflow")
    for i in range(10):
        x[i] = y[i]


def _cw_deriv(arg, y, dy, o):
    n = arg[0]
    dy[o] = y[3]
    dy[o + 1] = y[4]
    dy[o + 2] = y[5]
    dy[o + 3] = 3.0 * n * n * y[0] + 2.0 * n * y[4] + arg[1]
    dy[o + 4] = -2.0 * n * y[3] + arg[2]
    dy[o + 5] = -n * n * y[2] + arg[3]


_CWARG = [0.0] * 4  # n | accel


def cw_step(x, n, accel, dt, substeps):
    _finite(x, 6, "cw_step")
    _fin(n, "cw_step")
    _finite(accel, 3, "cw_step")
    _fin(dt, "cw_step")
    if n < 0.0:
        raise GncError(EINVAL, "cw_step: n must be >= 0")
    _check_steps(dt, substeps, "cw_step")
    _CWARG[0] = n
    for i in range(3):
        _CWARG[1 + i] = accel[i]
    y = _Y
    for i in range(6):
        y[i] = x[i]
    _rk4(_cw_deriv, _CWARG, y, 6, dt / substeps, substeps, False)
    for i in range(6):
        f = y[i]
        if f != f or f in (math.inf, -math.inf):
            raise GncError(ERANGE, "cw_step: state overflow")
    for i in range(6):
        x[i] = y[i]


def rover_kinematics(pose, v, omega, dt):
    _finite(pose, 3, "rover_kinematics")
    _fin(v, "rover_kinematics")
    _fin(omega, "rover_kinematics")
    _fin(dt, "rover_kinematics")
    if dt < 0.0:
        raise GncError(EINVAL, "rover_kinematics: dt must be >= 0")
    half = 0.5 * omega * dt
    if abs(half) < 1e-3:
        h2 = half * half
        sinc = 1.0 - h2 / 6.0 * (1.0 - h2 / 20.0)
    else:
        sinc = math.sin(half) / half
    chord = v * dt * sinc
    mid = pose[2] + half
    pose[0] += chord * math.cos(mid)
    pose[1] += chord * math.sin(mid)
    # heading wrapped to [-pi, pi)
    pose[2] = (pose[2] + omega * dt + math.pi) % (2.0 * math.pi) - math.pi
