"""The GNC core's Python-facing API, declared once: every function of native/include/gnc.h.

Both bindings are generated from this table: the cffi wrapper (native/__init__.py) and the
MicroPython user C module (native/mpy_module/gen_module.py -> modgnc.c). The pure-MicroPython
fallback (firmware/gnc/*.py) follows the same rules by hand. tests/gnc/test_api.py parses gnc.h
and checks this table against every declaration (names, order, pointer/scalar types).

Argument kinds and how Python passes them:

    kind          C type          Python
    IN            const float *   float32 buffer, read only (may be bytes-like / read-only)
    OUT           float *         float32 buffer the function fills
    INOUT         float *         float32 buffer the function reads and updates (state)
    FLOAT         float           number
    INT           int             int
    INT_INOUT     int *           int passed in, its updated value returned (`int *index`)
    FLOAT_INOUT   float *         number passed in, its updated value returned (`float *soc`)
    FLOAT_OUT     float *         returned (`float *angle`)
    INT_OUT       int *           returned (`int *done`)

Buffer lengths are in floats: a number, a gnc.h constant name ("GNC_MEKF_SIZE"), or
"k*arg" for a count argument ("2*n_points"). A buffer with a fixed length must have exactly
that many floats; a count-dependent one at least that many (a path buffer sized for
GNC_MAX_PATH_POINTS may carry fewer points).

Return value: the INT_INOUT / FLOAT_INOUT / FLOAT_OUT / INT_OUT arguments in C order, then,
for functions marked `unsafe`, a bool that is True when C returned GNC_EUNSAFE; None when
there is nothing, the value itself when there is one, else a tuple. Every other non-zero
status raises GncError(code, "function: reason").
"""

from collections import namedtuple

IN, OUT, INOUT = "in", "out", "inout"
FLOAT, INT = "float", "int"
INT_INOUT, FLOAT_INOUT, FLOAT_OUT, INT_OUT = "int_inout", "float_inout", "float_out", "int_out"

BUFFER_KINDS = (IN, OUT, INOUT)
RETURNED_KINDS = (INT_INOUT, FLOAT_INOUT, FLOAT_OUT, INT_OUT)

# The C parameter type of each kind (as written in gnc.h, spaces normalised).
C_TYPE = {
    IN: "const float *",
    OUT: "float *",
    INOUT: "float *",
    FLOAT: "float",
    INT: "int",
    INT_INOUT: "int *",
    FLOAT_INOUT: "float *",
    FLOAT_OUT: "float *",
    INT_OUT: "int *",
}

# Status codes (gnc.h) and the reason each one gives in an exception message.
OK, EINVAL, ENAN, ESINGULAR, ERANGE, EUNSAFE = 0, 1, 2, 3, 4, 5
REASONS = {
    EINVAL: "argument outside its domain",
    ENAN: "NaN or infinite input",
    ESINGULAR: "singular geometry",
    ERANGE: "count beyond the config limits",
    EUNSAFE: "keep-out violation",
}

# gnc.h / gnc_config.h constants the bindings export (without the GNC_ prefix): sizes in floats
# and config limits.
CONSTANTS = (
    "GNC_MAX_PATH_POINTS", "GNC_PURSUIT_WALK", "GNC_MAX_SUBSTEPS", "GNC_KEEPOUT_MAX_SAMPLES",
    "GNC_MEKF_SIZE", "GNC_BDOT_SIZE", "GNC_BODY_SIZE", "GNC_CW_SIZE", "GNC_POSE_SIZE", "GNC_ROVER_NAV_SIZE",
    "GNC_DRILL_SIZE", "GNC_INSPECTOR_SIZE", "GNC_ROVER_STEP_SIZE",
    "GNC_INSPECTOR_IN", "GNC_INSPECTOR_PRM", "GNC_INSPECTOR_OUT", "GNC_ROVER_IN", "GNC_ROVER_PRM", "GNC_ROVER_OUT",
)

Arg = namedtuple("Arg", "name kind length")
Function = namedtuple("Function", "name doc args unsafe")


def _a(name, kind, length=None):
    if (kind in BUFFER_KINDS) != (length is not None):
        raise ValueError("%s: buffers (and only buffers) have a length" % name)
    return Arg(name, kind, length)


def _f(name, doc, *args, unsafe=False):
    return Function(name, doc, tuple(_a(*a) for a in args), unsafe)


# fmt: off
FUNCTIONS = (
    # ---- quat.c
    _f("quat_mul", "out = a x b (Hamilton product; out may alias a or b).",
       ("a", IN, 4), ("b", IN, 4), ("out", OUT, 4)),
    _f("quat_conj", "out = q* (conjugate).",
       ("q", IN, 4), ("out", OUT, 4)),
    _f("quat_normalize", "Normalise q in place; EINVAL for a zero quaternion.",
       ("q", INOUT, 4)),
    _f("quat_rotate", "out = R(q) v (active rotation).",
       ("q", IN, 4), ("v", IN, 3), ("out", OUT, 3)),
    _f("quat_rotate_inv", "out = R(q)^T v (inertial -> body).",
       ("q", IN, 4), ("v", IN, 3), ("out", OUT, 3)),
    _f("quat_to_dcm", "r9 = R(q), row-major.",
       ("q", IN, 4), ("r9", OUT, 9)),
    _f("dcm_to_quat", "q from a rotation matrix (Shepperd), q0 >= 0.",
       ("r9", IN, 9), ("q", OUT, 4)),
    _f("quat_from_axis_angle", "q for a rotation by angle (rad) about axis (need not be unit; EINVAL if zero).",
       ("axis", IN, 3), ("angle", FLOAT), ("q", OUT, 4)),
    _f("quat_error", "dq = q_ref* x q with dq0 >= 0.",
       ("q_ref", IN, 4), ("q", IN, 4), ("dq", OUT, 4)),
    _f("quat_angle", "Rotation angle between a and b, 0..pi; returns angle.",
       ("a", IN, 4), ("b", IN, 4), ("angle", FLOAT_OUT)),
    _f("attitude_propagate", "q <- q x exp(w dt / 2), exact for a constant body rate; renormalised.",
       ("q", INOUT, 4), ("w", IN, 3), ("dt", FLOAT)),
    # ---- mekf.c
    _f("mekf_init", "MEKF state s from q0, bias0 and the initial attitude / bias sigmas.",
       ("s", OUT, "GNC_MEKF_SIZE"), ("q0", IN, 4), ("bias0", IN, 3), ("sigma_att", FLOAT), ("sigma_bias", FLOAT)),
    _f("mekf_propagate", "MEKF propagation over dt with the gyro reading (ARW sigma_v, RRW sigma_u).",
       ("s", INOUT, "GNC_MEKF_SIZE"), ("w_meas", IN, 3), ("dt", FLOAT), ("sigma_v", FLOAT), ("sigma_u", FLOAT)),
    _f("mekf_update_vector", "MEKF update with a unit-vector pair (inertial v_ref, body v_meas), sigma rad.",
       ("s", INOUT, "GNC_MEKF_SIZE"), ("v_ref", IN, 3), ("v_meas", IN, 3), ("sigma", FLOAT)),
    _f("mekf_update_quat", "MEKF update with a star-tracker attitude q_meas, sigma rad per axis.",
       ("s", INOUT, "GNC_MEKF_SIZE"), ("q_meas", IN, 4), ("sigma", FLOAT)),
    _f("mekf_nees", "Normalised estimation error squared against the truth; returns nees.",
       ("s", IN, "GNC_MEKF_SIZE"), ("q_true", IN, 4), ("bias_true", IN, 3), ("nees", FLOAT_OUT)),
    _f("mahony_update", "Mahony complementary filter step: q, bias in place from the gyro and count (0..2) vector pairs.",
       ("q", INOUT, 4), ("bias", INOUT, 3), ("w_meas", IN, 3), ("v_ref", IN, "3*count"), ("v_meas", IN, "3*count"),
       ("count", INT), ("kp", FLOAT), ("ki", FLOAT), ("dt", FLOAT)),
    # ---- control.c
    _f("pd_control", "Quaternion-feedback PD with wheel torque / momentum limits [tau_max, h_max]; fills tau_cmd.",
       ("q", IN, 4), ("w", IN, 3), ("q_ref", IN, 4), ("w_ref", IN, 3), ("J", IN, 9), ("h_wheels", IN, 3),
       ("kp", FLOAT), ("kd", FLOAT), ("limits", IN, 2), ("tau_cmd", OUT, 3)),
    _f("dump_dipole", "Momentum-dumping dipole m = k (B x h) / |B|^2, saturated to m_max.",
       ("b", IN, 3), ("h_wheels", IN, 3), ("k", FLOAT), ("m_max", FLOAT), ("m", OUT, 3)),
    _f("bdot_init", "Reset the B-dot state s.",
       ("s", OUT, "GNC_BDOT_SIZE")),
    _f("bdot", "B-dot dipole m = -k dB/dt (finite difference over dt), saturated to m_max.",
       ("s", INOUT, "GNC_BDOT_SIZE"), ("b", IN, 3), ("dt", FLOAT), ("k", FLOAT), ("m_max", FLOAT), ("m", OUT, 3)),
    _f("point_to", "q_ref that puts body axis boresight on r_rel (inertial), smallest rotation from q_now.",
       ("q_now", IN, 4), ("boresight", IN, 3), ("r_rel", IN, 3), ("q_ref", OUT, 4)),
    # ---- cw.c
    _f("cw_stm", "Clohessy-Wiltshire state transition matrix Phi(t), 6x6 row-major.",
       ("n", FLOAT), ("t", FLOAT), ("phi36", OUT, 36)),
    _f("cw_propagate", "out = Phi(t) x.",
       ("x", IN, "GNC_CW_SIZE"), ("n", FLOAT), ("t", FLOAT), ("out", OUT, "GNC_CW_SIZE")),
    _f("cw_two_impulse", "Two-impulse transfer from x0 to (r_f, v_f) in time t: fills dv1, dv2 (ESINGULAR near k*period).",
       ("x0", IN, "GNC_CW_SIZE"), ("r_f", IN, 3), ("v_f", IN, 3), ("n", FLOAT), ("t", FLOAT),
       ("dv1", OUT, 3), ("dv2", OUT, 3)),
    _f("safety_ellipse", "Drift-free safety ellipse state x at phase angle 0.",
       ("n", FLOAT), ("a", FLOAT), ("c", FLOAT), ("phase", FLOAT), ("y_c", FLOAT), ("x", OUT, "GNC_CW_SIZE")),
    _f("keepout_check", "Minimum range of the free drift over horizon (step dt); returns (min_range, unsafe).",
       ("x", IN, "GNC_CW_SIZE"), ("n", FLOAT), ("horizon", FLOAT), ("dt", FLOAT), ("radius", FLOAT),
       ("min_range", FLOAT_OUT), unsafe=True),
    _f("abort_burn", "Delta-v onto a passively safe drift-free orbit; returns unsafe (best path still below radius).",
       ("x", IN, "GNC_CW_SIZE"), ("n", FLOAT), ("radius", FLOAT), ("dv", OUT, 3), unsafe=True),
    # ---- rover.c
    _f("pure_pursuit", "Pure pursuit along path (n_points x, y pairs): fills cmd [v, omega]; returns (index, done).",
       ("pose", IN, "GNC_POSE_SIZE"), ("path", IN, "2*n_points"), ("n_points", INT), ("index", INT_INOUT),
       ("limits", IN, 5), ("cond", IN, 2), ("cmd", OUT, 2), ("done", INT_OUT)),
    _f("rover_odometry", "Dead reckoning of nav from wheel speeds and gyro z over dt.",
       ("nav", INOUT, "GNC_ROVER_NAV_SIZE"), ("v_left", FLOAT), ("v_right", FLOAT), ("gyro_z", FLOAT), ("dt", FLOAT),
       ("sigma_gyro", FLOAT)),
    _f("rover_heading_fix", "Kalman update of heading (and gyro bias) with a sun / star azimuth fix.",
       ("nav", INOUT, "GNC_ROVER_NAV_SIZE"), ("psi_meas", FLOAT), ("var_meas", FLOAT), ("elapsed", FLOAT)),
    _f("power_step", "Battery state of charge over dt from panels, load and heater; returns (soc, net_w).",
       ("soc", FLOAT_INOUT), ("sun_elev", FLOAT), ("sun_az_offset", FLOAT), ("horizon", FLOAT), ("load_w", FLOAT),
       ("heater_on", INT), ("p", IN, 6), ("dt", FLOAT), ("net_w", FLOAT_OUT)),
    _f("drill_step", "Drill state machine step: fills cmd [feed, spin]; stall or over-temperature retracts.",
       ("s", INOUT, "GNC_DRILL_SIZE"), ("meas", IN, 3), ("limits", IN, 5), ("dt", FLOAT), ("cmd", OUT, 2)),
    # ---- plant.c
    _f("body_step", "Rigid body with three wheels, RK4 with substeps over dt.",
       ("x", INOUT, "GNC_BODY_SIZE"), ("J", IN, 9), ("tau_wheel_cmd", IN, 3), ("tau_ext", IN, 3), ("dt", FLOAT),
       ("substeps", INT)),
    _f("cw_step", "CW relative motion with a constant LVLH acceleration over dt, RK4 sub-stepped.",
       ("x", INOUT, "GNC_CW_SIZE"), ("n", FLOAT), ("accel", IN, 3), ("dt", FLOAT), ("substeps", INT)),
    _f("rover_kinematics", "Rover pose after unicycle motion with v, omega over dt (exact arc).",
       ("pose", INOUT, "GNC_POSE_SIZE"), ("v", FLOAT), ("omega", FLOAT), ("dt", FLOAT)),
    # ---- steps.c
    _f("inspector_step", "Inspector ADCS + GNC cycle (10 Hz); fills out; returns unsafe (keep-out violation).",
       ("s", INOUT, "GNC_INSPECTOR_SIZE"), ("in", IN, "GNC_INSPECTOR_IN"), ("prm", IN, "GNC_INSPECTOR_PRM"),
       ("out", OUT, "GNC_INSPECTOR_OUT"), unsafe=True),
    _f("rover_step", "Rover cycle (10 Hz): odometry, heading fix, power, pure pursuit, drill; fills out.",
       ("s", INOUT, "GNC_ROVER_STEP_SIZE"), ("in", IN, "GNC_ROVER_IN"), ("prm", IN, "GNC_ROVER_PRM"),
       ("path", IN, "2*n_points"), ("n_points", INT), ("out", OUT, "GNC_ROVER_OUT")),
    # ---- sim.c
    _f("detumble_run", "B-dot detumbling run over a field table (inertial): x, bdot_s in place; |w| per step in rate_out.",
       ("x", INOUT, "GNC_BODY_SIZE"), ("J", IN, 9), ("bdot_s", INOUT, "GNC_BDOT_SIZE"), ("b_inertial", IN, "3*n_steps"),
       ("n_steps", INT), ("dt", FLOAT), ("k", FLOAT), ("m_max", FLOAT), ("substeps", INT),
       ("rate_out", OUT, "1*n_steps")),
)
# fmt: on

BY_NAME = {f.name: f for f in FUNCTIONS}


def py_name(arg_name):
    """The Python parameter name of a C argument (`in` is a keyword)."""
    return arg_name + "_" if arg_name in ("in", "lambda", "from", "def") else arg_name


def returned(fn):
    """Names of the arguments whose values the Python function returns, in C order."""
    return [a.name for a in fn.args if a.kind in RETURNED_KINDS]


def length_terms(length):
    """(factor, count_arg) for "k*arg", else None."""
    if isinstance(length, str) and "*" in length:
        k, arg = length.split("*")
        return int(k), arg.strip()
    return None


def resolve_length(length, constants, values=None):
    """The number of floats a buffer needs: `constants` maps gnc.h names to values, `values` the call's ints."""
    if isinstance(length, int):
        return length
    terms = length_terms(length)
    if terms:
        return terms[0] * values[terms[1]]
    return constants[length]
