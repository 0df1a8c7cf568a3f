"""Power-loss kills during every kind of persisted write, on the MicroPython unix port.

The flight app runs as a SITL (ground.sitl.Sitl) with a state directory that plays its
flash. Each trial picks a kind of write, sends a burst of TCs that each make the board
write that store (pipelined: the board is writing while the next TCs arrive), kills the
process with SIGKILL at a random moment, reads the flash as it was left, reboots with the
same state directory and checks that the board answers again.

| kind     | the TCs                               | the store            | after the kill it must hold          |
|----------|----------------------------------------|----------------------|---------------------------------------|
| params   | param.set obc.clock_drift_ppm          | params.dat           | the value before the burst or one sent |
| replay   | pings, each SN a block past the last   | replay.dat           | a floor >= the floor before and >= every SN the board accepted |
| boot     | (the kill lands in the boot itself)   | boot.dat             | the count before or one more           |
| sched    | sched.insert of distinct activities   | sched.dat            | the table before, or after some of the inserts in order |
| eventlog | large.downlink_log (ST13 product 3)   | st13_*.dat           | every product file whole, its CRC the one in its name |
| safing   | fdir.clear_safing                     | safing.dat           | a whole record, reason none           |

"Never corrupt": a store that existed before the burst still loads (its file or its .bak
checks). The oracle here reads the files itself (magic, length, CRC-16), independently
of fsw.storage. `caught` counts kills that left a save half-done (a .tmp beside the store,
or a .bak without its file): the kills that really landed inside a write.
"""

import binascii
import os
import random
import signal
import struct
import tempfile
import threading
import time
from pathlib import Path

from ground import codec
from ground import dictionary as d
from ground.errors import MitraError
from ground.link import LinkError
from hil.campaign.report import Result
from hil.campaign.target import Target

KINDS = ("params", "replay", "boot", "sched", "eventlog", "safing")
STORE = {"params": "params.dat", "replay": "replay.dat", "boot": "boot.dat", "sched": "sched.dat", "safing": "safing.dat"}
BURST = 8  # TCs per trial, written back to back
KILL_WINDOW_S = 0.06  # until calibrate() measured it: a kill lands uniformly within a burst's time after it was written
BOOT_KILL_WINDOW_S = 0.4  # for "boot": after the process was started
BLOCK = 64  # SNs reserved per replay.dat write (fsw/security.py)
PARAM = d.PARAM_BY_NAME["obc.clock_drift_ppm"].id
SAFING_NONE = 0
_ACCEPT_OK = d.key("verification.acceptance_success")


# --- the oracle: fsw.storage's file format, read independently -----------------------------


def read_checked(path):
    """The data of one storage file, or None when missing, torn or corrupt."""
    try:
        raw = Path(path).read_bytes()
    except OSError:
        return None
    if len(raw) < 6:
        return None
    magic, length = struct.unpack_from(">HH", raw)
    if magic != 0x4D53 or length != len(raw) - 6:
        return None
    if binascii.crc_hqx(raw[:-2], 0xFFFF) != struct.unpack_from(">H", raw, len(raw) - 2)[0]:
        return None
    return raw[4:-2]


def load(state, name):
    """(data or None, where: "file", "bak", "missing" or "corrupt") as fsw.storage.load would read it."""
    data = read_checked(state / name)
    if data is not None:
        return data, "file"
    data = read_checked(state / (name + ".bak"))
    if data is not None:
        return data, "bak"
    exists = (state / name).exists() or (state / (name + ".bak")).exists()
    return None, "corrupt" if exists else "missing"


def caught(state, name):
    """A save of `name` was cut half-way: its .tmp is there, or its .bak without the file."""
    return (state / (name + ".tmp")).exists() or ((state / (name + ".bak")).exists() and not (state / name).exists())


def params_of(data):
    """{param ID: value} of a params.dat record; ValueError when it does not frame."""
    types = {p.id: p.type for p in d.PARAMS}
    fmt = {"u8": "B", "u16": "H", "u32": "I", "i8": "b", "i16": "h", "i32": "i", "f32": "f"}
    out, pos = {}, 0
    while pos < len(data):
        pid = struct.unpack_from(">H", data, pos)[0]
        pos += 2
        if pid not in types:
            raise ValueError("unknown parameter %d in params.dat" % pid)
        c = ">" + fmt[types[pid]]
        out[pid] = struct.unpack_from(c, data, pos)[0]
        pos += struct.calcsize(c)
    if pos != len(data):
        raise ValueError("params.dat does not end on a record")
    return out


def replay_floor(data, spi):
    for i in range(len(data) // 6):
        s, res = struct.unpack_from(">HI", data, i * 6)
        if s == spi:
            return res
    return 0


def sched_ids(data):
    """Request IDs of the activities in a sched.dat record; ValueError when it does not parse."""
    if len(data) < 2 or data[0] > 1:
        raise ValueError("sched.dat header")
    count, pos, ids = data[1], 2, []
    for _ in range(count):
        coarse, fine, size = struct.unpack_from(">IHH", data, pos)
        pos += 8
        tc = data[pos : pos + size]
        if len(tc) != size:
            raise ValueError("sched.dat activity cut short")
        codec.check(tc)  # LengthError / PecError
        ids.append(codec.request_id(tc))
        pos += size
    if pos != len(data):
        raise ValueError("sched.dat has %d octets after its activities" % (len(data) - pos))
    return ids


def st13_products(state):
    """Problems with the ST13 product files on flash (a list, empty when every one is whole)."""
    problems = []
    for p in sorted(state.glob("st13_*.dat")):
        data, where = load(state, p.name)
        crc = int(p.stem.split("_")[3], 16)
        if data is None:
            problems.append("%s: %s" % (p.name, where))
        elif binascii.crc_hqx(data, 0xFFFF) != crc:
            problems.append("%s: CRC 0x%04x, name says 0x%04x" % (p.name, binascii.crc_hqx(data, 0xFFFF), crc))
    return problems


# --- the campaign ----------------------------------------------------------------------------


class PowerCut:
    def __init__(self, target, rng, res):
        self.t = target
        self.sitl = target.sitl
        self.state = Path(self.sitl.state_dir)
        self.rng = rng
        self.res = res
        self.link = target.link()
        self.spi = self.link.key.spi
        self.rows = {k: res.row("kill -9 during %s writes: old or new, never corrupt" % k) for k in KINDS}
        self.floor_row = res.row("anti-replay floor never goes backwards, covers every accepted SN")
        self.caught = dict.fromkeys(KINDS, 0)
        self.floor = self._floor()
        self.boots = self._boots()
        self.seq = rng.randrange(0x4000)
        self.sched_seq = rng.randrange(0x4000)
        self.window = {k: KILL_WINDOW_S for k in KINDS}
        self.window["boot"] = BOOT_KILL_WINDOW_S

    # --- flash as left ---------------------------------------------------------------------

    def _floor(self):
        data, _ = load(self.state, "replay.dat")
        return replay_floor(data, self.spi) if data is not None else 0

    def _boots(self):
        data, _ = load(self.state, "boot.dat")
        return struct.unpack(">I", data)[0] if data is not None and len(data) == 4 else 0

    # --- the board -------------------------------------------------------------------------

    def _send(self, name, values=None):
        self.seq = (self.seq + 1) & 0x3FFF
        packet = codec.encode_command(d.command(name), values, seq_count=self.seq, ack_flags=0x9)
        sn = self.link.key.next_sn
        self.link.write_packet(packet)
        return sn, packet

    def _kill(self):
        pid = self.sitl.pid
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.sitl.wait(5)

    def _reboot(self):
        """Boot again with the same flash, the ground past the floor the board will start from."""
        self.sitl.restart()
        self.link.key.jump_past(self._floor())
        self.link.flush_input()
        self.link.serial.write(b"\x00")
        self.link.command("test.ping", timeout=10.0)

    def _accepted_sns(self, sent):
        """SNs of the burst's TCs that the board accepted before it died (their acceptance reports)."""
        got = set()
        end = time.monotonic() + 0.2
        while time.monotonic() < end:
            for p in self.link.read(0.05):
                if (p["service"], p["subtype"]) == _ACCEPT_OK:
                    got.add(p["data"]["request_id"])
        return [sn for sn, packet in sent if codec.request_id(packet) in got]

    # --- one trial ---------------------------------------------------------------------------

    def trial(self, kind):
        row = self.rows[kind]
        row.trials += 1
        state = self.state
        boots_before = self.boots
        before = {name: load(state, name) for name in STORE.values()}
        burst_values, sent = [], []
        if kind == "sched":
            ids = sched_ids(before["sched.dat"][0]) if before["sched.dat"][0] is not None else []
            if len(ids) > 16 - BURST:
                self.link.command("sched.reset", timeout=5.0)
                before["sched.dat"] = load(state, "sched.dat")
        if kind == "boot":
            self._kill_during_boot(self.rng.uniform(0.0, self.window["boot"]))
        else:
            sent, burst_values = self._burst(kind)
            time.sleep(self.rng.uniform(0.0, self.window[kind]))
            self._kill()
        accepted = self._accepted_sns(sent) if sent else []
        if kind in STORE and caught(state, STORE[kind]):
            self.caught[kind] += 1
        if kind == "eventlog" and list(state.glob("st13_*.tmp")):
            self.caught[kind] += 1
        problem = self._check(kind, before, burst_values, accepted, boots_before)
        if problem:
            row.fail(problem)
        if kind != "boot" or self.sitl.returncode is not None:
            try:
                self._reboot()
            except (LinkError, MitraError) as exc:
                row.fail("no answer after the reboot: %s" % exc)
                self._reboot()
        self.boots = self._boots()

    def _burst(self, kind):
        """Write BURST TCs that each make the board write the store of `kind`: (sent, values)."""
        sent, values = [], []
        floor0 = self.floor
        for i in range(BURST):
            if kind == "params":
                v = struct.unpack(">f", struct.pack(">f", self.rng.uniform(-400, 400)))[0]
                values.append(v)
                sent.append(self._send("param.set", {"params": [{"param_id": PARAM, "value": v}]}))
            elif kind == "replay":
                self.link.key.jump_past(max(self.link.key.next_sn - 1, floor0) + BLOCK)
                sent.append(self._send("test.ping"))
            elif kind == "sched":
                self.sched_seq = (self.sched_seq + 1) & 0x3FFF
                tc = codec.encode_command(d.command("test.ping"), seq_count=self.sched_seq)
                values.append(codec.request_id(tc))
                sent.append(self._send("sched.insert", {"coarse": 0xF0000000 + self.rng.randrange(1 << 24), "fine": 0, "tc": tc}))
            elif kind == "eventlog":
                sent.append(self._send("large.downlink_log"))
            else:
                sent.append(self._send("fdir.clear_safing"))
        return sent, values

    def calibrate(self):
        """How long a burst of each kind takes on this host (and a boot until boot.dat is written):
        the kills land uniformly within that, so they fall inside the writes, not after them."""
        for kind in KINDS:
            if kind == "boot":
                continue
            if kind == "sched":
                self.link.command("sched.reset", timeout=5.0)
            t0 = time.monotonic()
            sent, _ = self._burst(kind)
            want = {codec.request_id(p) for _, p in sent}
            while want and time.monotonic() - t0 < 10.0:
                for p in self.link.read(0.02):
                    if p["service"] == 1 and p["data"].get("request_id") in want and p["subtype"] in (7, 8):
                        want.discard(p["data"]["request_id"])
            self.window[kind] = time.monotonic() - t0
            self.floor = self._floor()
        if list(self.state.glob("sched.dat*")):
            self.link.command("sched.reset", timeout=5.0)
        path = self.state / "boot.dat"
        mtime = path.stat().st_mtime_ns if path.exists() else 0
        t0 = time.monotonic()
        done = {}

        def watch():
            while time.monotonic() - t0 < 5.0:
                if path.exists() and path.stat().st_mtime_ns != mtime:
                    done["t"] = time.monotonic() - t0
                    return
                time.sleep(0.002)

        th = threading.Thread(target=watch, daemon=True)
        th.start()
        self._reboot()
        th.join()
        self.window["boot"] = 2.0 * done.get("t", BOOT_KILL_WINDOW_S / 2)
        self.boots = self._boots()

    def _kill_during_boot(self, delay):
        from ground.sitl import SitlError

        old = self.sitl.pid

        def killer():
            end = time.monotonic() + 5
            while time.monotonic() < end:
                pid = self.sitl.pid
                if pid is not None and pid != old:
                    time.sleep(delay)
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    return
                time.sleep(0.001)

        th = threading.Thread(target=killer, daemon=True)
        th.start()
        try:
            self.sitl.restart(hard=True)
        except SitlError:
            pass  # killed within the start-up grace: the launcher says so
        th.join()
        self.sitl.wait(5)

    def _check(self, kind, before, burst_values, accepted, boots_before):
        state = self.state
        # every store that was whole before the kill is whole after it
        for name, (data, _) in before.items():
            if data is not None and load(state, name)[0] is None:
                return "%s: %s after the kill (it loaded before)" % (name, load(state, name)[1])
        problems = st13_products(state)
        if problems:
            return "ST13 products: %s" % "; ".join(problems)
        # the anti-replay floor (checked on every trial: every kill can land in its write)
        self.floor_row.trials += 1
        floor = self._floor()
        if floor < self.floor:
            self.floor_row.fail("floor went back from %d to %d (%s trial)" % (self.floor, floor, kind))
        elif accepted and floor < max(accepted):
            self.floor_row.fail("floor %d below SN %d the board accepted before the kill" % (floor, max(accepted)))
        self.floor = max(self.floor, floor)
        if kind == "params":
            data, where = load(state, "params.dat")
            try:
                value = params_of(data)[PARAM] if data is not None else 0.0
            except ValueError as exc:
                return "params.dat (%s): %s" % (where, exc)
            old = params_of(before["params.dat"][0]).get(PARAM, 0.0) if before["params.dat"][0] is not None else 0.0
            if value != old and value not in burst_values:
                return "clock_drift_ppm %r is neither the old %r nor one sent" % (value, old)
        elif kind == "sched":
            data, where = load(state, "sched.dat")
            try:
                ids = sched_ids(data) if data is not None else []
                old = sched_ids(before["sched.dat"][0]) if before["sched.dat"][0] is not None else []
            except (ValueError, MitraError) as exc:
                return "sched.dat (%s): %s" % (where, exc)
            done = len(ids) - len(old)  # the table is kept in release order: compare as sets
            if done < 0 or sorted(ids) != sorted(old + burst_values[:done]):
                return "schedule %s is not the old %s plus a prefix of the inserts %s" % (ids, old, burst_values)
        elif kind == "boot":
            data, where = load(state, "boot.dat")
            count = struct.unpack(">I", data)[0] if data is not None and len(data) == 4 else None
            if count not in (boots_before, boots_before + 1):
                return "boot count %r after %d (%s)" % (count, boots_before, where)
        elif kind == "safing":
            data, where = load(state, "safing.dat")
            if data is not None and (len(data) != 11 or data[0] != SAFING_NONE):
                return "safing.dat (%s) holds %s" % (where, data.hex())
        return None


def run(trials=12, seed=0, runtime="micropython"):
    res = Result("powercut", "Power-loss kills (SIGKILL) during every kind of persisted write")
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="mitra-powercut-") as tmp, Target(runtime=runtime, state_dir=tmp) as target:
        pc = PowerCut(target, rng, res)
        try:
            # a first product and safing record, so their stores exist before the first kill
            pc.link.command("large.downlink_log", timeout=5.0)
            pc.link.command("fdir.clear_safing", timeout=5.0)
            pc.calibrate()
            for i in range(trials):
                pc.trial(KINDS[i % len(KINDS)])
        finally:
            pc.link.close()
        for k in KINDS:
            pc.rows[k].figures = "%d of %d kills caught a save half-done" % (pc.caught[k], pc.rows[k].trials)
        pc.floor_row.figures = "floor %d after %d boots" % (pc.floor, pc.boots)
        res.notes.append("target: %s; %d TCs per burst, each kill uniformly within the time a burst of its kind took (%s; "
                         "boot: twice the time to boot.dat's write)" % (target.name, BURST, ", ".join(
                             "%s %.0f ms" % (k, 1000 * pc.window[k]) for k in KINDS)))
    return res
