"""R1 (square path) and R3 (slope-limited terrain) flown through the rover flight app from the ground.

R1: a 20 m x 20 m square from the start (0, 0) heading east, counter-clockwise back to the start,
once at each end of the 0.05-0.2 m/s range (drive.v_max set by param.set; drive.lookahead 0.5 m,
which also sets the app's arrival radius, lookahead / 4). Three corners by rover_nav.add_waypoint,
the last one by ST11: sched.insert releases rover_nav.add_waypoint 60 s into the drive, so the
route grows under the follower. The truth HK is raised to 5 Hz by hk.change_interval; the
cross-track is the distance of each truth (x, y) during DRIVE from the commanded polyline (start
and waypoints), computed on the ground (the app's own rover_truth.cross_track is measured from
the segment being followed, which jumps to the next leg before a corner). The end is the truth
position after the stop against the last waypoint. The gyro is a calibrated one (1 deg/h residual
bias, as the offline R1 model assumed); R2 judges the uncalibrated 10 deg/h case.

R3: three traverses on hw.moon's seeded terrain (the board's seed 1), each in a fresh SITL, the
route planned on the ground from the same terrain map (hw.moon.Terrain: an orbital map): straight
across the blocky mound (23-27 deg flanks) and across the ridge (30 deg across), which exceed
drive.slope_limit (20 deg), and over the broad hill (5-6 deg), which does not. Judged on the truth
HK at 5 Hz (rover_truth.slope, the slope under the rover, never at or above the limit), the
mobility HK (no sample with v > 0 while slope_ahead is at the limit) and the hazard stop events.
"""

import math
import sys

from hil.scenarios import Result, scenario
from hil.scenarios.rover_mission import (
    between,
    dropped,
    gap_max,
    open_mission,
    plot_file,
    pyplot,
    rms,
    save,
    truth_every,
    wait_drive_end,
)

R1_CRITERION = "cross-track RMS below 0.1 m, max below 0.3 m; last waypoint within 0.2 m"
R3_CRITERION = "never commands a move onto a slope above the limit"
SIDE = 20.0
SQUARE = ((SIDE, 0.0), (SIDE, SIDE), (0.0, SIDE), (0.0, 0.0))  # from (0, 0) heading east
R1_SPEEDS = (0.2, 0.05)  # m/s: drive.v_max, the two ends of GNC.md's range
LOOKAHEAD = 0.5  # m
GYRO_BIAS = math.radians(1.0) / 3600.0  # rad/s: a calibrated gyro's residual bias
SCHED_AFTER_S = 60  # the ST11-released waypoint joins the route this far into the drive
RMS_MAX, CT_MAX, END_MAX = 0.1, 0.3, 0.2
GAP_MAX = 1.0  # s: largest hole in the judged truth series that still counts as covered
SLOPE_LIMIT = 20.0  # deg: drive.slope_limit (its default, set explicitly)
SEED = 1  # the board's terrain seed (hw.rover.build's default)


def polyline_distance(x, y, points):
    best = float("inf")
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        dx, dy = bx - ax, by - ay
        ll = dx * dx + dy * dy
        t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / ll)) if ll > 0.0 else 0.0
        best = min(best, math.hypot(x - ax - t * dx, y - ay - t * dy))
    return best


def fly_square(v_max, runtime="cpython"):
    """R1 at one speed; returns the figures and the series they come from."""
    m = open_mission(runtime, {"start": [0.0, 0.0, 0.0], "imu": {"bias": GYRO_BIAS}})
    with m:
        m.send("param.set", "drive.v_max=%g" % v_max, "drive.lookahead=%g" % LOOKAHEAD)
        truth_every(m)
        m.send("time.set_time", "now")  # ST11 releases against a set clock
        for x, y in SQUARE[:-1]:
            m.send("rover_nav.add_waypoint", "%g" % x, "%g" % y)
        last = SQUARE[-1]
        m.send("sched.insert", "+%d" % SCHED_AFTER_S, "rover_nav.add_waypoint", "%g" % last[0], "%g" % last[1])
        m.send("rover_nav.drive")
        t0 = m.t
        t1 = wait_drive_end(m, flight_s=2.0 * 4 * SIDE / v_max + 600.0)
        m.run_for(3)  # stopped: the end position
        path = ((0.0, 0.0),) + SQUARE
        xs = between(m.series("rover_truth", "x"), t0, t1)
        ys = between(m.series("rover_truth", "y"), t0, t1)
        ct = [polyline_distance(x, y, path) for (_, x), (_, y) in zip(xs, ys)]
        end = m.hk("rover_truth")
        done = m.event("rover_route_done")
        out = {
            "v_max": v_max,
            "runtime": runtime,
            "done": done is not None and done["data"]["aux"]["waypoints"] == len(SQUARE),
            "waypoints_max": max(v for _, v in m.series("rover_nav", "waypoints")),  # 4: ST11 added the last
            "rms_m": rms(ct),
            "max_m": max(ct) if ct else float("nan"),
            "end_m": math.hypot(end["x"] - last[0], end["y"] - last[1]),
            "samples": len(ct),
            "gap_max_s": gap_max(xs, t0, t1),
            "drive_s": t1 - t0,
            "dropped_bytes": dropped(m),
            "step_errors": m.hk("rover_mobility")["step_errors"],
            "rtf": m.real_time_factor(),
            "track": [(x, y) for (_, x), (_, y) in zip(xs, ys)],
            "ct": [(t, c) for (t, _), c in zip(xs, ct)],
            "t0": t0,
        }
        if runtime == "micropython":
            out["heap_peak"] = m.hk("obc")["heap_peak"]
    return out


def r1_ok(r):
    return (r["done"] and r["rms_m"] < RMS_MAX and r["max_m"] < CT_MAX and r["end_m"] < END_MAX
            and r["gap_max_s"] <= GAP_MAX and r["step_errors"] == 0)


@scenario("R1", "20 m square through the rover app at 0.2 and 0.05 m/s (one waypoint by ST11), 10 Hz", R1_CRITERION)
def r1(runs=1, plots=None, seed=0):
    out = [fly_square(v) for v in R1_SPEEDS]
    passed = all(r1_ok(r) for r in out)
    figure = "RMS %.3f m, max %.3f m, end %.3f m" % (max(r["rms_m"] for r in out), max(r["max_m"] for r in out),
                                                     max(r["end_m"] for r in out))
    details = {"runs": [{k: v for k, v in r.items() if k not in ("track", "ct")} for r in out]}
    path = plot_file(plots, "R1")
    if path:
        _plot_r1(path, out, passed)
    return Result("R1", figure, R1_CRITERION, passed, details, path)


def _plot_r1(path, out, passed):
    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5.5), gridspec_kw={"width_ratios": [1, 1.5]})
    px, py = zip(*(((0.0, 0.0),) + SQUARE))
    ax.plot(px, py, "k--", lw=1, label="commanded path")
    for r in out:
        tx, ty = zip(*r["track"])
        ax.plot(tx, ty, lw=1, label="truth at %.2f m/s" % r["v_max"])
        t, c = zip(*r["ct"])
        bx.plot([(v - r["t0"]) / 60.0 for v in t], c, lw=0.8,
                label="%.2f m/s: RMS %.3f m, max %.3f m, end %.3f m" % (r["v_max"], r["rms_m"], r["max_m"], r["end_m"]))
    ax.set_aspect("equal")
    ax.set_xlabel("east (m)")
    ax.set_ylabel("north (m)")
    ax.legend(fontsize=8)
    bx.axhline(CT_MAX, color="tab:red", ls="--", lw=1, label="max limit")
    bx.axhline(RMS_MAX, color="tab:orange", ls=":", lw=1, label="RMS limit")
    bx.set_xlabel("time since drive (min)")
    bx.set_ylabel("truth cross-track (m)")
    bx.legend(fontsize=8)
    for a in (ax, bx):
        a.grid(alpha=0.3)
    ax.set_title("R1 %s: truth HK (5 Hz) vs the commanded square" % ("PASS" if passed else "FAIL"))
    save(fig, path)


# ---- R3 ------------------------------------------------------------------------------------------

def terrain_map(seed=SEED):
    """The seeded terrain the emulator flies on, as the ground's map (hw.moon.Terrain)."""
    from ground import FIRMWARE_DIR
    from ground import runtimes

    for p in (str(FIRMWARE_DIR), str(runtimes.CPYTHON_SHIMS)):
        if p not in sys.path:
            sys.path.append(p)  # after the ground's own packages: nothing of theirs is shadowed
    from hw.moon import Terrain

    return Terrain(seed)


def traverses(ter):
    """(name, start (x, y, psi), goal (x, y), steep) per traverse, from the map's features."""
    m = ter.mounds
    out = []
    for name, i, half, steep in (("over the hill", 0, 60.0, False), ("into the block", 7, 25.0, True),
                                 ("across the ridge", 14, 25.0, True)):
        cx, cy, cs, sn = m[i], m[i + 1], m[i + 3], m[i + 4]
        ux, uy = (-sn, cs) if name == "across the ridge" else (cs, sn)  # across the ridge's long axis
        start = (cx - half * ux, cy - half * uy, math.atan2(uy, ux))
        out.append((name, start, (cx + half * ux, cy + half * uy), steep))
    return out


def fly_traverse(name, start, goal, runtime="cpython"):
    m = open_mission(runtime, {"start": list(start)})
    with m:
        m.send("param.set", "drive.slope_limit=%g" % SLOPE_LIMIT)
        truth_every(m)
        m.send("rover_nav.add_waypoint", "%g" % goal[0], "%g" % goal[1])
        m.send("rover_nav.drive")
        t0 = m.t
        t1 = wait_drive_end(m, flight_s=2.0 * math.hypot(goal[0] - start[0], goal[1] - start[1]) / 0.2 + 600.0)
        m.run_for(3)
        t2 = m.t
        slope = between(m.series("rover_truth", "slope"), t0, t2)
        xs = between(m.series("rover_truth", "x"), t0, t2)
        ys = between(m.series("rover_truth", "y"), t0, t2)
        mob = [p for t, p in m._series.get("rover_mobility", ()) if t0 <= t <= t2]
        stops = [e["data"]["aux"] for e in m.events("rover_hazard_stop")]
        end = m.hk("rover_truth")
        return {
            "path": name,
            "reached_end": m.event("rover_route_done") is not None,
            "hazard_stops": len(stops),
            "stop_slope_ahead_deg": [s["slope"] for s in stops],
            "stop_limit_deg": [s["limit"] for s in stops],
            "max_slope_under_deg": max(v for _, v in slope),
            "moves_at_limit": sum(1 for p in mob if p["v"] > 0.0 and p["slope_ahead"] >= SLOPE_LIMIT),
            "mobility_samples": len(mob),
            "end_to_goal_m": math.hypot(end["x"] - goal[0], end["y"] - goal[1]),
            "gap_max_s": gap_max(slope, t0, t1),
            "drive_s": t1 - t0,
            "dropped_bytes": dropped(m),
            "step_errors": m.hk("rover_mobility")["step_errors"],
            "rtf": m.real_time_factor(),
            "slope": [(t - t0, v) for t, v in slope],
            "track": [(x, y) for (_, x), (_, y) in zip(xs, ys)],
            "start": start,
            "goal": goal,
        }


def r3_ok(r, steep):
    return (r["max_slope_under_deg"] < SLOPE_LIMIT and r["moves_at_limit"] == 0 and r["gap_max_s"] <= GAP_MAX
            and r["step_errors"] == 0
            and (r["hazard_stops"] >= 1 and not r["reached_end"] if steep else r["reached_end"] and r["hazard_stops"] == 0))


@scenario("R3", "slope-limited terrain through the rover app: block, ridge (above the limit), hill", R3_CRITERION)
def r3(runs=1, plots=None, seed=0):
    ter = terrain_map()
    out, ok = [], True
    for name, start, goal, steep in traverses(ter):
        r = fly_traverse(name, start, goal)
        r["steep"] = steep
        ok = ok and r3_ok(r, steep)
        out.append(r)
    worst = max(r["max_slope_under_deg"] for r in out)
    figure = "max slope under %.1f deg (limit %.0f); %d stops" % (worst, SLOPE_LIMIT, sum(r["hazard_stops"] for r in out))
    details = {"slope_limit_deg": SLOPE_LIMIT, "runs": [{k: v for k, v in r.items() if k not in ("slope", "track")} for r in out]}
    path = plot_file(plots, "R3")
    if path:
        _plot_r3(path, ter, out, ok)
    return Result("R3", figure, R3_CRITERION, ok, details, path)


def _plot_r3(path, ter, out, passed):
    plt = pyplot()
    fig, axes = plt.subplots(2, len(out), figsize=(5 * len(out), 9))
    for j, r in enumerate(out):
        ax, bx = axes[0][j], axes[1][j]
        (sx, sy, _), (gx, gy) = r["start"], r["goal"]
        x0, x1 = min(sx, gx) - 15.0, max(sx, gx) + 15.0
        y0, y1 = min(sy, gy) - 15.0, max(sy, gy) + 15.0
        n = 60
        gxs = [x0 + (x1 - x0) * i / (n - 1) for i in range(n)]
        gys = [y0 + (y1 - y0) * k / (n - 1) for k in range(n)]
        grid = [[ter.slope(x, y) for x in gxs] for y in gys]
        im = ax.pcolormesh(gxs, gys, grid, cmap="viridis", vmin=0.0, vmax=30.0, shading="auto")
        ax.contour(gxs, gys, grid, levels=[SLOPE_LIMIT], colors="tab:red", linewidths=1)
        tx, ty = zip(*r["track"])
        ax.plot([sx, gx], [sy, gy], "w--", lw=1, label="route")
        ax.plot(tx, ty, "tab:orange", lw=2, label="truth")
        ax.set_aspect("equal")
        ax.set_title("%s: %s" % (r["path"], "arrived" if r["reached_end"] else "%d hazard stop(s)" % r["hazard_stops"]), fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        fig.colorbar(im, ax=ax, label="slope (deg); red: the limit")
        t, s = zip(*r["slope"])
        bx.plot(t, s, lw=1, label="truth slope under the rover (5 Hz)")
        bx.axhline(SLOPE_LIMIT, color="tab:red", ls="--", label="drive.slope_limit")
        bx.set_xlabel("time since drive (s)")
        bx.set_ylabel("slope (deg)")
        bx.set_title("max %.1f deg" % r["max_slope_under_deg"], fontsize=10)
        bx.grid(alpha=0.3)
        bx.legend(fontsize=8)
    fig.suptitle("R3 %s: slope-limited traverses through the rover app" % ("PASS" if passed else "FAIL"))
    save(fig, path)
