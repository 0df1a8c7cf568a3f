"""GNC core benchmarks: what one 10 Hz control cycle costs on each backend, and Monte Carlo
throughput with the whole loop kept in C.

Step cost (group "gnc step"): gnc_inspector_step (MEKF propagate + one sun, magnetometer or
star update on the round-robin, PD, momentum dumping, one ninth of the keep-out sweep over one
orbit; in a sweep's decision cycle no samples and no update, the abort burn when unsafe) and gnc_rover_step (odometry, sun
heading fix, power, pure pursuit, drill) through

    cffi                   native.inspector_step / native.rover_step (the C core)
    fallback-cpython       firmware/gnc/steps.py (pure MicroPython code) on CPython
    fallback-micropython   the same modules precompiled with mpy-cross and loaded as .mpy (as
                           flashed on a board; ground/runtimes.compile_firmware_mpy) on the
                           MicroPython unix port, timed inside it with time.ticks_us, heap
                           capped at the ESP32 budget; extra_info has the RAM the step's
                           imports hold and peak at, from .mpy and (timed runs) from .py
    numpy-f32, numpy-f64   tests/bench/numpy_steps.py: the same algorithm in numpy

One call is a batch of BATCH steps from the same initial state (10 s of flight at 10 Hz);
per-step figures are the batch median / BATCH. Each test records the ratio of its per-step
cost to cffi's from the same session (the cffi case runs first).

Monte Carlo (group "gnc monte carlo"): D1-like detumbling runs (10 deg/s, B-dot at the D1
control period of 1 s, 3 orbits = 17031 steps, 2 actuation sub-steps) with gnc_detumble_run
(loop in C), the same loop stepped from Python over cffi calls, and the fallback gnc.sim on
CPython: runs per second.

Benchmarks measure, they never assert on time. Under `make test` (--benchmark-disable) every
body runs once, with short Monte Carlo runs, and checks only that the results are right.
"""

import math
import re
import statistics
from array import array

import numpy as np
import pytest

from ground import runtimes
import numpy_steps  # tests/bench/numpy_steps.py (pytest puts this folder on sys.path)

native = pytest.importorskip("native", reason="the cffi core is not installed (`make setup`)")

BATCH = 100  # steps per timed call: 10 s of flight at 10 Hz
MPY_ROUNDS = 15  # timed batches inside MicroPython (1 when timing is off)
MPY_HEAP = 100 * 1024  # ESP32 budget (boards/esp32-devkitc.json), as the link benchmarks use

# ---- the inspector (hil/scenarios/inspector_common.py values) ---------------------------------
J = [0.12, 0.002, -0.001, 0.002, 0.10, 0.0015, -0.001, 0.0015, 0.05]
N_MEAN = 0.0011068  # rad/s, 500 km circular
PERIOD = 2 * math.pi / N_MEAN  # ~5677 s


def inspector_case(rel=(40.0, 100.0, 20.0, 0.0, -0.0885, 0.0)):
    """(s, in, prm) as float lists: a converged-ish MEKF, all sensors valid, keep-out over one orbit."""
    s = np.zeros(native.INSPECTOR_SIZE, np.float32)
    native.mekf_init(s[: native.MEKF_SIZE], np.array([0.9, 0.1, -0.3, 0.2], np.float32),
                     np.array([1e-4, -2e-4, 5e-5], np.float32), 0.01, 1e-4)
    s[47:50] = [0.001, 0.002, 0.0]  # h_cmd
    s[56] = 2.0  # mode (the caller's)
    inp = np.zeros(native.INSPECTOR_IN, np.float32)
    inp[0:3] = [0.01, -0.02, 0.005]  # gyro rad/s
    inp[3:6] = [0.6, 0.8, 0.0]  # sun_ref (inertial)
    inp[6:9] = [0.1, 0.97, -0.2]  # sun_meas (body)
    inp[9:12] = [0.0, 0.6, 0.8]  # mag_ref
    inp[12:15] = [0.05, 0.55, 0.83]  # mag_meas
    inp[15:18] = [2e-5, 1e-5, -3e-5]  # b_field T
    inp[18:22] = [0.9, 0.1, -0.3, 0.21]  # q_star
    inp[22] = 1.0  # star_valid
    inp[23:27] = [0.88, 0.15, -0.3, 0.2]  # q_ref
    inp[27:30] = [0.0, -N_MEAN, 0.0]  # w_ref
    inp[30:33] = [0.01, -0.005, 0.002]  # h_wheels N m s
    inp[33:39] = rel  # relative state: on a 40 m / 20 m safety ellipse (default)
    inp[39] = 0.1  # dt
    prm = np.array(
        J + [0.0024, 0.0216, 2e-3, 0.03, 0.01, 0.4]  # J kp kd tau_max h_max k_dump m_max
        + [3e-5, 3e-9, 0.0087, 0.02, 1e-4]  # sigma_v sigma_u sigma_sun sigma_mag sigma_star
        + [N_MEAN, 15.0, PERIOD, 10.0],  # n keepout_radius horizon (one orbit) horizon_dt
        np.float32,
    )
    return s.tolist(), inp.tolist(), prm.tolist()


def rover_case(drilling=False, sun_fix=True):
    """(s, in, prm, path, n_points) as float lists: a 20 m square, sun fix valid."""
    s = [0.0] * native.ROVER_STEP_SIZE
    s[0:5] = [0.5, -0.3, 0.05, 1e-4, 1e-3]  # nav
    s[5] = 0.8  # soc
    s[7] = 1.0 if drilling else 0.0  # drill mode
    s[12] = 30.0  # time since the last fix (s)
    inp = [0.1, 0.12, 0.01, 1.0 if sun_fix else 0.0, 0.02, 0.05, 0.3, 0.05, 1.0, 1.0, 300.0,
           1.0 if drilling else 0.0, 0.1]
    prm = ([0.2, 0.5, 1.0, 0.3, 0.25]  # v_max omega_max lookahead slope_limit soc_reserve
           + [1e-4, 1e-3]  # sigma_gyro var_sun
           + [0.5, 0.25, 1361.0, 3.6e5, 5.0, 10.0]  # power p
           + [0.0, 8.0]  # horizon load_w
           + [5.0, 2.0, 330.0, 1.5, 0.01])  # drill limits
    path = [0, 0, 20, 0, 20, 20, 0, 20, 0, 0]
    return s, inp, prm, path, 5


STEPS = {
    "inspector": dict(case=inspector_case, out=native.INSPECTOR_OUT),
    "rover": dict(case=rover_case, out=native.ROVER_OUT),
}


# ---- running a batch on each backend ----------------------------------------------------------


def _steps_module():
    import importlib

    return importlib.import_module("gnc.steps")  # the fallback module, whatever gnc.BACKEND is


def _python_batch(step, backend):
    """A zero-argument callable running BATCH steps from the initial state; returns (s, out)."""
    s0, *args = STEPS[step]["case"]()
    n_out = STEPS[step]["out"]
    if backend.startswith("numpy"):
        dtype = np.float32 if backend == "numpy-f32" else np.float64
        conv = lambda v: np.array(v, dtype)  # noqa: E731
        fn = getattr(numpy_steps, step + "_step")
    else:
        conv = lambda v: array("f", v)  # noqa: E731
        fn = getattr(native if backend == "cffi" else _steps_module(), step + "_step")
    s0 = conv(s0)
    s = conv(s0)
    args = [conv(a) if isinstance(a, list) else a for a in args]
    out = conv([0.0] * n_out)
    call_args = (s, *args, out)

    def run():
        s[:] = s0
        for _ in range(BATCH):
            fn(*call_args)
        return s, out

    return run


# the modules a step imports (gnc.steps imports its sub-step modules inside each step)
STEP_MODULES = {"inspector": "gnc.steps, gnc.mekf, gnc.cw, gnc.control, gnc.sweep", "rover": "gnc.steps, gnc.rover"}
MPY_IMPORT = """\
import gc, micropython
gc.collect()
f0 = gc.mem_free()
c0 = micropython.mem_current()
import {modules}
p = micropython.mem_peak() - c0
gc.collect()
print('import', f0 - gc.mem_free(), p)
"""
MPY_SNIPPET = """\
import time
from array import array
from gnc.steps import {step}_step as step
S0 = array('f', {s0!r})
s = array('f', S0)
args = [{args}]
out = array('f', bytes(4 * {n_out}))
args = [s] + args + [out]

def batch():
    for i in range(len(S0)):
        s[i] = S0[i]
    for _ in range({batch}):
        step(*args)

batch()  # warm-up: first allocations
us = []
for _ in range({rounds}):
    t0 = time.ticks_us()
    batch()
    us.append(time.ticks_diff(time.ticks_us(), t0))
print('us', ' '.join(str(v) for v in us))
print('s', ' '.join('%.9g' % v for v in s))
print('out', ' '.join('%.9g' % v for v in out))
"""
MPY_SOURCE_HEAP = 1024 * 1024  # importing .py source, for the comparison only: compiling needs ~93 KB at peak


def _mpy_import_ram(step, mpy_dir=None, heap=MPY_HEAP):
    """(bytes held after the step's imports, gc.mem_free before - after a collect; peak bytes
    allocated while importing, micropython.mem_peak) on the unix port: from .mpy in mpy_dir, or
    compiled from firmware/'s .py source when mpy_dir is None."""
    code = ("import sys\nsys.path.insert(0, %r)\n" % str(mpy_dir) if mpy_dir else "") + MPY_IMPORT.format(
        modules=STEP_MODULES[step])
    text = runtimes.run_snippet(code, runtime="micropython", heap_bytes=heap).decode()
    held, peak = re.search(r"^import (\d+) (\d+)$", text, re.M).groups()
    return int(held), int(peak)


def _mpy_batches(step, rounds, mpy_dir):
    """(batch times in us, s, out, import RAM) of the fallback on the MicroPython unix port,
    loaded from the precompiled .mpy in mpy_dir (as on a board) at the ESP32 heap."""
    s0, *args = STEPS[step]["case"]()
    code = "import sys\nsys.path.insert(0, %r)\n" % str(mpy_dir) + MPY_IMPORT.format(
        modules=STEP_MODULES[step]) + "print('file', sys.modules['gnc.steps'].__file__)\n" + MPY_SNIPPET.format(
        step=step, s0=s0, n_out=STEPS[step]["out"], batch=BATCH, rounds=rounds,
        args=", ".join("array('f', %r)" % (a,) if isinstance(a, list) else repr(a) for a in args),
    )
    text = runtimes.run_snippet(code, runtime="micropython", heap_bytes=MPY_HEAP, timeout=300).decode()
    fields = {m.group(1): m.group(2).split() for m in re.finditer(r"^(us|s|out|import|file) (.*)$", text, re.M)}
    assert fields["file"][0].endswith(".mpy"), fields["file"]  # loaded from the build, not firmware/
    return ([int(v) for v in fields["us"]], [float(v) for v in fields["s"]], [float(v) for v in fields["out"]],
            [int(v) for v in fields["import"]])


def _c_reference(step):
    s, out = _python_batch(step, "cffi")()
    return np.array(s), np.array(out)


# ---- numpy implementation against the C step (plain tests) ------------------------------------

INSPECTOR_STATES = {
    "ellipse": (40.0, 100.0, 20.0, 0.0, -0.0885, 0.0),  # safe: no abort
    "close-approach": (0.0, -15.0, 0.0, 0.0, 0.001, 0.0),  # at the keep-out sphere: abort near the V-bar
    "drifting-in": (1.0, -50.0, 6.0, -0.03, 0.01, -0.004),  # passes 5 m from the target: abort, radial fallbacks
    "off-v-bar": (7.2, 21.5, -21.7, 0.058, -0.0149, -0.0563),  # |(x, z)| >= 1.5 radius: e/i abort on the hyperbola
}
SWEEP = 10  # cycles per keep-out sweep (steps.c: SWEEP_SAMPLE_CYCLES, then the decision cycle)
RUN_STEPS = 2 * SWEEP + 5  # two whole sweeps and part of a third


def _sensors(k, inp):
    """The sensor set of step k of the comparison run: all, eclipse without a star fix, no sun."""
    if k == 8:  # eclipse, star tracker lost: the magnetometer takes every turn
        inp[22] = 0.0
        inp[6:9] = 0.0
    elif k == 14:  # star tracker back, still no sun: star and magnetometer share the turns
        inp[22] = 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("state", list(INSPECTOR_STATES))
def test_numpy_inspector_step_matches_c(dtype, state):
    s, inp, prm = inspector_case(INSPECTOR_STATES[state])
    s_c, inp_c, prm_c, out_c = (np.array(v, np.float32) for v in (s, inp, prm, [0.0] * native.INSPECTOR_OUT))
    s_n, inp_n, prm_n, out_n = (np.array(v, dtype) for v in (s, inp, prm, [0.0] * native.INSPECTOR_OUT))
    rel0 = np.array(INSPECTOR_STATES[state], np.float32)
    rel = np.zeros(6, np.float32)
    unsafe_at = []
    for k in range(RUN_STEPS):
        _sensors(k, inp_c)
        _sensors(k, inp_n)
        native.cw_propagate(rel0, N_MEAN, 0.1 * k, rel)  # the relative state drifts on its CW path
        inp_c[33:39] = rel
        inp_n[33:39] = rel
        u_c = native.inspector_step(s_c, inp_c, prm_c, out_c)
        u_n = numpy_steps.inspector_step(s_n, inp_n, prm_n, out_n)
        assert u_n == u_c, k
        if u_c:
            unsafe_at.append(k)
            assert np.abs(out_c[12:15]).max() > 1e-4  # an abort burn was computed (and is compared below)
        # float32 C (sweep sin/cos by recurrence, abort by Newton) against numpy: relative 1e-4 plus floors
        np.testing.assert_allclose(out_n, out_c, rtol=1e-4, atol=1e-7, err_msg="step %d" % k)
        np.testing.assert_allclose(s_n[:4], s_c[:4], rtol=0, atol=2e-6)  # q
        np.testing.assert_allclose(s_n[4:7], s_c[4:7], rtol=0, atol=1e-6)  # bias (rad/s), ~1e-3 here
        np.testing.assert_allclose(s_n[7:43], s_c[7:43], rtol=1e-3, atol=1e-12)  # P
        # h_cmd (~1e-3 N m s), latched cw, mode, counter, sweep index, running minimum, min_range, sin/cos
        np.testing.assert_allclose(s_n[43:], s_c[43:], rtol=1e-4, atol=1e-6, err_msg="step %d" % k)
        # the schedule: sweep index and declared minimum exactly where the C has them
        assert s_n[58] == s_c[58] and (out_n[10] == 0) == (out_c[10] == 0)
    # the declaration (and any abort) only at each sweep's last (decision) cycle
    # from a zero state: a setup cycle (the part rotation), then sweeps of SWEEP cycles
    assert unsafe_at == ([] if state == "ellipse" else [SWEEP, 2 * SWEEP])
    assert s_c[57] == RUN_STEPS and out_c[0:3].any() and out_c[3:6].any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("drilling, sun_fix", [(False, True), (False, False), (True, True)],
                         ids=["driving-fix", "driving-no-fix", "drilling"])
def test_numpy_rover_step_matches_c(dtype, drilling, sun_fix):
    s, inp, prm, path, n_points = rover_case(drilling, sun_fix)
    s_c, inp_c, prm_c, path_c = (np.array(v, np.float32) for v in (s, inp, prm, path))
    s_n, inp_n, prm_n, path_n = (np.array(v, dtype) for v in (s, inp, prm, path))
    out_c, out_n = np.zeros(native.ROVER_OUT, np.float32), np.zeros(native.ROVER_OUT, dtype)
    for k in range(40):
        if k == 20:  # a drill stall (torque past its limit) / the Sun drops below the horizon
            for a in (inp_c, inp_n):
                a[8] = 6.0
                a[5] = -0.02
        native.rover_step(s_c, inp_c, prm_c, path_c, n_points, out_c)
        numpy_steps.rover_step(s_n, inp_n, prm_n, path_n, n_points, out_n)
        np.testing.assert_allclose(out_n, out_c, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(s_n, s_c, rtol=1e-4, atol=1e-6)
    if drilling:
        assert s_c[7] == 2.0 and s_c[9] == 1.0  # retracting after the torque stall
    else:
        assert out_c[0] == 0.0 or s_c[0] > 0.5  # it drove (or stopped at the reserve)
        assert s_c[10] >= 0.0


# ---- step cost ----------------------------------------------------------------------------------

BACKENDS = ["cffi", "fallback-cpython", "fallback-micropython", "numpy-f32", "numpy-f64"]
_per_step_us = {}  # (step, backend) -> per-step us in this session


def _cases():
    out = []
    for step in STEPS:
        for backend in BACKENDS:
            marks = [pytest.mark.micropython] if backend == "fallback-micropython" else []
            out.append(pytest.param(step, backend, marks=marks, id="%s-%s" % (step, backend)))
    return out


@pytest.mark.parametrize("step, backend", _cases())
def test_bench_gnc_step(benchmark, request, step, backend):
    benchmark.group = "gnc step"
    s_ref, out_ref = _c_reference(step)
    if backend == "fallback-micropython":
        request.getfixturevalue("micropython")  # skips (or fails on CI) without the unix port
        rounds = 1 if benchmark.disabled else MPY_ROUNDS
        mpy_dir = runtimes.compile_firmware_mpy(("gnc",))  # precompiled, as flashed on a board (cached)
        # one subprocess; the batches are timed inside it with ticks_us
        us, s, out, (held, peak) = benchmark.pedantic(_mpy_batches, args=(step, rounds, mpy_dir), rounds=1,
                                                      iterations=1)
        per_batch_us = statistics.median(us)
        extra = dict(batches=len(us), heap_bytes=MPY_HEAP, loaded="mpy", import_held_mpy=held,
                     import_peak_mpy=peak)
        if not benchmark.disabled:  # the same imports compiled from .py source on the device
            extra["import_held_py"], extra["import_peak_py"] = _mpy_import_ram(step, heap=MPY_SOURCE_HEAP)
    else:
        s, out = benchmark(_python_batch(step, backend))
        per_batch_us = None if benchmark.stats is None else benchmark.stats.stats.median * 1e6
        extra = {}
    # every backend ends the batch where the C core does (float32 tolerance, relative 1e-4)
    np.testing.assert_allclose(np.array(out, float), out_ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.array(s, float), s_ref, rtol=1e-3, atol=1e-9)
    if per_batch_us is None:
        return
    per_step = per_batch_us / BATCH
    _per_step_us[(step, backend)] = per_step
    info = benchmark.extra_info
    info.update(step=step, backend=backend, steps_per_call=BATCH, **extra)
    info["per_step_us"] = round(per_step, 3)
    info["steps_per_s"] = round(1e6 / per_step)
    info["cycle_percent_10hz"] = round(per_step / 1e3, 4)  # per cent of the 100 ms control period
    cffi = _per_step_us.get((step, "cffi"))
    if cffi:
        info["x_cffi"] = round(per_step / cffi, 1)


# ---- Monte Carlo: D1-like detumbling runs -------------------------------------------------------

RE = 6378137.0
MU = 3.986004418e14
B0 = 3.12e-5  # T
D1_DT = 1.0  # s, D1 control period
D1_K = 1e6
D1_M_MAX = 0.4
D1_SUBSTEPS = 2
D1_ORBITS = 3
J32 = np.array(J, np.float32)
_runs_per_s = {}


def field_table(n_steps, altitude=500e3, inclination=math.radians(97.4), u0=0.3, raan=0.5):
    """(float32 inertial field of an axial dipole, one value per step, along a circular orbit; period)."""
    r = RE + altitude
    n = math.sqrt(MU / r**3)
    u = u0 + n * D1_DT * np.arange(n_steps)
    ci, si, cr, sr = math.cos(inclination), math.sin(inclination), math.cos(raan), math.sin(raan)
    pos = np.stack([cr * np.cos(u) - sr * ci * np.sin(u), sr * np.cos(u) + cr * ci * np.sin(u), si * np.sin(u)], 1)
    m_hat = np.array([0.0, 0.0, -1.0])
    b = B0 * (RE / r) ** 3 * (3.0 * (pos @ m_hat)[:, None] * pos - m_hat)
    return np.ascontiguousarray(b.astype(np.float32).reshape(-1)), 2 * math.pi / n


_, D1_PERIOD = field_table(1)
D1_STEPS = int(math.ceil(D1_ORBITS * D1_PERIOD / D1_DT))  # 17031
D1_TABLE, _ = field_table(D1_STEPS)
X0 = np.zeros(native.BODY_SIZE, np.float32)
X0[0:4] = np.array([0.9, 0.1, -0.3, 0.2]) / np.linalg.norm([0.9, 0.1, -0.3, 0.2])
X0[4:7] = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8]) * math.radians(10.0)


def _run_c(n_steps):
    x, s, rate = X0.copy(), np.zeros(4, np.float32), np.zeros(n_steps, np.float32)
    native.detumble_run(x, J32, s, D1_TABLE, n_steps, D1_DT, D1_K, D1_M_MAX, D1_SUBSTEPS, rate)
    return x, rate


def _run_stepped(n_steps):
    """gnc_detumble_run's loop from Python, one cffi call per function call."""
    x, s, rate = X0.copy(), np.zeros(4, np.float32), np.zeros(n_steps, np.float32)
    b, m, tau, zero = (np.zeros(3, np.float32) for _ in range(4))
    q = x[:4]
    h = float(np.float32(D1_DT) / np.float32(D1_SUBSTEPS))
    rotate_inv, bdot, body_step = native.quat_rotate_inv, native.bdot, native.body_step
    for i in range(n_steps):
        b_i = D1_TABLE[3 * i : 3 * i + 3]
        rotate_inv(q, b_i, b)
        bdot(s, b, D1_DT, D1_K, D1_M_MAX, m)
        for _ in range(D1_SUBSTEPS):
            rotate_inv(q, b_i, b)
            m0, m1, m2, b0, b1, b2 = m[0], m[1], m[2], b[0], b[1], b[2]  # float32 scalars
            tau[0], tau[1], tau[2] = m1 * b2 - m2 * b1, m2 * b0 - m0 * b2, m0 * b1 - m1 * b0
            body_step(x, J32, zero, tau, h, 1)
        rate[i] = math.sqrt(x[4] * x[4] + x[5] * x[5] + x[6] * x[6])
    return x, rate


def _run_fallback(n_steps):
    import importlib

    sim = importlib.import_module("gnc.sim")
    x, s, rate = array("f", X0.tolist()), array("f", bytes(16)), array("f", bytes(4 * n_steps))
    sim.detumble_run(x, array("f", J32.tolist()), s, D1_TABLE, n_steps, D1_DT, D1_K, D1_M_MAX, D1_SUBSTEPS, rate)
    return np.array(x, np.float32), np.array(rate, np.float32)


MC_LOOPS = {"c-loop": _run_c, "cffi-stepped": _run_stepped, "fallback-cpython": _run_fallback}
MC_ROUNDS = {"cffi-stepped": 3, "fallback-cpython": 1}  # pedantic rounds of the slow loops
CHECK_STEPS = 300  # steps compared between loops (all three agree there to float32 tolerance)


@pytest.mark.parametrize("loop", list(MC_LOOPS))
def test_bench_gnc_detumble_monte_carlo(benchmark, loop):
    benchmark.group = "gnc monte carlo"
    # under make test: the C loop in full (a few ms), the Python loops over CHECK_STEPS only
    n = D1_STEPS if (loop == "c-loop" or not benchmark.disabled) else CHECK_STEPS
    run = MC_LOOPS[loop]
    if loop == "c-loop":
        x, rate = benchmark(run, n)
    else:
        x, rate = benchmark.pedantic(run, args=(n,), rounds=MC_ROUNDS[loop], iterations=1)
    x_c, rate_c = _run_c(n)
    if loop == "cffi-stepped":
        np.testing.assert_array_equal(x, x_c)  # same float32 operations in the same order
    np.testing.assert_allclose(rate[:CHECK_STEPS], rate_c[:CHECK_STEPS], rtol=1e-3, atol=1e-6)
    if n == D1_STEPS:  # D1's criterion: below 0.5 deg/s within 3 orbits, and staying there
        assert rate[0] > math.radians(9.0)
        assert np.all(rate[-(D1_STEPS // 2) :] < math.radians(0.5))
    if benchmark.stats is None:
        return
    median = benchmark.stats.stats.median
    _runs_per_s[loop] = 1.0 / median
    info = benchmark.extra_info
    info.update(loop=loop, steps_per_run=n, substeps=D1_SUBSTEPS, orbits=D1_ORBITS, control_period_s=D1_DT)
    info["run_s"] = round(median, 6)
    info["runs_per_s"] = round(1.0 / median, 3)
    info["per_step_us"] = round(median / n * 1e6, 3)
    c = _runs_per_s.get("c-loop")
    if c and loop != "c-loop":
        info["c_loop_speedup"] = round(c * median, 1)
