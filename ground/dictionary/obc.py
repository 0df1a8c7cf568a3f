"""The on-board computer (APID 0x001): the framework services, their events,
parameters and housekeeping. Every vehicle runs it."""

from ground.dictionary.types import Component, Event, HkStructure, Limit, Param, f

SECURITY_REASONS = {1: "unknown_spi", 2: "bad_mac", 3: "replay", 4: "short", 5: "clear_refused", 6: "store_failed"}
PRODUCTS = {1: "image", 2: "spectrum", 3: "log"}
TASK_ERRORS = {1: "memory", 2: "gnc", 3: "other"}
SAFING_REASONS = {0: "none", 1: "task_hung", 2: "limit", 3: "command", 4: "keepout", 5: "power", 6: "device"}

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
            f("reason", "u8", "1 unknown SPI, 2 bad MAC, 3 replay, 4 short frame, 5 clear mode refused, 6 floor not stored", names=SECURITY_REASONS),
            f("spi", "u16", "security parameter index of the frame"),
            f("sn", "u32", "sequence number of the frame (0 when absent)"),
            f("floor", "u32", "last accepted sequence number for that SPI"),
        ),
        "an uplink frame failed the security check and was discarded (at most 4 reported per second: "
        "the rest are counted in security_suppressed)",
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
        (
            f("store", "u8", "1 parameters, 2 boot counter, 3 anti-replay floors, 4 schedule, 5 safing record, 6 large-data product"),
            f("action", "u8", "1 load fell back, 2 write failed"),
        ),
        "a flash store could not be read or written",
    ),
    Event(6, "sched_released", 1, (f("request_id", "u32", "request ID of the released TC"),), "a scheduled TC was released"),
    Event(
        7,
        "sched_missed",
        3,
        (
            f("request_id", "u32", "request ID of the scheduled TC"),
            f("release_coarse", "u32", "its release time", "s"),
            f("now_coarse", "u32", "on-board time when it was found late", "s"),
        ),
        "a scheduled TC's release time passed while release was disabled or the board was off: deleted, not run",
    ),
    Event(
        8,
        "transfer_started",
        1,
        (
            f("transaction", "u16", "large-data transaction ID"),
            f("product", "u8", "what the transfer carries", names=PRODUCTS),
            f("size", "u32", "octets in the product", "B"),
            f("parts", "u16", "parts in the transfer"),
            f("crc", "u16", "CRC-16/CCITT-FALSE of the product"),
        ),
        "a large-data transfer (ST13) begins",
    ),
    Event(
        9,
        "task_hung",
        4,
        (f("task", "u8", "task number in the vehicle's task table"), f("late_ms", "u32", "time since the task last ran", "ms")),
        "a task stopped running: the vehicle goes to its safe mode",
    ),
    Event(
        10,
        "limit_violation",
        3,
        (
            f("sid", "u16", "housekeeping structure of the monitored value"),
            f("field", "u8", "index of the value in the structure"),
            f("value", "f32", "the value"),
            f("limit", "f32", "the limit it crossed"),
            f("action", "u8", "0 report only, 1 safe mode"),
        ),
        "a monitored housekeeping value crossed its limit",
    ),
    Event(
        11,
        "safed",
        4,
        (
            f("reason", "u8", "why", names=SAFING_REASONS),
            f("detail", "u16", "task number, structure ID or function ID behind the reason"),
            f("boot_count", "u32", "boot in which it happened"),
            f("coarse", "u32", "on-board time when it happened", "s"),
        ),
        "the vehicle entered its safe mode autonomously (re-reported after each boot until cleared)",
    ),
    Event(
        12,
        "task_error",
        3,
        (
            f("task", "u8", "task number in the vehicle's task table (from 0); 255: the OBC's schedule loop"),
            f("kind", "u8", "what it raised", names=TASK_ERRORS),
            f("errors", "u32", "failed cycles of that task since boot"),
        ),
        "a cycle raised and its work was skipped (reported once per run of failures; a task that keeps "
        "failing stops its heartbeat and FDIR safes the vehicle)",
    ),
    Event(
        13,
        "security_suppressed",
        4,
        (
            f("unknown_spi", "u32", "frames rejected for an unknown SPI and not reported one by one"),
            f("bad_mac", "u32", "frames rejected for a bad MAC and not reported one by one"),
            f("replay", "u32", "frames rejected as replays and not reported one by one"),
            f("short", "u32", "frames rejected as too short and not reported one by one"),
            f("clear_refused", "u32", "clear-mode frames refused and not reported one by one"),
            f("store_failed", "u16", "frames refused as the floor could not be stored, not reported one by one "
              "(each had a valid MAC, so no flood; saturates at 65535)"),
        ),
        "the uplink frames rejected beyond the security_rejected rate limit (4 per second), per reason, "
        "sent once that second is over; the HK drop_* counters count every frame",
    ),
]

PARAMS = [
    Param(1, "obc.hk_period_ms", "u32", 100, 3600000, 5000, True, "ms", "period of the OBC housekeeping report at boot"),
    Param(2, "obc.clock_drift_ppm", "f32", -500.0, 500.0, 0.0, True, "ppm", "correction applied to the on-board clock rate"),
    Param(3, "link.replay_window", "u16", 16, 4096, 1024, True, "", "anti-replay window: accepted SNs lie in (last, last + window]"),
    Param(4, "obc.event_min_severity", "u8", 1, 4, 1, True, "", "events below this severity are not reported"),
    Param(5, "obc.boot_count", "u32", 0, 0xFFFFFFFF, 0, False, "", "boots since the store was made (read-only)"),
]

HK = [
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
            f("heap_peak", "u32", "most heap in use right after a scheduled garbage collection since boot (0 on CPython)", "B"),
        ),
        "on-board computer housekeeping",
    ),
]

LIMITS = [
    # Under 8 KB free, a fragmented heap may no longer find a block for a frame (up to 1 KB) or a
    # camera slice: the ground should know before a MemoryError. Report only: safing frees no heap.
    # (CPython reports 0, not a measurement: fsw/fdir.py turns heap limits off there.)
    Limit(1, "heap_free", 8192, None, 0, "free heap running out"),
]

COMPONENT = Component(
    0x001,
    "obc",
    "on-board computer: time, parameters, scheduling, housekeeping, events, large data",
    events=EVENTS,
    params=PARAMS,
    hk=HK,
    services=(3, 5, 9, 11, 12, 13, 17, 20),
    limits=LIMITS,
)
