"""rover.app: the rover flight app on the real OBC (fsw.app.Obc) in a temporary flash
directory with the emulated rover (hw.rover), its 10 Hz cycle called directly: modes and
transitions, every function's refusals with their exact error codes, the route and its
events, the slope limit (stop, never onto it), the battery reserve (refusal and abort), the
drill's stall and over-temperature retracts in the measuring cycle, the spectrum product."""

import math

import pytest

import gnc
from fsw import dictionary as D
from fsw.app import Obc
from ground import codec
from ground import dictionary as d
from ground.framing import FrameSplitter

EVT = {e.id: e.name for e in d.EVENTS}
MODE = {name: n for n, name in d.rover.MODE_NAMES.items()}
DEVICES = ["wheels", "encoders", "imu", "sun_sensor", "hazard", "drill", "spectrometer", "battery"]
OK = [("verification.acceptance_success", None), ("verification.start_success", None), ("verification.completion_success", None)]


class HalLink:
    def __init__(self):
        self.split = FrameSplitter()
        self.packets = []

    def write(self, buf, n):
        for body in self.split.feed(bytes(buf[:n])):
            self.packets.append(codec.decode(body))


def boot(tmp_path, monkeypatch, scenario=None, devices=DEVICES):
    from rover import app

    monkeypatch.chdir(tmp_path)
    link = HalLink()
    board = {"speed": "max", "security": False, "watchdog_ms": 8000, "devices": devices, "scenario": scenario or {}}
    obc = Obc(board, link)
    obc.sent = link.packets
    rover = app.start(obc, board)
    return obc, rover


def events(obc, name=None):
    """(event name, aux) of the events sent so far (those named `name`)."""
    out = [(EVT[p["data"]["event_id"]], p["data"]["aux"]) for p in obc.sent if p["service"] == 5 and p["subtype"] in (1, 2, 3, 4)]
    return [e for e in out if name is None or e[0] == name]


def tc(obc, name, values=None):
    """Run one TC through the dispatcher; its ST1 reports as (name, error name)."""
    start = len(obc.sent)
    raw = codec.encode_command(d.command(name), values or {}, seq_count=1)
    obc.dispatcher.handle(raw, 0, len(raw))
    return [(p["name"], p["data"].get("error")) for p in obc.sent[start:] if p["service"] == 1]


def fails(obc, name, values, error):
    reports = tc(obc, name, values)
    assert reports[-1] == ("verification.start_failure", getattr(D, "ERR_" + error)), reports


def run(rover, seconds, until=None):
    """Run the 10 Hz cycle for up to `seconds` of flight time (stop early when until() is true)."""
    for _ in range(int(round(seconds * 10))):
        rover.cycle(0)
        if until is not None and until():
            return True
    return False


def hk(obc, name):
    fields = [f.name for f in d.HK_BY_NAME[name].fields]
    return dict(zip(fields, obc.hk.sources[d.HK_BY_NAME[name].sid]()))


def idle(obc):
    assert tc(obc, "rover_mobility.set_mode", {"mode": MODE["IDLE"]}) == OK


def test_boots_in_idle_and_set_mode_refuses_drive_and_drill(tmp_path, monkeypatch):
    obc, rover = boot(tmp_path, monkeypatch)
    assert rover.mode == d.VEHICLE_BY_NAME["rover"].boot_mode == MODE["IDLE"]
    fails(obc, "rover_mobility.set_mode", {"mode": MODE["DRIVE"]}, "ARG_OUT_OF_RANGE")
    fails(obc, "rover_mobility.set_mode", {"mode": MODE["DRILL"]}, "ARG_OUT_OF_RANGE")
    fails(obc, "rover_mobility.set_mode", {"mode": 5}, "ARG_OUT_OF_RANGE")
    assert tc(obc, "rover_mobility.set_mode", {"mode": MODE["SURVIVAL"]}) == OK
    # SURVIVAL: nothing moves; only set_mode and fault injection
    fails(obc, "rover_nav.add_waypoint", {"x": 1.0, "y": 0.0}, "NOT_ALLOWED_IN_MODE")
    fails(obc, "rover_nav.drive", {}, "NOT_ALLOWED_IN_MODE")
    fails(obc, "rover_drill.drill", {"depth": 0.5}, "NOT_ALLOWED_IN_MODE")
    fails(obc, "rover_power_thermal.charge", {}, "NOT_ALLOWED_IN_MODE")
    fails(obc, "rover_mobility.stop", {}, "NOT_ALLOWED_IN_MODE")
    assert events(obc, "rover_mode_changed")[-1][1] == {"old": MODE["IDLE"], "new": MODE["SURVIVAL"], "reason": 0}


def test_route_waypoints_events_and_truth(tmp_path, monkeypatch):
    obc, rover = boot(tmp_path, monkeypatch)
    fails(obc, "rover_nav.drive", {}, "EXECUTION_FAILED")  # no waypoints
    fails(obc, "rover_nav.add_waypoint", {"x": 6000.0, "y": 0.0}, "ARG_OUT_OF_RANGE")
    for x, y in ((10.0, 0.0), (10.0, 10.0), (0.0, 10.0)):
        assert tc(obc, "rover_nav.add_waypoint", {"x": x, "y": y}) == OK
    assert tc(obc, "rover_nav.drive") == OK
    assert rover.mode == MODE["DRIVE"]
    fails(obc, "rover_nav.clear_route", {}, "NOT_ALLOWED_IN_MODE")
    run(rover, 30)
    truth = hk(obc, "rover_truth")
    assert truth["cross_track"] < 0.3 and truth["lit"] == 1, truth
    assert run(rover, 600, lambda: rover.mode != MODE["DRIVE"])
    reached = [aux["waypoint"] for _, aux in events(obc, "rover_waypoint_reached")]
    assert reached == [1, 2, 3]
    done = events(obc, "rover_route_done")[0][1]
    assert done["waypoints"] == 3 and 28.0 < done["distance"] < 34.0
    truth = hk(obc, "rover_truth")
    assert math.hypot(truth["x"], truth["y"] - 10.0) < 0.6, truth  # done within lookahead / 4, then the wheels ramp down
    assert abs(truth["heading_error"]) < 2.0 and hk(obc, "rover_nav")["sun_fixes"] > 0
    assert hk(obc, "rover_nav")["waypoints"] == 0  # the route is emptied at its end
    assert hk(obc, "rover_mobility")["step_errors"] == 0


def test_route_table_full_and_stop_keeps_the_rest(tmp_path, monkeypatch):
    obc, rover = boot(tmp_path, monkeypatch)
    for i in range(gnc.MAX_PATH_POINTS - 1):
        assert tc(obc, "rover_nav.add_waypoint", {"x": 1.0 + i, "y": 0.0}) == OK
    fails(obc, "rover_nav.add_waypoint", {"x": 1.0, "y": 0.0}, "TABLE_FULL")
    assert tc(obc, "rover_nav.drive") == OK
    run(rover, 60)
    assert tc(obc, "rover_mobility.stop") == OK
    assert rover.mode == MODE["IDLE"]
    run(rover, 5)
    x = hk(obc, "rover_truth")["x"]
    run(rover, 10)
    assert hk(obc, "rover_truth")["x"] == x  # stopped
    left = rover.drive.left()
    assert 0 < left < gnc.MAX_PATH_POINTS - 1
    assert tc(obc, "rover_nav.clear_route") == OK
    fails(obc, "rover_nav.drive", {}, "EXECUTION_FAILED")


def test_slope_limit_stops_before_the_slope_and_reports(tmp_path, monkeypatch):
    # hw.moon's blocky mound (seed 1: centre (203.4, 77.1), flanks up to 25.8 deg by Terrain.slope): straight at it
    obc, rover = boot(tmp_path, monkeypatch, {"start": (160.0, 77.0, 0.0)})
    assert tc(obc, "rover_nav.add_waypoint", {"x": 240.0, "y": 77.0}) == OK
    assert tc(obc, "rover_nav.drive") == OK
    limit = d.PARAM_BY_NAME["drive.slope_limit"].default
    steepest = [0.0]

    def watch():
        t = hk(obc, "rover_truth")
        steepest[0] = max(steepest[0], t["slope"])
        return rover.mode != MODE["DRIVE"]

    assert run(rover, 600, watch)
    stop = events(obc, "rover_hazard_stop")
    assert len(stop) == 1 and stop[0][1]["slope"] >= limit and stop[0][1]["limit"] == pytest.approx(limit)
    assert steepest[0] < limit  # never onto it
    assert events(obc, "rover_mode_changed")[-1][1] == {"old": MODE["DRIVE"], "new": MODE["IDLE"], "reason": 1}
    assert rover.drive.left() == 1  # the waypoint is kept


def test_reserve_refuses_a_drive_and_a_drill_and_aborts_a_drive(tmp_path, monkeypatch):
    obc, rover = boot(tmp_path, monkeypatch, {"battery": {"soc0": 0.4}})
    assert tc(obc, "rover_nav.add_waypoint", {"x": 2000.0, "y": 0.0}) == OK
    fails(obc, "rover_nav.drive", {}, "EXECUTION_FAILED")
    ref = events(obc, "rover_reserve_refused")[-1][1]
    assert ref["activity"] == 1 and ref["predicted"] < ref["reserve"] == pytest.approx(0.25)
    assert rover.mode == MODE["IDLE"]
    obc2 = obc
    # a drill too deep for the battery
    assert tc(obc2, "rover_nav.clear_route") == OK
    assert tc(obc2, "rover_drill.drill", {"depth": 0.1}) == OK
    run(rover, 200, lambda: rover.mode != MODE["DRILL"])
    obc.params.values[D.PAR_POWER_RESERVE] = 0.38
    fails(obc, "rover_drill.drill", {"depth": 1.5}, "EXECUTION_FAILED")
    assert events(obc, "rover_reserve_refused")[-1][1]["activity"] == 2
    # a drive accepted, then aborted as the battery drains (the margin raised mid-route)
    obc.params.values[D.PAR_POWER_RESERVE] = 0.25
    assert tc(obc, "rover_nav.add_waypoint", {"x": 100.0, "y": 0.0}) == OK
    assert tc(obc, "rover_nav.drive") == OK
    obc.params.values[D.PAR_POWER_RESERVE] = 0.39
    assert run(rover, 30, lambda: rover.mode != MODE["DRIVE"])
    ab = events(obc, "rover_route_aborted")[-1][1]
    assert ab["predicted"] < 0.39 and ab["waypoint"] == 1
    assert hk(obc, "rover_power")["soc_min"] >= 0.25


def test_fdir_soc_limit_puts_the_rover_in_survival(tmp_path, monkeypatch):
    obc, rover = boot(tmp_path, monkeypatch, {"battery": {"soc0": 0.24}})
    obc.fdir.check_limits()
    assert rover.mode == MODE["SURVIVAL"]
    names = [e[0] for e in events(obc)]
    assert "limit_violation" in names and "safed" in names


@pytest.mark.parametrize("fault,reason", [("stall", "torque_stall"), ("over_temperature", "over_temperature")])
def test_drill_fault_retracts_in_the_measuring_cycle(tmp_path, monkeypatch, fault, reason):
    obc, rover = boot(tmp_path, monkeypatch)
    assert tc(obc, "rover_drill.drill", {"depth": 0.5}) == OK
    assert rover.mode == MODE["DRILL"]
    fails(obc, "rover_drill.drill", {"depth": 0.5}, "NOT_ALLOWED_IN_MODE")
    fails(obc, "rover_nav.drive", {}, "NOT_ALLOWED_IN_MODE")
    run(rover, 30)
    assert hk(obc, "rover_drill")["state"] == 1
    rover.hw.inject("drill", fault, 1)
    retract = [0]

    def watch():
        if events(obc, "rover_drill_retract") and not retract[0]:
            retract[0] = 1
            assert rover.hw.drill.feed < 0.0  # the retract command is in force after that same cycle
        return rover.mode != MODE["DRILL"]

    assert run(rover, 1200, watch)
    aux = events(obc, "rover_drill_retract")[0][1]
    assert d.rover.RETRACT_REASONS[aux["reason"]] == reason
    assert aux["cycles"] == 0
    if fault == "stall":
        assert aux["torque"] > d.PARAM_BY_NAME["drill.torque_max"].default
    else:
        assert aux["temp"] > d.PARAM_BY_NAME["drill.temp_max"].default
    assert not events(obc, "rover_drill_done")
    assert hk(obc, "rover_truth")["drill_depth"] == 0.0 and hk(obc, "rover_drill")["fault"] > 0


def test_drill_done_retract_command_and_spectrum_product(tmp_path, monkeypatch):
    obc, rover = boot(tmp_path, monkeypatch, {"start": (400.0, 0.0, 0.0)})
    fails(obc, "rover_spectrometer.measure", {"samples": 8}, "EXECUTION_FAILED")  # no hole yet
    fails(obc, "rover_drill.retract", {}, "NOT_ALLOWED_IN_MODE")
    fails(obc, "rover_drill.drill", {"depth": 2.0}, "ARG_OUT_OF_RANGE")
    assert tc(obc, "rover_drill.drill", {"depth": 0.3}) == OK
    assert run(rover, 400, lambda: rover.mode != MODE["DRILL"])
    done = events(obc, "rover_drill_done")[0][1]
    assert done["depth"] == pytest.approx(0.3, abs=1e-3)
    fails(obc, "rover_spectrometer.measure", {"samples": 2}, "ARG_OUT_OF_RANGE")
    assert tc(obc, "rover_spectrometer.measure", {"samples": 16}) == OK
    run(rover, 0.1)
    ready = events(obc, "rover_spectrum_ready")[0][1]
    started = events(obc, "transfer_started")[-1][1]
    assert started["transaction"] == ready["transaction"] and started["product"] == 2
    assert started["size"] == 14 + 16 * 8
    assert ready["peak"] > 1.0  # ice-rich layer under the PSR floor
    # the retract command
    assert tc(obc, "rover_drill.drill", {"depth": 1.0}) == OK
    run(rover, 30)
    assert tc(obc, "rover_drill.retract") == OK
    assert events(obc, "rover_drill_retract")[-1][1]["reason"] == 4
    assert run(rover, 200, lambda: rover.mode != MODE["DRILL"])
    assert hk(obc, "rover_truth")["drill_depth"] == 0.0


def test_charge_turns_the_panel_to_the_sun(tmp_path, monkeypatch):
    obc, rover = boot(tmp_path, monkeypatch, {"start": (0.0, 0.0, 2.0)})
    p0 = hk(obc, "rover_power")["solar_w"]
    assert tc(obc, "rover_power_thermal.charge") == OK
    assert rover.mode == MODE["CHARGE"]
    run(rover, 60)
    t = hk(obc, "rover_truth")
    assert abs(t["psi"]) < 3.0, t  # the Sun at azimuth 0 at the start
    assert hk(obc, "rover_power")["solar_w"] > p0 + 50.0
    assert tc(obc, "rover_mobility.stop") == OK and rover.mode == MODE["IDLE"]


def test_drill_done_survives_a_cycle_whose_report_runs_out_of_memory(tmp_path, monkeypatch):
    # near the heap's limit the drill_done event can raise MemoryError: the cycle fails (the task
    # counts it), and the next cycle reports the end of the hole again instead of leaving the
    # rover in DRILL for ever
    obc, rover = boot(tmp_path, monkeypatch, {"start": (400.0, 0.0, 0.0)})
    real_emit = obc.events.emit
    failed = []

    def emit_failing_once_on_drill_done(event_id, aux):
        if event_id == D.EVT_ROVER_DRILL_DONE and not failed:
            failed.append(event_id)
            raise MemoryError("memory allocation failed")
        return real_emit(event_id, aux)

    monkeypatch.setattr(obc.events, "emit", emit_failing_once_on_drill_done)
    assert tc(obc, "rover_drill.drill", {"depth": 0.3}) == OK

    def cycle_as_the_task_does():
        try:
            rover.cycle(0)
        except MemoryError:
            pass

    for _ in range(4000):
        cycle_as_the_task_does()
        if rover.mode != MODE["DRILL"]:
            break
    assert failed == [D.EVT_ROVER_DRILL_DONE]
    assert rover.mode == MODE["IDLE"]
    assert len(events(obc, "rover_drill_done")) == 1
    assert hk(obc, "rover_drill")["holes"] == 1
    assert events(obc, "rover_mode_changed")[-1][1] == {"old": MODE["DRILL"], "new": MODE["IDLE"], "reason": 1}
