"""`ground demo` (what `make demo` runs): the flight app on the default virtual
board, commanded by the ground station over its pty, with a short session log."""

import sys
import time

from ground import show
from ground.keys import KeyStore
from ground.link import GroundLink


def _log(text):
    print("%8.3f  %s" % (time.monotonic() - _T0, text), flush=True)


_T0 = time.monotonic()


def run_demo(board="rp2-pico", runtime="micropython", out=None):
    from ground.cli import _start_sitl
    from hil.runtimes import micropython_binary

    global _T0
    _T0 = time.monotonic()
    if runtime == "micropython" and micropython_binary() is None:
        _log("no MicroPython unix port here: falling back to the CPython runtime")
        runtime = "cpython"
    _log("starting SITL: board %s, runtime %s" % (board, runtime))
    sitl = _start_sitl(board, runtime, log=lambda line: None)
    try:
        _log("flight app up on %s (state in %s)" % (sitl.port, sitl.state_dir))
        key = KeyStore().load(sitl.link_name)
        with GroundLink(sitl.port, key=key) as link:
            link.flush_input()
            seen = []

            def note(p):
                seen.append(p)

            t = time.monotonic()
            link.command("test.ping", on_packet=note)
            _log("ping: alive, round trip %.1f ms" % ((time.monotonic() - t) * 1000))

            link.command("param.set", {"params": [{"param_id": 1, "value": 1000}]}, on_packet=note)
            _log("param.set obc.hk_period_ms=1000: completed")
            values = []
            link.command("param.get", {"param_ids": [{"param_id": 1}]}, on_packet=values.append)
            for p in values:
                if p["service"] == 20:
                    _log("param.get: " + " ".join(show.line(p).split()[5:]))

            try:
                link.command("param.set", {"params": [{"param_id": 5, "value": 7}]}, on_packet=note)
            except Exception as exc:  # the expected refusal, shown as the operator sees it
                _log("param.set obc.boot_count=7 refused as expected: %s" % exc)

            hk = []
            link.command("hk.one_shot", {"sids": [{"sid": 1}]}, on_packet=hk.append)
            for p in hk:
                if p["service"] == 3:
                    params = p["data"]["params"]
                    _log(
                        "housekeeping: uptime %d s, boot %d, heap free %d B, frames ok %d, TCs accepted %d rejected %d, TM sent %d"
                        % (
                            params["uptime"],
                            params["boot_count"],
                            params["heap_free"],
                            params["frames_ok"],
                            params["tc_accepted"],
                            params["tc_rejected"],
                            params["tm_sent"],
                        )
                    )
                    break
            events = [p for p in seen + hk + values if p["service"] == 5]
            for p in events:
                _log("event: " + " ".join(show.line(p).split()[4:]))
        _log("session done; stopping SITL")
    finally:
        sitl.stop()
    return 0
