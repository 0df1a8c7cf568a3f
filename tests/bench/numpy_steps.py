"""The inspector and rover 10 Hz steps of native/src/steps.c written the way a numpy user would.

Same algorithm, same buffer layouts and same conventions as gnc_inspector_step and
gnc_rover_step (see gnc.h, the comment at the top of steps.c and the sub-functions it calls),
but with numpy arrays and matrix operations instead of scalar loops: the MEKF covariance
propagated as Phi P Phi^T + Q and each three-component measurement as one batch update
(mathematically the same as the C's three sequential scalar updates, Bar-Shalom et al. 2001,
7.4), one update per cycle on the same sensor round-robin (none in a sweep's decision cycle); each cycle's part of the keep-out
sweep over its samples at once with exact sin/cos (the C: Reinsch recurrence); the abort burn's
nearest hyperbola point from the real roots of its quartic (the C: damped Newton from several
starts) and its near-V-bar candidate orbits checked side by side.

dtype follows the state buffer: float32 arrays compute in float32 (numpy 2 keeps Python float
scalars weak), float64 arrays in float64. Used by tests/bench/test_bench_gnc.py to price a step
in numpy against the C core; checked there against the C step. Not flight code: no status codes
beyond ValueError for non-finite inputs, no checks of parameter domains.
"""

import numpy as np

# ---- layout offsets (steps.c) ------------------------------------------------------------------
MEKF = 43
S_HCMD = 47
S_CW = 50
S_COUNTER = 57
S_SWEEP_K, S_SWEEP_MIN2, S_MIN_RANGE, S_SWEEP_SN, S_SWEEP_CS, S_SWEEP_SP, S_SWEEP_CP, S_SWEEP_U = range(58, 66)
RS_SOC, RS_DRILL, RS_INDEX, RS_SINCE_FIX = 5, 6, 10, 12

ABORT_SAMPLES = 64  # cw.c
PURSUIT_WALK = 4  # gnc_config.h GNC_PURSUIT_WALK: path points a goal search walks past per call
SWEEP_SAMPLE_CYCLES = 9  # steps.c: cycles of samples per keep-out sweep (then one decision cycle)
COUNTER_WRAP = 12582912  # steps.c: the step counter runs 0 .. 3 * 2^22 - 1
SOC_BAND = 0.2  # rover.c
BIAS_MIN_ELAPSED = 60.0
BIAS_GAIN = 0.25


# ---- quaternions (gnc.h conventions: scalar first, Hamilton, v_body = R(q)^T v_inertial) ------


def quat_mul(a, b):
    return np.concatenate(([a[0] * b[0] - a[1:] @ b[1:]], a[0] * b[1:] + b[0] * a[1:] + np.cross(a[1:], b[1:])))


def quat_conj(q):
    return q * np.array([1, -1, -1, -1], q.dtype)


def dcm(q):
    """R(q), active."""
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ],
        q.dtype,
    )


def skew(v):
    """[v x]."""
    return np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]], v.dtype)


def unit(v):
    return v / np.linalg.norm(v)


# ---- MEKF (Markley & Crassidis 6.2) ----------------------------------------------------------


def mekf_propagate(q, bias, P, gyro, dt, sigma_v, sigma_u):
    w = gyro - bias
    wn = np.linalg.norm(w)
    half = 0.5 * wn * dt
    sinc = np.sin(half) / wn if half >= 1e-3 else 0.5 * dt * (1 - half * half / 6)
    q = quat_mul(q, np.concatenate(([np.cos(half)], sinc * w)))
    q = q / np.linalg.norm(q)
    eye = np.eye(3, dtype=P.dtype)
    phi = np.block([[eye - dt * skew(w), -dt * eye], [np.zeros_like(eye), eye]])
    su2, sv2 = sigma_u * sigma_u, sigma_v * sigma_v
    q11 = sv2 * dt + su2 * dt**3 / 3
    q12 = -0.5 * su2 * dt * dt
    Q = np.kron(np.array([[q11, q12], [q12, su2 * dt]], P.dtype), eye)
    P = phi @ P @ phi.T + Q
    return q, 0.5 * (P + P.T)


def mekf_update(q, bias, P, H, r, var):
    """Batch update with H (3x6), residual r, isotropic variance var; then the reset (6.2.5)."""
    PHt = P @ H.T
    S = H @ PHt + var * np.eye(3, dtype=P.dtype)
    K = np.linalg.solve(S, PHt.T).T
    x = K @ r
    P = P - K @ PHt.T
    q = quat_mul(q, np.concatenate(([np.ones(1, q.dtype)[0]], 0.5 * x[:3])))
    return q / np.linalg.norm(q), bias + x[3:], 0.5 * (P + P.T)


def mekf_update_vector(q, bias, P, v_ref, v_meas, sigma):
    b = dcm(q).T @ unit(v_ref)
    H = np.hstack([skew(b), np.zeros((3, 3), P.dtype)])
    return mekf_update(q, bias, P, H, unit(v_meas) - b, sigma * sigma)


def mekf_update_quat(q, bias, P, q_meas, sigma):
    dq = quat_mul(quat_conj(q), unit(q_meas))
    if dq[0] < 0:
        dq = -dq
    H = np.hstack([np.eye(3, dtype=P.dtype), np.zeros((3, 3), P.dtype)])
    return mekf_update(q, bias, P, H, 2 * dq[1:], sigma * sigma)


# ---- control (Wie 7.3; Markley & Crassidis 7.4.1) ----------------------------------------------


def pd_control(q, w, q_ref, w_ref, J, h, kp, kd, tau_max, h_max):
    dq = quat_mul(quat_conj(q_ref), q)
    sgn = -1 if dq[0] < 0 else 1
    tau = -kp * sgn * dq[1:] - kd * (w - w_ref) + np.cross(w, J @ w + h)
    tau = np.clip(tau, -tau_max, tau_max)
    return np.where((np.abs(h) >= h_max) & (h * tau < 0), 0, tau).astype(q.dtype)


def dump_dipole(b, h, k, m_max):
    m = k * np.cross(h, b) / (b @ b)
    big = np.abs(m).max()
    return m * (m_max / big) if big > m_max else m


# ---- relative guidance (cw.c) -----------------------------------------------------------------


def cw_position(x, n, u):
    """CW free-drift position at the angles u = n t (an array): rows x, y, z (Vallado 6.8)."""
    wx, wy, wz = x[3:6] / n
    s, c = np.sin(u), np.cos(u)
    px = 4 * x[0] + 2 * wy + wx * s - (3 * x[0] + 2 * wy) * c
    py = x[1] - 2 * wx - (6 * x[0] + 3 * wy) * u + (6 * x[0] + 4 * wy) * s + 2 * wx * c
    pz = wz * s + x[2] * c
    return np.stack([px, py, pz])


def keepout_samples(horizon, dt):
    """Sample count of the keep-out prediction at t_k = min(k dt, horizon), k = 0..ceil(horizon / dt)."""
    return int(np.ceil(horizon / dt)) + 1


def keepout_min2(x, n, horizon, dt, k0, k1):
    """Least squared range over the samples k0 .. k1 - 1 of the keep-out prediction from x."""
    count = keepout_samples(horizon, dt)
    k = np.arange(k0, k1)
    t = np.where(k == count - 1, horizon, k.astype(x.dtype) * dt).astype(x.dtype)
    p = cw_position(x, n, n * t)
    return (p * p).sum(axis=0).min()


def orbit_min_ranges(x, n, w, q, samples=ABORT_SAMPLES):
    """Minimum range over one orbit of the drift-free paths from x's position with
    (vx, vy, vz) = n (w, -2 x0, q), one per candidate (w, q arrays); the keep-out prediction's
    samples (samples per orbit, cw.c orbit_min_range), all candidates side by side."""
    tau = np.linspace(0, 2 * np.pi, samples + 1, dtype=x.dtype)[:, None]  # (samples, candidates)
    s, c = np.sin(tau), np.cos(tau)
    px = x[0] * c + w * s
    py = x[1] - 2 * w + 2 * w * c - 2 * x[0] * s
    pz = x[2] * c + q * s
    return np.sqrt((px * px + py * py + pz * pz).min(axis=0))


def hyperbola_nearest(k, pc, oc, sg, lo, hi):
    """(p, cost): the point p = sg s, s in [lo, hi] (hi < 0: unbounded), of the hyperbola p o = k
    nearest (pc, oc); the stationary points of (p - pc)^2 + (k / p - oc)^2 are the real roots of
    p^4 - pc p^3 + oc k p - k^2, compared with the ends of the interval."""
    if 0 <= hi < lo:
        hi = lo
    roots = np.roots(np.array([1, -pc, 0, oc * k, -k * k], np.float64))
    s = sg * roots[np.abs(roots.imag) <= 1e-9 * (1 + np.abs(roots))].real
    s = s[(s >= lo) & ((hi < 0) | (s <= hi))]
    s = np.concatenate([s, [lo] if hi < 0 else [lo, hi]])
    p = sg * s
    cost = (p - pc) ** 2 + (k / p - oc) ** 2
    i = np.argmin(cost)
    return p[i], cost[i]


def abort_burn(x, n, radius):
    """gnc_abort_burn (cw.c): the drift-free e/i-separated abort orbit; dv (3,)."""
    amin = 1.5 * radius
    x0, y0, z0 = x[:3]
    wc, qc = x[3] / n, x[5] / n
    rp = np.hypot(x0, z0)
    away = -1.0 if y0 >= 0 else 1.0  # sign of w for w y0 <= 0
    if rp >= amin:
        # quadrature (w q = -x0 z0) with both amplitudes >= amin, least |dv|: on the hyperbola,
        # parameterised by the coordinate paired with the larger of |x0|, |z0|
        k = float(-x0 * z0)
        a2 = float(amin) ** 2
        w0 = np.sqrt(max(a2 - float(x0) ** 2, 0.0))
        q0 = np.sqrt(max(a2 - float(z0) ** 2, 0.0))
        by_q = abs(x0) >= abs(z0)
        pc, oc, lo, other = (qc, wc, q0, w0) if by_q else (wc, qc, w0, q0)
        hi = abs(k) / other if other > 0 else -1.0
        lo = max(lo, 1e-3 * amin)
        sg = away * ((-1.0 if k < 0 else 1.0) if by_q else 1.0)
        signs = [sg, -sg] if (y0 == 0 or (by_q and k == 0)) else [sg]
        best = min((hyperbola_nearest(k, float(pc), float(oc), g, lo, hi) for g in signs), key=lambda pc_: pc_[1])
        p = best[0]
        w, q = (k / p, p) if by_q else (p, k / p)
    else:
        # near the V-bar: the largest separation |(x0, z0)| with (w, q) along u perpendicular to
        # (x0, z0), checked over one orbit, then radial fallbacks (first that clears wins)
        u = np.array([-z0, x0]) / rp if rp > 1e-3 * amin else np.array([1.0, 0.0])
        along = u @ np.array([wc, qc])
        if u[0] != 0 and y0 != 0:
            sg = away * (-1.0 if u[0] < 0 else 1.0)
        else:
            sg = -1.0 if along < 0 else 1.0
        w, q = sg * max(sg * along, amin) * u
        if np.linalg.norm(x[:3]) >= radius:  # inside the sphere already nothing clears: no check
            cand_w = np.array([w] + [away * amin * i for i in (1, 2, 4)], x.dtype)
            m = orbit_min_ranges(x, n, cand_w, np.full(4, q, x.dtype))
            clear = np.nonzero(m >= radius)[0]
            w = cand_w[clear[0] if len(clear) else np.argmax(m)]
    return np.array([n * (w - wc), -2 * n * x0 - x[4], n * (q - qc)], x.dtype)


# ---- the inspector step -----------------------------------------------------------------------


def pick_sensor(counter, inp):
    """The one MEKF update of this cycle: counter mod 3 (0 star, 1 sun, 2 magnetometer) or the
    next available sensor after it; -1 when none is."""
    avail = np.array([inp[22] > 0.5, inp[6:9].any(), inp[12:15].any()])
    slot = int(counter) % 3 if 0 <= counter < COUNTER_WRAP else 0
    order = (slot + np.arange(3)) % 3
    return order[avail[order]][0] if avail.any() else -1


def inspector_step(s, inp, prm, out):
    """gnc_inspector_step on numpy arrays of one dtype: s and out updated in place; returns unsafe."""
    if not (np.isfinite(s).all() and np.isfinite(inp).all() and np.isfinite(prm).all()):
        raise ValueError("inspector_step: NaN or infinite input")
    dt = inp[39]
    counter = s[S_COUNTER]
    q, bias, P = s[0:4], s[4:7], s[7:MEKF].reshape(6, 6)
    gyro = inp[0:3]
    n, radius, horizon, hdt = prm[20], prm[21], prm[22], prm[23]
    count = keepout_samples(horizon, hdt)
    per = -(-count // SWEEP_SAMPLE_CYCLES)
    k0 = int(s[S_SWEEP_K]) if 1 <= s[S_SWEEP_K] <= count else 0
    decide = k0 == count  # the sweep's decision cycle: no samples, no measurement update
    q, P = mekf_propagate(q, bias, P, gyro, dt, prm[15], prm[16])
    sensor = -1 if decide else pick_sensor(counter, inp)
    if sensor == 0:
        q, bias, P = mekf_update_quat(q, bias, P, inp[18:22], prm[19])
    elif sensor == 1:
        q, bias, P = mekf_update_vector(q, bias, P, inp[3:6], inp[6:9], prm[17])
    elif sensor == 2:
        q, bias, P = mekf_update_vector(q, bias, P, inp[9:12], inp[12:15], prm[18])
    h = inp[30:33]
    tau = pd_control(q, gyro - bias, inp[23:27], inp[27:30], prm[0:9].reshape(3, 3), h, prm[9], prm[10],
                     prm[11], prm[12])
    b = inp[15:18]
    m = dump_dipole(b, h, prm[13], prm[14]) if b.any() else np.zeros(3, s.dtype)
    # keep-out sweep: this cycle's part of the prediction from the state latched at its start,
    # or its decision cycle: the minimum declared, the abort burn when below the radius
    rel = inp[33:39]
    unsafe = valid = False
    dv = np.zeros(3, s.dtype)
    if decide:
        s[S_SWEEP_K] = 0
        s[S_MIN_RANGE] = np.sqrt(s[S_SWEEP_MIN2])
        unsafe = bool(s[S_MIN_RANGE] < radius)
        if unsafe:
            dv = abort_burn(rel, n, radius)
    else:
        # the part rotation kept with its angle: not valid -> a setup cycle; a damaged sweep
        # starts over (steps.c)
        u = n * (per * hdt)
        pairs = s[S_SWEEP_SN : S_SWEEP_CP + 1].astype(np.float64)
        unit_sn, unit_sp = (abs(pairs[0:2] @ pairs[0:2] - 1) < 1e-3), (abs(pairs[2:4] @ pairs[2:4] - 1) < 1e-3)
        valid = unit_sp and abs(s[S_SWEEP_U] - u) <= 1e-6 * u
        if k0 and not (valid and unit_sn):
            k0 = 0
    if not decide and k0 == 0 and not valid:  # setup cycle: the pair, no samples
        s[S_SWEEP_SP : S_SWEEP_U + 1] = np.sin(u), np.cos(u), u
        s[S_SWEEP_K] = 0
    elif not decide:
        if k0 == 0:
            s[S_CW : S_CW + 6] = rel
            min2 = np.inf
        else:
            min2 = s[S_SWEEP_MIN2]
        k1 = min(k0 + per, count)
        min2 = min(min2, keepout_min2(s[S_CW : S_CW + 6], n, horizon, hdt, k0, k1))
        s[S_SWEEP_MIN2] = min2
        s[S_SWEEP_SN : S_SWEEP_CP + 1] = np.sin(n * (k0 + per) * hdt), np.cos(n * (k0 + per) * hdt), \
            np.sin(n * per * hdt), np.cos(n * per * hdt)
        s[S_SWEEP_K] = k1  # count: the next cycle is the decision cycle
    s[0:4], s[4:7], s[7:MEKF] = q, bias, P.reshape(-1)
    s[S_HCMD : S_HCMD + 3] -= tau * dt
    s[S_COUNTER] = 0 if counter + 1 >= COUNTER_WRAP else counter + 1
    out[:] = np.concatenate([tau, m, q, [s[S_MIN_RANGE], 1.0 if unsafe else 0.0], dv])
    return unsafe


# ---- rover (rover.c) --------------------------------------------------------------------------


def wrap_pi(a):
    a = np.fmod(a, 2 * np.pi)
    return a - 2 * np.pi if a > np.pi else (a + 2 * np.pi if a <= -np.pi else a)


def goal_point(path, i, p, look):
    """(goal point, its segment) by Coulter's search from segment i (rover.c goal_point)."""
    a, d = path[i], path[i + 1] - path[i]
    len2 = d @ d
    t0 = np.clip((p - a) @ d / len2, 0, 1) if len2 > 0 else 0
    c = a + t0 * d - p
    if c @ c > look * look:
        t = min(1, t0 + look / np.sqrt(len2)) if len2 > 0 else 1
        return a + t * d, i
    ends = path[i + 1 : i + 1 + PURSUIT_WALK] - p  # at most PURSUIT_WALK points per call
    outside = np.nonzero((ends * ends).sum(axis=1) > look * look)[0]
    if not len(outside):
        if i + PURSUIT_WALK >= len(path) - 1:
            return path[-1], len(path) - 2
        return path[i + PURSUIT_WALK], i + PURSUIT_WALK  # the next call walks on from there
    j = i + outside[0]
    a, d = path[j], path[j + 1] - path[j]
    f = a - p
    qa, qb, qc = d @ d, 2 * (f @ d), f @ f - look * look
    disc = np.sqrt(max(qb * qb - 4 * qa * qc, 0))
    t = -2 * qc / (qb + disc) if qb > 0 else (disc - qb) / (2 * qa)
    t = np.clip(t, t0 if j == i else 0, 1)
    return a + t * d, j


def pure_pursuit(pose, path, index, limits, slope, soc):
    v_max, omega_max, look, slope_limit, reserve = limits
    goal, seg = goal_point(path, index, pose[:2], look)
    last = path[-1] - pose[:2]
    done = seg == len(path) - 2 and last @ last <= 0.0625 * look * look
    c, s = np.cos(pose[2]), np.sin(pose[2])
    dxy = goal - pose[:2]
    xr, yr = np.array([[c, s], [-s, c]], pose.dtype) @ dxy
    d2 = dxy @ dxy
    kappa = 2 * yr / d2 if d2 > 0 else 0
    slope = abs(slope)
    f_slope = 0 if slope >= slope_limit else min(1, 2 * (1 - slope / slope_limit))
    f_soc = 0 if soc <= reserve else min(1, (soc - reserve) / SOC_BAND)
    if done or f_slope <= 0 or f_soc <= 0:
        v = omega = 0
    elif xr <= 0:
        v, omega = 0, (omega_max if yr >= 0 else -omega_max)
    else:
        v = v_max * f_slope * f_soc / (1 + look * abs(kappa))
        if v * abs(kappa) > omega_max:
            v = omega_max / abs(kappa)
        omega = v * kappa
    return v, omega, seg, done


def drill_step(ds, meas, limits, dt):
    """rover.c gnc_drill_step on ds = [depth, mode, cycles, fault] (in place); returns [feed, spin]."""
    depth, mode, _, fault = ds
    target, feed = limits[3], limits[4]
    nxt, cmd = mode, np.zeros(2, ds.dtype)
    if mode == 1:
        over = meas > limits[:3]
        if over.any():
            fault = 1 + np.argmax(over)  # torque 1, current 2, temperature 3
            nxt, cmd[0] = 2, -feed
            depth = max(0, depth - feed * dt)
        else:
            cmd[:] = feed, 1
            depth = min(target, depth + feed * dt)
            if depth >= target:
                fault, nxt = 0, 2
    elif mode == 2:
        if depth <= 0:
            nxt = 3 if fault == 0 else 0
        else:
            cmd[0] = -feed
            depth = max(0, depth - feed * dt)
    ds[:] = depth, nxt, (ds[2] + 1 if nxt == mode else 0), fault
    return cmd


def rover_step(s, inp, prm, path, n_points, out):
    """gnc_rover_step on numpy arrays of one dtype: s and out updated in place."""
    if not (np.isfinite(s).all() and np.isfinite(inp).all() and np.isfinite(prm).all()):
        raise ValueError("rover_step: NaN or infinite input")
    path = path[: 2 * n_points].reshape(-1, 2)
    dt = inp[12]
    nav = s[0:5]  # a view: updated in place
    # odometry: exact chord along the mean heading
    w = inp[2] - nav[3]
    v = 0.5 * (inp[0] + inp[1])
    half = 0.5 * w * dt
    chord = v * dt * np.sin(half) / half if abs(half) > 1e-4 else v * dt
    heading = nav[2] + half
    nav[0:2] += chord * np.array([np.cos(heading), np.sin(heading)], s.dtype)
    nav[2] = wrap_pi(nav[2] + w * dt)
    nav[4] += prm[5] * prm[5] * dt
    s[RS_SINCE_FIX] += dt
    # power, heater on while the Sun is below the horizon
    elev, az, horizon = inp[5], inp[6], prm[13]
    area, eff, flux, capacity, heater_w, base_w = prm[7:13]
    gen = area * eff * flux * np.cos(elev) * max(0, np.cos(az)) if elev >= horizon else 0
    net = gen - base_w - prm[14] - (heater_w if elev < horizon else 0)
    s[RS_SOC] = np.clip(s[RS_SOC] + net * dt / capacity, 0, 1)
    v, omega, seg, done = pure_pursuit(nav[0:3], path, int(s[RS_INDEX]), prm[0:5], inp[7], s[RS_SOC])
    s[RS_INDEX] = seg
    if inp[3] > 0.5:  # sun azimuth fix after the steering (steps.c): scalar Kalman update, bias through the elapsed time
        p, var = nav[4], prm[6]
        k = p / (p + var)
        nu = wrap_pi(inp[4] - nav[2])
        nav[2] = wrap_pi(nav[2] + k * nu)
        nav[4] = p * var / (p + var)
        if s[RS_SINCE_FIX] >= BIAS_MIN_ELAPSED:
            nav[3] -= BIAS_GAIN * k * nu / s[RS_SINCE_FIX]
        s[RS_SINCE_FIX] = 0
    dcmd = np.zeros(2, s.dtype)
    if inp[11] > 0.5:  # the rover stands still while it drills
        v = omega = 0
        dcmd = drill_step(s[RS_DRILL : RS_DRILL + 4], inp[8:11], prm[15:20], dt)
    out[:] = v, omega, 1.0 if done else 0.0, net, dcmd[0], dcmd[1]
