"""R5 flown through the rover flight app: drill to 1.5 m through an injected stall and an
over-temperature.

From the ground: rover_drill.drill 1.5; at 0.5 m (truth drill_depth) rover_mobility.inject_fault
drill stall; once the bit is out, clear_faults drill and drill 1.5 again; at 1.0 m inject
over_temperature (binding friction heat: the housing climbs past drill.temp_max); once out, clear
and drill 1.5 a third time, to the bottom. The drill HK is raised to 10 Hz (hk.change_interval)
so every control cycle's measurements and drill state reach the ground. Per fault, judged on:
- the rover_drill_retract event: its reason, and its `cycles` field (0: the retract was
  commanded in the cycle that measured the fault);
- the drill HK: no report whose measurement is past the limit while the state is still drilling,
  and the event's on-board time within one cycle (0.1 s) of the last drilling report;
- the truth HK (rover_truth.drill_depth): the bit never deeper after the event than in the first
  truth report after it (the plant moves only at the start of a cycle, so that report shows where
  the event's cycle left the bit).
"""

from hil.scenarios import Result, scenario
from hil.scenarios.rover_mission import between, dropped, event_time, gap_max, open_mission, plot_file, pyplot, save

R5_CRITERION = "retracts within one cycle each time"
TARGET = 1.5
FAULTS = (("stall", 0.5, (1, 2)), ("over_temperature", 1.0, (3,)))  # fault, depth to inject at, retract reasons
CYCLE_S = 0.1
DRILLING = 1
IDLE = 1


def _over(p, limits):
    return p["torque"] > limits["torque"] or p["current"] > limits["current"] or p["temp"] > limits["temp"]


def fly(runtime="cpython"):
    m = open_mission(runtime, {"start": [0.0, 0.0, 0.0]})
    with m:
        m.send("hk.change_interval", "rover_drill:100")
        m.send("hk.change_interval", "rover_truth:100")
        limits = {"torque": 25.0, "current": 4.0, "temp": 50.0}
        m.send("param.set", "drill.torque_max=%g" % limits["torque"], "drill.current_max=%g" % limits["current"],
               "drill.temp_max=%g" % limits["temp"])
        faults = []
        starts = []
        for fault, depth, reasons in FAULTS:
            m.send("rover_drill.drill", "%g" % TARGET)
            starts.append(m.t)
            m.run_until(lambda m: (m.hk("rover_truth") or {}).get("drill_depth", 0.0) >= depth, flight_s=2.0 * depth / 0.002 + 300)
            n = len(m.events("rover_drill_retract"))
            m.send("rover_mobility.inject_fault", "drill", fault, "1")
            t_inj = m.t
            m.run_until(lambda m: len(m.events("rover_drill_retract")) > n, flight_s=600)
            ev = m.events("rover_drill_retract")[n]
            t_ev = event_time(ev)
            a = ev["data"]["aux"]
            m.run_until(lambda m: (m.hk("rover_mobility") or {}).get("mode") == IDLE and m.hk("rover_drill")["state"] != 2,
                        flight_s=2.0 * TARGET / 0.002)
            m.send("rover_mobility.clear_faults", "drill")
            t_out = m.t
            drill = [(t, p) for t, p in m._series.get("rover_drill", ()) if t_inj <= t <= t_out]
            drilling = [t for t, p in drill if p["state"] == DRILLING]
            depth_truth = between(m.series("rover_truth", "drill_depth"), t_ev, t_out)
            # the plant moves only at the start of each 0.1 s cycle, so the first 10 Hz truth report
            # after the event shows the bit where the event's cycle left it
            at_event = next((v for t, v in m.series("rover_truth", "drill_depth") if t > t_ev), 0.0)
            faults.append({
                "fault": fault,
                "inject_depth_m": depth,
                "reason": a["reason"],
                "reason_ok": a["reason"] in reasons,
                "cycles": a["cycles"],
                "event_depth_m": a["depth"],
                "measured": {"torque": a["torque"], "current": a["current"], "temp": a["temp"]},
                "over_limit_while_drilling": sum(1 for _, p in drill if p["state"] == DRILLING and _over(p, limits)),
                "after_last_drilling_s": t_ev - max(drilling) if drilling else 0.0,
                "since_injection_s": t_ev - t_inj,
                "deeper_after_m": max((v for _, v in depth_truth), default=0.0) - at_event,
                "drill_gap_max_s": gap_max([(t, 0) for t, _ in drill], t_inj, t_ev),
                "t": t_ev,
            })
        m.send("rover_drill.drill", "%g" % TARGET)
        starts.append(m.t)
        m.run_until(lambda m: m.event("rover_drill_done") is not None, flight_s=2.0 * TARGET / 0.002 + 600)
        done = m.event("rover_drill_done")["data"]["aux"]
        m.run_for(2)
        t_end = m.t
        t0 = starts[0]
        series = {k: [(t - t0, p[k]) for t, p in m._series.get("rover_drill", ()) if t >= t0] for k in ("torque", "temp", "state")}
        return {
            "runtime": runtime,
            "limits": limits,
            "faults": faults,
            "done": True,
            "done_depth_m": done["depth"],
            "max_truth_depth_m": max(v for _, v in m.series("rover_truth", "drill_depth")),
            "holes": m.hk("rover_drill")["holes"],
            "drill_events": len(m.events("rover_drill_retract")),
            "dropped_bytes": dropped(m),
            "step_errors": m.hk("rover_mobility")["step_errors"],
            "rtf": m.real_time_factor(),
            "flight_s": t_end - t0,
            "depth": [(t - t0, v) for t, v in m.series("rover_truth", "drill_depth") if t >= t0],
            "series": series,
            "starts": [t - t0 for t in starts],
            "t0": t0,
        }


def fault_ok(f):
    return (f["reason_ok"] and f["cycles"] == 0 and f["over_limit_while_drilling"] == 0
            and f["after_last_drilling_s"] <= CYCLE_S + 0.005 and f["deeper_after_m"] <= 0.0 and f["drill_gap_max_s"] <= 0.2)


@scenario("R5", "drill to 1.5 m through the rover app with an injected stall and over-temperature", R5_CRITERION)
def r5(runs=1, plots=None, seed=0):
    r = fly()
    passed = (all(fault_ok(f) for f in r["faults"]) and r["done_depth_m"] >= TARGET - 0.01 and r["drill_events"] == len(FAULTS)
              and r["step_errors"] == 0)
    figure = "cycles %s; %.2f s to retract; done at %.2f m" % (
        "/".join(str(f["cycles"]) for f in r["faults"]), max(f["after_last_drilling_s"] for f in r["faults"]), r["done_depth_m"])
    path = plot_file(plots, "R5")
    if path:
        _plot(path, r, passed)
    details = {k: v for k, v in r.items() if k not in ("depth", "series")}
    return Result("R5", figure, R5_CRITERION, passed, details, path)


def _plot(path, r, passed):
    plt = pyplot()
    fig, (ax, bx, cx) = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    t, z = zip(*r["depth"])
    ax.plot([v / 60.0 for v in t], z, label="truth bit depth")
    ax.axhline(TARGET, color="tab:green", ls="--", label="target 1.5 m")
    ax.invert_yaxis()
    ax.set_ylabel("depth (m)")
    t, q = zip(*r["series"]["torque"])
    bx.plot([v / 60.0 for v in t], q, lw=0.6, label="torque (drill HK, 10 Hz)")
    bx.axhline(r["limits"]["torque"], color="tab:red", ls="--", label="drill.torque_max")
    bx.set_ylabel("torque (N m)")
    t, h = zip(*r["series"]["temp"])
    cx.plot([v / 60.0 for v in t], h, lw=0.8, color="tab:orange", label="housing temperature (drill HK)")
    cx.axhline(r["limits"]["temp"], color="tab:red", ls="--", label="drill.temp_max")
    cx.set_ylabel("temperature (C)")
    cx.set_xlabel("time since the first drill command (min)")
    for a in (ax, bx, cx):
        for f in r["faults"]:
            a.axvline((f["t"] - r["t0"]) / 60.0, color="tab:red", lw=1)
        for s in r["starts"]:
            a.axvline(s / 60.0, color="tab:green", ls=":", lw=1)
        a.grid(alpha=0.3)
        a.legend(fontsize=8, loc="upper right")
    ax.set_title("R5 %s: retract events (red) with cycles %s; drill commands (green dotted)"
                 % ("PASS" if passed else "FAIL", "/".join(str(f["cycles"]) for f in r["faults"])))
    save(fig, path)
