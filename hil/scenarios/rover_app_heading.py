"""R2 flown through the rover flight app: one hour of gyro-only heading, then sun fixes.

The rover drives laps of a 20 m square at 0.1 m/s from (0, 0) with the emulated gyro's 10 deg/h
bias (scenario option imu.bias) while the sun sensor is out (rover_mobility.inject_fault
sun_sensor dropout): the app's heading runs on the gyro alone for an hour. Then the ground
clears the fault (rover_mobility.clear_faults sun_sensor) and the app fixes its heading on the Sun
whenever it lies in the sensor's field (the legs heading away from it get none). Judged on the
truth HK (rover_truth.heading_error, estimate minus truth, 1 Hz): the error reached after the hour
(the drift the fixes have to remove) and the largest error from the first fix to the end of the
route; the fixes counted by rover_nav.sun_fixes.
"""

import math

from hil.scenarios import Result, scenario
from hil.scenarios.rover_mission import between, dropped, gap_max, open_mission, plot_file, pyplot, save, wait_drive_end

R2_CRITERION = "heading error below 2 deg after fixes"
BIAS_DEG_H = 10.0
GYRO_ONLY_S = 3600.0
SPEED = 0.1  # m/s
SIDE = 20.0
LAPS = 6  # 2400 m... of which about 4.5 laps in the first hour
ERROR_MAX = 2.0  # deg
SETTLE_S = 1.0  # the first fix's cycle: judged from the next HK report on


def fly(runtime="cpython"):
    m = open_mission(runtime, {"start": [0.0, 0.0, 0.0], "imu": {"bias": math.radians(BIAS_DEG_H) / 3600.0}})
    with m:
        m.send("param.set", "drive.v_max=%g" % SPEED)
        m.send("rover_mobility.inject_fault", "sun_sensor", "dropout", "1")
        m.run_for(1.5)  # a nav HK report from after the injection
        fixes0 = m.hk("rover_nav")["sun_fixes"]
        for _ in range(LAPS):
            for x, y in ((SIDE, 0.0), (SIDE, SIDE), (0.0, SIDE), (0.0, 0.0)):
                m.send("rover_nav.add_waypoint", "%g" % x, "%g" % y)
        m.send("rover_nav.drive")
        t0 = m.t
        m.run_for(GYRO_ONLY_S)
        fixes_dark = m.hk("rover_nav")["sun_fixes"] - fixes0  # 0: the hour really was gyro-only
        m.send("rover_mobility.clear_faults", "sun_sensor")
        t1 = m.t
        before = m.hk("rover_truth")["heading_error"]
        n1 = m.hk("rover_nav")["sun_fixes"]
        m.run_until(lambda m: m.hk("rover_nav")["sun_fixes"] > n1, flight_s=3600)
        t_fix = m.series("rover_nav", "sun_fixes")[-1][0]
        t2 = wait_drive_end(m, flight_s=LAPS * 4 * SIDE / SPEED)
        m.run_for(2)
        err = m.series("rover_truth", "heading_error")
        after = between(err, t_fix + SETTLE_S, t2)
        return {
            "runtime": runtime,
            "bias_deg_h": BIAS_DEG_H,
            "fixes_in_dark_hour": fixes_dark,
            "before_deg": before,
            "max_before_deg": max(abs(v) for _, v in between(err, t0, t1)),
            "max_after_deg": max(abs(v) for _, v in after),
            "end_deg": after[-1][1],
            "fixes": m.hk("rover_nav")["sun_fixes"] - n1,
            "first_fix_s": t_fix - t1,
            "judged_s": t2 - t_fix - SETTLE_S,
            "bias_estimate_deg_h": m.hk("rover_nav")["gyro_bias"],
            "route_done": m.event("rover_route_done") is not None,
            "gap_max_s": gap_max(err, t0, t2),
            "dropped_bytes": dropped(m),
            "step_errors": m.hk("rover_mobility")["step_errors"],
            "rtf": m.real_time_factor(),
            "error": [(t - t0, v) for t, v in err if t >= t0],
            "sigma": [(t - t0, v) for t, v in m.series("rover_nav", "psi_sigma") if t >= t0],
            "t_clear": t1 - t0,
        }


@scenario("R2", "1 h gyro-only heading (10 deg/h bias, sun sensor out) through the rover app, then sun fixes", R2_CRITERION)
def r2(runs=1, plots=None, seed=0):
    r = fly()
    passed = (r["fixes_in_dark_hour"] == 0 and r["fixes"] > 0 and r["max_after_deg"] < ERROR_MAX and r["route_done"]
              and r["gap_max_s"] <= 2.0 and r["step_errors"] == 0)
    figure = "max %.2f deg after fixes (%.1f deg after 1 h)" % (r["max_after_deg"], abs(r["before_deg"]))
    path = plot_file(plots, "R2")
    if path:
        _plot(path, r, passed)
    return Result("R2", figure, R2_CRITERION, passed, {k: v for k, v in r.items() if k not in ("error", "sigma")}, path)


def _plot(path, r, passed):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(11, 5))
    t, e = zip(*r["error"])
    ax.plot([v / 60.0 for v in t], e, lw=1, label="truth heading error (estimate - truth)")
    t, s = zip(*r["sigma"])
    ax.plot([v / 60.0 for v in t], [3.0 * v for v in s], "k:", lw=1, label="3 sigma (rover_nav.psi_sigma)")
    ax.axvline(r["t_clear"] / 60.0, color="tab:green", lw=1, label="sun sensor back (clear_faults)")
    for y in (ERROR_MAX, -ERROR_MAX):
        ax.axhline(y, color="tab:red", ls="--", lw=1)
    ax.set_xlabel("time since drive (min)")
    ax.set_ylabel("heading error (deg)")
    ax.set_title("R2 %s: %s" % ("PASS" if passed else "FAIL", "max %.2f deg after fixes, %.1f deg after the gyro-only hour"
                                % (r["max_after_deg"], abs(r["before_deg"]))))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, path)
