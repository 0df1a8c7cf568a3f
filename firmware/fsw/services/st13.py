# ST13 large-data downlink (ECSS-E-ST-70-41C 6.13) on the OBC APID: products
# (camera images, spectra, logs) go down in parts of one transaction.
#
#   start(product, data) -> transaction ID
#       stores the product on flash (one file per transaction, fsw.storage; the
#       last KEEP are kept, older ones deleted), emits transfer_started
#       (transaction, product, size, parts, CRC-16 of the product) and queues
#       every part. A flash write failure raises OSError: the caller reports
#       storage_fault (store 6) and the product is not sent.
#   tick(now_ms)  from the OBC schedule loop: sends the parts that the link
#       budget allows (below), so telemetry and commands keep flowing.
#   TC 13.129 resend: parts (none: every part) of a transaction still on flash,
#       queued behind the transfer in progress; it emits transfer_started again
#       so a ground that lost it can still check the CRC. UNKNOWN_TRANSACTION
#       when the file is gone, ARG_OUT_OF_RANGE for a part past the end. A part
#       asked twice is sent once: repeats in one request, and a request for a
#       transaction whose resend is still queued, merge into that queued job.
#   TC 13.128 downlink_log: the recent event log (the last LOG_LINES events
#       the board emitted, as text) as product 3.
#
# Parts: part 0 is TM 13.1, the last is TM 13.3, the others 13.2; a one-part
# product is sent as 13.3 alone (the ground learns the count from it). Part
# data is PART_MAX octets (less if the board's frame is smaller), read from the
# file straight into the TM buffer: no copy of the product per part. So a
# product is always split to the frame, never refused for its size.
#
# Pacing: a byte budget (token bucket) of half the link's rate, in flight time,
# so a 921600-baud link carries about 4 parts per 20 ms tick and a 115200-baud
# UART one part every two or three ticks; the other half stays for HK, events
# and replies.
#
# Files: "st13_TTTTT_P_CCCC.dat" (transaction, product, CRC in hex) so a reboot
# finds the transfers, their product and CRC without reading the products.
import os
import struct
from micropython import const

from fsw import dictionary as D
from fsw import packet
from fsw import storage
from fsw.crc16 import crc16

KEEP = const(4)  # transactions kept on flash
PART_MAX = const(192)  # octets of product per part: fits the smallest board frame (ESP32, 240)
MAX_SIZE = const(65535)  # what one fsw.storage file holds
LOG_LINES = const(32)  # events kept for downlink_log
PRODUCT_LOG = const(3)
_PREFIX = "st13_"
_SUFFIX = ".dat"
_STORE_HDR = const(4)  # fsw.storage file: magic u16 | length u16 | data | CRC
_PART_HDR = const(4)  # transaction u16 | part u16
_COBS_SLACK = const(8)  # COBS overhead of a frame under 254 octets, delimiters, rounding
_TICK_MS = const(20)
_STORE_LARGE = const(6)  # storage_fault store number
_FAULT_WRITE = const(2)
_TM_TIME = const(13)  # offset of the CUC coarse time in a TM packet
_TM_DATA = const(19)  # offset of the payload in a TM packet
_LOG_FMT = ">IHBHB"  # a log slot: coarse time, APID, severity, event ID, aux length, then the aux octets
_LOG_HEAD = const(10)
_LOG_AUX = const(22)  # the longest event aux in the dictionary is 21 octets
_LOG_SLOT = const(32)


def _name(tid, product, crc):
    return "%s%05d_%d_%04x%s" % (_PREFIX, tid, product, crc, _SUFFIX)


def _parse(name):
    # (tid, product, crc) of a transfer file name, or None
    if not name.startswith(_PREFIX) or not name.endswith(_SUFFIX):
        return None
    fields = name[len(_PREFIX) : -len(_SUFFIX)].split("_")
    if len(fields) != 3:
        return None
    try:
        return int(fields[0]), int(fields[1]), int(fields[2], 16)
    except ValueError:
        return None


def _newer(a, b):
    # transaction IDs count up and wrap at 0xFFFF: a is newer than b
    return ((a - b) & 0xFFFF) < 0x8000 and a != b


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


class LargeData:
    def __init__(self, apid, tm, send, events, max_frame, baud=921600):
        self.apid = apid
        self.tm = tm
        self.send = send
        self.events = events
        self.part_size = min(PART_MAX, max_frame - packet.PRIMARY_LEN - packet.TM_SEC_LEN - _PART_HDR - packet.PEC_LEN)
        self._wire = self.part_size + packet.PRIMARY_LEN + packet.TM_SEC_LEN + _PART_HDR + packet.PEC_LEN + _COBS_SLACK
        self.rate = max(1, baud // 20000)  # octets per ms: half of baud / 10 bits per octet
        self.files = {}  # tid -> (name, product, size, crc), transfers on flash
        self.order = []  # tids on flash, oldest first
        self.jobs = []  # [tid, parts or None (every part), index of the next to send, announce when it starts], in order
        self._log = bytearray(LOG_LINES * _LOG_SLOT)  # ring of the recent events' octets (record)
        self._log_next = 0  # slot the next event goes to
        self._log_count = 0  # slots holding an event
        self._file = None  # open file of the job in progress
        self._credit = 0
        self._last = None
        self.next_id = 1
        self.parts_sent = 0
        self._scan()

    def register(self, dispatcher):
        dispatcher.register(D.TC_LARGE_RESEND, self.resend, self.check_resend)
        dispatcher.register(D.TC_LARGE_DOWNLINK_LOG, self.downlink_log)

    # --- flash ----------------------------------------------------------------------

    def _scan(self):
        # transfers left on flash by an earlier boot; new IDs continue after the newest
        found = []
        for name in os.listdir():
            if name.startswith(_PREFIX) and name.endswith(".tmp"):
                _remove(name)  # a save cut by a reset: never announced, never sent
                continue
            key = _parse(name)
            if key is None:
                continue
            tid, product, crc = key
            try:
                size = os.stat(name)[6] - _STORE_HDR - 2
            except OSError:
                continue
            self.files[tid] = (name, product, size, crc)
            found.append(tid)
        # oldest first, wrap-aware: insertion sort (a handful of files)
        for i in range(1, len(found)):
            j = i
            while j > 0 and _newer(found[j - 1], found[j]):
                found[j - 1], found[j] = found[j], found[j - 1]
                j -= 1
        self.order = found
        if found:
            self.next_id = (found[-1] % 0xFFFF) + 1

    def parts(self, size):
        return (size + self.part_size - 1) // self.part_size

    def start(self, product, data):
        size = len(data)
        if product not in (1, 2, 3):
            raise ValueError("st13: unknown product")
        if not 0 < size <= MAX_SIZE:
            raise ValueError("st13: product size")
        tid = self.next_id
        self.next_id = (tid % 0xFFFF) + 1  # 1..65535
        crc = crc16(data)
        name = _name(tid, product, crc)
        self._forget(tid)  # a wrapped ID still on flash
        storage.save(name, data)  # OSError: nothing queued, nothing announced
        self.files[tid] = (name, product, size, crc)
        self.order.append(tid)
        while len(self.order) > KEEP:
            self._forget(self.order[0])
        self.events.emit(D.EVT_TRANSFER_STARTED, (tid, product, size, self.parts(size), crc))
        self.jobs.append([tid, None, 0, False])  # announced just above
        return tid

    def _forget(self, tid):
        # delete a transfer's file and every job that would read it
        entry = self.files.pop(tid, None)
        if entry is None:
            return
        if self.jobs and self.jobs[0][0] == tid:
            self._close()
        self.jobs = [j for j in self.jobs if j[0] != tid]
        self.order.remove(tid)
        _remove(entry[0])
        _remove(entry[0] + ".bak")

    def _close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    # --- TC 13.129 resend -------------------------------------------------------------

    def check_resend(self, args):
        tid, parts = args
        entry = self.files.get(tid)
        if entry is None:
            return D.ERR_UNKNOWN_TRANSACTION
        count = self.parts(entry[2])
        for (n,) in parts:
            if n >= count:
                return D.ERR_ARG_OUT_OF_RANGE
        return 0

    def resend(self, args):
        tid, parts = args
        wanted = None
        if parts:
            wanted = sorted(set(n for (n,) in parts))
        # merge into a queued (not yet started) job of the same transaction; it announces the
        # transfer again when it starts, as a new resend job would: the ground asking may not
        # have seen the transfer_started sent when the transfer was created
        busy = self._file is not None  # jobs[0] has started: its list is fixed
        for job in self.jobs[1:] if busy else self.jobs:
            if job[0] == tid:
                if job[1] is None or wanted is None:
                    job[1] = None
                else:
                    job[1] = sorted(set(job[1] + wanted))
                job[3] = True
                return 0
        self.jobs.append([tid, wanted, 0, True])
        return 0

    # --- TC 13.128 downlink_log --------------------------------------------------------

    def tap(self, send):
        # wraps the events' send: every event the board emits is kept for the log
        def _send(buf, n):
            self.record(buf, n)
            send(buf, n)

        return _send

    def record(self, buf, n):
        # copy the event's octets into the next slot of the ring: no allocation per event (an
        # event can be the last thing a board near its heap's limit manages to send, and a
        # list of text lines kept for the log scattered small objects over the heap)
        o = self._log_next * _LOG_SLOT
        lb = self._log
        for i in range(4):
            lb[o + i] = buf[_TM_TIME + i]  # coarse time
        lb[o + 4] = buf[0] & 0x07  # APID
        lb[o + 5] = buf[1]
        lb[o + 6] = buf[8]  # severity: the TM subtype
        lb[o + 7] = buf[_TM_DATA]  # event ID
        lb[o + 8] = buf[_TM_DATA + 1]
        k = n - packet.PEC_LEN - _TM_DATA - 2
        if k > _LOG_AUX:
            k = _LOG_AUX  # the dictionary has no event this long (tested); never overrun a slot
        lb[o + 9] = k
        a = _TM_DATA + 2
        o += _LOG_HEAD
        for i in range(k):
            lb[o + i] = buf[a + i]
        self._log_next = (self._log_next + 1) % LOG_LINES
        if self._log_count < LOG_LINES:
            self._log_count += 1

    def log_product(self):
        count = self._log_count
        lines = ["# mitra event log: on-board time s, APID, severity, event ID, aux octets (hex); %d events\n" % count]
        lb = memoryview(self._log)
        first = (self._log_next - count) % LOG_LINES
        for j in range(count):
            o = ((first + j) % LOG_LINES) * _LOG_SLOT
            coarse, apid, sev, event_id, k = struct.unpack_from(_LOG_FMT, lb, o)
            lines.append("%d apid=%d sev=%d event=%d aux=%s\n" % (coarse, apid, sev, event_id, _hex(lb[o + _LOG_HEAD : o + _LOG_HEAD + k])))
        return "".join(lines).encode()

    def downlink_log(self, _args):
        try:
            self.start(PRODUCT_LOG, self.log_product())
        except OSError:
            self.events.emit(D.EVT_STORAGE_FAULT, (_STORE_LARGE, _FAULT_WRITE))
            return D.ERR_STORAGE_FAILED
        return 0

    # --- sending ------------------------------------------------------------------------

    def tick(self, now):
        if self._last is None:
            self._last = now
        self._credit += (now - self._last) * self.rate
        self._last = now
        cap = self.rate * 2 * _TICK_MS + self._wire  # no burst after an idle spell
        if self._credit > cap:
            self._credit = cap
        while self.jobs and self._credit >= self._wire:
            if not self._send_next():
                continue
            self._credit -= self._wire

    def _send_next(self):
        # one part of the first job; False when the job ended without sending
        job = self.jobs[0]
        tid, wanted, index = job[0], job[1], job[2]
        entry = self.files.get(tid)
        size = entry[2] if entry is not None else 0
        count = self.parts(size)
        total = count if wanted is None else len(wanted)
        if entry is None or index >= total:
            self._close()
            self.jobs.pop(0)
            return False
        if self._file is None:
            try:
                self._file = open(entry[0], "rb")
            except OSError:
                self._forget(tid)  # gone from flash: later resends get UNKNOWN_TRANSACTION
                return False
            if job[3]:
                self.events.emit(D.EVT_TRANSFER_STARTED, (tid, entry[1], size, count, entry[3]))
        part = index if wanted is None else wanted[index]
        job[2] = index + 1
        offset = part * self.part_size
        length = min(self.part_size, size - offset)
        buf = self.tm.buf
        pos = self.tm.payload_start()
        struct.pack_into(">HH", buf, pos, tid, part)
        pos += _PART_HDR
        self._file.seek(_STORE_HDR + offset)
        got = self._file.readinto(memoryview(buf)[pos : pos + length])
        if got != length:
            self._close()
            self._forget(tid)  # torn file: refuse it rather than send wrong octets
            self.events.emit(D.EVT_STORAGE_FAULT, (_STORE_LARGE, 1))
            return False
        if part == count - 1:
            key = D.TM_LARGE_LAST_PART
        elif part == 0:
            key = D.TM_LARGE_FIRST_PART
        else:
            key = D.TM_LARGE_INTERMEDIATE_PART
        n = self.tm.finish(self.apid, key, pos + length)
        self.send(buf, n)
        self.parts_sent += 1
        return True


def _hex(data):
    return "".join("%02x" % b for b in data)
