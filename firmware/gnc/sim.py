# Host-side simulation loops: the pure-MicroPython fallback of native/src/sim.c (same names
# without gnc_, same arguments, outputs in place). detumble_run is the D1 B-dot loop
# (Stickler & Alfriend 1976; Markley & Crassidis 2014, 7.5: m = -k dB/dt, torque m x B) over
# the fallback's own bdot, quat_rotate_inv and body_step, in the same order as the C loop.
# Transactional like the C: the plant and B-dot state are worked on in module-level copies
# and written back only when the whole run succeeded; rate_out is filled step by step.
import math
from array import array

from micropython import const

from gnc.errors import EINVAL, ENAN, ERANGE, GncError

_BODY = const(10)  # GNC_BODY_SIZE
_BDOT = const(4)  # GNC_BDOT_SIZE
_MAX_SUBSTEPS = const(1000)  # GNC_MAX_SUBSTEPS

_X = array("f", bytes(4 * _BODY))
_S = array("f", bytes(4 * _BDOT))
_B_I = array("f", bytes(12))
_B = array("f", bytes(12))
_M = array("f", bytes(12))
_TAU = array("f", bytes(12))
_ZERO = array("f", bytes(12))


def _finite(v, n):
    for i in range(n):
        f = v[i]
        if not f - f == 0.0:  # False for NaN and +-inf
            return False
    return True


def detumble_run(x, J, bdot_s, b_inertial, n_steps, dt, k, m_max, substeps, rate_out):
    # B-dot detumbling run over a field table (inertial): x, bdot_s in place; |w| per step in rate_out
    name = "detumble_run"
    if n_steps < 0 or substeps < 1:
        raise GncError(EINVAL, name + ": negative n_steps or substeps < 1")
    if not (_finite(x, _BODY) and _finite(J, 9) and _finite(bdot_s, _BDOT) and _finite(b_inertial, 3 * n_steps)):
        raise GncError(ENAN, name + ": NaN or infinite input")
    if not (dt - dt == 0.0 and k - k == 0.0 and m_max - m_max == 0.0):
        raise GncError(ENAN, name + ": NaN or infinite input")
    if not dt > 0.0 or k < 0.0 or not m_max > 0.0:
        raise GncError(EINVAL, name + ": non-positive dt or m_max, or negative gain")
    if substeps > _MAX_SUBSTEPS:
        raise GncError(ERANGE, name + ": substeps beyond GNC_MAX_SUBSTEPS")
    xs, bs = _X, _S
    for i in range(_BODY):
        xs[i] = x[i]
    for i in range(_BDOT):
        bs[i] = bdot_s[i]
    h = dt / substeps
    try:
        _run(xs, J, bs, b_inertial, n_steps, dt, k, m_max, substeps, h, rate_out)
    except GncError as e:  # a sub-step's error, reported under this function's name
        raise GncError(e.code, name + ": " + str(e.args[0] if e.args else e))
    for i in range(_BODY):
        x[i] = xs[i]
    for i in range(_BDOT):
        bdot_s[i] = bs[i]


def _run(xs, J, bs, b_inertial, n_steps, dt, k, m_max, substeps, h, rate_out):
    from gnc.control import bdot
    from gnc.plant import body_step
    from gnc.quat import quat_rotate_inv

    b_i, b, m, tau = _B_I, _B, _M, _TAU
    for i in range(n_steps):
        b_i[0] = b_inertial[3 * i]
        b_i[1] = b_inertial[3 * i + 1]
        b_i[2] = b_inertial[3 * i + 2]
        # measure: the field in the body with the true attitude, then the B-dot dipole
        quat_rotate_inv(xs, b_i, b)
        bdot(bs, b, dt, k, m_max, m)
        # actuate: dipole held, torque m x B with the field turning in the body
        for _ in range(substeps):
            quat_rotate_inv(xs, b_i, b)
            tau[0] = m[1] * b[2] - m[2] * b[1]
            tau[1] = m[2] * b[0] - m[0] * b[2]
            tau[2] = m[0] * b[1] - m[1] * b[0]
            body_step(xs, J, _ZERO, tau, h, 1)
        rate_out[i] = math.sqrt(xs[4] * xs[4] + xs[5] * xs[5] + xs[6] * xs[6])
