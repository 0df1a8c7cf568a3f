"""gnc_inspector_step's schedule (gnc.h): one MEKF measurement update per cycle, round-robin
star / sun / magnetometer on the step counter; the keep-out prediction spread over at most 9
cycles of samples from the relative state latched at the sweep's start, then one decision cycle
(no samples, no measurement update) that declares the minimum and, below the radius, aborts.

References: the public functions the step is made of (gnc_mekf_*, gnc_keepout_check), called
directly on copies; float64 scipy-free CW closed form for the sweep's minimum.
"""

import math
from array import array

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

native = pytest.importorskip("native", reason="the cffi core is not installed (`make setup`)")

N = 0.0011
PRM = [0.1, 0, 0, 0, 0.12, 0, 0, 0, 0.09] + [0.02, 0.2, 0.01, 0.05, 1e4, 0.2] + \
    [1e-4, 1e-6, 0.01, 0.02, 1e-4] + [N, 20.0, 3000.0, 10.0]


def f32(v):
    return array("f", v)


def state(counter=0.0, prm=PRM):
    """A converged filter at rest with the keep-out sweep's part rotation in place (spare[5..7],
    as a setup cycle leaves it), so the next step starts a sweep."""
    s = [0.0] * native.INSPECTOR_SIZE
    s[0] = 1.0
    for i in range(3):
        s[7 + 7 * i] = 1e-4
        s[7 + 7 * (i + 3)] = 1e-8
    s[57] = counter
    s = f32(s)
    count = int(math.ceil(prm[22] / prm[23])) + 1
    u = np.float32(prm[20]) * (np.float32(-(-count // 9)) * np.float32(prm[23]))  # steps.c: n * (per * hdt)
    s[63], s[64], s[65] = math.sin(u), math.cos(u), u
    return s


def inputs(rel, star=True, sun=True, mag=True):
    inp = [0.0] * native.INSPECTOR_IN
    inp[0:3] = [0.001, -0.002, 0.0005]
    if sun:
        inp[3:6], inp[6:9] = [1.0, 0.0, 0.0], [0.999, 0.04, 0.0]
    if mag:
        inp[9:12], inp[12:15] = [0.0, 0.6, 0.8], [0.02, 0.6, 0.8]
    inp[15:18] = [2e-5, 1e-5, -3e-5]
    if star:
        inp[18:22], inp[22] = [0.9999, 0.01, 0.0, 0.0], 1.0
    inp[23:27] = [1.0, 0.0, 0.0, 0.0]
    inp[33:39] = rel
    inp[39] = 0.1
    return f32(inp)


def expected_mekf(s, inp, sensor):
    """The MEKF part of one step by the public functions: propagate, then `sensor`'s update."""
    m = f32(s[0:43])
    native.mekf_propagate(m, f32(inp[0:3]), inp[39], PRM[15], PRM[16])
    if sensor == "star":
        native.mekf_update_quat(m, f32(inp[18:22]), PRM[19])
    elif sensor == "sun":
        native.mekf_update_vector(m, f32(inp[3:6]), f32(inp[6:9]), PRM[17])
    elif sensor == "mag":
        native.mekf_update_vector(m, f32(inp[9:12]), f32(inp[12:15]), PRM[18])
    return np.array(m)


@pytest.mark.parametrize("counter, avail, sensor", [
    (0.0, (True, True, True), "star"), (1.0, (True, True, True), "sun"), (2.0, (True, True, True), "mag"),
    (3.0, (True, True, True), "star"), (0.0, (False, True, True), "sun"), (1.0, (True, False, True), "mag"),
    (2.0, (True, True, False), "star"), (0.0, (False, False, True), "mag"), (2.0, (False, False, False), None),
])
def test_steps_inspector_updates_one_sensor_per_cycle_round_robin(counter, avail, sensor):
    s, inp = state(counter), inputs([0, -300, 0, 0, 0, 0], *avail)
    want = expected_mekf(s, inp, sensor)
    out = f32([0.0] * native.INSPECTOR_OUT)
    native.inspector_step(s, inp, f32(PRM), out)
    np.testing.assert_array_equal(np.array(s[0:43]), want)  # the same float32 calls: bit for bit
    assert s[57] == counter + 1.0


def test_steps_inspector_counter_wraps_at_a_multiple_of_three():
    s = state(12582911.0)  # 3 * 2^22 - 1
    native.inspector_step(s, inputs([0, -300, 0, 0, 0, 0]), f32(PRM), f32([0.0] * native.INSPECTOR_OUT))
    assert s[57] == 0.0


def cw_min_range(x, n, horizon, dt):
    """float64: minimum range of the CW free drift sampled at k dt (last at horizon)."""
    count = int(math.ceil(horizon / dt)) + 1
    t = np.minimum(np.arange(count) * dt, horizon)
    u = n * t
    s, c = np.sin(u), np.cos(u)
    x0, y0, z0, vx, vy, vz = x
    px = (4 - 3 * c) * x0 + (s * vx + 2 * (1 - c) * vy) / n
    py = 6 * (s - u) * x0 + y0 + (-2 * (1 - c) * vx + (4 * s - 3 * u) * vy) / n
    pz = c * z0 + s * vz / n
    return float(np.sqrt(px * px + py * py + pz * pz).min())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-200, 200), min_size=3, max_size=3), st.lists(st.floats(-0.2, 0.2), min_size=3, max_size=3),
       st.sampled_from([(3000.0, 10.0), (600.0, 7.0), (5400.0, 60.0), (5.0, 10.0)]))
def test_steps_inspector_sweep_declares_keepout_minimum_within_ten_cycles(pos, vel, horizon_dt):
    horizon, dt = horizon_dt
    prm = list(PRM)
    prm[22], prm[23] = horizon, dt
    rel0 = [float(np.float32(v)) for v in pos + vel]
    count = int(math.ceil(horizon / dt)) + 1
    per = -(-count // 9)
    cycles = -(-count // per) + 1  # at most 9 of samples, then the decision cycle
    assert cycles <= 10
    s, out = state(prm=prm), f32([0.0] * native.INSPECTOR_OUT)
    unsafe = []
    for k in range(cycles):
        # the relative state moves during the sweep; the sweep predicts from its first cycle's
        rel = list(rel0) if k == 0 else [v + 0.5 * k for v in rel0[:3]] + rel0[3:]
        unsafe.append(native.inspector_step(s, inputs(rel), f32(prm), out))
        if k < cycles - 1:
            assert out[10] == 0.0 and out[11] == 0.0 and list(out[12:15]) == [0.0, 0.0, 0.0]
    want = cw_min_range(rel0, N, horizon, dt)
    assert out[10] == pytest.approx(want, rel=2e-5, abs=2e-3)  # float32 recurrence against float64
    c_ref = native.keepout_check(f32(rel0), N, horizon, dt, prm[21])[0]
    assert out[10] == pytest.approx(c_ref, rel=2e-5, abs=2e-3)
    assert unsafe[:-1] == [False] * (cycles - 1) and unsafe[-1] == (want < prm[21])
    assert s[58] == 0.0  # the next cycle starts a new sweep


def test_steps_inspector_abort_in_the_decision_cycle_from_the_current_state():
    s, out, prm = state(), f32([0.0] * native.INSPECTOR_OUT), f32(PRM)
    rel = [0.0, -15.0, 0.0, 0.0, 0.001, 0.0]
    for _ in range(9):
        assert native.inspector_step(s, inputs(rel), prm, out) is False
    assert s[58] == 301.0  # every sample taken: the next cycle decides
    now = [0.5, -14.0, 0.2, 0.0, 0.001, 0.0]
    assert native.inspector_step(s, inputs(now), prm, out) is True
    dv = f32([0.0] * 3)
    native.abort_burn(f32(now), N, PRM[21], dv)
    assert out[11] == 1.0 and list(out[12:15]) == list(dv)
    assert out[10] < PRM[21]


@pytest.mark.parametrize("counter", [0.0, 1.0, 2.0])
def test_steps_inspector_decision_cycle_only_propagates(counter):
    """The decision cycle takes no samples and no measurement update (its abort burn has the
    cycle's budget to itself), whichever sensor the counter picks; the counter still advances,
    so the skipped slot moves by one each sweep."""
    s = state(counter)
    s[58] = 301.0  # decision cycle of the configured 301-sample prediction
    s[59] = 30.0 * 30.0  # the sweep found 30 m: safe
    inp = inputs([0, -300, 0, 0, 0, 0])
    want = expected_mekf(s, inp, None)
    before = list(s[50:56]) + list(s[60:65])
    out = f32([0.0] * native.INSPECTOR_OUT)
    assert native.inspector_step(s, inp, f32(PRM), out) is False
    np.testing.assert_array_equal(np.array(s[0:43]), want)
    assert out[10] == pytest.approx(30.0) and s[58] == 0.0 and s[57] == counter + 1.0
    assert list(s[50:56]) + [s[60]] + list(s[61:65]) == before[:6] + [out[10]] + before[7:]


def test_steps_inspector_damaged_sweep_state_starts_the_sweep_over():
    """sin, cos at the next part that are not a unit pair mean a damaged (or hand-made) sweep
    state: the step starts a new sweep from this cycle's relative state instead of trusting the
    running minimum (steps.c), and the sweep then declares within its 10 cycles as usual; a
    damaged part rotation costs a setup cycle first."""
    s, out, prm = state(), f32([0.0] * native.INSPECTOR_OUT), f32(PRM)
    s[58], s[59] = 170.0, 1.0  # mid-sweep, with a bogus running minimum of 1 m
    s[61:63] = f32([0.5, 0.5])
    rel = [0.0, -300.0, 0.0, 0.0, 0.0, 0.0]
    damaged_rotation = state()
    damaged_rotation[58], damaged_rotation[63:65] = 170.0, f32([0.5, 0.5])
    native.inspector_step(damaged_rotation, inputs(rel), prm, out)
    assert damaged_rotation[58] == 0.0 and damaged_rotation[63] ** 2 + damaged_rotation[64] ** 2 == pytest.approx(1.0)
    assert native.inspector_step(s, inputs(rel), prm, out) is False
    assert s[58] == 34.0 and list(s[50:56]) == rel  # the first part of a new sweep, latched now
    for _ in range(9):
        unsafe = native.inspector_step(s, inputs(rel), prm, out)
    assert unsafe is False and out[10] == pytest.approx(300.0, rel=1e-5)  # not the bogus 1 m


def test_steps_inspector_setup_cycle_before_the_first_sweep_and_after_a_parameter_change():
    """Without a valid part rotation (a zero state, or n / horizon / dt changed) the step spends
    one setup cycle on its sinf/cosf (no samples), then the sweep runs as usual."""
    s, out, prm = f32([0.0] * native.INSPECTOR_SIZE), f32([0.0] * native.INSPECTOR_OUT), list(PRM)
    s[0] = 1.0
    for i in range(3):
        s[7 + 7 * i], s[7 + 7 * (i + 3)] = 1e-4, 1e-8
    rel = [0.0, -300.0, 0.0, 0.0, 0.0, 0.0]
    assert native.inspector_step(s, inputs(rel), f32(prm), out) is False
    u = np.float32(N) * (np.float32(34.0) * np.float32(10.0))
    assert s[58] == 0.0 and s[65] == u and s[63] == pytest.approx(math.sin(u)) and list(s[50:56]) == [0.0] * 6
    assert native.inspector_step(s, inputs(rel), f32(prm), out) is False
    assert s[58] == 34.0 and list(s[50:56]) == rel  # the first part
    prm[23] = 12.0  # horizon_dt changed mid-sweep: 251 samples, 28 per part, another rotation
    assert native.inspector_step(s, inputs(rel), f32(prm), out) is False
    assert s[58] == 0.0 and s[65] == np.float32(N) * (np.float32(28.0) * np.float32(12.0))
    for _ in range(10):
        native.inspector_step(s, inputs(rel), f32(prm), out)
    assert s[58] == 0.0 and out[10] == pytest.approx(300.0, rel=1e-5)
