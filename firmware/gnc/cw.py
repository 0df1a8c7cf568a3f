# Relative guidance with the Clohessy-Wiltshire (Hill) equations: the pure MicroPython
# fallback of native/src/cw.c (same names without gnc_, same arguments and semantics).
# Hill / LVLH: x radial, y along-track, z cross-track; state [x, y, z, vx, vy, vz].
# Sources: Vallado, "Fundamentals of Astrodynamics and Applications", 6.8; Curtis,
# "Orbital Mechanics for Engineering Students", 7.4-7.5; D'Amico & Montenbruck, JGCD 29(3)
# 2006 (e/i separation). The design notes are in the comments of native/src/cw.c.
# Outputs go into the caller's buffers; errors raise GncError; keepout_check returns
# (min_range, unsafe) and abort_burn returns unsafe (GNC_EUNSAFE is a flag, not an error).
import math

from micropython import const

from gnc.errors import EINVAL, ENAN, ESINGULAR, ERANGE, GncError

_SING_TOL = 1e-3
_MAX_SAMPLES = const(4096)  # GNC_KEEPOUT_MAX_SAMPLES


def _finite(v, n, name):
    for i in range(n):
        f = v[i]
        if f != f or f in (math.inf, -math.inf):
            raise GncError(ENAN, name + ": NaN or infinite input")


def _fin(f, name):
    if f != f or f in (math.inf, -math.inf):
        raise GncError(ENAN, name + ": NaN or infinite input")


def _sin_minus(u):
    # sin u - u without cancellation for small u (Taylor series)
    if abs(u) >= 1.0:
        return math.sin(u) - u
    u2 = u * u
    return -u * u2 / 6.0 * (1.0 - u2 / 20.0 * (1.0 - u2 / 42.0 * (1.0 - u2 / 72.0 * (1.0 - u2 / 110.0))))


def _one_minus_cos(u):
    h = math.sin(0.5 * u)
    return 2.0 * h * h


def _check_n(n, name):
    if not n > 0.0:
        raise GncError(EINVAL, name + ": n must be > 0")


def cw_stm(n, t, phi36):
    _fin(n, "cw_stm")
    _fin(t, "cw_stm")
    _check_n(n, "cw_stm")
    u = n * t
    s = math.sin(u)
    c = math.cos(u)
    omc = _one_minus_cos(u)
    smx = _sin_minus(u)
    for i in range(36):
        phi36[i] = 0.0
    phi36[0] = 1.0 + 3.0 * omc
    phi36[3] = s / n
    phi36[4] = 2.0 * omc / n
    phi36[6] = 6.0 * smx
    phi36[7] = 1.0
    phi36[9] = -2.0 * omc / n
    phi36[10] = (u + 4.0 * smx) / n
    phi36[14] = c
    phi36[17] = s / n
    phi36[18] = 3.0 * n * s
    phi36[21] = c
    phi36[22] = 2.0 * s
    phi36[24] = -6.0 * n * omc
    phi36[27] = -2.0 * s
    phi36[28] = 1.0 - 4.0 * omc
    phi36[32] = -n * s
    phi36[35] = c


def cw_propagate(x, n, t, out):
    _finite(x, 6, "cw_propagate")
    _fin(n, "cw_propagate")
    _fin(t, "cw_propagate")
    _check_n(n, "cw_propagate")
    u = n * t
    s = math.sin(u)
    c = math.cos(u)
    omc = _one_minus_cos(u)
    smx = _sin_minus(u)
    x0, y0, z0, vx, vy, vz = x[0], x[1], x[2], x[3], x[4], x[5]
    out[0] = (1.0 + 3.0 * omc) * x0 + (s * vx + 2.0 * omc * vy) / n
    out[1] = 6.0 * smx * x0 + y0 + (-2.0 * omc * vx + (u + 4.0 * smx) * vy) / n
    out[2] = c * z0 + s * vz / n
    out[3] = 3.0 * n * s * x0 + c * vx + 2.0 * s * vy
    out[4] = -6.0 * n * omc * x0 - 2.0 * s * vx + (1.0 - 4.0 * omc) * vy
    out[5] = -n * s * z0 + c * vz


def cw_two_impulse(x0, r_f, v_f, n, t, dv1, dv2):
    # dv1 = Phi_rv^-1 (r_f - Phi_rr r0) - v0 (Curtis 7.5); in-plane 2x2 by cofactors with a
    # relative determinant guard; cross-track singular at half periods (see cw.c).
    _finite(x0, 6, "cw_two_impulse")
    _finite(r_f, 3, "cw_two_impulse")
    _finite(v_f, 3, "cw_two_impulse")
    _fin(n, "cw_two_impulse")
    _fin(t, "cw_two_impulse")
    _check_n(n, "cw_two_impulse")
    if not t > 0.0:
        raise GncError(EINVAL, "cw_two_impulse: t must be > 0")
    u = n * t
    s = math.sin(u)
    c = math.cos(u)
    omc = _one_minus_cos(u)
    smx = _sin_minus(u)
    m00 = s
    m01 = 2.0 * omc
    m10 = -2.0 * omc
    m11 = u + 4.0 * smx
    det = m00 * m11 - m01 * m10
    frob = m00 * m00 + m01 * m01 + m10 * m10 + m11 * m11
    if not abs(det) >= _SING_TOL * frob:
        raise GncError(ESINGULAR, "cw_two_impulse: in-plane transfer singular at this time")
    zfree = c * x0[2]
    if abs(s) < _SING_TOL:
        if abs(r_f[2] - zfree) > _SING_TOL * (abs(r_f[2]) + abs(x0[2])):
            raise GncError(ESINGULAR, "cw_two_impulse: cross-track transfer singular at a half period")
        vz = x0[5]
    else:
        vz = n * (r_f[2] - zfree) / s
    bx = r_f[0] - (1.0 + 3.0 * omc) * x0[0]
    by = r_f[1] - (6.0 * smx * x0[0] + x0[1])
    vx = n * (m11 * bx - m01 * by) / det
    vy = n * (-m10 * bx + m00 * by) / det
    dv1[0] = vx - x0[3]
    dv1[1] = vy - x0[4]
    dv1[2] = vz - x0[5]
    dv2[0] = v_f[0] - (3.0 * n * s * x0[0] + c * vx + 2.0 * s * vy)
    dv2[1] = v_f[1] - (-6.0 * n * omc * x0[0] - 2.0 * s * vx + (1.0 - 4.0 * omc) * vy)
    dv2[2] = v_f[2] - (-n * s * x0[2] + c * vz)


def safety_ellipse(n, a, c, phase, y_c, x):
    # x = a sin th, y = y_c + 2 a cos th, z = c sin(th + phase); state at th = 0 (see cw.c)
    for f in (n, a, c, phase, y_c):
        _fin(f, "safety_ellipse")
    _check_n(n, "safety_ellipse")
    if a < 0.0 or c < 0.0:
        raise GncError(EINVAL, "safety_ellipse: amplitudes must be >= 0")
    x[0] = 0.0
    x[1] = y_c + 2.0 * a
    x[2] = c * math.sin(phase)
    x[3] = a * n
    x[4] = 0.0
    x[5] = c * n * math.cos(phase)


_RESYNC = const(32)  # RESYNC of cw.c: the recurrence restarts from sin/cos every 32 samples


def keepout_check(x, n, horizon, dt, radius):
    # samples t_k = min(k dt, horizon), k = 0..ceil(horizon / dt), by the step's sweep (the
    # CW position with Reinsch's recurrence, gnc.sweep.sweep_part), squared ranges; returns
    # (min_range, unsafe)
    from gnc.sweep import sweep_part

    _finite(x, 6, "keepout_check")
    for f in (n, horizon, dt, radius):
        _fin(f, "keepout_check")
    if not n > 0.0 or horizon < 0.0 or not dt > 0.0 or radius < 0.0:
        raise GncError(EINVAL, "keepout_check: needs n > 0, horizon >= 0, dt > 0, radius >= 0")
    kf = horizon / dt
    if not kf <= _MAX_SAMPLES - 1:
        raise GncError(ERANGE, "keepout_check: more samples than GNC_KEEPOUT_MAX_SAMPLES")
    count = int(math.ceil(kf)) + 1
    best2 = 3.0e38
    for k0 in range(0, count, _RESYNC):
        u = n * (k0 * dt)
        sn, cs = (math.sin(u), math.cos(u)) if k0 else (0.0, 1.0)
        best2 = sweep_part(x, 0, n, horizon, dt, count, k0, min(k0 + _RESYNC, count), sn, cs, best2)
    best = math.sqrt(best2)
    return best, best < radius


_ABORT_SEP = 1.5


def _sign1(v):
    return -1.0 if v < 0.0 else 1.0


_HYP_ITER = const(6)  # HYP_ITER of cw.c: Newton steps per start in _hyp_nearest


def _clamp(s, lo, hi):
    # s into [lo, hi]; hi < 0: no upper end
    return lo if s < lo else (hi if 0.0 <= hi < s else s)


def _hyp_cost(p, k, pc, oc):
    return (p - pc) ** 2 + (k / p - oc) ** 2


def _hyp_nearest(k, pc, oc, sg, lo, hi):
    # point p = sg s, s in [lo, hi], of the hyperbola p o = k nearest (pc, oc): Newton steps on
    # the quartic R(s) whose sign is that of dF/ds, from three starts, the ends evaluated, as
    # hyp_nearest in cw.c (which says why); returns (p, cost)
    if 0.0 <= hi < lo:
        hi = lo
    a, b, c = -sg * pc, sg * oc * k, -k * k
    ends = (lo, hi) if hi >= 0.0 else (lo,)
    starts = ends + (math.sqrt(abs(k)), sg * pc) + ((sg * k / oc,) if oc != 0.0 else ())
    bs = lo
    bf = -1.0
    for i, s in enumerate(starts):
        s = _clamp(s, lo, hi)
        for _ in range(_HYP_ITER if i >= len(ends) else 0):
            s2 = s * s
            r = s2 * (s2 + a * s) + b * s + c
            d = s2 * (4.0 * s + 3.0 * a) + b
            sn = s - r / d if d > 0.0 else (2.0 * s if r < 0.0 else 0.5 * s)
            sn = _clamp(min(max(sn, 0.5 * s), 2.0 * s), lo, hi)
            done = abs(sn - s) <= 1e-6 * s
            s = sn
            if done:
                break
        f = _hyp_cost(sg * s, k, pc, oc)
        if bf < 0.0 or f < bf:
            bs, bf = s, f
    return sg * bs, bf


def abort_burn(x, n, radius, dv):
    # drift-free abort with e/i (radial / cross-track quadrature) separation; the design, its
    # two cases and sources are in the comment of gnc_abort_burn in cw.c. dv written, returns unsafe
    from gnc.sweep import orbit_min2

    _finite(x, 6, "abort_burn")
    _fin(n, "abort_burn")
    _fin(radius, "abort_burn")
    if not n > 0.0 or not radius > 0.0:
        raise GncError(EINVAL, "abort_burn: needs n > 0 and radius > 0")
    amin = _ABORT_SEP * radius
    x0, y0, z0 = x[0], x[1], x[2]
    wc = x[3] / n
    qc = x[5] / n
    rp = math.sqrt(x0 * x0 + z0 * z0)
    m = radius  # case 1: safe by construction
    if rp >= amin:
        # case 1: parameter q (w = k / q) when |x0| >= |z0|, else w (q = k / w)
        k = -x0 * z0
        a2 = amin * amin
        w0 = math.sqrt(a2 - x0 * x0) if a2 > x0 * x0 else 0.0
        q0 = math.sqrt(a2 - z0 * z0) if a2 > z0 * z0 else 0.0
        by_q = abs(x0) >= abs(z0)
        if by_q:
            pc, oc, lo, b0 = qc, wc, q0, w0
        else:
            pc, oc, lo, b0 = wc, qc, w0, q0
        hi = abs(k) / b0 if b0 > 0.0 else -1.0
        lo = max(lo, 1e-3 * amin)
        sg = -_sign1(y0)
        both = y0 == 0.0
        if by_q:
            both = both or k == 0.0
            sg *= _sign1(k)
        p, cost = _hyp_nearest(k, pc, oc, sg, lo, hi)
        if both:
            p2, cost2 = _hyp_nearest(k, pc, oc, -sg, lo, hi)
            if cost2 < cost:
                p = p2
        w, q = (k / p, p) if by_q else (p, k / p)
    else:
        # case 2: (w, q) = L u, u perpendicular to (x0, z0); radial impulses if it does not clear
        s_away = -_sign1(y0)
        ux, uz = (-z0 / rp, x0 / rp) if rp > 1e-3 * amin else (1.0, 0.0)
        sg = s_away * _sign1(ux) if ux != 0.0 and y0 != 0.0 else _sign1(ux * wc + uz * qc)
        ll = max(sg * (ux * wc + uz * qc), amin)
        w = sg * ll * ux
        q = sg * ll * uz
        r0 = math.sqrt(rp * rp + y0 * y0)
        if r0 < radius:
            m = r0  # inside already: nothing can clear
        elif rp >= radius:
            m = radius  # |(x, z)| >= rp >= radius at all times: clears
        else:
            m = math.sqrt(orbit_min2(x, w, q))
        for i in (1, 2, 4):
            if m >= radius or r0 < radius:
                break
            mr = math.sqrt(orbit_min2(x, s_away * amin * i, q))  # cheapest first, the first that clears
            if mr > m:
                m, w = mr, s_away * amin * i
    dv[0] = n * (w - wc)
    dv[1] = -2.0 * n * x0 - x[4]
    dv[2] = n * (q - qc)
    return m < radius
