"""Plant propagators (native/src/plant.c, firmware/gnc/plant.py) against float64 references.

References: scipy solve_ivp (DOP853, rtol 1e-10) of the same equations, the CW closed form, and
the unicycle arc in closed form. Tolerances are stated where used.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.spatial.transform import Rotation

import gnc.plant as fb_plant
from gnc.errors import EINVAL, ENAN, ERANGE, GncError

OK = 0
J = np.array([[0.30, 0.01, -0.02], [0.01, 0.25, 0.015], [-0.02, 0.015, 0.12]])  # 12U-class, kg m^2
N = 1.1e-3


def f32(*v):
    return np.array(v, dtype=np.float32)


def dcm(q):
    """R(q) of gnc.h (body-to-inertial components: v_I = R(q) v_B), from scipy."""
    return Rotation.from_quat([q[1], q[2], q[3], q[0]]).as_matrix()


def body_rhs(jm, tau_w, tau_e):
    jinv = np.linalg.inv(jm)

    def rhs(t, y):
        q, w, h = y[:4], y[4:7], y[7:10]
        wdot = jinv @ (-np.cross(w, jm @ w + h) + tau_w + tau_e)
        qdot = 0.5 * np.array([
            -q[1] * w[0] - q[2] * w[1] - q[3] * w[2],
            q[0] * w[0] + q[2] * w[2] - q[3] * w[1],
            q[0] * w[1] + q[3] * w[0] - q[1] * w[2],
            q[0] * w[2] + q[1] * w[1] - q[2] * w[0],
        ])
        return np.concatenate([qdot, wdot, -np.asarray(tau_w)])

    return rhs


@pytest.fixture(scope="module")
def plant(gnc):
    ffi, lib = gnc

    class P:
        def fb(self, a):
            return ffi.from_buffer("float[]", a)

        def body(self, x, jm, tau_w, tau_e, dt, substeps, calls=1):
            x = f32(*x)
            for _ in range(calls):
                st_ = lib.gnc_body_step(self.fb(x), self.fb(f32(*np.ravel(jm))), self.fb(f32(*tau_w)),
                                        self.fb(f32(*tau_e)), dt, substeps)
                assert st_ == OK
            return x

        def cw(self, x, n, acc, dt, substeps, calls=1):
            x = f32(*x)
            for _ in range(calls):
                assert lib.gnc_cw_step(self.fb(x), n, self.fb(f32(*acc)), dt, substeps) == OK
            return x

        def rover(self, pose, v, omega, dt):
            p = f32(*pose)
            assert lib.gnc_rover_kinematics(self.fb(p), v, omega, dt) == OK
            return p

    p = P()
    p.lib = lib
    return p


X_BODY = [0.9, 0.1, -0.3, 0.2, 0.05, -0.08, 0.12, 0.004, -0.002, 0.006]
X_BODY[:4] = [float(v) for v in np.array(X_BODY[:4]) / np.linalg.norm(X_BODY[:4])]


def momentum_inertial(x, jm):
    x = np.asarray(x, float)
    return dcm(x[:4]) @ (jm @ x[4:7] + x[7:10])


def test_body_step_torque_free_conserves_momentum_and_energy(plant):
    # 600 s in 1 s calls, 10 RK4 sub-steps each. float32 tolerance: 600 calls x 10 sub-steps of
    # rounding ~6e-8 each, a few 1e-5 relative at most; asserted 1e-4.
    x = plant.body(X_BODY, J, [0, 0, 0], [0, 0, 0], 1.0, 10, calls=600)
    l0, l1 = momentum_inertial(X_BODY, J), momentum_inertial(x, J)
    assert np.linalg.norm(l1) == pytest.approx(np.linalg.norm(l0), rel=1e-4)
    assert np.linalg.norm(l1 - l0) <= 1e-4 * np.linalg.norm(l0)  # the inertial vector, too
    w0, w1 = np.array(X_BODY[4:7]), x[4:7].astype(float)
    assert 0.5 * w1 @ J @ w1 == pytest.approx(0.5 * w0 @ J @ w0, rel=1e-4)
    assert np.linalg.norm(x[:4]) == pytest.approx(1.0, abs=1e-6)
    # and the same motion as the float64 integration
    ref = solve_ivp(body_rhs(J, np.zeros(3), np.zeros(3)), (0, 600), X_BODY, method="DOP853", rtol=1e-10,
                    atol=1e-12).y[:, -1]
    assert np.linalg.norm(x[4:7] - ref[4:7]) <= 1e-3 * np.linalg.norm(ref[4:7])
    assert abs(abs(np.dot(x[:4], ref[:4])) - 1) < 1e-6  # attitude within ~1e-3 rad


@pytest.mark.parametrize("tau_w,tau_e", [
    ([1e-3, -2e-3, 5e-4], [0, 0, 0]),     # wheel torque: total momentum (body + wheels) conserved
    ([0, 0, 0], [2e-5, -1e-5, 3e-5]),     # external torque: momentum changes
    ([-4e-4, 3e-4, 1e-3], [1e-5, 0, -1e-5]),
], ids=["wheels", "external", "both"])
def test_body_step_matches_solve_ivp(plant, tau_w, tau_e):
    x = plant.body(X_BODY, J, tau_w, tau_e, 0.5, 5, calls=240)  # 120 s
    ref = solve_ivp(body_rhs(J, np.array(tau_w), np.array(tau_e)), (0, 120), X_BODY, method="DOP853", rtol=1e-10,
                    atol=1e-12).y[:, -1]
    print("\nbody_step %s: |w - w_ref| %.2e rad/s, |h - h_ref| %.2e N m s, |L| drift %.2e" % (
        tau_w, np.linalg.norm(x[4:7] - ref[4:7]), np.linalg.norm(x[7:] - ref[7:]),
        np.linalg.norm(momentum_inertial(x, J) - momentum_inertial(X_BODY, J))))
    assert np.linalg.norm(x[4:7] - ref[4:7]) <= 1e-3 * np.linalg.norm(ref[4:7])
    assert np.linalg.norm(x[7:] - ref[7:]) <= 1e-4 * np.linalg.norm(ref[7:]) + 1e-7
    assert abs(abs(np.dot(x[:4], ref[:4])) - 1) < 1e-6
    if not any(tau_e):
        l0 = momentum_inertial(X_BODY, J)
        assert np.linalg.norm(momentum_inertial(x, J) - l0) <= 1e-4 * np.linalg.norm(l0)


def test_body_step_errors_leave_state_untouched(plant):
    lib, fb = plant.lib, plant.fb
    x = f32(*X_BODY)
    z3 = f32(0, 0, 0)
    jf = f32(*J.ravel())
    assert lib.gnc_body_step(fb(x), fb(jf), fb(z3), fb(z3), 1.0, 1001) == ERANGE
    assert lib.gnc_body_step(fb(x), fb(jf), fb(z3), fb(z3), 1.0, 0) == EINVAL
    assert lib.gnc_body_step(fb(x), fb(jf), fb(z3), fb(z3), -1.0, 1) == EINVAL
    assert lib.gnc_body_step(fb(x), fb(f32(1, 0, 0, 0, 1, 0, 0, 0, 0)), fb(z3), fb(z3), 1.0, 1) == EINVAL
    assert lib.gnc_body_step(fb(x), fb(jf), fb(f32(0, math.nan, 0)), fb(z3), 1.0, 1) == ENAN
    xz = f32(0, 0, 0, 0, 0.1, 0, 0, 0, 0, 0)
    assert lib.gnc_body_step(fb(xz), fb(jf), fb(z3), fb(z3), 1.0, 1) == EINVAL
    assert np.array_equal(x, f32(*X_BODY))


def cw_closed(n, t, x):
    u = n * t
    s, c = math.sin(u), math.cos(u)
    p = np.zeros((6, 6))
    p[0, 0], p[0, 3], p[0, 4] = 4 - 3 * c, s / n, 2 * (1 - c) / n
    p[1, 0], p[1, 1], p[1, 3], p[1, 4] = 6 * (s - u), 1, 2 * (c - 1) / n, (4 * s - 3 * u) / n
    p[2, 2], p[2, 5] = c, s / n
    p[3, 0], p[3, 3], p[3, 4] = 3 * n * s, c, 2 * s
    p[4, 0], p[4, 3], p[4, 4] = 6 * n * (c - 1), -2 * s, 4 * c - 3
    p[5, 2], p[5, 5] = -n * s, c
    return p @ np.asarray(x, float)


def test_cw_step_zero_acceleration_matches_stm(plant):
    # one orbit (5712 s) in 10 s calls with 2 sub-steps; float32 rounding over 571 calls:
    # ~1e-4 of the path size
    x0 = [20.0, -100.0, 10.0, 0.01, -0.03, 0.005]
    n32 = float(np.float32(N))
    x = plant.cw(x0, n32, [0, 0, 0], 10.0, 2, calls=571)
    ref = cw_closed(n32, 5710.0, f32(*x0))
    assert np.linalg.norm(x[:3] - ref[:3]) <= 1e-4 * np.linalg.norm(ref[:3]) + 1e-2
    assert np.linalg.norm(x[3:] - ref[3:]) <= 1e-4 * np.linalg.norm(ref[3:]) + 1e-5


def test_cw_step_constant_acceleration_matches_solve_ivp(plant):
    x0, acc = [5.0, -50.0, 0.0, 0.0, 0.0, 0.0], [1e-5, -2e-5, 5e-6]
    n = float(np.float32(N))

    def rhs(t, y):
        return [y[3], y[4], y[5], 3 * n * n * y[0] + 2 * n * y[4] + acc[0], -2 * n * y[3] + acc[1],
                -n * n * y[2] + acc[2]]

    ref = solve_ivp(rhs, (0, 1000), x0, method="DOP853", rtol=1e-10, atol=1e-12).y[:, -1]
    x = plant.cw(x0, n, acc, 50.0, 5, calls=20)
    assert np.linalg.norm(x[:3] - ref[:3]) <= 1e-4 * np.linalg.norm(ref[:3])
    assert np.linalg.norm(x[3:] - ref[3:]) <= 1e-4 * np.linalg.norm(ref[3:])


def test_cw_step_errors(plant):
    lib, fb = plant.lib, plant.fb
    x = f32(1, 2, 3, 0, 0, 0)
    a = f32(0, 0, 0)
    assert lib.gnc_cw_step(fb(x), N, fb(a), 1.0, 1001) == ERANGE
    assert lib.gnc_cw_step(fb(x), N, fb(a), 1.0, 0) == EINVAL
    assert lib.gnc_cw_step(fb(x), -N, fb(a), 1.0, 1) == EINVAL
    assert lib.gnc_cw_step(fb(x), N, fb(f32(0, math.inf, 0)), 1.0, 1) == ENAN
    assert np.array_equal(x, f32(1, 2, 3, 0, 0, 0))


@settings(max_examples=200, deadline=None)
@given(x=st.floats(-100, 100), y=st.floats(-100, 100), psi=st.floats(-3.14, 3.14), v=st.floats(-0.3, 0.3),
       omega=st.floats(-1, 1), dt=st.floats(0, 10))
def test_rover_kinematics_matches_closed_form_arc(plant, x, y, psi, v, omega, dt):
    p = plant.rover([x, y, psi], v, omega, dt)
    x, y, psi, v, omega, dt = (float(np.float32(a)) for a in (x, y, psi, v, omega, dt))
    if abs(omega) > 1e-9:
        rx = x + v / omega * (math.sin(psi + omega * dt) - math.sin(psi))
        ry = y + v / omega * (math.cos(psi) - math.cos(psi + omega * dt))
    else:
        rx, ry = x + v * dt * math.cos(psi), y + v * dt * math.sin(psi)
    # float32: 1e-5 of the coordinates plus 1e-5 of the distance travelled
    tol = 1e-5 * (abs(x) + abs(y) + 1) + 1e-5 * abs(v * dt)
    assert abs(p[0] - rx) <= tol and abs(p[1] - ry) <= tol
    dpsi = (p[2] - (psi + omega * dt) + math.pi) % (2 * math.pi) - math.pi
    assert abs(dpsi) <= 1e-5 and -math.pi <= p[2] < math.pi + 1e-6


def test_rover_kinematics_straight_line_and_errors(plant):
    assert np.allclose(plant.rover([1, 2, math.pi / 2], 0.2, 0.0, 5.0), [1, 3, math.pi / 2], atol=1e-6)
    p = plant.rover([0, 0, 0], 0.1, 1e-7, 10.0)  # |omega| tiny: still the straight line
    assert p[0] == pytest.approx(1.0, abs=1e-6) and abs(p[1]) < 1e-6
    # a full circle of radius v / omega comes back
    p = plant.rover([3, 4, 0.5], 0.2, 0.1, 2 * math.pi / 0.1)
    assert np.allclose(p[:2], [3, 4], atol=1e-4)
    lib, fb = plant.lib, plant.fb
    pose = f32(1, 2, 3)
    assert lib.gnc_rover_kinematics(fb(pose), 0.1, 0.0, -1.0) == EINVAL
    assert lib.gnc_rover_kinematics(fb(pose), math.nan, 0.0, 1.0) == ENAN
    assert np.array_equal(pose, f32(1, 2, 3))


# ---- Fallback (firmware/gnc/plant.py) against C --------------------------------------

def test_plant_fallback_matches_c_on_random_inputs(plant):
    rng = np.random.default_rng(7)
    for _ in range(20):
        q = rng.normal(size=4)
        x = f32(*(q / np.linalg.norm(q)), *rng.uniform(-0.2, 0.2, 3), *rng.uniform(-0.01, 0.01, 3))
        tw, te = f32(*rng.uniform(-1e-3, 1e-3, 3)), f32(*rng.uniform(-1e-5, 1e-5, 3))
        xf = list(x)
        fb_plant.body_step(xf, f32(*J.ravel()), tw, te, 2.0, 8)
        xc = plant.body(x, J, tw, te, 2.0, 8)
        assert np.allclose(xf, xc, rtol=1e-4, atol=1e-6)
        c = f32(*rng.uniform(-200, 200, 3), *rng.uniform(-0.1, 0.1, 3))
        acc = f32(*rng.uniform(-1e-4, 1e-4, 3))
        cf = list(c)
        fb_plant.cw_step(cf, N, acc, 30.0, 3)
        assert np.allclose(cf, plant.cw(c, N, acc, 30.0, 3), rtol=1e-5, atol=1e-5)
        pose = f32(*rng.uniform(-50, 50, 2), rng.uniform(-3, 3))
        v, om, dt = rng.uniform(-0.3, 0.3), rng.uniform(-1, 1), rng.uniform(0, 5)
        pf = list(pose)
        fb_plant.rover_kinematics(pf, v, om, dt)
        assert np.allclose(pf, plant.rover(pose, v, om, dt), atol=1e-5)


def test_plant_fallback_errors():
    for call, code in [
        (lambda: fb_plant.body_step(list(X_BODY), list(J.ravel()), [0] * 3, [0] * 3, 1.0, 1001), ERANGE),
        (lambda: fb_plant.body_step(list(X_BODY), [1, 0, 0, 0, 1, 0, 0, 0, 0], [0] * 3, [0] * 3, 1.0, 1), EINVAL),
        (lambda: fb_plant.cw_step([0] * 6, N, [0, math.nan, 0], 1.0, 1), ENAN),
        (lambda: fb_plant.rover_kinematics([0, 0, 0], 0.1, 0.1, -1.0), EINVAL),
    ]:
        with pytest.raises(GncError) as e:
            call()
        assert e.value.code == code


MP_PLANT = """
import json
from array import array
import gnc.plant as plant
x = array('f', %r)
plant.body_step(x, array('f', %r), array('f', [1e-3, -2e-3, 5e-4]), array('f', [1e-5, 0.0, 0.0]), 2.0, 8)
c = array('f', [20.0, -100.0, 10.0, 0.01, -0.03, 0.005])
plant.cw_step(c, %r, array('f', [1e-5, -2e-5, 0.0]), 30.0, 3)
p = array('f', [1.0, 2.0, 3.0])
plant.rover_kinematics(p, 0.2, 0.3, 2.0)
try:
    plant.cw_step(c, 1e-3, array('f', [0.0, 0.0, 0.0]), 1.0, 1001)
    code = 0
except ValueError as err:
    code = err.code
print(json.dumps([list(x), list(c), list(p), code]))
"""


@pytest.mark.micropython
def test_plant_fallback_on_micropython_matches_c(plant, micropython):
    out = micropython(MP_PLANT % (X_BODY, [float(v) for v in J.ravel()], N)).decode().strip().splitlines()[-1]
    xb, c, p, code = json.loads(out)
    assert np.allclose(xb, plant.body(X_BODY, J, [1e-3, -2e-3, 5e-4], [1e-5, 0, 0], 2.0, 8), rtol=1e-4, atol=1e-6)
    assert np.allclose(c, plant.cw([20.0, -100.0, 10.0, 0.01, -0.03, 0.005], N, [1e-5, -2e-5, 0], 30.0, 3),
                       rtol=1e-5, atol=1e-5)
    assert np.allclose(p, plant.rover([1, 2, 3], 0.2, 0.3, 2.0), atol=1e-5)
    assert code == ERANGE
