"""Attitude control (native/src/control.c, firmware/gnc/control.py).

References: numpy float64 implementations of the gnc.h formulas (Wie 7.3 PD with gyroscopic
term and limits; m x B torque for dumping; B-dot), scipy Rotation for pointing. float32
tolerance: 1e-5 relative to the largest term.
"""

import math
from array import array

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from gnc import control as fb
from gnc.errors import EINVAL, ENAN, GncError

J = np.array([[0.12, 0.002, -0.001], [0.002, 0.10, 0.003], [-0.001, 0.003, 0.08]])


def f32(x):
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32))


def wxyz(r):
    x, y, z, w = r.as_quat()
    return np.array([w, x, y, z])


def rot(q):
    q = np.asarray(q, dtype=np.float64)
    return Rotation.from_quat([q[1], q[2], q[3], q[0]])


def pd_ref(q, w, q_ref, w_ref, Jm, h, kp, kd, tau_max, h_max):
    q, w, q_ref, w_ref, Jm, h = (np.asarray(a, np.float64) for a in (q, w, q_ref, w_ref, Jm, h))
    dq = wxyz(rot(q_ref).inv() * rot(q))  # scipy returns w >= 0 or not: recompute the Hamilton product
    qc = q_ref * [1, -1, -1, -1]
    dq = np.array([
        qc[0] * q[0] - qc[1:] @ q[1:],
        *(qc[0] * q[1:] + q[0] * qc[1:] + np.cross(qc[1:], q[1:])),
    ])
    sgn = -1.0 if dq[0] < 0 else 1.0
    tau = -kp * sgn * dq[1:] - kd * (w - w_ref) + np.cross(w, Jm.reshape(3, 3) @ w + h)
    tau = np.clip(tau, -tau_max, tau_max)
    tau[(np.abs(h) >= h_max) & (h * tau < 0)] = 0.0
    return tau


quats = st.lists(st.floats(-1, 1, width=32), min_size=4, max_size=4).filter(lambda v: sum(x * x for x in v) > 1e-2).map(
    lambda v: f32(np.array(v) / np.linalg.norm(v))
)
small = st.lists(st.floats(-0.25, 0.25, width=32), min_size=3, max_size=3).map(f32)
wheel = st.lists(st.floats(-0.0625, 0.0625, width=32), min_size=3, max_size=3).map(f32)


@settings(max_examples=300, deadline=None)
@given(q=quats, q_ref=quats, w=small, w_ref=small, h=wheel)
def test_pd_control_matches_numpy_formula_with_limits(gnc, q, q_ref, w, w_ref, h):
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    kp, kd, limits = 0.02, 0.2, f32([0.005, 0.05])
    tau = f32(np.zeros(3))
    assert lib.gnc_pd_control(b(q), b(w), b(q_ref), b(w_ref), b(f32(J.ravel())), b(h), kp, kd, b(limits), b(tau)) == 0
    ref = pd_ref(q, w, q_ref, w_ref, f32(J.ravel()), h, kp, kd, 0.005, 0.05)
    assert np.allclose(tau, ref, atol=1e-7, rtol=1e-5)
    assert np.all(np.abs(tau) <= 0.005)
    tp = array("f", [0.0] * 3)
    fb.pd_control(*(array("f", x.tolist()) for x in (q, w, q_ref, w_ref, f32(J.ravel()), h)), kp, kd,
                  array("f", limits.tolist()), tp)
    assert np.allclose(tp, tau, atol=1e-7, rtol=1e-5)


def test_pd_control_zero_error_gives_zero_torque(gnc):
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    q = f32(wxyz(Rotation.from_rotvec([0.3, -0.4, 1.0])))
    z = f32(np.zeros(3))
    tau = f32([9, 9, 9])
    assert lib.gnc_pd_control(b(q), b(z), b(q), b(z), b(f32(J.ravel())), b(z), 1.0, 1.0, b(f32([1, 1])), b(tau)) == 0
    assert np.all(np.abs(tau) < 1e-7)
    # -q is the same attitude: still no torque (sign(dq0) picks the short way)
    assert lib.gnc_pd_control(b(q), b(z), b(-q), b(z), b(f32(J.ravel())), b(z), 1.0, 1.0, b(f32([1, 1])), b(tau)) == 0
    assert np.all(np.abs(tau) < 1e-7)


def test_pd_control_drives_toward_reference_short_way(gnc):
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    z = f32(np.zeros(3))
    tau = f32(np.zeros(3))
    for angle in (0.3, 3.0):  # rotated about +x from the reference: torque about -x
        q = f32(wxyz(Rotation.from_rotvec([angle, 0, 0])))
        assert lib.gnc_pd_control(b(q), b(z), b(f32([1, 0, 0, 0])), b(z), b(f32(J.ravel())), b(z), 1.0, 0.0,
                                  b(f32([10, 10])), b(tau)) == 0
        assert tau[0] < 0 and abs(tau[1]) < 1e-7 and abs(tau[2]) < 1e-7
    q = f32(wxyz(Rotation.from_rotvec([3.3, 0, 0])))  # past 180 deg: the short way is +x
    assert lib.gnc_pd_control(b(q), b(z), b(f32([1, 0, 0, 0])), b(z), b(f32(J.ravel())), b(z), 1.0, 0.0,
                              b(f32([10, 10])), b(tau)) == 0
    assert tau[0] > 0


def test_pd_control_wheel_momentum_limit_blocks_only_growth(gnc):
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    z = f32(np.zeros(3))
    q = f32(wxyz(Rotation.from_rotvec([0.2, -0.2, 0.2])))  # wants tau = (-, +, -)
    h = f32([0.05, 0.05, -0.01])  # x at +limit: wheel gets -tau_x > 0, would grow -> 0
    tau = f32(np.zeros(3))
    assert lib.gnc_pd_control(b(q), b(z), b(f32([1, 0, 0, 0])), b(z), b(f32(np.zeros(9))), b(h), 1.0, 0.0,
                              b(f32([10, 0.05])), b(tau)) == 0
    assert tau[0] == 0.0  # blocked: would grow the x wheel
    assert tau[1] > 0  # y at +limit but -tau_y < 0 unloads it: allowed
    assert tau[2] < 0  # z below the limit
    # per-axis torque clip
    assert lib.gnc_pd_control(b(q), b(z), b(f32([1, 0, 0, 0])), b(z), b(f32(np.zeros(9))), b(z), 1.0, 0.0,
                              b(f32([0.01, 0.05])), b(tau)) == 0
    assert np.allclose(tau, [-0.01, 0.01, -0.01])


def test_pd_control_domain_and_nan(gnc):
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    q, z, Jf = f32([1, 0, 0, 0]), f32(np.zeros(3)), f32(J.ravel())
    tau = f32([7, 7, 7])
    assert lib.gnc_pd_control(b(q), b(z), b(q), b(z), b(Jf), b(z), -1.0, 1.0, b(f32([1, 1])), b(tau)) == EINVAL
    assert lib.gnc_pd_control(b(q), b(z), b(q), b(z), b(Jf), b(z), 1.0, 1.0, b(f32([0, 1])), b(tau)) == EINVAL
    assert lib.gnc_pd_control(b(q), b(f32([0, math.nan, 0])), b(q), b(z), b(Jf), b(z), 1.0, 1.0, b(f32([1, 1])),
                              b(tau)) == ENAN
    assert list(tau) == [7, 7, 7]


vec_b = st.lists(st.floats(-2.0**-14, 2.0**-14, width=32), min_size=3, max_size=3).map(f32).filter(
    lambda v: np.linalg.norm(v) > 1e-6)


@settings(max_examples=300, deadline=None)
@given(bf=vec_b, h=wheel, k=st.floats(0.0, 0.0078125, width=32), m_max=st.floats(0.0625, 1.0, width=32))
def test_dump_dipole_matches_formula_and_saturates_keeping_direction(gnc, bf, h, k, m_max):
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    m = f32(np.zeros(3))
    assert lib.gnc_dump_dipole(b(bf), b(h), k, m_max, b(m)) == 0
    B, H = bf.astype(float), h.astype(float)
    ref = float(k) * np.cross(H, B) / (B @ B)
    big = np.abs(ref).max()
    if big > m_max:
        ref *= float(m_max) / big
    assert np.allclose(m, ref, atol=1e-6 * max(1.0, np.abs(ref).max()), rtol=1e-4)
    assert np.abs(m).max() <= m_max * (1 + 1e-6)
    # the magnetic torque m x B unloads the wheels: it opposes h
    assert np.cross(m.astype(float), B) @ H <= 1e-18
    mp = array("f", [0.0] * 3)
    fb.dump_dipole(array("f", bf.tolist()), array("f", h.tolist()), k, m_max, mp)
    assert np.allclose(mp, m, atol=1e-7 * max(1.0, np.abs(ref).max()), rtol=1e-5)


def test_dump_dipole_unloads_wheels_in_a_rotating_field(gnc):
    """Wheel momentum under dumping alone: h_dot = m x B (attitude held, the wheels absorb it)."""
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    h = np.array([0.01, -0.02, 0.015])
    m = f32(np.zeros(3))
    for k in range(6000):  # one 6000 s orbit-like sweep of the field direction, 1 s steps
        a = 2 * math.pi * k / 6000
        B = 3e-5 * np.array([math.cos(a), 0.3, 2 * math.sin(a)])
        assert lib.gnc_dump_dipole(b(f32(B)), b(f32(h)), 0.005, 0.2, b(m)) == 0
        h = h + np.cross(m.astype(float), B) * 1.0
    assert np.linalg.norm(h) < 0.2 * np.linalg.norm([0.01, -0.02, 0.015])


def test_dump_dipole_zero_field_einval(gnc):
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    m = f32([5, 5, 5])
    assert lib.gnc_dump_dipole(b(f32(np.zeros(3))), b(f32([0.01, 0, 0])), 1.0, 0.2, b(m)) == EINVAL
    assert lib.gnc_dump_dipole(b(f32([1e-5, 0, 0])), b(f32([0.01, 0, 0])), 1.0, 0.0, b(m)) == EINVAL
    assert lib.gnc_dump_dipole(b(f32([1e-5, 0, math.inf])), b(f32([0.01, 0, 0])), 1.0, 0.2, b(m)) == ENAN
    assert list(m) == [5, 5, 5]


def test_bdot_first_call_zero_then_opposes_field_rate_and_saturates(gnc):
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    s = f32([3, 3, 3, 3])
    assert lib.gnc_bdot_init(b(s)) == 0
    assert not s.any()
    m = f32([9, 9, 9])
    b1 = f32([2e-5, -1e-5, 3e-5])
    assert lib.gnc_bdot(b(s), b(b1), 0.5, 1e4, 0.2, b(m)) == 0
    assert not m.any() and s[3] == 1.0 and np.array_equal(s[:3], b1)
    b2 = f32([2.1e-5, -1.2e-5, 3e-5])
    assert lib.gnc_bdot(b(s), b(b2), 0.5, 1e4, 0.2, b(m)) == 0
    dbdt = (b2.astype(float) - b1.astype(float)) / 0.5
    assert np.allclose(m, -1e4 * dbdt, rtol=1e-4, atol=1e-9)
    assert np.all(m * dbdt <= 0)  # m opposite to dB/dt
    b3 = f32([4e-5, -5e-5, 3e-5])  # large change: per-axis saturation at m_max
    assert lib.gnc_bdot(b(s), b(b3), 0.5, 1e4, 0.2, b(m)) == 0
    assert np.allclose(m, [-0.2, 0.2, 0.0], atol=1e-6)
    mp, sp = array("f", [0.0] * 3), array("f", [0.0] * 4)
    fb.bdot_init(sp)
    fb.bdot(sp, array("f", b1.tolist()), 0.5, 1e4, 0.2, mp)
    assert list(mp) == [0, 0, 0]
    fb.bdot(sp, array("f", b2.tolist()), 0.5, 1e4, 0.2, mp)
    assert np.allclose(mp, -1e4 * dbdt, rtol=1e-4, atol=1e-9)


def test_bdot_domain_errors_leave_state(gnc):
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    s, m = f32([1e-5, 0, 0, 1]), f32([0, 0, 0])
    assert lib.gnc_bdot(b(s), b(f32([1e-5, 0, 0])), 0.0, 1.0, 0.2, b(m)) == EINVAL
    assert lib.gnc_bdot(b(s), b(f32([1e-5, 0, 0])), 0.1, -1.0, 0.2, b(m)) == EINVAL
    assert lib.gnc_bdot(b(s), b(f32([math.nan, 0, 0])), 0.1, 1.0, 0.2, b(m)) == ENAN
    assert np.array_equal(s, f32([1e-5, 0, 0, 1]))
    with pytest.raises(GncError) as e:
        fb.bdot(array("f", [0.0] * 4), array("f", [0, 0, 0]), -1.0, 1.0, 0.2, array("f", [0.0] * 3))
    assert e.value.code == EINVAL


@settings(max_examples=200, deadline=None)
@given(q=quats, bs=small.filter(lambda v: np.linalg.norm(v) > 1e-2), r=small.filter(lambda v: np.linalg.norm(v) > 1e-2))
def test_point_to_puts_boresight_on_target_by_the_smallest_rotation(gnc, q, bs, r):
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    out = f32(np.zeros(4))
    assert lib.gnc_point_to(b(q), b(bs), b(r), b(out)) == 0
    u = bs.astype(float) / np.linalg.norm(bs.astype(float))
    v = r.astype(float) / np.linalg.norm(r.astype(float))
    got = rot(out).apply(u)
    assert np.linalg.norm(got - v) < 2e-4 or np.dot(rot(q).apply(u), v) < -0.9999  # near-opposite: float32
    # smallest rotation: the angle from q_now equals the angle between the directions
    moved = (rot(q).inv() * rot(out)).magnitude()
    between = math.acos(np.clip(np.dot(rot(q).apply(u), v), -1, 1))
    assert abs(moved - between) < 1e-3
    qp = array("f", [0.0] * 4)
    fb.point_to(array("f", q.tolist()), array("f", bs.tolist()), array("f", r.tolist()), qp)
    assert min(np.abs(np.array(qp) - out).max(), np.abs(np.array(qp) + out).max()) < 1e-4


def test_point_to_opposite_direction_half_turn(gnc):
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    out = f32(np.zeros(4))
    assert lib.gnc_point_to(b(f32([1, 0, 0, 0])), b(f32([0, 0, 1])), b(f32([0, 0, -5])), b(out)) == 0
    assert np.allclose(rot(out).apply([0, 0, 1]), [0, 0, -1], atol=1e-6)
    assert lib.gnc_point_to(b(f32([1, 0, 0, 0])), b(f32([0, 0, 0])), b(f32([0, 0, -5])), b(out)) == EINVAL


CONTROL_MP = """
from array import array
import gnc.control
c = gnc.control
t = array('f', [0.0] * 3)
c.pd_control(array('f', [%s]), array('f', [0.01, -0.02, 0.03]), array('f', [1.0, 0.0, 0.0, 0.0]),
             array('f', [0.0, 0.0, 0.0]), array('f', [%s]), array('f', [0.01, 0.05, -0.02]), 0.02, 0.2,
             array('f', [0.005, 0.05]), t)
m = array('f', [0.0] * 3)
c.dump_dipole(array('f', [2e-05, -1e-05, 3e-05]), array('f', [0.01, 0.02, -0.03]), 0.005, 0.2, m)
s = array('f', [0.0] * 4); mb = array('f', [0.0] * 3)
c.bdot_init(s)
c.bdot(s, array('f', [2e-05, -1e-05, 3e-05]), 0.5, 10000.0, 0.2, mb)
c.bdot(s, array('f', [2.1e-05, -1.2e-05, 3e-05]), 0.5, 10000.0, 0.2, mb)
qr = array('f', [0.0] * 4)
c.point_to(array('f', [%s]), array('f', [0.0, 0.0, 1.0]), array('f', [3.0, -4.0, 1.0]), qr)
print(' '.join(repr(x) for x in list(t) + list(m) + list(mb) + list(s) + list(qr)))
"""


def test_control_fallback_on_micropython_matches_c(gnc, micropython):
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    q = f32(wxyz(Rotation.from_rotvec([0.4, -0.3, 0.8])))
    Jf = f32(J.ravel())
    fmt = lambda x: ", ".join(repr(float(t)) for t in x)  # noqa: E731
    got = np.array([float(t) for t in micropython(CONTROL_MP % (fmt(q), fmt(Jf), fmt(q))).split()])
    t, m, mb, s, qr = f32(np.zeros(3)), f32(np.zeros(3)), f32(np.zeros(3)), f32(np.zeros(4)), f32(np.zeros(4))
    assert lib.gnc_pd_control(b(q), b(f32([0.01, -0.02, 0.03])), b(f32([1, 0, 0, 0])), b(f32(np.zeros(3))), b(Jf),
                              b(f32([0.01, 0.05, -0.02])), 0.02, 0.2, b(f32([0.005, 0.05])), b(t)) == 0
    assert lib.gnc_dump_dipole(b(f32([2e-5, -1e-5, 3e-5])), b(f32([0.01, 0.02, -0.03])), 0.005, 0.2, b(m)) == 0
    lib.gnc_bdot_init(b(s))
    assert lib.gnc_bdot(b(s), b(f32([2e-5, -1e-5, 3e-5])), 0.5, 1e4, 0.2, b(mb)) == 0
    assert lib.gnc_bdot(b(s), b(f32([2.1e-5, -1.2e-5, 3e-5])), 0.5, 1e4, 0.2, b(mb)) == 0
    assert lib.gnc_point_to(b(q), b(f32([0, 0, 1])), b(f32([3, -4, 1])), b(qr)) == 0
    exp = np.concatenate([t, m, mb, s, qr]).astype(float)
    assert got.shape == exp.shape
    assert np.allclose(got, exp, rtol=1e-4, atol=1e-9)
