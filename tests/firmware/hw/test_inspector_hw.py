"""hw.space, hw.adcs_devices, hw.prop, hw.camera, hw.space_power, hw.inspector: the inspector's emulated
hardware, against float64 references computed here (hil.offline.world, closed forms, numpy)."""

import json
import math
import sys
import textwrap
from array import array

import numpy as np
import pytest

import gnc
from ground import REPO_ROOT
from ground import runtimes
from hil.offline import world as ref
from hw import inspector
from hw.space import R_EARTH, SpaceWorld

BOARD = {"devices": list(inspector.DEVICES)}
J = np.array([[0.12, 0.002, -0.001], [0.002, 0.10, 0.0015], [-0.001, 0.0015, 0.05]])  # SpaceWorld's default


def f3(*v):
    return array("f", v if v else (0.0, 0.0, 0.0))


def dcm(q):
    q0, q1, q2, q3 = (float(x) for x in q)
    return np.array([
        [1 - 2 * (q2 * q2 + q3 * q3), 2 * (q1 * q2 - q0 * q3), 2 * (q1 * q3 + q0 * q2)],
        [2 * (q1 * q2 + q0 * q3), 1 - 2 * (q1 * q1 + q3 * q3), 2 * (q2 * q3 - q0 * q1)],
        [2 * (q1 * q3 - q0 * q2), 2 * (q2 * q3 + q0 * q1), 1 - 2 * (q1 * q1 + q2 * q2)],
    ])  # fmt: skip


# ---- the world: orbit, Sun, shadow, field ---------------------------------------------------


@pytest.mark.parametrize("t", [0.0, 1234.5, 5000.0])
def test_space_orbit_and_lvlh_match_the_float64_circular_orbit(t):
    w = SpaceWorld(altitude=500e3, inclination=math.radians(97.4), raan=0.7, u0=0.3)
    orbit = ref.CircularOrbit(500e3, math.radians(97.4), raan=0.7, u0=0.3)
    r = f3()
    w.position(t, r)
    assert np.allclose(r, orbit.position(t), atol=2.0)  # m, float32 of 6.9e6 m
    out = f3()
    rhat = orbit.position(t) / np.linalg.norm(orbit.position(t))
    vhat = orbit.velocity(t) / np.linalg.norm(orbit.velocity(t))
    for v, expect in (((1, 0, 0), rhat), ((0, 1, 0), vhat), ((0, 0, 1), orbit.normal)):
        w.lvlh_to_inertial(t, f3(*v), out)
        assert np.allclose(out, expect, atol=1e-6)
    assert w.n == pytest.approx(orbit.n, rel=1e-12)


@pytest.mark.parametrize("day", [80.0, 172.0, 300.5])
def test_space_sun_direction_matches_the_mean_sun(day):
    w = SpaceWorld(epoch_day=80.0)
    out = f3()
    w.sun_dir((day - 80.0) * 86400.0, out)
    assert np.allclose(out, ref.sun_direction(day), atol=1e-6)


@pytest.mark.parametrize("t", [0.0, 900.0, 4321.0])
def test_space_field_matches_the_igrf_dipole_turning_with_the_earth(t):
    w = SpaceWorld(inclination=math.radians(97.4), raan=1.1, u0=0.2, gmst0=0.5)
    orbit = ref.CircularOrbit(500e3, math.radians(97.4), raan=1.1, u0=0.2)
    out = f3()
    w.field(t, out)
    expect = ref.dipole_field(orbit.position(t), t, gmst0=0.5)
    assert np.allclose(out, expect, atol=1e-3 * np.linalg.norm(expect))
    assert 18e-6 < np.linalg.norm(out) < 55e-6  # T: 24 uT equator .. 48 uT poles at 500 km


@pytest.mark.parametrize("raan", [0.0, 0.4, 1.0])
def test_space_eclipse_time_per_orbit_matches_the_cylindrical_shadow_formula(raan):
    # time in shadow per orbit = T/pi acos(sqrt(h^2 + 2 R h) / (r cos beta)), beta the Sun's angle to
    # the orbit plane (Wertz, SMAD 5.1); none when that argument exceeds 1
    w = SpaceWorld(altitude=500e3, inclination=math.radians(97.4), raan=raan)
    sun = ref.sun_direction(80.0)
    beta = math.asin(float(np.dot(sun, np.array(w.normal, float))))
    h, r = 500e3, R_EARTH + 500e3
    arg = math.sqrt(h * h + 2 * R_EARTH * h) / (r * math.cos(beta))
    expect = w.period / math.pi * math.acos(arg) if arg < 1.0 else 0.0
    dt = 2.0
    shadow = sum(w.eclipse(k * dt) for k in range(int(w.period / dt)))
    assert abs(shadow * dt - expect) <= 2 * dt


def test_space_eclipse_never_at_high_beta():
    # orbit normal within ~8 deg of the Sun: beta ~ 82 deg, above the 68 deg that clears the shadow
    w = SpaceWorld(inclination=math.radians(97.4), raan=math.pi / 2)
    assert not any(w.eclipse(k * 10.0) for k in range(int(w.period / 10.0)))


def test_space_reference_calls_leave_the_current_environment_alone():
    w = SpaceWorld()
    before = list(w.r_eci) + list(w.sun_eci) + [w.in_eclipse]
    w.eclipse(2000.0)
    w.field(3000.0, f3())
    assert list(w.r_eci) + list(w.sun_eci) + [w.in_eclipse] == before


@pytest.mark.parametrize("dt", [0.0, -0.1, math.nan, math.inf])
def test_space_step_rejects_bad_dt(dt):
    with pytest.raises(ValueError, match=r"^space.step: dt must be a finite number > 0 s$"):
        SpaceWorld().step(dt)


def test_space_bad_initial_vector_names_itself():
    with pytest.raises(ValueError, match=r"^rel0: needs 6 numbers, got 3$"):
        SpaceWorld(rel0=(0.0, -300.0, 0.0))
    with pytest.raises(ValueError, match=r"^w0: NaN or infinite value$"):
        SpaceWorld(w0=(0.0, math.nan, 0.0))


def test_space_time_counts_steps_without_drift():
    w = SpaceWorld()
    for _ in range(36000):  # one hour at 10 Hz
        w.step(0.1)
    assert w.t == pytest.approx(3600.0, abs=1e-6)


# ---- relative motion and thrusters ------------------------------------------------------------


def test_cw_world_with_a_fired_impulse_follows_the_closed_form():
    hw = inspector.build(BOARD, rel0=(0.0, -300.0, 0.0, 0.0, 0.0, 0.0))
    x0 = np.array(hw.world.cw, float)
    assert hw.thrusters.fire(f3(0.01, -0.02, 0.005))
    for _ in range(6000):  # 600 s
        hw.step(0.1)
    start = array("f", x0 + [0, 0, 0, 0.01, -0.02, 0.005])
    expect = array("f", [0.0] * 6)
    gnc.cw_propagate(start, hw.world.n, 600.0, expect)
    got = np.array(hw.world.cw, float)
    assert np.allclose(got[:3], expect[:3], atol=0.02)  # m, after 6000 float32 steps
    assert np.allclose(got[3:], expect[3:], atol=1e-5)  # m/s
    assert hw.thrusters.fires == 1
    assert hw.thrusters.dv_used == pytest.approx(math.sqrt(0.01**2 + 0.02**2 + 0.005**2), rel=1e-6)


def test_thrusters_account_dv_and_propellant_by_the_rocket_equation():
    hw = inspector.build(BOARD, dry_mass=11.7, propellant=0.3, isp=60.0)
    shots = [(0.02, 0.0, 0.0), (0.0, -0.03, 0.01), (0.0, 0.0, 0.04)]
    m = 12.0
    for s in shots:
        assert hw.thrusters.fire(f3(*s))
        m *= math.exp(-math.sqrt(sum(c * c for c in s)) / (60.0 * 9.80665))
    assert hw.thrusters.fires == 3
    assert hw.thrusters.dv_used == pytest.approx(sum(math.sqrt(sum(c * c for c in s)) for s in shots), rel=1e-6)
    assert hw.thrusters.propellant == pytest.approx(m - 11.7, rel=1e-6)
    assert np.allclose(np.array(hw.world.cw)[3:], np.sum(shots, axis=0), atol=1e-7)


def test_thrusters_below_minimum_impulse_bit_do_nothing_and_are_counted():
    hw = inspector.build(BOARD, dv_min=1e-4)
    v = np.array(hw.world.cw)
    assert not hw.thrusters.fire(f3(5e-5, 5e-5, 0.0))
    assert hw.thrusters.below_min == 1 and hw.thrusters.fires == 0 and hw.thrusters.dv_used == 0.0
    assert np.array_equal(np.array(hw.world.cw), v)


def test_thrusters_cap_a_fire_along_its_direction():
    hw = inspector.build(BOARD, dv_max=0.05)
    assert hw.thrusters.fire(f3(0.3, 0.4, 0.0))  # |dv| 0.5 -> 0.05
    assert hw.thrusters.capped == 1
    assert np.allclose(np.array(hw.world.cw)[3:], [0.03, 0.04, 0.0], atol=1e-7)
    assert hw.thrusters.dv_used == pytest.approx(0.05)


def test_thrusters_empty_tank_delivers_what_is_left_then_refuses():
    hw = inspector.build(BOARD, dry_mass=10.0, propellant=0.001, isp=60.0, dv_max=1.0)
    left = 60.0 * 9.80665 * math.log(10.001 / 10.0)  # 0.0588 m/s
    assert hw.thrusters.fire(f3(0.5, 0.0, 0.0))
    assert hw.thrusters.dv_used == pytest.approx(left, rel=1e-6)
    assert hw.thrusters.propellant == 0.0
    assert not hw.thrusters.fire(f3(0.01, 0.0, 0.0))
    assert hw.thrusters.empty == 1 and hw.thrusters.fires == 1


def test_thrusters_leak_pushes_continuously_until_cleared():
    hw = inspector.build(BOARD, rel0=(0.0, -300.0, 0.0, 0.0, 0.0, 0.0))
    a = (0.0, 2e-4, -1e-4)  # m/s per second
    hw.inject("thrusters", "leak", a)
    for _ in range(100):  # 10 s
        hw.step(0.1)
    # CW from rest on the V-bar with a constant push, to first order in n t (~0.01):
    # vy = ay t, vz = az t, vx = 2 n * integral(vy) = n ay t^2
    x = np.array(hw.world.cw, float)
    assert np.allclose(x[3:], [hw.world.n * 2e-4 * 100.0, 2e-3, -1e-3], atol=1e-6)
    assert hw.thrusters.dv_leaked == pytest.approx(10.0 * math.hypot(2e-4, 1e-4), rel=1e-5)
    hw.clear("thrusters", "leak")
    v = x[3:].copy()
    hw.step(0.1)
    assert np.allclose(np.array(hw.world.cw)[3:], v, atol=1e-5)  # free drift again (CW terms ~ 1e-7)
    assert list(hw.world.accel) == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("value, message", [
    (None, r"^thrusters: leak needs a 3-vector of LVLH m/s per second$"),
    (1.0, r"^thrusters: leak needs a 3-vector of LVLH m/s per second$"),
    ((1.0, 2.0), r"^thrusters leak: needs 3 numbers$"),
    ((0.0, 0.0, 0.0), r"^thrusters leak: zero vector$"),
    ((0.0, math.nan, 0.0), r"^thrusters leak: NaN or infinite value$"),
])  # fmt: skip
def test_thrusters_leak_rejects_bad_values(value, message):
    hw = inspector.build(BOARD)
    with pytest.raises(ValueError, match=message):
        hw.inject("thrusters", "leak", value)
    assert not hw.thrusters.leaking


@pytest.mark.parametrize("dv, message", [
    (f3(0.0, 0.0), r"^thrusters.fire: needs 3 numbers$"),
    (f3(0.0, math.inf, 0.0), r"^thrusters.fire: NaN or infinite value$"),
])  # fmt: skip
def test_thrusters_fire_rejects_bad_dv(dv, message):
    with pytest.raises(ValueError, match=message):
        inspector.build(BOARD).thrusters.fire(dv)


# ---- wheels and magnetorquers -----------------------------------------------------------------


def momentum_inertial(world):
    b = np.array(world.body, float)
    return dcm(b[:4]) @ (J @ b[4:7] + b[7:10])


def test_wheels_exchange_momentum_with_the_body_conserving_the_total():
    hw = inspector.build(BOARD, w0=(0.01, -0.02, 0.015), h0=(0.001, 0.0, -0.002))
    l0 = momentum_inertial(hw.world)
    hw.wheels.command(f3(1e-3, -5e-4, 2e-4))
    for _ in range(200):  # 20 s, well inside the momentum limit
        hw.step(0.1)
    l1 = momentum_inertial(hw.world)
    assert np.linalg.norm(l1 - l0) <= 1e-4 * np.linalg.norm(l0)
    h = f3()
    hw.wheels.momentum(h)
    assert np.allclose(h, [0.001 - 20 * 1e-3, 0.0 + 20 * 5e-4, -0.002 - 20 * 2e-4], atol=1e-6)  # h' = -tau


def test_wheels_clip_torque_to_tau_max():
    hw = inspector.build(BOARD, tau_max=2e-3)
    hw.wheels.command(f3(0.01, -0.01, 1e-3))
    hw.step(0.1)
    assert np.allclose(hw.wheels.torque, [2e-3, -2e-3, 1e-3])
    h = f3()
    hw.wheels.momentum(h)
    assert np.allclose(h, [-2e-4, 2e-4, -1e-4], atol=1e-9)


def test_wheels_stop_at_the_momentum_limit_and_release_from_it():
    hw = inspector.build(BOARD, tau_max=2e-3, h_max=0.03)
    hw.wheels.command(f3(2e-3, -2e-3, 0.0))
    h = f3()
    peak = 0.0
    for _ in range(200):  # 20 s: 0.04 N m s asked, 0.03 allowed
        hw.step(0.1)
        hw.wheels.momentum(h)
        peak = max(peak, abs(h[0]), abs(h[1]))
    assert peak <= 0.03 * (1 + 1e-6)
    assert np.allclose(h, [-0.03, 0.03, 0.0], atol=1e-6)
    assert np.allclose(hw.wheels.torque, 0.0, atol=1e-7)  # saturated: no more torque that way (float32 residue)
    hw.wheels.command(f3(-1e-3, 1e-3, 0.0))  # unloading is allowed
    hw.step(0.1)
    hw.wheels.momentum(h)
    assert np.allclose(h, [-0.0299, 0.0299, 0.0], atol=1e-6)


def test_wheels_stuck_axis_produces_no_torque_until_cleared():
    hw = inspector.build(BOARD)
    hw.inject("wheels", "stuck", 1)
    hw.wheels.command(f3(1e-3, 1e-3, 1e-3))
    hw.step(1.0)
    h = f3()
    hw.wheels.momentum(h)
    assert np.allclose(h, [-1e-3, 0.0, -1e-3], atol=1e-9)
    hw.clear("wheels")
    hw.step(1.0)
    hw.wheels.momentum(h)
    assert np.allclose(h, [-2e-3, -1e-3, -2e-3], atol=1e-9)


@pytest.mark.parametrize("value", [None, 3, -1, True, "x"])
def test_wheels_stuck_needs_an_axis(value):
    hw = inspector.build(BOARD)
    with pytest.raises(ValueError, match=r"^wheels: stuck needs an axis 0, 1 or 2, got "):
        hw.inject("wheels", "stuck", value)


@pytest.mark.parametrize("dev, call", [("wheels", "command"), ("magnetorquers", "command")])
def test_actuator_commands_reject_bad_vectors(dev, call):
    fn = getattr(getattr(inspector.build(BOARD), dev), call)
    with pytest.raises(ValueError, match=r"^%s\.%s: needs 3 numbers$" % (dev, call)):
        fn(f3(0.0, 0.0))
    with pytest.raises(ValueError, match=r"^%s\.%s: NaN or infinite value$" % (dev, call)):
        fn(f3(0.0, 0.0, math.nan))


def test_magnetorquers_clip_per_axis_and_torque_the_body_by_m_cross_b():
    hw = inspector.build(BOARD, m_max=0.4)
    hw.magnetorquers.command(f3(1.0, -0.2, -3.0))
    assert list(hw.world.dipole) == pytest.approx([0.4, -0.2, -0.4])
    b = np.array(hw.world.b_body, float)
    hw.step(0.1)
    tau = np.cross([0.4, -0.2, -0.4], b)
    w = np.array(hw.world.body[4:7], float)
    assert np.allclose(w, np.linalg.solve(J, tau) * 0.1, rtol=1e-3, atol=1e-12)


# ---- sensors ------------------------------------------------------------------------------------


def test_imu_reads_rate_plus_bias_plus_white_noise():
    hw = inspector.build(BOARD, seed=7, w0=(0.01, 0.0, -0.02), gyro_bias=(1e-4, -2e-4, 3e-4), gyro_sigma=1e-3)
    out = f3()
    s = np.array([(hw.imu.read(out), list(out))[1] for _ in range(4000)])
    assert np.all(np.abs(s.mean(axis=0) - [0.0101, -2e-4, -0.0197]) < 5 * 1e-3 / math.sqrt(4000))
    assert np.allclose(s.std(axis=0), 1e-3, rtol=0.05)


def test_magnetometer_reads_the_body_field_plus_bias():
    hw = inspector.build(BOARD, seed=2, q0=(0.8, 0.2, -0.4, 0.4), mag_bias=(1e-7, 0.0, -1e-7), mag_sigma=20e-9)
    out = f3()
    s = np.array([(hw.magnetometer.read(out), list(out))[1] for _ in range(2000)])
    q = np.array(hw.world.body[:4], float)
    expect = dcm(q).T @ np.array(hw.world.b_eci, float) + [1e-7, 0.0, -1e-7]
    assert np.all(np.abs(s.mean(axis=0) - expect) < 5 * 20e-9 / math.sqrt(2000))


def test_sun_sensor_gives_the_body_sun_vector_within_its_field_of_view():
    # epoch day 80, t = 0: the Sun along inertial +X; identity attitude: along body +x (the boresight)
    hw = inspector.build(BOARD, u0=math.pi / 2, sun_sigma=1e-3)
    out = f3()
    assert not hw.world.in_eclipse
    assert hw.sun_sensor.read(out)
    assert np.linalg.norm(out) == pytest.approx(1.0, abs=1e-6)
    assert math.acos(min(1.0, out[0])) < 5e-3


def test_sun_sensor_invalid_outside_its_field_of_view_and_in_eclipse():
    turned = (math.cos(math.radians(35)), 0.0, 0.0, math.sin(math.radians(35)))  # 70 deg about z
    hw = inspector.build(BOARD, u0=math.pi / 2, q0=turned, sun_fov=math.radians(60))
    out = f3(9.0, 9.0, 9.0)
    assert not hw.sun_sensor.read(out) and list(out) == [9.0, 9.0, 9.0]
    hw = inspector.build(BOARD, inclination=0.0, u0=math.pi)  # behind the Earth, Sun at +X
    assert hw.world.in_eclipse
    assert not hw.sun_sensor.read(out)


def test_star_tracker_reads_the_attitude_with_small_noise_and_fails_when_spinning():
    q0 = (0.5, 0.5, -0.5, 0.5)
    hw = inspector.build(BOARD, q0=q0, star_sigma=1e-4, star_max_rate=math.radians(1.0))
    out = array("f", [0.0] * 4)
    angles = []
    for _ in range(500):
        assert hw.star_tracker.read(out)
        angles.append(ref.qangle(np.array(out, float), np.array(q0)))
    assert 0.5e-4 < np.sqrt(np.mean(np.square(angles))) < 3e-4  # rad: 1e-4 per axis -> ~1.7e-4 total
    hw = inspector.build(BOARD, w0=(0.0, 0.02, 0.0), star_max_rate=math.radians(1.0))  # 1.15 deg/s
    assert not hw.star_tracker.read(out)


def test_rel_nav_reads_the_relative_state_within_range_only():
    hw = inspector.build(BOARD, seed=5, rel0=(10.0, -300.0, 5.0, 0.01, 0.0, 0.0), rel_max_range=1000.0)
    out = array("f", [0.0] * 6)
    s = np.array([(hw.rel_nav.read(out), list(out))[1] for _ in range(2000)])
    sp = 0.05 + 0.005 * math.sqrt(10.0**2 + 300.0**2 + 5.0**2)
    assert np.all(np.abs(s.mean(axis=0) - [10.0, -300.0, 5.0, 0.01, 0.0, 0.0]) < 5 * np.repeat([sp, 0.002], 3) / 44)
    assert np.allclose(s.std(axis=0), np.repeat([sp, 0.002], 3), rtol=0.08)
    far = inspector.build(BOARD, rel0=(0.0, -1500.0, 0.0, 0.0, 0.0, 0.0), rel_max_range=1000.0)
    assert not far.rel_nav.read(out)


@pytest.mark.parametrize("device, size", [("imu", 3), ("magnetometer", 3), ("sun_sensor", 3), ("star_tracker", 4),
                                          ("rel_nav", 6)])
def test_sensor_dropout_invalidates_reads_until_cleared(device, size):
    hw = inspector.build(BOARD, u0=math.pi / 2)
    out = array("f", [7.0] * size)
    dev = getattr(hw, device)
    assert dev.read(out)
    hw.inject(device, "dropout")
    stale = list(out)
    assert not dev.read(out) and list(out) == stale
    hw.clear(device, "dropout")
    assert dev.read(out)


# ---- power ------------------------------------------------------------------------------------


def test_battery_panels_follow_the_sun_angle_and_integrate_the_charge():
    # Sun along inertial +X; attitude 60 deg about z: the +x panel at cos 60, the -y panel at cos 30
    q = (math.cos(math.radians(30)), 0.0, 0.0, math.sin(math.radians(30)))
    hw = inspector.build(BOARD, u0=math.pi / 2, q0=q, capacity_wh=40.0, soc=0.5, load_w=3.0)
    hw.step(0.1)
    out = f3()
    assert hw.battery.read(out)
    expect = 1361.0 * 0.28 * (0.0782 * 0.5 + 0.034 * math.cos(math.radians(30)))
    assert out[1] == pytest.approx(expect, rel=1e-3)
    assert out[2] == 3.0
    for _ in range(99):
        hw.step(0.1)
    hw.battery.read(out)
    assert out[0] == pytest.approx(0.5 + (expect - 3.0) * 10.0 / 3600.0 / 40.0, rel=1e-3)


def test_battery_in_eclipse_only_discharges_and_stops_at_empty():
    hw = inspector.build(BOARD, inclination=0.0, u0=math.pi, capacity_wh=0.01, soc=1.0, load_w=36.0)
    out = f3()
    hw.step(0.5)  # 36 W for 0.5 s = 0.005 Wh of 0.01
    hw.battery.read(out)
    assert list(out) == pytest.approx([0.5, 0.0, 36.0])
    hw.step(1.0)
    hw.battery.read(out)
    assert out[0] == 0.0


@pytest.mark.parametrize("watts", [-1.0, math.nan, math.inf])
def test_battery_set_load_rejects_bad_watts(watts):
    with pytest.raises(ValueError, match=r"^battery.set_load: needs a finite load >= 0 W$"):
        inspector.build(BOARD).battery.set_load(watts)


# ---- camera -----------------------------------------------------------------------------------
# Geometry: inclination 0, u0 0, t 0: LVLH axes = inertial X, Y, Z. The inspector 30 m behind on the
# V-bar, its camera boresight (body +z) along +Y to the debris, image columns (body +x) along +X.
S = math.sqrt(0.5)
Q_CAM = (S, -S, 0.0, 0.0)  # -90 deg about X: body z -> +Y, body y -> -Z
Q_BROADSIDE = (S, 0.0, S, 0.0)  # debris long axis (its z) along X: across the image
Q_END_ON = (S, -S, 0.0, 0.0)  # debris long axis along Y: end-on
CAMERA_OPTIONS = dict(inclination=0.0, u0=0.0, rel0=(0.0, -30.0, 0.0, 0.0, 0.0, 0.0), q0=Q_CAM,
                      target_rate=(0.0, 0.0, 0.0), camera_fov=math.radians(40.0))
F = 32.0 / math.tan(math.radians(20.0))  # focal length in pixels, 64 wide


def render(n=4, **options):
    hw = inspector.build(BOARD, **dict(CAMERA_OPTIONS, **options))
    cam = hw.camera
    cam.start()
    calls = 1
    while not cam.render_rows(n):
        calls += 1
    return np.frombuffer(bytes(cam.image), np.uint8).reshape(cam.height, cam.width), calls


def centres(count):
    return (np.arange(count) + 0.5 - count / 2) / F  # tan of each pixel centre's angle


def test_camera_broadside_stage_at_30m_has_the_apparent_size_of_its_geometry():
    img, _ = render(target_q0=Q_BROADSIDE)
    # silhouette: |u| up to the near rim of an end cap (5.5 m across at 30 - 2 m), |v| up to the
    # tangent of the 2 m radius circle seen from 30 m
    cols = np.sum(np.abs(centres(64)) <= 5.5 / 28.0)
    rows = np.sum(np.abs(centres(48)) <= 2.0 / math.sqrt(30.0**2 - 2.0**2))
    ys, xs = np.nonzero(img)
    assert (xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) == (cols, rows) == (34, 12)
    assert xs.mean() == pytest.approx(31.5, abs=0.01) and ys.mean() == pytest.approx(23.5, abs=0.01)
    assert len(xs) == cols * rows  # a rectangle: straight sides and cap edges


def test_camera_end_on_stage_is_the_disk_of_its_near_cap():
    img, _ = render(target_q0=Q_END_ON)
    u, v = np.meshgrid(centres(64), centres(48))
    inside = u * u + v * v <= (2.0 / 24.5) ** 2  # the 2 m cap, 30 - 5.5 m away
    assert abs(np.count_nonzero(img) - np.count_nonzero(inside)) <= 2
    assert np.count_nonzero((img > 0) != inside) <= 4  # differences only on the rim


def test_camera_shading_is_lambertian_with_ambient_and_ambient_only_in_eclipse():
    # Sun at ecliptic longitude -90 deg (day 80 - 365.25/4): (0, -cos e, -sin e), from behind the camera
    img, _ = render(target_q0=Q_BROADSIDE, epoch_day=80.0 - 365.25 / 4)
    sun = ref.sun_direction(80.0 - 365.25 / 4)
    for row in (23, 18, 28):
        # the ray of pixel (row, 31) meets the circle y^2 + (z - 30)^2 = 4 (camera axes) at the near
        # root t; the normal there, (0, v t, t - 30) / 2 in camera axes, is (0, t - 30, -v t) / 2 inertial
        v = (row + 0.5 - 24.0) / F
        t = (30.0 - math.sqrt(30.0**2 - (1 + v * v) * (30.0**2 - 4.0))) / (1 + v * v)
        n = np.array([0.0, t - 30.0, -v * t]) / 2.0
        expect = 255.0 * (0.08 + 0.92 * max(0.0, float(np.dot(n, sun))))
        assert abs(int(img[row, 31]) - expect) <= 1
    assert img[23, 31] > img[18, 31] > 20  # toward the top (-Z, away from the Sun's -Z) darker
    # Sun at longitude 180 deg: the orbit position +X is in the Earth's shadow
    dark, _ = render(target_q0=Q_BROADSIDE, epoch_day=80.0 + 365.25 / 2)
    assert set(np.unique(dark)) == {0, int(255 * 0.08 + 0.5)}
    assert np.count_nonzero(dark) == np.count_nonzero(img)


def test_camera_renders_a_frame_in_bounded_slices():
    for n, calls in ((1, 48), (5, 10), (48, 1), (100, 1)):
        assert render(n, target_q0=Q_BROADSIDE)[1] == calls


def test_camera_latches_the_pose_at_start():
    hw = inspector.build(BOARD, **dict(CAMERA_OPTIONS, target_q0=Q_BROADSIDE))
    cam = hw.camera
    cam.start()
    cam.render_rows(24)
    for _ in range(50):  # the debris moves and turns meanwhile: the frame stays one exposure
        hw.world.w_target[0] = 0.5
        hw.step(0.1)
    cam.render_rows(24)
    still, _ = render(target_q0=Q_BROADSIDE)
    assert bytes(cam.image) == still.tobytes()


def test_camera_explicit_attitude_is_used_and_checked():
    hw = inspector.build(BOARD, **dict(CAMERA_OPTIONS, target_q0=Q_BROADSIDE, q0=(1.0, 0.0, 0.0, 0.0)))
    hw.camera.start(array("f", Q_CAM))
    while not hw.camera.render_rows(8):
        pass
    assert bytes(hw.camera.image) == render(target_q0=Q_BROADSIDE)[0].tobytes()
    with pytest.raises(ValueError, match=r"^camera.start: q_bi needs 4 numbers$"):
        hw.camera.start(f3(1.0, 0.0, 0.0))
    for bad in ([0.0] * 4, [1.0, math.nan, 0.0, 0.0]):
        with pytest.raises(ValueError, match=r"^camera.start: q_bi must be a finite non-zero quaternion$"):
            hw.camera.start(array("f", bad))


# ---- build, attached drivers, fault injection -------------------------------------------------


def test_build_makes_only_the_listed_devices_and_ignores_other_vehicles():
    hw = inspector.build({"devices": ["imu", "wheels", "drill", "spectrometer"]})
    assert hw.imu is not None and hw.wheels is not None
    for name in set(inspector.DEVICES) - {"imu", "wheels"}:
        assert getattr(hw, name) is None
    hw.step(0.1)  # no thrusters or battery: the world still steps


def test_build_from_the_board_files():
    for name in ("rp2-pico", "esp32-devkitc"):
        board = json.loads((REPO_ROOT / "boards" / ("%s.json" % name)).read_text())
        assert "rel_nav" in board["devices"]
        hw = inspector.build(board)
        assert hw.rel_nav is not None


def test_build_rejects_an_unknown_option():
    with pytest.raises(ValueError, match=r"^inspector hw: unknown option 'altitud' \(known: J, altitude, "):
        inspector.build(BOARD, altitud=400e3)


def test_same_seed_same_noise_other_seed_other_noise():
    out = [f3() for _ in range(3)]
    for o, seed in zip(out, (1, 1, 2)):
        inspector.build(BOARD, seed=seed).imu.read(o)
    assert list(out[0]) == list(out[1]) != list(out[2])


FAKE_DRIVER = '''
from array import array
class Gyro:
    def __init__(self, board):
        self.board = board
        self.reads = 0
    def read(self, out):
        self.reads += 1
        out[0], out[1], out[2] = 1.0, 2.0, 3.0
        return True
class Wheels:
    def __init__(self, board):
        self.cmd = None
    def command(self, tau):
        self.cmd = list(tau)
    def momentum(self, out):
        out[0] = out[1] = out[2] = 0.5
'''


@pytest.fixture
def fake_drivers(tmp_path, monkeypatch):
    (tmp_path / "fake_mitra_drivers.py").write_text(FAKE_DRIVER)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "fake_mitra_drivers"
    sys.modules.pop("fake_mitra_drivers", None)


def test_attached_real_driver_replaces_the_model(fake_drivers):
    board = {"devices": ["imu", "wheels", "magnetometer"],
             "attached": {"imu": fake_drivers + ".Gyro", "wheels": fake_drivers + ".Wheels"}}
    hw = inspector.build(board)
    out = f3()
    assert hw.imu.read(out) and list(out) == [1.0, 2.0, 3.0] and hw.imu.board is board
    hw.wheels.command(f3(1e-3, 0.0, 0.0))
    hw.step(0.1)  # the real wheels act on the real spacecraft, not on the emulated body
    assert hw.wheels.cmd == pytest.approx([1e-3, 0.0, 0.0]) and list(hw.world.body[7:10]) == [0.0, 0.0, 0.0]
    assert hw.magnetometer.read(out)  # a model beside the real drivers
    with pytest.raises(ValueError, match=r"^device 'imu' is a real driver \(attached\): no fault injection$"):
        hw.inject("imu", "dropout")


@pytest.mark.parametrize("attached, error, message", [
    ({"drill": "x.Y"}, ValueError, r"^attached: unknown device 'drill' \(known: imu, magnetometer, "),
    ({"camera": "x.Y"}, ValueError, r"^attached: 'camera' is not in the board's devices$"),
    ({"imu": "Gyro"}, ValueError, r"^attached imu: 'Gyro' is not 'module.Class'$"),
    ({"imu": "fake_mitra_drivers.Nope"}, ValueError, r"^attached imu: module fake_mitra_drivers has no Nope$"),
    ({"imu": "no_such_mitra_module.Gyro"}, ImportError, "no_such_mitra_module"),
])  # fmt: skip
def test_attached_errors_name_the_problem(fake_drivers, attached, error, message):
    with pytest.raises(error, match=message):
        inspector.build({"devices": ["imu"], "attached": attached})


@pytest.mark.parametrize("device, fault, message", [
    ("gyro", "dropout", r"^unknown device 'gyro' \(known: imu, magnetometer, sun_sensor, star_tracker, rel_nav, "
                        r"wheels, magnetorquers, thrusters, camera, battery\)$"),
    ("imu", "stuck", r"^imu: unknown fault 'stuck' \(known: dropout\)$"),
    ("wheels", "dropout", r"^wheels: unknown fault 'dropout' \(known: stuck\)$"),
    ("thrusters", "stuck", r"^thrusters: unknown fault 'stuck' \(known: leak\)$"),
    ("magnetorquers", "stuck", r"^magnetorquers: unknown fault 'stuck' \(known: none\)$"),
    ("camera", "dropout", r"^camera: unknown fault 'dropout' \(known: none\)$"),
    ("battery", "over_temperature", r"^battery: unknown fault 'over_temperature' \(known: none\)$"),
])  # fmt: skip
def test_inject_and_clear_reject_unknown_devices_and_faults(device, fault, message):
    hw = inspector.build(BOARD)
    with pytest.raises(ValueError, match=message):
        hw.inject(device, fault, 1)
    with pytest.raises(ValueError, match=message):
        hw.clear(device, fault)


def test_inject_on_a_device_the_board_lacks():
    hw = inspector.build({"devices": ["imu"]})
    with pytest.raises(ValueError, match=r"^device 'rel_nav' is not on this board$"):
        hw.inject("rel_nav", "dropout")


@pytest.mark.parametrize("dt", [0.0, -1.0, math.nan, math.inf])
def test_inspector_step_rejects_bad_dt(dt):
    with pytest.raises(ValueError, match=r"^inspector hw step: dt must be a finite number > 0 s$"):
        inspector.build(BOARD).step(dt)


# ---- the same code on the MicroPython unix port -----------------------------------------------

SCENARIO = """
import math
from array import array
from hw import inspector
hw = inspector.build({"devices": %r}, seed=11, w0=(0.01, -0.005, 0.002), u0=1.0)
hw.wheels.command(array("f", (1e-3, -1e-3, 5e-4)))
hw.magnetorquers.command(array("f", (0.1, 0.0, -0.1)))
hw.thrusters.fire(array("f", (0.0, 0.01, 0.002)))
g = array("f", [0.0] * 3); m = array("f", [0.0] * 3); s = array("f", [0.0] * 3)
q = array("f", [0.0] * 4); r = array("f", [0.0] * 6); b = array("f", [0.0] * 3); h = array("f", [0.0] * 3)
for k in range(300):
    hw.step(0.1)
    vg = hw.imu.read(g); vm = hw.magnetometer.read(m); vs = hw.sun_sensor.read(s)
    vq = hw.star_tracker.read(q); vr = hw.rel_nav.read(r); hw.battery.read(b); hw.wheels.momentum(h)
hw.inject("rel_nav", "dropout")
print(hw.rel_nav.read(r), vg, vm, vs, vq, vr, hw.world.in_eclipse)
for v in (g, m, s, q, r, b, h, hw.world.body, hw.world.cw):
    print(" ".join(repr(float(x)) for x in v))
for bad in (("gyro", "dropout"), ("wheels", "leak")):
    try:
        hw.inject(bad[0], bad[1], 1)
    except ValueError as e:
        print(e)
""" % (list(inspector.DEVICES),)


def parse(out):
    lines = out.decode().strip().split("\n")
    return lines[0], [np.array([float(x) for x in ln.split()]) for ln in lines[1:10]], lines[10:]


@pytest.mark.micropython
def test_micropython_runs_the_inspector_hw_like_cpython(micropython):
    # the RP2040's heap budget; the same seed gives the same noise, the plants agree to float32 rounding
    mp_flags, mp_vals, mp_err = parse(micropython(SCENARIO, heap_bytes=163840))
    py_flags, py_vals, py_err = parse(runtimes.run_snippet(SCENARIO, runtime="cpython"))
    assert mp_flags == py_flags
    assert mp_err == py_err == [
        "unknown device 'gyro' (known: imu, magnetometer, sun_sensor, star_tracker, rel_nav, wheels, magnetorquers, "
        "thrusters, camera, battery)",
        "wheels: unknown fault 'leak' (known: stuck)"]
    for a, b in zip(mp_vals, py_vals):
        assert np.allclose(a, b, rtol=1e-4, atol=1e-9)


CW_ON_MPY = """
from array import array
import gnc
from hw import inspector
hw = inspector.build({"devices": ["thrusters"]}, rel0=(5.0, -300.0, 0.0, 0.0, 0.0, 0.0))
hw.thrusters.fire(array("f", (0.01, -0.02, 0.005)))
for _ in range(3000):
    hw.step(0.1)
ref = array("f", [0.0] * 6)
gnc.cw_propagate(array("f", (5.0, -300.0, 0.0, 0.01, -0.02, 0.005)), hw.world.n, 300.0, ref)
print(" ".join(repr(float(x)) for x in hw.world.cw))
print(" ".join(repr(float(x)) for x in ref))
print(hw.thrusters.fires, hw.thrusters.dv_used)
"""


@pytest.mark.micropython
def test_micropython_cw_world_follows_the_closed_form(micropython):
    lines = micropython(CW_ON_MPY).decode().split("\n")
    got, expect = (np.array([float(x) for x in ln.split()]) for ln in lines[:2])
    assert np.allclose(got[:3], expect[:3], atol=0.01) and np.allclose(got[3:], expect[3:], atol=1e-5)
    fires, dv = lines[2].split()
    assert fires == "1" and float(dv) == pytest.approx(math.sqrt(0.01**2 + 0.02**2 + 0.005**2), rel=1e-6)


CAMERA_ON_MPY = """
from hw import inspector
hw = inspector.build({"devices": ["camera"]}, **%r)
hw.camera.start()
n = 1
while not hw.camera.render_rows(6):
    n += 1
print(n, bytes(hw.camera.image).hex())
""" % (dict(CAMERA_OPTIONS, target_q0=Q_BROADSIDE),)


@pytest.mark.micropython
def test_micropython_camera_image_is_the_cpython_image(micropython):
    calls, hexed = micropython(CAMERA_ON_MPY).decode().split()
    assert calls == "8"
    img = np.frombuffer(bytes.fromhex(hexed), np.uint8).reshape(48, 64)
    expect, _ = render(target_q0=Q_BROADSIDE)
    assert np.count_nonzero(img) == np.count_nonzero(expect) == 34 * 12
    assert np.abs(img.astype(int) - expect.astype(int)).max() <= 1


COST = """
import time
from array import array
from hw import inspector
hw = inspector.build({"devices": %r}, u0=1.0, w0=(0.001, 0.002, -0.001))
g = array("f", [0.0] * 3); q = array("f", [0.0] * 4); r = array("f", [0.0] * 6)
def cycle():
    hw.step(0.1)
    hw.imu.read(g); hw.magnetometer.read(g); hw.sun_sensor.read(g); hw.star_tracker.read(q)
    hw.rel_nav.read(r); hw.battery.read(g); hw.wheels.momentum(g)
now = time.ticks_us if hasattr(time, "ticks_us") else (lambda: int(time.perf_counter() * 1e6))
cycle()
N = 500
t0 = now()
for _ in range(N):
    cycle()
t1 = now()
hw.camera.start()
rows = 0
t2 = now()
while not hw.camera.render_rows(4):
    rows += 4
t3 = now()
import gnc
print((t1 - t0) / N, (t3 - t2) / 12, gnc.BACKEND)
""" % (list(inspector.DEVICES),)


@pytest.mark.micropython
def test_cost_of_one_step_and_all_reads_is_reported(micropython):
    # a measurement for the record, not a timed assert (run with -s to see it)
    for name, out in (("cpython", runtimes.run_snippet(COST, runtime="cpython")), ("micropython", micropython(COST))):
        step_us, rows_us, backend = out.split()
        print("\n%s (gnc %s): step(0.1) + all reads %s us; camera render_rows(4) %s us"
              % (name, backend.decode(), step_us.decode(), rows_us.decode()))
        step_us, rows_us = float(step_us), float(rows_us)
        assert step_us > 0 and rows_us > 0
