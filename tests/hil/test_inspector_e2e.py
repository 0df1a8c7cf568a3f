"""The inspector flight app end to end through a SITL (MicroPython unix port and CPython):
commanded over the link exactly as an operator's `ground send` does, judged by the app's
events and by the emulator-truth HK (inspector_truth). Flight time runs at SPEED x real
time, so the waits below are safety nets in wall-clock seconds, not measurements.

Memory: these runs use the 64-bit PyPI unix port, whose objects are about twice a board's, so
they get MPY_HEAP and report the measured peak (OBC HK heap_peak); the RP2040's own 160 KB is
checked on a 32-bit build in tests/hil/test_memory_budget.py.
"""

import math
import time
import struct
import zlib

import pytest

from ground import dictionary as d
from ground import image, transfer
from ground.keys import KeyStore
from ground.link import CommandFailed, GroundLink
from ground.sitl import Sitl
from hil.plugin import collect, is_event, is_hk, need_micropython, wait_for

SPEED = 50.0
MPY_HEAP = 384 * 1024  # see the module doc: the 64-bit port's heap, not the RP2040's 160 KB
EV = {name: d.EVENT_BY_NAME[name].id for name in (
    "inspector_mode_changed", "inspector_detumbled", "inspector_target_acquired", "inspector_burn",
    "inspector_abort", "inspector_image_ready", "transfer_started")}
SID = {name: d.HK_BY_NAME[name].sid for name in ("inspector_adcs", "inspector_truth", "inspector_gnc", "obc")}
MODE = {name: n for n, name in d.inspector.MODE_NAMES.items()}
RUNTIMES = [pytest.param("micropython", marks=pytest.mark.micropython, id="sitl-mpy"), pytest.param("cpython", id="sitl-py")]


class Inspector:
    def __init__(self, runtime, tmp_path, scenario, heap=None):
        if runtime == "micropython":
            need_micropython()
        self.sitl = Sitl("rp2-pico", runtime=runtime, vehicle="inspector", speed=SPEED, scenario=scenario)
        if runtime == "micropython":
            self.sitl.board["heap_budget"] = heap or MPY_HEAP
        self.sitl.start()
        self.link = GroundLink(self.sitl.port, key=KeyStore().load(self.sitl.link_name), ack_window_s=0.5)
        self.seen = []
        # periodic HK off: at SPEED x, 1 Hz reports would flood a busy host's reader (a full pty
        # drops bytes); the tests ask for one-shots
        self.send("hk.disable_periodic", {"sids": [{"sid": h.sid} for h in d.HK_STRUCTURES if h.sid == 1 or 10 <= h.sid < 20]})

    def close(self):
        try:
            self.link.close()
        finally:
            self.sitl.stop()

    def send(self, name, args=None, timeout=10.0):
        result = self.link.command(name, args, timeout=timeout, on_packet=self.seen.append)
        self.seen += result.packets
        return result

    def fails(self, name, args, error):
        with pytest.raises(CommandFailed) as info:
            self.send(name, args)
        assert (info.value.stage, info.value.error) == ("start", error), str(info.value)

    def event(self, name, timeout, where=None):
        """The first event `name` (already seen or next) matching `where(aux)`."""
        where = where or (lambda aux: True)
        start = 0
        deadline = time.monotonic() + timeout  # a safety net, not a measurement
        while True:
            for p in self.seen[start:]:
                if is_event(p, EV[name]) and where(p["data"]["aux"]):
                    return p["data"]["aux"]
            start = len(self.seen)
            if time.monotonic() > deadline:
                raise AssertionError("no event %s within %.0f s; events seen: %s" % (
                    name, timeout, [p["data"]["event_id"] for p in self.seen if is_event(p)][-20:]))
            self.seen += self.link.read(0.2)  # every packet of a read kept (later waits look at them)

    def hk(self, name):
        result = self.send("hk.one_shot", {"sids": [{"sid": SID[name]}]})
        return [p for p in result.telemetry if is_hk(p, SID[name])][-1]["data"]["params"]

    def mode(self):
        return self.hk("inspector_adcs")["mode"]


@pytest.fixture
def inspector(tmp_path, monkeypatch):
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "mitra-home"))  # SITL keys never in the real store
    made = []

    def make(runtime, scenario, heap=None):
        made.append(Inspector(runtime, tmp_path, scenario, heap))
        return made[-1]

    yield make
    for i in made:
        i.close()


@pytest.mark.slow
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_inspector_detumbles_then_points_at_the_sun(inspector, runtime):
    ins = inspector(runtime, {"w0": [0.01, -0.015, 0.01]})  # ~1.1 deg/s tumble
    assert ins.mode() == MODE["SAFE"]
    ins.fails("inspector_gnc.approach", {"x": 0, "y": -60, "z": 0, "t": 600}, "NOT_ALLOWED_IN_MODE")
    ins.send("inspector_adcs.set_mode", {"mode": MODE["DETUMBLE"]})
    aux = ins.event("inspector_detumbled", 120)
    assert aux["rate"] < d.PARAM_BY_NAME["adcs.detumble_rate"].default
    changed = ins.event("inspector_mode_changed", 10, lambda a: a["new"] == MODE["SUN_POINT"])
    assert (changed["old"], changed["reason"]) == (MODE["DETUMBLE"], 1)  # autonomous
    collect(ins.link, 200 / SPEED)  # 200 s of flight to settle on the Sun
    truth = ins.hk("inspector_truth")
    assert truth["rate"] < 0.1 and truth["pointing_error"] < 1.0, truth
    # P1-style slew: 30 deg about z, error (true attitude) below 0.1 deg within 300 s
    ins.send("inspector_adcs.slew", {"axis": 2, "angle": 30.0})
    collect(ins.link, 300 / SPEED)
    truth = ins.hk("inspector_truth")
    assert truth["pointing_error"] < 0.1 and truth["h_frac"] < 1.0, truth
    ins.fails("inspector_adcs.point_inertial", {"q0": 0.2, "q1": 0, "q2": 0, "q3": 0}, "ARG_OUT_OF_RANGE")


@pytest.mark.slow
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_inspector_approach_capture_leak_abort_and_ellipse(inspector, runtime, tmp_path):  # noqa: C901
    ins = inspector(runtime, {"rel0": [0.0, -150.0, 0.0, 0.0, 0.0, 0.0]})
    ins.fails("inspector_gnc.abort", {}, "NOT_ALLOWED_IN_MODE")
    ins.fails("inspector_camera.capture", {"rows_per_cycle": 8}, "NOT_ALLOWED_IN_MODE")
    ins.send("inspector_adcs.set_mode", {"mode": MODE["TARGET_POINT"]})
    assert 140.0 < ins.event("inspector_target_acquired", 10)["range"] < 160.0
    ins.fails("inspector_gnc.approach", {"x": 0, "y": -10, "z": 0, "t": 600}, "ARG_OUT_OF_RANGE")  # inside keep-out
    period = 2 * math.pi / math.sqrt(3.986004418e14 / (6371.2e3 + 500e3) ** 3)
    ins.fails("inspector_gnc.approach", {"x": 0, "y": -60, "z": 0, "t": period}, "ARG_OUT_OF_RANGE")  # singular
    ins.fails("inspector_gnc.enter_ellipse", {"a": 5, "c": 5, "phase": 90, "y_c": 0, "t": 900}, "ARG_OUT_OF_RANGE")

    # approach to the V-bar hold at 60 m: two burns, then the truth sits at the hold point
    ins.send("inspector_gnc.approach", {"x": 0.0, "y": -60.0, "z": 0.0, "t": 600.0})
    assert ins.mode() == MODE["APPROACH"]
    b1 = ins.event("inspector_burn", 10, lambda a: a["burn"] == 1)
    b2 = ins.event("inspector_burn", 600 / SPEED + 30, lambda a: a["burn"] == 2)
    assert b2["dv_used"] > b1["dv"] > 0.0
    collect(ins.link, 120 / SPEED)  # the line of sight turned during the transfer: let the pointing settle
    truth = ins.hk("inspector_truth")
    assert abs(truth["r_y"] + 60.0) < 3.0 and abs(truth["r_x"]) < 3.0 and abs(truth["r_z"]) < 3.0, truth
    assert truth["pointing_error"] < 1.0, truth

    # image: rendered in slices, downlinked by ST13, byte-exact (CRC of the transfer) and written as PNG
    # (BUSY while rendering is checked in tests/firmware/test_inspector_app.py: here it would race the speed-up)
    ins.send("inspector_camera.capture", {"rows_per_cycle": 8})
    ready = ins.event("inspector_image_ready", 30)
    assert ready["transaction"] > 0 and ready["lit"] > 0 and ready["size"] == 4 + ready["width"] * ready["height"]
    # the announcement and the parts flow while we wait for image_ready: reassemble all we saw,
    # then the rest of the link; ask again (TC 13.129, transfer.fetch) only if something was lost
    reasm = transfer.Reassembler()
    for p in ins.seen:
        reasm.feed(p)
    t = reasm.get(ready["transaction"])
    if not (t.complete and t.announced):
        try:
            wait_for(ins.link, lambda p: reasm.feed(p) is not None and t.complete and t.announced, 20)
        except AssertionError:
            t = transfer.fetch(ins.link, ready["transaction"], wait=30.0)
    data = t.data()  # checks size and CRC against transfer_started
    assert struct.unpack(">HH", data[:4]) == (ready["width"], ready["height"])
    assert sum(1 for px in data[4:] if px) == ready["lit"]
    path = transfer.write_product(t, tmp_path)
    png = path.read_bytes()
    assert path.suffix == ".png" and png.startswith(image.PNG_SIGNATURE)
    idat = png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8]
    rows = zlib.decompress(idat)
    w = ready["width"]
    assert b"".join(rows[r * (w + 1) + 1:(r + 1) * (w + 1)] for r in range(ready["height"])) == data[4:]

    # a leaking thruster pushes toward the debris: the keep-out sweep predicts the breach, abort
    ins.send("inspector_adcs.inject_fault", {"device": 8, "fault": 3, "value": 0.002})
    abort = ins.event("inspector_abort", 600 / SPEED + 30)
    assert abort["reason"] == 1 and abort["min_range"] < d.PARAM_BY_NAME["gnc.keepout_radius"].default
    changed = ins.event("inspector_mode_changed", 10, lambda a: a["new"] == MODE["ABORT"])
    assert changed["reason"] == 1
    ins.event("inspector_burn", 10, lambda a: a["burn"] == 3)
    ins.send("inspector_adcs.clear_faults", {"device": 8})
    collect(ins.link, 300 / SPEED)
    truth = ins.hk("inspector_truth")
    assert truth["min_range"] > d.PARAM_BY_NAME["gnc.keepout_radius"].default, truth

    # back to pointing, then onto a safety ellipse: FLY_AROUND after burn 2
    ins.send("inspector_adcs.set_mode", {"mode": MODE["TARGET_POINT"]})
    ins.send("inspector_gnc.enter_ellipse", {"a": 40.0, "c": 40.0, "phase": 90.0, "y_c": 0.0, "t": 900.0})
    ins.event("inspector_mode_changed", 900 / SPEED + 30, lambda a: a["new"] == MODE["FLY_AROUND"])
    gnc = ins.hk("inspector_gnc")
    assert gnc["burns_pending"] == 0 and gnc["unsafe"] == 0, gnc
    obc = ins.hk("obc")
    print("%s: heap peak %d B (OBC HK), cycle cost last %d us, max %d us" % (
        runtime, obc.get("heap_peak", -1), ins.hk("inspector_adcs")["cycle_us"], ins.hk("inspector_adcs")["cycle_us_max"]))
