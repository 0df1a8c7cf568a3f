"""Every `ground` command that opens a link (`send`, `tlm`, `fetch`) records its session into the
mission's archive (`--mission`, default `default`) unless `--no-archive`; what it recorded is
what it printed, and `ground plot` / `ground report` read it back (a short SITL session). A quiet
link does not keep the archive's write lock from another command on the same mission."""

import json
import os
import sqlite3
import time
import tty

import pytest

from ground import archive, codec
from ground.archive_cli import ArchivedLink
from ground.cli import main
from ground.framing import frame


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), (argv, err)
    return out


def _json_lines(out):
    return [json.loads(line) for line in out.splitlines()]


def test_send_tlm_and_fetch_record_their_sessions_and_plot_and_report_read_them(flight, tmp_path, capsys):
    link = ["--port", flight.port, "--key", flight.key_name, "--json"]
    _run(capsys, "send", *link, "--mission", "pass-1", "hk.change_interval", "1:200")  # obc HK every 0.2 s
    printed = _json_lines(_run(capsys, "tlm", *link, "--mission", "pass-1", "--count", "8"))
    started = [p for p in _json_lines(_run(capsys, "send", *link, "--no-archive", "large.downlink_log"))
               if p["data"].get("aux", {}).get("transaction") is not None]
    tid = started[0]["data"]["aux"]["transaction"]
    fetched = tmp_path / "fetched"
    product = _run(capsys, "fetch", *link, "--mission", "pass-1", "--transaction", str(tid), "-o", str(fetched)).strip()

    with archive.Archive(archive.mission_path("pass-1")) as a:
        sessions = a.sessions()
        # send, tlm, fetch: the --no-archive send left nothing
        assert [(s["id"], s["port"], s["bad"]) for s in sessions] == [(1, flight.port, 0), (2, flight.port, 0), (3, flight.port, 0)]
        assert all(s["ended"] is not None for s in sessions)  # each command closed its session
        outcomes = a.outcomes()
        assert [(o["session"], o["name"], o["reports"][-1][0]) for o in outcomes] == [
            (1, "hk.change_interval", "verification.completion_success"), (3, "large.resend", "verification.completion_success")]
        # tlm recorded what it printed (idle fill aside), maybe a few packets more from its last read
        rows = [r for r in a.packets(session=2) if r["packet"]["apid"] != codec.IDLE_APID]
        assert {r["direction"] for r in rows} == {"down"}
        assert [(r["packet"]["name"], r["packet"]["seq_count"]) for r in rows][:8] == [(p["name"], p["seq_count"]) for p in printed]
        uptimes = a.values("obc", "uptime", session=2)

    hk = [p["data"]["params"]["uptime"] for p in printed if p["name"] == "hk.report" and p["data"]["sid"] == 1]
    assert len(hk) >= 4 and [v for _, v in uptimes][:len(hk)] == hk
    png = tmp_path / "uptime.png"
    out = _run(capsys, "plot", "obc.uptime", "--mission", "pass-1", "--session", "2", "-o", str(png))
    assert out == "%s: obc.uptime %d points\n" % (png, len(uptimes))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    report_dir = tmp_path / "report"
    assert _run(capsys, "report", "--mission", "pass-1", "-o", str(report_dir)) == "%s\n" % (report_dir / "report.md")
    text = (report_dir / "report.md").read_text()
    assert "| 3 | %d | log |" % tid in text and "2 sent: 2 completed, 0 failed" in text
    (again,) = (report_dir / "products" / "session-3").iterdir()
    assert again.read_bytes() == open(product, "rb").read()  # reassembled from the archive: the same product


def test_a_quiet_link_commits_its_batch_and_leaves_the_archive_to_other_writers(tmp_path):
    """A batch holds the archive's write lock until committed; the link (GroundLink.read) commits a due batch after
    every read, even when nothing more arrives (ground tlm between two HK reports)."""
    master, slave = os.openpty()
    tty.setraw(slave)
    path = tmp_path / "m.sqlite"
    link = ArchivedLink(os.ttyname(slave), recorder=archive.Recorder(path, batch_s=0.2))
    other = sqlite3.connect(str(path), timeout=0, isolation_level=None)
    try:
        os.write(master, b"\x00" + frame(codec.encode_tm(17, 2, {}, coarse=1)))  # a test.pong
        assert [p["name"] for p in link.read(1.0)] == ["test.pong"]
        with pytest.raises(sqlite3.OperationalError, match="locked"):  # the batch is open: the lock is held
            other.execute("BEGIN IMMEDIATE")
        time.sleep(0.3)  # the batch is due; nothing more comes
        assert link.read(0.05) == []
        other.execute("BEGIN IMMEDIATE")  # the quiet link committed: another writer gets the lock
        other.execute("ROLLBACK")
    finally:
        other.close()
        link.close()
        os.close(slave)
        os.close(master)
    with archive.Archive(path) as a:
        assert [r["packet"]["name"] for r in a.packets()] == ["test.pong"]


def test_an_archive_locked_too_long_is_one_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "m.sqlite"
    archive.Recorder(path).close()
    holder = sqlite3.connect(str(path), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(archive, "LOCK_WAIT_S", 0.1)
    try:
        with pytest.raises(archive.ArchiveError, match=r"m\.sqlite: database is locked: another program kept the archive's write lock"):
            archive.Recorder(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
