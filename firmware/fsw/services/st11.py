# ST11 time-based scheduling (ECSS-E-ST-70-41C 6.11) on the OBC APID: a table of
# time-tagged TCs. TC 11.4 inserts one (CUC release time + a whole TC packet),
# 11.5 deletes by request ID, 11.3 resets, 11.1/11.2 enable/disable release,
# 11.16 asks for TM 11.13 (request IDs and release times, by release time).
# A summary that would not fit one frame is refused with REPLY_TOO_LONG, not
# split (it is one snapshot of the table); at CAPACITY 16 it fits every board's
# frame (tests/firmware/test_reply_sizes.py), so the refusal is only a guard.
#
# Release: tick(now) from the OBC's schedule loop hands each due TC to the
# dispatcher exactly as if it came from the ground (its ST1 reports go to the
# ground), after a sched_released event.
#
# Time: on-board CUC (coarse s, fine 2^-16 s), integers only. After a reboot the
# clock restarts at the epoch until the ground sets it (TC 9.128), so nothing is
# released until `clock.synced`: comparing release times with an unset clock
# would release everything at the wrong time or nothing at all. The first tick
# with release enabled and the clock set "arms" the schedule: every activity
# already due then fell due while the board was off, the clock unset or release
# disabled, so it is reported with sched_missed and deleted, never run. The same
# happens when TC 11.1 enables release again. A later time set (clock already
# set, schedule armed) is not a re-arm: what falls due in a forward jump is
# released in order.
#
# Persistence: every change is saved to sched.dat through fsw.storage (temp +
# rename, CRC, .bak) before it takes effect in memory, so a failed write fails
# the TC with STORAGE_FAILED and changes nothing. Record: enabled u8 | count u8 |
# per activity: coarse u32 | fine u16 | length u16 | TC octets.
import os
import struct
from micropython import const

from fsw import dictionary as D
from fsw import packet
from fsw import storage

STORE = "sched.dat"
CAPACITY = const(16)  # activities in the table
MAX_OCTETS = const(4096)  # octets of embedded TCs in the table (heap and flash budget)
_STORE_SCHED = const(4)  # storage_fault store number
_FAULT_WRITE = const(2)
_SUMMARY_ITEM = const(10)  # request ID u32 + CUC 6


def _due(coarse, fine, now_coarse, now_fine):
    return coarse < now_coarse or (coarse == now_coarse and fine <= now_fine)


class Schedule:
    def __init__(self, apid, tm, send, clock, dispatcher, events, store=STORE):
        self.apid = apid
        self.tm = tm
        self.send = send
        self.clock = clock
        self.dispatcher = dispatcher
        self.events = events
        self.store = store
        self.entries = []  # (coarse, fine, request_id, tc bytes), by release time
        self.enabled = True
        self.armed = False  # see the header: set once release may run against a set clock
        self.load_fault = False

    def register(self, dispatcher):
        dispatcher.register(D.TC_SCHED_ENABLE, self.enable)
        dispatcher.register(D.TC_SCHED_DISABLE, self.disable)
        dispatcher.register(D.TC_SCHED_RESET, self.reset)
        dispatcher.register(D.TC_SCHED_INSERT, self.insert, self.check_insert)
        dispatcher.register(D.TC_SCHED_DELETE, self.delete, self.check_delete)
        dispatcher.register(D.TC_SCHED_SUMMARY, self.summary)

    # --- flash ---------------------------------------------------------------------

    def load(self):
        # The table from flash. Missing: empty and enabled. Unreadable (both copies
        # bad) or a record that does not check: keep what checked, set load_fault.
        raw = storage.load(self.store)
        if raw is None:
            self.load_fault = _exists(self.store) or _exists(self.store + ".bak")
            return
        n = len(raw)
        if n < 2:
            self.load_fault = True
            return
        self.enabled = raw[0] == 1
        count = raw[1]
        pos = 2
        entries = []
        for _ in range(count):
            if pos + 8 > n:
                break
            coarse, fine, size = struct.unpack_from(">IHH", raw, pos)
            pos += 8
            if pos + size > n:
                break
            tc = bytes(raw[pos : pos + size])
            pos += size
            if _check_tc(tc):
                break
            entries.append((coarse, fine, _request_id(tc), tc))
        if len(entries) != count or pos != n or raw[0] > 1:
            self.load_fault = True
        self.entries = entries  # saved in release order

    def _save(self, enabled, entries):
        size = 2
        for e in entries:
            size += 8 + len(e[3])
        buf = bytearray(size)
        buf[0] = 1 if enabled else 0
        buf[1] = len(entries)
        pos = 2
        for coarse, fine, _, tc in entries:
            struct.pack_into(">IHH", buf, pos, coarse, fine, len(tc))
            pos += 8
            buf[pos : pos + len(tc)] = tc
            pos += len(tc)
        storage.save(self.store, buf)

    def _commit(self, enabled, entries):
        # persist, then take effect: 0, or STORAGE_FAILED with nothing changed
        try:
            self._save(enabled, entries)
        except OSError:
            return D.ERR_STORAGE_FAILED
        self.enabled = enabled
        self.entries = entries
        if not enabled:
            self.armed = False
        return 0

    # --- TCs -----------------------------------------------------------------------

    def check_insert(self, args):
        coarse, fine, tc = args
        code = _check_tc(tc)
        if code:
            return code
        rid = _request_id(tc)
        octets = len(tc)
        for e in self.entries:
            if e[2] == rid:
                return D.ERR_ARG_OUT_OF_RANGE  # request IDs name activities: one each
            octets += len(e[3])
        if len(self.entries) >= CAPACITY or octets > MAX_OCTETS:
            return D.ERR_TABLE_FULL
        now_coarse, now_fine = self.clock.cuc()
        if _due(coarse, fine, now_coarse, now_fine):
            return D.ERR_TIME_PASSED
        return 0

    def insert(self, args):
        coarse, fine, tc = args
        tc = bytes(tc)  # args[2] is a view of the link's buffer
        entries = self.entries[:]
        i = 0
        while i < len(entries) and _due(entries[i][0], entries[i][1], coarse, fine):
            i += 1  # after those due at or before it: equal times release in insert order
        entries.insert(i, (coarse, fine, _request_id(tc), tc))
        return self._commit(self.enabled, entries)

    def check_delete(self, args):
        ids = args[0]
        for (rid,) in ids:
            if self._find(rid) < 0:
                return D.ERR_UNKNOWN_REQUEST
        return 0

    def delete(self, args):
        gone = set(rid for (rid,) in args[0])
        return self._commit(self.enabled, [e for e in self.entries if e[2] not in gone])

    def reset(self, _args):
        return self._commit(False, [])

    def disable(self, _args):
        return self._commit(False, self.entries)

    def enable(self, _args):
        # what fell due while disabled is reported now, not run
        if not self.clock.synced:
            return self._commit(True, self.entries)
        coarse, fine = self.clock.cuc()
        missed, kept = self._split(coarse, fine)
        code = self._commit(True, kept)
        if code:
            return code
        self._report_missed(missed, coarse)
        self.armed = True
        return 0

    def summary(self, _args):
        n = len(self.entries)
        if 1 + 1 + n * _SUMMARY_ITEM > len(self.tm.buf) - self.tm.payload_start() - packet.PEC_LEN:
            return D.ERR_REPLY_TOO_LONG
        items = [(e[2], e[0], e[1]) for e in self.entries]
        size = self.tm.build(self.apid, D.TM_SCHED_SUMMARY_REPORT, (1 if self.enabled else 0, items))
        self.send(self.tm.buf, size)
        return 0

    # --- release -------------------------------------------------------------------

    def tick(self, now):
        # now: on-board CUC (coarse, fine)
        if not self.enabled or not self.clock.synced:
            self.armed = False
            return
        coarse, fine = now
        if not self.armed:
            self.armed = True
            missed, kept = self._split(coarse, fine)
            if missed:
                self._persist(kept)
                self._report_missed(missed, coarse)
            return
        entries = self.entries
        while entries and _due(entries[0][0], entries[0][1], coarse, fine):
            # out of the table (and flash) before it runs: a power cut in between loses
            # it rather than running it twice; a released TC may change the table itself
            entry = entries[0]
            self._persist(entries[1:])
            self.events.emit(D.EVT_SCHED_RELEASED, (entry[2],))
            tc = entry[3]
            self.dispatcher.handle(tc, 0, len(tc))
            entries = self.entries
            if not self.enabled:
                return  # the released TC disabled release

    def _persist(self, entries):
        # a change the board makes by itself: takes effect even if flash fails (said by event)
        try:
            self._save(self.enabled, entries)
        except OSError:
            self.events.emit(D.EVT_STORAGE_FAULT, (_STORE_SCHED, _FAULT_WRITE))
        self.entries = entries

    def _split(self, coarse, fine):
        missed = []
        kept = []
        for e in self.entries:
            (missed if _due(e[0], e[1], coarse, fine) else kept).append(e)
        return missed, kept

    def _report_missed(self, missed, now_coarse):
        for e in missed:
            self.events.emit(D.EVT_SCHED_MISSED, (e[2], e[0], now_coarse))

    def _find(self, rid):
        for i in range(len(self.entries)):
            if self.entries[i][2] == rid:
                return i
        return -1



def _request_id(tc):
    return struct.unpack_from(">I", tc, 0)[0]


def _check_tc(tc):
    # 0 when `tc` is one whole, valid TC packet: length field, PEC, TC type with a
    # PUS-C secondary header; else the code that refuses it
    n = len(tc)
    if n < packet.TC_MIN_LEN:
        return D.ERR_BAD_LENGTH
    verdict = packet.check(tc, 0, n)
    if verdict == packet.BAD_LENGTH:
        return D.ERR_BAD_LENGTH
    if verdict:
        return D.ERR_ARG_OUT_OF_RANGE  # PEC
    if tc[0] & 0x18 != 0x18 or tc[0] >> 5 or tc[6] >> 4 != D.PUS_VERSION:
        return D.ERR_ARG_OUT_OF_RANGE  # not a TC with a secondary header, or not PUS-C
    return 0


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False
