# MicroPython HAL (boards and the unix port). The link is the stdio stream:
# USB-CDC / UART REPL on a board, pipes to the SITL relay on the unix port.
# Ctrl-C interception is switched off so 0x03 in a frame is data.
import sys
import gc
import time
import select
import asyncio
import micropython

try:
    import machine
except ImportError:
    machine = None  # type: ignore[assignment]  # the unix port has no machine module

ticks_ms = time.ticks_ms
ticks_us = time.ticks_us
ticks_diff = time.ticks_diff
sleep_ms = asyncio.sleep_ms
collect = gc.collect


def heap_free():
    return gc.mem_free()


try:
    from sitl_rom import size as _ROM_IN_HEAP  # type: ignore[import-not-found]  # SITL only (ground/romboot.py)
except ImportError:
    _ROM_IN_HEAP = 0  # a board: the ROMFS image is in flash, not in the heap


def heap_used():
    return gc.mem_alloc() - _ROM_IN_HEAP


def reset_cause():
    # 0 power-on, 1 watchdog, 2 soft, 3 other (ST5 boot event)
    fn = getattr(machine, "reset_cause", None)
    if fn is None:
        return 0  # the unix port: every start is a power-on
    cause = fn()
    if cause == getattr(machine, "PWRON_RESET", -1):
        return 0
    if cause == getattr(machine, "WDT_RESET", -1):
        return 1
    if cause == getattr(machine, "SOFT_RESET", -1):
        return 2
    return 3


_wdt = None


def feed_watchdog(timeout_ms=0):
    # Starts the watchdog on first call with a timeout (boards only), then feeds it.
    global _wdt
    if machine is None or not hasattr(machine, "WDT"):
        return
    if _wdt is None:
        if not timeout_ms:
            return
        _wdt = machine.WDT(timeout=timeout_ms)
    _wdt.feed()


class Link:
    def __init__(self):
        micropython.kbd_intr(-1)
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._reader = asyncio.StreamReader(self._in)
        self._poll = select.poll()
        self._poll.register(self._in, select.POLLIN)
        self._one = bytearray(1)
        self.eof = False

    async def read_into(self, buf):
        # Waits for at least one byte, then drains what is already there.
        one = self._one
        if not await self._reader.readinto(one):
            self.eof = True
            return 0
        buf[0] = one[0]
        n = 1
        size = len(buf)
        while n < size:
            ready = False
            for _ in self._poll.ipoll(0):
                ready = True
            if not ready or not self._in.readinto(one):
                break
            buf[n] = one[0]
            n += 1
        return n

    def write(self, buf, n):
        self._out.write(memoryview(buf)[0:n])
