"""`python -m hil.pico_emu demo` (`make demo TARGET=pico-emu`): `make demo`'s session, both
vehicles flown from the ground on emulated Picos, the real RPI_PICO firmware with the C core built
in, each app with the board's own heap.

`make demo` flies its sessions (about 3000 s of flight each) on the unix port at 100-200x real
time. In rp2040js the emulated Cortex-M0+ is the limit: it flies the inspector at about 1.1x and
the rover at about 1.5x real time (virtual time: no idle, every emulated cycle is the app's), so
the two fly at once, one emulator per core, and the session takes about 40 minutes. The same log
(ground.demo), archive and report as `make demo`, in out/demo-pico-emu.

`--short` flies a quick check instead: the rover's drive cut short (up in the light at (300, 0),
a waypoint --distance metres east, drive, route done) in about three minutes.
`python -m hil.pico_emu profile --vehicle rover` shows where the board's cycles go meanwhile
(hil/pico_emu/profile.py). `python -m hil.pico_emu demo --help` for the options.
"""

import argparse
import sys
import time

from ground.errors import MitraError


def session(out, vehicles, log=None):
    """ground.demo's session on the emulated Pico: the firmware and the app's flash image made
    first (once, not by two passes at once), then both passes, each on its own emulator."""
    from ground.demo import run_demo
    from hil import pico_emu
    from hil.pico_emu.mission import flown_on_pico_emu

    pico_emu.app_image(pico_emu.firmware_path(), log=log)
    with flown_on_pico_emu():
        return run_demo(board="rp2-pico", runtime="micropython", out=out, vehicles=vehicles, heap=None, parallel=len(vehicles) > 1,
                        where="rp2-pico on pico-emu (the RPI_PICO firmware, C core built in, in rp2040js)")


def demo(distance, log=None):
    from ground.demo import SCENARIOS, Session
    from ground.mission import Mission
    from hil.pico_emu.mission import flown_on_pico_emu

    t0 = time.monotonic()
    with flown_on_pico_emu(), Mission("rover", runtime="micropython", scenario=SCENARIOS["rover"], log=log) as m:
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
    d = sub.add_parser("demo", help="make demo's session on emulated Picos (about 40 minutes), or --short: a rover pass")
    d.add_argument("--out", default="out/demo-pico-emu", help="folder for the products, the archive and the report")
    d.add_argument("--vehicle", action="append", choices=("inspector", "rover"), help="fly only this vehicle (repeatable)")
    d.add_argument("--short", action="store_true", help="a quick check instead: the rover drives --distance metres")
    d.add_argument("--distance", type=float, default=4.0, help="with --short: metres to drive east (default 4)")
    d.add_argument("--verbose", action="store_true", help="show the emulator's and the build's messages")
    f = sub.add_parser("profile", help="where the emulated Pico's cycles go while a vehicle's app flies (hil/pico_emu/profile.py)")
    f.add_argument("--vehicle", choices=("inspector", "rover"), default="rover", help="the app to fly (default rover)")
    f.add_argument("--flight", type=float, default=60.0, help="seconds of flight to profile, after 5 s of warm-up (default 60)")
    f.add_argument("--top", type=int, default=25, help="functions to list (default 25)")
    f.add_argument("--verbose", action="store_true", help="show the emulator's and the build's messages")
    args = p.parse_args(argv)
    log = (lambda line: print(line, file=sys.stderr)) if args.verbose else (lambda line: None)
    if args.command == "profile":
        if not 1.0 <= args.flight <= 3600.0 or args.top < 1:
            p.error("--flight must be 1..3600 s and --top at least 1, got %g and %d" % (args.flight, args.top))
        from hil.pico_emu.profile import fly

        try:
            fly(args.vehicle, args.flight, top=args.top, log=log)
        except (MitraError, AssertionError) as e:
            print("pico-emu profile: %s" % str(e).splitlines()[0], file=sys.stderr)
            return 1
        return 0
    if not 1.0 <= args.distance <= 100.0:
        p.error("--distance must be 1..100 m, got %g" % args.distance)
    if args.short and args.vehicle:
        p.error("--short flies the rover's pass: --vehicle is for the whole session")
    try:
        if not args.short:
            return session(args.out, tuple(args.vehicle or ("inspector", "rover")), log=log)
        print("mitra demo on pico-emu: the RPI_PICO firmware (C core built in) in rp2040js, rover pass of %g m" % args.distance)
        demo(args.distance, log=log)
    except (MitraError, AssertionError) as e:  # PicoEmuError, MissionTimeout: one line
        print("pico-emu demo: %s" % str(e).splitlines()[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
