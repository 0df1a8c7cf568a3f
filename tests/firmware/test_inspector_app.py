"""inspector.app on CPython: modes and autonomous transitions, every function's checks with
their exact error codes, the keep-out abort in the detecting cycle, the camera product.
The app runs its real 10 Hz cycle on the emulated hardware (hw.inspector) with the cffi core
when built (else the fallback); the OBC around it is a small stand-in."""

import json
import math
import struct

import pytest

from fsw import dictionary as D
from fsw import packet as fp
from fsw.dispatcher import Dispatcher
from fsw.params import Params
from fsw.services.st3 import Housekeeping
from fsw.services.st5 import Events
from ground import REPO_ROOT, codec
from ground import dictionary as d

SAFE, DETUMBLE, SUN_POINT, TARGET_POINT, APPROACH, FLY_AROUND, ABORT = range(7)
THRUSTERS, LEAK = 8, 3


class Clock:
    def __init__(self):
        self.ms = 0

    def uptime_ms(self):
        return self.ms

    def real_ms(self, flight_ms):
        return 0

    def cuc(self):
        return (self.ms // 1000, 0)


class LargeData:
    def __init__(self):
        self.started = []

    def start(self, product, data):
        self.started.append((product, bytes(data)))
        return 40 + len(self.started)


class Obc:
    def __init__(self):
        D.use_vehicle("inspector")  # as fsw.app.Obc does first for board.json's vehicle
        self.clock = Clock()
        self.tm = fp.TmWriter(self.clock, D.MAX_FRAME)
        self.sent = []
        self.dispatcher = Dispatcher(self.tm, self.send)
        self.events = Events(D.APID_OBC, self.tm, self.send)
        self.hk = Housekeeping(D.APID_OBC, self.tm, self.send, self.clock)
        self.params = Params(store="no-such-store.dat")
        self.large_data = LargeData()
        self.vehicle = None

    def send(self, buf, n):
        self.sent.append(codec.decode(bytes(buf[:n])))

    def events_named(self, name):
        eid = d.EVENT_BY_NAME[name].id
        return [p["data"]["aux"] for p in self.sent if p.get("service") == 5 and p["data"]["event_id"] == eid]


def make(scenario=None, devices=None):
    from inspector import app

    board = json.loads((REPO_ROOT / "boards" / "rp2-pico.json").read_text())
    if devices is not None:
        board["devices"] = devices
    board["scenario"] = scenario or {}
    obc = Obc()
    return obc, app.start(obc, board)


def call(v, fid, *args):
    """ST8 as the service runs it: the start checks (mode mask, ranges, the app's own), then execute."""
    err = v.functions.check([fid] + list(args))
    return err if err else v.functions.perform([fid] + list(args))


def run(v, cycles):
    for _ in range(cycles):
        v.obc.clock.ms += 100
        v.cycle(v.obc.clock.ms)
        v.payload.cycle(v.obc.clock.ms)


def test_boots_in_safe_with_its_tasks_and_hk():
    obc, v = make()
    assert v.mode == SAFE and [t.name for t in v.tasks] == ["adcs", "payload"]
    assert sorted(obc.hk.sources) == [10, 11, 12, 13, 14, 15]
    run(v, 3)
    for sid in obc.hk.sources:
        obc.hk.report(sid)  # every structure encodes with its dictionary layout
    assert [p["data"]["sid"] for p in obc.sent[-6:]] == sorted(obc.hk.sources)


def test_set_mode_refuses_the_modes_guidance_enters():
    obc, v = make()
    for mode in (APPROACH, FLY_AROUND, ABORT):
        assert call(v, D.FN_INSPECTOR_ADCS_SET_MODE, mode) == D.ERR_ARG_OUT_OF_RANGE
    assert call(v, D.FN_INSPECTOR_ADCS_SET_MODE, TARGET_POINT) == 0 and v.mode == TARGET_POINT


def test_detumble_ends_in_sun_point_by_itself_with_its_event():
    obc, v = make({"w0": [0.01, -0.015, 0.01]})
    assert call(v, D.FN_INSPECTOR_ADCS_SET_MODE, DETUMBLE) == 0
    for _ in range(100):
        run(v, 100)
        if v.mode != DETUMBLE:
            break
    assert v.mode == SUN_POINT
    (aux,) = obc.events_named("inspector_detumbled")
    assert aux["rate"] < 0.5 and aux["duration"] > 10.0
    assert obc.events_named("inspector_mode_changed")[-1] == {"old": DETUMBLE, "new": SUN_POINT, "reason": 1}


def test_function_modes_and_checks_with_exact_errors():
    obc, v = make({"rel0": [0.0, -150.0, 0.0, 0.0, 0.0, 0.0]})
    assert call(v, D.FN_INSPECTOR_GNC_APPROACH, 0.0, -60.0, 0.0, 600.0) == D.ERR_NOT_ALLOWED_IN_MODE
    assert call(v, D.FN_INSPECTOR_GNC_ABORT) == D.ERR_NOT_ALLOWED_IN_MODE
    assert call(v, D.FN_INSPECTOR_CAMERA_CAPTURE, 4) == D.ERR_NOT_ALLOWED_IN_MODE
    assert call(v, D.FN_INSPECTOR_ADCS_SLEW, 0, 30.0) == D.ERR_NOT_ALLOWED_IN_MODE
    call(v, D.FN_INSPECTOR_ADCS_SET_MODE, SUN_POINT)
    assert call(v, D.FN_INSPECTOR_ADCS_POINT_INERTIAL, 0.2, 0.0, 0.0, 0.0) == D.ERR_ARG_OUT_OF_RANGE
    assert call(v, D.FN_INSPECTOR_ADCS_SLEW, 3, 30.0) == D.ERR_ARG_OUT_OF_RANGE
    assert call(v, D.FN_INSPECTOR_ADCS_SLEW, 2, 181.0) == D.ERR_ARG_OUT_OF_RANGE
    assert call(v, D.FN_INSPECTOR_ADCS_POINT_INERTIAL, 0.0, 0.0, 0.0, 1.0) == 0 and v.adcs.holding
    call(v, D.FN_INSPECTOR_ADCS_SET_MODE, TARGET_POINT)
    assert not v.adcs.holding  # a hold lasts until the next mode change
    # no relative navigation yet: nothing to plan from
    assert call(v, D.FN_INSPECTOR_GNC_APPROACH, 0.0, -60.0, 0.0, 600.0) == D.ERR_EXECUTION_FAILED
    assert call(v, D.FN_INSPECTOR_GNC_ABORT) == D.ERR_EXECUTION_FAILED
    assert call(v, D.FN_INSPECTOR_ADCS_INJECT_FAULT, THRUSTERS, LEAK, 0.002) == D.ERR_ARG_OUT_OF_RANGE
    run(v, 2)
    assert call(v, D.FN_INSPECTOR_GNC_APPROACH, 0.0, -10.0, 0.0, 600.0) == D.ERR_ARG_OUT_OF_RANGE  # inside 15 m
    period = 2 * math.pi / v.hw.world.n
    assert call(v, D.FN_INSPECTOR_GNC_APPROACH, 0.0, -60.0, 0.0, period) == D.ERR_ARG_OUT_OF_RANGE  # singular
    assert call(v, D.FN_INSPECTOR_GNC_APPROACH, 0.0, -60.0, 0.0, 30.0) == D.ERR_ARG_OUT_OF_RANGE  # below 60 s
    assert call(v, D.FN_INSPECTOR_GNC_ENTER_ELLIPSE, 5.0, 5.0, 90.0, 0.0, 900.0) == D.ERR_ARG_OUT_OF_RANGE
    assert call(v, D.FN_INSPECTOR_ADCS_INJECT_FAULT, THRUSTERS, LEAK, 0.0) == D.ERR_ARG_OUT_OF_RANGE
    assert call(v, D.FN_INSPECTOR_ADCS_INJECT_FAULT, 1, LEAK, 1.0) == D.ERR_ARG_OUT_OF_RANGE  # imu has no leak
    assert v.mode == TARGET_POINT and v.hw.thrusters.fires == 0  # refusals changed nothing


def test_no_thrusters_or_camera_on_the_board_fails_execution():
    devices = ["imu", "magnetometer", "sun_sensor", "star_tracker", "rel_nav", "wheels", "magnetorquers", "battery"]
    obc, v = make({"rel0": [0.0, -150.0, 0.0, 0.0, 0.0, 0.0]}, devices=devices)
    call(v, D.FN_INSPECTOR_ADCS_SET_MODE, TARGET_POINT)
    run(v, 2)
    assert call(v, D.FN_INSPECTOR_GNC_APPROACH, 0.0, -60.0, 0.0, 600.0) == D.ERR_EXECUTION_FAILED
    assert call(v, D.FN_INSPECTOR_CAMERA_CAPTURE, 4) == D.ERR_EXECUTION_FAILED


def test_approach_burns_twice_and_arrives_at_the_hold_point():
    obc, v = make({"rel0": [0.0, -150.0, 0.0, 0.0, 0.0, 0.0]})
    call(v, D.FN_INSPECTOR_ADCS_SET_MODE, TARGET_POINT)
    run(v, 20)
    assert obc.events_named("inspector_target_acquired")
    assert call(v, D.FN_INSPECTOR_GNC_APPROACH, 0.0, -60.0, 0.0, 600.0) == 0 and v.mode == APPROACH
    run(v, 6100)
    burns = obc.events_named("inspector_burn")
    assert [b["burn"] for b in burns] == [1, 2]
    c = v.hw.world.cw
    assert math.dist(c[0:3], (0.0, -60.0, 0.0)) < 3.0
    assert math.hypot(c[3], c[4], c[5]) < 0.005
    assert v.guidance.burns_pending() == 0 and not obc.events_named("inspector_abort")


def test_enter_ellipse_ends_in_fly_around():
    obc, v = make({"rel0": [0.0, -150.0, 0.0, 0.0, 0.0, 0.0]})
    call(v, D.FN_INSPECTOR_ADCS_SET_MODE, TARGET_POINT)
    run(v, 20)
    assert call(v, D.FN_INSPECTOR_GNC_ENTER_ELLIPSE, 40.0, 40.0, 90.0, 0.0, 900.0) == 0
    run(v, 9100)
    assert v.mode == FLY_AROUND
    assert obc.events_named("inspector_mode_changed")[-1] == {"old": APPROACH, "new": FLY_AROUND, "reason": 1}
    run(v, 3000)  # on the ellipse: no keep-out alarm
    assert not obc.events_named("inspector_abort") and v.adcs.min_range_true > 15.0


def test_keepout_breach_aborts_in_the_detecting_cycle():
    obc, v = make({"rel0": [0.0, -40.0, 0.0, 0.0, 0.15, 0.0]})  # closing at 15 cm/s
    call(v, D.FN_INSPECTOR_ADCS_SET_MODE, TARGET_POINT)
    for _ in range(12):  # one setup cycle, then one 10-cycle sweep (gnc.h)
        run(v, 1)
        if v.mode == ABORT:
            break
    assert v.mode == ABORT
    assert v.hw.thrusters.fires == 1  # the first pulse of the abort burn in the same cycle
    (aux,) = obc.events_named("inspector_abort")
    assert aux["reason"] == 1 and aux["min_range"] < 15.0 and aux["safe"] == 1
    assert obc.events_named("inspector_mode_changed")[-1] == {"old": TARGET_POINT, "new": ABORT, "reason": 1}
    run(v, 3000)
    assert v.adcs.min_range_true > 15.0


def test_commanded_abort_and_leak_toward_the_debris():
    obc, v = make({"rel0": [0.0, -60.0, 0.0, 0.0, 0.0, 0.0]})
    call(v, D.FN_INSPECTOR_ADCS_SET_MODE, TARGET_POINT)
    run(v, 5)
    assert call(v, D.FN_INSPECTOR_ADCS_INJECT_FAULT, THRUSTERS, LEAK, 0.002) == 0
    leak = v.hw.thrusters.leak
    assert leak[1] > 0.0019 and abs(leak[0]) < 1e-4  # toward the debris: +y from the V-bar behind it
    assert call(v, D.FN_INSPECTOR_ADCS_CLEAR_FAULTS, THRUSTERS) == 0 and not v.hw.thrusters.leaking
    assert call(v, D.FN_INSPECTOR_GNC_ABORT) == 0 and v.mode == ABORT
    (aux,) = obc.events_named("inspector_abort")
    assert aux["reason"] == 0 and 55.0 < aux["min_range"] < 65.0
    run(v, 10)
    assert [b["burn"] for b in obc.events_named("inspector_burn")] == [3]
    assert call(v, D.FN_INSPECTOR_GNC_ABORT) == D.ERR_NOT_ALLOWED_IN_MODE


def test_capture_renders_in_slices_and_starts_an_image_product():
    obc, v = make({"rel0": [0.0, -30.0, 0.0, 0.0, 0.0, 0.0]})
    call(v, D.FN_INSPECTOR_ADCS_SET_MODE, TARGET_POINT)
    run(v, 600)  # settle on the debris
    assert call(v, D.FN_INSPECTOR_CAMERA_CAPTURE, 0) == D.ERR_ARG_OUT_OF_RANGE
    assert call(v, D.FN_INSPECTOR_CAMERA_CAPTURE, 16) == 0
    assert call(v, D.FN_INSPECTOR_CAMERA_CAPTURE, 16) == D.ERR_BUSY
    run(v, 2)
    assert v.payload.busy and not obc.large_data.started  # 32 of 48 rows
    run(v, 1)
    (product, data), = obc.large_data.started
    cam = v.hw.camera
    assert d.obc.PRODUCTS[product] == "image"
    assert struct.unpack(">HH", data[:4]) == (cam.width, cam.height) and data[4:] == bytes(cam.image)
    (aux,) = obc.events_named("inspector_image_ready")
    lit = sum(1 for p in cam.image if p)
    assert aux == {"transaction": 41, "width": cam.width, "height": cam.height, "size": len(data), "lit": lit}
    assert lit > 100  # the debris is in the picture


def test_image_product_is_written_as_png_with_the_same_pixels(tmp_path):
    import zlib

    from ground import image

    pixels = bytes(range(12))
    path = image.write_png(tmp_path, "img", struct.pack(">HH", 4, 3) + pixels)
    png = path.read_bytes()
    assert png.startswith(image.PNG_SIGNATURE) and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (4, 3)
    raw = zlib.decompress(png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8])
    assert raw == b"".join(b"\x00" + pixels[r * 4:(r + 1) * 4] for r in range(3))
    with pytest.raises(image.ImageError, match="header says 4 x 3, carries 11 pixel octets"):
        image.write_png(tmp_path, "bad", struct.pack(">HH", 4, 3) + pixels[:11])


def test_momentum_dumping_waits_for_the_end_of_a_slew():
    # the rods dump only with the estimate within 5 deg of the reference: in a slew the wheels
    # hold the body's momentum and dumping it would brake the slew
    obc, v = make({"w0": [0.0, 0.0, 0.0]})
    assert call(v, D.FN_INSPECTOR_ADCS_SET_MODE, SUN_POINT) == 0
    run(v, 3)
    a = v.adcs
    dipoles, reported = [], []
    for err_deg in (1.0, 4.9, 5.1, 60.0, 180.0):
        half = math.radians(err_deg) / 2.0
        for i, x in enumerate((math.cos(half), math.sin(half), 0.0, 0.0)):
            a.q_est[i] = x  # the estimate err_deg about x from the reference (identity)
        for i, x in enumerate((1.0, 0.0, 0.0, 0.0)):
            a.q_ref[i] = x
        for i, x in enumerate((2e-5, -1e-5, 3e-5)):
            a.m_dump[i] = x
        a.actuate(SUN_POINT)
        dipoles.append(list(v.hw.world.dipole))
        reported.append(list(v.hk_adcs()[12:15]))  # HK's commanded dipole (m_x, m_y, m_z)
    on, off = pytest.approx([2e-5, -1e-5, 3e-5]), [0.0, 0.0, 0.0]
    assert dipoles == [on, on, off, off, off]
    assert reported == dipoles  # HK says what the rods were told, not what the core proposed
