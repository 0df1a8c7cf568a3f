"""A vehicle flown from the ground: what the scenarios, `ground demo` and the real-time-factor
benchmarks use, so their evidence is the flight app's own telemetry.

    with Mission("rover", runtime="micropython", scenario={"start_x": -300.0}) as m:
        m.send("rover_mobility.set_mode", "DRIVE")           # the operator's CLI grammar
        m.run_until(lambda m: m.event("rover_route_done"), flight_s=3600)
        soc = m.series("rover_power", "soc")               # [(flight s, value), ...]

A Mission starts the flight app of `vehicle` in a SITL (ground.sitl.Sitl: the MicroPython unix
port with the board's heap cap, or CPython with the C core) in virtual time by default
(speed "max": flight time runs as fast as the host computes it), opens an authenticated
GroundLink, and keeps every decoded TM packet. `t` is the latest TM (on-board CUC) time;
`elapsed` the flight seconds of the pass, which a time.set_time does not jump. In virtual time
the board's clock stands still until the first packet from the ground (the start ping).
"""

import time

from ground import args as cliargs
from ground import dictionary as d
from ground.link import GroundLink, board_link
from ground.sitl import Sitl


SILENCE_S = 30.0  # real seconds without any TM: in virtual time the board is always sending (HK, events)
_CLOCK_JUMP_S = 86400.0  # a step of TM time this large is the clock being set, not flight time


class MissionTimeout(AssertionError):
    """The condition did not come true within the flight time allowed."""


def tm_time(p):
    """A TM packet's on-board time in seconds."""
    return p["time"]["coarse"] + p["time"]["fine"] / 65536.0


# The heap the apps fly with on the 64-bit MicroPython unix port in the e2e tests, the demo and the
# scenarios: neither fits the RP2040's 160 KB there reliably (the rover sits at the edge: it boots
# from one checkout and runs out in its first step from another; tests/hil/test_memory_budget.py
# keeps measuring both at the board's own budget). Mission(heap=UNIX_PORT_HEAP) flies with it.
UNIX_PORT_HEAP = 384 * 1024


class Mission:
    def __init__(self, vehicle, runtime="cpython", board="rp2-pico", scenario=None, speed="max", state_dir=None, log=None, timeout_s=5.0,
                 archive=None, heap=None):
        self.vehicle = vehicle
        self.archive = archive  # path of a mission archive (ground.archive) to record the pass in, or None
        self.recorder = None
        self.sitl = Sitl(board, runtime=runtime, speed=speed, vehicle=vehicle, scenario=scenario, state_dir=state_dir, log=log if log is not None else (lambda line: None))
        if heap and runtime == "micropython":  # heap: the unix port's instead of the board's budget; CPython has none to set
            self.sitl.board["heap_budget"] = heap
        self.timeout_s = timeout_s  # real seconds a command may take to complete
        self.link = None
        self.packets = []
        self.t = 0.0  # latest on-board time seen (TM time: jumps when the ground sets the clock)
        self.elapsed = 0.0  # flight seconds of the pass: the steps of TM time, jumps left out
        self._timed = False
        self._hk_names = {h.sid: h.name for h in d.HK_STRUCTURES}
        self._latest = {}
        self._series = {}
        self._real0 = None
        self._elapsed0 = 0.0

    # --- life cycle -------------------------------------------------------------

    def start(self):
        self.sitl.start()
        try:
            from ground.keys import KeyStore

            max_frame = board_link(self.sitl.board)["max_frame"]  # the board's, as the link refuses longer TCs
            if self.archive is not None:
                from ground.archive import Recorder

                self.recorder = Recorder(self.archive, port=self.sitl.port, vehicle=self.vehicle)
            self.link = GroundLink(self.sitl.port, key=KeyStore().load(self.sitl.link_name), max_frame=max_frame,
                                   recorder=self.recorder)
            self.link.flush_input()
            self.link.command("test.ping", timeout=self.timeout_s, on_packet=self._keep)
        except BaseException:
            self.stop()
            raise
        self._real0 = time.monotonic()
        self._elapsed0 = self.elapsed
        return self

    def stop(self):
        if self.link is not None:
            self.link.close()
            self.link = None
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        self.sitl.stop()

    def restart(self, hard=False):
        """A reboot of the board (same flash); the link stays open."""
        self.sitl.restart(hard=hard)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- commanding ---------------------------------------------------------------

    def send(self, name, *tokens, **kwargs):
        """Send one command written as on the CLI (`m.send("rover_mobility.set_mode", "DRIVE")`);
        returns the link's Result (raises CommandFailed / BoardSilent like `ground send`)."""
        command = d.command(name)
        values = cliargs.payload(command, list(tokens))
        kwargs.setdefault("timeout", self.timeout_s)
        result = self.link.command(name, values, on_packet=self._keep, **kwargs)
        for p in result.reports:
            self._keep(p)
        return result

    # --- telemetry ------------------------------------------------------------------

    def _keep(self, p):
        self.packets.append(p)
        if p["type"] != "tm":
            return
        t = tm_time(p)
        step = t - self.t
        if not self._timed:
            self._timed = True
            self.t = t
        elif 0.0 < step < _CLOCK_JUMP_S:
            self.elapsed += step
            self.t = t
        elif abs(step) >= _CLOCK_JUMP_S:
            self.t = t  # the ground set the clock: on-board time jumps, the pass does not
        if p["name"] == "hk.report" and isinstance(p["data"].get("params"), dict):
            name = self._hk_names.get(p["data"]["sid"])
            self._latest[name] = p["data"]["params"]
            self._series.setdefault(name, []).append((t, p["data"]["params"]))

    def read(self, real_s=0.2):
        """Read what the board sent for up to `real_s` seconds; returns the new packets."""
        new = self.link.read(real_s)
        for p in new:
            self._keep(p)
        return new

    def run_for(self, flight_s, real_limit_s=None):
        """Let `flight_s` seconds of flight time pass (read everything meanwhile)."""
        end = self.elapsed + flight_s
        return self.run_until(lambda m: m.elapsed >= end, flight_s=flight_s + 60.0, real_limit_s=real_limit_s)

    def run_until(self, condition, flight_s, real_limit_s=None):
        """Read telemetry until condition(self) is true; MissionTimeout after `flight_s` of flight
        time (or `real_limit_s` real seconds, a safety net). Returns the flight time it took."""
        start = self.elapsed
        self._heard = time.monotonic()
        # the safety net follows the target's pace (its Sitl's real_s_per_flight_s: the emulated Pico
        # flies at about real time, a SITL in virtual time far faster)
        pace = self.sitl.real_s_per_flight_s
        real_end = time.monotonic() + (real_limit_s if real_limit_s is not None else max(60.0, flight_s * pace))
        while True:
            if condition(self):
                return self.elapsed - start
            if self.elapsed - start > flight_s:
                raise MissionTimeout("%s: not within %.0f s of flight time (at %.1f s into the pass)" % (self.vehicle, flight_s, self.elapsed))
            if time.monotonic() > real_end:
                raise MissionTimeout("%s: not within the real-time limit (%.1f s into the pass, %d packets)" % (self.vehicle, self.elapsed, len(self.packets)))
            code = self.sitl.returncode
            if code is not None:
                raise MissionTimeout("%s: the flight app exited with code %s (%.1f s into the pass)" % (self.vehicle, code, self.elapsed))
            if self.read(0.1):
                self._heard = time.monotonic()
            elif time.monotonic() - self._heard > SILENCE_S:
                raise MissionTimeout("%s: no telemetry for %.0f s of real time (%.1f s into the pass): the board or the link stalled"
                                     % (self.vehicle, SILENCE_S, self.elapsed))

    def hk(self, name):
        """The latest report of HK structure `name` (a dict of its fields), or None."""
        return self._latest.get(name)

    def series(self, name, field):
        """[(flight s, value)] of one field of HK structure `name`, in arrival order."""
        return [(t, params[field]) for t, params in self._series.get(name, ())]

    def events(self, name=None):
        """Event packets seen (all, or those named `name`)."""
        out = []
        for p in self.packets:
            if p["type"] == "tm" and p["service"] == d.SERVICE_BY_NAME["event"].number:
                event = d.EVENT_BY_ID.get(p["data"].get("event_id"))
                if name is None or (event is not None and event.name == name):
                    out.append(p)
        return out

    def event(self, name):
        """The first `name` event seen, or None."""
        found = self.events(name)
        return found[0] if found else None

    def real_time_factor(self):
        """Flight seconds per real second since start()."""
        real = time.monotonic() - self._real0
        return (self.elapsed - self._elapsed0) / real if real > 0 else 0.0
