"""gnc_detumble_run (native/src/sim.c): the D1 B-dot loop kept in C.

- equal to the same loop stepped from Python over the cffi functions it calls (quat_rotate_inv,
  bdot, body_step): bit for bit in the state (float32 throughout, same order of operations);
- equal to the fallback (firmware/gnc/sim.py, double arithmetic between float32 buffers) on
  CPython and on the MicroPython unix port within float32 tolerance;
- against a float64 reference written here from scipy (Rotation for the field in the body,
  solve_ivp for the rigid body) over a stretch of tumbling;
- D1's criterion on one run (10 deg/s to below 0.5 deg/s within 3 orbits);
- status codes with state and outputs untouched, on both backends.
"""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.spatial.transform import Rotation

native = pytest.importorskip("native", reason="the cffi core is not installed (`make setup`)")

RE = 6378137.0  # m
MU = 3.986004418e14  # m^3/s^2
B0 = 3.12e-5  # T, dipole field at the equator on the surface
J = np.array([[0.12, 0.002, -0.001], [0.002, 0.10, 0.0015], [-0.001, 0.0015, 0.05]])  # inspector_common.J
J32 = J.astype(np.float32).reshape(-1)
K = 1e6  # A m^2 / (T/s), D1's gain
M_MAX = 0.4  # A m^2
DT = 1.0  # s, D1's control period
DEG = math.pi / 180.0


def field_table(n_steps, dt=DT, altitude=500e3, inclination=math.radians(97.4), u0=0.3, raan=0.5):
    """(float32 [3 n_steps] inertial field of an axial dipole along a circular orbit, period s)."""
    r = RE + altitude
    n = math.sqrt(MU / r**3)
    u = u0 + n * dt * np.arange(n_steps)
    ci, si = math.cos(inclination), math.sin(inclination)
    pos = np.stack(
        [
            math.cos(raan) * np.cos(u) - math.sin(raan) * ci * np.sin(u),
            math.sin(raan) * np.cos(u) + math.cos(raan) * ci * np.sin(u),
            si * np.sin(u),
        ],
        axis=1,
    )
    m_hat = np.array([0.0, 0.0, -1.0])
    b = B0 * (RE / r) ** 3 * (3.0 * (pos @ m_hat)[:, None] * pos - m_hat)
    return np.ascontiguousarray(b.astype(np.float32).reshape(-1)), 2.0 * math.pi / n


def tumbling(rate_deg=10.0, axis=(0.3, -0.5, 0.8), q=(1.0, 0.0, 0.0, 0.0)):
    x = np.zeros(native.BODY_SIZE, np.float32)
    x[0:4] = np.asarray(q, np.float32) / np.linalg.norm(q)
    a = np.asarray(axis, float)
    x[4:7] = a / np.linalg.norm(a) * rate_deg * DEG
    return x


def stepped_over_cffi(x, s, table, n_steps, substeps, rate):
    """The C loop written out in Python over the cffi functions, float32 like the C."""
    b, m, tau, zero = (np.zeros(3, np.float32) for _ in range(4))
    q = x[:4]
    h = float(np.float32(DT) / np.float32(substeps))
    for i in range(n_steps):
        b_i = table[3 * i : 3 * i + 3]
        native.quat_rotate_inv(q, b_i, b)
        native.bdot(s, b, DT, K, M_MAX, m)
        for _ in range(substeps):
            native.quat_rotate_inv(q, b_i, b)
            tau[:] = np.cross(m, b)  # float32, the C's operation order
            native.body_step(x, J32, zero, tau, h, 1)
        rate[i] = np.sqrt(np.dot(x[4:7], x[4:7]))


def _fallback():
    import importlib

    return importlib.import_module("gnc.sim")


def test_sim_detumble_c_equals_python_stepped_over_cffi():
    n = 400
    table, _ = field_table(n)
    x_c, x_py = tumbling(), tumbling()
    s_c, s_py = np.zeros(4, np.float32), np.zeros(4, np.float32)
    r_c, r_py = np.zeros(n, np.float32), np.zeros(n, np.float32)
    assert native.detumble_run(x_c, J32, s_c, table, n, DT, K, M_MAX, 2, r_c) is None
    stepped_over_cffi(x_py, s_py, table, n, 2, r_py)
    # same float32 operations in the same order: the state agrees to the bit; the rate norm
    # (sqrtf in C, numpy's float32 dot here) to one float32 rounding
    np.testing.assert_array_equal(x_c, x_py)
    np.testing.assert_array_equal(s_c, s_py)
    np.testing.assert_allclose(r_c, r_py, rtol=2e-7, atol=0)
    assert r_c[-1] < 0.5 * r_c[0]  # it did detumble something over the stretch compared


@pytest.mark.parametrize("substeps", [1, 3])
def test_sim_detumble_fallback_equals_c(substeps):
    n = 200
    table, _ = field_table(n, u0=1.1)
    x_c = tumbling(8.0, (1.0, 0.2, -0.4), (0.9, 0.1, -0.3, 0.2))
    x_py = x_c.copy()
    s_c, s_py = np.zeros(4, np.float32), np.zeros(4, np.float32)
    r_c, r_py = np.zeros(n, np.float32), np.zeros(n, np.float32)
    native.detumble_run(x_c, J32, s_c, table, n, DT, K, M_MAX, substeps, r_c)
    assert _fallback().detumble_run(x_py, J32, s_py, table, n, DT, K, M_MAX, substeps, r_py) is None
    # float32 C against the fallback's double arithmetic over 200 steps (2e-6 seen on q)
    np.testing.assert_allclose(x_py, x_c, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(s_py, s_c, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(r_py, r_c, rtol=1e-3, atol=1e-6)


@pytest.mark.micropython
def test_sim_detumble_fallback_on_micropython_equals_c(micropython):
    n = 60
    table, _ = field_table(n)
    x = tumbling()
    s, r = np.zeros(4, np.float32), np.zeros(n, np.float32)
    x0 = x.copy()
    native.detumble_run(x, J32, s, table, n, DT, K, M_MAX, 2, r)
    code = (
        "from array import array\n"
        "import gnc\n"
        "x = array('f', %r)\n"
        "s = array('f', bytes(16))\n"
        "r = array('f', bytes(4 * %d))\n"
        "print(gnc.BACKEND, gnc.detumble_run(x, array('f', %r), s, array('f', %r), %d, %r, %r, %r, 2, r))\n"
        "print(' '.join('%%.8g' %% v for v in x))\n"
        "print(' '.join('%%.8g' %% v for v in r))\n"
    ) % (x0.tolist(), n, J32.tolist(), table.tolist(), n, DT, K, M_MAX)
    lines = micropython(code).decode().splitlines()
    assert lines[0] == "fallback None"
    np.testing.assert_allclose([float(v) for v in lines[1].split()], x, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose([float(v) for v in lines[2].split()], r, rtol=1e-3, atol=1e-6)


def _rigid_body(_t, y, tau_body):
    """d/dt [q, w] of the rigid body (no wheels) under a torque constant in body axes."""
    q, w = y[0:4], y[4:7]
    dq = 0.5 * np.array(
        [
            -q[1] * w[0] - q[2] * w[1] - q[3] * w[2],
            q[0] * w[0] + q[2] * w[2] - q[3] * w[1],
            q[0] * w[1] + q[3] * w[0] - q[1] * w[2],
            q[0] * w[2] + q[1] * w[1] - q[2] * w[0],
        ]
    )  # q_dot = 1/2 q x [0, w] (gnc.h)
    return np.concatenate([dq, np.linalg.solve(J, tau_body - np.cross(w, J @ w))])


def _reference(x0, table, n_steps, substeps):
    """float64 reference of the loop gnc.h describes: scipy Rotation for v_b = R(q)^T v_i,
    B-dot written from its definition, the dipole held over a step, the torque m x B constant
    over each of `substeps` sub-intervals (B at the sub-interval's start), solve_ivp (tight
    tolerances) for the rigid body. Returns (q, w, |w| per step)."""
    q = np.asarray(x0[0:4], float)
    w = np.asarray(x0[4:7], float)
    b_prev = None
    rates = []
    h = DT / substeps

    def rot_inv(q, v):
        return Rotation.from_quat([q[1], q[2], q[3], q[0]]).as_matrix().T @ v

    for i in range(n_steps):
        b_i = np.asarray(table[3 * i : 3 * i + 3], float)
        b = rot_inv(q, b_i)
        m = np.zeros(3) if b_prev is None else np.clip(-K * (b - b_prev) / DT, -M_MAX, M_MAX)
        b_prev = b
        for _ in range(substeps):
            tau = np.cross(m, rot_inv(q, b_i))
            y = solve_ivp(_rigid_body, (0.0, h), np.concatenate([q, w]), args=(tau,), rtol=1e-10, atol=1e-13).y[:, -1]
            q, w = y[0:4] / np.linalg.norm(y[0:4]), y[4:7]
        rates.append(np.linalg.norm(w))
    return q, w, np.array(rates)


def test_sim_detumble_c_matches_float64_scipy_reference():
    n = 120
    table, _ = field_table(n, u0=2.0)
    x = tumbling(10.0, (-0.2, 0.9, 0.4), (0.7, -0.1, 0.5, 0.5))
    x0 = x.copy()
    s, r = np.zeros(4, np.float32), np.zeros(n, np.float32)
    native.detumble_run(x, J32, s, table, n, DT, K, M_MAX, 2, r)
    q_ref, w_ref, r_ref = _reference(x0, table, n, 2)
    # float32 RK4 (h = 0.5 s at 10 deg/s) against a tight float64 integration: the rate to
    # 1e-4 relative of its initial value (it falls by about a third over these 120 s)
    np.testing.assert_allclose(r, r_ref, rtol=0, atol=1e-4 * r_ref[0])
    np.testing.assert_allclose(x[4:7], w_ref, rtol=0, atol=1e-4 * r_ref[0])
    assert abs(abs(float(np.dot(x[0:4], q_ref))) - 1.0) < 1e-5  # same attitude (angle below ~0.5 deg)
    assert r_ref[-1] < 0.9 * r_ref[0]


def test_sim_detumble_c_d1_run_settles_within_three_orbits():
    # GNC.md D1 on one run: 10 deg/s about an oblique axis to below 0.5 deg/s within 3 orbits
    # (here without the scenario's measure/actuate duty cycle and field noise)
    table, period = field_table(17100)
    n = int(math.ceil(3.0 * period / DT))
    x, s, r = tumbling(), np.zeros(4, np.float32), np.zeros(n, np.float32)
    native.detumble_run(x, J32, s, table, n, DT, K, M_MAX, 2, r)
    rate_deg = r / DEG
    above = np.nonzero(rate_deg >= 0.5)[0]
    assert rate_deg[0] > 9.0
    assert above[-1] < n - 1  # stays below from some step on
    assert np.all(rate_deg[above[-1] + 1 :] < 0.5)
    assert s[3] == 1.0
    assert r[-1] == pytest.approx(float(np.linalg.norm(x[4:7].astype(float))), rel=1e-6)


def test_sim_detumble_no_gain_conserves_inertial_angular_momentum():
    # k = 0: no torque; the inertial angular momentum R(q) J w is a constant of the motion
    n = 300
    table, _ = field_table(n)
    x = tumbling(10.0, (0.1, 1.0, 0.2), (0.8, 0.2, 0.5, -0.1))
    x0 = x.copy()
    s, r = np.zeros(4, np.float32), np.zeros(n, np.float32)
    native.detumble_run(x, J32, s, table, n, DT, 0.0, M_MAX, 2, r)

    def h_inertial(x):
        q = np.asarray(x[0:4], float)
        return Rotation.from_quat([q[1], q[2], q[3], q[0]]).as_matrix() @ (J @ np.asarray(x[4:7], float))

    h0 = h_inertial(x0)
    np.testing.assert_allclose(h_inertial(x), h0, rtol=0, atol=1e-4 * np.linalg.norm(h0))
    assert np.any(np.abs(x[4:7] - x0[4:7]) > 1e-3 * np.linalg.norm(x0[4:7]))  # w did move in the body


def test_sim_detumble_zero_steps_changes_nothing():
    x, s = tumbling(), np.array([1e-5, 2e-5, 3e-5, 1.0], np.float32)
    x0, s0 = x.copy(), s.copy()
    native.detumble_run(x, J32, s, np.zeros(0, np.float32), 0, DT, K, M_MAX, 2, np.zeros(0, np.float32))
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(s, s0)


def _bad_cases():
    singular = np.zeros(9, np.float32)
    singular[0] = 1.0
    return [
        pytest.param(dict(nan_at=7), native.ENAN, id="nan-in-field-table"),
        pytest.param(dict(dt=0.0), native.EINVAL, id="zero-dt"),
        pytest.param(dict(k=-1.0), native.EINVAL, id="negative-gain"),
        pytest.param(dict(substeps=0), native.EINVAL, id="no-substeps"),
        pytest.param(dict(substeps=1001), native.ERANGE, id="substeps-beyond-max"),
        pytest.param(dict(J=singular), native.EINVAL, id="singular-inertia"),
    ]


@pytest.mark.parametrize("backend", ["cffi", "fallback"])
@pytest.mark.parametrize("bad, code", _bad_cases())
def test_sim_detumble_error_leaves_state_and_rates_untouched(backend, bad, code):
    n = 5
    table, _ = field_table(n)
    if "nan_at" in bad:
        table[bad["nan_at"]] = np.nan
    x, s, r = tumbling(), np.array([1e-5, 2e-5, 3e-5, 1.0], np.float32), np.full(n, 7.0, np.float32)
    x0, s0 = x.copy(), s.copy()
    fn = native.detumble_run if backend == "cffi" else _fallback().detumble_run
    args = dict(J=J32, dt=DT, k=K, substeps=2)
    args.update({k: v for k, v in bad.items() if k != "nan_at"})
    with pytest.raises(ValueError) as err:
        fn(x, args["J"], s, table, n, args["dt"], args["k"], M_MAX, args["substeps"], r)
    assert err.value.code == code and "detumble_run" in str(err.value)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(s, s0)
    assert np.all(r == 7.0)
