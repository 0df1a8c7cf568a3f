# CPython HAL for the fast SITL: the link is the process's stdin/stdout pipes
# to the SITL relay, read through the asyncio event loop.
import asyncio
import gc
import os
import time

_T0 = time.monotonic_ns()


def ticks_ms():
    return (time.monotonic_ns() - _T0) // 1000000


def ticks_us():
    return (time.monotonic_ns() - _T0) // 1000


def ticks_diff(a, b):
    return a - b


def heap_free():
    return 0  # CPython has no fixed heap; the MicroPython SITL measures it


def heap_used():
    return 0


def reset_cause():
    return 0


def collect():
    gc.collect()


async def sleep_ms(ms):
    await asyncio.sleep(ms / 1000)


def feed_watchdog(timeout_ms=0):
    return None


class Link:
    def __init__(self):
        self._fd_in = 0
        self._fd_out = 1
        os.set_blocking(self._fd_in, False)
        self.eof = False

    async def read_into(self, buf):
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = os.read(self._fd_in, len(buf))
            except BlockingIOError:
                ready = loop.create_future()
                loop.add_reader(self._fd_in, ready.set_result, None)
                try:
                    await ready
                finally:
                    loop.remove_reader(self._fd_in)
                continue
            if not data:
                self.eof = True
                return 0
            buf[0 : len(data)] = data
            return len(data)

    def write(self, buf, n):
        view = memoryview(buf)[0:n]
        while view:
            written = os.write(self._fd_out, view)
            view = view[written:]
