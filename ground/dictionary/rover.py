"""The lunar rover (APIDs 0x020-0x024): its modes and, per application process,
the ST8 functions, events, parameters and housekeeping it owns.
IDs: functions 0x02xx, events 200-299, parameters 200-299, structures 20-29."""

from ground.dictionary.types import Component, Event, Function, Vehicle, f

MODES = (
    (0, "SURVIVAL", "everything off but heaters and the radio; what FDIR enters"),
    (1, "IDLE", "stationary, ready for commands"),
    (2, "DRIVE", "following a waypoint route"),
    (3, "DRILL", "stationary, drilling and measuring"),
    (4, "CHARGE", "stationary, panels on the Sun, charging"),
)
MODE_NAMES = {n: name for n, name, _ in MODES}
MODE_REASONS = {0: "command", 1: "autonomous", 2: "fdir", 3: "boot"}
DEVICES = {
    1: "wheels",
    2: "encoders",
    3: "imu",
    4: "sun_sensor",
    5: "hazard",
    6: "drill",
    7: "spectrometer",
    8: "battery",
}
FAULTS = {1: "dropout", 2: "stuck", 3: "leak", 4: "stall", 5: "over_temperature"}

MOBILITY = Component(
    0x020,
    "rover_mobility",
    "rover mobility; owns the vehicle mode and fault injection",
    functions=[
        Function(0x0201, "set_mode", (f("mode", "u8", "mode to enter", names=MODE_NAMES, maximum=len(MODES) - 1),), "command a vehicle mode"),
        Function(
            0x0202,
            "inject_fault",
            (
                f("device", "u8", "emulated device", names=DEVICES, minimum=1, maximum=len(DEVICES)),
                f("fault", "u8", "fault to inject", names=FAULTS, minimum=1, maximum=len(FAULTS)),
                f("value", "f32", "fault magnitude or side (device-specific)", minimum=-1000.0, maximum=1000.0),
            ),
            "inject a fault into an emulated device (tests and demos)",
        ),
        Function(0x0203, "clear_faults", (f("device", "u8", "emulated device (0: every device)", names=DEVICES, maximum=len(DEVICES)),), "clear injected faults"),
    ],
    events=[
        Event(
            200,
            "rover_mode_changed",
            2,
            (
                f("old", "u8", "mode before", names=MODE_NAMES),
                f("new", "u8", "mode now", names=MODE_NAMES),
                f("reason", "u8", "what changed it", names=MODE_REASONS),
            ),
            "the rover changed mode",
        ),
    ],
)

NAV = Component(0x021, "rover_nav", "rover navigation")
DRILL = Component(0x022, "rover_drill", "rover drill")
SPECTROMETER = Component(0x023, "rover_spectrometer", "rover spectrometer")
POWER_THERMAL = Component(0x024, "rover_power_thermal", "rover power and thermal")

VEHICLE = Vehicle("rover", "lunar polar rover (LUPEX class)", MODES, 1, [MOBILITY, NAV, DRILL, SPECTROMETER, POWER_THERMAL])
