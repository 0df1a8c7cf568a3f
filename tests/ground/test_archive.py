"""The mission archive (ground/archive.py): round trip, derived tables, replay, and a kill -9 of a
busy writer leaving a readable file."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from ground import archive, codec
from ground import dictionary as d

EVT = d.EVENT_BY_NAME
OBC_HK = d.HK_BY_NAME["obc"]


def _hk(coarse, uptime):
    params = {f.name: 0 for f in OBC_HK.fields}
    params.update(uptime=uptime, heap_free=1000 + uptime)
    return codec.encode_tm(3, 25, {"sid": OBC_HK.sid, "params": params}, coarse=coarse, fine=32768)


def _event(coarse, boot_count):
    return codec.encode_tm(5, 1, {"event_id": EVT["boot"].id, "aux": {"boot_count": boot_count, "cause": 2}}, coarse=coarse)


def _report(subtype, tc, coarse, error=None):
    data = {"request_id": codec.request_id(tc)}
    if error is not None:
        data["error"] = error
    return codec.encode_tm(1, subtype, data, coarse=coarse)


def _pass(rec):
    """A short pass: a TC accepted and completed, one refused, HK, an event, a corrupt frame."""
    ping = codec.encode_command(d.command("test.ping"), {}, seq_count=7)
    bad = codec.encode_command(d.command("param.get"), {"param_ids": [{"param_id": 9999}]}, seq_count=8)
    rec.up(ping, ground_time=100.0)
    rec.down(_report(1, ping, 10), ground_time=100.1)
    rec.down(_report(7, ping, 10), ground_time=100.2)
    rec.up(bad, ground_time=101.0)
    rec.down(_report(2, bad, 11, error=d.ERROR_BY_NAME["UNKNOWN_PARAMETER"]), ground_time=101.1)
    for i in range(5):
        rec.down(_hk(12 + i, 50 + i), ground_time=102.0 + i)
    rec.down(_event(20, 3), ground_time=110.0)
    corrupt = bytearray(_hk(21, 60))
    corrupt[-1] ^= 0xFF  # PEC no longer checks
    rec.down(bytes(corrupt), ground_time=111.0)
    return ping, bad


def test_archive_round_trip_derived_tables_and_outcomes(tmp_path):
    path = archive.mission_path("demo-1", root=tmp_path)
    with archive.Recorder(path, port="/dev/pts/9", vehicle="rover") as rec:
        ping, bad = _pass(rec)
        assert rec.errors == 1
    with archive.Archive(path) as a:
        (s,) = a.sessions()
        assert (s["port"], s["vehicle"], s["frames"], s["bad"]) == ("/dev/pts/9", "rover", 12, 1)
        assert s["ended"] is not None
        rows = a.packets()
        assert [r["direction"] for r in rows] == ["up", "down", "down", "up"] + ["down"] * 8
        assert rows[-1]["packet"] is None and "PEC" in rows[-1]["error"].upper()
        assert rows[0]["packet"]["name"] == "test.ping"
        assert a.values("obc", "uptime") == [(12 + i + 0.5, 50.0 + i) for i in range(5)]
        (ev,) = a.events()
        assert (ev["name"], ev["obt"], ev["aux"]) == ("boot", 20.0, {"boot_count": 3, "cause": 2})
        outcomes = a.outcomes()
        assert [(o["name"], o["reports"]) for o in outcomes] == [
            ("test.ping", [("verification.acceptance_success", None), ("verification.completion_success", None)]),
            ("param.get", [("verification.acceptance_failure", d.ERROR_BY_NAME["UNKNOWN_PARAMETER"])]),
        ]
        assert outcomes[0]["request_id"] == codec.request_id(ping)
        # a time range
        assert [r["ground_time"] for r in a.packets(start=103.0, end=105.0)] == [103.0, 104.0, 105.0]


def test_replay_decodes_the_stored_frames_as_the_live_decode_did(tmp_path):
    path = tmp_path / "m.sqlite"
    with archive.Recorder(path) as rec:
        _pass(rec)
    with archive.Archive(path) as a:
        live = a.packets()
        again = a.replay()
    assert len(live) == len(again) == 12
    for row, (fid, t, direction, p) in zip(live, again):
        assert (row["frame"], row["ground_time"], row["direction"]) == (fid, t, direction)
        if row["packet"] is None:
            assert isinstance(p, str) and p == row["error"]
        else:
            assert codec.plain(p["data"]) == row["packet"]["data"] and p["name"] == row["packet"]["name"]


def test_sessions_append_to_one_mission_file(tmp_path):
    path = tmp_path / "m.sqlite"
    for port in ("a", "b"):
        with archive.Recorder(path, port=port) as rec:
            rec.down(_hk(1, 1))
    with archive.Archive(path) as a:
        assert [(s["id"], s["port"], s["frames"]) for s in a.sessions()] == [(1, "a", 1), (2, "b", 1)]
        assert len(a.packets(session=2)) == 1


def test_bad_archive_paths_and_names_are_clear_errors(tmp_path):
    with pytest.raises(archive.ArchiveError, match="no archive at"):
        archive.Archive(tmp_path / "none.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(archive.ArchiveError, match="not a mitra archive"):
        archive.Archive(junk)
    for name in ("", "../x", "a/b", ".hidden"):
        with pytest.raises(archive.ArchiveError, match="mission name"):
            archive.mission_path(name, root=tmp_path)


_WRITER = r"""
import sys
sys.path.insert(0, %(root)r)
from ground import archive, codec
from ground import dictionary as d
hk = d.HK_BY_NAME["obc"]
rec = archive.Recorder(sys.argv[1], batch_rows=64, batch_s=0.05)
n = 0
print("ready", flush=True)
while True:
    params = {f.name: n for f in hk.fields}
    rec.down(codec.encode_tm(3, 25, {"sid": hk.sid, "params": params}, coarse=n))
    n += 1
"""


@pytest.mark.parametrize("trial", range(8))
def test_kill_9_during_a_busy_downlink_leaves_a_readable_archive(tmp_path, trial):
    path = tmp_path / "m.sqlite"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen([sys.executable, "-c", _WRITER % {"root": root}, str(path)], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    time.sleep(0.2 + 0.13 * trial)  # a different moment of the write each trial
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    db = sqlite3.connect(str(path))
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()
    with archive.Archive(path) as a:
        rows = a.packets()
        assert rows, "nothing committed in the first 0.2 s"
        # what was committed is whole: each frame with its decode, the values in order
        assert all(r["packet"] is not None for r in rows)
        uptimes = [v for _, v in a.values("obc", "uptime")]
        assert uptimes == [float(i) for i in range(len(rows))]
