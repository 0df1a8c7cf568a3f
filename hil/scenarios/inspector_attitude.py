"""Inspector attitude scenarios D1, P1, E1, M1 (GNC.md "Closed-loop scenarios").

The world (orbit, dipole field, rigid body with wheels, sensors) is float64 numpy from world.py;
the flight algorithms (B-dot, PD control, MEKF, momentum dumping) are the C core through `native`.
"""

import numpy as np

import native as gnc
from hil.scenarios import Result, scenario, world
from hil.scenarios.inspector_common import (
    GYRO_ARW, GYRO_RRW, H_MAX, INCLINATION, ALTITUDE, J, JINV, KD, KP, M_MAX, MAG_NOISE, ORBIT, STAR_SIGMA,
    SUN_SIGMA, TAU_MAX, WHEEL_LIMITS, f32, plot_file, pyplot, save,
)

DEG = np.pi / 180.0
J32 = f32(J.reshape(-1))
ZERO3 = np.zeros(3, np.float32)

# ---- D1 ---------------------------------------------------------------------------------------

D1_RATE0 = 10.0  # deg/s initial tumble
D1_LIMIT = 0.5  # deg/s
D1_ORBITS = 3.0
D1_PERIOD = 1.0  # s control cycle: the magnetometer reads, then the torquers run for D1_DUTY of it
D1_DUTY = 0.8
D1_GAIN = 1e6  # A m^2 / (T/s): damping time J / (k |B|^2) ~ 2 min, saturated (bang-bang) above ~1 deg/s


D1_CRITERION = "< %.1f deg/s within %.0f orbits in >= 95%% of runs" % (D1_LIMIT, D1_ORBITS)


@scenario("D1", "B-dot detumbling from 10 deg/s, Monte Carlo", D1_CRITERION, default_runs=100)
def d1(runs, plots, seed):
    rng = np.random.default_rng(seed)
    orbit = world.CircularOrbit(ALTITUDE, INCLINATION, raan=rng.uniform(0, 2 * np.pi),
                                u0=rng.uniform(0, 2 * np.pi, runs))
    gmst0 = rng.uniform(0, 2 * np.pi)
    q = world.qexp(world.random_unit(rng, runs) * rng.uniform(0, np.pi, (runs, 1)))
    w = world.random_unit(rng, runs) * D1_RATE0 * DEG
    h = np.zeros((runs, 3))
    states = np.zeros((runs, gnc.BDOT_SIZE), np.float32)
    for r in range(runs):
        gnc.bdot_init(states[r])
    m32 = np.zeros((runs, 3), np.float32)
    zero = np.zeros((runs, 3))
    steps = int(np.ceil(D1_ORBITS * orbit.period / D1_PERIOD))
    rate = np.empty((steps + 1, runs), np.float32)
    rate[0] = np.linalg.norm(w, axis=1) / DEG
    t_on, t_off = D1_DUTY * D1_PERIOD, (1.0 - D1_DUTY) * D1_PERIOD
    for k in range(steps):
        t = k * D1_PERIOD
        # measure with the torquers off
        b_meas = world.rotate_inv(q, world.dipole_field(orbit.position(t), t, gmst0))
        b_meas = f32(b_meas + rng.normal(scale=MAG_NOISE, size=(runs, 3)))
        for r in range(runs):
            gnc.bdot(states[r], b_meas[r], D1_PERIOD, D1_GAIN, M_MAX, m32[r])
        m = m32.astype(float)
        tm = t + 0.5 * t_on  # the inertial field turns at ~2n: one value per actuation is enough
        b_i = world.dipole_field(orbit.position(tm), tm, gmst0)
        q, w, h = world.body_rk4(q, w, h, J, t_on, lambda qq, _w: (zero, world.cross(m, world.rotate_inv(qq, b_i))),
                                 substeps=2, Jinv=JINV)
        q, w, h = world.body_rk4(q, w, h, J, t_off, lambda _q, _w: (zero, zero), Jinv=JINV)
        rate[k + 1] = np.linalg.norm(w, axis=1) / DEG
    time_orbits = np.arange(steps + 1) * D1_PERIOD / orbit.period
    above = rate >= D1_LIMIT
    last_above = np.where(above.any(axis=0), steps - np.argmax(above[::-1], axis=0), 0)
    settle = np.where(above[-1], np.inf, last_above * D1_PERIOD / orbit.period)  # orbits
    ok = settle <= D1_ORBITS
    frac = ok.mean()
    p95 = np.percentile(settle, 95)
    figure = "%d/%d runs (95th pct %s orbits)" % (ok.sum(), runs, "%.2f" % p95 if np.isfinite(p95) else "> 3")
    details = {
        "runs": runs, "passed_runs": int(ok.sum()), "settle_orbits_median": float(np.median(settle)),
        "settle_orbits_p95": float(p95), "final_rate_max_deg_s": float(rate[-1].max()),
        "m_max_A_m2": M_MAX, "gain": D1_GAIN, "duty": D1_DUTY, "period_s": D1_PERIOD,
    }
    path = plot_file(plots, "D1")
    if path:
        plt = pyplot()
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [2.2, 1]})
        lo, p5, med, p95r, hi = np.percentile(rate, [0, 5, 50, 95, 100], axis=1)
        ax.fill_between(time_orbits, lo, hi, color="tab:blue", alpha=0.15, label="all %d runs (min-max)" % runs)
        ax.fill_between(time_orbits, p5, p95r, color="tab:blue", alpha=0.35, label="5-95 percentile")
        ax.plot(time_orbits, med, color="tab:blue", lw=1.2, label="median")
        ax.axhline(D1_LIMIT, color="tab:red", ls="--", label="criterion %.1f deg/s" % D1_LIMIT)
        ax.axvline(D1_ORBITS, color="tab:red", ls=":")
        ax.set_yscale("log")
        ax.set_xlabel("time (orbits of %.0f min)" % (orbit.period / 60))
        ax.set_ylabel("body rate |w| (deg/s)")
        ax.set_title("D1 B-dot detumbling, %.1f A m$^2$ per axis, %.0f%% duty" % (M_MAX, 100 * D1_DUTY))
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        bx.hist(np.minimum(settle, D1_ORBITS * 1.05), bins=30, color="tab:blue")
        bx.axvline(D1_ORBITS, color="tab:red", ls="--", label="3 orbits")
        bx.set_xlabel("time to stay below %.1f deg/s (orbits)" % D1_LIMIT)
        bx.set_ylabel("runs")
        bx.set_title("%d/%d runs settled" % (ok.sum(), runs))
        bx.legend(fontsize=8)
        save(fig, path)
    return Result("D1", figure, D1_CRITERION, frac >= 0.95, details, path)


# ---- P1 ---------------------------------------------------------------------------------------

P1_DT = 0.1  # s, 10 Hz ADCS cycle
P1_DURATION = 360.0  # s simulated (criterion: settled by 300 s)
P1_SETTLE = 300.0
P1_TOL = 0.1  # deg
P1_SLEWS = ((30.0, (0.3, -0.5, 0.8)), (180.0, (-0.6, 0.2, 0.77)))  # deg, body axis
P1_PATH_MARGIN = 5.0  # deg: the angle travelled may exceed the shortest rotation by this much


def _slew(rng, angle_deg, axis):
    """One slew with MEKF (star tracker 2 Hz + gyro), PD on the estimate, wheels; truth in float64."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    q = world.qexp(rng.normal(size=3))[None]  # arbitrary start attitude, at rest
    w = np.zeros((1, 3))
    h = np.zeros((1, 3))
    q_ref = world.qmul(q, world.qexp(axis * angle_deg * DEG))[0]  # body-axis rotation
    # handed over with a negative scalar part: -q_ref is the same attitude, and a controller
    # without the sign(dq0) term would unwind (travel 360 deg - angle)
    q_ref = -q_ref if q_ref[0] > 0 else q_ref
    gyro = world.Gyro(rng, rng.normal(scale=1.0 * DEG / 3600, size=3), GYRO_ARW, GYRO_RRW)
    s = np.zeros(gnc.MEKF_SIZE, np.float32)
    q_est0 = world.qmul(q, world.qexp(rng.normal(scale=STAR_SIGMA, size=3)))[0]
    gnc.mekf_init(s, f32(q_est0), ZERO3, 3 * STAR_SIGMA, 2.0 * DEG / 3600)
    q_ref32, tau = f32(q_ref), np.zeros(3, np.float32)
    steps = int(round(P1_DURATION / P1_DT))
    log = {k: np.zeros((steps + 1, 3)) for k in ("w", "h", "tau")}
    err = np.zeros(steps + 1)
    err[0] = world.qangle(q[0], q_ref) / DEG
    path = 0.0
    for k in range(steps):
        w_meas = gyro.measure(w[0], P1_DT)
        gnc.mekf_propagate(s, f32(w_meas), P1_DT, GYRO_ARW, GYRO_RRW)
        if k % 5 == 0:
            q_star = world.qmul(q[0], world.qexp(rng.normal(scale=STAR_SIGMA, size=3)))
            gnc.mekf_update_quat(s, f32(q_star), STAR_SIGMA)
        w_est = f32(w_meas - s[4:7])
        gnc.pd_control(s[:4], w_est, q_ref32, ZERO3, J32, f32(h[0]), KP, KD, WHEEL_LIMITS, tau)
        tb = tau.astype(float)[None]
        log["tau"][k + 1] = tb[0]
        w_before = np.linalg.norm(w)
        q, w, h = world.body_rk4(q, w, h, J, P1_DT, lambda _q, _w: (tb, 0.0), Jinv=JINV)
        path += 0.5 * (w_before + np.linalg.norm(w)) * P1_DT
        log["w"][k + 1], log["h"][k + 1] = w[0], h[0]
        err[k + 1] = world.qangle(q[0], q_ref) / DEG
    t = np.arange(steps + 1) * P1_DT
    above = np.nonzero(err >= P1_TOL)[0]
    settle = t[above[-1] + 1] if len(above) and above[-1] + 1 <= steps else (np.inf if len(above) else 0.0)
    return {
        "angle": angle_deg, "t": t, "err": err, "settle": settle, "path": path / DEG, **log,
        "h_max": np.abs(log["h"]).max(), "tau_max": np.abs(log["tau"]).max(),
    }


@scenario("P1", "30 deg and 180 deg slews, PD + wheels",
          "< %.1f deg by %.0f s; no unwinding; wheels within limits" % (P1_TOL, P1_SETTLE))
def p1(runs, plots, seed):
    rng = np.random.default_rng(seed)
    slews = [_slew(rng, a, ax) for a, ax in P1_SLEWS]
    checks = []
    for sl in slews:
        sl["settled"] = sl["settle"] <= P1_SETTLE
        sl["no_unwind"] = sl["path"] <= sl["angle"] + P1_PATH_MARGIN
        # one control cycle of wheel torque may carry h past h_max before the command zeroes that axis
        sl["wheels_ok"] = sl["h_max"] <= H_MAX + TAU_MAX * P1_DT and sl["tau_max"] <= TAU_MAX * (1 + 1e-6)
        checks += [sl["settled"], sl["no_unwind"], sl["wheels_ok"]]
    figure = "; ".join("%.0f deg: %.0f s, path %.1f deg" % (s["angle"], s["settle"], s["path"]) for s in slews)
    details = {
        "%.0f" % s["angle"]: {
            "settle_s": float(s["settle"]), "path_deg": float(s["path"]), "final_error_deg": float(s["err"][-1]),
            "h_peak_Nms": float(s["h_max"]), "tau_peak_Nm": float(s["tau_max"]), "settled": bool(s["settled"]),
            "no_unwinding": bool(s["no_unwind"]), "wheels_within_limits": bool(s["wheels_ok"]),
        }
        for s in slews
    }
    details.update({"kp": KP, "kd": KD, "tau_max_Nm": TAU_MAX, "h_max_Nms": H_MAX})
    path = plot_file(plots, "P1")
    if path:
        plt = pyplot()
        fig, axes = plt.subplots(3, len(slews), figsize=(12, 9), sharex=True)
        for col, s in enumerate(slews):
            ax = axes[0, col]
            ax.semilogy(s["t"], np.maximum(s["err"], 1e-4), color="tab:blue", label="true attitude error")
            ax.axhline(P1_TOL, color="tab:red", ls="--", label="criterion %.1f deg" % P1_TOL)
            ax.axvline(P1_SETTLE, color="tab:red", ls=":", label="%.0f s" % P1_SETTLE)
            if np.isfinite(s["settle"]):
                ax.axvline(s["settle"], color="tab:green", ls=":", label="settled %.0f s" % s["settle"])
            ax.set_ylabel("error (deg)")
            ax.set_title("P1 %.0f deg slew: path %.1f deg travelled" % (s["angle"], s["path"]))
            ax.legend(fontsize=8)
            ax.grid(True, which="both", alpha=0.3)
            ax = axes[1, col]
            for i, c in enumerate("xyz"):
                ax.plot(s["t"], s["w"][:, i] / DEG, label="w" + c)
            ax.set_ylabel("body rate (deg/s)")
            ax.legend(fontsize=8)
            ax.grid(True, alpha=0.3)
            ax = axes[2, col]
            for i, c in enumerate("xyz"):
                ax.plot(s["t"], s["h"][:, i] * 1e3, label="h" + c)
            for sign in (1, -1):
                ax.axhline(sign * H_MAX * 1e3, color="tab:red", ls="--", label="capacity" if sign > 0 else None)
            ax.set_ylabel("wheel momentum (mN m s)")
            ax.set_xlabel("time (s)")
            ax.legend(fontsize=8)
            ax.grid(True, alpha=0.3)
        save(fig, path)
    return Result("P1", figure, "< %.1f deg by %.0f s; no unwinding; wheels within limits" % (P1_TOL, P1_SETTLE),
                  all(checks), details, path)


# ---- E1 ---------------------------------------------------------------------------------------

E1_DT = 0.2  # s gyro / propagation
E1_DURATION = 2400.0  # s
E1_OUTAGE = (900.0, 1500.0)  # s: star tracker off for 10 min (sun sensor only)
E1_ERR0 = 5.0  # deg initial attitude error
E1_BIAS0 = 10.0  # deg/h gyro bias
E1_RECOVER = 60.0  # s after reacquisition
E1_LOG_EVERY = 5  # samples logged every second


@scenario("E1", "MEKF from 5 deg off with 10 deg/h bias, star-tracker outage",
          "inside 3 sigma; NEES consistent; recovers after a 10 min outage", default_runs=20)
def e1(runs, plots, seed):
    rng = np.random.default_rng(seed)
    sun_i = world.sun_direction(172.0)
    steps = int(round(E1_DURATION / E1_DT))
    # truth: a slow wobble (inspection pointing), random phases per run
    ph = rng.uniform(0, 2 * np.pi, (runs, 3))
    amp = np.array([0.1, 0.08, 0.05]) * DEG
    per = np.array([600.0, 900.0, 700.0])
    q = world.qexp(world.random_unit(rng, runs) * rng.uniform(0, np.pi, (runs, 1)))
    bias = world.random_unit(rng, runs) * E1_BIAS0 * DEG / 3600
    gyro = world.Gyro(rng, bias, GYRO_ARW, GYRO_RRW)
    err0 = world.random_unit(rng, runs) * E1_ERR0 * DEG
    q_est0 = world.qmul(q, world.qexp(-err0))  # estimate 5 deg off (q_true = q_est x exp(err0))
    s = np.zeros((runs, gnc.MEKF_SIZE), np.float32)
    sig_att, sig_bias = E1_ERR0 * DEG / np.sqrt(3), E1_BIAS0 * DEG / 3600 / np.sqrt(3)
    for r in range(runs):
        gnc.mekf_init(s[r], f32(q_est0[r]), ZERO3, sig_att, sig_bias)
    nlog = steps // E1_LOG_EVERY + 1
    e_att = np.zeros((nlog, runs, 3))
    e_bias = np.zeros((nlog, runs, 3))
    sd = np.zeros((nlog, runs, 6))
    nees = np.zeros((nlog, runs))
    sun_ref = f32(sun_i)

    def log(i):
        for r in range(runs):
            nees[i, r] = gnc.mekf_nees(s[r], f32(q[r]), f32(gyro.bias[r]))
        e_att[i] = world.qerror_vec(s[:, :4].astype(float), q)
        e_bias[i] = gyro.bias - s[:, 4:7]
        sd[i] = np.sqrt(np.diagonal(s[:, 7:43].reshape(runs, 6, 6).astype(float), axis1=1, axis2=2))

    log(0)
    for k in range(steps):
        t = (k + 0.5) * E1_DT
        w = amp * np.sin(2 * np.pi * t / per + ph)
        q = world.qmul(q, world.qexp(w * E1_DT))
        wm = f32(gyro.measure(w, E1_DT))
        for r in range(runs):
            gnc.mekf_propagate(s[r], wm[r], E1_DT, GYRO_ARW, GYRO_RRW)
        t1 = (k + 1) * E1_DT
        if (k + 1) % 5 == 0:  # 1 Hz updates
            if not E1_OUTAGE[0] <= t1 < E1_OUTAGE[1]:
                qs = f32(world.qmul(q, world.qexp(rng.normal(scale=STAR_SIGMA, size=(runs, 3)))))
                for r in range(runs):
                    gnc.mekf_update_quat(s[r], qs[r], STAR_SIGMA)
            sun_b = world.rotate_inv(world.qmul(q, world.qexp(rng.normal(scale=SUN_SIGMA, size=(runs, 3)))), sun_i)
            sun_b = f32(sun_b / np.linalg.norm(sun_b, axis=1, keepdims=True))
            for r in range(runs):
                gnc.mekf_update_vector(s[r], sun_ref, sun_b[r], SUN_SIGMA)
        if (k + 1) % E1_LOG_EVERY == 0:
            log((k + 1) // E1_LOG_EVERY)
    t = np.arange(nlog) * E1_DT * E1_LOG_EVERY
    # 3-sigma containment per axis, after the first star-tracker updates
    after = t >= 10.0
    inside_att = (np.abs(e_att) <= 3 * sd[..., :3])[after].mean()
    inside_bias = (np.abs(e_bias) <= 3 * sd[..., 3:])[after].mean()
    # NEES: the mean over runs of 6-dof NEES; runs * ANEES ~ chi2(6 runs); 95% two-sided interval
    from scipy.stats import chi2

    anees = nees.mean(axis=1)
    lo, hi = chi2.ppf([0.025, 0.975], 6 * runs) / runs
    steady = t >= 60.0
    anees_mean = float(anees[steady].mean())
    anees_in = float(((anees >= lo) & (anees <= hi))[steady].mean())
    # recovery: RMS attitude error after reacquisition back to the pre-outage level
    norm = np.linalg.norm(e_att, axis=2) / DEG
    pre = (t >= E1_OUTAGE[0] - 300.0) & (t < E1_OUTAGE[0])
    post = t >= E1_OUTAGE[1] + E1_RECOVER
    rms_pre = float(np.sqrt(np.mean(norm[pre] ** 2)))
    rms_post = float(np.sqrt(np.mean(norm[post] ** 2)))
    peak_outage = float(norm[(t >= E1_OUTAGE[0]) & (t < E1_OUTAGE[1])].max())
    ok_sigma = inside_att >= 0.99 and inside_bias >= 0.99
    ok_nees = lo <= anees_mean <= hi
    ok_recover = rms_post <= 1.5 * rms_pre
    figure = "3sig %.1f%%, ANEES %.2f [%.2f-%.2f], RMS %.4f->%.4f deg" % (
        100 * min(inside_att, inside_bias), anees_mean, lo, hi, rms_pre, rms_post)
    details = {
        "runs": runs, "inside_3sigma_attitude": float(inside_att), "inside_3sigma_bias": float(inside_bias),
        "anees_mean": anees_mean, "anees_bounds_95": (float(lo), float(hi)), "anees_fraction_in_bounds": anees_in,
        "rms_error_pre_outage_deg": rms_pre, "rms_error_after_recovery_deg": rms_post,
        "peak_error_in_outage_deg": peak_outage, "final_bias_error_deg_h": float(
            np.linalg.norm(e_bias[-1], axis=1).max() / DEG * 3600),
        "consistent": ok_nees, "recovered": ok_recover, "within_3_sigma": ok_sigma,
    }
    path = plot_file(plots, "E1")
    if path:
        plt = pyplot()
        fig, axes = plt.subplots(4, 2, figsize=(13, 11), sharex=True)
        for i, c in enumerate("xyz"):
            for col, (e, sdev, unit, name) in enumerate(
                    ((e_att, sd[..., :3], 1 / DEG, "attitude error %s (deg)"),
                     (e_bias, sd[..., 3:], 3600 / DEG, "bias error %s (deg/h)"))):
                ax = axes[i, col]
                ax.plot(t, e[:, :, i] * unit, color="tab:blue", lw=0.5, alpha=0.4)
                env = 3 * sdev[:, :, i].mean(axis=1) * unit
                ax.plot(t, env, "r--", lw=1, label="+/- 3 sigma (filter)")
                ax.plot(t, -env, "r--", lw=1)
                ax.axvspan(*E1_OUTAGE, color="tab:orange", alpha=0.15, label="star-tracker outage")
                ax.set_ylabel(name % c)
                scale = np.percentile(env[after], 99) * 1.5
                ax.set_ylim(-scale, scale)
                ax.grid(True, alpha=0.3)
                if i == 0:
                    ax.legend(fontsize=8, loc="upper right")
        axes[0, 0].set_title("E1 MEKF, %d runs: 5 deg initial error, 10 deg/h bias" % runs)
        ax = axes[3, 0]
        ax.semilogy(t, np.maximum(anees, 1e-3), color="tab:blue", label="ANEES over %d runs (6 dof)" % runs)
        ax.axhline(lo, color="tab:red", ls="--", label="95% chi2 bounds")
        ax.axhline(hi, color="tab:red", ls="--")
        ax.axvspan(*E1_OUTAGE, color="tab:orange", alpha=0.15)
        ax.set_ylabel("NEES")
        ax.set_xlabel("time (s)")
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        ax = axes[3, 1]
        ax.semilogy(t, np.maximum(norm, 1e-5), color="tab:blue", lw=0.5, alpha=0.4)
        ax.axhline(1.5 * rms_pre, color="tab:red", ls="--", label="recovery: 1.5 x pre-outage RMS")
        ax.axvspan(*E1_OUTAGE, color="tab:orange", alpha=0.15)
        ax.set_ylabel("|attitude error| (deg)")
        ax.set_xlabel("time (s)")
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        save(fig, path)
    return Result("E1", figure, "inside 3 sigma; NEES consistent; recovers after a 10 min outage",
                  ok_sigma and ok_nees and ok_recover, details, path)


# ---- M1 ---------------------------------------------------------------------------------------

M1_ORBITS = 10
M1_DT = 2.0  # s attitude / dumping cycle
M1_DISTURBANCE = 1e-5 * np.array([0.7, -0.45, 0.55]) / np.linalg.norm([0.7, -0.45, 0.55])  # N m, body axes
M1_K_DUMP = 0.01  # 1/s: unloading time constant ~100 s across the field
M1_LIMIT = 0.5  # fraction of the wheel capacity


@scenario("M1", "constant 1e-5 N m disturbance, 10 orbits, magnetic dumping",
          "wheel momentum < %.0f%% of capacity" % (100 * M1_LIMIT))
def m1(runs, plots, seed):
    rng = np.random.default_rng(seed)
    gmst0 = rng.uniform(0, 2 * np.pi)
    q = world.qexp(rng.normal(size=3))[None]
    q_ref = f32(q[0])  # inertial hold (e.g. sun pointing)
    w = np.zeros((1, 3))
    h = np.zeros((1, 3))
    tau, m = np.zeros(3, np.float32), np.zeros(3, np.float32)
    steps = int(round(M1_ORBITS * ORBIT.period / M1_DT))
    hist_h = np.zeros((steps + 1, 3))
    hist_m = np.zeros((steps + 1, 3))
    err = np.zeros(steps + 1)
    dist = M1_DISTURBANCE[None]
    for k in range(steps):
        t = k * M1_DT
        b_i = world.dipole_field(ORBIT.position(t + 0.5 * M1_DT), t + 0.5 * M1_DT, gmst0)
        b_meas = world.rotate_inv(q, b_i)[0] + rng.normal(scale=MAG_NOISE, size=3)
        h32 = f32(h[0])
        gnc.pd_control(f32(q[0]), f32(w[0]), q_ref, ZERO3, J32, h32, KP, KD, WHEEL_LIMITS, tau)
        gnc.dump_dipole(f32(b_meas), h32, M1_K_DUMP, M_MAX, m)
        tb, mb = tau.astype(float)[None], m.astype(float)[None]
        q, w, h = world.body_rk4(
            q, w, h, J, M1_DT, lambda qq, _w: (tb, dist + world.cross(mb, world.rotate_inv(qq, b_i))), Jinv=JINV)
        hist_h[k + 1], hist_m[k + 1] = h[0], mb[0]
        err[k + 1] = world.qangle(q[0], q_ref.astype(float)) / DEG
    frac = np.abs(hist_h).max() / H_MAX  # per-axis capacity
    frac_norm = np.linalg.norm(hist_h, axis=1).max() / H_MAX
    t_orb = np.arange(steps + 1) * M1_DT / ORBIT.period
    figure = "peak %.0f%% of capacity (|h| %.1f mN m s)" % (100 * frac, 1e3 * np.linalg.norm(hist_h, axis=1).max())
    details = {
        "peak_axis_fraction": float(frac), "peak_norm_fraction": float(frac_norm),
        "final_h_Nms": hist_h[-1].tolist(), "max_pointing_error_deg": float(err[100:].max()),
        "k_dump": M1_K_DUMP, "m_max_A_m2": M_MAX, "disturbance_Nm": M1_DISTURBANCE.tolist(),
        "no_dumping_would_reach_Nms": float(1e-5 * M1_ORBITS * ORBIT.period),
    }
    path = plot_file(plots, "M1")
    if path:
        plt = pyplot()
        fig, (ax, bx) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
        for i, c in enumerate("xyz"):
            ax.plot(t_orb, hist_h[:, i] * 1e3, lw=0.8, label="h" + c)
        ax.plot(t_orb, np.linalg.norm(hist_h, axis=1) * 1e3, "k", lw=0.8, label="|h|")
        for sign in (1, -1):
            ax.axhline(sign * M1_LIMIT * H_MAX * 1e3, color="tab:red", ls="--",
                       label="50% of capacity" if sign > 0 else None)
        ax.set_ylabel("wheel momentum (mN m s)")
        ax.set_title("M1 constant 1e-5 N m disturbance with magnetic dumping (capacity %.0f mN m s per wheel)"
                     % (H_MAX * 1e3))
        ax.legend(fontsize=8, ncol=5)
        ax.grid(True, alpha=0.3)
        for i, c in enumerate("xyz"):
            bx.plot(t_orb, hist_m[:, i], lw=0.5, label="m" + c)
        bx.axhline(M_MAX, color="tab:red", ls="--", label="dipole limit")
        bx.axhline(-M_MAX, color="tab:red", ls="--")
        bx.set_ylabel("commanded dipole (A m$^2$)")
        bx.set_xlabel("time (orbits)")
        bx.legend(fontsize=8, ncol=4)
        bx.grid(True, alpha=0.3)
        save(fig, path)
    return Result("M1", figure, "wheel momentum < %.0f%% of capacity" % (100 * M1_LIMIT), frac < M1_LIMIT,
                  details, path)
