# MEKF (attitude error + gyro bias) and the Mahony complementary filter: the
# pure-MicroPython fallback of native/src/mekf.c, same names without gnc_, same semantics.
# Markley & Crassidis, "Fundamentals of Spacecraft Attitude Determination and Control",
# 2014, 6.2 (right-multiplicative error, first-order Phi, Q eq. 6.93, reset); sequential
# scalar updates: Bar-Shalom, Li, Kirubarajan 2001, 7.4; Mahony, Hamel, Pflimlin, IEEE TAC
# 53(5) 2008, eq. 32.
# s: q[4] | bias[3] | P[36] (6x6 row-major, [dtheta, dbias]); P(i, j) is s[7 + 6 i + j].
import math
from array import array

from gnc.errors import GncError, EINVAL, ENAN, ERANGE, ESINGULAR
from gnc.quat import check, check_f, err_into, mul_into, propagate_into, rot_into

_SIZE = 43
# scratch, reused by every call (no allocation on the control path)
_P = array("f", [0.0] * 36)
_X = array("f", [0.0] * 6)
_PH = array("f", [0.0] * 6)
_T = array("f", [0.0] * 27)  # F A | (F A) F^T | F B
_V = array("f", [0.0] * 12)  # small vectors
_Q = array("f", [0.0] * 4)
_DQ = array("f", [0.0] * 4)


def _unit(v, k, out, j):
    # out[j:j+3] = v[k:k+3] / |v[k:k+3]|; False for a zero vector
    n2 = v[k] * v[k] + v[k + 1] * v[k + 1] + v[k + 2] * v[k + 2]
    if n2 < 1e-30:
        return False
    inv = 1.0 / math.sqrt(n2)
    out[j] = v[k] * inv
    out[j + 1] = v[k + 1] * inv
    out[j + 2] = v[k + 2] * inv
    return True


def mekf_init(s, q0, bias0, sigma_att, sigma_bias):
    check("mekf_init", q0, 4)
    check("mekf_init", bias0, 3)
    check_f("mekf_init", sigma_att)
    check_f("mekf_init", sigma_bias)
    if sigma_att <= 0.0 or sigma_bias <= 0.0:
        raise GncError(EINVAL, "mekf_init: sigma must be positive")
    n2 = q0[0] * q0[0] + q0[1] * q0[1] + q0[2] * q0[2] + q0[3] * q0[3]
    if n2 < 1e-30:
        raise GncError(EINVAL, "mekf_init: zero quaternion")
    inv = 1.0 / math.sqrt(n2)
    for i in range(4):
        s[i] = q0[i] * inv
    for i in range(3):
        s[4 + i] = bias0[i]
    for i in range(36):
        s[7 + i] = 0.0
    for i in range(3):
        s[7 + 7 * i] = sigma_att * sigma_att
        s[7 + 7 * (i + 3)] = sigma_bias * sigma_bias


def mekf_propagate(s, w_meas, dt, sigma_v, sigma_u):
    # P <- Phi P Phi^T + Q by 3x3 blocks, Phi = [[I - dt [w x], -dt I], [0, I]] (see mekf.c)
    check("mekf_propagate", s, _SIZE)
    check("mekf_propagate", w_meas, 3)
    check_f("mekf_propagate", dt)
    check_f("mekf_propagate", sigma_v)
    check_f("mekf_propagate", sigma_u)
    if dt < 0.0 or sigma_v < 0.0 or sigma_u < 0.0:
        raise GncError(EINVAL, "mekf_propagate: negative dt or sigma")
    w0 = w_meas[0] - s[4]
    w1 = w_meas[1] - s[5]
    w2 = w_meas[2] - s[6]
    if not propagate_into(s, w0, w1, w2, dt):
        raise GncError(EINVAL, "mekf_propagate: zero quaternion in the state")
    # the same algebra as mekf.c (sparse Phi, upper triangles): F = I - [a x], a = w dt
    a0 = w0 * dt
    a1 = w1 * dt
    a2 = w2 * dt
    t = _T
    # F A (t[0:9]) and F B (t[18:27]): columns v -> v - a x v
    for j in range(3):
        for off, col in ((0, j), (18, j + 3)):
            v0 = s[7 + col]
            v1 = s[13 + col]
            v2 = s[19 + col]
            t[off + j] = v0 + a2 * v1 - a1 * v2
            t[off + 3 + j] = v1 - a2 * v0 + a0 * v2
            t[off + 6 + j] = v2 + a1 * v0 - a0 * v1
    # (F A) F^T, upper triangle (t[9:15]: (0,0) (0,1) (0,2) (1,1) (1,2) (2,2))
    t[9] = t[0] + a2 * t[1] - a1 * t[2]
    t[10] = t[1] - a2 * t[0] + a0 * t[2]
    t[11] = t[2] + a1 * t[0] - a0 * t[1]
    t[12] = t[4] - a2 * t[3] + a0 * t[5]
    t[13] = t[5] + a1 * t[3] - a0 * t[4]
    t[14] = t[8] + a1 * t[6] - a0 * t[7]
    sv2 = sigma_v * sigma_v
    su2 = sigma_u * sigma_u
    dt2 = dt * dt
    q11 = sv2 * dt + su2 * dt2 * dt * (1.0 / 3.0)
    q12 = -0.5 * su2 * dt2
    q22 = su2 * dt
    k = 9
    for i in range(3):
        for j in range(i, 3):
            a = t[k] - dt * (t[18 + 3 * i + j] + t[18 + 3 * j + i]) + dt2 * s[7 + 6 * (i + 3) + j + 3]
            k += 1
            if i == j:
                a += q11
            s[7 + 6 * i + j] = a
            s[7 + 6 * j + i] = a
    for i in range(3):
        for j in range(3):
            b = t[18 + 3 * i + j] - dt * s[7 + 6 * (i + 3) + j + 3]
            if i == j:
                b += q12
            s[7 + 6 * i + j + 3] = b
            s[7 + 6 * (j + 3) + i] = b
    for i in range(3, 6):
        s[7 + 7 * i] += q22


def _scalar(h0, h1, h2, r, var, unit=-1):
    # one scalar update of _P, _X with h = [h0 h1 h2 0 0 0]; False when S <= 0. For a unit
    # row h = e_unit, row `unit` of P becomes ph var / S (no cancellation; as mekf.c)
    p = _P
    x = _X
    ph = _PH
    for i in range(6):
        ph[i] = p[6 * i] * h0 + p[6 * i + 1] * h1 + p[6 * i + 2] * h2
    sv = h0 * ph[0] + h1 * ph[1] + h2 * ph[2] + var
    if not sv > 0.0:
        return False
    innov = r - (h0 * x[0] + h1 * x[1] + h2 * x[2])
    # K = P h^T / S by one reciprocal; P -= K (P h^T)^T on the upper triangle (as mekf.c)
    inv = 1.0 / sv
    rv = var * inv
    for i in range(6):
        k = ph[i] * inv
        x[i] += k * innov
        for j in range(i, 6):
            if i == unit:
                v = ph[j] * rv
            elif j == unit:
                v = ph[i] * rv
            else:
                v = p[6 * i + j] - k * ph[j]
            p[6 * i + j] = v
            p[6 * j + i] = v
    return True


def _begin(s):
    for i in range(36):
        _P[i] = s[7 + i]
    for i in range(6):
        _X[i] = 0.0


def _commit(s, name):
    # reset: q <- q x [1, dtheta/2] normalised, bias += dbias, P from the scratch copy
    q = _Q
    dq = _DQ
    dq[0] = 1.0
    dq[1] = 0.5 * _X[0]
    dq[2] = 0.5 * _X[1]
    dq[3] = 0.5 * _X[2]
    mul_into(s, dq, q)
    n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]
    if n2 < 1e-30:
        raise GncError(EINVAL, name + ": zero quaternion in the state")
    inv = 1.0 / math.sqrt(n2)
    for i in range(4):
        s[i] = q[i] * inv
    for i in range(3):
        s[4 + i] += _X[3 + i]
    for i in range(36):
        s[7 + i] = _P[i]


def mekf_update_vector(s, v_ref, v_meas, sigma):
    # H = [[b x], 0], b = R(q)^T v_ref; residual v_meas - b (see mekf.c)
    name = "mekf_update_vector"
    check(name, s, _SIZE)
    check(name, v_ref, 3)
    check(name, v_meas, 3)
    check_f(name, sigma)
    v = _V
    if sigma <= 0.0 or not _unit(v_ref, 0, v, 0) or not _unit(v_meas, 0, v, 3):
        raise GncError(EINVAL, name + ": sigma <= 0 or a zero vector")
    rot_into(s, v, -1.0, v)  # v[0:3] = b
    b0, b1, b2 = v[0], v[1], v[2]
    var = sigma * sigma
    _begin(s)
    if (not _scalar(0.0, -b2, b1, v[3] - b0, var) or not _scalar(b2, 0.0, -b0, v[4] - b1, var)
            or not _scalar(-b1, b0, 0.0, v[5] - b2, var)):
        raise GncError(ESINGULAR, name + ": innovation variance not positive")
    _commit(s, name)


def mekf_update_quat(s, q_meas, sigma):
    # residual 2 vec(q_hat* x q_meas) (scalar part >= 0), H = [I 0]
    name = "mekf_update_quat"
    check(name, s, _SIZE)
    check(name, q_meas, 4)
    check_f(name, sigma)
    n2 = q_meas[0] * q_meas[0] + q_meas[1] * q_meas[1] + q_meas[2] * q_meas[2] + q_meas[3] * q_meas[3]
    if sigma <= 0.0 or n2 < 1e-30:
        raise GncError(EINVAL, name + ": sigma <= 0 or a zero quaternion")
    inv = 1.0 / math.sqrt(n2)
    v = _V
    qm = _DQ
    for i in range(4):
        qm[i] = q_meas[i] * inv
    err_into(s, qm, v)
    r0, r1, r2 = 2.0 * v[1], 2.0 * v[2], 2.0 * v[3]
    var = sigma * sigma
    _begin(s)
    if (not _scalar(1.0, 0.0, 0.0, r0, var, 0) or not _scalar(0.0, 1.0, 0.0, r1, var, 1)
            or not _scalar(0.0, 0.0, 1.0, r2, var, 2)):
        raise GncError(ESINGULAR, name + ": innovation variance not positive")
    _commit(s, name)


def mekf_nees(s, q_true, bias_true):
    # e^T P^-1 e by Cholesky (Golub & Van Loan 4.2); ESINGULAR unless P is positive definite
    name = "mekf_nees"
    check(name, s, _SIZE)
    check(name, q_true, 4)
    check(name, bias_true, 3)
    v = _V
    err_into(s, q_true, v)
    e = _X
    for i in range(3):
        e[i] = 2.0 * v[1 + i]
        e[3 + i] = bias_true[i] - s[4 + i]
    l = _P
    for j in range(6):
        acc = s[7 + 7 * j]
        for k in range(j):
            acc -= l[6 * j + k] * l[6 * j + k]
        if not acc > 0.0:
            raise GncError(ESINGULAR, name + ": P not positive definite")
        l[7 * j] = math.sqrt(acc)
        for i in range(j + 1, 6):
            acc = s[7 + 6 * i + j]
            for k in range(j):
                acc -= l[6 * i + k] * l[6 * j + k]
            l[6 * i + j] = acc / l[7 * j]
    y = _PH
    total = 0.0
    for i in range(6):
        acc = e[i]
        for k in range(i):
            acc -= l[6 * i + k] * y[k]
        y[i] = acc / l[7 * i]
        total += y[i] * y[i]
    return total


def mahony_update(q, bias, w_meas, v_ref, v_meas, count, kp, ki, dt):
    # w_mes = sum v_meas x R(q)^T v_ref; q <- q x exp((w - bias + kp w_mes) dt/2); bias -= ki w_mes dt
    name = "mahony_update"
    if count < 0 or count > 2:
        raise GncError(ERANGE, name + ": count must be 0..2")
    check(name, q, 4)
    check(name, bias, 3)
    check(name, w_meas, 3)
    check_f(name, kp)
    check_f(name, ki)
    check_f(name, dt)
    if count > 0:
        check(name, v_ref, 3 * count)
        check(name, v_meas, 3 * count)
    if kp < 0.0 or ki < 0.0 or dt < 0.0:
        raise GncError(EINVAL, name + ": negative gain or dt")
    qn = _Q
    n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]
    if n2 < 1e-30:
        raise GncError(EINVAL, name + ": zero quaternion")
    inv = 1.0 / math.sqrt(n2)
    for i in range(4):
        qn[i] = q[i] * inv
    c0 = c1 = c2 = 0.0
    v = _V
    for k in range(count):
        if not _unit(v_ref, 3 * k, v, 0) or not _unit(v_meas, 3 * k, v, 3):
            raise GncError(EINVAL, name + ": zero vector")
        rot_into(qn, v, -1.0, v)
        c0 += v[4] * v[2] - v[5] * v[1]
        c1 += v[5] * v[0] - v[3] * v[2]
        c2 += v[3] * v[1] - v[4] * v[0]
    propagate_into(qn, w_meas[0] - bias[0] + kp * c0, w_meas[1] - bias[1] + kp * c1,
                   w_meas[2] - bias[2] + kp * c2, dt)
    for i in range(4):
        q[i] = qn[i]
    bias[0] -= ki * c0 * dt
    bias[1] -= ki * c1 * dt
    bias[2] -= ki * c2 * dt
