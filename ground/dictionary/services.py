"""Identifiers, error codes and the PUS services with their TC and TM payloads (PROTOCOL.md)."""

from ground.dictionary.types import Blob, List, Message, ParamValue, Rest, Service, Typed, f

PUS_VERSION = 2  # ECSS-E-ST-70-41C: PUS-C
IDLE_APID = 0x7FF
GROUND_ID = 0x0001  # source ID of TCs from the ground; destination ID of TM to it
CUC_P_FIELD = 0x2E  # implicit: 4 octets coarse + 2 octets fine, agency epoch 2000-01-01T00:00:00 (TAI-like, no leap seconds)
MAX_FRAME = 1024
SEC_HEADER_LEN = 6  # SPI u16 + SN u32
MAC_LEN = 16

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
    (17, "UNKNOWN_FUNCTION", "no function with this ID on this APID"),
    (18, "TIME_PASSED", "the release time has already passed"),
    (19, "TABLE_FULL", "an on-board table (schedule, transfers) has no room left"),
    (20, "UNKNOWN_REQUEST", "no scheduled activity has this request ID"),
    (21, "UNKNOWN_TRANSACTION", "no large-data transfer has this transaction ID"),
    (22, "REPLY_TOO_LONG", "the reply would not fit in one frame: ask for fewer items"),
    (23, "NO_MEMORY", "the board had no heap left to take or run the command: retry, or send fewer items"),
]

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
PART = (
    f("transaction", "u16", "large-data transaction ID"),
    f("part", "u16", "part sequence number, 0 first"),
    Rest("data", "the part's octets"),
)

SERVICES = [
    Service(1, "verification", "ST1 request verification"),
    Service(3, "hk", "ST3 housekeeping"),
    Service(5, "event", "ST5 event reporting"),
    Service(8, "function", "ST8 function management"),
    Service(9, "time", "ST9 time management"),
    Service(11, "sched", "ST11 time-based scheduling"),
    # PUS-C's home for limit checks is ST12 on-board monitoring; ours is FDIR (fsw/fdir.py): the
    # limits are a generated table, not ST12 definitions, so only mission subtypes are used
    Service(12, "fdir", "ST12 on-board monitoring: FDIR (mission subtypes)"),
    Service(13, "large", "ST13 large packet transfer (downlink)"),
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
    # ST8 function management: the function's APID routes it; its arguments are typed by its ID
    Message(
        8,
        1,
        "perform",
        "tc",
        (f("function_id", "u16", "function ID (unique in the dictionary)"), Typed("args", "function_id", "function", "the function's arguments")),
        "perform a function of the addressed application",
    ),
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
    # ST11 time-based scheduling: one activity per insert (the release time and a whole TC packet)
    Message(11, 1, "enable", "tc", (), "enable the release of scheduled activities"),
    Message(11, 2, "disable", "tc", (), "disable the release of scheduled activities (due ones are reported, not run, when it is enabled again)"),
    Message(11, 3, "reset", "tc", (), "delete every scheduled activity and disable release"),
    Message(11, 4, "insert", "tc", CUC + (Blob("tc", "the TC packet to release (no security layer: the insert itself was authenticated)"),), "insert one time-tagged activity"),
    Message(11, 5, "delete", "tc", (List("requests", REQUEST_ID, "request IDs of the activities to delete"),), "delete activities by request ID"),
    Message(11, 16, "summary", "tc", (), "report a summary of the schedule (TM 11.13)"),
    Message(
        11,
        13,
        "summary_report",
        "tm",
        (
            f("enabled", "u8", "1 when release is enabled"),
            List("activities", REQUEST_ID + CUC, "scheduled activities: request ID and release time"),
        ),
        "schedule summary",
    ),
    # ST12 FDIR: the safing record (persisted, re-reported at boot, the vehicle stays in its safe
    # mode until the ground clears it, then commands the mode) and a hang on command (tests, demos)
    Message(12, 128, "clear_safing", "tc", (), "clear the safing record; the ground then commands the mode (mission-specific subtype)"),
    Message(
        12,
        129,
        "hang_task",
        "tc",
        (f("task", "u8", "task number in the vehicle's task table"),),
        "make a vehicle task await forever, so FDIR's watchdogs can be shown to work (tests, demos; mission-specific subtype)",
    ),
    # ST13 large data downlink: parts of one transaction; the ground asks for missing parts again
    Message(13, 1, "first_part", "tm", PART, "first part of a large-data transfer"),
    Message(13, 2, "intermediate_part", "tm", PART, "intermediate part of a large-data transfer"),
    Message(13, 3, "last_part", "tm", PART, "last part of a large-data transfer"),
    Message(
        13,
        129,
        "resend",
        "tc",
        (f("transaction", "u16", "large-data transaction ID"), List("parts", (f("part", "u16", "part sequence number"),), "parts to send again (none: every part)")),
        "send parts of a transfer again (mission-specific subtype)",
    ),
    Message(13, 128, "downlink_log", "tc", (), "downlink the board's recent event log as a large-data transfer, product 3 log (mission-specific subtype)"),
    # ST17 test
    Message(17, 1, "ping", "tc", (), "are-you-alive connection test"),
    Message(17, 2, "pong", "tm", (), "are-you-alive connection test report"),
    # ST20 parameters
    Message(20, 1, "get", "tc", PARAM_ID_LIST, "report parameter values"),
    Message(20, 2, "values", "tm", PARAM_VALUES, "parameter value report"),
    Message(20, 3, "set", "tc", PARAM_VALUES, "set parameter values (range-checked, persisted)"),
]

# What each TC asks the board to send back besides its ST1 reports (the CLI prints
# these with the reports). ST8 functions: the events they cause.
REPLIES = {
    "test.ping": ("test.pong",),
    "param.get": ("param.values",),
    "param.set": ("event.low",),
    "hk.one_shot": ("hk.report",),
    "time.set_time": ("event.low",),
    "sched.summary": ("sched.summary_report",),
    "large.resend": ("large.first_part", "large.intermediate_part", "large.last_part"),
    "large.downlink_log": ("event.info",),
}
FUNCTION_REPLIES = ("event.info", "event.low", "event.medium", "event.high")
