# On-board parameters: typed, range-checked, persisted power-loss-safe in
# params.dat through fsw.storage. Definitions come from the generated
# dictionary: (ID, struct letter, minimum, maximum, default, writable).
# Record on flash: ID u16 then the value in its own type, per parameter.
import struct

from fsw import dictionary as D
from fsw import storage

STORE = "params.dat"


class Params:
    def __init__(self, store=STORE):
        self.store = store
        self.spec = {}
        self.values = {}
        self.observers = {}  # id -> function(value), called after a change
        for pid, letter, lo, hi, default, writable in D.PARAMS:
            self.spec[pid] = (letter, lo, hi, writable)
            self.values[pid] = default
        self.load_fault = False

    def adopt(self):
        # parameters that joined D.PARAMS after construction (a vehicle's tables merged late), at their defaults
        for pid, letter, lo, hi, default, writable in D.PARAMS:
            if pid not in self.spec:
                self.spec[pid] = (letter, lo, hi, writable)
                self.values[pid] = default

    def load(self):
        # Values from flash; a missing store keeps the defaults, a damaged or
        # out-of-range record keeps that default and sets load_fault.
        raw = storage.load(self.store)
        if raw is None:
            return
        pos = 0
        n = len(raw)
        while pos + 2 <= n:
            pid = struct.unpack_from(">H", raw, pos)[0]
            pos += 2
            spec = self.spec.get(pid)
            if spec is None:
                self.load_fault = True  # unknown record: the rest cannot be framed
                return
            size = struct.calcsize(spec[0])
            if pos + size > n:
                self.load_fault = True
                return
            value = struct.unpack_from(">" + spec[0], raw, pos)[0]
            pos += size
            if self.check(pid, value, False):
                self.load_fault = True
            else:
                self.values[pid] = value

    def save(self):
        size = 0
        for pid in self.values:
            size += 2 + struct.calcsize(self.spec[pid][0])
        buf = bytearray(size)
        pos = 0
        for pid in self.values:
            letter = self.spec[pid][0]
            struct.pack_into(">H" + letter, buf, pos, pid, self.values[pid])
            pos += 2 + struct.calcsize(letter)
        storage.save(self.store, buf)

    def check(self, pid, value, by_command=True):
        # 0 or the error code that refuses `value` for `pid`
        spec = self.spec.get(pid)
        if spec is None:
            return D.ERR_UNKNOWN_PARAMETER
        if by_command and not spec[3]:
            return D.ERR_READ_ONLY_PARAMETER
        if not spec[1] <= value <= spec[2]:  # also refuses NaN
            return D.ERR_ARG_OUT_OF_RANGE
        return 0

    def get(self, pid):
        return self.values[pid]

    def set_internal(self, pid, value):
        # the software itself (e.g. boot count), not by command; not persisted here
        self.values[pid] = value

    def set_many(self, pairs):
        # Apply (id, value) pairs atomically: all persisted, or none changed.
        old = {}
        for pid, value in pairs:
            if pid not in old:
                old[pid] = self.values[pid]
            self.values[pid] = value
        try:
            self.save()
        except OSError:
            for pid in old:
                self.values[pid] = old[pid]
            raise
        for pid, value in pairs:
            fn = self.observers.get(pid)
            if fn is not None:
                fn(value)
