"""`python -m hil.pico_emu demo` (`make demo TARGET=pico-emu`): a short rover pass flown from the
ground on the emulated Pico, the real RPI_PICO firmware with the C core built in.

`make demo` flies its hour-long sessions on the unix port at 100-200x real time; the emulated
Pico runs the rover's flight app at about real time in virtual time (its Cortex-M0+ is the limit),
so this pass is the demo's rover drive cut short: up in the light at (300, 0), a waypoint
--distance metres east, drive, and the route-done event, with the same log (ground.demo.Session)
and the board's own HK. `python -m hil.pico_emu demo --help` for the options.
"""

import argparse
import sys
import time

from ground.errors import MitraError


def demo(distance, log=None):
    from ground.demo import Session
    from ground.mission import Mission
    from hil.pico_emu.mission import flown_on_pico_emu

    t0 = time.monotonic()
    with flown_on_pico_emu(), Mission("rover", runtime="micropython", scenario={"start": [300.0, 0.0, 0.0]},
                                      log=log) as m:
        s = Session(m, "rover")
        s.say("up on the emulated Pico (%s); booted and flashed in %.1f s" % (m.sitl.port, time.monotonic() - t0))
        truth = s.status("rover_truth")
        s.say("at (%.0f, %.0f) m, %s" % (truth["x"], truth["y"], "in sunlight" if truth["lit"] else "in shadow"))
        target = truth["x"] + distance
        m.send("rover_nav.add_waypoint", "%g" % target, "0")
        m.send("rover_nav.drive")
        s.say("waypoint (%g, 0); drive" % target)
        aux = s.wait_event("rover_route_done", 60 + 20 * distance)
        s.say("route done at (%.1f, %.1f) m (estimate)" % (aux["x"], aux["y"]))
        truth, power, obc = s.status("rover_truth"), s.status("rover_power"), s.status("obc")
        s.say("truth (%.1f, %.1f) m; battery %.0f%%; board heap free %d B (peak %d B), TCs accepted %d, rejected %d"
              % (truth["x"], truth["y"], 100 * power["soc"], obc["heap_free"], obc["heap_peak"], obc["tc_accepted"],
                 obc["tc_rejected"]))
        s.say("pass over: %.0f s of flight in %.1f s (%.2fx real time) on the emulated RP2040"
              % (m.elapsed, time.monotonic() - t0, m.real_time_factor()))
        return truth


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m hil.pico_emu", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="a short rover pass on the emulated Pico")
    d.add_argument("--distance", type=float, default=4.0, help="metres to drive east (default 4)")
    d.add_argument("--verbose", action="store_true", help="show the emulator's and the build's messages")
    args = p.parse_args(argv)
    if not 1.0 <= args.distance <= 100.0:
        p.error("--distance must be 1..100 m, got %g" % args.distance)
    log = (lambda line: print(line, file=sys.stderr)) if args.verbose else (lambda line: None)
    print("mitra demo on pico-emu: the RPI_PICO firmware (C core built in) in rp2040js, rover pass of %g m" % args.distance)
    try:
        demo(args.distance, log=log)
    except (MitraError, AssertionError) as e:  # PicoEmuError, MissionTimeout: one line
        print("pico-emu demo: %s" % str(e).splitlines()[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
