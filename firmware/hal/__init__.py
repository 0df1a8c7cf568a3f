# Hardware abstraction: the board's link and system facts. One implementation
# per runtime family; the flight app only sees this module's names.
import sys

if sys.implementation.name == "micropython":
    from hal.mpy import Link, ticks_ms, ticks_us, ticks_diff, heap_free, heap_used, reset_cause, collect, sleep_ms, feed_watchdog
else:
    from hal.cpy import Link, ticks_ms, ticks_us, ticks_diff, heap_free, heap_used, reset_cause, collect, sleep_ms, feed_watchdog
