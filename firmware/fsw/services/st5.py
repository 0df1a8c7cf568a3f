# ST5 event reporting: the subtype is the severity (1 info .. 4 high). Events
# below the minimum severity parameter, or disabled by TC 5.6, are not sent.
# Size: an event's aux data is fixed by the dictionary, so each report has one
# size; tests/firmware/test_reply_sizes.py keeps them within the smallest frame.
from fsw import dictionary as D


class Events:
    def __init__(self, apid, tm, send, min_severity=1):
        self.apid = apid
        self.tm = tm
        self.send = send
        self.min_severity = min_severity
        self.disabled = set()
        self.sent = 0

    def register(self, dispatcher):
        dispatcher.register(D.TC_EVENT_ENABLE, self.enable, self.check_ids)
        dispatcher.register(D.TC_EVENT_DISABLE, self.disable, self.check_ids)

    def emit(self, event_id, aux):
        # aux: tuple of the event's auxiliary values, in dictionary order
        severity, _, apid = D.EVENTS[event_id]  # reported by the APID that owns the event
        if severity < self.min_severity or event_id in self.disabled:
            return False
        n = self.tm.build(apid, (D.ST_EVENT << 8) | severity, (event_id,) + aux)
        self.send(self.tm.buf, n)
        self.sent += 1
        return True

    def task_error(self, task, exc, errors):
        # task_error for a cycle that raised (task 255: the OBC's schedule loop), if the heap
        # lets it: a report that fails must not turn one lost cycle into two
        if isinstance(exc, MemoryError):
            kind = D.TASK_ERROR_MEMORY
        elif type(exc).__name__ == "GncError":
            kind = D.TASK_ERROR_GNC
        else:
            kind = D.TASK_ERROR_OTHER
        try:
            self.emit(D.EVT_TASK_ERROR, (task, kind, errors))
        except MemoryError:
            pass

    def check_ids(self, args):
        for (event_id,) in args[0]:
            if event_id not in D.EVENTS:
                return D.ERR_UNKNOWN_EVENT
        return 0

    def enable(self, args):
        for (event_id,) in args[0]:
            self.disabled.discard(event_id)
        return 0

    def disable(self, args):
        for (event_id,) in args[0]:
            self.disabled.add(event_id)
        return 0
