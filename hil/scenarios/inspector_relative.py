"""Inspector relative-motion scenarios G1, S1, A1 (GNC.md "Closed-loop scenarios").

Truth: exact two-body motion relative to the debris on its circular orbit (world.relative_*, float64).
Flight: CW targeting, safety ellipse, keep-out check and abort burn from the C core (`native`).
Plots use the usual rendezvous view: along-track (V-bar) across, radial (R-bar) up.
"""

import numpy as np

import native as gnc
from hil.scenarios import Result, scenario, world
from hil.scenarios.inspector_common import (
    DEBRIS_BOUNDING_RADIUS, ELLIPSE_A, ELLIPSE_C, ELLIPSE_PHASE, KEEPOUT_RADIUS, N_MEAN, PERIOD, f32,
    keepout_circle, plot_file, pyplot, save,
)

DAY = 86400.0
BURN_ERROR = 1e-3  # m/s, magnitude of the execution error of every burn

# ---- G1 ---------------------------------------------------------------------------------------

G1_TOL = 1e-3  # relative agreement of the float32 C delta-v with the float64 reference
# (name, x0, r_f, transfer time as a fraction of the orbit); every transfer ends at rest (a hold)
G1_CASES = (
    ("V-bar -500 m -> -100 m", (0, -500, 0, 0, 0, 0), (0, -100, 0), 0.40),
    ("V-bar -100 m -> -30 m", (0, -100, 0, 0, 0, 0), (0, -30, 0), 0.30),
    ("radial hop -100 m -> -50 m", (0, -100, 0, 0, 0, 0), (0, -50, 0), 0.49),
    ("V-bar -100 m -> R-bar +60 m", (0, -100, 0, 0, 0, 0), (60, 0, 0), 0.30),
    ("hop -100 m -> -40 m, 10 m cross-track", (0, -100, 0, 0, 0, 0), (0, -40, 10), 0.35),
)


@scenario("G1", "CW two-impulse transfers: holds and radial hops",
          "float32 C = float64 reference to %.0e relative; nonlinear miss reported" % G1_TOL)
def g1(runs, plots, seed):
    zero3 = np.zeros(3)
    rows = []
    for name, x0, r_f, frac in G1_CASES:
        x0 = np.array(x0, float)
        t = frac * PERIOD
        dv1, dv2 = np.zeros(3, np.float32), np.zeros(3, np.float32)
        gnc.cw_two_impulse(f32(x0), f32(r_f), f32(zero3), N_MEAN, t, dv1, dv2)
        ref1, ref2 = world.cw_two_impulse(x0, r_f, zero3, N_MEAN, t)
        c, ref = np.concatenate((dv1, dv2)), np.concatenate((ref1, ref2))
        rel = np.linalg.norm(c - ref) / np.linalg.norm(ref)
        te = np.linspace(0.0, t, 400)
        start = x0 + np.r_[0, 0, 0, dv1.astype(float)]
        truth = world.relative_twobody(start, N_MEAN, te)
        cw = np.array([world.cw_stm(N_MEAN, tt) @ start for tt in te])
        miss = np.linalg.norm(truth[-1, :3] - np.asarray(r_f, float))
        v_miss = np.linalg.norm(truth[-1, 3:] + dv2.astype(float))
        rows.append({"name": name, "t_s": t, "dv1": dv1.tolist(), "dv2": dv2.tolist(), "rel_err": float(rel),
                     "miss_m": float(miss), "arrival_velocity_error_m_s": float(v_miss),
                     "dv_total_m_s": float(np.linalg.norm(dv1) + np.linalg.norm(dv2)), "truth": truth, "cw": cw})
    try:
        gnc.cw_two_impulse(f32(G1_CASES[0][1]), f32(G1_CASES[0][2]), f32(zero3), N_MEAN, PERIOD,
                           np.zeros(3, np.float32), np.zeros(3, np.float32))
        guarded = False
    except gnc.GncError as exc:
        guarded = exc.code == gnc.ESINGULAR
    worst = max(r["rel_err"] for r in rows)
    worst_miss = max(r["miss_m"] for r in rows)
    figure = "max rel err %.1e; nonlinear miss <= %.2f m" % (worst, worst_miss)
    details = {"cases": [{k: v for k, v in r.items() if k not in ("truth", "cw")} for r in rows],
               "max_rel_err": worst, "max_miss_m": worst_miss, "singular_transfer_time_refused": guarded}
    path = plot_file(plots, "G1")
    if path:
        plt = pyplot()
        fig, (ax, bx) = plt.subplots(2, 1, figsize=(11, 9))
        for i, r in enumerate(rows):
            col = "C%d" % i
            lab = "%s (%.0f min, miss %.2f m)" % (r["name"], r["t_s"] / 60, r["miss_m"])
            ax.plot(r["truth"][:, 1], r["truth"][:, 0], color=col, label=lab)
            ax.plot(r["cw"][:, 1], r["cw"][:, 0], color=col, ls=":", lw=1)
            ax.plot(r["truth"][-1, 1], r["truth"][-1, 0], "o", color=col, ms=4)
            bx.plot(r["truth"][:, 1], r["truth"][:, 2], color=col, label=r["name"])
        for a in (ax, bx):
            keepout_circle(a, KEEPOUT_RADIUS)
            a.set_aspect("equal", adjustable="datalim")
            a.grid(True, alpha=0.3)
            a.set_xlabel("along-track y (m)")
        ax.set_ylabel("radial x (m)")
        ax.set_title("G1 CW two-impulse transfers: nonlinear two-body truth (solid), CW prediction (dotted); "
                     "max |dv_C - dv_ref| / |dv_ref| = %.1e" % worst, fontsize=9)
        ax.legend(fontsize=7, loc="lower left")
        bx.set_ylabel("cross-track z (m)")
        bx.legend(fontsize=7, loc="lower left")
        save(fig, path)
    return Result("G1", figure, "float32 C = float64 reference to %.0e relative; nonlinear miss reported" % G1_TOL,
                  worst <= G1_TOL, details, path)


# ---- S1 ---------------------------------------------------------------------------------------

S1_NAV_ERROR = 0.05  # fraction of the range / speed


def _random_dirs(rng, runs, magnitude):
    return world.random_unit(rng, runs) * np.reshape(magnitude, (-1, 1))


@scenario("S1", "24 h free drift on the safety ellipse, burn and navigation errors",
          "min range > keep-out %.0f m" % KEEPOUT_RADIUS, default_runs=100)
def s1(runs, plots, seed):
    rng = np.random.default_rng(seed)
    x_ell = np.zeros(6, np.float32)
    gnc.safety_ellipse(N_MEAN, ELLIPSE_A, ELLIPSE_C, ELLIPSE_PHASE, 0.0, x_ell)
    nominal = x_ell.astype(float)
    # Insertion: the chaser thinks it is at x_ell and burns to the ellipse velocity from its estimate;
    # the true state differs by the navigation error (5% of range and of speed) plus the burn error.
    r_n, v_n = np.linalg.norm(nominal[:3]), np.linalg.norm(nominal[3:])
    x0 = np.tile(nominal, (runs, 1))
    x0[:, :3] += _random_dirs(rng, runs, S1_NAV_ERROR * r_n)
    x0[:, 3:] += _random_dirs(rng, runs, S1_NAV_ERROR * v_n) + _random_dirs(rng, runs, BURN_ERROR)
    t = np.arange(0.0, DAY + 1.0, 5.0)
    truth = world.relative_twobody(x0, N_MEAN, t)  # (samples, runs, 6)
    rng_m = np.linalg.norm(truth[:, :, :3], axis=2)
    min_run = rng_m.min(axis=0)
    worst = int(np.argmin(min_run))
    # the flight prediction (C, CW, float32) of the nominal ellipse and of the worst run over 24 h
    pred_nominal, unsafe_nominal = gnc.keepout_check(x_ell, N_MEAN, DAY, 30.0, KEEPOUT_RADIUS)
    pred_worst, _ = gnc.keepout_check(f32(x0[worst]), N_MEAN, DAY, 30.0, KEEPOUT_RADIUS)
    passed = min_run.min() > KEEPOUT_RADIUS and not unsafe_nominal
    figure = "min range %.1f m over %d runs (keep-out %.0f m)" % (min_run.min(), runs, KEEPOUT_RADIUS)
    details = {
        "runs": runs, "min_range_m": float(min_run.min()), "median_min_range_m": float(np.median(min_run)),
        "ellipse": {"radial_m": ELLIPSE_A, "along_track_m": 2 * ELLIPSE_A, "cross_track_m": ELLIPSE_C,
                    "phase_deg": float(np.degrees(ELLIPSE_PHASE)), "state": nominal.tolist()},
        "keepout_radius_m": KEEPOUT_RADIUS, "debris_bounding_radius_m": DEBRIS_BOUNDING_RADIUS,
        "c_prediction_nominal_min_m": float(pred_nominal), "c_prediction_worst_run_min_m": float(pred_worst),
        "max_along_track_drift_m": float(np.abs(truth[-1, :, 1]).max()),
    }
    path = plot_file(plots, "S1")
    if path:
        plt = pyplot()
        fig = plt.figure(figsize=(13, 9))
        ax = fig.add_subplot(2, 2, 1)
        bx = fig.add_subplot(2, 2, 2)
        cx = fig.add_subplot(2, 1, 2)
        sel = truth[::6]
        for r in range(runs):
            ax.plot(sel[:, r, 1], sel[:, r, 0], color="tab:blue", lw=0.3, alpha=0.3)
            bx.plot(sel[:, r, 2], sel[:, r, 0], color="tab:blue", lw=0.3, alpha=0.3)
        ax.plot(sel[:, worst, 1], sel[:, worst, 0], color="k", lw=0.8, label="closest run")
        bx.plot(sel[:, worst, 2], sel[:, worst, 0], color="k", lw=0.8, label="closest run")
        for a, xl in ((ax, "along-track y (m)"), (bx, "cross-track z (m)")):
            keepout_circle(a, KEEPOUT_RADIUS)
            a.set_aspect("equal", adjustable="datalim")
            a.set_xlabel(xl)
            a.set_ylabel("radial x (m)")
            a.grid(True, alpha=0.3)
            a.legend(fontsize=8, loc="upper right")
        ax.set_aspect("auto")  # the along-track drift spans kilometres
        ax.set_ylim(-1.3 * np.abs(truth[:, :, 0]).max(), 1.3 * np.abs(truth[:, :, 0]).max())
        ax.set_title("S1 24 h free drift, %d runs (LVLH)" % runs, fontsize=10)
        bx.set_title("radial vs cross-track: the drift never crosses the V-bar", fontsize=10)
        lo, med = rng_m.min(axis=1), np.median(rng_m, axis=1)
        cx.fill_between(t / 3600, lo, rng_m.max(axis=1), color="tab:blue", alpha=0.2, label="all runs (min-max)")
        cx.plot(t / 3600, med, color="tab:blue", lw=0.8, label="median")
        cx.plot(t / 3600, lo, color="k", lw=0.8, label="minimum over runs")
        cx.axhline(KEEPOUT_RADIUS, color="tab:red", ls="--", label="keep-out %.0f m" % KEEPOUT_RADIUS)
        cx.set_yscale("log")
        cx.set_xlabel("time (h)")
        cx.set_ylabel("range to debris (m)")
        cx.set_title("ellipse %.0f m radial x %.0f m along-track, %.0f m cross-track; 5%% nav, 1 mm/s burn error: "
                     "min %.1f m" % (ELLIPSE_A, 2 * ELLIPSE_A, ELLIPSE_C, min_run.min()), fontsize=10)
        cx.legend(fontsize=8)
        cx.grid(True, which="both", alpha=0.3)
        save(fig, path)
    return Result("S1", figure, "min range > keep-out %.0f m" % KEEPOUT_RADIUS, passed, details, path)


# ---- A1 ---------------------------------------------------------------------------------------

A1_GUIDE_DT = 1.0  # s guidance cycle (every 10th 10 Hz ADCS step)
A1_HOLD0 = (0.0, -120.0, 0.0)  # m, V-bar hold before the approach
A1_HOLD1 = (0.0, -60.0, 0.0)  # m, inspection hold
A1_HOP = 0.45  # transfer time, fraction of the orbit (a hop mostly radial, clear of the T/2 cross-track singularity)
A1_ANOMALY_T = 600.0  # s after the first burn: the stage starts venting and tumbling
A1_TUMBLE = (0.5, 4.0)  # deg/s, target tumble rate before / after the anomaly
A1_TUMBLE_LIMIT = 2.0  # deg/s: flight rule, above it the keep-out radius grows
A1_KEEPOUT_ANOMALY = 80.0  # m keep-out while the target vents / tumbles (the hop would come to 60 m)
A1_NAV_POS, A1_NAV_VEL, A1_RATE_NOISE = 0.1, 2e-4, 0.2  # m, m/s, deg/s (1 sigma) relative nav and tumble rate
A1_HORIZON, A1_HORIZON_DT = PERIOD, 10.0  # keep-out prediction over one orbit


def _approach(rng, anomaly):
    """Guidance loop of the approach; returns a log dict. Truth: world.relative_rk4 per cycle."""
    x = np.r_[A1_HOLD0, 0.0, 0.0, 0.0]
    t_hop = A1_HOP * PERIOD
    dv1, dv2 = np.zeros(3, np.float32), np.zeros(3, np.float32)
    dv = np.zeros(3, np.float32)
    log = {"t": [], "x": [], "radius": [], "pred": []}
    t_detect = t_abort = None
    arrived = False
    end = t_hop + 600.0  # the hop and 10 min at the hold (station keeping beyond is out of scope)
    k = 0
    while k * A1_GUIDE_DT <= end:
        t = k * A1_GUIDE_DT
        x_est = f32(x + np.r_[rng.normal(scale=A1_NAV_POS, size=3), rng.normal(scale=A1_NAV_VEL, size=3)])
        tumble = A1_TUMBLE[1] if anomaly and t >= A1_ANOMALY_T else A1_TUMBLE[0]
        rate_meas = tumble + rng.normal(scale=A1_RATE_NOISE)
        if t_detect is None and rate_meas > A1_TUMBLE_LIMIT:
            t_detect = t
        radius = A1_KEEPOUT_ANOMALY if t_detect is not None else KEEPOUT_RADIUS
        if k == 0:
            gnc.cw_two_impulse(x_est, f32(A1_HOLD1), np.zeros(3, np.float32), N_MEAN, t_hop, dv1, dv2)
            x[3:] += dv1 + _random_dirs(rng, 1, BURN_ERROR)[0]
        elif not arrived and t_abort is None and t >= t_hop:
            # second burn: to the drift-free velocity at the arrival point (vy = -2 n x), so a radial
            # arrival miss leaves a small drift-free ellipse instead of a 6 n x along-track drift
            arrived = True
            v_hold = np.array([0.0, -2.0 * N_MEAN * float(x_est[0]), 0.0])
            x[3:] += v_hold - x_est[3:].astype(float) + _random_dirs(rng, 1, BURN_ERROR)[0]
            x_est = f32(x + np.r_[rng.normal(scale=A1_NAV_POS, size=3), rng.normal(scale=A1_NAV_VEL, size=3)])
        pred, unsafe = gnc.keepout_check(x_est, N_MEAN, A1_HORIZON, A1_HORIZON_DT, radius)
        log["t"].append(t), log["x"].append(x.copy()), log["radius"].append(radius), log["pred"].append(pred)
        if unsafe and t_abort is None:
            gnc.abort_burn(x_est, N_MEAN, radius, dv)
            x[3:] += dv + _random_dirs(rng, 1, BURN_ERROR)[0]
            t_abort = t
            log["x_abort"] = x.copy()
            break
        x = world.relative_rk4(x, N_MEAN, A1_GUIDE_DT)
        k += 1
    log = {k: (np.array(v) if isinstance(v, list) else v) for k, v in log.items()}
    log.update(t_detect=t_detect, t_abort=t_abort, dv_abort=dv.astype(float).tolist())
    return log


@scenario("A1", "target tumble anomaly during approach: abort, Monte Carlo",
          "abort within one guidance cycle; 24 h free drift outside keep-out", default_runs=10)
def a1(runs, plots, seed):
    rng = np.random.default_rng(seed)
    nominals, flown = [], []
    for _ in range(runs):
        nominals.append(_approach(rng, anomaly=False))
        flown.append(_approach(rng, anomaly=True))
    false_aborts = sum(nm["t_abort"] is not None for nm in nominals)
    latencies = [np.inf if f["t_abort"] is None else f["t_abort"] - A1_ANOMALY_T for f in flown]
    aborted = [i for i, f in enumerate(flown) if f["t_abort"] is not None]
    t = np.arange(0.0, DAY + 1.0, 5.0)
    drift_min = np.full(runs, np.nan)
    drifts = {}
    if aborted:
        d = world.relative_twobody(np.array([flown[i]["x_abort"] for i in aborted]), N_MEAN, t)
        for j, i in enumerate(aborted):
            drifts[i] = d[:, j]
            drift_min[i] = np.linalg.norm(d[:, j, :3], axis=1).min()
    safe = drift_min > A1_KEEPOUT_ANOMALY  # NaN (no abort) compares False
    ok_latency = max(latencies) <= A1_GUIDE_DT
    passed = ok_latency and bool(safe.all()) and false_aborts == 0
    worst = int(np.nanargmin(drift_min)) if aborted else 0
    run, nominal = flown[worst], nominals[worst]
    drift = drifts.get(worst)
    figure = "abort <= %.0f s after anomaly; 24 h min range %.1f m; %d/%d safe" % (
        max(latencies), np.nanmin(drift_min) if aborted else float("nan"), int(safe.sum()), runs)
    one_orbit = t < PERIOD
    details = {
        "runs": runs, "guidance_cycle_s": A1_GUIDE_DT, "anomaly_at_s": A1_ANOMALY_T,
        "abort_latency_max_s": float(max(latencies)), "runs_safe_24h": int(safe.sum()),
        "drift_24h_min_range_m": drift_min.tolist(),
        "drift_first_orbit_min_range_m": [
            float(np.linalg.norm(drifts[i][one_orbit, :3], axis=1).min()) if i in drifts else None
            for i in range(runs)],
        "abort_dv_m_s": [f["dv_abort"] for f in flown],
        "keepout_nominal_m": KEEPOUT_RADIUS, "keepout_anomaly_m": A1_KEEPOUT_ANOMALY,
        "nominal_false_aborts": false_aborts,
        "nominal_min_predicted_range_m": float(min(nm["pred"].min() for nm in nominals)),
    }
    path = plot_file(plots, "A1")
    if path:
        plt = pyplot()
        fig = plt.figure(figsize=(13, 9))
        ax = fig.add_subplot(2, 1, 1)
        bx = fig.add_subplot(2, 2, 3)
        cx = fig.add_subplot(2, 2, 4)
        ax.plot(nominal["x"][:, 1], nominal["x"][:, 0], color="0.6", label="nominal approach and hold")
        ax.plot(run["x"][:, 1], run["x"][:, 0], color="tab:blue", lw=2, zorder=3, label="approach until the abort")
        if drift is not None:
            ax.plot(drift[:, 1], drift[:, 0], color="tab:orange", lw=0.6, label="24 h free drift after abort")
            ax.plot(run["x_abort"][1], run["x_abort"][0], "rx", ms=9, label="abort burn")
            cx.plot(drift[:, 2], drift[:, 0], color="tab:orange", lw=0.6)
        for a in (ax, cx):
            keepout_circle(a, KEEPOUT_RADIUS)
            th = np.linspace(0, 2 * np.pi, 200)
            a.plot(A1_KEEPOUT_ANOMALY * np.cos(th), A1_KEEPOUT_ANOMALY * np.sin(th), "r--", lw=1,
                   label="anomaly keep-out %.0f m" % A1_KEEPOUT_ANOMALY)
            a.set_aspect("equal", adjustable="datalim")
            a.set_ylabel("radial x (m)")
            a.grid(True, alpha=0.3)
        ax.set_xlabel("along-track y (m)")
        ax.set_title("A1 tumble anomaly at %.0f s (%.1f -> %.1f deg/s): abort at %s s; closest of %d runs, "
                     "24 h min range %.1f m" % (A1_ANOMALY_T, A1_TUMBLE[0], A1_TUMBLE[1], run["t_abort"], runs,
                                                 drift_min[worst]), fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
        cx.set_xlabel("cross-track z (m)")
        cx.set_title("after the abort: radial vs cross-track", fontsize=10)
        if drift is not None:
            bx.plot((run["t_abort"] + t) / 3600, np.linalg.norm(drift[:, :3], axis=1), color="tab:orange",
                    label="free drift after abort")
        bx.plot(run["t"] / 3600, np.linalg.norm(run["x"][:, :3], axis=1), color="tab:blue", label="approach")
        bx.plot(nominal["t"] / 3600, np.linalg.norm(nominal["x"][:, :3], axis=1), color="0.6", label="nominal")
        bx.axhline(KEEPOUT_RADIUS, color="tab:red", label="keep-out %.0f m" % KEEPOUT_RADIUS)
        bx.axhline(A1_KEEPOUT_ANOMALY, color="tab:red", ls="--", label="anomaly keep-out")
        bx.set_xlabel("time since the first burn (h)")
        bx.set_ylabel("range to debris (m)")
        bx.legend(fontsize=7)
        bx.grid(True, alpha=0.3)
        save(fig, path)
    return Result("A1", figure, "abort within one guidance cycle; 24 h free drift outside keep-out", passed,
                  details, path)
