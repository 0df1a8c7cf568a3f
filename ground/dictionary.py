"""The packet dictionary: the one definition of mitra's packets (PROTOCOL.md).

Everything the link carries is declared here once, as data: APIDs, error codes,
PUS services with their TC and TM payloads, events, parameters and housekeeping
structures. From it come

- the construct codecs (`ground.codec`), which follow the field names of CCSDS
  133.0-B-2 and ECSS-E-ST-70-41C as `spacepackets` spells them;
- the firmware codec tables (`firmware/fsw/dictionary.py`, by `ground.gen_firmware`);
- the JSON dictionary (`ground dict --format json`).

A payload is a tuple of fields. A field is a scalar (`F`), a counted list
(`List`: a u8 count then items), a value typed by a parameter ID (`ParamValue`),
or a tail typed by a structure or event ID (`Typed`).
"""

from collections import namedtuple

# Scalar types: name -> (struct code, size, minimum, maximum). Floats carry no
# integer range; their parameter ranges come from the parameter table.
SCALARS = {
    "u8": ("B", 1, 0, 0xFF),
    "u16": ("H", 2, 0, 0xFFFF),
    "u32": ("I", 4, 0, 0xFFFFFFFF),
    "i8": ("b", 1, -0x80, 0x7F),
    "i16": ("h", 2, -0x8000, 0x7FFF),
    "i32": ("i", 4, -0x80000000, 0x7FFFFFFF),
    "f32": ("f", 4, None, None),
}

F = namedtuple("F", "name type units doc")
List = namedtuple("List", "name item doc")  # item: tuple of fields; on the wire: u8 count, then items
ParamValue = namedtuple("ParamValue", "name id_field doc")  # typed by the parameter whose ID is `id_field`
Typed = namedtuple("Typed", "name key_field table doc")  # the rest of the payload, typed by a key: "hk" or "event"


def f(name, type_, doc, units=""):
    if type_ not in SCALARS:
        raise ValueError("unknown scalar type %r for field %r" % (type_, name))
    return F(name, type_, units, doc)


# --- Identifiers -----------------------------------------------------------------

PUS_VERSION = 2  # ECSS-E-ST-70-41C: PUS-C
IDLE_APID = 0x7FF
GROUND_ID = 0x0001  # source ID of TCs from the ground; destination ID of TM to it
CUC_P_FIELD = 0x2E  # implicit: 4 octets coarse + 2 octets fine, agency epoch 2000-01-01T00:00:00 (TAI-like, no leap seconds)
MAX_FRAME = 1024
SEC_HEADER_LEN = 6  # SPI u16 + SN u32
MAC_LEN = 16

APIDS = {
    0x001: ("obc", "on-board computer: time, parameters, scheduling, housekeeping, events"),
    0x010: ("inspector_adcs", "inspector attitude determination and control"),
    0x011: ("inspector_gnc", "inspector guidance, navigation and relative navigation"),
    0x012: ("inspector_prop", "inspector propulsion"),
    0x013: ("inspector_camera", "inspector camera payload"),
    0x014: ("inspector_power", "inspector power"),
    0x020: ("rover_mobility", "rover mobility"),
    0x021: ("rover_nav", "rover navigation"),
    0x022: ("rover_drill", "rover drill"),
    0x023: ("rover_spectrometer", "rover spectrometer"),
    0x024: ("rover_power_thermal", "rover power and thermal"),
    IDLE_APID: ("idle", "idle packets"),
}

# Verification failure codes (ST1 failure notices carry one as u16).
ERRORS = [
    (1, "UNKNOWN_APID", "no application serves this APID"),
    (2, "UNKNOWN_SERVICE", "the application does not implement this service"),
    (3, "UNKNOWN_SUBTYPE", "the service does not implement this message subtype"),
    (4, "BAD_LENGTH", "the application data length does not fit the command"),
    (5, "BAD_PUS_VERSION", "the TC secondary header is not PUS-C (version 2)"),
    (6, "NOT_A_TC", "a telemetry packet arrived on the uplink"),
    (7, "ARG_OUT_OF_RANGE", "an argument lies outside its allowed range"),
    (8, "UNKNOWN_PARAMETER", "no parameter has this ID"),
    (9, "READ_ONLY_PARAMETER", "the parameter cannot be set by command"),
    (10, "UNKNOWN_STRUCTURE", "no housekeeping structure has this ID"),
    (11, "UNKNOWN_EVENT", "no event has this ID"),
    (12, "NOT_ALLOWED_IN_MODE", "the command is not allowed in the current mode"),
    (13, "NOT_ARMED", "the command needs arming first"),
    (14, "BUSY", "the function is busy with an earlier command"),
    (15, "EXECUTION_FAILED", "the command started but could not complete"),
    (16, "STORAGE_FAILED", "the result could not be stored in flash"),
]

# --- Services -----------------------------------------------------------------------

REQUEST_ID = (
    f("request_id", "u32", "request ID: the first 4 octets of the TC (packet ID and sequence control), ECSS-E-ST-70-41C 6.1.9"),
)
ERROR_CODE = (f("error", "u16", "failure notice code from the error table"),)
STEP = (f("step", "u8", "step ID of a progress report"),)

SID_LIST = (List("sids", (f("sid", "u16", "housekeeping structure ID"),), "structure IDs"),)
EVENT_LIST = (List("event_ids", (f("event_id", "u16", "event definition ID"),), "event IDs"),)
PARAM_ID_LIST = (List("param_ids", (f("param_id", "u16", "parameter ID"),), "parameter IDs"),)
PARAM_VALUES = (
    List(
        "params",
        (f("param_id", "u16", "parameter ID"), ParamValue("value", "param_id", "typed value")),
        "parameter ID and value pairs",
    ),
)
CUC = (
    f("coarse", "u32", "CUC coarse time since 2000-01-01T00:00:00", "s"),
    f("fine", "u16", "CUC fine time", "2^-16 s"),
)

EVENT_PAYLOAD = (f("event_id", "u16", "event definition ID"), Typed("aux", "event_id", "event", "the event's auxiliary data"))

Service = namedtuple("Service", "number name doc")
Message = namedtuple("Message", "service subtype name kind payload doc")  # kind: "tc" or "tm"

SERVICES = [
    Service(1, "verification", "ST1 request verification"),
    Service(3, "hk", "ST3 housekeeping"),
    Service(5, "event", "ST5 event reporting"),
    Service(9, "time", "ST9 time management"),
    Service(17, "test", "ST17 test"),
    Service(20, "param", "ST20 on-board parameter management"),
]

MESSAGES = [
    # ST1 verification reports (TM)
    Message(1, 1, "acceptance_success", "tm", REQUEST_ID, "TC accepted"),
    Message(1, 2, "acceptance_failure", "tm", REQUEST_ID + ERROR_CODE, "TC rejected at acceptance"),
    Message(1, 3, "start_success", "tm", REQUEST_ID, "execution started"),
    Message(1, 4, "start_failure", "tm", REQUEST_ID + ERROR_CODE, "execution could not start"),
    Message(1, 5, "progress_success", "tm", REQUEST_ID + STEP, "execution step done"),
    Message(1, 6, "progress_failure", "tm", REQUEST_ID + STEP + ERROR_CODE, "execution step failed"),
    Message(1, 7, "completion_success", "tm", REQUEST_ID, "execution completed"),
    Message(1, 8, "completion_failure", "tm", REQUEST_ID + ERROR_CODE, "execution failed"),
    # ST3 housekeeping
    Message(3, 5, "enable_periodic", "tc", SID_LIST, "enable periodic reports of these structures"),
    Message(3, 6, "disable_periodic", "tc", SID_LIST, "disable periodic reports of these structures"),
    Message(3, 27, "one_shot", "tc", SID_LIST, "report these structures once, now"),
    Message(
        3,
        31,
        "change_interval",
        "tc",
        (
            List(
                "intervals",
                (f("sid", "u16", "housekeeping structure ID"), f("interval_ms", "u32", "report interval", "ms")),
                "structure ID and interval pairs",
            ),
        ),
        "change the collection interval of structures",
    ),
    Message(3, 25, "report", "tm", (f("sid", "u16", "housekeeping structure ID"), Typed("params", "sid", "hk", "the structure's parameters")), "housekeeping parameter report"),
    # ST5 events: subtype = severity
    Message(5, 1, "info", "tm", EVENT_PAYLOAD, "informative event"),
    Message(5, 2, "low", "tm", EVENT_PAYLOAD, "low-severity anomaly"),
    Message(5, 3, "medium", "tm", EVENT_PAYLOAD, "medium-severity anomaly"),
    Message(5, 4, "high", "tm", EVENT_PAYLOAD, "high-severity anomaly"),
    Message(5, 5, "enable", "tc", EVENT_LIST, "enable reporting of these events"),
    Message(5, 6, "disable", "tc", EVENT_LIST, "disable reporting of these events"),
    # ST9 time
    Message(
        9,
        1,
        "set_rate",
        "tc",
        (f("rate_exp", "u8", "report every 2^rate_exp seconds; 255 turns reports off"),),
        "set the time report generation rate",
    ),
    Message(
        9,
        2,
        "report",
        "tm",
        (f("rate_exp", "u8", "current generation rate exponent (255: off)"),)
        + CUC
        + (f("status", "u8", "1 when on-board time was set by ground since boot"),),
        "CUC time report",
    ),
    Message(9, 128, "set_time", "tc", CUC, "set on-board time (mission-specific subtype)"),
    # ST17 test
    Message(17, 1, "ping", "tc", (), "are-you-alive connection test"),
    Message(17, 2, "pong", "tm", (), "are-you-alive connection test report"),
    # ST20 parameters
    Message(20, 1, "get", "tc", PARAM_ID_LIST, "report parameter values"),
    Message(20, 2, "values", "tm", PARAM_VALUES, "parameter value report"),
    Message(20, 3, "set", "tc", PARAM_VALUES, "set parameter values (range-checked, persisted)"),
]

# --- Events (ST5): ID, name, severity (1 info .. 4 high), auxiliary data -----------

Event = namedtuple("Event", "id name severity aux doc")

SECURITY_REASONS = {1: "unknown_spi", 2: "bad_mac", 3: "replay", 4: "short", 5: "clear_refused", 6: "store_failed"}

EVENTS = [
    Event(
        1,
        "boot",
        1,
        (f("boot_count", "u32", "boots since the store was made"), f("cause", "u8", "reset cause: 0 power-on, 1 watchdog, 2 soft, 3 other")),
        "the flight software started",
    ),
    Event(
        2,
        "security_rejected",
        4,
        (
            f("reason", "u8", "1 unknown SPI, 2 bad MAC, 3 replay, 4 short frame, 5 clear mode refused, 6 floor not stored"),
            f("spi", "u16", "security parameter index of the frame"),
            f("sn", "u32", "sequence number of the frame (0 when absent)"),
            f("floor", "u32", "last accepted sequence number for that SPI"),
        ),
        "an uplink frame failed the security check and was discarded",
    ),
    Event(3, "param_changed", 2, (f("param_id", "u16", "parameter ID"),), "a parameter was set by command"),
    Event(
        4,
        "time_set",
        2,
        (f("old_coarse", "u32", "on-board time before", "s"), f("new_coarse", "u32", "on-board time after", "s")),
        "on-board time was set by command",
    ),
    Event(
        5,
        "storage_fault",
        3,
        (f("store", "u8", "1 parameters, 2 boot counter, 3 anti-replay floors"), f("action", "u8", "1 load fell back, 2 write failed")),
        "a flash store could not be read or written",
    ),
]

# --- Parameters (ST20) --------------------------------------------------------------

Param = namedtuple("Param", "id name type minimum maximum default writable units doc")

PARAMS = [
    Param(1, "obc.hk_period_ms", "u32", 100, 3600000, 5000, True, "ms", "period of the OBC housekeeping report at boot"),
    Param(2, "obc.clock_drift_ppm", "f32", -500.0, 500.0, 0.0, True, "ppm", "correction applied to the on-board clock rate"),
    Param(3, "link.replay_window", "u16", 16, 4096, 1024, True, "", "anti-replay window: accepted SNs lie in (last, last + window]"),
    Param(4, "obc.event_min_severity", "u8", 1, 4, 1, True, "", "events below this severity are not reported"),
    Param(5, "obc.boot_count", "u32", 0, 0xFFFFFFFF, 0, False, "", "boots since the store was made (read-only)"),
]

# --- Housekeeping structures (ST3) ------------------------------------------------

HkStructure = namedtuple("HkStructure", "sid name fields doc")

HK_STRUCTURES = [
    HkStructure(
        1,
        "obc",
        (
            f("uptime", "u32", "time since boot", "s"),
            f("boot_count", "u32", "boots since the store was made"),
            f("heap_free", "u32", "free heap", "B"),
            f("frames_ok", "u32", "uplink frames accepted by the link"),
            f("drop_cobs", "u32", "frames dropped: malformed COBS"),
            f("drop_oversize", "u32", "frames dropped: longer than the maximum frame"),
            f("drop_length", "u32", "frames dropped: length field disagrees with the frame"),
            f("drop_pec", "u32", "frames dropped: PEC does not check"),
            f("drop_unknown_spi", "u32", "frames dropped: unknown SPI"),
            f("drop_bad_mac", "u32", "frames dropped: MAC does not verify"),
            f("drop_replay", "u32", "frames dropped: SN outside the anti-replay window"),
            f("drop_short", "u32", "frames dropped: too short for the security layer"),
            f("drop_clear", "u32", "frames dropped: clear mode refused"),
            f("drop_store", "u32", "frames dropped: the anti-replay floor could not be stored"),
            f("tc_accepted", "u32", "TCs accepted by the dispatcher"),
            f("tc_rejected", "u32", "TCs rejected by the dispatcher"),
            f("tm_sent", "u32", "telemetry packets sent"),
        ),
        "on-board computer housekeeping",
    ),
]

# --- Look-ups ----------------------------------------------------------------------

SERVICE_BY_NUMBER = {s.number: s for s in SERVICES}
SERVICE_BY_NAME = {s.name: s for s in SERVICES}
MESSAGE_BY_KEY = {(m.kind, m.service, m.subtype): m for m in MESSAGES}
ERROR_BY_CODE = {code: name for code, name, _ in ERRORS}
ERROR_BY_NAME = {name: code for code, name, _ in ERRORS}
EVENT_BY_ID = {e.id: e for e in EVENTS}
PARAM_BY_ID = {p.id: p for p in PARAMS}
PARAM_BY_NAME = {p.name: p for p in PARAMS}
HK_BY_SID = {h.sid: h for h in HK_STRUCTURES}
APID_BY_NAME = {name: apid for apid, (name, _) in APIDS.items()}


def command(name):
    """The TC message for 'service.command' (e.g. 'test.ping'), or raise DictionaryError."""
    from ground.errors import DictionaryError

    service_name, _, command_name = name.partition(".")
    service = SERVICE_BY_NAME.get(service_name)
    if service is None:
        raise DictionaryError(
            "unknown service %r (known: %s)" % (service_name, ", ".join(sorted(SERVICE_BY_NAME)))
        )
    commands = [m for m in MESSAGES if m.kind == "tc" and m.service == service.number]
    if not commands:
        raise DictionaryError("service %r has no commands (it only reports)" % service_name)
    for m in commands:
        if m.name == command_name:
            return m
    raise DictionaryError(
        "unknown command %r (known: %s)" % (name, ", ".join("%s.%s" % (service_name, m.name) for m in commands))
    )


def tc_messages():
    return [m for m in MESSAGES if m.kind == "tc"]


def tm_messages():
    return [m for m in MESSAGES if m.kind == "tm"]


def _check():
    """Refuse an inconsistent dictionary at import: duplicate numbers or names."""
    for label, items in (
        ("message", [(m.kind, m.service, m.subtype) for m in MESSAGES]),
        ("error code", [c for c, _, _ in ERRORS]),
        ("event", [e.id for e in EVENTS]),
        ("parameter", [p.id for p in PARAMS]),
        ("parameter name", [p.name for p in PARAMS]),
        ("HK structure", [h.sid for h in HK_STRUCTURES]),
    ):
        if len(set(items)) != len(items):
            raise ValueError("duplicate %s in the dictionary" % label)
    for p in PARAMS:
        if p.type not in SCALARS:
            raise ValueError("parameter %s has unknown type %r" % (p.name, p.type))
        if not p.minimum <= p.default <= p.maximum:
            raise ValueError("parameter %s default outside its range" % p.name)


_check()
