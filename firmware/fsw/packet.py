# Space packet codec on the board: TC header parse, TM build, payload layouts.
# CCSDS 133.0-B-2 primary header, PUS-C (ECSS-E-ST-70-41C) secondary headers,
# CRC-16/CCITT-FALSE PEC. Layout strings come from the generated dictionary
# (see ground/export.py for their language). TM is built in place in one
# preallocated buffer; only payload values pass through Python objects.
import struct
from micropython import const

from fsw import dictionary as D
from fsw.crc16 import crc16

PRIMARY_LEN = const(6)
TC_SEC_LEN = const(5)
TM_SEC_LEN = const(13)
PEC_LEN = const(2)
TC_MIN_LEN = const(13)  # primary + TC secondary + PEC

# Link-level verdicts on a packet (the header is not trusted: no ST1 report).
OK = const(0)
BAD_LENGTH = const(1)
BAD_PEC = const(2)



def check(buf, start, end):
    # Whole packet present (data length field agrees) and PEC checks.
    n = end - start
    if n < PRIMARY_LEN + PEC_LEN:
        return BAD_LENGTH
    if PRIMARY_LEN + ((buf[start + 4] << 8) | buf[start + 5]) + 1 != n:
        return BAD_LENGTH
    if crc16(buf, start, end - PEC_LEN) != (buf[end - 2] << 8) | buf[end - 1]:
        return BAD_PEC
    return OK


class Tc:
    # The fields of one TC, parsed in place; one instance is reused for every TC.
    def __init__(self):
        self.buf = None
        self.start = 0
        self.end = 0
        self.ptype = 0
        self.apid = 0
        self.seq_count = 0
        self.pus_version = 0
        self.ack_flags = 0
        self.service = 0
        self.subtype = 0
        self.source_id = 0
        self.request_id = 0

    def parse(self, buf, start, end):
        # Caller has run check(); returns False when too short for a TC secondary header.
        self.buf = buf
        self.start = start
        self.end = end
        pid, psc = struct.unpack_from(">HH", buf, start)
        self.ptype = (pid >> 12) & 1
        self.apid = pid & 0x7FF
        self.seq_count = psc & 0x3FFF
        self.request_id = (pid << 16) | psc
        if end - start < TC_MIN_LEN:
            return False
        sec = buf[start + 6]
        self.pus_version = sec >> 4
        self.ack_flags = sec & 0xF
        self.service = buf[start + 7]
        self.subtype = buf[start + 8]
        self.source_id = (buf[start + 9] << 8) | buf[start + 10]
        return True

    def key(self):
        return (self.service << 8) | self.subtype

    def data_span(self):
        return self.start + PRIMARY_LEN + TC_SEC_LEN, self.end - PEC_LEN


# --- payload layouts ------------------------------------------------------------


def _tail(letter, key):
    if letter == "P":
        return D.PARAM_TYPE.get(key)
    if letter == "K":
        return D.HK.get(key)
    if letter == "A":
        return D.FUNCTIONS[key][1] if key in D.FUNCTIONS else None
    return D.EVENTS[key][1] if key in D.EVENTS else None


def _close(layout, i):
    # Index of the "]" that closes the "[" at i - 1.
    depth = 1
    while depth:
        c = layout[i]
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        i += 1
    return i - 1


class Items:
    # A [..] list of a payload read in place (unpack(..., views=True)): len(), truth and
    # iteration (each item a tuple, decoded as it is reached), valid until buf is reused.
    # A 255-item list then costs no list of 255 tuples: on a fragmented heap that list
    # (a block of 2 KB) was a MemoryError while the small tuples, dying young, are not.
    def __init__(self, inner, buf, pos, count):
        self.inner = inner
        self.buf = buf
        self.pos = pos
        self.count = count

    def __len__(self):
        return self.count

    def __bool__(self):
        return self.count > 0

    def __iter__(self):
        pos = self.pos
        n = len(self.buf)
        for _ in range(self.count):
            item = []
            pos = _unpack(self.inner, self.buf, pos, n, item, False)
            yield tuple(item)


def _fixed(layout):
    # octets of a layout of plain struct letters, or -1 when it has typed or counted parts
    for c in layout:
        if c in "[PKEAYR":
            return -1
    return struct.calcsize(">" + layout)


def unpack(layout, buf, pos, end, views=False):
    # Values of a payload as a list: scalars flat, a [..] list as a list of
    # tuples (views: an Items view, checked whole now, decoded when iterated),
    # typed tails (P/K/E/A) flat, octet strings (Y/R) as memoryview
    # slices of `buf` (valid until buf is reused). Raises ValueError when the
    # octets do not fit the layout exactly, KeyError for an unknown typing key.
    out = []
    pos = _unpack(layout, buf, pos, end, out, views)
    if pos != end:
        raise ValueError("length")
    return out


def _unpack(layout, buf, pos, end, out, views):
    i = 0
    n = len(layout)
    while i < n:
        c = layout[i]
        if c == "[":
            j = _close(layout, i + 1)
            inner = layout[i + 1 : j]
            if pos >= end:
                raise ValueError("length")
            count = buf[pos]
            pos += 1
            if views:
                first = pos
                size = _fixed(inner)
                if size >= 0:
                    pos += count * size
                    if pos > end:
                        raise ValueError("length")
                else:
                    for _ in range(count):  # check every item now (KeyError, ValueError), keep none
                        pos = _unpack(inner, buf, pos, end, [], False)
                out.append(Items(inner, buf, first, count))
            else:
                items = []
                for _ in range(count):
                    item = []
                    pos = _unpack(inner, buf, pos, end, item, False)
                    items.append(tuple(item))
                out.append(items)
            i = j + 1
            continue
        if c in "PKEA":
            sub = _tail(c, out[-1])
            if sub is None:
                raise KeyError(out[-1])
            pos = _unpack(sub, buf, pos, end, out, views)
        elif c == "Y":
            if pos + 2 > end:
                raise ValueError("length")
            size = (buf[pos] << 8) | buf[pos + 1]
            pos += 2
            if pos + size > end:
                raise ValueError("length")
            out.append(memoryview(buf)[pos : pos + size])
            pos += size
        elif c == "R":
            out.append(memoryview(buf)[pos:end])
            pos = end
        else:
            size = struct.calcsize(c)
            if pos + size > end:
                raise ValueError("length")
            out.append(struct.unpack_from(">" + c, buf, pos)[0])
            pos += size
        i += 1
    return pos


_OPS = {}  # layout -> its compiled packing steps (_compile)
_RUN = const(0)  # (_RUN, struct format, octets, fields): plain struct letters in a row
_LIST = const(1)  # (_LIST, inner layout): a count octet, then the items
_TYPED = const(2)  # (_TYPED, letter): the layout the previous value names (P K E A)
_OCTETS = const(3)  # (_OCTETS, letter): Y (length-prefixed) or R (the rest)


def _run_op(letters):
    fmt = ">" + letters
    return (_RUN, fmt, struct.calcsize(fmt), len(letters))


def _compile(layout):
    # Packing steps of a layout, made once per layout: the interpreter then packs a report in a
    # few struct calls instead of two new strings and a struct call per field
    ops = _OPS.get(layout)
    if ops is not None:
        return ops
    ops = []
    run = ""
    i = 0
    n = len(layout)
    while i < n:
        c = layout[i]
        if c in "[PKEAYR" and run:
            ops.append(_run_op(run))
            run = ""
        if c == "[":
            j = _close(layout, i + 1)
            ops.append((_LIST, layout[i + 1 : j]))
            i = j
        elif c in "PKEA":
            ops.append((_TYPED, c))
        elif c in "YR":
            ops.append((_OCTETS, c))
        else:
            run += c
        i += 1
    if run:
        ops.append(_run_op(run))
    ops = tuple(ops)
    _OPS[layout] = ops
    return ops


def pack_into(layout, buf, pos, values):
    # Inverse of unpack(): writes `values` at buf[pos:], returns the end offset.
    return _pack(layout, buf, pos, values, 0)[0]


def _pack(layout, buf, pos, values, k):
    for op in _compile(layout):
        kind = op[0]
        if kind == _RUN:
            end = pos + op[2]
            if end > len(buf):
                raise ValueError("buffer too small")
            nf = op[3]
            if nf == 1:
                struct.pack_into(op[1], buf, pos, values[k])
            else:
                struct.pack_into(op[1], buf, pos, *values[k : k + nf])
            pos = end
            k += nf
        elif kind == _LIST:
            items = values[k]
            buf[pos] = len(items)
            pos += 1
            for item in items:
                pos = _pack(op[1], buf, pos, item, 0)[0]
            k += 1
        elif kind == _TYPED:
            sub = _tail(op[1], values[k - 1])
            if sub is None:
                raise KeyError(values[k - 1])
            pos, k = _pack(sub, buf, pos, values, k)
        else:
            data = values[k]
            size = len(data)
            if op[1] == "Y":
                struct.pack_into(">H", buf, pos, size)
                pos += 2
            if pos + size > len(buf):
                raise ValueError("buffer too small")
            buf[pos : pos + size] = data
            pos += size
            k += 1
    return pos, k


# --- telemetry -------------------------------------------------------------------


class TmWriter:
    # Builds TM packets in one buffer: per-APID sequence counts (14 bits),
    # per-destination message type counters (16 bits), CUC time from `clock`.
    def __init__(self, clock, max_len, time_ref_status=0):
        self.buf = bytearray(max_len)
        self.clock = clock
        self.time_ref_status = time_ref_status
        self._seq = {}
        self._counter = {}

    def payload_start(self):
        return PRIMARY_LEN + TM_SEC_LEN

    def finish(self, apid, key, payload_end, destination=D.GROUND_ID):
        # Fill headers and PEC around a payload already written at payload_start();
        # returns the packet length.
        buf = self.buf
        total = payload_end + PEC_LEN
        seq = self._seq.get(apid, 0)
        self._seq[apid] = (seq + 1) & 0x3FFF
        counter = self._counter.get(destination, 0)
        self._counter[destination] = (counter + 1) & 0xFFFF
        coarse, fine = self.clock.cuc()
        struct.pack_into(
            ">HHHBBBHHIH",
            buf,
            0,
            0x0800 | apid,
            0xC000 | seq,
            total - PRIMARY_LEN - 1,
            (D.PUS_VERSION << 4) | self.time_ref_status,
            key >> 8,
            key & 0xFF,
            counter,
            destination,
            coarse,
            fine,
        )
        struct.pack_into(">H", buf, payload_end, crc16(buf, 0, payload_end))
        return total

    def build(self, apid, key, values, destination=D.GROUND_ID):
        # One dictionary TM from its payload values; returns the packet length.
        end = pack_into(D.TM_LAYOUT[key], self.buf, PRIMARY_LEN + TM_SEC_LEN, values)
        return self.finish(apid, key, end, destination)


def encode_tc(buf, apid, seq_count, key, values, ack_flags=0xF, source_id=D.GROUND_ID):
    # A TC in `buf` (tests and on-board scheduling); returns its length.
    end = pack_into(D.TC_LAYOUT[key], buf, PRIMARY_LEN + TC_SEC_LEN, values)
    total = end + PEC_LEN
    struct.pack_into(
        ">HHHBBBH",
        buf,
        0,
        0x1800 | apid,
        0xC000 | seq_count,
        total - PRIMARY_LEN - 1,
        (D.PUS_VERSION << 4) | ack_flags,
        key >> 8,
        key & 0xFF,
        source_id,
    )
    struct.pack_into(">H", buf, end, crc16(buf, 0, end))
    return total
