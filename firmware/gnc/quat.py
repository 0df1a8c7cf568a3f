# Quaternion algebra and attitude propagation: the pure-MicroPython fallback of
# native/src/quat.c (same names without gnc_, same semantics; gnc.h conventions:
# scalar-first Hamilton quaternions, R(q) active, v_body = R(q)^T v_inertial).
# Sources: Markley & Crassidis, "Fundamentals of Spacecraft Attitude Determination and
# Control", 2014, 2.7 / 2.9.3 (Shepperd) / 3.1.1 (kinematics).
import math

from gnc.errors import GncError, EINVAL, ENAN

_isfinite = math.isfinite


def check(name, s, n):
    # ENAN unless the first n floats of s are finite
    for i in range(n):
        if not _isfinite(s[i]):
            raise GncError(ENAN, name + ": NaN or infinite input")


def check_f(name, x):
    # ENAN unless the scalar x is finite
    if not _isfinite(x):
        raise GncError(ENAN, name + ": NaN or infinite input")


def mul_into(a, b, out):
    # out = a x b (Hamilton); out may alias a or b
    a0, a1, a2, a3 = a[0], a[1], a[2], a[3]
    b0, b1, b2, b3 = b[0], b[1], b[2], b[3]
    out[0] = a0 * b0 - a1 * b1 - a2 * b2 - a3 * b3
    out[1] = a0 * b1 + a1 * b0 + a2 * b3 - a3 * b2
    out[2] = a0 * b2 - a1 * b3 + a2 * b0 + a3 * b1
    out[3] = a0 * b3 + a1 * b2 - a2 * b1 + a3 * b0


def rot_into(q, v, s, out):
    # out = R(q) v for s = 1, R(q)^T v for s = -1 (out may alias v)
    ux, uy, uz = s * q[1], s * q[2], s * q[3]
    v0, v1, v2 = v[0], v[1], v[2]
    tx = 2.0 * (uy * v2 - uz * v1)
    ty = 2.0 * (uz * v0 - ux * v2)
    tz = 2.0 * (ux * v1 - uy * v0)
    out[0] = v0 + q[0] * tx + (uy * tz - uz * ty)
    out[1] = v1 + q[0] * ty + (uz * tx - ux * tz)
    out[2] = v2 + q[0] * tz + (ux * ty - uy * tx)


def quat_mul(a, b, out):
    check("quat_mul", a, 4)
    check("quat_mul", b, 4)
    mul_into(a, b, out)


def quat_conj(q, out):
    check("quat_conj", q, 4)
    out[0] = q[0]
    out[1] = -q[1]
    out[2] = -q[2]
    out[3] = -q[3]


def quat_normalize(q):
    check("quat_normalize", q, 4)
    n2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]
    if n2 < 1e-30:
        raise GncError(EINVAL, "quat_normalize: zero quaternion")
    inv = 1.0 / math.sqrt(n2)
    for i in range(4):
        q[i] *= inv


def quat_rotate(q, v, out):
    check("quat_rotate", q, 4)
    check("quat_rotate", v, 3)
    rot_into(q, v, 1.0, out)


def quat_rotate_inv(q, v, out):
    check("quat_rotate_inv", q, 4)
    check("quat_rotate_inv", v, 3)
    rot_into(q, v, -1.0, out)


def quat_to_dcm(q, r9):
    check("quat_to_dcm", q, 4)
    w, x, y, z = q[0], q[1], q[2], q[3]
    r9[0] = 1.0 - 2.0 * (y * y + z * z)
    r9[1] = 2.0 * (x * y - w * z)
    r9[2] = 2.0 * (x * z + w * y)
    r9[3] = 2.0 * (x * y + w * z)
    r9[4] = 1.0 - 2.0 * (x * x + z * z)
    r9[5] = 2.0 * (y * z - w * x)
    r9[6] = 2.0 * (x * z - w * y)
    r9[7] = 2.0 * (y * z + w * x)
    r9[8] = 1.0 - 2.0 * (x * x + y * y)


def dcm_to_quat(r9, q):
    # Shepperd (1978); EINVAL unless a proper rotation to 1e-3; q0 >= 0
    check("dcm_to_quat", r9, 9)
    for i in range(3):
        for j in range(i, 3):
            dot = r9[i] * r9[j] + r9[3 + i] * r9[3 + j] + r9[6 + i] * r9[6 + j]
            if abs(dot - (1.0 if i == j else 0.0)) > 1e-3:
                raise GncError(EINVAL, "dcm_to_quat: not orthonormal")
    det = (r9[0] * (r9[4] * r9[8] - r9[5] * r9[7]) - r9[1] * (r9[3] * r9[8] - r9[5] * r9[6])
           + r9[2] * (r9[3] * r9[7] - r9[4] * r9[6]))
    if det < 0.0:
        raise GncError(EINVAL, "dcm_to_quat: a reflection")
    tr = r9[0] + r9[4] + r9[8]
    d0 = 1.0 + tr
    d1 = 1.0 + 2.0 * r9[0] - tr
    d2 = 1.0 + 2.0 * r9[4] - tr
    d3 = 1.0 + 2.0 * r9[8] - tr
    if d0 >= d1 and d0 >= d2 and d0 >= d3:
        o0, o1, o2, o3 = d0, r9[7] - r9[5], r9[2] - r9[6], r9[3] - r9[1]
    elif d1 >= d2 and d1 >= d3:
        o0, o1, o2, o3 = r9[7] - r9[5], d1, r9[1] + r9[3], r9[2] + r9[6]
    elif d2 >= d3:
        o0, o1, o2, o3 = r9[2] - r9[6], r9[1] + r9[3], d2, r9[5] + r9[7]
    else:
        o0, o1, o2, o3 = r9[3] - r9[1], r9[2] + r9[6], r9[5] + r9[7], d3
    inv = 1.0 / math.sqrt(o0 * o0 + o1 * o1 + o2 * o2 + o3 * o3)
    if o0 < 0.0:
        inv = -inv
    q[0] = o0 * inv
    q[1] = o1 * inv
    q[2] = o2 * inv
    q[3] = o3 * inv


def quat_from_axis_angle(axis, angle, q):
    check("quat_from_axis_angle", axis, 3)
    check_f("quat_from_axis_angle", angle)
    n2 = axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]
    if n2 < 1e-30:
        raise GncError(EINVAL, "quat_from_axis_angle: zero axis")
    s = math.sin(0.5 * angle) / math.sqrt(n2)
    q[0] = math.cos(0.5 * angle)
    q[1] = s * axis[0]
    q[2] = s * axis[1]
    q[3] = s * axis[2]


def err_into(q_ref, q, dq):
    # dq = q_ref* x q with dq0 >= 0
    r0, r1, r2, r3 = q_ref[0], -q_ref[1], -q_ref[2], -q_ref[3]
    b0, b1, b2, b3 = q[0], q[1], q[2], q[3]
    e0 = r0 * b0 - r1 * b1 - r2 * b2 - r3 * b3
    e1 = r0 * b1 + r1 * b0 + r2 * b3 - r3 * b2
    e2 = r0 * b2 - r1 * b3 + r2 * b0 + r3 * b1
    e3 = r0 * b3 + r1 * b2 - r2 * b1 + r3 * b0
    if e0 < 0.0:
        e0, e1, e2, e3 = -e0, -e1, -e2, -e3
    dq[0] = e0
    dq[1] = e1
    dq[2] = e2
    dq[3] = e3


def quat_error(q_ref, q, dq):
    check("quat_error", q_ref, 4)
    check("quat_error", q, 4)
    err_into(q_ref, q, dq)


_E = [0.0, 0.0, 0.0, 0.0]


def quat_angle(a, b):
    # 2 atan2(|vec(a* x b)|, |scalar|), 0..pi
    check("quat_angle", a, 4)
    check("quat_angle", b, 4)
    e = _E
    err_into(a, b, e)
    return 2.0 * math.atan2(math.sqrt(e[1] * e[1] + e[2] * e[2] + e[3] * e[3]), e[0])


def propagate_into(q, w0, w1, w2, dt):
    # q <- q x [cos(|w|dt/2), sin(|w|dt/2) w/|w|], renormalised; False for a zero q
    wn = math.sqrt(w0 * w0 + w1 * w1 + w2 * w2)
    half = 0.5 * wn * dt
    c = math.cos(half)
    if half < 1e-3:
        s = 0.5 * dt * (1.0 - half * half / 6.0)
    else:
        s = math.sin(half) / wn
    q0, q1, q2, q3 = q[0], q[1], q[2], q[3]
    e1, e2, e3 = s * w0, s * w1, s * w2
    o0 = q0 * c - q1 * e1 - q2 * e2 - q3 * e3
    o1 = q0 * e1 + q1 * c + q2 * e3 - q3 * e2
    o2 = q0 * e2 - q1 * e3 + q2 * c + q3 * e1
    o3 = q0 * e3 + q1 * e2 - q2 * e1 + q3 * c
    n2 = o0 * o0 + o1 * o1 + o2 * o2 + o3 * o3
    if n2 < 1e-30:
        return False
    inv = 1.0 / math.sqrt(n2)
    q[0] = o0 * inv
    q[1] = o1 * inv
    q[2] = o2 * inv
    q[3] = o3 * inv
    return True


def attitude_propagate(q, w, dt):
    check("attitude_propagate", q, 4)
    check("attitude_propagate", w, 3)
    check_f("attitude_propagate", dt)
    if dt < 0.0:
        raise GncError(EINVAL, "attitude_propagate: negative dt")
    if not propagate_into(q, w[0], w[1], w[2], dt):
        raise GncError(EINVAL, "attitude_propagate: zero quaternion")
