"""The rover's emulated hardware (firmware/hw: moon, mobility, drill, spectrometer, rover_power, rover).

Expectations are computed here independently of the models (closed-form arcs, finite differences,
a dense horizon march, the power balance summed step by step), and the key checks run again on the
MicroPython unix port.
"""

import math
import sys
import textwrap
from array import array

import pytest

import gnc
from hw import moon
from hw.drill import Drill
from hw.mobility import Wheels
from hw.moon import DAY_S, PSR_R, PSR_X, PSR_Y, MoonWorld, Terrain, sun_position
from hw.noise import Rng
from hw.rover import DEVICES, build
from hw.spectrometer import Spectrometer

ALL = {"devices": list(DEVICES)}
DEG = math.pi / 180.0
DT = 0.1
# R5's flight limits (hil/scenarios/rover_drill.py): torque N m, current A, temperature C, target m, feed m/s
DRILL_LIMITS = (25.0, 4.0, 50.0, 1.5, 0.002)


def f32(n):
    return array("f", [0.0] * n)


def rover(**kw):
    return build(ALL, seed=kw.pop("seed", 1), **kw)


def run(hw, seconds):
    for _ in range(int(round(seconds / DT))):
        hw.step(DT)


# ---- build, options, attached drivers -------------------------------------------------------


def test_rover_build_creates_only_listed_devices():
    hw = build({"devices": ["imu", "wheels", "drill", "rel_nav", "magnetometer"]})
    assert hw.devices == ("wheels", "imu", "drill")
    assert hw.imu is not None and hw.wheels is not None and hw.drill is not None
    for name in ("encoders", "sun_sensor", "hazard", "spectrometer", "battery"):
        assert getattr(hw, name) is None
    assert hw.world is not None
    hw.step(DT)  # no battery, no encoders: still steps


def test_rover_build_from_the_board_files_makes_every_rover_device():
    import json

    from ground import FIRMWARE_DIR

    for name in ("rp2-pico", "esp32-devkitc"):
        board = json.loads((FIRMWARE_DIR.parent / "boards" / ("%s.json" % name)).read_text())
        hw = build(board)
        assert hw.devices == DEVICES, name
        hw.step(DT)


def test_rover_default_start_is_lit_a_few_hundred_metres_from_the_psr_rim():
    hw = rover()
    x, y, psi = hw.world.pose
    rim_distance = math.hypot(x - PSR_X, y - PSR_Y) - PSR_R
    assert 200.0 <= rim_distance <= 500.0
    assert hw.world.lit
    assert psi == 0.0  # facing the crater (east)


def test_rover_bad_options_are_refused_with_their_message():
    with pytest.raises(ValueError, match=r"^rover: unknown option 'colour' \(world: start, sun_az0, "):
        rover(colour=1)
    with pytest.raises(ValueError, match=r"^moon: start must be \(x, y, psi\), got 2 values$"):
        rover(start=(1.0, 2.0))
    with pytest.raises(ValueError, match=r"^moon: slip must be in 0..1 \(exclusive\), got 1.0$"):
        rover(slip=1.0)
    with pytest.raises(ValueError, match=r"^moon: the Sun must stay within 3 deg of the horizon: "
                                         r"\|sun_el_mean\| \+ sun_el_amp = 3.500 deg$"):
        rover(sun_el_mean=2.0 * DEG, sun_el_amp=1.5 * DEG)
    with pytest.raises(ValueError, match=r"^moon: track must be > 0 m, got 0.0$"):
        rover(track=0.0)
    with pytest.raises(ValueError, match=r"^moon: sun_az0 must be finite, got nan$"):
        rover(sun_az0=float("nan"))
    with pytest.raises(ValueError, match=r"^rover: dt must be in \(0, 60\] s, got 0.0$"):
        rover().step(0.0)
    with pytest.raises(ValueError, match=r"^rover: dt must be in \(0, 60\] s, got -0.1$"):
        rover().step(-0.1)


def test_rover_per_device_options_reach_the_model():
    hw = rover(wheels={"v_max": 0.5, "a_max": 1.0}, battery={"capacity_wh": 100.0})
    assert hw.wheels.v_max == 0.5 and hw.wheels.a_max == 1.0
    assert hw.battery.capacity == 360000.0
    with pytest.raises(TypeError):
        rover(imu={"no_such_option": 1})


FAKE_DRIVER = '''
class FakeImu:
    # a real driver stand-in: same read(out) as the model
    def __init__(self, board):
        self.board_name = board["name"]
        self.reads = 0

    def read(self, out):
        self.reads += 1
        out[0] = 0.125
        return True
'''


@pytest.fixture
def driver_dir(tmp_path):
    (tmp_path / "fake_rover_drivers.py").write_text(FAKE_DRIVER)
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("fake_rover_drivers", None)


def test_rover_attached_driver_replaces_the_model(driver_dir):
    board = {"name": "bench", "devices": ["imu", "wheels"], "attached": {"imu": "fake_rover_drivers.FakeImu"}}
    hw = build(board)
    assert type(hw.imu).__name__ == "FakeImu" and hw.imu.board_name == "bench"
    assert hw.attached == ("imu",)
    buf = f32(1)
    assert hw.imu.read(buf) and buf[0] == 0.125 and hw.imu.reads == 1
    hw.step(DT)
    with pytest.raises(ValueError, match=r"^rover: device 'imu' is an attached driver without fault injection$"):
        hw.inject("imu", "dropout")


def test_rover_attached_driver_errors(driver_dir):
    with pytest.raises(ValueError, match=r"^rover: attached device 'imu' is not in the board's devices$"):
        build({"devices": ["wheels"], "attached": {"imu": "fake_rover_drivers.FakeImu"}})
    with pytest.raises(ValueError, match=r"^rover: attached device 'lidar' is not a rover device \(wheels, "):
        build({"devices": ["imu"], "attached": {"lidar": "fake_rover_drivers.FakeImu"}})
    with pytest.raises(ValueError, match=r"^attached driver 'FakeImu' must be 'module.Class'$"):
        build({"devices": ["imu"], "attached": {"imu": "FakeImu"}})
    with pytest.raises(ValueError, match=r"^attached driver 'fake_rover_drivers.Nope': module "
                                         r"'fake_rover_drivers' has no 'Nope'$"):
        build({"devices": ["imu"], "attached": {"imu": "fake_rover_drivers.Nope"}})
    with pytest.raises(ImportError):
        build({"devices": ["imu"], "attached": {"imu": "no_such_driver_module.Imu"}})


# ---- fault injection by command ---------------------------------------------------------------


def test_rover_inject_and_clear_errors_name_device_and_fault():
    hw = rover()
    with pytest.raises(ValueError, match=r"^rover: unknown device 'lidar' \(devices: wheels, encoders, imu, "
                                         r"sun_sensor, hazard, drill, spectrometer, battery\)$"):
        hw.inject("lidar", "dropout")
    with pytest.raises(ValueError, match=r"^imu: no fault 'stall' \(faults: dropout\)$"):
        hw.inject("imu", "stall")
    with pytest.raises(ValueError, match=r"^drill: no fault 'dropout' \(faults: stall, over_temperature\)$"):
        hw.inject("drill", "dropout")
    with pytest.raises(ValueError, match=r"^wheels: stuck value must be 0 \(free\), 1 \(left\), 2 \(right\) or "
                                         r"3 \(both\), got 4$"):
        hw.inject("wheels", "stuck", 4)
    with pytest.raises(ValueError, match=r"^imu: fault value must be a finite number, got nan$"):
        hw.inject("imu", "dropout", float("nan"))
    with pytest.raises(ValueError, match=r"^rover: clearing fault 'stall' needs a device$"):
        hw.clear(None, "stall")
    small = build({"devices": ["imu"]})
    with pytest.raises(ValueError, match=r"^rover: device 'drill' is not on this board$"):
        small.inject("drill", "stall")


def test_rover_clear_removes_one_fault_or_all():
    hw = rover()
    hw.inject("imu", "dropout")
    hw.inject("sun_sensor", "dropout")
    hw.inject("drill", "stall")
    hw.inject("drill", "over_temperature")
    hw.inject("wheels", "stuck", 2)
    hw.clear("drill", "stall")
    assert hw.drill.stall == 0 and hw.drill.over_temperature == 1
    hw.clear("imu")
    assert hw.imu.dropout == 0 and hw.sun_sensor.dropout == 1
    hw.clear()
    assert (hw.sun_sensor.dropout, hw.drill.over_temperature, hw.wheels.stuck) == (0, 0, 0)


# ---- terrain and Sun --------------------------------------------------------------------------


def test_moon_slope_matches_finite_differences_of_height():
    t = Terrain(3)
    rng = Rng(5)
    h = 0.01
    for _ in range(200):
        x = -200.0 + 800.0 * rng.uniform()
        y = -250.0 + 500.0 * rng.uniform()
        gx = (t.height(x + h, y) - t.height(x - h, y)) / (2 * h)
        gy = (t.height(x, y + h) - t.height(x, y - h)) / (2 * h)
        assert t.slope(x, y) == pytest.approx(math.degrees(math.atan(math.hypot(gx, gy))), abs=0.05)
        if math.hypot(gx, gy) > 0.02:  # direction is meaningless on the flat
            d = t.slope_dir(x, y) - math.atan2(gy, gx)
            assert abs(math.remainder(d, 2 * math.pi)) < 0.02


def test_moon_terrain_is_deterministic_by_seed():
    a, b, c = Terrain(7), Terrain(7), Terrain(8)
    pts = [(-120.0, 50.0), (150.0, -170.0), (250.0, -75.0), (10.0, 10.0)]
    assert [a.height(*p) for p in pts] == [b.height(*p) for p in pts]
    assert [a.height(*p) for p in pts] != [c.height(*p) for p in pts]
    # the PSR crater is the same for every seed (routes name it)
    assert a.height(PSR_X, PSR_Y) == pytest.approx(c.height(PSR_X, PSR_Y), abs=0.7)


def test_moon_psr_crater_walls_are_drivable_and_the_floor_is_deep():
    t = Terrain(1)
    steepest = max(t.slope(PSR_X - r, PSR_Y) for r in range(0, 101, 2))
    assert 10.0 < steepest < 20.0  # a 20 deg slope limit lets the rover in
    assert t.height(PSR_X, PSR_Y) < t.height(0.0, 0.0) - 10.0


def test_moon_terrain_has_slope_hazards_above_twenty_degrees():
    t = Terrain(1)
    steep = sum(1 for i in range(60) for j in range(60) if t.slope(100.0 + 5.0 * i, -150.0 + 5.0 * j) > 20.0)
    assert steep > 0


def dense_horizon(t, x, y, az, mast):
    # an independent horizon: every 0.5 m out to 700 m
    h0 = t.height(x, y) + mast
    c, s = math.cos(az), math.sin(az)
    best = -1e9
    d = 0.5
    while d <= 700.0:
        best = max(best, (t.height(x + d * c, y + d * s) - h0 - 0.5 * d * d / moon.MOON_RADIUS) / d)
        d += 0.5
    return math.atan(best)


def test_moon_horizon_agrees_with_a_dense_march():
    t = Terrain(1)
    rng = Rng(11)
    for _ in range(60):
        x = -200.0 + 800.0 * rng.uniform()
        y = -250.0 + 500.0 * rng.uniform()
        az = 2 * math.pi * rng.uniform()
        assert t.horizon(x, y, az, 1.0) == pytest.approx(dense_horizon(t, x, y, az, 1.0), abs=0.25 * DEG)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_moon_psr_floor_is_dark_at_every_sun_azimuth(seed):
    w = MoonWorld(seed=seed)
    # the Sun at its highest allowed elevation, 3 deg, all the way round; floor = half the rim radius
    for r in (0.0, 20.0, 35.0, 50.0):
        for k in range(8):
            x = PSR_X + r * math.cos(k * math.pi / 4)
            y = PSR_Y + r * math.sin(k * math.pi / 4)
            for az_deg in range(0, 360, 10):
                assert dense_horizon(w.terrain, x, y, az_deg * DEG, 0.0) > 3.0 * DEG, (x, y, az_deg)
            for j in range(36):
                assert not w.illuminated(x, y, j * DAY_S // 36), (x, y, j)


def test_moon_open_ground_is_lit_for_most_azimuths():
    w = MoonWorld(seed=1)
    rng = Rng(3)
    lit = total = 0
    for _ in range(40):
        x = -150.0 + 350.0 * rng.uniform()
        y = -100.0 + 200.0 * rng.uniform()
        for j in range(24):
            lit += w.illuminated(x, y, j * DAY_S // 24)
            total += 1
    assert lit / total > 0.85
    start = sum(w.illuminated(0.0, 0.0, j * DAY_S // 72) for j in range(72))
    assert start >= 60


def test_moon_sun_sweeps_360_deg_per_lunar_day_within_3_deg_of_the_horizon():
    out = [0.0, 0.0]
    for j in range(48):
        t = j * DAY_S // 48
        sun_position(t, out, az0=0.3)
        expected = math.remainder(0.3 + 2 * math.pi * t / DAY_S, 2 * math.pi)
        assert abs(math.remainder(out[0] - expected, 2 * math.pi)) < 1e-6
        assert 0.5 * DEG - 1e-9 <= out[1] <= 2.5 * DEG + 1e-9
        assert out[1] == pytest.approx(moon.SUN_EL_MEAN + moon.SUN_EL_AMP * math.cos(out[0] - moon.SUN_AZ_PEAK))
    sun_position(DAY_S, out, az0=0.3)
    assert out[0] == pytest.approx(0.3)


def test_moon_world_time_is_integer_and_the_sun_follows_it():
    w = MoonWorld(sun_az0=1.0)
    for _ in range(25):
        w.step(0.1)
    assert (w.t_s, w.t_ms) == (2, 500)
    ref = [0.0, 0.0]
    sun_position(2, ref, az0=1.0)
    assert list(w.sun) == pytest.approx(ref, abs=1e-6)
    w.t_s = DAY_S - 1  # with t_ms 500: 0.5 s to the end of the day
    w.step(1.5)
    assert (w.days, w.t_s, w.t_ms) == (1, 1, 0)  # 2.5 s before the wrap + 1.5 s


# ---- kinematics, wheels and sensors -----------------------------------------------------------


@pytest.mark.parametrize("vl, vr", [(0.15, 0.25), (0.2, 0.1), (-0.1, 0.1), (0.2, 0.2)])
def test_rover_pose_follows_the_closed_form_arc(vl, vr):
    hw = rover(start=(10.0, -5.0, 0.4), wheels={"a_max": 10.0})
    hw.wheels.command(vl, vr)
    hw.step(DT)  # ramped within one step
    x0, y0, p0 = hw.world.pose
    v = 0.5 * (vl + vr)
    w = (vr - vl) / hw.world.track
    n = 300
    run(hw, n * DT)
    t = n * DT
    if abs(w) > 0:
        ex = x0 + v / w * (math.sin(p0 + w * t) - math.sin(p0))
        ey = y0 - v / w * (math.cos(p0 + w * t) - math.cos(p0))
    else:
        ex, ey = x0 + v * t * math.cos(p0), y0 + v * t * math.sin(p0)
    x, y, p = hw.world.pose
    assert (x, y) == pytest.approx((ex, ey), abs=2e-3)
    assert abs(math.remainder(p - (p0 + w * t), 2 * math.pi)) < 1e-4


def test_rover_slip_slows_motion_but_not_the_encoders():
    hw = rover(slip=0.25, wheels={"a_max": 10.0})
    hw.wheels.command(0.2, 0.2)
    run(hw, 10.0)
    assert hw.world.pose[0] == pytest.approx(0.75 * 0.2 * 10.0, abs=1e-3)
    enc = f32(2)
    assert hw.encoders.read(enc)
    assert list(enc) == pytest.approx([0.2, 0.2], abs=0.01)


def test_wheels_acceleration_limit_ramps_the_speed():
    hw = rover(wheels={"a_max": 0.2})
    hw.wheels.command(0.3, -0.1)
    hw.step(DT)
    assert list(hw.world.wheel) == pytest.approx([0.02, -0.02])
    run(hw, 1.0)
    assert list(hw.world.wheel) == pytest.approx([0.22, -0.1])
    run(hw, 1.0)
    assert list(hw.world.wheel) == pytest.approx([0.3, -0.1])


def test_wheels_speed_limit_and_bad_commands():
    w = Wheels(MoonWorld(), v_max=0.3)
    with pytest.raises(ValueError, match=r"^wheels: v_left 0.31 m/s outside -0.3..0.3$"):
        w.command(0.31, 0.0)
    with pytest.raises(ValueError, match=r"^wheels: v_right -0.5 m/s outside -0.3..0.3$"):
        w.command(0.0, -0.5)
    with pytest.raises(ValueError, match=r"^wheels: v_left nan m/s outside -0.3..0.3$"):
        w.command(float("nan"), 0.0)
    w.command(0.3, -0.3)  # at the limit is fine
    with pytest.raises(ValueError, match=r"^wheels: v_max must be > 0 m/s, got 0$"):
        Wheels(MoonWorld(), v_max=0)
    with pytest.raises(ValueError, match=r"^wheels: a_max must be > 0 m/s\^2, got -1$"):
        Wheels(MoonWorld(), a_max=-1)


def test_wheels_stuck_side_pivots_the_rover_and_both_stop_it():
    hw = rover(wheels={"a_max": 10.0})
    hw.inject("wheels", "stuck", 1)  # left
    hw.wheels.command(0.2, 0.2)
    hw.step(DT)
    x0, y0, p0 = hw.world.pose
    run(hw, 5.0)
    track = hw.world.track
    assert hw.world.omega == pytest.approx(0.2 / track)
    assert hw.world.v == pytest.approx(0.1)
    # a pivot about the stuck left wheel: the centre stays track/2 from it
    px = x0 - 0.5 * track * math.sin(p0)
    py = y0 + 0.5 * track * math.cos(p0)
    x, y, _ = hw.world.pose
    assert math.hypot(x - px, y - py) == pytest.approx(0.5 * track, abs=1e-3)
    enc = f32(2)
    hw.encoders.read(enc)
    assert abs(enc[0]) < 0.01 and enc[1] == pytest.approx(0.2, abs=0.01)
    hw.inject("wheels", "stuck", 3)
    hw.step(DT)
    before = list(hw.world.pose)
    run(hw, 2.0)
    assert list(hw.world.pose) == before and hw.world.v == 0.0 and hw.world.omega == 0.0
    hw.clear("wheels")
    run(hw, 1.0)
    assert hw.world.wheel[0] == pytest.approx(0.2)


def test_imu_reads_rate_plus_bias_plus_noise_and_drops_out():
    hw = rover(wheels={"a_max": 10.0}, imu={"bias": 1e-3, "sigma": 2e-4})
    hw.wheels.command(-0.1, 0.1)
    buf = f32(1)
    n = 400
    total = 0.0
    sq = 0.0
    for _ in range(n):
        hw.step(DT)
        assert hw.imu.read(buf)
        e = buf[0] - (0.2 / hw.world.track + 1e-3)
        total += e
        sq += e * e
    assert abs(total / n) < 4 * 2e-4 / math.sqrt(n)
    assert math.sqrt(sq / n) == pytest.approx(2e-4, rel=0.2)
    hw.inject("imu", "dropout")
    buf[0] = 7.0
    assert hw.imu.read(buf) is False and buf[0] == 7.0
    hw.clear("imu", "dropout")
    assert hw.imu.read(buf)


def test_sun_sensor_gives_azimuth_relative_to_heading_and_elevation():
    hw = rover(start=(0.0, 0.0, 0.5), sun_az0=0.8, sun_sensor={"sigma": 0.0})
    out = f32(2)
    assert hw.sun_sensor.read(out)
    ref = [0.0, 0.0]
    sun_position(0, ref, az0=0.8)
    assert out[0] == pytest.approx(0.8 - 0.5, abs=1e-6)
    assert out[1] == pytest.approx(ref[1], abs=1e-6)
    # the flight app's heading fix: psi = reference azimuth - reading
    assert math.remainder(ref[0] - out[0] - hw.world.pose[2], 2 * math.pi) == pytest.approx(0.0, abs=1e-6)


def test_sun_sensor_invalid_in_shadow_outside_fov_and_on_dropout():
    hw = rover(sun_sensor={"fov_half": 60.0 * DEG})
    out = f32(2)
    out[0] = out[1] = 9.0
    hw.world.set_pose(0.0, 0.0, 70.0 * DEG)  # Sun (az 0) 70 deg to the right: outside 60
    assert hw.sun_sensor.read(out) is False
    hw.world.set_pose(0.0, 0.0, 50.0 * DEG)
    assert hw.sun_sensor.read(out)
    hw.inject("sun_sensor", "dropout")
    out[0] = 9.0
    assert hw.sun_sensor.read(out) is False and out[0] == 9.0
    hw.clear()
    hw.world.set_pose(PSR_X, PSR_Y, 0.0)  # on the PSR floor
    assert not hw.world.lit and hw.sun_sensor.read(out) is False and out[0] == 9.0


def test_hazard_reports_the_slope_a_lookahead_ahead():
    hw = rover(hazard={"lookahead": 2.0, "sigma": 0.0})
    t = hw.world.terrain
    out = f32(1)
    for x, y, psi in ((PSR_X - 80.0, 3.0, 0.2), (250.0, -70.0, 2.0), (10.0, 0.0, -1.0)):
        hw.world.set_pose(x, y, psi)
        ax, ay = x + 2.0 * math.cos(psi), y + 2.0 * math.sin(psi)
        h = 0.01
        gx = (t.height(ax + h, ay) - t.height(ax - h, ay)) / (2 * h)
        gy = (t.height(ax, ay + h) - t.height(ax, ay - h)) / (2 * h)
        assert hw.hazard.slope_ahead(out)
        assert out[0] == pytest.approx(math.degrees(math.atan(math.hypot(gx, gy))), abs=0.05)
    hw.inject("hazard", "dropout")
    assert hw.hazard.slope_ahead(out) is False


def test_rover_readings_are_deterministic_by_seed():
    def trace(seed):
        hw = rover(seed=seed)
        hw.wheels.command(0.2, 0.18)
        b = f32(1)
        vals = []
        for _ in range(20):
            hw.step(DT)
            hw.imu.read(b)
            vals.append(b[0])
        return vals

    assert trace(4) == trace(4)
    assert trace(4) != trace(5)


# ---- drill ------------------------------------------------------------------------------------


def drill_run(hw, cycles, limits=DRILL_LIMITS, start=True, on_cycle=None):
    # gnc.drill_step (the flight algorithm) in the loop with the drill model
    s = f32(gnc.DRILL_SIZE)
    if start:
        s[1] = 1.0
    lim = array("f", limits)
    meas, cmd = f32(3), f32(2)
    log = []
    for i in range(cycles):
        hw.drill.read(meas)
        gnc.drill_step(s, meas, lim, DT, cmd)
        log.append((hw.drill.depth, meas[0], meas[1], meas[2], cmd[0], int(s[1])))
        hw.drill.command(float(cmd[0]), int(cmd[1]))
        hw.step(DT)
        if on_cycle:
            on_cycle(i, hw)
        if int(s[1]) == 3:
            break
    return s, log


def test_drill_reaches_1_5_m_nominally_within_limits():
    hw = rover()
    s, log = drill_run(hw, 20000)
    assert int(s[1]) == 3 and s[3] == 0.0  # done, no fault
    deepest = max(r[0] for r in log)
    assert deepest == pytest.approx(1.5, abs=0.002 * DT + 1e-4)
    assert max(r[1] for r in log) < DRILL_LIMITS[0]
    assert max(r[2] for r in log) < DRILL_LIMITS[1]
    assert max(r[3] for r in log) < DRILL_LIMITS[2]
    assert hw.drill.depth == 0.0  # retracted


def test_drill_torque_grows_with_depth_and_in_the_ice_layer():
    d = Drill(Rng(1))
    d.command(0.002, 1)
    torque_at = {}
    while d.depth < 1.2:
        d.step(DT)
        for z in (0.2, 0.6, 1.0):
            if z not in torque_at and d.depth >= z:
                torque_at[z] = d.torque
    # idle 1.5 + wall 4 z + cutting 4 x hardness (1.0 loose, 1.6 compacted, 2.4 ice)
    assert torque_at[0.2] == pytest.approx(1.5 + 4 * 0.2 + 4 * 1.0, abs=0.01)
    assert torque_at[0.6] == pytest.approx(1.5 + 4 * 0.6 + 4 * 1.6, abs=0.01)
    assert torque_at[1.0] == pytest.approx(1.5 + 4 * 1.0 + 4 * 2.4, abs=0.01)
    assert d.current == pytest.approx(0.4 + d.torque / 8.0)


def test_drill_stall_trips_torque_and_current_and_the_flight_retracts_within_one_cycle():
    hw = rover()
    trip = {}

    def at(i, hw):
        if i == 1500 and not trip:
            trip["depth"] = hw.drill.depth
            hw.inject("drill", "stall")

    s, log = drill_run(hw, 4000, on_cycle=at)
    onset = next(i for i, r in enumerate(log) if r[1] > DRILL_LIMITS[0] or r[2] > DRILL_LIMITS[1])
    assert log[onset][1] > DRILL_LIMITS[0] and log[onset][2] > DRILL_LIMITS[1]
    assert log[onset][4] < 0.0  # retract commanded in the same cycle
    assert all(r[4] <= 0.0 for r in log[onset:])
    assert log[onset][0] == pytest.approx(trip["depth"], abs=1e-9)  # the bit stopped
    assert s[3] in (1.0, 2.0) and int(s[1]) == 0  # torque or current stall; back up, idle
    assert hw.drill.depth == 0.0


def test_drill_over_temperature_trips_and_retracts():
    hw = rover()
    hw.inject("drill", "over_temperature")
    s, log = drill_run(hw, 4000)
    onset = next(i for i, r in enumerate(log) if r[3] > DRILL_LIMITS[2])
    assert log[onset][4] < 0.0 and s[3] == 3.0 and int(s[1]) == 0
    assert 0.0 < log[onset][0] < 1.5
    # an independent bound: with the 250 W binding heat the housing (400 J/K) warms >= 0.5 K/s
    assert onset * DT < (DRILL_LIMITS[2] + 10.0) / 0.5 + 1.0
    assert hw.drill.depth == 0.0


def test_drill_feed_without_spin_only_moves_in_the_cut_hole_and_travel_ends():
    d = Drill(Rng(1), max_depth=1.6)
    d.command(0.002, 0)
    d.step(10.0)
    assert d.depth == 0.0
    d.command(0.005, 1)
    for _ in range(4000):
        d.step(DT)
    # too fast for the ice: 1.5 + 4 z + 4 x 2.4 x 2.5 reaches the 30 N m stall torque at z = 1.125 m
    assert d.depth == pytest.approx(1.125, abs=0.0006) and d.torque >= 30.0
    d.command(0.002, 1)
    for _ in range(4000):
        d.step(DT)
    assert d.depth == pytest.approx(1.6)  # end of travel
    d.command(-0.005, 0)
    for _ in range(4000):
        d.step(DT)
    assert d.depth == 0.0
    d.command(0.005, 0)
    for _ in range(100):
        d.step(DT)
    assert d.depth == pytest.approx(0.05, abs=1e-6)  # back down the open hole


def test_drill_bad_commands():
    d = Drill(Rng(1))
    with pytest.raises(ValueError, match=r"^drill: feed 0.01 m/s outside -0.005..0.005$"):
        d.command(0.01, 1)
    with pytest.raises(ValueError, match=r"^drill: feed inf m/s outside -0.005..0.005$"):
        d.command(float("inf"), 1)
    with pytest.raises(ValueError, match=r"^drill: spin must be 0 or 1, got 2$"):
        d.command(0.001, 2)
    with pytest.raises(ValueError, match=r"^drill: max_depth must be >= 1.5 m, got 1.0$"):
        Drill(Rng(1), max_depth=1.0)


# ---- spectrometer -----------------------------------------------------------------------------


def test_spectrometer_ice_is_higher_at_depth_in_the_psr_and_near_zero_outside():
    sp = Spectrometer(seed=2)
    inside = [sp.abundance(z, PSR_X + 10.0, PSR_Y) for z in (0.05, 0.8, 1.4)]
    assert inside[0] < 0.2 and inside[1] >= 4.0 and inside[1] > inside[2] > 1.0
    for z in (0.05, 0.8, 1.4):
        assert sp.abundance(z, 0.0, 0.0) < 0.05
    # the rim taper: halfway between the floor edge and the rim, half the floor's excess
    mid = sp.abundance(0.8, PSR_X + 0.75 * PSR_R, PSR_Y)
    assert mid == pytest.approx(0.02 + 0.5 * (inside[1] - 0.02))


def test_spectrometer_measurements_are_noisy_deterministic_and_fill_the_product():
    a, b = Spectrometer(seed=3), Spectrometer(seed=3)
    buf_a, buf_b = f32(16), f32(16)
    a.spectrum(1.5, PSR_X, PSR_Y, buf_a)
    b.spectrum(1.5, PSR_X, PSR_Y, buf_b)
    assert list(buf_a) == list(buf_b)
    truth = [a.abundance((i + 0.5) * 1.5 / 16, PSR_X, PSR_Y) for i in range(16)]
    assert list(buf_a) != pytest.approx(truth, abs=1e-6)  # noisy
    assert all(abs(m - t) < 5 * (0.05 * t + 0.02) for m, t in zip(buf_a, truth))
    assert min(buf_a) >= 0.0


def test_spectrometer_bad_arguments():
    sp = Spectrometer()
    with pytest.raises(ValueError, match=r"^spectrometer: depth must be finite and >= 0 m, got -0.1$"):
        sp.measure(-0.1, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"^spectrometer: x, y must be finite, got nan, 0.0$"):
        sp.measure(0.5, float("nan"), 0.0)
    with pytest.raises(ValueError, match=r"^spectrometer: the output buffer is empty$"):
        sp.spectrum(1.5, 0.0, 0.0, f32(0))


# ---- power and thermal ------------------------------------------------------------------------


def test_battery_solar_has_the_shape_of_gnc_power_step():
    hw = rover(start=(0.0, 0.0, 0.3))
    b = hw.battery
    sun = hw.world.sun
    offset = sun[0] - 0.3
    p = b.p
    expected = p[0] * p[1] * p[2] * math.cos(sun[1]) * max(0.0, math.cos(offset))
    assert b.solar() == pytest.approx(expected, rel=1e-6)
    soc, net = gnc.power_step(0.5, float(sun[1]), offset, -0.5, 0.0, 0, p, 1.0)
    assert net + p[5] == pytest.approx(expected, rel=1e-5)
    hw.world.set_pose(0.0, 0.0, math.pi)  # panel facing away from the Sun
    assert b.solar() == 0.0


def test_battery_integrates_the_power_balance():
    hw = rover(battery={"soc0": 0.6}, wheels={"a_max": 10.0})
    b = hw.battery
    hw.wheels.command(0.2, 0.15)
    hw.drill.command(0.002, 1)
    energy = 0.6 * b.capacity
    for i in range(3000):
        if i == 1500:
            hw.wheels.command(-0.1, 0.1)
        hw.step(DT)
        energy += (b.solar_w - b.load_w) * DT
    assert b.soc() == pytest.approx(energy / b.capacity, abs=1e-7)
    out = f32(4)
    assert b.read(out)
    assert out[0] == pytest.approx(b.soc(), abs=1e-6)
    # the load is base + drive + drill: independent numbers for the last step
    assert b.load_w == pytest.approx(15.0 + 50.0 * 0.2 + b.drive_w() - 50.0 * 0.2 + 28.0 * hw.drill.current)
    assert out[1] == pytest.approx(b.solar_w, abs=1.0) and out[2] == pytest.approx(b.load_w, abs=1.0)


def test_battery_empties_in_shadow_and_clamps_at_zero_and_full():
    hw = rover(start=(PSR_X, PSR_Y, 0.0), battery={"capacity_wh": 0.05, "soc0": 0.5})
    run(hw, 10.0)
    assert hw.battery.soc() == 0.0 and hw.battery.empty
    hw = rover(battery={"soc0": 1.0})
    run(hw, 10.0)
    assert hw.battery.soc() == 1.0 and hw.battery.solar_w > hw.battery.load_w


def test_battery_survival_heater_switches_on_in_shadow():
    hw = rover(start=(PSR_X, PSR_Y, 0.0), battery={"heat_cap": 200.0, "temp0": 0.0})
    b = hw.battery
    seen_on = None
    temps = []
    for i in range(6000):
        hw.step(DT)
        temps.append(b.temp)
        if b.heater_on and seen_on is None:
            seen_on = i
    assert seen_on is not None and min(temps[: seen_on + 1]) < -20.0
    # with the heater cycling, the temperature stays around the thermostat band
    tail = temps[-2000:]
    assert min(tail) > -22.0 and max(tail) < -8.0
    assert b.heater_on in (0, 1)


def test_battery_over_temperature_fault_heats_the_rover():
    hw = rover(battery={"heat_cap": 1000.0})
    t0 = hw.battery.temp
    hw.inject("battery", "over_temperature")
    run(hw, 100.0)
    assert hw.battery.temp > t0 + 10.0
    hw.clear("battery")
    assert hw.battery.over_temperature == 0


def test_battery_bad_parameters():
    w = MoonWorld()
    from hw.rover_power import Battery

    with pytest.raises(ValueError, match=r"^battery: soc0 must be in 0..1, got 1.5$"):
        Battery(w, Rng(1), soc0=1.5)
    with pytest.raises(ValueError, match=r"^battery: capacity_wh must be > 0, got 0.0$"):
        Battery(w, Rng(1), capacity_wh=0.0)
    with pytest.raises(ValueError, match=r"^battery: efficiency must be in 0..1, got 1.2$"):
        Battery(w, Rng(1), efficiency=1.2)
    with pytest.raises(ValueError, match=r"^battery: heater_on_c \(0.0\) must be below heater_off_c \(-5.0\)$"):
        Battery(w, Rng(1), heater_on_c=0.0, heater_off_c=-5.0)


# ---- the same on the MicroPython unix port ----------------------------------------------------

MPY_TRACE = """
from array import array
from hw.rover import build, DEVICES
hw = build({"devices": list(DEVICES)}, seed=3, start=(5.0, 1.0, 0.2))
b1 = array('f', [0.0]); b2 = array('f', [0.0] * 2); s2 = array('f', [0.0] * 2)
h1 = array('f', [0.0]); b3 = array('f', [0.0] * 3); b4 = array('f', [0.0] * 4)
hw.wheels.command(0.2, 0.19)
hw.drill.command(0.002, 1)
for i in range(300):
    hw.step(0.1)
    ok = (hw.imu.read(b1), hw.encoders.read(b2), hw.sun_sensor.read(s2), hw.hazard.slope_ahead(h1),
          hw.drill.read(b3), hw.battery.read(b4))
vals = list(hw.world.pose) + list(b1) + list(b2) + list(s2) + list(h1) + list(b3) + list(b4)
print(' '.join(repr(float(v)) for v in vals))
print(ok)
"""


def test_rover_hw_gives_the_same_readings_on_micropython_and_cpython(micropython):
    ns = {}
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(MPY_TRACE, ns)
    cpy = buf.getvalue().split("\n")
    mpy = micropython(MPY_TRACE).decode().split("\n")
    assert mpy[1] == cpy[1] == "(True, True, True, True, True, True)"
    # same noise, same models; the pose comes from gnc.rover_kinematics, which is the C core (float32
    # inside) under CPython and the fallback on the unix port: 300 steps leave them ~4e-5 m apart
    assert [float(v) for v in mpy[0].split()] == pytest.approx([float(v) for v in cpy[0].split()], rel=1e-5,
                                                               abs=2e-4)


def test_rover_key_checks_on_micropython(micropython, driver_dir):
    code = textwrap.dedent("""
        import math, sys
        from array import array
        import gnc
        from hw.rover import build, DEVICES
        from hw.moon import MoonWorld, PSR_X, PSR_Y, DAY_S
        sys.path.insert(0, %r)
        ALL = {"devices": list(DEVICES)}
        # attached driver
        hw = build({"name": "bench", "devices": ["imu"], "attached": {"imu": "fake_rover_drivers.FakeImu"}})
        b = array('f', [0.0])
        print("driver", type(hw.imu).__name__, hw.imu.read(b), b[0])
        # PSR floor dark at every azimuth, open start lit most of the day
        w = MoonWorld(seed=1)
        dark = all(not w.illuminated(PSR_X + r, PSR_Y, j * DAY_S // 24) for r in (-40.0, 0.0, 40.0) for j in range(24))
        lit = sum(1 for j in range(24) if w.illuminated(0.0, 0.0, j * DAY_S // 24))
        print("psr", dark, lit)
        # closed-form arc
        hw = build(ALL, start=(10.0, -5.0, 0.4), wheels={"a_max": 10.0})
        hw.wheels.command(0.15, 0.25)
        hw.step(0.1)
        x0, y0, p0 = hw.world.pose
        for i in range(300):
            hw.step(0.1)
        v = 0.2; om = 0.1 / hw.world.track; t = 30.0
        ex = x0 + v / om * (math.sin(p0 + om * t) - math.sin(p0))
        ey = y0 - v / om * (math.cos(p0 + om * t) - math.cos(p0))
        print("arc", abs(hw.world.pose[0] - ex) < 2e-3 and abs(hw.world.pose[1] - ey) < 2e-3)
        # battery balance
        hw = build(ALL, battery={"soc0": 0.6}, wheels={"a_max": 10.0})
        hw.wheels.command(0.2, 0.15)
        e = 0.6 * hw.battery.capacity
        for i in range(1000):
            hw.step(0.1)
            e += (hw.battery.solar_w - hw.battery.load_w) * 0.1
        print("battery", abs(hw.battery.soc() - e / hw.battery.capacity) < 1e-6)
        # drill to 1.5 m with the flight algorithm, then a stall
        hw = build(ALL)
        s = array('f', [0.0, 1.0, 0.0, 0.0]); lim = array('f', (25.0, 4.0, 50.0, 1.5, 0.002))
        meas = array('f', [0.0] * 3); cmd = array('f', [0.0] * 2); deepest = 0.0
        while int(s[1]) != 3:
            hw.drill.read(meas)
            gnc.drill_step(s, meas, lim, 0.1, cmd)
            hw.drill.command(float(cmd[0]), int(cmd[1]))
            hw.step(0.1)
            deepest = max(deepest, hw.drill.depth)
        print("drill", abs(deepest - 1.5) < 1e-3, hw.drill.depth)
        s[1] = 1.0; s[2] = 0.0
        hw.inject("drill", "stall")
        hw.drill.command(0.002, 1)
        hw.step(0.1)
        hw.drill.read(meas)
        gnc.drill_step(s, meas, lim, 0.1, cmd)
        print("stall", meas[0] > 25.0, meas[1] > 4.0, cmd[0] < 0.0)
        # errors
        for dev, fault in (("lidar", "dropout"), ("imu", "stall")):
            try:
                hw.inject(dev, fault)
            except ValueError as e:
                print("error", e)
        try:
            hw.wheels.command(0.31, 0.0)
        except ValueError as e:
            print("error", e)
    """ % str(driver_dir))
    out = micropython(code).decode().split("\n")
    assert out[0] == "driver FakeImu True 0.125"
    assert out[1].startswith("psr True ") and int(out[1].split()[2]) >= 20
    assert out[2] == "arc True"
    assert out[3] == "battery True"
    assert out[4] == "drill True 0.0"
    assert out[5] == "stall True True True"
    assert out[6] == ("error rover: unknown device 'lidar' (devices: wheels, encoders, imu, sun_sensor, hazard, "
                      "drill, spectrometer, battery)")
    assert out[7] == "error imu: no fault 'stall' (faults: dropout)"
    assert out[8] == "error wheels: v_left 0.31 m/s outside -0.3..0.3"
