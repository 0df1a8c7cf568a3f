# Routes TCs by APID to their handlers and reports every step through ST1
# (ECSS-E-ST-70-41C 6.1): acceptance, start, completion, reported by the APID
# the TC addressed. Success reports go out only when the TC's ack flags ask for
# them; failure reports always go out and name an error code. Handlers:
# accept(args) -> 0 or an error code (acceptance failure), validate(args) -> 0
# or an error code (nothing happened yet: start failure), execute(args) -> 0 or
# an error code (completion). `self.tc` is the TC being handled. A list
# argument is a packet.Items view over the TC's octets (len, truth, iteration),
# valid while the handler runs: a 255-item list needs no large block of heap.
#
# No TC, valid or not, may end the app: whatever a TC's unpacking or a handler
# raises fails that TC at the stage it reached, with a code (MemoryError:
# NO_MEMORY, OSError at completion: STORAGE_FAILED, anything else:
# EXECUTION_FAILED), and the app goes on. A failure report that cannot be
# built either (no heap left) leaves the TC unanswered; it still returns.
from micropython import const

from fsw import dictionary as D
from fsw import packet

_ACK_ACCEPT = const(0x1)
_ACK_START = const(0x2)
_ACK_DONE = const(0x8)


def _no_check(_args):
    return 0


def _code(exc):
    return D.ERR_NO_MEMORY if isinstance(exc, MemoryError) else D.ERR_EXECUTION_FAILED


class Dispatcher:
    def __init__(self, tm, send):
        self.tm = tm  # packet.TmWriter
        self.send = send  # send(buf, n)
        self.handlers = {}  # apid -> {key: (accept, validate, execute)}
        self.services = {}  # apid -> set of service numbers
        self.tc = packet.Tc()
        self.tc_accepted = 0
        self.tc_rejected = 0
        self.tc_lost = 0  # TCs whose failure report could not be built either

    def register(self, key, execute, validate=_no_check, apid=D.APID_OBC, accept=_no_check):
        table = self.handlers.get(apid)
        if table is None:
            table = self.handlers[apid] = {}
            self.services[apid] = set()
        table[key] = (accept, validate, execute)
        self.services[apid].add(key >> 8)

    def _report(self, key, values):
        n = self.tm.build(self.tc.apid, key, values)
        self.send(self.tm.buf, n)

    def _fail(self, key, tc, code):
        self.tc_rejected += 1
        self._report(key, (tc.request_id, code))

    def handle(self, buf, start, end):
        try:
            self._handle(buf, start, end)
        except Exception:  # a report that could not be built (no heap left): the TC goes unanswered
            self.tc_lost += 1

    def _handle(self, buf, start, end):
        tc = self.tc
        if not tc.parse(buf, start, end):
            self._fail(D.TM_VERIFICATION_ACCEPTANCE_FAILURE, tc, D.ERR_BAD_LENGTH)
            return
        code = self._accept(tc)
        if code:
            self._fail(D.TM_VERIFICATION_ACCEPTANCE_FAILURE, tc, code)
            return
        key = tc.key()
        accept, validate, execute = self.handlers[tc.apid][key]
        data_start, data_end = tc.data_span()
        try:
            args = packet.unpack(D.TC_LAYOUT[key], buf, data_start, data_end, True)
        except ValueError:
            code = D.ERR_BAD_LENGTH
        except KeyError:
            # a typed value whose type key is unknown: a function or a parameter ID
            code = D.ERR_UNKNOWN_FUNCTION if tc.service == D.ST_FUNCTION else D.ERR_UNKNOWN_PARAMETER
        except Exception as exc:  # MemoryError: a long list with no heap left for it
            code = _code(exc)
        else:
            try:
                code = accept(args)
            except Exception as exc:  # a handler's bug
                code = _code(exc)
        if code:
            self._fail(D.TM_VERIFICATION_ACCEPTANCE_FAILURE, tc, code)
            return
        self.tc_accepted += 1
        flags = tc.ack_flags
        request_id = tc.request_id
        if flags & _ACK_ACCEPT:
            self._report(D.TM_VERIFICATION_ACCEPTANCE_SUCCESS, (request_id,))
        try:
            code = validate(args)
        except Exception as exc:  # a handler's bug refuses its TC, never ends the app
            code = _code(exc)
        if code:
            self._report(D.TM_VERIFICATION_START_FAILURE, (request_id, code))
            return
        if flags & _ACK_START:
            self._report(D.TM_VERIFICATION_START_SUCCESS, (request_id,))
        try:
            code = execute(args)
        except OSError:
            code = D.ERR_STORAGE_FAILED
        except Exception as exc:
            # a reply that does not fit the frame, no heap for it, a handler's bug: the TC
            # fails with a code, the app goes on
            code = _code(exc)
        if code:
            self._report(D.TM_VERIFICATION_COMPLETION_FAILURE, (request_id, code))
        elif flags & _ACK_DONE:
            self._report(D.TM_VERIFICATION_COMPLETION_SUCCESS, (request_id,))

    def _accept(self, tc):
        if not tc.ptype:
            return D.ERR_NOT_A_TC
        table = self.handlers.get(tc.apid)
        if table is None:
            return D.ERR_UNKNOWN_APID
        if tc.pus_version != D.PUS_VERSION:
            return D.ERR_BAD_PUS_VERSION
        if tc.key() not in table:
            if tc.service in self.services[tc.apid]:
                return D.ERR_UNKNOWN_SUBTYPE
            return D.ERR_UNKNOWN_SERVICE
        return 0
