"""R4 flown through the rover flight app (firmware/rover) in a SITL, from the ground.

A battery-only excursion into the permanently shadowed crater of hw.moon (rim radius 100 m at
(400, 0); the Sun at most 3 deg up): from light at (250, 0) east onto the PSR floor at (400, 0),
drill to 1.5 m there, measure the water-ice spectrum, and drive back out to (250, 0). The battery
starts at SOC0. Figures come from the app's own telemetry: the minimum state of charge is the
lowest rover_power.soc reported (1 Hz HK), and the truth HK (rover_truth.lit) shows the rover
really was in the shadow. The app's reserve logic (drive and drill refused when predicted to end
below power.reserve, a drive aborted when its prediction falls below it) is what is judged.

Importing this module registers every rover scenario, all flown through the app: R1 and R3
(rover_app_drive), R2 (rover_app_heading), R5 (rover_app_drill); rover_mission holds what they share.
"""

from ground.mission import Mission
from hil.scenarios import Result, scenario
from hil.scenarios.rover_mission import plot_file, pyplot, save

R4_CRITERION = "state of charge never below the 25% reserve"
RESERVE = 0.25
SOC0 = 0.7  # the drill on the floor is predicted (no sun, power.margin) to need ~0.3 of it
START = (250.0, 0.0, 0.0)
FLOOR = (400.0, 0.0)
DEPTH = 1.5


def fly(runtime="cpython", soc0=SOC0, depth=DEPTH, heap=None):
    """Fly the excursion; returns a dict of what the telemetry showed."""
    out = {}
    # heap: the 64-bit unix port needs about twice a board's heap (ground.mission.UNIX_PORT_HEAP)
    m = Mission("rover", runtime=runtime, scenario={"start": list(START), "battery": {"soc0": soc0}}, heap=heap)
    with m:
        m.send("rover_nav.add_waypoint", str(FLOOR[0]), str(FLOOR[1]))
        m.send("rover_nav.drive")
        m.run_until(lambda m: m.event("rover_route_done") or m.event("rover_route_aborted"), flight_s=3000)
        out["arrived"] = m.event("rover_route_done") is not None
        m.run_for(2)
        out["floor_lit"] = m.hk("rover_truth")["lit"]
        m.send("rover_drill.drill", "%g" % depth)
        m.run_until(lambda m: m.event("rover_drill_done") or m.event("rover_drill_retract"), flight_s=4000)
        out["drilled"] = m.event("rover_drill_done") is not None
        m.run_for(2)
        m.send("rover_spectrometer.measure", "32")
        try:  # measured in the cycle after the command (firmware/rover/app.py), then announced
            m.run_until(lambda m: m.event("rover_spectrum_ready"), flight_s=30)
        except AssertionError:
            pass  # reported as spectrum False
        out["spectrum"] = m.event("rover_spectrum_ready") is not None
        m.send("rover_nav.add_waypoint", str(START[0]), str(START[1]))
        m.send("rover_nav.drive")
        m.run_until(lambda m: len(m.events("rover_route_done")) >= 2 or m.event("rover_route_aborted"), flight_s=4000)
        out["returned"] = len(m.events("rover_route_done")) >= 2
        m.run_for(2)
        soc = m.series("rover_power", "soc")
        lit = m.series("rover_truth", "lit")
        out["soc_min"] = min(v for _, v in soc)
        out["soc_end"] = soc[-1][1]
        out["dark_s"] = sum(1 for _, v in lit if v == 0)  # 1 Hz reports in the shadow
        out["end_lit"] = m.hk("rover_truth")["lit"]
        out["heap_peak"] = m.hk("obc")["heap_peak"]
        out["cycle_us_max"] = m.hk("rover_mobility")["cycle_us_max"]
        out["flight_s"] = m.t
        t0 = soc[0][0]
        out["soc_series"] = [(t - t0, v) for t, v in soc]
        out["lit_series"] = [(t - t0, v) for t, v in lit]
    return out


@scenario("R4", "battery-only excursion into the PSR through the rover app: drive, drill 1.5 m, measure, return", R4_CRITERION)
def r4(runs=1, plots=None, seed=0):
    r = fly()
    ok = r["arrived"] and r["drilled"] and r["returned"] and r["dark_s"] > 0 and r["soc_min"] >= RESERVE
    figure = "min soc %.3f (%d s in shadow)" % (r["soc_min"], r["dark_s"])
    path = plot_file(plots, "R4")
    if path:
        _plot(path, r, ok)
    return Result("R4", figure, R4_CRITERION, ok, details={k: v for k, v in r.items() if not k.endswith("_series")}, plot=path)


def _plot(path, r, passed):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(11, 4.5))
    t, soc = zip(*r["soc_series"])
    ax.plot([v / 60.0 for v in t], soc, label="state of charge (rover_power HK)")
    ax.axhline(RESERVE, color="tab:red", ls="--", label="25% reserve")
    t, lit = zip(*r["lit_series"])
    ax.fill_between([v / 60.0 for v in t], 0.0, 1.0, where=[v == 0 for v in lit], color="0.85", step="post",
                    label="in shadow (truth HK)")
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("flight time (min)")
    ax.set_ylabel("state of charge")
    ax.set_title("R4 %s: min soc %.3f" % ("PASS" if passed else "FAIL", r["soc_min"]))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, path)


from hil.scenarios import rover_app_drill, rover_app_drive, rover_app_heading  # noqa: E402,F401 (R5; R1, R3; R2)
