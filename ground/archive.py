"""The mission archive: every frame and packet a ground link sends or receives, in SQLite.

One file per mission, `$MITRA_HOME/archive/<mission>.sqlite` (WAL journal, synchronous NORMAL):
a kill at any moment leaves a readable file and loses at most the batch not yet committed
(`BATCH_ROWS` packets or `BATCH_S` seconds, whichever comes first). Tables:

  sessions      one row per opened link: port, vehicle, start and end (ground time, UTC s)
  frames        the raw octets of each packet (downlink: the body between COBS delimiters as
                received, before the security layer; uplink: the TC packet before sealing),
                direction, ground time, and the decode error when it did not decode
  packets       the decoded header of each good frame: APID, type, service, subtype, sequence
                count, on-board time (TM), dictionary name, and the payload as JSON
  events        ST5 reports: event ID and name, severity, aux as JSON
  values        housekeeping values, one row per field of each HK report (structure, field, value)
  verification  ST1 reports with the request ID they answer, so `outcomes()` joins each TC
                to its acceptance, start and completion

The raw frame is the record; every other table is derived from it, so `replay` decodes the
frames again with today's dictionary and must agree with what was stored live.
"""

import json
import sqlite3
import time
from pathlib import Path

from ground import codec
from ground import dictionary as d
from ground.errors import MitraError
from ground.keys import mitra_home

BATCH_ROWS = 256
BATCH_S = 0.5
LOCK_WAIT_S = 10.0  # how long a writer waits for another's write lock (a batch: at most BATCH_S) before giving up
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY, port TEXT, vehicle TEXT, started REAL NOT NULL, ended REAL);
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY, session INTEGER NOT NULL, ground_time REAL NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('up', 'down')), raw BLOB NOT NULL, error TEXT);
CREATE TABLE IF NOT EXISTS packets (
    frame INTEGER PRIMARY KEY REFERENCES frames(id), session INTEGER NOT NULL, ground_time REAL NOT NULL,
    direction TEXT NOT NULL, apid INTEGER NOT NULL, type TEXT NOT NULL, service INTEGER, subtype INTEGER,
    seq_count INTEGER NOT NULL, obt REAL, name TEXT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    frame INTEGER PRIMARY KEY REFERENCES frames(id), obt REAL, event_id INTEGER NOT NULL, name TEXT,
    severity INTEGER NOT NULL, aux TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS "values" (
    frame INTEGER NOT NULL REFERENCES frames(id), obt REAL, structure TEXT NOT NULL, field TEXT NOT NULL,
    value REAL);
CREATE TABLE IF NOT EXISTS verification (
    frame INTEGER PRIMARY KEY REFERENCES frames(id), obt REAL, request_id INTEGER NOT NULL,
    report TEXT NOT NULL, error INTEGER);
CREATE INDEX IF NOT EXISTS packets_by_time ON packets (session, ground_time);
CREATE INDEX IF NOT EXISTS values_by_name ON "values" (structure, field, obt);
CREATE INDEX IF NOT EXISTS verification_by_request ON verification (request_id);
"""


class ArchiveError(MitraError):
    """The archive file cannot be opened or is not a mitra archive."""


_BUSY = "%s: %s: another program kept the archive's write lock longer than we wait for it"


def default_root():
    """`$MITRA_HOME/archive`, default `~/.local/share/mitra/archive`."""
    return mitra_home() / "archive"


def mission_path(mission, root=None):
    """The archive file of a mission name (letters, digits, `._-`)."""
    if not mission or not all(c.isalnum() or c in "._-" for c in mission) or mission[0] in ".-":
        raise ArchiveError("mission name %r: use letters, digits, '.', '_' or '-'" % (mission,))
    return Path(root if root is not None else default_root()) / ("%s.sqlite" % mission)


def _connect(path, create):
    path = Path(path)
    if not create and not path.is_file():
        raise ArchiveError("no archive at %s" % path)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        db = sqlite3.connect(str(path), timeout=LOCK_WAIT_S, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        if create:
            db.executescript(_SCHEMA)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise ArchiveError(_BUSY % (path, exc)) from None
        raise ArchiveError("%s is not a mitra archive (%s)" % (path, exc)) from None
    except sqlite3.DatabaseError as exc:
        raise ArchiveError("%s is not a mitra archive (%s)" % (path, exc)) from None
    if row is None or row[0] != str(SCHEMA_VERSION):
        db.close()
        raise ArchiveError("%s has archive schema %s; this ground reads %d" % (path, row and row[0], SCHEMA_VERSION))
    return db


def _json(obj):
    # payloads hold bytes (ST13 parts, blobs) besides numbers and text: stored as hex
    return json.dumps(obj, sort_keys=True, default=lambda o: o.hex() if isinstance(o, (bytes, bytearray)) else str(o))


_FUNCTION_NAMES = {c.function.id: name for name, c in d.COMMANDS.items() if c.function is not None}


def _name(p):
    # the CLI's name of a TC: an ST8 function goes by its own (rover_drill.drill), not function.perform
    if p["type"] == "tc" and p.get("service") == 8 and isinstance(p.get("data"), dict):
        return _FUNCTION_NAMES.get(p["data"].get("function_id"), p.get("name"))
    return p.get("name")


def _obt(p):
    t = p.get("time")
    return t["coarse"] + t["fine"] / 65536.0 if t else None


class Recorder:
    """Writes one session of a link into an archive, in batched transactions.

    `down(body)` and `up(packet)` take the raw octets and, when the caller decoded them
    already (GroundLink.read does), the decode: the packet dict or the MitraError it raised,
    so no frame is decoded twice; without it the decode happens here. A decode failure is
    stored with its error, never dropped."""

    def __init__(self, path, port=None, vehicle=None, batch_rows=BATCH_ROWS, batch_s=BATCH_S):
        self.path = Path(path)
        self.db = _connect(self.path, create=True)
        self.batch_rows = batch_rows
        self.batch_s = batch_s
        self.rows = 0
        self._open = False
        self._since = time.monotonic()
        try:
            cur = self.db.execute("INSERT INTO sessions (port, vehicle, started) VALUES (?, ?, ?)", (port, vehicle, time.time()))
        except sqlite3.OperationalError as exc:
            self.db.close()
            raise ArchiveError(_BUSY % (self.path, exc)) from None
        self.session = cur.lastrowid
        self.errors = 0

    # --- recording --------------------------------------------------------------------

    def down(self, body, decoded=None, ground_time=None):
        """One downlink frame body (as the COBS splitter gave it). Returns the decoded packet or None."""
        return self._record("down", bytes(body), decoded, ground_time)

    def up(self, packet, decoded=None, ground_time=None):
        """One uplink TC packet (before sealing)."""
        return self._record("up", bytes(packet), decoded, ground_time)

    def _record(self, direction, raw, decoded, ground_time):
        now = time.time() if ground_time is None else ground_time
        if decoded is None:
            try:
                decoded = codec.decode(raw)
            except MitraError as exc:
                decoded = exc
        if isinstance(decoded, MitraError):
            p, error = None, str(decoded)
            self.errors += 1
        else:
            p, error = decoded, None
        try:
            self._begin()
            db = self.db
            cur = db.execute("INSERT INTO frames (session, ground_time, direction, raw, error) VALUES (?, ?, ?, ?, ?)",
                             (self.session, now, direction, raw, error))
            fid = cur.lastrowid
            if p is not None:
                self._derive(fid, now, direction, p)
            self.rows += 1
            if self.rows >= self.batch_rows or time.monotonic() - self._since >= self.batch_s:
                self.commit()
        except sqlite3.OperationalError as exc:
            raise ArchiveError(_BUSY % (self.path, exc)) from None
        return p

    def _derive(self, fid, now, direction, p):
        db = self.db
        obt = _obt(p)
        data = p.get("data", {})
        db.execute("INSERT INTO packets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (fid, self.session, now, direction, p["apid"], p["type"], p.get("service"), p.get("subtype"),
                    p["seq_count"], obt, _name(p), _json(data)))
        if p["type"] != "tm":
            return
        service = p.get("service")
        if service == 5 and "event_id" in data:
            ev = d.EVENT_BY_ID.get(data["event_id"])
            db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                       (fid, obt, data["event_id"], ev.name if ev else None, p["subtype"], _json(data.get("aux"))))
        elif service == 1 and "request_id" in data:
            db.execute("INSERT INTO verification VALUES (?, ?, ?, ?, ?)",
                       (fid, obt, data["request_id"], p.get("name"), data.get("error")))
        elif p.get("name") == "hk.report" and isinstance(data.get("params"), dict):
            hk = d.HK_BY_SID.get(data.get("sid"))
            structure = hk.name if hk is not None else str(data.get("sid"))
            db.executemany('INSERT INTO "values" VALUES (?, ?, ?, ?, ?)',
                           [(fid, obt, structure, k, v) for k, v in data["params"].items() if isinstance(v, (int, float))])

    def _begin(self):
        if not self._open:
            self.db.execute("BEGIN")
            self._open = True
            self._since = time.monotonic()

    def commit_if_due(self):
        """Commit the open batch once it is `batch_s` old. A batch holds the archive's write lock until
        it is committed, and `_record` commits only when the next frame comes: a link that reads
        calls this after each read, so a quiet link never keeps other writers (another `ground`
        command on the same mission) waiting longer than a batch."""
        if self._open and time.monotonic() - self._since >= self.batch_s:
            self.commit()

    def commit(self):
        """Make everything recorded so far durable."""
        if self._open:
            self.db.execute("COMMIT")
            self._open = False
        self.rows = 0
        self._since = time.monotonic()

    def close(self):
        try:
            self.commit()
            self.db.execute("UPDATE sessions SET ended = ? WHERE id = ?", (time.time(), self.session))
        except sqlite3.OperationalError as exc:
            raise ArchiveError(_BUSY % (self.path, exc)) from None
        finally:
            self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Archive:
    """Reading an archive: sessions, packets in a time range, values, outcomes, replay."""

    def __init__(self, path):
        self.path = Path(path)
        self.db = _connect(self.path, create=False)

    def close(self):
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def sessions(self):
        """[{id, port, vehicle, started, ended, frames, bad}] oldest first."""
        rows = self.db.execute(
            "SELECT s.id, s.port, s.vehicle, s.started, s.ended, COUNT(f.id), SUM(f.error IS NOT NULL) "
            "FROM sessions s LEFT JOIN frames f ON f.session = s.id GROUP BY s.id ORDER BY s.id").fetchall()
        keys = ("id", "port", "vehicle", "started", "ended", "frames", "bad")
        return [dict(zip(keys, (*r[:6], r[6] or 0))) for r in rows]

    def _range(self, session, start, end):
        where, args = [], []
        if session is not None:
            where.append("f.session = ?")
            args.append(session)
        if start is not None:
            where.append("f.ground_time >= ?")
            args.append(start)
        if end is not None:
            where.append("f.ground_time <= ?")
            args.append(end)
        return (" WHERE " + " AND ".join(where)) if where else "", args

    def packets(self, session=None, start=None, end=None):
        """Stored decodes: [{frame, ground_time, direction, error, packet (dict or None)}] in order."""
        where, args = self._range(session, start, end)
        rows = self.db.execute(
            "SELECT f.id, f.ground_time, f.direction, f.error, p.apid, p.type, p.service, p.subtype, p.seq_count, "
            "p.obt, p.name, p.data FROM frames f LEFT JOIN packets p ON p.frame = f.id" + where + " ORDER BY f.id",
            args).fetchall()
        out = []
        for fid, t, direction, error, apid, ptype, service, subtype, seq, obt, name, data in rows:
            packet = None
            if apid is not None:
                packet = {"apid": apid, "type": ptype, "service": service, "subtype": subtype, "seq_count": seq,
                          "obt": obt, "name": name, "data": json.loads(data)}
            out.append({"frame": fid, "ground_time": t, "direction": direction, "error": error, "packet": packet})
        return out

    def replay(self, session=None, start=None, end=None, services=None):
        """Decode the stored frames again: [(frame id, ground time, direction, packet dict or error str)].
        `services`: only the frames stored as packets of these PUS services (e.g. (5, 13) for ST13 transfers)."""
        where, args = self._range(session, start, end)
        join = ""
        if services is not None:
            services = list(services)
            join = " JOIN packets p ON p.frame = f.id"
            where = (where + " AND " if where else " WHERE ") + "p.service IN (%s)" % ", ".join("?" * len(services))
            args = [*args, *services]
        out = []
        for fid, t, direction, raw in self.db.execute(
                "SELECT f.id, f.ground_time, f.direction, f.raw FROM frames f" + join + where + " ORDER BY f.id", args):
            try:
                out.append((fid, t, direction, codec.decode(raw)))
            except MitraError as exc:
                out.append((fid, t, direction, str(exc)))
        return out

    def values(self, structure, field, session=None, start=None, end=None):
        """[(on-board time, value)] of one HK field, in arrival order."""
        return [(obt, v) for _, obt, v in self.series(structure, field, None if session is None else [session], start, end)]

    def has_frames(self, session=None, start=None, end=None):
        """Whether any frame lies in the selection."""
        where, args = self._range(session, start, end)
        return self.db.execute("SELECT 1 FROM frames f" + where + " LIMIT 1", args).fetchone() is not None

    def series(self, structure, field, sessions=None, start=None, end=None):
        """[(session, on-board time, value)] of one HK field, in arrival order; `sessions`: ids or None (all)."""
        where, args = self._range(None, start, end)
        where = (where + " AND " if where else " WHERE ") + "v.structure = ? AND v.field = ?"
        args = [*args, structure, field]
        if sessions is not None:
            sessions = list(sessions)
            where += " AND f.session IN (%s)" % ", ".join("?" * len(sessions))
            args += sessions
        return self.db.execute(
            'SELECT f.session, v.obt, v.value FROM "values" v JOIN frames f ON f.id = v.frame' + where + " ORDER BY v.frame",
            args).fetchall()

    def events(self, session=None, start=None, end=None):
        where, args = self._range(session, start, end)
        rows = self.db.execute(
            "SELECT e.frame, e.obt, e.event_id, e.name, e.severity, e.aux FROM events e JOIN frames f ON f.id = e.frame"
            + where + " ORDER BY e.frame", args).fetchall()
        return [{"frame": r[0], "obt": r[1], "event_id": r[2], "name": r[3], "severity": r[4], "aux": json.loads(r[5])}
                for r in rows]

    def outcomes(self, session=None, start=None, end=None):
        """Each uplinked TC with its ST1 reports: [{frame, session, ground_time, name, request_id,
        reports: [(report, error)]}]; `start`/`end` select the TCs by the time they were sent.

        A report answers the latest TC sent before it with its request ID (sequence counts wrap,
        so the same ID can return later in a long archive)."""
        where, args = self._range(session, start, end)
        ups = self.db.execute(
            "SELECT f.id, f.session, f.ground_time, p.name, f.raw FROM frames f JOIN packets p ON p.frame = f.id"
            + (where + " AND" if where else " WHERE") + " f.direction = 'up' ORDER BY f.id", args).fetchall()
        out = [{"frame": fid, "session": sid, "ground_time": t, "name": name, "request_id": codec.request_id(raw), "reports": []}
               for fid, sid, t, name, raw in ups]
        where, args = self._range(session, start, None)  # a report may come after `end`, never before its TC
        by_request = {}
        for item in out:
            by_request.setdefault(item["request_id"], []).append(item)
        for frame, rid, report, error in self.db.execute(
                "SELECT v.frame, v.request_id, v.report, v.error FROM verification v JOIN frames f ON f.id = v.frame"
                + where + " ORDER BY v.frame", args):
            sent = [i for i in by_request.get(rid, ()) if i["frame"] < frame]
            if sent:
                sent[-1]["reports"].append((report, error))
        return out
