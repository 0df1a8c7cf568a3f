"""Quaternion algebra and attitude propagation (native/src/quat.c, firmware/gnc/quat.py).

Reference: scipy.spatial.transform.Rotation in float64 on the float32-rounded inputs.
gnc.h: R(q) == Rotation.from_quat([q1, q2, q3, q0]).as_matrix(). Tolerance: float32,
2e-6 absolute on unit-magnitude results (a few ulp of 1.0), 1e-5 on angles in rad.
"""

import math
from array import array

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.spatial.transform import Rotation

from gnc import quat as fb
from gnc.errors import EINVAL, ENAN, GncError

TOL = 2e-6


def f32(x):
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32))


def rot(q):
    q = np.asarray(q, dtype=np.float64)
    return Rotation.from_quat([q[1], q[2], q[3], q[0]])


def wxyz(r):
    x, y, z, w = r.as_quat()
    return np.array([w, x, y, z])


def same_rotation(a, b, tol=TOL):
    """Quaternions equal up to the sign."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    return min(np.abs(a - b).max(), np.abs(a + b).max()) < tol


finite = st.floats(-1.0, 1.0, allow_nan=False, width=32)
quats = st.lists(finite, min_size=4, max_size=4).filter(lambda v: sum(x * x for x in v) > 1e-2).map(
    lambda v: f32(np.array(v) / np.linalg.norm(v))
)
vecs = st.lists(st.floats(-10.0, 10.0, allow_nan=False, width=32), min_size=3, max_size=3).map(f32)
rates = st.lists(st.floats(-0.5, 0.5, allow_nan=False, width=32), min_size=3, max_size=3).map(f32)


@pytest.fixture
def C(gnc):
    ffi, lib = gnc

    def buf(a):
        return ffi.from_buffer("float[]", a)

    return ffi, lib, buf


@settings(max_examples=200, deadline=None)
@given(a=quats, b=quats)
def test_quat_mul_matches_scipy_composition(gnc, a, b):
    ffi, lib = gnc
    out = f32(np.zeros(4))
    assert lib.gnc_quat_mul(ffi.from_buffer("float[]", a), ffi.from_buffer("float[]", b), ffi.from_buffer("float[]", out)) == 0
    assert same_rotation(out, wxyz(rot(a) * rot(b)))
    assert abs(np.linalg.norm(out.astype(float)) - 1.0) < 1e-6  # unit norm preserved


@settings(max_examples=200, deadline=None)
@given(q=quats, v=vecs)
def test_quat_rotate_matches_scipy_apply(gnc, q, v):
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    out, back = f32(np.zeros(3)), f32(np.zeros(3))
    assert lib.gnc_quat_rotate(b(q), b(v), b(out)) == 0
    assert np.allclose(out, rot(q).apply(v.astype(float)), atol=TOL * 10, rtol=0)
    assert lib.gnc_quat_rotate_inv(b(q), b(v), b(back)) == 0
    assert np.allclose(back, rot(q).inv().apply(v.astype(float)), atol=TOL * 10, rtol=0)
    # round trip: rotate then rotate_inv is the identity
    assert lib.gnc_quat_rotate_inv(b(q), b(out), b(back)) == 0
    assert np.allclose(back, v, atol=TOL * 20, rtol=0)


@settings(max_examples=200, deadline=None)
@given(q=quats)
def test_quat_dcm_round_trip_matches_scipy(gnc, q):
    ffi, lib = gnc
    b = lambda a: ffi.from_buffer("float[]", a)  # noqa: E731
    r9, back = f32(np.zeros(9)), f32(np.zeros(4))
    assert lib.gnc_quat_to_dcm(b(q), b(r9)) == 0
    assert np.allclose(r9.reshape(3, 3), rot(q).as_matrix(), atol=TOL, rtol=0)
    assert lib.gnc_dcm_to_quat(b(r9), b(back)) == 0
    assert back[0] >= 0.0
    assert same_rotation(back, wxyz(Rotation.from_matrix(r9.reshape(3, 3).astype(float))), tol=4 * TOL)
    assert same_rotation(back, q, tol=4 * TOL)


@pytest.mark.parametrize(
    "r9",
    [np.eye(3) * 1.01, np.diag([1.0, 1.0, -1.0]), np.zeros((3, 3)), np.array([[1, 0.01, 0], [0, 1, 0], [0, 0, 1.0]])],
    ids=["scaled", "reflection", "zero", "sheared"],
)
def test_dcm_to_quat_not_a_rotation_einval(gnc, r9):
    ffi, lib = gnc
    q = f32([9, 9, 9, 9])
    assert lib.gnc_dcm_to_quat(ffi.from_buffer("float[]", f32(r9.ravel())), ffi.from_buffer("float[]", q)) == EINVAL
    assert list(q) == [9, 9, 9, 9]


@settings(max_examples=200, deadline=None)
@given(axis=vecs.filter(lambda v: np.linalg.norm(v) > 1e-3), angle=st.floats(-7.0, 7.0, width=32))
def test_quat_from_axis_angle_matches_from_rotvec(gnc, axis, angle):
    ffi, lib = gnc
    q = f32(np.zeros(4))
    assert lib.gnc_quat_from_axis_angle(ffi.from_buffer("float[]", axis), angle, ffi.from_buffer("float[]", q)) == 0
    ref = Rotation.from_rotvec(axis.astype(float) / np.linalg.norm(axis.astype(float)) * float(angle))
    assert same_rotation(q, wxyz(ref), tol=4 * TOL)


@settings(max_examples=200, deadline=None)
@given(a=quats, b=quats)
def test_quat_error_and_angle_match_relative_rotation(gnc, a, b):
    ffi, lib = gnc
    buf = lambda x: ffi.from_buffer("float[]", x)  # noqa: E731
    dq = f32(np.zeros(4))
    angle = ffi.new("float *")
    assert lib.gnc_quat_error(buf(a), buf(b), buf(dq)) == 0
    rel = rot(a).inv() * rot(b)
    assert dq[0] >= 0.0
    assert same_rotation(dq, wxyz(rel), tol=4 * TOL)
    assert lib.gnc_quat_angle(buf(a), buf(b), angle) == 0
    assert abs(angle[0] - rel.magnitude()) < 1e-5 * max(1.0, rel.magnitude()) + 4e-6
    # q_ref x dq == q
    back = f32(np.zeros(4))
    assert lib.gnc_quat_mul(buf(a), buf(dq), buf(back)) == 0
    assert same_rotation(back, b, tol=4 * TOL)


@settings(max_examples=100, deadline=None)
@given(q=quats)
def test_quat_conj_times_q_is_identity(gnc, q):
    ffi, lib = gnc
    buf = lambda x: ffi.from_buffer("float[]", x)  # noqa: E731
    c, out = f32(np.zeros(4)), f32(np.zeros(4))
    assert lib.gnc_quat_conj(buf(q), buf(c)) == 0
    assert lib.gnc_quat_mul(buf(q), buf(c), buf(out)) == 0
    assert np.allclose(out, [1, 0, 0, 0], atol=TOL)


def test_quat_mul_out_aliases_input(gnc):
    ffi, lib = gnc
    a, b = f32(wxyz(Rotation.from_rotvec([0.3, -0.2, 0.1]))), f32(wxyz(Rotation.from_rotvec([-1.0, 0.5, 2.0])))
    expect = wxyz(rot(a) * rot(b))
    assert lib.gnc_quat_mul(ffi.from_buffer("float[]", a), ffi.from_buffer("float[]", b), ffi.from_buffer("float[]", a)) == 0
    assert same_rotation(a, expect)


def test_quat_normalize_unit_and_zero_einval(gnc):
    ffi, lib = gnc
    q = f32([2.0, 0.0, -2.0, 1.0])
    assert lib.gnc_quat_normalize(ffi.from_buffer("float[]", q)) == 0
    assert np.allclose(q, np.array([2, 0, -2, 1]) / 3.0, atol=TOL)
    z = f32([0, 0, 0, 0])
    assert lib.gnc_quat_normalize(ffi.from_buffer("float[]", z)) == EINVAL
    assert lib.gnc_quat_from_axis_angle(ffi.from_buffer("float[]", f32([0, 0, 0])), 1.0, ffi.from_buffer("float[]", q)) == EINVAL


@settings(max_examples=200, deadline=None)
@given(q=quats, w=rates, dt=st.sampled_from([0.0, 1e-3, 0.1, 1.0, 10.0]))
def test_attitude_propagate_matches_exact_rotation(gnc, q, w, dt):
    ffi, lib = gnc
    out = q.copy()
    assert lib.gnc_attitude_propagate(ffi.from_buffer("float[]", out), ffi.from_buffer("float[]", w), dt) == 0
    ref = rot(q) * Rotation.from_rotvec(w.astype(float) * dt)
    assert same_rotation(out, wxyz(ref), tol=4 * TOL)
    assert abs(np.linalg.norm(out.astype(float)) - 1.0) < 1e-6


def test_attitude_propagate_matches_solve_ivp_kinematics(gnc):
    """Many steps at constant body rate against q_dot = 1/2 q x [0, w] integrated in float64."""
    ffi, lib = gnc
    w = np.array([0.05, -0.02, 0.1])
    q0 = wxyz(Rotation.from_rotvec([0.4, 0.1, -0.7]))

    def qdot(_t, q):
        w0, x, y, z = q
        return 0.5 * np.array(
            [-x * w[0] - y * w[1] - z * w[2], w0 * w[0] + y * w[2] - z * w[1], w0 * w[1] + z * w[0] - x * w[2],
             w0 * w[2] + x * w[1] - y * w[0]]
        )

    ref = solve_ivp(qdot, (0.0, 100.0), q0, rtol=1e-11, atol=1e-12).y[:, -1]
    q, wf = f32(q0), f32(w)
    for _ in range(1000):
        assert lib.gnc_attitude_propagate(ffi.from_buffer("float[]", q), ffi.from_buffer("float[]", wf), 0.1) == 0
    assert same_rotation(q, ref / np.linalg.norm(ref), tol=2e-4)  # 1000 float32 steps


def test_attitude_propagate_negative_dt_einval(gnc):
    ffi, lib = gnc
    q = f32([1, 0, 0, 0])
    assert lib.gnc_attitude_propagate(ffi.from_buffer("float[]", q), ffi.from_buffer("float[]", f32([0.1, 0, 0])), -0.1) == EINVAL
    assert list(q) == [1, 0, 0, 0]


NAN_CASES = [
    ("gnc_quat_mul", ["q", "q", "out4"]),
    ("gnc_quat_conj", ["q", "out4"]),
    ("gnc_quat_normalize", ["q"]),
    ("gnc_quat_rotate", ["q", "v", "out3"]),
    ("gnc_quat_rotate_inv", ["q", "v", "out3"]),
    ("gnc_quat_to_dcm", ["q", "out9"]),
    ("gnc_dcm_to_quat", ["r9", "out4"]),
    ("gnc_quat_from_axis_angle", ["v", "angle", "out4"]),
    ("gnc_quat_error", ["q", "q", "out4"]),
    ("gnc_attitude_propagate", ["q", "v", "angle"]),
]


@pytest.mark.parametrize("name,args", NAN_CASES, ids=[c[0] for c in NAN_CASES])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_quat_nan_input_enan_outputs_untouched(gnc, name, args, bad):
    ffi, lib = gnc
    for k, kind in enumerate(args):
        if kind.startswith("out"):
            continue
        vals, bufs = [], []
        for j, kd in enumerate(args):
            if kd == "angle":
                v = bad if j == k else 0.5
                vals.append(v)
                bufs.append(v)
                continue
            size = {"q": 4, "v": 3, "r9": 9, "out3": 3, "out4": 4, "out9": 9}[kd]
            a = f32([0.5] * size if kd != "r9" else np.eye(3).ravel())
            if j == k:
                a[size - 1] = bad
            vals.append(a.copy())
            bufs.append(ffi.from_buffer("float[]", a))
        assert getattr(lib, name)(*bufs) == ENAN, (name, k)
        for j, kd in enumerate(args):
            if kd != "angle":
                assert np.array_equal(np.frombuffer(ffi.buffer(bufs[j]), np.float32), vals[j], equal_nan=True)


# ---- fallback (firmware/gnc/quat.py) against C -------------------------------------


@settings(max_examples=100, deadline=None)
@given(a=quats, b=quats, v=vecs, w=rates)
def test_quat_fallback_matches_c(gnc, a, b, v, w):
    ffi, lib = gnc
    buf = lambda x: ffi.from_buffer("float[]", x)  # noqa: E731
    A, B, V, W = (array("f", x.tolist()) for x in (a, b, v, w))
    pairs = [
        ("quat_mul", (a, b), (A, B), 4),
        ("quat_conj", (a,), (A,), 4),
        ("quat_rotate", (a, v), (A, V), 3),
        ("quat_rotate_inv", (a, v), (A, V), 3),
        ("quat_to_dcm", (a,), (A,), 9),
        ("quat_error", (a, b), (A, B), 4),
    ]
    for name, cargs, pargs, n in pairs:
        co, po = f32(np.zeros(n)), array("f", [0.0] * n)
        assert getattr(lib, "gnc_" + name)(*[buf(x) for x in cargs], buf(co)) == 0
        getattr(fb, name)(*pargs, po)
        assert np.allclose(co, po, atol=TOL * 10, rtol=0), name
    r9 = f32(np.zeros(9))
    lib.gnc_quat_to_dcm(buf(a), buf(r9))
    cq, pq = f32(np.zeros(4)), array("f", [0.0] * 4)
    assert lib.gnc_dcm_to_quat(buf(r9), buf(cq)) == 0
    fb.dcm_to_quat(array("f", r9.tolist()), pq)
    assert np.allclose(cq, pq, atol=TOL * 4, rtol=0)
    cq, pq = f32(np.zeros(4)), array("f", [0.0] * 4)
    assert lib.gnc_quat_from_axis_angle(buf(v + 1), 0.7, buf(cq)) == 0
    fb.quat_from_axis_angle(array("f", (v + 1).tolist()), 0.7, pq)
    assert np.allclose(cq, pq, atol=TOL * 4, rtol=0)
    angle = ffi.new("float *")
    lib.gnc_quat_angle(buf(a), buf(b), angle)
    assert abs(fb.quat_angle(A, B) - angle[0]) < 1e-5
    cq, pq = a.copy(), array("f", A)
    lib.gnc_attitude_propagate(buf(cq), buf(w), 0.5)
    fb.attitude_propagate(pq, W, 0.5)
    assert np.allclose(cq, pq, atol=TOL * 4, rtol=0)


def test_quat_fallback_errors_match_c_codes():
    q = array("f", [1, 0, 0, 0])
    with pytest.raises(GncError) as e:
        fb.quat_normalize(array("f", [0, 0, 0, 0]))
    assert e.value.code == EINVAL
    with pytest.raises(GncError) as e:
        fb.attitude_propagate(q, array("f", [0, 0, 0]), -1.0)
    assert e.value.code == EINVAL
    with pytest.raises(GncError) as e:
        fb.quat_mul(q, array("f", [1, math.nan, 0, 0]), array("f", [0] * 4))
    assert e.value.code == ENAN
    with pytest.raises(GncError) as e:
        fb.dcm_to_quat(array("f", [1, 0, 0, 0, 1, 0, 0, 0, -1]), q)
    assert e.value.code == EINVAL
    assert list(q) == [1, 0, 0, 0]


QUAT_MP = """
from array import array
import gnc.quat
quat = gnc.quat
a = array('f', [%s]); b = array('f', [%s]); v = array('f', [%s]); w = array('f', [0.1, -0.2, 0.3])
o4 = array('f', [0.0] * 4); o3 = array('f', [0.0] * 3); r9 = array('f', [0.0] * 9)
res = []
quat.quat_mul(a, b, o4); res += list(o4)
quat.quat_conj(a, o4); res += list(o4)
quat.quat_rotate(a, v, o3); res += list(o3)
quat.quat_rotate_inv(a, v, o3); res += list(o3)
quat.quat_to_dcm(a, r9); res += list(r9)
quat.dcm_to_quat(r9, o4); res += list(o4)
quat.quat_from_axis_angle(v, 0.7, o4); res += list(o4)
quat.quat_error(a, b, o4); res += list(o4)
res.append(quat.quat_angle(a, b))
c = array('f', a); quat.attitude_propagate(c, w, 0.5); res += list(c)
c = array('f', [3.0, 0.0, 4.0, 0.0]); quat.quat_normalize(c); res += list(c)
print(' '.join(repr(x) for x in res))
"""


def test_quat_fallback_on_micropython_matches_c(gnc, micropython):
    ffi, lib = gnc
    buf = lambda x: ffi.from_buffer("float[]", x)  # noqa: E731
    a = f32(wxyz(Rotation.from_rotvec([0.3, -1.2, 0.5])))
    b = f32(wxyz(Rotation.from_rotvec([-2.0, 0.4, 1.1])))
    v = f32([0.5, -1.5, 2.0])
    fmt = lambda x: ", ".join(repr(float(t)) for t in x)  # noqa: E731
    out = micropython(QUAT_MP % (fmt(a), fmt(b), fmt(v)))
    got = np.array([float(t) for t in out.split()])
    exp = []
    o4, o3, r9 = f32(np.zeros(4)), f32(np.zeros(3)), f32(np.zeros(9))
    lib.gnc_quat_mul(buf(a), buf(b), buf(o4)); exp += list(o4)  # noqa: E702
    lib.gnc_quat_conj(buf(a), buf(o4)); exp += list(o4)  # noqa: E702
    lib.gnc_quat_rotate(buf(a), buf(v), buf(o3)); exp += list(o3)  # noqa: E702
    lib.gnc_quat_rotate_inv(buf(a), buf(v), buf(o3)); exp += list(o3)  # noqa: E702
    lib.gnc_quat_to_dcm(buf(a), buf(r9)); exp += list(r9)  # noqa: E702
    lib.gnc_dcm_to_quat(buf(r9), buf(o4)); exp += list(o4)  # noqa: E702
    lib.gnc_quat_from_axis_angle(buf(v), 0.7, buf(o4)); exp += list(o4)  # noqa: E702
    lib.gnc_quat_error(buf(a), buf(b), buf(o4)); exp += list(o4)  # noqa: E702
    angle = ffi.new("float *")
    lib.gnc_quat_angle(buf(a), buf(b), angle)
    exp.append(angle[0])
    c = a.copy()
    lib.gnc_attitude_propagate(buf(c), buf(f32([0.1, -0.2, 0.3])), 0.5); exp += list(c)  # noqa: E702
    exp += [0.6, 0.0, 0.8, 0.0]
    assert got.shape == (len(exp),)
    assert np.allclose(got, exp, atol=1e-5, rtol=0)
