"""The inspector vehicle (APIDs 0x010-0x014): its modes and, per application
process, the ST8 functions, events, parameters and housekeeping it owns.
IDs: functions 0x01xx, events 100-199, parameters 100-199, structures 10-19."""

from ground.dictionary.types import Component, Event, Function, Vehicle, f

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

ADCS = Component(
    0x010,
    "inspector_adcs",
    "inspector attitude determination and control; owns the vehicle mode and fault injection",
    functions=[
        Function(0x0101, "set_mode", (f("mode", "u8", "mode to enter", names=MODE_NAMES, maximum=len(MODES) - 1),), "command a vehicle mode"),
        Function(
            0x0102,
            "inject_fault",
            (
                f("device", "u8", "emulated device", names=DEVICES, minimum=1, maximum=len(DEVICES)),
                f("fault", "u8", "fault to inject", names=FAULTS, minimum=1, maximum=len(FAULTS)),
                f("value", "f32", "fault magnitude or axis (device-specific)", minimum=-1000.0, maximum=1000.0),
            ),
            "inject a fault into an emulated device (tests and demos)",
        ),
        Function(0x0103, "clear_faults", (f("device", "u8", "emulated device (0: every device)", names=DEVICES, maximum=len(DEVICES)),), "clear injected faults"),
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
    ],
)

GNC = Component(0x011, "inspector_gnc", "inspector guidance, navigation and relative navigation")
PROP = Component(0x012, "inspector_prop", "inspector propulsion")
CAMERA = Component(0x013, "inspector_camera", "inspector camera payload")
POWER = Component(0x014, "inspector_power", "inspector power")

VEHICLE = Vehicle("inspector", "orbital debris inspector (ADRAS-J class)", MODES, 0, [ADCS, GNC, PROP, CAMERA, POWER])
