# ST20 on-board parameter management: TC 20.1 -> TM 20.2 report (no IDs: all);
# TC 20.3 set,
# every value checked before any is applied, then persisted and announced by an
# ST5 param_changed event per parameter.
#
# A report longer than the board's frame is split, not refused: the values go in
# as many TM 20.2 reports as they need, each as full as the frame allows, in the
# order asked (a TC of 255 IDs, or "all" on a board with a small frame, always
# gets its answer). Each report is written straight into the TM buffer: no list
# of pairs is built, whatever the count.
import struct

from fsw import dictionary as D
from fsw import packet

_PAIR = {}  # parameter type letter -> struct format of an (ID, value) pair


def _pair(letter):
    fmt = _PAIR.get(letter)
    if fmt is None:
        fmt = _PAIR[letter] = ">H" + letter
    return fmt


class Parameters:
    def __init__(self, apid, tm, send, params, events):
        self.apid = apid
        self.tm = tm
        self.send = send
        self.params = params
        self.events = events
        self.reports = 0  # TM 20.2 reports sent

    def register(self, dispatcher):
        dispatcher.register(D.TC_PARAM_GET, self.report, self.check_ids)
        dispatcher.register(D.TC_PARAM_SET, self.set, self.check_values)

    def check_ids(self, args):
        for (pid,) in args[0]:
            if pid not in self.params.spec:
                return D.ERR_UNKNOWN_PARAMETER
        return 0

    def check_values(self, args):
        for pid, value in args[0]:
            code = self.params.check(pid, value)
            if code:
                return code
        return 0

    def report(self, args):
        # no IDs asks for every parameter
        self._count = 0
        self._pos = self.tm.payload_start() + 1  # after the count octet
        if args[0]:
            for (pid,) in args[0]:
                self._put(pid)
        else:
            for pid in sorted(self.params.spec):
                self._put(pid)
        self._flush()
        return 0

    def _put(self, pid):
        fmt = _pair(self.params.spec[pid][0])
        size = struct.calcsize(fmt)
        if self._count == 255 or self._pos + size > len(self.tm.buf) - packet.PEC_LEN:
            self._flush()
        struct.pack_into(fmt, self.tm.buf, self._pos, pid, self.params.get(pid))
        self._pos += size
        self._count += 1

    def _flush(self):
        tm = self.tm
        tm.buf[tm.payload_start()] = self._count
        n = tm.finish(self.apid, D.TM_PARAM_VALUES, self._pos)
        self.send(tm.buf, n)
        self.reports += 1
        self._count = 0
        self._pos = tm.payload_start() + 1

    def set(self, args):
        try:
            self.params.set_many(args[0])
        except OSError:
            return D.ERR_STORAGE_FAILED
        for pid, _ in args[0]:
            self.events.emit(D.EVT_PARAM_CHANGED, (pid,))
        return 0
