# ST8 function management: TC 8.1 carries a function ID and its typed arguments
# (generated layouts). Acceptance: the function exists on the addressed APID.
# Start: the vehicle's mode allows it (allowed-mode mask from the dictionary),
# every argument lies in its range (NaN never does), then the owner's own check.
# Completion: the owner's execute. Owners register with add(); handlers get the
# arguments as a list in dictionary order, without the function ID.
# Replies: none of its own (functions answer by events, HK and ST13 products,
# each sized there); what a handler raises fails its TC (fsw.dispatcher).
from fsw import dictionary as D


def _ok(_args):
    return 0


class Functions:
    def __init__(self, dispatcher, mode_of):
        self.dispatcher = dispatcher
        self.mode_of = mode_of  # function() -> the vehicle's current mode number
        self.table = {}  # function ID -> (validate, execute)

    def register_apid(self, apid):
        self.dispatcher.register(D.TC_FUNCTION_PERFORM, self.perform, self.check, apid, self.accept)

    def add(self, fid, execute, validate=_ok):
        if fid not in D.FUNCTIONS:
            raise ValueError("function 0x%04x is not in the dictionary" % fid)
        self.table[fid] = (validate, execute)

    def accept(self, args):
        fid = args[0]
        if fid not in self.table or D.FUNCTIONS[fid][0] != self.dispatcher.tc.apid:
            return D.ERR_UNKNOWN_FUNCTION
        return 0

    def check(self, args):
        fid = args[0]
        spec = D.FUNCTIONS[fid]
        if not spec[2] & (1 << self.mode_of()):
            return D.ERR_NOT_ALLOWED_IN_MODE
        ranges = spec[3]
        for i in range(len(ranges)):
            bounds = ranges[i]
            if bounds is not None and not bounds[0] <= args[i + 1] <= bounds[1]:
                return D.ERR_ARG_OUT_OF_RANGE
        return self.table[fid][0](args[1:])

    def perform(self, args):
        return self.table[args[0]][1](args[1:])
