# ST20 on-board parameter management: TC 20.1 -> TM 20.2 report (no IDs: all);
# TC 20.3 set,
# every value checked before any is applied, then persisted and announced by an
# ST5 param_changed event per parameter.
import struct

from fsw import dictionary as D


class Parameters:
    def __init__(self, apid, tm, send, params, events):
        self.apid = apid
        self.tm = tm
        self.send = send
        self.params = params
        self.events = events

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
        # no IDs asks for every parameter; a reply longer than a frame is refused
        ids = [pid for (pid,) in args[0]] if args[0] else sorted(self.params.spec)
        size = 1
        for pid in ids:
            size += 2 + struct.calcsize(self.params.spec[pid][0])
        if len(ids) > 255 or size > len(self.tm.buf) - self.tm.payload_start() - 2:
            return D.ERR_REPLY_TOO_LONG
        pairs = [(pid, self.params.get(pid)) for pid in ids]
        n = self.tm.build(self.apid, D.TM_PARAM_VALUES, (pairs,))
        self.send(self.tm.buf, n)
        return 0

    def set(self, args):
        try:
            self.params.set_many(args[0])
        except OSError:
            return D.ERR_STORAGE_FAILED
        for pid, _ in args[0]:
            self.events.emit(D.EVT_PARAM_CHANGED, (pid,))
        return 0
