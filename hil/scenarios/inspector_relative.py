"""Inspector relative-motion scenarios G1, S1, A1 (GNC.md "Closed-loop scenarios").

Truth: exact two-body motion relative to the debris on its circular orbit (world.relative_*, float64).
Flight: CW targeting, safety ellipse, keep-out check and abort burn from the C core (`native`).
Plots use the usual rendezvous view: along-track (V-bar) across, radial (R-bar) up.

A1 aborts with a two-burn sequence (AbortSequence): gnc_abort_burn in the guidance cycle that detects
the anomaly, then gnc_abort_burn again a quarter orbit later, because near the V-bar a single drift-free
burn cannot give an e/i separation above the current |(x, z)| (~10.5 m here, gnc.h gnc_abort_burn) while
a quarter orbit later |(x, z)| has grown to ~1.5 x keep-out and the second burn gets an e/i separation
of that size, which no along-track drift (burn or navigation error) brings inside the keep-out.
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


A1_ABORT_SPACING = 0.25  # fraction of the orbit from abort burn 1 to abort burn 2
A1_ABORT_NAV_ERROR = S1_NAV_ERROR  # burn 2's state: 5% of range and of speed, random directions


class AbortSequence:
    """Two-burn abort: burn 1 in the guidance cycle that detects the anomaly, burn 2 a quarter orbit later.

    Both are gnc_abort_burn on the navigated state. Near the V-bar burn 1 only reaches an e/i separation of
    |(x, z)| (gnc.h: no single drift-free burn does better) but clears `radius` over the first orbit, with a
    cross-track amplitude of 1.5 radius; by the quarter orbit |(x, z)| has grown to ~1.5 radius and burn 2
    gets an e/i separation of that size that along-track drift cannot bring inside `radius`: the quadrature
    case (both amplitudes >= 1.5 radius) when the navigated |(x, z)| >= 1.5 radius, else gnc.h's |p0| case
    (the path keeps |(x, z)| >= |p0|, ~113 m at worst with the 5% navigation error, > radius).
    """

    def __init__(self, radius, spacing=A1_ABORT_SPACING * PERIOD):
        self.radius, self.spacing = radius, spacing
        self.t = []  # burn times (s)
        self.dv = []  # commanded delta-v (m/s, float64)
        self.unsafe = []  # GNC_EUNSAFE from gnc_abort_burn
        self.sep = []  # |(x, z)| of the navigated state at the burn (m)

    @property
    def done(self):
        return len(self.t) == 2

    def due(self, t):
        """True when the guidance cycle at t must burn (burn 2 at the first cycle >= burn 1 + spacing)."""
        return len(self.t) == 1 and t >= self.t[0] + self.spacing - 1e-9

    def burn(self, t, x_est):
        """gnc_abort_burn on the navigated state x_est (float32); returns the commanded delta-v (float64)."""
        dv = np.zeros(3, np.float32)
        unsafe = gnc.abort_burn(x_est, N_MEAN, self.radius, dv)
        self.t.append(t), self.dv.append(dv.astype(float)), self.unsafe.append(bool(unsafe))
        self.sep.append(float(np.hypot(x_est[0], x_est[2])))
        return dv.astype(float)


def _nav(rng, x):
    """The approach loop's relative navigation: truth plus A1_NAV_POS / A1_NAV_VEL Gaussian noise."""
    return f32(x + np.r_[rng.normal(scale=A1_NAV_POS, size=3), rng.normal(scale=A1_NAV_VEL, size=3)])


def _approach(rng, anomaly):
    """Guidance loop of the approach (and of the abort sequence); returns a log dict.

    Truth: world.relative_rk4 per cycle. Every burn gets a BURN_ERROR execution error.
    """
    x = np.r_[A1_HOLD0, 0.0, 0.0, 0.0]
    t_hop = A1_HOP * PERIOD
    dv1, dv2 = np.zeros(3, np.float32), np.zeros(3, np.float32)
    log = {"t": [], "x": [], "radius": [], "pred": []}
    t_detect = None
    abort = None
    arrived = False
    end = t_hop + 600.0  # the hop and 10 min at the hold (station keeping beyond is out of scope)
    k = 0
    while abort is not None or k * A1_GUIDE_DT <= end:
        t = k * A1_GUIDE_DT
        x_est = _nav(rng, x)
        tumble = A1_TUMBLE[1] if anomaly and t >= A1_ANOMALY_T else A1_TUMBLE[0]
        rate_meas = tumble + rng.normal(scale=A1_RATE_NOISE)
        if t_detect is None and rate_meas > A1_TUMBLE_LIMIT:
            t_detect = t
        radius = A1_KEEPOUT_ANOMALY if t_detect is not None else KEEPOUT_RADIUS
        if abort is not None and abort.due(t):
            # abort burn 2 from the navigated state with the 5% navigation error model (S1)
            r, v = np.linalg.norm(x[:3]), np.linalg.norm(x[3:])
            x_nav = f32(x + np.r_[_random_dirs(rng, 1, A1_ABORT_NAV_ERROR * r)[0],
                                  _random_dirs(rng, 1, A1_ABORT_NAV_ERROR * v)[0]])
            x[3:] += abort.burn(t, x_nav) + _random_dirs(rng, 1, BURN_ERROR)[0]
            log["x_burn2"] = x.copy()
            log["t"].append(t), log["x"].append(x.copy()), log["radius"].append(radius)
            log["pred"].append(np.nan)
            break
        if k == 0:
            gnc.cw_two_impulse(x_est, f32(A1_HOLD1), np.zeros(3, np.float32), N_MEAN, t_hop, dv1, dv2)
            x[3:] += dv1 + _random_dirs(rng, 1, BURN_ERROR)[0]
        elif not arrived and abort is None and t >= t_hop:
            # second burn: to the drift-free velocity at the arrival point (vy = -2 n x), so a radial
            # arrival miss leaves a small drift-free ellipse instead of a 6 n x along-track drift
            arrived = True
            v_hold = np.array([0.0, -2.0 * N_MEAN * float(x_est[0]), 0.0])
            x[3:] += v_hold - x_est[3:].astype(float) + _random_dirs(rng, 1, BURN_ERROR)[0]
            x_est = _nav(rng, x)
        pred, unsafe = gnc.keepout_check(x_est, N_MEAN, A1_HORIZON, A1_HORIZON_DT, radius)
        if unsafe and abort is None:
            # abort burn 1, in this guidance cycle
            abort = AbortSequence(radius)
            x[3:] += abort.burn(t, x_est) + _random_dirs(rng, 1, BURN_ERROR)[0]
            log["x_burn1"] = x.copy()
            log["i_burn1"] = len(log["t"])
        log["t"].append(t), log["x"].append(x.copy()), log["radius"].append(radius), log["pred"].append(pred)
        x = world.relative_rk4(x, N_MEAN, A1_GUIDE_DT)
        k += 1
    log = {k: (np.array(v) if isinstance(v, list) else v) for k, v in log.items()}
    log.update(t_detect=t_detect, abort=abort, t_abort=abort.t[0] if abort else None)
    return log


A1_CRITERION = "burn 1 in the detecting cycle; coast and 24 h drift after burn 2 outside keep-out"


@scenario("A1", "target tumble anomaly during approach: two-burn abort, Monte Carlo", A1_CRITERION,
          default_runs=10)
def a1(runs, plots, seed):
    rng = np.random.default_rng(seed)
    nominals, flown = [], []
    for _ in range(runs):
        nominals.append(_approach(rng, anomaly=False))
        flown.append(_approach(rng, anomaly=True))
    false_aborts = sum(nm["abort"] is not None for nm in nominals)
    seqs = [f["abort"] for f in flown]
    complete = [i for i, q in enumerate(seqs) if q is not None and q.done]
    # abort within one guidance cycle: burn 1 in the cycle that detected the anomaly
    latencies = [np.inf if q is None else q.t[0] - A1_ANOMALY_T for q in seqs]
    in_detecting_cycle = all(q is not None and f["t_detect"] is not None and q.t[0] == f["t_detect"]
                             for f, q in zip(flown, seqs))
    # passively safe: the coast between the burns and 24 h free drift after burn 2 outside the keep-out
    coast_min = np.full(runs, np.nan)
    drift_min = np.full(runs, np.nan)
    orbit1_min = np.full(runs, np.nan)  # one orbit after burn 1 alone (burn 2 missed)
    t = np.arange(0.0, DAY + 1.0, 5.0)
    one_orbit = t <= PERIOD
    drifts = {}
    for i in complete:
        f = flown[i]
        coast_min[i] = np.linalg.norm(f["x"][f["i_burn1"]:, :3], axis=1).min()
    if complete:
        d = world.relative_twobody(np.array([flown[i]["x_burn2"] for i in complete]), N_MEAN, t)
        d1 = world.relative_twobody(np.array([flown[i]["x_burn1"] for i in complete]), N_MEAN, t[one_orbit])
        for j, i in enumerate(complete):
            drifts[i] = d[:, j]
            drift_min[i] = np.linalg.norm(d[:, j, :3], axis=1).min()
            orbit1_min[i] = np.linalg.norm(d1[:, j, :3], axis=1).min()
    safe = (coast_min > A1_KEEPOUT_ANOMALY) & (drift_min > A1_KEEPOUT_ANOMALY)  # NaN compares False
    ok_latency = max(latencies) <= A1_GUIDE_DT and in_detecting_cycle
    passed = ok_latency and bool(safe.all()) and false_aborts == 0
    worst = int(np.nanargmin(np.fmin(coast_min, drift_min))) if complete else 0
    run, nominal = flown[worst], nominals[worst]
    drift = drifts.get(worst)
    dv_norm = np.array([[np.linalg.norm(dv) for dv in q.dv] + [np.nan] * (2 - len(q.dv)) if q else [np.nan] * 2
                        for q in seqs])
    figure = ("abort %.0f s after anomaly; dv1 %.3f-%.3f dv2 %.3f-%.3f m/s; 24 h min %.1f m (coast %.1f); "
              "%d/%d safe" % (max(latencies), np.nanmin(dv_norm[:, 0]), np.nanmax(dv_norm[:, 0]),
                              np.nanmin(dv_norm[:, 1]), np.nanmax(dv_norm[:, 1]), np.nanmin(drift_min),
                              np.nanmin(coast_min), int(safe.sum()), runs))
    details = {
        "runs": runs, "guidance_cycle_s": A1_GUIDE_DT, "anomaly_at_s": A1_ANOMALY_T,
        "abort_latency_max_s": float(max(latencies)), "burn1_in_detecting_cycle": bool(in_detecting_cycle),
        "abort_spacing_s": A1_ABORT_SPACING * PERIOD, "burn2_nav_error_fraction": A1_ABORT_NAV_ERROR,
        "runs_safe_24h": int(safe.sum()), "runs_sequence_complete": len(complete),
        "drift_24h_min_range_m": drift_min.tolist(), "coast_min_range_m": coast_min.tolist(),
        "burn1_only_first_orbit_min_range_m": orbit1_min.tolist(),
        "burn_times_s": [q.t if q else None for q in seqs],
        "burn_dv_m_s": [[dv.tolist() for dv in q.dv] if q else None for q in seqs],
        "burn_dv_norm_m_s": dv_norm.tolist(),
        "burn_eunsafe": [q.unsafe if q else None for q in seqs],
        "burn_nav_sep_xz_m": [q.sep if q else None for q in seqs],
        "keepout_nominal_m": KEEPOUT_RADIUS, "keepout_anomaly_m": A1_KEEPOUT_ANOMALY,
        "nominal_false_aborts": false_aborts,
        "nominal_min_predicted_range_m": float(min(np.nanmin(nm["pred"]) for nm in nominals)),
    }
    path = plot_file(plots, "A1")
    if path:
        plt = pyplot()
        fig = plt.figure(figsize=(13, 9))
        ax = fig.add_subplot(2, 1, 1)
        bx = fig.add_subplot(2, 2, 3)
        cx = fig.add_subplot(2, 2, 4)
        q = run["abort"]
        ib = run.get("i_burn1", len(run["t"]))
        ax.plot(nominal["x"][:, 1], nominal["x"][:, 0], color="0.6", label="nominal approach and hold")
        ax.plot(run["x"][:ib + 1, 1], run["x"][:ib + 1, 0], color="tab:blue", lw=2, zorder=3,
                label="approach until the abort")
        if drift is not None:
            ax.plot(drift[:, 1], drift[:, 0], color="tab:orange", lw=0.6, label="24 h free drift after burn 2")
            cx.plot(drift[:, 2], drift[:, 0], color="tab:orange", lw=0.6, label="24 h drift after burn 2")
        if q is not None and q.done:
            coast = run["x"][ib:]
            for a, j in ((ax, 1), (cx, 2)):
                a.plot(coast[:, j], coast[:, 0], color="tab:green", lw=2, zorder=3,
                       label="coast between the burns (T/4)")
                a.plot(run["x_burn1"][j], run["x_burn1"][0], "rx", ms=10, mew=2, zorder=4,
                       label="burn 1 (%.3f m/s)" % np.linalg.norm(q.dv[0]))
                a.plot(run["x_burn2"][j], run["x_burn2"][0], "m^", ms=9, zorder=4,
                       label="burn 2 (%.3f m/s)" % np.linalg.norm(q.dv[1]))
        for a in (ax, cx):
            keepout_circle(a, KEEPOUT_RADIUS)
            th = np.linspace(0, 2 * np.pi, 200)
            a.plot(A1_KEEPOUT_ANOMALY * np.cos(th), A1_KEEPOUT_ANOMALY * np.sin(th), "r--", lw=1,
                   label="anomaly keep-out %.0f m" % A1_KEEPOUT_ANOMALY)
            a.set_aspect("equal", adjustable="datalim")
            a.set_ylabel("radial x (m)")
            a.grid(True, alpha=0.3)
        ax.set_xlabel("along-track y (m)")
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlim(-450.0, 450.0)  # zoom on the target; the 24 h drift leaves along-track (range panel)
        ax.set_ylim(-200.0, 200.0)
        ax.set_title("A1 tumble anomaly at %.0f s (%.1f -> %.1f deg/s): burn 1 at %s s, burn 2 at %s s; closest "
                     "of %d runs: coast min %.1f m, 24 h min %.1f m (drift reaches %.1f km along-track)" % (
                         A1_ANOMALY_T, A1_TUMBLE[0], A1_TUMBLE[1], "%.0f" % q.t[0] if q else None,
                         "%.0f" % q.t[1] if q and q.done else None, runs, coast_min[worst], drift_min[worst],
                         np.abs(drift[:, 1]).max() / 1e3 if drift is not None else np.nan),
                     fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
        cx.set_xlabel("cross-track z (m)")
        cx.set_title("after the abort: radial vs cross-track", fontsize=10)
        cx.legend(fontsize=7, loc="lower right")
        if drift is not None:
            bx.plot((q.t[1] + t) / 3600, np.linalg.norm(drift[:, :3], axis=1), color="tab:orange",
                    label="free drift after burn 2")
        bx.plot(run["t"][:ib + 1] / 3600, np.linalg.norm(run["x"][:ib + 1, :3], axis=1), color="tab:blue",
                label="approach")
        if q is not None and q.done:
            bx.plot(run["t"][ib:] / 3600, np.linalg.norm(run["x"][ib:, :3], axis=1), color="tab:green",
                    label="coast between the burns")
            for tb, mk in zip(q.t, ("rx", "m^")):
                bx.axvline(tb / 3600, color=mk[0], lw=0.8, ls=":")
        bx.plot(nominal["t"] / 3600, np.linalg.norm(nominal["x"][:, :3], axis=1), color="0.6", label="nominal")
        bx.axhline(KEEPOUT_RADIUS, color="tab:red", label="keep-out %.0f m" % KEEPOUT_RADIUS)
        bx.axhline(A1_KEEPOUT_ANOMALY, color="tab:red", ls="--", label="anomaly keep-out")
        bx.set_xscale("symlog", linthresh=1.0)
        bx.set_xlim(0.0, (q.t[1] + DAY) / 3600 if q is not None and q.done else None)
        bx.set_yscale("log")
        bx.set_xlabel("time since the first burn (h, log above 1 h); dotted: abort burns 1 and 2")
        bx.set_ylabel("range to debris (m)")
        bx.legend(fontsize=7)
        bx.grid(True, which="both", alpha=0.3)
        save(fig, path)
    return Result("A1", figure, A1_CRITERION, passed, details, path)
