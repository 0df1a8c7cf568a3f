"""R2: gyro-only heading with a 10 deg/h bias for 1 h, then sun fixes.

The rover drives a 10 m box survey pattern (10 m legs at 0.1 m/s, 90 deg turns in place at
0.1 rad/s) for 90 min. Flight side (the C core through `native`): gnc.rover_odometry at 10 Hz
from the encoders and a gyro whose 10 deg/h bias (random sign) it does not know; from t = 1 h
on, gnc.rover_heading_fix with a sun-sensor bearing every 60 s (at 60 s the fix also corrects
the gyro bias). World side (numpy float64): the true heading, the gyro (bias plus 0.15
deg/sqrt(h) angle random walk; no bias drift), the sun sensor (bearing of the Sun in the body
frame, 0.1 deg 1-sigma, as rover_drive) and the Sun's azimuth from the ephemeris
(Terrain.sun); a fix is skipped while the Sun is behind the local horizon.

The filter's heading random walk sigma_gyro is set so its heading variance after the gyro-only
hour covers the unknown bias: sigma^2 * 1 h = (10 deg/h * 1 h)^2.
"""

import math
import os

import numpy as np

import native as gnc
from hil.scenarios import Result, scenario
from hil.scenarios.rover_drive import ARW, CHI_MODEL, DT, SUN_AZ0, SUN_SIGMA, TRACK, terrain, wrap
from hil.scenarios.terrain import Terrain

BIAS = math.radians(10.0) / 3600.0  # rad/s
GYRO_ONLY = 3600.0  # s
FIXES_FOR = 1800.0  # s of fixes after the gyro-only hour
FIX_PERIOD = 60.0  # s
SIGMA_GYRO = BIAS * math.sqrt(GYRO_ONLY)  # rad/sqrt(s)
BOX_CORNER = (-20.0, -20.0)
LEG, SPEED, TURN_RATE = 10.0, 0.1, 0.1  # m, m/s, rad/s
CRITERION_DEG = 2.0
R2_CRITERION = "heading error < 2 deg after the sun fixes start"


def box_profile(duration):
    """Truth of the box pattern sampled every DT: (t, v, omega, x, y, psi) arrays, float64."""
    t_leg, t_turn = LEG / SPEED, (math.pi / 2) / TURN_RATE
    n = int(round(duration / DT))
    t = np.arange(1, n + 1) * DT
    phase = np.mod(t - 0.5 * DT, t_leg + t_turn)  # mid-cycle, so each cycle is all leg or all turn
    driving = phase < t_leg
    v = np.where(driving, SPEED, 0.0)
    omega = np.where(driving, 0.0, TURN_RATE)
    psi = np.cumsum(omega) * DT
    x = BOX_CORNER[0] + np.cumsum(v * np.cos(psi)) * DT
    y = BOX_CORNER[1] + np.cumsum(v * np.sin(psi)) * DT
    return t, v, omega, x, y, psi


@scenario("R2", "gyro-only heading with 10 deg/h bias for 1 h, then sun fixes", R2_CRITERION, default_runs=10)
def r2(runs, plots, seed):
    ter = terrain()
    t, v, omega, x, y, psi = box_profile(GYRO_ONLY + FIXES_FOR)
    n_fix_from = int(round(GYRO_ONLY / DT))
    every = int(round(FIX_PERIOD / DT))
    half = 0.5 * omega * CHI_MODEL * TRACK
    v_left, v_right = (v - half).tolist(), (v + half).tolist()
    runs_out = []
    for k in range(runs):
        rng = np.random.default_rng([seed, 2, k])
        bias = BIAS * rng.choice((-1.0, 1.0))
        gyro = (omega + bias + ARW / math.sqrt(DT) * rng.standard_normal(t.size)).tolist()
        # Start heading from a sun fix at t = 0; nav's bias estimate 0 (the bias is unknown).
        nav = np.array([x[0], y[0], wrap(rng.normal(0.0, SUN_SIGMA)), 0.0, SUN_SIGMA ** 2], dtype=np.float32)
        err = np.empty(t.size)
        bias_err = np.empty(t.size)
        fixes = []
        last_fix = 0.0
        for i in range(t.size):
            gnc.rover_odometry(nav, v_left[i], v_right[i], gyro[i], DT, SIGMA_GYRO)
            if i + 1 >= n_fix_from and (i + 1 - n_fix_from) % every == 0:
                az, el = Terrain.sun(t[i], az0=SUN_AZ0)
                if el > ter.horizon(x[i], y[i], float(az))[0]:
                    bearing = wrap(float(az) - psi[i] + rng.normal(0.0, SUN_SIGMA))
                    gnc.rover_heading_fix(nav, wrap(float(az) - bearing), SUN_SIGMA ** 2, t[i] - last_fix)
                    last_fix = t[i]
                    fixes.append(t[i])
            err[i] = wrap(float(nav[2]) - psi[i])
            bias_err[i] = float(nav[3]) - bias
        after = t >= fixes[0] if fixes else np.zeros(t.size, bool)
        runs_out.append({"err": err, "bias_err": bias_err, "fixes": fixes, "bias": bias,
                         "before": float(abs(err[n_fix_from - 2])),
                         "after": float(np.max(np.abs(err[after]))) if fixes else float("inf")})
    worst_after = max(r["after"] for r in runs_out)
    worst_before = max(r["before"] for r in runs_out)
    passed = worst_after < math.radians(CRITERION_DEG) and all(r["fixes"] for r in runs_out)
    figure = "%.2f deg after fixes (%.1f deg before)" % (math.degrees(worst_after), math.degrees(worst_before))
    details = {"runs": [{"bias_deg_h": math.degrees(r["bias"]) * 3600, "before_deg": math.degrees(r["before"]),
                         "max_after_deg": math.degrees(r["after"]), "fixes": len(r["fixes"]),
                         "final_bias_error_deg_h": math.degrees(r["bias_err"][-1]) * 3600} for r in runs_out]}
    plot = _plot(plots, t, runs_out, passed) if plots else None
    return Result("R2", figure, R2_CRITERION, passed, details, plot)


def _plot(plots, t, runs_out, passed):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx, cx) = plt.subplots(3, 1, figsize=(12, 10), gridspec_kw={"height_ratios": [1.2, 1, 0.8]})
    tm = t / 60.0
    for k, r in enumerate(runs_out):
        lw = 1.4 if k == 0 else 0.6
        ax.plot(tm, np.degrees(r["err"]), lw=lw)
        bx.plot(tm, np.degrees(r["err"]), lw=lw)
        cx.plot(tm, np.degrees(r["bias_err"]) * 3600, lw=lw)
    first = runs_out[0]["fixes"]
    for a in (ax, bx, cx):
        if first:
            a.axvline(first[0] / 60.0, color="k", ls=":", lw=1)
        a.grid(alpha=0.3)
    t_fix = GYRO_ONLY / 60.0
    for a in (ax, bx):
        a.hlines([CRITERION_DEG, -CRITERION_DEG], t_fix, tm[-1], colors="tab:red", linestyles="--",
                 label="criterion +-%.0f deg after the fixes start" % CRITERION_DEG)
    ax.set_ylabel("heading error (deg)")
    ax.set_title("R2 %s: heading error, estimate - truth (%d runs; 10 deg/h gyro bias, sun fixes from 60 min)"
                 % ("PASS" if passed else "FAIL", len(runs_out)))
    ax.legend(loc="upper left", fontsize=8)
    bx.set_xlim(t_fix - 2, tm[-1])
    lim = max(2.5, 1.2 * max(np.degrees(np.max(np.abs(r["err"][t >= GYRO_ONLY]))) for r in runs_out))
    bx.set_ylim(-lim, lim)
    if first:
        bx.plot(np.asarray(first) / 60.0, np.zeros(len(first)), "k|", ms=14, label="sun fix instants (first run)")
    bx.set_ylabel("heading error (deg), zoom")
    bx.legend(loc="upper right", fontsize=8)
    cx.set_ylabel("gyro bias error (deg/h)")
    cx.set_xlabel("time (min)")
    fig.tight_layout()
    out = os.path.join(plots, "R2.png")
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
