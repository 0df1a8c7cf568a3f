"""The lunar rover (APIDs 0x020-0x024): its modes and, per application process,
the ST8 functions, events, parameters and housekeeping it owns.
IDs: functions 0x02xx, events 200-299, parameters 200-299, structures 20-29."""

from ground.dictionary.types import Component, Event, Function, HkStructure, Limit, Param, Vehicle, f

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
BACKENDS = {0: "fallback", 1: "cffi", 2: "native-mpy"}
DRILL_MODES = {0: "idle", 1: "drilling", 2: "retracting", 3: "done"}
RETRACT_REASONS = {1: "torque_stall", 2: "current_stall", 3: "over_temperature", 4: "command"}
REFUSED = {0: "no_waypoints", 1: "reserve"}
ACTIVITIES = {1: "drive", 2: "drill"}
# The battery reserve of scenario R4: FDIR's limit (below it: SURVIVAL) and the floor of power.reserve
RESERVE = 0.25
_STATIONARY = ("IDLE", "CHARGE")
_AWAKE = ("IDLE", "DRIVE", "DRILL", "CHARGE")

MOBILITY = Component(
    0x020,
    "rover_mobility",
    "rover mobility; owns the vehicle mode and fault injection",
    functions=[
        Function(
            0x0201,
            "set_mode",
            (f("mode", "u8", "mode to enter", names=MODE_NAMES, maximum=len(MODES) - 1),),
            "command a vehicle mode: SURVIVAL, IDLE or CHARGE (as charge); DRIVE and DRILL are entered by drive and drill: ARG_OUT_OF_RANGE",
        ),
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
        Function(0x0204, "stop", (), "stop the wheels now: DRIVE or CHARGE -> IDLE; the waypoints not reached are kept for the next drive", modes=_STATIONARY + ("DRIVE",)),
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
        Event(
            201,
            "rover_hazard_stop",
            3,
            (
                f("slope", "f32", "slope ahead measured by the hazard sensor", "deg"),
                f("limit", "f32", "drive.slope_limit", "deg"),
                f("x", "f32", "estimated position, east", "m"),
                f("y", "f32", "estimated position, north", "m"),
            ),
            "the slope ahead reached the limit: the step commanded zero speed (never onto it), DRIVE -> IDLE, waypoints kept",
        ),
        Event(
            202,
            "rover_wheel_fault",
            4,
            (
                f("side", "u8", "1 left, 2 right"),
                f("command", "f32", "wheel speed commanded", "m/s"),
                f("measured", "f32", "wheel speed from the encoders", "m/s"),
            ),
            "a side's wheels did not follow their speed command for 2 s (stuck): wheels stopped, the vehicle is safed (safed reason device, detail the side)",
        ),
    ],
    params=[
        Param(200, "drive.v_max", "f32", 0.01, 0.3, 0.2, True, "m/s", "top speed on a straight, flat path (the wheels' limit is 0.3 m/s)"),
        Param(201, "drive.omega_max", "f32", 1.0, 30.0, 10.0, True, "deg/s", "top turn rate"),
        Param(202, "drive.lookahead", "f32", 0.5, 10.0, 2.0, True, "m", "pure-pursuit lookahead distance"),
        Param(203, "drive.slope_limit", "f32", 1.0, 25.0, 20.0, True, "deg", "no move onto a slope at or above this (hazard sensor, 1 m ahead)"),
    ],
    hk=[
        HkStructure(
            20,
            "rover_mobility",
            (
                f("mode", "u8", "vehicle mode", names=MODE_NAMES),
                f("v", "f32", "commanded speed", "m/s"),
                f("omega", "f32", "commanded turn rate", "deg/s"),
                f("slope_ahead", "f32", "slope 1 m ahead (hazard sensor; the limit when the sensor is silent)", "deg"),
                f("hazard_stops", "u16", "hazard stops since boot"),
                f("step_errors", "u32", "10 Hz cycles whose gnc step failed"),
                f("backend", "u8", "GNC core running the step", names=BACKENDS),
                f("cycle_us", "u32", "cost of the last 10 Hz cycle (world, sensors, step, actuators)", "us"),
                f("cycle_us_max", "u32", "largest cost of a 10 Hz cycle since boot", "us"),
            ),
            "rover mobility: mode, commands, hazard and the control cycle's cost",
        ),
    ],
)

NAV = Component(
    0x021,
    "rover_nav",
    "rover navigation and the waypoint route",
    functions=[
        Function(
            0x0211,
            "add_waypoint",
            (
                f("x", "f32", "waypoint, east", "m", minimum=-5000.0, maximum=5000.0),
                f("y", "f32", "waypoint, north", "m", minimum=-5000.0, maximum=5000.0),
            ),
            "append a waypoint to the route (while driving too); TABLE_FULL past gnc.MAX_PATH_POINTS - 1 waypoints (the route starts at the rover)",
            modes=_AWAKE,
        ),
        Function(0x0212, "clear_route", (), "forget every waypoint (stop first while driving)", modes=("IDLE", "DRILL", "CHARGE")),
        Function(
            0x0213,
            "drive",
            (),
            "follow the waypoints not yet reached from where the rover stands: DRIVE. EXECUTION_FAILED with rover_reserve_refused "
            "when the battery would end the route below power.reserve, and with nothing else when no waypoint is left",
            modes=_STATIONARY,
        ),
    ],
    events=[
        Event(
            210,
            "rover_waypoint_reached",
            1,
            (f("waypoint", "u8", "number of the waypoint in the route (1: the first added)"), f("x", "f32", "estimated position, east", "m"), f("y", "f32", "estimated position, north", "m")),
            "the path follower passed a waypoint",
        ),
        Event(
            211,
            "rover_route_done",
            2,
            (f("waypoints", "u8", "waypoints in the route"), f("x", "f32", "estimated position, east", "m"), f("y", "f32", "estimated position, north", "m"), f("distance", "f32", "odometry since the drive started", "m")),
            "the last waypoint is reached: DRIVE -> IDLE, the route is emptied",
        ),
        Event(
            212,
            "rover_route_aborted",
            3,
            (f("soc", "f32", "battery state of charge now"), f("predicted", "f32", "state of charge predicted at the end of the route"), f("waypoint", "u8", "next waypoint")),
            "the rest of the route would take the battery below power.reserve: DRIVE -> IDLE, waypoints kept",
        ),
    ],
    params=[
        Param(210, "nav.sun_sigma", "f32", 0.05, 10.0, 0.5, True, "deg", "sun-sensor heading fix uncertainty (sensor noise and the Sun reference)"),
    ],
    hk=[
        HkStructure(
            21,
            "rover_nav",
            (
                f("x", "f32", "estimated position, east", "m"),
                f("y", "f32", "estimated position, north", "m"),
                f("psi", "f32", "estimated heading from east toward north", "deg"),
                f("psi_sigma", "f32", "heading uncertainty (1 sigma)", "deg"),
                f("gyro_bias", "f32", "estimated gyro bias", "deg/h"),
                f("sun_fixes", "u32", "sun-sensor heading fixes since boot"),
                f("waypoints", "u8", "waypoints in the route"),
                f("reached", "u8", "waypoints reached"),
                f("cross_track", "f32", "estimated distance off the current route segment (0 off a route)", "m"),
                f("to_go", "f32", "route distance left (estimate)", "m"),
            ),
            "rover navigation estimate and route",
        ),
        HkStructure(
            25,
            "rover_truth",
            (
                f("x", "f32", "EMULATOR TRUTH position, east", "m"),
                f("y", "f32", "EMULATOR TRUTH position, north", "m"),
                f("psi", "f32", "EMULATOR TRUTH heading", "deg"),
                f("position_error", "f32", "EMULATOR TRUTH distance between estimated and true position", "m"),
                f("heading_error", "f32", "EMULATOR TRUTH estimated minus true heading", "deg"),
                f("cross_track", "f32", "EMULATOR TRUTH distance off the current route segment (0 off a route)", "m"),
                f("lit", "u8", "EMULATOR TRUTH 1: the Sun clears the terrain at the rover"),
                f("slope", "f32", "EMULATOR TRUTH terrain slope under the rover", "deg"),
                f("drill_depth", "f32", "EMULATOR TRUTH drill bit depth", "m"),
                f("soc", "f32", "EMULATOR TRUTH battery state of charge"),
                f("time", "f32", "EMULATOR TRUTH world time since boot", "s"),
            ),
            "EMULATOR TRUTH from the emulated world (not flight telemetry): what the ground judges the scenarios by",
        ),
    ],
)
DRILL = Component(
    0x022,
    "rover_drill",
    "rover drill",
    functions=[
        Function(
            0x0221,
            "drill",
            (f("depth", "f32", "target depth", "m", minimum=0.05, maximum=1.5),),
            "drill to depth and retract (gnc drill_step: stall or over-temperature retracts in the same cycle): DRILL, then IDLE. "
            "Stationary only; EXECUTION_FAILED with rover_reserve_refused when the battery would end below power.reserve",
            modes=("IDLE",),
        ),
        Function(0x0222, "retract", (), "pull the bit out now (drill_retract reason command); DRILL -> IDLE when it is out", modes=("DRILL",)),
    ],
    events=[
        Event(
            220,
            "rover_drill_done",
            2,
            (f("depth", "f32", "depth reached", "m"), f("torque_max", "f32", "largest torque measured", "N m"), f("temp_max", "f32", "hottest housing temperature", "C"), f("duration", "f32", "drilling and retracting", "s")),
            "the target depth was reached and the bit is out: DRILL -> IDLE",
        ),
        Event(
            221,
            "rover_drill_retract",
            3,
            (
                f("reason", "u8", "why", names=RETRACT_REASONS),
                f("depth", "f32", "depth at the decision", "m"),
                f("torque", "f32", "torque measured in that cycle", "N m"),
                f("current", "f32", "motor current measured in that cycle", "A"),
                f("temp", "f32", "housing temperature measured in that cycle", "C"),
                f("cycles", "u8", "control cycles from the measurement to the retract command (0: the same cycle)"),
            ),
            "the drill retracts before its target: a stall or over-temperature (autonomous, in the measuring cycle) or the retract command",
        ),
    ],
    params=[
        Param(220, "drill.feed", "f32", 0.0005, 0.004, 0.002, True, "m/s", "feed rate down and out"),
        Param(221, "drill.torque_max", "f32", 5.0, 29.0, 25.0, True, "N m", "stall: torque above this retracts"),
        Param(222, "drill.current_max", "f32", 1.0, 5.0, 4.0, True, "A", "stall: motor current above this retracts"),
        Param(223, "drill.temp_max", "f32", 0.0, 80.0, 50.0, True, "C", "over-temperature: housing above this retracts"),
    ],
    hk=[
        HkStructure(
            22,
            "rover_drill",
            (
                f("state", "u8", "drill state (gnc drill_step)", names=DRILL_MODES),
                f("depth", "f32", "estimated bit depth", "m"),
                f("target", "f32", "target depth", "m"),
                f("deepest", "f32", "deepest point of the last hole", "m"),
                f("torque", "f32", "torque", "N m"),
                f("current", "f32", "motor current", "A"),
                f("temp", "f32", "housing temperature", "C"),
                f("fault", "u8", "last retract reason (0: none)", names=RETRACT_REASONS),
                f("holes", "u16", "holes drilled since boot"),
            ),
            "rover drill",
        ),
    ],
    limits=[Limit(22, "temp", None, 70.0, 0, "drill housing hot (drill.temp_max retracts first)")],
)
SPECTROMETER = Component(
    0x023,
    "rover_spectrometer",
    "rover volatile spectrometer",
    functions=[
        Function(
            0x0231,
            "measure",
            (f("samples", "u8", "depths sampled through the last hole", minimum=4, maximum=64),),
            "water-ice abundance vs depth through the last hole, downlinked as ST13 product spectrum (u16 samples, f32 depth of the "
            "hole, f32 x, f32 y, then per sample f32 depth m and f32 abundance wt%, big-endian); EXECUTION_FAILED: no hole drilled here",
            modes=("IDLE", "DRILL"),
        ),
    ],
    events=[
        Event(
            230,
            "rover_spectrum_ready",
            2,
            (
                f("transaction", "u16", "ST13 transaction ID of its downlink"),
                f("samples", "u8", "depths sampled"),
                f("depth", "f32", "depth of the hole", "m"),
                f("peak", "f32", "largest abundance", "wt%"),
                f("peak_depth", "f32", "depth of the largest abundance", "m"),
            ),
            "a spectrum is measured and its downlink started",
        ),
    ],
    hk=[
        HkStructure(
            23,
            "rover_spectrometer",
            (f("spectra", "u16", "spectra measured since boot"), f("last_transaction", "u16", "ST13 transaction of the last spectrum"), f("last_peak", "f32", "largest abundance in it", "wt%")),
            "rover spectrometer",
        ),
    ],
)
POWER_THERMAL = Component(
    0x024,
    "rover_power_thermal",
    "rover power and thermal",
    functions=[
        Function(0x0241, "charge", (), "turn the panel to the Sun (on-board reference) and hold still: CHARGE", modes=("IDLE", "CHARGE")),
    ],
    events=[
        Event(240, "rover_low_battery", 3, (f("soc", "f32", "state of charge"), f("level", "f32", "power.low_soc")), "the state of charge fell below power.low_soc"),
        Event(241, "rover_entered_shadow", 1, (f("x", "f32", "estimated position, east", "m"), f("y", "f32", "estimated position, north", "m"), f("soc", "f32", "state of charge")), "the sun sensor lost the Sun while it lay in its field of view"),
        Event(242, "rover_left_shadow", 1, (f("x", "f32", "estimated position, east", "m"), f("y", "f32", "estimated position, north", "m"), f("soc", "f32", "state of charge")), "the sun sensor sees the Sun again"),
        Event(
            243,
            "rover_reserve_refused",
            3,
            (f("activity", "u8", "what was refused", names=ACTIVITIES), f("soc", "f32", "state of charge now"), f("predicted", "f32", "state of charge predicted at its end"), f("reserve", "f32", "power.reserve")),
            "a drive or a drill was refused: the battery would end below the reserve (no sun assumed)",
        ),
    ],
    params=[
        Param(240, "power.reserve", "f32", RESERVE, 0.9, RESERVE, True, "", "no drive or drill may be predicted to end below this state of charge; the path follower stops at it"),
        Param(241, "power.margin", "f32", 0.0, 2.0, 0.3, True, "", "fraction added to every predicted energy use"),
        Param(242, "power.low_soc", "f32", 0.3, 0.95, 0.4, True, "", "rover_low_battery below this state of charge"),
    ],
    hk=[
        HkStructure(
            24,
            "rover_power",
            (
                f("soc", "f32", "battery state of charge (0..1)"),
                f("solar_w", "f32", "solar panel power", "W"),
                f("load_w", "f32", "load", "W"),
                f("net_w", "f32", "net power predicted by the step (gnc power_step)", "W"),
                f("temp", "f32", "battery temperature", "C"),
                f("heater", "u8", "1: survival heater on"),
                f("lit", "u8", "1: the sun sensor saw the Sun last time it lay in its field of view"),
                f("soc_min", "f32", "lowest state of charge since boot"),
            ),
            "rover power and thermal",
        ),
    ],
    limits=[
        Limit(24, "soc", RESERVE, None, 1, "battery below the 25% reserve (scenario R4): SURVIVAL sheds every load but the heaters; CHARGE could not gain in a PSR"),
        Limit(24, "temp", -40.0, 45.0, 1, "battery outside its survival range: SURVIVAL"),
    ],
)

VEHICLE = Vehicle("rover", "lunar polar rover (LUPEX class)", MODES, 1, [MOBILITY, NAV, DRILL, SPECTROMETER, POWER_THERMAL])
