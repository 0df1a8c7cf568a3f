# Attitude control: the pure-MicroPython fallback of native/src/control.c (same names
# without gnc_, same semantics). Wie, "Space Vehicle Dynamics and Control", 2008, 7.3
# (quaternion-feedback PD); Markley & Crassidis 2014, 7.4.1 (momentum unloading) and 7.5
# (B-dot); shortest-arc quaternion: Markley & Crassidis 2.7.
import math
from array import array

from gnc.errors import GncError, EINVAL
from gnc.quat import check, check_f, mul_into, rot_into

_A = array("f", [0.0] * 4)
_B = array("f", [0.0] * 4)


def _clip(v, lim):
    return lim if v > lim else (-lim if v < -lim else v)


def pd_control(q, w, q_ref, w_ref, J, h_wheels, kp, kd, limits, tau_cmd):
    # tau = -kp sign(dq0) dq_v - kd (w - w_ref) + w x (J w + h), dq = q_ref* x q; per-axis
    # clip to tau_max; zero on an axis whose wheel is at h_max and would grow further (wheel gets -tau)
    name = "pd_control"
    check(name, q, 4)
    check(name, w, 3)
    check(name, q_ref, 4)
    check(name, w_ref, 3)
    check(name, J, 9)
    check(name, h_wheels, 3)
    check_f(name, kp)
    check_f(name, kd)
    check(name, limits, 2)
    tau_max = limits[0]
    h_max = limits[1]
    if kp < 0.0 or kd < 0.0 or tau_max <= 0.0 or h_max <= 0.0:
        raise GncError(EINVAL, name + ": negative gain or non-positive limit")
    c = _A
    c[0] = q_ref[0]
    c[1] = -q_ref[1]
    c[2] = -q_ref[2]
    c[3] = -q_ref[3]
    dq = _B
    mul_into(c, q, dq)
    sgn = -1.0 if dq[0] < 0.0 else 1.0
    w0, w1, w2 = w[0], w[1], w[2]
    h0 = J[0] * w0 + J[1] * w1 + J[2] * w2 + h_wheels[0]
    h1 = J[3] * w0 + J[4] * w1 + J[5] * w2 + h_wheels[1]
    h2 = J[6] * w0 + J[7] * w1 + J[8] * w2 + h_wheels[2]
    g0 = w1 * h2 - w2 * h1
    g1 = w2 * h0 - w0 * h2
    g2 = w0 * h1 - w1 * h0
    t0 = _clip(-kp * sgn * dq[1] - kd * (w0 - w_ref[0]) + g0, tau_max)
    t1 = _clip(-kp * sgn * dq[2] - kd * (w1 - w_ref[1]) + g1, tau_max)
    t2 = _clip(-kp * sgn * dq[3] - kd * (w2 - w_ref[2]) + g2, tau_max)
    if abs(h_wheels[0]) >= h_max and h_wheels[0] * t0 < 0.0:
        t0 = 0.0
    if abs(h_wheels[1]) >= h_max and h_wheels[1] * t1 < 0.0:
        t1 = 0.0
    if abs(h_wheels[2]) >= h_max and h_wheels[2] * t2 < 0.0:
        t2 = 0.0
    tau_cmd[0] = t0
    tau_cmd[1] = t1
    tau_cmd[2] = t2


def dump_dipole(b, h_wheels, k, m_max, m):
    # m = k (h x B) / |B|^2, so m x B = -k h across B; scaled so no axis exceeds m_max
    name = "dump_dipole"
    check(name, b, 3)
    check(name, h_wheels, 3)
    check_f(name, k)
    check_f(name, m_max)
    n2 = b[0] * b[0] + b[1] * b[1] + b[2] * b[2]
    if n2 < 1e-30 or k < 0.0 or m_max <= 0.0:
        raise GncError(EINVAL, name + ": zero field, negative gain or non-positive m_max")
    g = k / n2
    m0 = g * (h_wheels[1] * b[2] - h_wheels[2] * b[1])
    m1 = g * (h_wheels[2] * b[0] - h_wheels[0] * b[2])
    m2 = g * (h_wheels[0] * b[1] - h_wheels[1] * b[0])
    big = max(abs(m0), abs(m1), abs(m2))
    scale = m_max / big if big > m_max else 1.0
    m[0] = m0 * scale
    m[1] = m1 * scale
    m[2] = m2 * scale


def bdot_init(s):
    for i in range(4):
        s[i] = 0.0


def bdot(s, b, dt, k, m_max, m):
    # m = -k (B - B_prev) / dt per-axis clipped to m_max; zero on the first call after init
    name = "bdot"
    check(name, s, 4)
    check(name, b, 3)
    check_f(name, dt)
    check_f(name, k)
    check_f(name, m_max)
    if dt <= 0.0 or k < 0.0 or m_max <= 0.0:
        raise GncError(EINVAL, name + ": non-positive dt or m_max, or negative gain")
    valid = s[3] != 0.0
    for i in range(3):
        m[i] = _clip(-k * (b[i] - s[i]) / dt, m_max) if valid else 0.0
        s[i] = b[i]
    s[3] = 1.0


def point_to(q_now, boresight, r_rel, q_ref):
    # q_ref = q_rot x q_now, q_rot the shortest arc from R(q_now) boresight to r_rel
    name = "point_to"
    check(name, q_now, 4)
    check(name, boresight, 3)
    check(name, r_rel, 3)
    n2 = r_rel[0] * r_rel[0] + r_rel[1] * r_rel[1] + r_rel[2] * r_rel[2]
    nb = boresight[0] * boresight[0] + boresight[1] * boresight[1] + boresight[2] * boresight[2]
    nq = q_now[0] * q_now[0] + q_now[1] * q_now[1] + q_now[2] * q_now[2] + q_now[3] * q_now[3]
    if n2 < 1e-30 or nb < 1e-30 or nq < 1e-30:
        raise GncError(EINVAL, name + ": zero boresight, target or quaternion")
    qn = _A
    inv = 1.0 / math.sqrt(nq)
    for i in range(4):
        qn[i] = q_now[i] * inv
    inv = 1.0 / math.sqrt(n2)
    v0, v1, v2 = r_rel[0] * inv, r_rel[1] * inv, r_rel[2] * inv
    u = _B
    rot_into(qn, boresight, 1.0, u)
    inv = 1.0 / math.sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2])
    u0, u1, u2 = u[0] * inv, u[1] * inv, u[2] * inv
    r0 = 1.0 + u0 * v0 + u1 * v1 + u2 * v2
    r1 = u1 * v2 - u2 * v1
    r2 = u2 * v0 - u0 * v2
    r3 = u0 * v1 - u1 * v0
    if r0 < 1e-6:
        # (nearly) opposite: half turn about u x e, e the basis axis least aligned with u
        a0, a1, a2 = abs(u0), abs(u1), abs(u2)
        if a0 <= a1 and a0 <= a2:
            e0, e1, e2 = 1.0, 0.0, 0.0
        elif a1 <= a2:
            e0, e1, e2 = 0.0, 1.0, 0.0
        else:
            e0, e1, e2 = 0.0, 0.0, 1.0
        r0 = 0.0
        r1 = u1 * e2 - u2 * e1
        r2 = u2 * e0 - u0 * e2
        r3 = u0 * e1 - u1 * e0
    inv = 1.0 / math.sqrt(r0 * r0 + r1 * r1 + r2 * r2 + r3 * r3)
    u[0] = r0 * inv
    u[1] = r1 * inv
    u[2] = r2 * inv
    u[3] = r3 * inv
    mul_into(u, qn, u)
    inv = 1.0 / math.sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2] + u[3] * u[3])
    for i in range(4):
        q_ref[i] = u[i] * inv
