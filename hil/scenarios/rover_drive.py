"""R1 (square path) and R3 (slope-limited terrain): the rover driving with the C core in the loop.

Flight side, every 0.1 s cycle (the C core through `native`): gnc.pure_pursuit on the
*estimated* pose, gnc.rover_odometry from wheel encoders and the gyro, gnc.rover_heading_fix
from a sun-sensor bearing every 30 s while the Sun clears the local horizon.

World side (numpy float64, except the pose itself, which the emulated hardware propagates
with gnc.rover_kinematics, the plant propagator of gnc.h): what the commanded wheel speeds
really do. Modelled imperfections:

- wheel slip per wheel: a mean slip plus a Gauss-Markov part (1% 1-sigma, 2 s correlation);
  the ground moves (1 - slip) times the wheel rim speed, the encoders see the rim speed. The
  flight software scales encoder speeds by (1 - 2%), the mean slip calibrated in drive tests;
  the true mean slip of each run is 2% +- 0.2% (1-sigma), so the calibration is imperfect;
- skid-steer yaw: the true instantaneous-centre expansion is 1.45 where the wheel-speed
  allocation assumes 1.35 (the rover turns ~7% slower than commanded);
- encoders: 2 mm/s white noise; gyro: 0.15 deg/sqrt(h) angle random walk and a residual
  bias (1 deg/h 1-sigma after the start-up calibration) the filter does not know;
- start: the heading known from a sun fix to 0.1 deg (1-sigma);
- sun sensor: bearing of the Sun in the body frame with 0.1 deg (1-sigma) noise (a fine sun
  sensor), and the Sun's azimuth from the ephemeris (Terrain.sun); no fix while the Sun is
  behind the local horizon.
Not modelled: sinkage, wheel-speed loop dynamics, pitch/roll coupling into the gyro.

R3's hazard camera reports, every cycle, the steepest terrain slope over the swath ahead (out
to 1 m, on the centre line and both wheel tracks) from the true pose; gnc.pure_pursuit gets it
as slope_ahead. R3 checks every cycle that no move (v > 0) is commanded with slope_ahead at or
past the limit, and that the ground under the rover's centre and four wheels after each cycle
stays under the limit. (With a centre-line-only camera, a rover meeting the ridge at an angle
put a front wheel on 15.2 deg: the swath matters.)

What R1's margin rests on: with pure dead reckoning the position error is a few tenths of a
percent of the distance, and the heading error matters most. With a 0.3 deg sun sensor (and
start heading) R1 fails for 2 of the seeds 0-7; with a 0.3% mean-slip calibration error it
passes seeds 0-9 but with a worst RMS of 0.096 m (both checked by hand). Fixes come every
30 s, under gnc_rover_heading_fix's 60 s threshold for learning the gyro bias: this gyro's
bias is calibrated, and a fix's noise over a 60 s baseline would be read as a bias error of
several deg/h.
"""

import math
import os

import numpy as np

import native as gnc
from hil.scenarios import Result, scenario
from hil.scenarios.terrain import Terrain

DT = 0.1  # s, 10 Hz control
TRACK = 0.8  # m, wheel track
CHI_TRUE, CHI_MODEL = 1.45, 1.35  # skid-steer ICR expansion factor: truth, assumed
SLIP_CAL, SLIP_CAL_ERROR = 0.02, 0.002  # calibrated mean slip (flight), its error (truth, 1-sigma)
SLIP_SIGMA, SLIP_TAU = 0.01, 2.0  # Gauss-Markov slip fluctuation per wheel
ENCODER_SIGMA = 0.002  # m/s
ARW = math.radians(0.15) / 60.0  # rad/sqrt(s)  (0.15 deg/sqrt(h))
BIAS_RESIDUAL = math.radians(1.0) / 3600.0  # rad/s, 1-sigma
HEADING0_SIGMA = math.radians(0.1)
SUN_SIGMA = math.radians(0.1)
FIX_PERIOD = 30.0  # s
SUN_AZ0 = math.radians(200.0)  # Sun azimuth at t = 0: toward the pole, the Sun at its highest (~2.5 deg)
# The heading random walk the filter assumes: the ARW plus the residual bias read as a random
# walk over one fix period (its heading error b T equals sigma sqrt(T) at T = FIX_PERIOD).
SIGMA_GYRO = math.sqrt(ARW ** 2 + BIAS_RESIDUAL ** 2 * FIX_PERIOD)
OMEGA_MAX = 0.3  # rad/s
LOOKAHEAD = 0.4  # m, pure-pursuit lookahead
SLOPE_LIMIT = math.radians(15.0)
HAZARD_RANGE = 1.0  # m, how far ahead the hazard camera reports the slope (over the wheel tracks)
WHEELBASE = 1.0  # m; with TRACK, where the wheels stand (R3 checks the slope under each)

_TERRAIN = None


def terrain():
    global _TERRAIN
    if _TERRAIN is None:
        _TERRAIN = Terrain()
    return _TERRAIN


def wrap(a):
    return (a + math.pi) % (2 * math.pi) - math.pi


class Rover:
    """One rover: the truth (pose, wheels, sensors) and the flight buffers (nav, path)."""

    def __init__(self, rng, path, v_max, t0=0.0, sun_az0=SUN_AZ0):
        self.rng = rng
        self.terrain = terrain()
        self.path = np.asarray(path, dtype=np.float32).ravel()
        self.n_points = self.path.size // 2
        x0, y0 = float(self.path[0]), float(self.path[1])
        psi0 = math.atan2(self.path[3] - y0, self.path[2] - x0)
        self.pose = np.array([x0, y0, psi0], dtype=np.float32)
        self.bias = rng.normal(0.0, BIAS_RESIDUAL)  # true gyro bias not yet compensated
        self.nav = np.array([x0, y0, wrap(psi0 + rng.normal(0.0, HEADING0_SIGMA)), 0.0, HEADING0_SIGMA ** 2],
                            dtype=np.float32)
        self.limits = np.array([v_max, OMEGA_MAX, LOOKAHEAD, SLOPE_LIMIT, 0.2], dtype=np.float32)
        self.cond = np.array([0.0, 1.0], dtype=np.float32)
        self.cmd = np.zeros(2, dtype=np.float32)
        self.index = 0
        self.done = 0
        self.slip_mean = SLIP_CAL + rng.normal(0.0, SLIP_CAL_ERROR)
        self.slip = np.full(2, self.slip_mean)
        self.t = t0
        self.sun_az0 = sun_az0
        self.last_fix = t0
        self.last_try = t0
        self.fixes = []

    def step(self):
        """One control cycle; returns (v_cmd, omega_cmd, slope_ahead) of this cycle."""
        x, y, psi = (float(v) for v in self.pose)
        slope_ahead = self.terrain.slope_ahead(x, y, psi, HAZARD_RANGE, width=TRACK)
        self.cond[0] = slope_ahead
        self.index, self.done = gnc.pure_pursuit(self.nav[:3], self.path, self.n_points, self.index, self.limits,
                                                 self.cond, self.cmd)
        v, omega = float(self.cmd[0]), float(self.cmd[1])
        # Wheel speed allocation (flight) and what the wheels do on the ground (truth).
        half = 0.5 * omega * CHI_MODEL * TRACK
        rim = np.array([v - half, v + half])
        a = math.exp(-DT / SLIP_TAU)
        self.slip = (self.slip_mean + a * (self.slip - self.slip_mean)
                     + SLIP_SIGMA * math.sqrt(1 - a * a) * self.rng.standard_normal(2))
        ground = rim * (1.0 - self.slip)
        v_true = 0.5 * (ground[0] + ground[1])
        w_true = (ground[1] - ground[0]) / (CHI_TRUE * TRACK)
        gnc.rover_kinematics(self.pose, v_true, w_true, DT)
        enc = (rim + ENCODER_SIGMA * self.rng.standard_normal(2)) * (1.0 - SLIP_CAL)
        gyro = w_true + self.bias + ARW / math.sqrt(DT) * self.rng.standard_normal()
        gnc.rover_odometry(self.nav, float(enc[0]), float(enc[1]), gyro, DT, SIGMA_GYRO)
        self.t += DT
        if self.t - self.last_try >= FIX_PERIOD - 1e-6:
            self.last_try = self.t
            self.sun_fix()
        return v, omega, slope_ahead

    def sun_fix(self):
        x, y = float(self.pose[0]), float(self.pose[1])
        az, el = Terrain.sun(self.t, az0=self.sun_az0)
        if el <= self.terrain.horizon(x, y, float(az))[0]:
            return  # the Sun is behind the local horizon: no fix
        bearing = wrap(float(az) - float(self.pose[2]) + self.rng.normal(0.0, SUN_SIGMA))
        gnc.rover_heading_fix(self.nav, wrap(float(az) - bearing), SUN_SIGMA ** 2, self.t - self.last_fix)
        self.last_fix = self.t
        self.fixes.append(self.t)


def cross_track(px, py, path):
    """Distance (m) from each point to the polyline `path` (n x 2)."""
    px = np.asarray(px)[:, None]
    py = np.asarray(py)[:, None]
    a = path[:-1]
    d = path[1:] - a
    t = np.clip(((px - a[:, 0]) * d[:, 0] + (py - a[:, 1]) * d[:, 1]) / np.sum(d * d, axis=1), 0.0, 1.0)
    return np.min(np.hypot(a[:, 0] + t * d[:, 0] - px, a[:, 1] + t * d[:, 1] - py), axis=1)


def drive(rover, t_max, stop_after=None):
    """Run cycles until done, t_max s, or the rover has stood still (moved less than 1 cm) for
    stop_after s. Returns a dict of arrays."""
    log = {k: [] for k in ("t", "x", "y", "psi", "nx", "ny", "npsi", "v", "omega", "slope_ahead")}
    window = int(round(stop_after / DT)) if stop_after else 0
    t_end = rover.t + t_max
    while rover.t < t_end:
        v, omega, slope_ahead = rover.step()
        x, y, psi = (float(q) for q in rover.pose)
        for key, val in (("t", rover.t), ("x", x), ("y", y), ("psi", psi), ("nx", float(rover.nav[0])),
                         ("ny", float(rover.nav[1])), ("npsi", float(rover.nav[2])), ("v", v), ("omega", omega),
                         ("slope_ahead", slope_ahead)):
            log[key].append(val)
        if rover.done:
            break
        if window and len(log["x"]) > window and (
                math.hypot(x - log["x"][-window - 1], y - log["y"][-window - 1]) < 0.01):
            break
    log = {k: np.asarray(v) for k, v in log.items()}
    # The steepest ground under the rover after each cycle: its centre and four wheels.
    c, s = np.cos(log["psi"])[:, None], np.sin(log["psi"])[:, None]
    along = 0.5 * WHEELBASE * np.array([0.0, 1.0, 1.0, -1.0, -1.0])
    across = 0.5 * TRACK * np.array([0.0, 1.0, -1.0, 1.0, -1.0])
    log["slope_here"] = np.max(rover.terrain.slope(log["x"][:, None] + along * c - across * s,
                                                   log["y"][:, None] + along * s + across * c), axis=1)
    return log


# ---- R1 ---------------------------------------------------------------------------------
R1_CORNER = (-45.0, -50.0)
R1_SIDE = 20.0
R1_SPEEDS = (0.05, 0.1, 0.2)


def r1_path():
    x0, y0 = R1_CORNER
    s = R1_SIDE
    return np.array([[x0, y0], [x0 + s, y0], [x0 + s, y0 + s], [x0, y0 + s], [x0, y0]])


R1_CRITERION = "cross-track RMS < 0.1 m, max < 0.3 m; end < 0.2 m"


@scenario("R1", "20 m x 20 m square at 0.05-0.2 m/s, 10 Hz", R1_CRITERION, default_runs=3)
def r1(runs, plots, seed):
    path = r1_path()
    logs = []
    for k in range(runs):
        rng = np.random.default_rng([seed, 1, k])
        v_max = R1_SPEEDS[k % len(R1_SPEEDS)]
        rover = Rover(rng, path, v_max)
        log = drive(rover, t_max=4 * 4 * R1_SIDE / v_max)
        xt = cross_track(log["x"], log["y"], path)
        log.update(v_max=v_max, xt=xt, rms=float(np.sqrt(np.mean(xt ** 2))), max=float(xt.max()),
                   end=float(math.hypot(log["x"][-1] - path[-1, 0], log["y"][-1] - path[-1, 1])),
                   done=bool(rover.done), fixes=list(rover.fixes))
        logs.append(log)
    rms = max(g["rms"] for g in logs)
    mx = max(g["max"] for g in logs)
    end = max(g["end"] for g in logs)
    passed = all(g["done"] for g in logs) and rms < 0.1 and mx < 0.3 and end < 0.2
    figure = "RMS %.3f m, max %.3f m, end %.3f m" % (rms, mx, end)  # worst of the runs
    details = {"runs": [{"v_max": g["v_max"], "rms_m": g["rms"], "max_m": g["max"], "end_m": g["end"],
                         "done": g["done"], "duration_s": float(g["t"][-1]), "fixes": len(g["fixes"])} for g in logs]}
    plot = _plot_r1(plots, path, logs, passed) if plots else None
    return Result("R1", figure, R1_CRITERION, passed, details, plot)


# ---- R3 ---------------------------------------------------------------------------------
# Traverses planned without a slope map: each crosses or passes a steep patch of the terrain.
R3_PATHS = (
    ("across the ridge", [(0.0, -52.0), (40.0, -14.0)]),
    ("past the block", [(-55.0, -24.0), (-35.0, -14.0), (-15.0, -12.0)]),
    ("into the crater", [(2.0, 8.0), (30.0, 28.0)]),
    ("over the hill", [(-55.0, 42.0), (-15.0, 22.0)]),
    ("around the mound", [(-22.0, 30.0), (-13.0, 32.0), (-12.0, 43.0), (-4.0, 48.0)]),
)
R3_V_MAX = 0.2


R3_CRITERION = "never commands a move onto a slope above the limit"


@scenario("R3", "slope-limited terrain", R3_CRITERION, default_runs=5)
def r3(runs, plots, seed):
    logs = []
    for k in range(runs):
        name, pts = R3_PATHS[k % len(R3_PATHS)]
        rng = np.random.default_rng([seed, 3, k])
        path = np.asarray(pts, dtype=float)
        rover = Rover(rng, path, R3_V_MAX)
        length = float(np.sum(np.hypot(*np.diff(path, axis=0).T)))
        log = drive(rover, t_max=length / R3_V_MAX * 3 + 120, stop_after=20.0)
        moving = log["v"] > 0.0
        log.update(name=name, path=path, done=bool(rover.done),
                   cmd_violations=int(np.sum(moving & (log["slope_ahead"] >= SLOPE_LIMIT))),
                   stand_violations=int(np.sum(log["slope_here"] > SLOPE_LIMIT)),
                   max_here=float(log["slope_here"].max()), cycles=int(log["t"].size))
        logs.append(log)
    cmd_bad = sum(g["cmd_violations"] for g in logs)
    stand_bad = sum(g["stand_violations"] for g in logs)
    max_here = max(g["max_here"] for g in logs)
    cycles = sum(g["cycles"] for g in logs)
    stopped = sum(not g["done"] for g in logs)
    passed = cmd_bad == 0 and stand_bad == 0
    figure = "%d moves onto >%.0f deg in %d cycles" % (cmd_bad, math.degrees(SLOPE_LIMIT), cycles)
    details = {"slope_limit_deg": math.degrees(SLOPE_LIMIT), "cycles": cycles, "stopped_short": stopped,
               "max_slope_under_deg": math.degrees(max_here),
               "runs": [{"path": g["name"], "reached_end": g["done"], "cmd_violations": g["cmd_violations"],
                         "stand_violations": g["stand_violations"], "max_slope_under_deg": math.degrees(g["max_here"]),
                         "stop": [float(g["x"][-1]), float(g["y"][-1])]} for g in logs]}
    plot = _plot_r3(plots, logs, passed) if plots else None
    return Result("R3", figure, R3_CRITERION, passed, details, plot)


# ---- plots ------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _slope_map(ax, ter, window=None):
    """Slope background (deg), the no-go contour at the limit, the permanently shadowed floor."""
    s = np.degrees(ter.slope_grid)
    im = ax.imshow(s, origin="lower", extent=ter.extent(), cmap="Greys", vmin=0, vmax=35, interpolation="bilinear")
    ax.contourf(ter.x, ter.y, s, [math.degrees(SLOPE_LIMIT), 90], colors="tab:red", alpha=0.35)
    ax.contour(ter.x, ter.y, s, [math.degrees(SLOPE_LIMIT)], colors="tab:red", linewidths=0.8)
    xs, ys, psr = ter.psr_mask()
    ax.contourf(xs, ys, psr.astype(float), [0.5, 1.5], colors="navy", alpha=0.35)
    if window:
        ax.set_xlim(window[0], window[1])
        ax.set_ylim(window[2], window[3])
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_aspect("equal")
    return im


def _plot_r1(plots, path, logs, passed):
    plt = _pyplot()
    ter = terrain()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(14, 6.5), gridspec_kw={"width_ratios": [1, 1.3]})
    x0, y0 = R1_CORNER
    im = _slope_map(ax, ter, (x0 - 3, x0 + R1_SIDE + 3, y0 - 3, y0 + R1_SIDE + 3))
    fig.colorbar(im, ax=ax, label="terrain slope (deg)", shrink=0.8)
    ax.plot(path[:, 0], path[:, 1], "k--", lw=1, label="planned path")
    ax.plot(path[:, 0], path[:, 1], "ks", ms=6, label="waypoints")
    for g in logs:
        ax.plot(g["x"], g["y"], lw=1.2, label="true path, %.2f m/s" % g["v_max"])
    ax.plot(logs[0]["nx"], logs[0]["ny"], ":", color="tab:blue", lw=1, label="estimate (first run)")
    ax.set_title("R1 square: true paths (errors of cm: see right)", fontsize=10)
    ax.legend(loc="center", fontsize=8)
    for g in logs:
        dist = np.concatenate(([0.0], np.cumsum(np.hypot(np.diff(g["x"]), np.diff(g["y"])))))
        bx.plot(dist, g["xt"], lw=1,
                label="%.2f m/s: RMS %.3f m, max %.3f m, end %.3f m" % (g["v_max"], g["rms"], g["max"], g["end"]))
    for corner in (1, 2, 3):
        bx.axvline(corner * R1_SIDE, color="k", ls=":", lw=0.8)
    bx.axhline(0.3, color="tab:red", ls="--", label="max criterion 0.3 m")
    bx.axhline(0.1, color="tab:orange", ls="--", label="RMS criterion 0.1 m")
    bx.set_xlabel("distance driven (m); dotted: corners")
    bx.set_ylabel("cross-track error, true position to path (m)")
    bx.set_title("R1 %s" % ("PASS" if passed else "FAIL"))
    bx.legend(fontsize=8)
    bx.grid(alpha=0.3)
    fig.tight_layout()
    out = os.path.join(plots, "R1.png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _plot_r3(plots, logs, passed):
    plt = _pyplot()
    ter = terrain()
    fig = plt.figure(figsize=(15, 8))
    ax = fig.add_axes([0.04, 0.08, 0.5, 0.85])
    bx = fig.add_axes([0.6, 0.55, 0.38, 0.38])
    cx = fig.add_axes([0.6, 0.08, 0.38, 0.38])
    im = _slope_map(ax, ter)
    fig.colorbar(im, ax=ax, label="terrain slope (deg)", shrink=0.7, pad=0.01)
    for i, g in enumerate(logs):
        color = "C%d" % i
        p = g["path"]
        ax.plot(p[:, 0], p[:, 1], "--", color=color, lw=1)
        ax.plot(p[:, 0], p[:, 1], "s", color=color, ms=5)
        outcome = "reached end" if g["done"] else "stopped"
        ax.plot(g["x"], g["y"], color=color, lw=2, label="%s: %s" % (g["name"], outcome))
        ax.plot(g["x"][-1], g["y"][-1], "X" if not g["done"] else "o", color=color, ms=10, mec="k")
        bx.plot(g["t"], np.degrees(g["slope_ahead"]), color=color, lw=1)
        bx.plot(g["t"], np.degrees(g["slope_here"]), color=color, lw=1, ls=":")
        cx.plot(g["t"], g["v"], color=color, lw=1)
    ax.set_title("R3: planned (dashed), driven (solid); red: slope > %.0f deg; blue: permanent shadow"
                 % math.degrees(SLOPE_LIMIT), fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    bx.axhline(math.degrees(SLOPE_LIMIT), color="tab:red", ls="--", label="slope limit")
    bx.set_ylabel("slope (deg): ahead (solid), under wheels (dotted)")
    bx.set_title("R3 %s: no move commanded at or past the limit" % ("PASS" if passed else "FAIL"))
    bx.legend(fontsize=8)
    bx.grid(alpha=0.3)
    cx.set_xlabel("time (s)")
    cx.set_ylabel("commanded speed v (m/s)")
    cx.grid(alpha=0.3)
    out = os.path.join(plots, "R3.png")
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
