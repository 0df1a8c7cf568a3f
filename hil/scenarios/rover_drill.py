"""R5: drill to 1.5 m with an injected stall and an over-temperature.

Flight side (the C core through `native`): gnc.drill_step at 10 Hz with the measured torque,
motor current and housing temperature. Operator side (this scenario): start the drill, and
after a fault re-command it (write mode 1) once the drill is back up and the fault has
cleared: temperature 20 K under its limit, at least 10 s after the retract ended.

World side (numpy float64), the drill plant:
- auger torque while spinning = idle 1.5 N m + wall friction 4 N m per metre of depth +
  cutting 4 N m x the regolith hardness at the bit (1.0 loose to 0.3 m, 1.6 compacted to
  0.8 m, 2.4 ice-cemented below) x feed / nominal feed; re-drilling the part of the hole already
  cut costs 20% of the cutting torque; 0.2 N m measurement noise;
- motor current 0.4 A + torque / (8 N m/A), 0.02 A noise;
- housing temperature: 400 J/K heated by 15% of the shaft power (torque x 100 rpm) and any
  injected heat, losing 0.6 W/K to a -30 C environment; 0.2 K noise;
- the bit does not advance while the torque exceeds the motor's 30 N m stall torque.
Injected faults, one per attempt:
1. stall: a clast at a random depth (0.4-0.9 m) jams the auger: +30 N m over 2 mm of feed. The
   clast is dislodged when the drill retracts (the stall clears);
2. over-temperature: at a random depth (0.5-1.1 m) on the second attempt the auger binds in
   ice-cemented regolith: +250 W of friction heat while it spins (clears when it stops).
The third attempt reaches 1.5 m. A fault's onset is the first cycle whose measurement is past
its limit; the latency is the number of cycles from there to the first command with feed < 0.
"""

import math
import os

import numpy as np

import native as gnc
from hil.scenarios import Result, scenario

DT = 0.1  # s, 10 Hz
TORQUE_MAX, CURRENT_MAX, TEMP_MAX = 25.0, 4.0, 50.0  # N m, A, C
TARGET, FEED = 1.5, 0.002  # m, m/s
LIMITS = (TORQUE_MAX, CURRENT_MAX, TEMP_MAX, TARGET, FEED)
SPIN = 100.0 * 2 * math.pi / 60  # rad/s
HEAT_CAP, CONDUCTANCE, T_ENV, HEAT_FRACTION = 400.0, 0.6, -30.0, 0.15
STALL_TORQUE = 30.0
CLAST_TORQUE, CLAST_RAMP = 30.0, 0.002
BIND_HEAT = 250.0
RESTART_MARGIN, RESTART_WAIT = 20.0, 10.0  # K under TEMP_MAX, s after the retract
MAX_LATENCY = 1  # cycles
R5_CRITERION = "retract within one cycle each time; 1.5 m re-commanded"
MODES = ("idle", "drilling", "retracting", "done")


def hardness(z):
    return 1.0 if z < 0.3 else (1.6 if z < 0.8 else 2.4)


class DrillPlant:
    """The drill in the regolith: depth, hole, faults and housing temperature (float64)."""

    def __init__(self, rng, clast_depth, bind_depth):
        self.rng = rng
        self.z = 0.0  # bit depth, m
        self.cut = 0.0  # deepest point cut so far, m
        self.temp = T_ENV + 20.0  # C, the housing starts warm (heaters)
        self.clast = clast_depth  # None once dislodged
        self.bind_depth = bind_depth
        self.attempt = 0
        self.binding = False
        self.torque = 0.0

    def measure(self):
        current = 0.4 + self.torque / 8.0
        noise = self.rng.standard_normal(3) * (0.2, 0.02, 0.2)
        return np.array([self.torque + noise[0], current + noise[1], self.temp + noise[2]], dtype=np.float32)

    def step(self, feed, spin):
        """Apply one cycle's command [feed m/s, spin 0/1] over DT."""
        heat = 0.0
        torque = 0.0
        if spin:
            torque = 1.5 + 4.0 * self.z
            if feed > 0:
                fresh = self.z >= self.cut
                torque += 4.0 * hardness(self.z) * feed / FEED * (1.0 if fresh else 0.2)
            if self.clast is not None and self.z >= self.clast:
                torque += CLAST_TORQUE * min(1.0, (self.z - self.clast) / CLAST_RAMP)
            self.binding = self.binding or (self.attempt == 2 and self.z >= self.bind_depth)
            heat = HEAT_FRACTION * torque * SPIN + (BIND_HEAT if self.binding else 0.0)
        else:
            self.binding = False
        if feed < 0:
            if self.clast is not None and self.z > 0:
                self.clast = None  # retracting dislodges the clast
            self.z = max(0.0, self.z + feed * DT)
        elif feed > 0 and torque < STALL_TORQUE:
            self.z += feed * DT
            self.cut = max(self.cut, self.z)
        self.torque = torque
        self.temp += DT * (heat - CONDUCTANCE * (self.temp - T_ENV)) / HEAT_CAP


def run_drill(rng):
    plant = DrillPlant(rng, clast_depth=rng.uniform(0.4, 0.9), bind_depth=rng.uniform(0.5, 1.1))
    s = np.zeros(gnc.DRILL_SIZE, dtype=np.float32)
    limits = np.array(LIMITS, dtype=np.float32)
    cmd = np.zeros(2, dtype=np.float32)
    log = {k: [] for k in ("t", "z", "est", "torque", "current", "temp", "feed", "spin", "mode")}
    starts, faults = [], []
    idle_since = None
    t = 0.0
    for i in range(200000):
        mode = int(s[1])
        if mode == 3:
            break
        if mode == 0:  # operator: start, or re-command once the fault has cleared
            idle_since = t if idle_since is None else idle_since
            if plant.attempt == 0 or (t - idle_since >= RESTART_WAIT and plant.temp < TEMP_MAX - RESTART_MARGIN):
                s[1], s[2] = 1.0, 0.0
                plant.attempt += 1
                starts.append(t)
                idle_since = None
        meas = plant.measure()
        over = (meas[0] > TORQUE_MAX, meas[1] > CURRENT_MAX, meas[2] > TEMP_MAX)
        was = int(s[1])
        gnc.drill_step(s, meas, limits, DT, cmd)
        if was == 1 and any(over) and (not faults or faults[-1]["retract"] is not None):
            faults.append({"kind": "stall" if over[0] or over[1] else "over-temperature", "onset": i, "t": t,
                           "retract": None, "depth": plant.z})
        if faults and faults[-1]["retract"] is None and cmd[0] < 0:
            faults[-1]["retract"] = i
        for key, val in (("t", t), ("z", plant.z), ("est", float(s[0])), ("torque", float(meas[0])),
                         ("current", float(meas[1])), ("temp", float(meas[2])), ("feed", float(cmd[0])),
                         ("spin", float(cmd[1])), ("mode", int(s[1]))):
            log[key].append(val)
        plant.step(float(cmd[0]), cmd[1] > 0.5)
        t += DT
    log = {k: np.asarray(v) for k, v in log.items()}
    for f in faults:
        f["latency"] = None if f["retract"] is None else f["retract"] - f["onset"]
        # Measurements past the limit while the drill still fed downward (must be none).
        after = slice(f["onset"], f["retract"] if f["retract"] is not None else None)
        f["fed_after"] = int(np.sum(log["feed"][after] > 0))
    return {"log": log, "faults": faults, "starts": starts, "done": int(s[1]) == 3,
            "max_depth": float(log["z"].max()), "final_max_depth": float(log["z"][log["t"] >= starts[-1]].max())}


@scenario("R5", "drill to 1.5 m with an injected stall and an over-temperature", R5_CRITERION, default_runs=3)
def r5(runs, plots, seed):
    out = [run_drill(np.random.default_rng([seed, 5, k])) for k in range(runs)]
    kinds_ok = all([f["kind"] for f in r["faults"]] == ["stall", "over-temperature"] for r in out)
    latencies = [f["latency"] for r in out for f in r["faults"]]
    worst = max((x for x in latencies if x is not None), default=None)
    n_reached = sum(r["done"] and r["final_max_depth"] >= TARGET - 1e-4 for r in out)
    passed = (kinds_ok and None not in latencies and worst <= MAX_LATENCY and n_reached == runs
              and all(f["fed_after"] == 0 for r in out for f in r["faults"]))
    figure = "latency %s cycles (%d faults); 1.5 m %d/%d" % (
        "none" if worst is None else worst, len(latencies), n_reached, runs)
    details = {"runs": [{"faults": [{k: f[k] for k in ("kind", "t", "depth", "latency", "fed_after")}
                                    for f in r["faults"]], "attempts": len(r["starts"]), "done": r["done"],
                         "max_depth_m": r["final_max_depth"]} for r in out]}
    plot = _plot(plots, out[0], passed) if plots else None
    return Result("R5", figure, R5_CRITERION, passed, details, plot)


def _plot(plots, run, passed):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log, faults = run["log"], run["faults"]
    fig = plt.figure(figsize=(13, 12))
    gs = fig.add_gridspec(5, 2, height_ratios=[1, 1, 1, 0.8, 1.1])
    axes = [fig.add_subplot(gs[i, :]) for i in range(4)]
    t = log["t"] / 60.0
    ax, bx, cx, dx = axes
    ax.plot(t, log["z"], label="bit depth (plant)")
    ax.plot(t, log["est"], "--", lw=1, label="depth estimate (drill state)")
    ax.axhline(TARGET, color="tab:green", ls="--", label="target 1.5 m")
    ax.invert_yaxis()
    ax.set_ylabel("depth (m)")
    bx.plot(t, log["torque"], lw=0.7)
    bx.axhline(TORQUE_MAX, color="tab:red", ls="--", label="torque limit")
    bx.set_ylabel("torque (N m)")
    cx.plot(t, log["temp"], lw=0.8, color="tab:orange")
    cx.axhline(TEMP_MAX, color="tab:red", ls="--", label="temperature limit")
    cx.axhline(TEMP_MAX - RESTART_MARGIN, color="tab:gray", ls=":", label="re-command below")
    cx.set_ylabel("housing temperature (C)")
    dx.plot(t, log["feed"] * 1000.0, lw=1, color="k")
    dx.set_ylabel("feed command (mm/s)")
    dx.set_xlabel("time (min)")
    for a in axes:
        for f in faults:
            a.axvline(f["t"] / 60.0, color="tab:red" if f["kind"] == "stall" else "tab:orange", lw=1)
        for s in run["starts"]:
            a.axvline(s / 60.0, color="tab:green", ls=":", lw=1)
        a.grid(alpha=0.3)
        if a.get_legend_handles_labels()[0]:
            a.legend(loc="upper right", fontsize=8)
    ax.legend(loc="lower left", fontsize=8)
    ax.set_title("R5 %s: drill faults (red: stall, orange: over-temperature; green dotted: (re-)commanded)"
                 % ("PASS" if passed else "FAIL"))
    for j, f in enumerate(faults[:2]):
        zx = fig.add_subplot(gs[4, j])
        i0 = f["onset"]
        sel = slice(max(0, i0 - 8), i0 + 9)
        k = np.arange(sel.start, sel.stop) - i0
        key, limit, unit = ("torque", TORQUE_MAX, "N m") if f["kind"] == "stall" else ("temp", TEMP_MAX, "C")
        zx.plot(k, log[key][sel], "o-", ms=4, label="measured %s (%s)" % (key, unit))
        zx.axhline(limit, color="tab:red", ls="--", lw=1)
        zy = zx.twinx()
        zy.step(k, log["feed"][sel] * 1000.0, "k", where="post", label="feed (mm/s)")
        zy.set_ylabel("feed command (mm/s)")
        zx.axvline(0, color="tab:red", lw=1)
        zx.set_xlabel("control cycle from the fault onset (0.1 s)")
        zx.set_title("%s at %.2f m: feed < 0 after %s cycle(s)" % (f["kind"], f["depth"], f["latency"]), fontsize=10)
        zx.legend(loc="upper left", fontsize=8)
        zy.legend(loc="lower left", fontsize=8)
        zx.grid(alpha=0.3)
    fig.tight_layout()
    out = os.path.join(plots, "R5.png")
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
