"""The inspector vehicle (APIDs 0x010-0x014): its modes and, per application
process, the ST8 functions, events, parameters and housekeeping it owns.
IDs: functions 0x01xx, events 100-199, parameters 100-199, structures 10-19."""

from ground.dictionary.types import Component, Event, Function, HkStructure, Param, Vehicle, f

MODES = (
    (0, "SAFE", "sun-pointing on wheels or magnetorquers only, payload off; what FDIR enters"),
    (1, "DETUMBLE", "B-dot with the magnetorquers until the body rate is low"),
    (2, "SUN_POINT", "inertial pointing of the panels at the Sun, wheels with momentum dumping"),
    (3, "TARGET_POINT", "camera boresight on the debris, relative navigation running"),
    (4, "APPROACH", "two-impulse transfers to a hold point, keep-out monitored"),
    (5, "FLY_AROUND", "on a passively safe safety ellipse around the debris"),
    (6, "ABORT", "abort burn performed: drifting on a passively safe path until the ground acts"),
)
MODE_NAMES = {n: name for n, name, _ in MODES}
MODE_REASONS = {0: "command", 1: "autonomous", 2: "fdir", 3: "boot"}
DEVICES = {
    1: "imu",
    2: "magnetometer",
    3: "sun_sensor",
    4: "star_tracker",
    5: "rel_nav",
    6: "wheels",
    7: "magnetorquers",
    8: "thrusters",
    9: "camera",
    10: "battery",
}
FAULTS = {1: "dropout", 2: "stuck", 3: "leak", 4: "stall", 5: "over_temperature"}
AXES = {0: "x", 1: "y", 2: "z"}
ABORT_REASONS = {0: "command", 1: "keepout"}
BACKENDS = {0: "fallback", 1: "cffi", 2: "native-mpy"}
# modes where the camera looks at the debris and relative navigation runs
TARGET_MODES = ("TARGET_POINT", "APPROACH", "FLY_AROUND")
_FLIGHT_MODES = ("SUN_POINT",) + TARGET_MODES + ("ABORT",)


def _vec(prefix, doc, units, names="xyz"):
    return tuple(f(prefix + "_" + a, "f32", "%s, %s" % (doc, a), units) for a in names)


def _quat(prefix, doc):
    return tuple(f(prefix + "_q%d" % i, "f32", "%s, component q%d (scalar first)" % (doc, i)) for i in range(4))

ADCS = Component(
    0x010,
    "inspector_adcs",
    "inspector attitude determination and control; owns the vehicle mode and fault injection",
    functions=[
        Function(
            0x0101,
            "set_mode",
            (f("mode", "u8", "mode to enter", names=MODE_NAMES, maximum=3),),
            "command a vehicle mode: SAFE, DETUMBLE, SUN_POINT or TARGET_POINT (APPROACH, FLY_AROUND and ABORT are entered by approach, enter_ellipse and abort)",
        ),
        Function(
            0x0102,
            "inject_fault",
            (
                f("device", "u8", "emulated device", names=DEVICES, minimum=1, maximum=len(DEVICES)),
                f("fault", "u8", "fault to inject", names=FAULTS, minimum=1, maximum=len(FAULTS)),
                f("value", "f32", "fault magnitude or axis (device-specific; thrusters leak: acceleration toward the debris, m/s^2, negative away)", minimum=-1000.0, maximum=1000.0),
            ),
            "inject a fault into an emulated device (tests and demos)",
        ),
        Function(0x0103, "clear_faults", (f("device", "u8", "emulated device (0: every device)", names=DEVICES, maximum=len(DEVICES)),), "clear injected faults"),
        Function(
            0x0104,
            "point_inertial",
            tuple(f("q%d" % i, "f32", "attitude to hold (body from inertial, scalar first; normalised on board, norm 0.5..1.5)", minimum=-1.5, maximum=1.5) for i in range(4)),
            "hold an inertial attitude instead of the Sun (until the next mode change); NOT_ALLOWED_IN_MODE outside SUN_POINT",
            modes=("SUN_POINT",),
        ),
        Function(
            0x0105,
            "slew",
            (
                f("axis", "u8", "body axis to turn about", names=AXES, maximum=2),
                f("angle", "f32", "rotation from the current attitude reference", "deg", minimum=-180.0, maximum=180.0),
            ),
            "turn the attitude reference by angle about a body axis and hold it inertially (until the next mode change)",
            modes=("SUN_POINT",),
        ),
    ],
    events=[
        Event(
            100,
            "inspector_mode_changed",
            2,
            (
                f("old", "u8", "mode before", names=MODE_NAMES),
                f("new", "u8", "mode now", names=MODE_NAMES),
                f("reason", "u8", "what changed it", names=MODE_REASONS),
            ),
            "the inspector changed mode",
        ),
        Event(
            101,
            "inspector_detumbled",
            2,
            (f("rate", "f32", "body rate from the gyro", "deg/s"), f("duration", "f32", "time spent in DETUMBLE", "s")),
            "the body rate stayed below adcs.detumble_rate for 10 s: DETUMBLE -> SUN_POINT",
        ),
        Event(
            102,
            "inspector_wheel_fault",
            4,
            (
                f("axis", "u8", "body axis of the wheel", names=AXES),
                f("torque", "f32", "wheel torque commanded in the declaring cycle", "N m"),
                f("response", "f32", "wheel momentum change seen in that cycle over the change commanded (0: none)"),
            ),
            "a reaction wheel did not follow its torque commands for 2 s (stuck): the vehicle is safed (safed reason device, detail the wheel's axis)",
        ),
    ],
    params=[
        Param(100, "adcs.detumble_rate", "f32", 0.05, 5.0, 0.5, True, "deg/s", "DETUMBLE ends when the gyro rate stays below this for 10 s"),
        Param(101, "adcs.bdot_gain", "f32", 1e3, 1e8, 1e6, True, "A m^2 s/T", "B-dot gain k: m = -k dB/dt"),
        Param(102, "adcs.kp", "f32", 1e-5, 1.0, 0.0024, True, "N m", "attitude PD proportional gain (natural frequency 0.1 rad/s)"),
        Param(103, "adcs.kd", "f32", 1e-5, 1.0, 0.0216, True, "N m s", "attitude PD derivative gain (damping 0.9)"),
        Param(104, "adcs.k_dump", "f32", 0.0, 1.0, 0.01, True, "1/s", "momentum dumping gain of the magnetorquers"),
    ],
    hk=[
        HkStructure(
            10,
            "inspector_adcs",
            (f("mode", "u8", "vehicle mode", names=MODE_NAMES),)
            + _quat("est", "estimated attitude (MEKF)")
            + (f("rate", "f32", "body rate from the gyro, bias removed", "deg/s"),)
            + _vec("h", "wheel momentum", "N m s")
            + _vec("tau", "commanded wheel torque", "N m")
            + _vec("m", "commanded dipole", "A m^2")
            + (
                f("sensors", "u8", "valid this cycle: bit 0 gyro, 1 magnetometer, 2 sun sensor, 3 star tracker, 4 relative navigation"),
                f("step_errors", "u32", "10 Hz cycles whose gnc step failed"),
                f("backend", "u8", "GNC core running the step", names=BACKENDS),
                f("cycle_us", "u32", "cost of the last 10 Hz cycle (sensors, step, actuators, world)", "us"),
                f("cycle_us_max", "u32", "largest cost of a 10 Hz cycle since boot", "us"),
            )
            + _vec("sigma", "MEKF attitude 1-sigma (square root of the covariance diagonal), body axis", "deg"),
            "inspector attitude: estimate and its 1-sigma, wheels, commands, sensors and the control cycle's cost",
        ),
        HkStructure(
            11,
            "inspector_truth",
            _quat("true", "EMULATOR TRUTH attitude")
            + (
                f("rate", "f32", "EMULATOR TRUTH body rate", "deg/s"),
                f("pointing_error", "f32", "EMULATOR TRUTH pointing error: camera boresight off the debris in target modes, else true attitude off the reference", "deg"),
                f("estimation_error", "f32", "EMULATOR TRUTH: angle between estimated and true attitude", "deg"),
            )
            + _vec("r", "EMULATOR TRUTH relative position (LVLH)", "m")
            + _vec("v", "EMULATOR TRUTH relative velocity (LVLH)", "m/s")
            + (
                f("range", "f32", "EMULATOR TRUTH range to the debris", "m"),
                f("min_range", "f32", "EMULATOR TRUTH smallest range since boot", "m"),
                f("h_frac", "f32", "EMULATOR TRUTH largest wheel momentum as a fraction of capacity"),
                f("time", "f32", "EMULATOR TRUTH world time since boot", "s"),
                f("nees", "f32", "EMULATOR TRUTH MEKF normalised estimation error squared (attitude and gyro bias, 6 dof; -1: P not positive definite or no IMU model)"),
            ),
            "EMULATOR TRUTH from the emulated world (not flight telemetry): what the ground judges the scenarios by",
        ),
    ],
)

_TRANSFER = f("t", "f32", "transfer time (not a multiple of the orbit period)", "s", minimum=60.0, maximum=20000.0)

GNC = Component(
    0x011,
    "inspector_gnc",
    "inspector guidance, navigation and relative navigation",
    functions=[
        Function(
            0x0111,
            "approach",
            (
                f("x", "f32", "hold point, radial (LVLH)", "m", minimum=-1000.0, maximum=1000.0),
                f("y", "f32", "hold point, along-track (LVLH)", "m", minimum=-1000.0, maximum=1000.0),
                f("z", "f32", "hold point, cross-track (LVLH)", "m", minimum=-1000.0, maximum=1000.0),
                _TRANSFER,
            ),
            "two-impulse CW transfer to a hold point (arrive at rest in LVLH): burn 1 now, burn 2 after t; mode APPROACH. "
            "ARG_OUT_OF_RANGE: hold point inside the keep-out sphere or singular transfer time; EXECUTION_FAILED: no relative navigation",
            modes=TARGET_MODES,
        ),
        Function(
            0x0112,
            "enter_ellipse",
            (
                f("a", "f32", "radial amplitude (along-track semi-axis 2a)", "m", minimum=5.0, maximum=500.0),
                f("c", "f32", "cross-track amplitude", "m", minimum=5.0, maximum=500.0),
                f("phase", "f32", "cross-track phase from the radial motion (90: never zero together)", "deg", minimum=-180.0, maximum=180.0),
                f("y_c", "f32", "ellipse centre, along-track", "m", minimum=-1000.0, maximum=1000.0),
                _TRANSFER,
            ),
            "transfer onto a drift-free safety ellipse (arriving at its phase-0 point with its velocity); mode FLY_AROUND after burn 2. "
            "ARG_OUT_OF_RANGE: the ellipse comes inside the keep-out sphere or singular transfer time; EXECUTION_FAILED: no relative navigation",
            modes=TARGET_MODES,
        ),
        Function(
            0x0113,
            "abort",
            (),
            "commanded abort: the abort burn to a passively safe drift-free path (gnc abort_burn), mode ABORT; EXECUTION_FAILED: no relative navigation",
            modes=TARGET_MODES,
        ),
    ],
    events=[
        Event(
            110,
            "inspector_abort",
            4,
            (
                f("reason", "u8", "why", names=ABORT_REASONS),
                f("min_range", "f32", "predicted minimum range of the free drift (keep-out) or the range now (command)", "m"),
                f("dv", "f32", "abort delta-v magnitude", "m/s"),
                f("safe", "u8", "1: the abort path clears the keep-out sphere (gnc abort_burn), 0: best effort"),
            ),
            "abort burn commanded or autonomous (keep-out breach predicted): mode ABORT",
        ),
        Event(111, "inspector_target_acquired", 2, (f("range", "f32", "range to the debris", "m"),), "relative navigation locked on the debris"),
        Event(112, "inspector_target_lost", 3, (f("range", "f32", "last range measured", "m"),), "relative navigation lost the debris for 1 s"),
    ],
    params=[
        Param(110, "gnc.keepout_radius", "f32", 5.0, 500.0, 15.0, True, "m", "keep-out sphere around the debris"),
        Param(111, "gnc.horizon", "f32", 100.0, 20000.0, 3000.0, True, "s", "keep-out prediction horizon (free drift)"),
        Param(112, "gnc.horizon_dt", "f32", 5.0, 100.0, 10.0, True, "s", "keep-out prediction sample spacing"),
        Param(113, "gnc.nav_gain", "f32", 0.01, 1.0, 0.1, True, "", "relative navigation filter gain per 10 Hz measurement"),
    ],
    hk=[
        HkStructure(
            12,
            "inspector_gnc",
            (f("mode", "u8", "vehicle mode", names=MODE_NAMES),)
            + _vec("r", "estimated relative position (LVLH)", "m")
            + _vec("v", "estimated relative velocity (LVLH)", "m/s")
            + (
                f("range", "f32", "estimated range", "m"),
                f("min_range", "f32", "predicted minimum range of the free drift (last keep-out sweep)", "m"),
                f("unsafe", "u8", "1: the last sweep predicted a keep-out breach"),
                f("nav_valid", "u8", "1: relative navigation measured this cycle"),
                f("burns_pending", "u8", "burns of the current transfer still to fire"),
                f("next_burn", "f32", "time to the next burn (0: none)", "s"),
                f("aborts", "u16", "abort burns since boot"),
            )
            + _vec("hold", "hold point / ellipse entry point (LVLH)", "m"),
            "inspector relative navigation and guidance",
        ),
    ],
)
PROP = Component(
    0x012,
    "inspector_prop",
    "inspector propulsion",
    events=[
        Event(
            120,
            "inspector_burn",
            2,
            (
                f("burn", "u8", "1 first burn of a transfer, 2 second (arrival), 3 abort"),
                f("dv_x", "f32", "delta-v fired, radial", "m/s"),
                f("dv_y", "f32", "delta-v fired, along-track", "m/s"),
                f("dv_z", "f32", "delta-v fired, cross-track", "m/s"),
                f("dv", "f32", "delta-v magnitude fired", "m/s"),
                f("dv_used", "f32", "delta-v used since boot", "m/s"),
            ),
            "a burn was performed (in pulses of at most the thrusters' per-fire limit)",
        ),
    ],
    hk=[
        HkStructure(
            13,
            "inspector_prop",
            (
                f("propellant", "f32", "propellant left", "kg"),
                f("dv_used", "f32", "delta-v fired since boot", "m/s"),
                f("dv_leaked", "f32", "delta-v lost through a leak", "m/s"),
                f("fires", "u32", "thruster firings"),
                f("capped", "u32", "firings cut to the per-fire limit"),
                f("below_min", "u32", "requests below the minimum impulse bit"),
                f("empty", "u32", "requests refused for want of propellant"),
            ),
            "inspector propulsion",
        ),
    ],
)
CAMERA = Component(
    0x013,
    "inspector_camera",
    "inspector camera payload",
    functions=[
        Function(
            0x0131,
            "capture",
            (f("rows_per_cycle", "u8", "image rows rendered per 10 Hz cycle", minimum=1, maximum=48),),
            "expose one image now and downlink it as ST13 product image (u16 width, u16 height, 8-bit gray rows); BUSY while one is in progress",
            modes=_FLIGHT_MODES,
        ),
    ],
    events=[
        Event(
            130,
            "inspector_image_ready",
            2,
            (
                f("transaction", "u16", "ST13 transaction ID of its downlink"),
                f("width", "u16", "pixels"),
                f("height", "u16", "pixels"),
                f("size", "u32", "octets in the product", "B"),
                f("lit", "u16", "pixels on the debris (non-zero)"),
            ),
            "an image is complete and its downlink started",
        ),
    ],
    hk=[
        HkStructure(
            14,
            "inspector_camera",
            (
                f("captures", "u16", "images completed since boot"),
                f("busy", "u8", "1: an image is being rendered"),
                f("row", "u16", "rows rendered of the current image"),
                f("last_transaction", "u16", "ST13 transaction of the last image"),
                f("last_lit", "u16", "pixels on the debris in the last image"),
            ),
            "inspector camera",
        ),
    ],
)
POWER = Component(
    0x014,
    "inspector_power",
    "inspector power",
    hk=[
        HkStructure(
            15,
            "inspector_power",
            (
                f("soc", "f32", "battery state of charge (0..1)"),
                f("power_in", "f32", "solar array power", "W"),
                f("power_out", "f32", "load", "W"),
                f("eclipse", "u8", "1: in the Earth's shadow (on-board model)"),
            ),
            "inspector power",
        ),
    ],
)

VEHICLE = Vehicle("inspector", "orbital debris inspector (ADRAS-J class)", MODES, 0, [ADCS, GNC, PROP, CAMERA, POWER])
