"""The inspector scenarios (GNC.md D1 P1 E1 M1 G1 S1 A1) flown by the ground against the inspector
flight app (firmware/inspector) in a SITL: CPython with the C core by default, or the MicroPython
unix port (`runtime="micropython"`). Every figure comes from the app's own telemetry: its HK
(inspector_truth is the emulator's truth, which is what the criteria are judged by), its events
and its verification reports. Ground-side references (float64 CW targeting, nonlinear two-body
motion) come from hil/offline/world.py; D1 adds the C-loop Monte Carlo of hil/offline/detumble.py
as a labelled extra statistic.

Each `fly_*` function flies one scenario and returns a dict of what the telemetry showed; the
registered scenario judges it and draws its PNG from the telemetry series.
"""

import math

import numpy as np

from ground import dictionary as d
from ground.mission import Mission
from hil.offline import detumble, world
from hil.offline.plots import keepout_circle, plot_file, pyplot, save
from hil.scenarios import Result, scenario

DEG = math.pi / 180.0
KEEPOUT = 15.0  # m, gnc.keepout_radius default
QUIET_HK = ("inspector_camera", "inspector_power")  # not judged: off, fewer packets per flight second


def _mission(runtime, opts, heap=None):
    return Mission("inspector", runtime=runtime, scenario=opts, heap=heap)


def _start(m, extra_off=()):
    m.send("hk.disable_periodic", *(QUIET_HK + tuple(extra_off)))


def _ev_time(p):
    return p["time"]["coarse"] + p["time"]["fine"] / 65536.0


def _done_time(result):
    """On-board time of a command's last report (its completion)."""
    return max(_ev_time(p) for p in result.reports) if result.reports else None


def _aux(p):
    return p["data"]["aux"]


def _arr(m, hk, field):
    s = m.series(hk, field)
    return np.array([t for t, _ in s]), np.array([v for _, v in s], float)


def _truth(m, field):
    """EMULATOR TRUTH series against world time (the truth HK's own `time`)."""
    s = m._series.get("inspector_truth", ())
    return np.array([p["time"] for _, p in s]), np.array([p[field] for _, p in s], float)


def _runtime_info(m):
    a = m.hk("inspector_adcs") or {}
    return {"backend": d.inspector.BACKENDS.get(a.get("backend"), a.get("backend")), "cycle_us_max": a.get("cycle_us_max"),
            "real_time_factor": round(m.real_time_factor(), 1), "flight_s": round(m.t, 1)}


# ---- D1 ---------------------------------------------------------------------------------------

D1_LIMIT, D1_ORBITS = 0.5, 3.0
D1_CRITERION = "truth rate < %.1f deg/s within %.0f orbits (app run)" % (D1_LIMIT, D1_ORBITS)


def fly_d1(runtime="cpython", seed=0, heap=None):
    rng = np.random.default_rng(seed)
    axis = world.random_unit(rng, 1)[0]
    out = {"axis": axis.tolist(), "rate0_deg_s": 10.0}
    with _mission(runtime, {"w0": list(axis * 10.0 * DEG)}, heap) as m:
        _start(m, ("inspector_prop", "inspector_gnc"))
        t_cmd = _done_time(m.send("inspector_adcs.set_mode", "DETUMBLE"))
        period = 2 * math.pi / math.sqrt(3.986004418e14 / (6371.2e3 + 500e3) ** 3)
        m.run_until(lambda m: m.event("inspector_detumbled"), flight_s=D1_ORBITS * period + 60)
        ev = m.event("inspector_detumbled")
        t_ev = _ev_time(ev)
        m.run_for(5)
        t, rate = _truth(m, "rate")
        during = (t >= t_cmd) & (t <= t_ev)
        above = t[during & (rate >= D1_LIMIT)]
        settle_s = (above[-1] + 1.0 - t_cmd) if len(above) else 0.0
        out.update(period_s=period, t_command=t_cmd, t_detumbled=t_ev, detumbled_gyro_rate=_aux(ev)["rate"],
                   settle_s=float(settle_s), settle_orbits=float(settle_s / period),
                   truth_rate_at_exit=float(rate[during][-1]), series=(t - t_cmd, rate), **_runtime_info(m))
    return out


@scenario("D1", "B-dot detumbling from 10 deg/s through the app (plus a C-loop Monte Carlo)", D1_CRITERION, default_runs=100)
def d1(runs, plots, seed):
    r = fly_d1(seed=seed)
    settle, rates, period = detumble.monte_carlo(runs, seed)
    ok_mc = int(np.sum(settle <= D1_ORBITS))
    app_ok = r["settle_orbits"] <= D1_ORBITS and r["truth_rate_at_exit"] < D1_LIMIT
    figure = "app %.2f orbits; C-loop MC %d/%d runs" % (r["settle_orbits"], ok_mc, runs)
    details = {k: v for k, v in r.items() if k != "series"}
    details["monte_carlo_c_loop"] = {
        "what": "additional statistic, not the app: gnc.detumble_run (flight B-dot, loop in C) on world.py's field",
        "runs": runs, "passed_runs": ok_mc, "settle_orbits_p95": float(np.percentile(settle, 95)),
        "final_rate_max_deg_s": float(rates[-1].max())}
    path = plot_file(plots, "D1")
    if path:
        plt = pyplot()
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.6))
        t, rate = r["series"]
        ax.plot(t / period, rate, label="app run: truth rate (inspector_truth)")
        ax.axhline(D1_LIMIT, color="tab:red", ls="--", label="%.1f deg/s" % D1_LIMIT)
        ax.axvline(r["t_detumbled"] / period - r["t_command"] / period, color="k", ls=":", label="inspector_detumbled")
        ax.set_yscale("log")
        ax.set_xlabel("orbits since DETUMBLE")
        ax.set_ylabel("deg/s")
        ax.set_title("D1 app run (%s): below %.1f deg/s after %.2f orbits" % (r["backend"], D1_LIMIT, r["settle_orbits"]))
        ax.legend(fontsize=8)
        tt = np.arange(rates.shape[0]) * detumble.PERIOD_S / period
        lo, med, hi = np.percentile(rates, [0, 50, 100], axis=1)
        bx.fill_between(tt, lo, hi, alpha=0.3, label="min-max of %d runs" % runs)
        bx.plot(tt, med, label="median")
        bx.axhline(D1_LIMIT, color="tab:red", ls="--")
        bx.set_yscale("log")
        bx.set_xlabel("orbits")
        bx.set_title("extra statistic: C-loop Monte Carlo %d/%d" % (ok_mc, runs))
        bx.legend(fontsize=8)
        save(fig, path)
    return Result("D1", figure, D1_CRITERION, app_ok, details, path)


# ---- P1 ---------------------------------------------------------------------------------------

P1_TOL, P1_SETTLE, P1_MARGIN = 0.1, 300.0, 5.0
P1_SLEWS = (("z", 30.0), ("y", 180.0))
P1_CRITERION = "truth error < %.1f deg within %.0f s; no unwinding; h < cap" % (P1_TOL, P1_SETTLE)


def _path_deg(q):
    """Angle travelled along a series of attitudes (sum of the steps between samples), deg."""
    dots = np.abs(np.sum(q[1:] * q[:-1], axis=1))
    return float(np.sum(2 * np.arccos(np.clip(dots, 0, 1))) / DEG)


def fly_p1(runtime="cpython", slews=P1_SLEWS, heap=None):
    out = {"slews": []}
    with _mission(runtime, {}, heap) as m:
        _start(m, ("inspector_prop", "inspector_gnc"))
        m.send("inspector_adcs.set_mode", "SUN_POINT")
        m.run_for(200)  # settled on the Sun
        for axis, angle in slews:
            t_cmd = _done_time(m.send("inspector_adcs.slew", axis, "%g" % angle))
            m.run_until(lambda m: m.hk("inspector_truth")["time"] >= t_cmd + P1_SETTLE + 20, flight_s=P1_SETTLE + 200)
            t, err = _truth(m, "pointing_error")
            _, hf = _truth(m, "h_frac")
            q = np.stack([_truth(m, "true_q%d" % i)[1] for i in range(4)], axis=1)
            w = (t >= t_cmd) & (t <= t_cmd + P1_SETTLE + 20)
            above = t[w & (err >= P1_TOL)]
            settle = float(above[-1] + 1.0 - t_cmd) if len(above) else 0.0
            out["slews"].append({"axis": axis, "angle_deg": angle, "settle_s": settle,
                                 "error_end_deg": float(err[w][-1]), "path_deg": _path_deg(q[w]),
                                 "h_frac_max": float(hf[w].max()), "series": (t[w] - t_cmd, err[w], hf[w])})
        out.update(_runtime_info(m))
    for s in out["slews"]:
        s["settled"] = s["settle_s"] <= P1_SETTLE and s["error_end_deg"] < P1_TOL
        s["no_unwinding"] = s["path_deg"] <= abs(s["angle_deg"]) + P1_MARGIN
        s["wheels_within_limits"] = s["h_frac_max"] < 1.0
    return out


@scenario("P1", "30 deg and 180 deg slews through the app (inspector_adcs.slew)", P1_CRITERION)
def p1(runs, plots, seed):
    r = fly_p1()
    ok = all(s["settled"] and s["no_unwinding"] and s["wheels_within_limits"] for s in r["slews"])
    figure = "settled " + ", ".join("%.0f deg %.0f s" % (s["angle_deg"], s["settle_s"]) for s in r["slews"])
    details = {k: v for k, v in r.items() if k != "slews"}
    details["slews"] = [{k: v for k, v in s.items() if k != "series"} for s in r["slews"]]
    path = plot_file(plots, "P1")
    if path:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(10, 4.6))
        for s in r["slews"]:
            t, err, hf = s["series"]
            ax.plot(t, np.maximum(err, 1e-4), label="%.0f deg about %s: truth error (path %.1f deg, h %.0f%%)" % (
                s["angle_deg"], s["axis"], s["path_deg"], 100 * s["h_frac_max"]))
        ax.axhline(P1_TOL, color="tab:red", ls="--", label="%.1f deg" % P1_TOL)
        ax.axvline(P1_SETTLE, color="tab:red", ls=":")
        ax.set_yscale("log")
        ax.set_xlabel("s since the slew command")
        ax.set_ylabel("deg")
        ax.set_title("P1 slews flown by the app (%s)" % r["backend"])
        ax.legend(fontsize=8)
        save(fig, path)
    return Result("P1", figure, P1_CRITERION, ok, details, path)


# ---- E1 ---------------------------------------------------------------------------------------

E1_OFF_DEG = 5.0
E1_BIAS_DEG_H = 10.0
E1_OUTAGE = 600.0
E1_NEES_MAX = 12.59  # chi-square(6) 95% point: the time-averaged NEES of a consistent filter lies far below
E1_RECOVER = 60.0  # s after the star tracker is back: error at its pre-outage level again
E1_CRITERION = "on stars: err < 3 sig, NEES < %.1f; recovers <= %.0f s" % (E1_NEES_MAX, E1_RECOVER)


def _axis_errors(m):
    """Per-axis attitude error (deg, body) from the MEKF estimate (inspector_adcs) and the truth
    (inspector_truth) reported in the same second, with the 1-sigma the app reports."""
    a = {round(t): p for t, p in m._series.get("inspector_adcs", ())}
    rows = []
    for t, p in m._series.get("inspector_truth", ()):
        e = a.get(round(t))
        if e is None:
            continue
        qt = np.array([p["true_q%d" % i] for i in range(4)])
        qe = np.array([e["est_q%d" % i] for i in range(4)])
        err = world.qerror_vec(qt, qe) / DEG
        rows.append((p["time"], *err, e["sigma_x"], e["sigma_y"], e["sigma_z"], p["nees"], p["estimation_error"]))
    return np.array(rows)


def fly_e1(runtime="cpython", seed=0, heap=None):
    rng = np.random.default_rng(seed)
    off_axis, bias_axis = world.random_unit(rng, 2)
    q0 = world.qexp(off_axis * E1_OFF_DEG * DEG)
    bias = bias_axis * E1_BIAS_DEG_H * DEG / 3600.0
    # star tracker out from boot: the filter starts at its own initial estimate (identity), 5 deg off
    opts = {"q0": list(q0), "gyro_bias": list(bias), "star_dropout": True}
    out = {"initial_error_deg": E1_OFF_DEG, "gyro_bias_deg_h": E1_BIAS_DEG_H}
    with _mission(runtime, opts, heap) as m:
        _start(m, ("inspector_prop", "inspector_gnc"))
        m.send("inspector_adcs.set_mode", "SUN_POINT")
        m.run_for(300)  # sun sensor + magnetometer only
        t_star = _done_time(m.send("inspector_adcs.clear_faults", "star_tracker"))
        m.run_for(1200)
        t_out = _done_time(m.send("inspector_adcs.inject_fault", "star_tracker", "dropout", "1"))
        m.run_until(lambda m: m.hk("inspector_truth")["time"] >= t_out + E1_OUTAGE, flight_s=E1_OUTAGE + 60)
        t_back = _done_time(m.send("inspector_adcs.clear_faults", "star_tracker"))
        m.run_for(900)
        rows = _axis_errors(m)
        out.update(_runtime_info(m))
    t = rows[:, 0]
    err, sig, nees = rows[:, 1:4], rows[:, 4:7], rows[:, 7]
    # consistency per axis, as a filter's 3 sigma promises it: each axis inside its own 3 sigma in
    # 99.7% of reports if the covariance is right. (All three at once is only 99.2% for a perfect
    # filter, which left a 99% criterion a coin toss on a quarter hour of correlated reports.)
    axis_inside = np.abs(err) <= 3 * sig
    inside = np.all(axis_inside, axis=1)
    star = (t >= t_star + 10) & (t < t_out)  # on the star tracker, before the outage
    outage = (t >= t_out) & (t < t_back)
    first = (t < t_star)
    after = t >= t_back
    level = float(rows[star, 8].max())  # the error on stars before the outage
    back = t[after & (rows[:, 8] <= level)]  # first report at the pre-outage error level again
    recover = float(back[0] - t_back) if len(back) else float("inf")
    bad3 = t[after & ~inside]
    conv = t[first & (rows[:, 8] > 1.0)]
    out.update(
        t_star_on=t_star, t_outage=t_out, t_star_back=t_back,
        converged_below_1deg_s=float(conv[-1] + 1 - t[0]) if len(conv) else 0.0,
        star_inside_3sigma_frac=float(axis_inside[star].mean()), star_nees_mean=float(nees[star].mean()),
        star_error_max_deg=level,
        outage_inside_3sigma_frac=float(axis_inside[outage].mean()), outage_nees_mean=float(nees[outage].mean()),
        outage_error_max_deg=float(rows[outage, 8].max()), outage_sigma_max_deg=float(sig[outage].max()),
        sun_mag_inside_3sigma_frac=float(axis_inside[first].mean()), sun_mag_nees_mean=float(nees[first].mean()),
        recover_s=recover, after_inside_3sigma_frac=float(axis_inside[after].mean()),
        after_nees_mean=float(nees[after].mean()),
        after_last_outside_3sigma_s=float(bad3[-1] + 1 - t_back) if len(bad3) else 0.0, rows=rows)
    return out


@scenario("E1", "MEKF through the app: 5 deg off, 10 deg/h gyro bias, 10 min star-tracker outage", E1_CRITERION)
def e1(runs, plots, seed):
    r = fly_e1(seed=seed)
    ok = r["star_inside_3sigma_frac"] >= 0.99 and r["star_nees_mean"] < E1_NEES_MAX and r["recover_s"] <= E1_RECOVER
    figure = "3sig %.1f%%, NEES %.1f; back in %.0f s" % (100 * r["star_inside_3sigma_frac"], r["star_nees_mean"], r["recover_s"])
    details = {k: v for k, v in r.items() if k != "rows"}
    path = plot_file(plots, "E1")
    if path:
        plt = pyplot()
        rows = r["rows"]
        t = rows[:, 0]
        fig, (ax, bx) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
        for i, c in enumerate("xyz"):
            ax.plot(t, rows[:, 1 + i], lw=0.8, label="error %s (truth)" % c, color="C%d" % i)
            ax.plot(t, 3 * rows[:, 4 + i], lw=0.8, ls="--", color="C%d" % i)
            ax.plot(t, -3 * rows[:, 4 + i], lw=0.8, ls="--", color="C%d" % i)
        ax.set_ylim(-0.5, 0.5)
        ax.set_ylabel("deg (dashed: 3 sigma, app HK)")
        for a in (ax, bx):
            for x in (r["t_star_on"], r["t_outage"], r["t_star_back"]):
                a.axvline(x, color="k", ls=":")
        ax.set_title("E1 MEKF in the app (%s): star tracker on at %.0f s, out %.0f-%.0f s" % (
            r["backend"], r["t_star_on"], r["t_outage"], r["t_star_back"]))
        ax.legend(fontsize=8, ncol=3)
        bx.semilogy(t, np.maximum(rows[:, 7], 1e-3), lw=0.8, label="NEES (6 dof, truth HK)")
        bx.axhline(6, color="tab:green", ls="--", label="6 (expected)")
        bx.axhline(E1_NEES_MAX, color="tab:red", ls="--", label="chi2(6) 95%")
        bx.set_xlabel("world time (s)")
        bx.legend(fontsize=8)
        save(fig, path)
    return Result("E1", figure, E1_CRITERION, ok, details, path)


# ---- M1 ---------------------------------------------------------------------------------------

M1_TORQUE, M1_ORBITS, M1_LIMIT = 1e-5, 10.0, 0.5
M1_CRITERION = "truth wheel momentum < %.0f%% of capacity" % (100 * M1_LIMIT)


def fly_m1(runtime="cpython", orbits=M1_ORBITS, seed=0, heap=None):
    rng = np.random.default_rng(seed)
    tau = world.random_unit(rng, 1)[0] * M1_TORQUE
    out = {"disturbance_N_m": tau.tolist(), "orbits": orbits}
    with _mission(runtime, {"disturbance": list(tau)}, heap) as m:
        _start(m, ("inspector_prop", "inspector_gnc"))
        m.send("inspector_adcs.set_mode", "SUN_POINT")
        period = 2 * math.pi / math.sqrt(3.986004418e14 / (6371.2e3 + 500e3) ** 3)
        m.run_until(lambda m: m.hk("inspector_truth")["time"] >= orbits * period, flight_s=orbits * period + 100,
                    real_limit_s=orbits * period / 50 + 120)
        t, hf = _truth(m, "h_frac")
        out.update(period_s=period, h_frac_max=float(hf.max()), h_frac_last_orbit_max=float(hf[t >= t[-1] - period].max()),
                   series=(t / period, hf), **_runtime_info(m))
    return out


@scenario("M1", "constant 1e-5 N m disturbance for 10 orbits, dumping in the app", M1_CRITERION)
def m1(runs, plots, seed):
    r = fly_m1(seed=seed)
    ok = r["h_frac_max"] < M1_LIMIT
    figure = "peak %.1f%% of capacity (%.0f orbits)" % (100 * r["h_frac_max"], r["orbits"])
    details = {k: v for k, v in r.items() if k != "series"}
    path = plot_file(plots, "M1")
    if path:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(10, 4.2))
        t, hf = r["series"]
        ax.plot(t, 100 * hf, lw=0.8, label="largest wheel momentum (truth h_frac)")
        ax.axhline(100 * M1_LIMIT, color="tab:red", ls="--", label="50% of capacity")
        ax.set_xlabel("orbits")
        ax.set_ylabel("% of capacity")
        ax.set_title("M1 dumping in the app (%s), disturbance 1e-5 N m" % r["backend"])
        ax.legend(fontsize=8)
        save(fig, path)
    return Result("M1", figure, M1_CRITERION, ok, details, path)


# ---- G1 ---------------------------------------------------------------------------------------

G1_TOL = 1e-3
# legs flown one after the other: (hold point, transfer time s); the first from the V-bar at -300 m
# (V-bar -300 m -> -100 m, a radial hop -100 m -> -60 m over half an orbit, a V-bar hop -60 m -> -40 m)
G1_LEGS = (((0.0, -100.0, 0.0), 2000.0), ((0.0, -60.0, 0.0), 2834.0), ((0.0, -40.0, 0.0), 1200.0))
G1_CRITERION = "app burns = float64 CW reference to %.0e relative" % G1_TOL


def _est_state(m, t, n):
    """The app's relative estimate (inspector_gnc HK, 1 Hz) carried by the float64 CW solution from
    its report to flight time t (the command's execution): the state the app planned from."""
    t_hk, g = [(tt, p) for tt, p in m._series["inspector_gnc"] if tt <= t][-1]
    x = np.array([g[k] for k in ("r_x", "r_y", "r_z", "v_x", "v_y", "v_z")], float)
    return world.cw_stm(n, t - t_hk) @ x


def fly_g1(runtime="cpython", legs=G1_LEGS, heap=None):
    # relative navigation without noise and a 1e-6 m/s minimum impulse bit: what is compared is the
    # targeting and the burns, from an initial state the ground knows (the app's estimate in its HK)
    opts = {"rel_sigma_pos": 0.0, "rel_sigma_pos_frac": 0.0, "rel_sigma_vel": 0.0, "dv_min": 1e-6}
    out = {"legs": []}
    with _mission(runtime, opts, heap) as m:
        _start(m)
        m.send("inspector_adcs.set_mode", "TARGET_POINT")
        m.run_for(20)
        n = math.sqrt(3.986004418e14 / (6371.2e3 + 500e3) ** 3)
        for hold, T in legs:
            nb = len(m.events("inspector_burn"))
            t_cmd = _done_time(m.send("inspector_gnc.approach", *("%g" % v for v in hold), "%g" % T))
            x0 = _est_state(m, t_cmd, n)
            m.run_until(lambda m: len(m.events("inspector_burn")) >= nb + 2, flight_s=T + 120)
            m.run_for(5)
            b1, b2 = m.events("inspector_burn")[nb:nb + 2]
            dv1 = np.array([_aux(b1)["dv_" + c] for c in "xyz"], float)
            dv2 = np.array([_aux(b2)["dv_" + c] for c in "xyz"], float)
            r1, r2 = world.cw_two_impulse(x0, hold, np.zeros(3), n, T)
            rel = float(np.linalg.norm(np.r_[dv1, dv2] - np.r_[r1, r2]) / np.linalg.norm(np.r_[r1, r2]))
            # the same first burn against exact two-body motion (float64, world.relative_twobody)
            nl = world.relative_twobody(x0 + np.r_[0, 0, 0, dv1], n, np.array([0.0, T]))[-1]
            tt, rx = _truth(m, "r_x")
            ry, rz = _truth(m, "r_y")[1], _truth(m, "r_z")[1]
            i2 = np.searchsorted(tt, _ev_time(b2))
            emu = np.array([rx[min(i2, len(rx) - 1)], ry[min(i2, len(rx) - 1)], rz[min(i2, len(rx) - 1)]])
            out["legs"].append({"hold": hold, "t_s": T, "x0": x0.tolist(), "dv1": dv1.tolist(), "dv2": dv2.tolist(),
                                "ref_dv1": r1.tolist(), "ref_dv2": r2.tolist(), "rel_err": rel,
                                "twobody_miss_m": float(np.linalg.norm(nl[:3] - hold)),
                                "emulator_miss_m": float(np.linalg.norm(emu - hold)), "t_command": t_cmd})
        t, rx = _truth(m, "r_x")
        out["track"] = (rx, _truth(m, "r_y")[1])
        out["mode_end"] = m.hk("inspector_gnc")["mode"]
        out.update(_runtime_info(m))
    out["max_rel_err"] = max(leg["rel_err"] for leg in out["legs"])
    out["max_twobody_miss_m"] = max(leg["twobody_miss_m"] for leg in out["legs"])
    return out


@scenario("G1", "CW two-impulse transfers through the app (V-bar hold to close hold, radial hops)", G1_CRITERION)
def g1(runs, plots, seed):
    r = fly_g1()
    ok = r["max_rel_err"] <= G1_TOL
    figure = "max rel err %.1e; 2-body miss <= %.2f m" % (r["max_rel_err"], r["max_twobody_miss_m"])
    details = {k: v for k, v in r.items() if k != "track"}
    path = plot_file(plots, "G1")
    if path:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(10, 5))
        rx, ry = r["track"]
        ax.plot(ry, rx, lw=1, label="truth path (inspector_truth)")
        for i, leg in enumerate(r["legs"]):
            ax.plot(leg["hold"][1], leg["hold"][0], "o", label="hold %d: rel err %.1e, 2-body miss %.2f m" % (
                i + 1, leg["rel_err"], leg["twobody_miss_m"]))
        keepout_circle(ax, KEEPOUT)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("along-track y (m)")
        ax.set_ylabel("radial x (m)")
        ax.set_title("G1 transfers flown by the app (%s)" % r["backend"])
        ax.legend(fontsize=8)
        save(fig, path)
    return Result("G1", figure, G1_CRITERION, ok, details, path)


# ---- S1 ---------------------------------------------------------------------------------------

S1_HOURS_PER_RUN = 6.0  # default 1 run: 6 h of drift; --runs 4 is the criterion's full 24 h
S1_NAV_FRAC = 0.05
S1_BURN_ERROR = 1e-3  # m/s, delivered by a leak toward the debris after the insertion
S1_LEAK = 2e-5  # m/s^2
S1_ELLIPSE = ("50", "50", "90", "0", "1500")  # a, c, phase, y_c, transfer time
S1_CRITERION = "truth min range on the ellipse > keep-out %.0f m" % KEEPOUT


def fly_s1(runtime="cpython", hours=S1_HOURS_PER_RUN, heap=None):
    opts = {"rel0": [0.0, -100.0, 0.0, 0.0, 0.0, 0.0], "rel_sigma_pos_frac": S1_NAV_FRAC}
    out = {"drift_h": hours, "nav_sigma_frac": S1_NAV_FRAC, "burn_error_m_s": S1_BURN_ERROR}
    with _mission(runtime, opts, heap) as m:
        _start(m)
        m.send("inspector_adcs.set_mode", "TARGET_POINT")
        m.run_for(30)
        m.send("inspector_gnc.enter_ellipse", *S1_ELLIPSE)
        m.run_until(lambda m: len(m.events("inspector_burn")) >= 2 or m.event("inspector_abort"), flight_s=1700)
        t_in = _ev_time(m.events("inspector_burn")[-1])
        # the burn error: a leak toward the debris until it has cost 1 mm/s (prop HK dv_leaked)
        m.send("inspector_adcs.inject_fault", "thrusters", "leak", "%g" % S1_LEAK)
        m.run_until(lambda m: (m.hk("inspector_prop") or {}).get("dv_leaked", 0) >= S1_BURN_ERROR, flight_s=600)
        m.send("inspector_adcs.clear_faults", "thrusters")
        m.run_until(lambda m: m.hk("inspector_truth")["time"] >= t_in + hours * 3600, flight_s=hours * 3600 + 900,
                    real_limit_s=hours * 3600 / 50 + 120)
        t, rng_ = _truth(m, "range")
        on = t >= t_in
        out.update(t_insertion=t_in, dv_leaked=m.hk("inspector_prop")["dv_leaked"], min_range_m=float(rng_[on].min()),
                   aborts=len(m.events("inspector_abort")), mode_end=d.inspector.MODE_NAMES[m.hk("inspector_gnc")["mode"]],
                   track=(_truth(m, "r_x")[1][on], _truth(m, "r_y")[1][on], _truth(m, "r_z")[1][on]),
                   **_runtime_info(m))
    return out


@scenario("S1", "free drift on the safety ellipse (enter_ellipse) with 1 mm/s burn and 5% nav error", S1_CRITERION)
def s1(runs, plots, seed):
    r = fly_s1(hours=S1_HOURS_PER_RUN * runs)
    ok = r["min_range_m"] > KEEPOUT and r["aborts"] == 0
    figure = "min range %.1f m over %.0f h" % (r["min_range_m"], r["drift_h"])
    details = {k: v for k, v in r.items() if k != "track"}
    path = plot_file(plots, "S1")
    if path:
        plt = pyplot()
        fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 5))
        x, y, z = r["track"]
        ax.plot(y, x, lw=0.6)
        bx.plot(y, z, lw=0.6)
        for a, lab in ((ax, "radial x (m)"), (bx, "cross-track z (m)")):
            keepout_circle(a, KEEPOUT)
            a.set_aspect("equal", adjustable="datalim")
            a.set_xlabel("along-track y (m)")
            a.set_ylabel(lab)
        ax.set_title("S1 %.0f h on the ellipse (%s): min range %.1f m" % (r["drift_h"], r["backend"], r["min_range_m"]))
        save(fig, path)
    return Result("S1", figure, S1_CRITERION, ok, details, path)


# ---- A1 ---------------------------------------------------------------------------------------

A1_LEAK = 2e-3  # m/s^2 toward the debris: a thruster stuck open during the approach
A1_INJECT_AFTER = 300.0  # s after the first burn
A1_DRIFT = 5677.0  # s of drift judged after the abort (one orbit)
A1_CYCLE = 1.0  # s: a guidance cycle (one keep-out sweep of the step, gnc.h)
A1_CRITERION = "abort <= 1 guidance cycle after detection; drift > keep-out"


def fly_a1(runtime="cpython", drift_s=A1_DRIFT, heap=None):
    out = {"leak_m_s2": A1_LEAK}
    with _mission(runtime, {"rel0": [0.0, -100.0, 0.0, 0.0, 0.0, 0.0]}, heap) as m:
        _start(m)
        m.send("inspector_adcs.set_mode", "TARGET_POINT")
        m.run_for(30)
        m.send("inspector_gnc.approach", "0", "-30", "0", "1500")
        m.run_until(lambda m: m.event("inspector_burn"), flight_s=60)
        t_b1 = _ev_time(m.event("inspector_burn"))
        m.run_until(lambda m: m.t >= t_b1 + A1_INJECT_AFTER, flight_s=A1_INJECT_AFTER + 60)
        t_inj = _done_time(m.send("inspector_adcs.inject_fault", "thrusters", "leak", "%g" % A1_LEAK))
        m.run_until(lambda m: m.event("inspector_abort"), flight_s=1500)
        ab = m.event("inspector_abort")
        t_ab = _ev_time(ab)
        m.send("inspector_adcs.clear_faults", "thrusters")  # the ground isolates the leak
        t_clear = m.t
        m.run_until(lambda m: m.hk("inspector_truth")["time"] >= t_ab + drift_s, flight_s=drift_s + 300)
        burns = [p for p in m.events("inspector_burn") if _aux(p)["burn"] == 3]
        t, rng_ = _truth(m, "range")
        # detection: the first 1 Hz gnc HK after the injection whose sweep predicted the breach
        tg, unsafe = _arr(m, "inspector_gnc", "unsafe")
        after = t >= t_ab
        ok_before = tg[(tg < t_ab) & (unsafe == 0)]
        out.update(t_inject=t_inj, t_abort=t_ab, t_clear=t_clear, latency_from_injection_s=t_ab - t_inj,
                   abort_reason=d.inspector.ABORT_REASONS[_aux(ab)["reason"]], abort_safe=_aux(ab)["safe"],
                   abort_dv=_aux(ab)["dv"], predicted_min_range=_aux(ab)["min_range"],
                   abort_burn_time=_ev_time(burns[0]) if burns else None,
                   unsafe_reported_before_abort=bool(np.any((tg > t_inj) & (tg < t_ab) & (unsafe > 0))),
                   last_safe_report_before_abort_s=float(t_ab - ok_before[-1]),
                   min_range_after_abort_m=float(rng_[after].min()), drift_s=drift_s,
                   dv_leaked=m.hk("inspector_prop")["dv_leaked"],
                   track=(_truth(m, "r_x")[1], _truth(m, "r_y")[1], t >= t_ab), **_runtime_info(m))
    # the step flags the breach and the app aborts in that same 10 Hz cycle (abort event and the
    # abort burn's first pulse carry the cycle's time); no 1 Hz HK showed `unsafe` before it
    out["abort_in_detecting_cycle"] = (out["abort_burn_time"] is not None and out["abort_reason"] == "keepout"
                                       and not out["unsafe_reported_before_abort"]
                                       and out["last_safe_report_before_abort_s"] <= A1_CYCLE + 0.05)
    return out


@scenario("A1", "thruster leak toward the debris during approach: autonomous abort", A1_CRITERION)
def a1(runs, plots, seed):
    r = fly_a1()
    ok = r["abort_in_detecting_cycle"] and r["min_range_after_abort_m"] > KEEPOUT
    figure = "abort %.1f s after safe HK; min range %.1f m" % (r["last_safe_report_before_abort_s"], r["min_range_after_abort_m"])
    details = {k: v for k, v in r.items() if k != "track"}
    path = plot_file(plots, "A1")
    if path:
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(10, 5))
        x, y, after = r["track"]
        ax.plot(y[~after], x[~after], lw=1, label="approach (truth)")
        ax.plot(y[after], x[after], lw=1, label="after the abort (truth)")
        keepout_circle(ax, KEEPOUT)
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("along-track y (m)")
        ax.set_ylabel("radial x (m)")
        ax.set_title("A1 leak %.0e m/s^2 (%s): abort %.1f s after injection, min range %.1f m" % (
            A1_LEAK, r["backend"], r["latency_from_injection_s"], r["min_range_after_abort_m"]))
        ax.legend(fontsize=8)
        save(fig, path)
    return Result("A1", figure, A1_CRITERION, ok, details, path)
