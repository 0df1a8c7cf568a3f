"""`ground demo` (what `make demo` runs): both vehicles flown from the ground on the default
virtual board, with a session log a person can follow and the products written as files.

The inspector detumbles, points at the Sun and then at the debris, approaches a hold point,
images the debris (a PNG), enters its safety ellipse and aborts on an injected thruster leak.
The rover drives a waypoint route into a permanently shadowed crater, drills to 1.5 m,
downlinks a water-ice spectrum (CSV + PNG) and drives back into the light.

Each vehicle is the flight app on its board in a SITL (ground.mission: the MicroPython unix port
with the board's heap cap, firmware deployed as ROMFS) in virtual time: flight time runs as
fast as the host computes it, so an hour of a mission takes seconds. Every line shows the
wall-clock time, the board's flight time, and what the ground saw or did.
"""

import threading
import time
from pathlib import Path

from ground import transfer
from ground.mission import UNIX_PORT_HEAP
from ground.sitl import load_board

_T0 = time.monotonic()
# each vehicle's scenario in the session (also what `python -m hil.pico_emu profile` flies)
SCENARIOS = {"inspector": {"w0": [0.01, -0.015, 0.01], "rel0": [0.0, -150.0, 0.0, 0.0, 0.0, 0.0]},
             "rover": {"start": [300.0, 0.0, 0.0]}}
ARCHIVE = "archive.sqlite"  # every frame of the demo's passes (ground.archive), one session per vehicle
REPORT = "report"  # the passes' report (ground.report): report.md, its plots and the products again


_SAY = threading.Lock()  # whole lines, when both vehicles fly at once (run_demo(parallel=True))


class Session:
    """The log of one vehicle's pass: `say(text)` prints wall-clock and flight time."""

    def __init__(self, mission, name):
        self.m = mission
        self.name = name

    def say(self, text):
        line = "%7.2f  t=%7.0f s  %-9s %s" % (time.monotonic() - _T0, self.m.elapsed, self.name, text)
        with _SAY:
            print(line, flush=True)

    def wait_event(self, name, flight_s, where=None):
        """The first event `name` (seen already or next) whose aux matches `where`; its aux."""
        m = self.m

        def found(m):
            return [p for p in m.events(name) if where is None or where(p["data"]["aux"])]

        m.run_until(lambda m: found(m), flight_s=flight_s)
        return found(m)[0]["data"]["aux"]

    def status(self, hk):
        """A one-shot report of HK structure `hk` (by name): its fields."""
        self.m.send("hk.one_shot", hk)
        self.m.run_until(lambda m: m.hk(hk) is not None, flight_s=5)
        return self.m.hk(hk)

    def product(self, transaction, out):
        """Reassemble ST13 transfer `transaction` from what was seen (asking for lost parts) and write it."""
        m = self.m
        r = transfer.Reassembler()
        fed = [0]

        def complete(m):
            for p in m.packets[fed[0]:]:
                r.feed(p)
            fed[0] = len(m.packets)
            t = r.get(transaction)
            return t is not None and t.complete and t.announced

        try:
            m.run_until(complete, flight_s=120)
            t = r.get(transaction)
        except AssertionError:  # parts lost on the way: ask the board for them (TC 13.129)
            t = transfer.fetch(m.link, transaction, wait=20.0)
        return transfer.write_product(t, out)


def fly_inspector(runtime, board, out, heap=UNIX_PORT_HEAP):
    from ground.mission import Mission

    mission = Mission("inspector", runtime=runtime, board=board, scenario=SCENARIOS["inspector"], archive=Path(out) / ARCHIVE, heap=heap)
    # heap: the 64-bit PyPI unix port's objects are about twice a board's, and the inspector's
    # peak there is above the RP2040's 160 KB (on a 32-bit build it is ~81-93 KB,
    # tests/hil/test_memory_budget.py): it flies with a larger heap, and the log says so;
    # heap=None on a board (the emulated Pico) that has its own
    with mission as m:
        s = Session(m, "inspector")
        if runtime == "micropython" and heap:
            s.say("heap raised to %d B for the inspector on the 64-bit unix port (the board's budget is %d B)"
                  % (heap, load_board(board)["heap_budget"]))
        m.send("inspector_adcs.set_mode", "DETUMBLE")
        truth = s.status("inspector_truth")
        s.say("up in SAFE, tumbling at %.2f deg/s (truth), debris %.0f m ahead on the V-bar; set_mode DETUMBLE"
              % (truth["rate"], truth["range"]))
        aux = s.wait_event("inspector_detumbled", 6000)
        s.say("detumbled: %.2f deg/s after %.0f s of B-dot; the app went to SUN_POINT on its own" % (aux["rate"], aux["duration"]))
        m.run_for(200)
        s.say("sun pointing: error %.2f deg (truth)" % s.status("inspector_truth")["pointing_error"])
        m.send("inspector_adcs.set_mode", "TARGET_POINT")
        aux = s.wait_event("inspector_target_acquired", 60)
        s.say("TARGET_POINT: relative navigation locked at %.1f m" % aux["range"])
        m.send("inspector_gnc.approach", "x=0", "y=-60", "z=0", "t=600")
        s.say("approach to the V-bar hold point 60 m behind the debris, 600 s transfer")
        b1 = s.wait_event("inspector_burn", 30, lambda a: a["burn"] == 1)
        s.say("burn 1: %.3f m/s" % b1["dv"])
        b2 = s.wait_event("inspector_burn", 700, lambda a: a["burn"] == 2)
        s.say("burn 2: %.3f m/s (delta-v used %.3f m/s)" % (b2["dv"], b2["dv_used"]))
        m.run_for(120)
        truth = s.status("inspector_truth")
        s.say("holding at (%.1f, %.1f, %.1f) m LVLH, range %.1f m, camera %.2f deg off the debris (truth)"
              % (truth["r_x"], truth["r_y"], truth["r_z"], truth["range"], truth["pointing_error"]))
        m.send("inspector_camera.capture", "8")
        ready = s.wait_event("inspector_image_ready", 120)
        path = s.product(ready["transaction"], out)
        s.say("image %dx%d (%d lit pixels) downlinked by ST13 transaction %d -> %s"
              % (ready["width"], ready["height"], ready["lit"], ready["transaction"], path))
        m.send("inspector_gnc.enter_ellipse", "a=20", "c=20", "phase=90", "y_c=0", "t=900")
        s.say("enter_ellipse: a 20 m safety ellipse around the debris, 900 s transfer")
        s.wait_event("inspector_mode_changed", 1200, lambda a: a["new"] == _mode_number("FLY_AROUND"))
        truth = s.status("inspector_truth")
        s.say("FLY_AROUND: range %.1f m, closest so far %.1f m (keep-out 15 m)" % (truth["range"], truth["min_range"]))
        m.send("inspector_adcs.inject_fault", "thrusters", "leak", "0.002")
        s.say("inject_fault thrusters leak 0.002 m/s^2 toward the debris")
        aux = s.wait_event("inspector_abort", 600)
        s.say("AUTONOMOUS ABORT: predicted minimum range %.1f m, abort burn %.3f m/s, path safe: %s"
              % (aux["min_range"], aux["dv"], "yes" if aux["safe"] else "no"))
        m.send("inspector_adcs.clear_faults", "thrusters")
        m.run_for(600)
        truth = s.status("inspector_truth")
        s.say("after 600 s of drift: range %.1f m, closest ever %.1f m; mode %s"
              % (truth["range"], truth["min_range"], _mode(s, "inspector_adcs")))
        _summary(s)
    return path


def fly_rover(runtime, board, out, heap=UNIX_PORT_HEAP):
    from ground.mission import Mission

    mission = Mission("rover", runtime=runtime, board=board, scenario=SCENARIOS["rover"], archive=Path(out) / ARCHIVE,
                      heap=heap)  # at the edge of 160 KB on the 64-bit port (ground/mission.py)
    with mission as m:
        s = Session(m, "rover")
        if runtime == "micropython" and heap:
            s.say("heap raised to %d B for the rover (the board's budget is %d B: on the 64-bit port it sits at its edge)"
                  % (heap, load_board(board)["heap_budget"]))
        truth = s.status("rover_truth")
        s.say("up at (%.0f, %.0f) m, %s; the shadowed crater's rim is 100 m around (400, 0)"
              % (truth["x"], truth["y"], "in sunlight" if truth["lit"] else "in shadow"))
        m.send("rover_nav.add_waypoint", "360", "0")
        m.send("rover_nav.drive")
        s.say("waypoint (360, 0) on the crater floor; drive")
        s.wait_event("rover_entered_shadow", 1500)
        s.say("entered the permanently shadowed region: on battery")
        s.wait_event("rover_route_done", 1500)
        m.run_for(2)
        power = s.status("rover_power")
        s.say("route done; battery %.0f%%, solar %.1f W" % (100 * power["soc"], power["solar_w"]))
        m.send("rover_drill.drill", "1.5")
        s.say("drill to 1.5 m")
        aux = s.wait_event("rover_drill_done", 3600)
        s.say("drill done at %.2f m" % aux["depth"])
        m.run_until(lambda m: (m.hk("rover_mobility") or {}).get("mode") == 1, flight_s=120)
        m.send("rover_spectrometer.measure", "16")
        ready = s.wait_event("rover_spectrum_ready", 60)
        path = s.product(ready["transaction"], out)
        s.say("water-ice spectrum downlinked by ST13 transaction %d -> %s (and .png)" % (ready["transaction"], path))
        m.run_for(5)
        m.send("rover_nav.add_waypoint", "300", "0")
        m.send("rover_nav.drive")
        s.say("waypoint (300, 0) back in the light; drive")
        m.run_until(lambda m: len(m.events("rover_route_done")) >= 2, flight_s=1500)
        m.run_for(2)
        truth, power = s.status("rover_truth"), s.status("rover_power")
        s.say("route done at (%.1f, %.1f) m, %s (truth); battery %.0f%% (lowest %.0f%%, reserve 25%%)"
              % (truth["x"], truth["y"], "in sunlight" if truth["lit"] else "STILL IN SHADOW", 100 * power["soc"], 100 * power["soc_min"]))
        _summary(s)
    return path


def _mode_number(name):
    from ground import dictionary as d

    return {n: k for k, n in d.inspector.MODE_NAMES.items()}[name]


def _mode(s, hk):
    from ground import dictionary as d

    mode = s.status(hk)["mode"]
    names = d.mode_names(s.m.vehicle)
    return names.get(mode, str(mode))


def _summary(s):
    obc = s.status("obc")
    budget = s.m.sitl.board["heap_budget"]
    heap = ("heap peak %d of %d B" % (obc["heap_peak"], budget)) if obc["heap_peak"] else "heap not measured (CPython)"
    rtf = s.m.real_time_factor()
    s.say("pass over: %.0f s of flight in %.1f s (%s real time); %s; TCs accepted %d, rejected %d"
          % (s.m.elapsed, time.monotonic() - s.m._real0, ("%.0fx" if rtf >= 10 else "%.2fx") % rtf, heap, obc["tc_accepted"], obc["tc_rejected"]))


def _fly_all(flights, runtime, board, out, heap, parallel):
    """Each vehicle's pass in turn, or all at once (one thread each: every vehicle is its own
    process, so they share the host's cores); the products in `flights` order. A pass that
    fails raises once every pass has ended."""
    if not parallel:
        return [fly(runtime, board, out, heap=heap) for fly in flights]
    results = [None] * len(flights)

    def fly_one(i):
        try:
            results[i] = (True, flights[i](runtime, board, out, heap=heap))
        except BaseException as e:  # re-raised in the caller's thread below
            results[i] = (False, e)

    threads = [threading.Thread(target=fly_one, args=(i,), name="demo-%d" % i, daemon=True) for i in range(len(flights))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for ok, value in results:
        if not ok:
            raise value
    return [value for _, value in results]


def run_demo(board="rp2-pico", runtime="micropython", out="out/demo", vehicles=("inspector", "rover"), heap=UNIX_PORT_HEAP,
             parallel=False, where=None):
    """heap: the unix port's heap for both apps (None: the board's own); parallel: fly the
    vehicles at once; where: what the header line names as the board (a board target's own)."""
    global _T0
    _T0 = time.monotonic()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    print("mitra demo: board %s, runtime %s, products in %s%s" % (where or board, runtime, out, "; the vehicles fly at once" if parallel else ""),
          flush=True)
    flights = [fly for name, fly in (("inspector", fly_inspector), ("rover", fly_rover)) if name in vehicles]
    products = _fly_all(flights, runtime, board, out, heap, parallel)
    print("%7.2f  demo done; products: %s" % (time.monotonic() - _T0, ", ".join(str(p) for p in products)), flush=True)
    from ground.archive import Archive

    with Archive(out / ARCHIVE) as a:
        sessions = a.sessions()[-len(products):]
    print("%7.2f  archive %s: %s" % (time.monotonic() - _T0, out / ARCHIVE, "; ".join(
        "%s %d frames (%d bad)" % (x["vehicle"], x["frames"], x["bad"]) for x in sessions)), flush=True)
    from ground.report import write_report

    report = write_report(out / ARCHIVE, out / REPORT, sessions=[x["id"] for x in sessions])  # this run's passes only
    print("%7.2f  report %s" % (time.monotonic() - _T0, report.path), flush=True)
    return 0
