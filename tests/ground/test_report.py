"""`ground report` (ground/report.py): a pass's markdown report from the archive alone: sessions,
commands with their ST1 outcome, events by severity, HK plots per vehicle with their points, and the
ST13 products reassembled from the archived parts, linked."""

import re
import subprocess
import sys

import pytest

from ground import archive, codec, report
from ground import dictionary as d
from ground.cli import main
from ground.transfer import crc16

pytestmark = pytest.mark.usefixtures("mitra_home")  # tests/ground/conftest.py

EVT = d.EVENT_BY_NAME
POWER = d.HK_BY_NAME["rover_power"]
OBC = d.HK_BY_NAME["obc"]
LOG = bytes((i * 7 + 3) & 0xFF for i in range(150))  # a 'log' product in 3 parts of 64 octets
PART = 64


def _hk(structure, coarse, **values):
    params = {f.name: 0 for f in structure.fields}
    params.update(values)
    return codec.encode_tm(3, 25, {"sid": structure.sid, "params": params}, coarse=coarse)


def _report(subtype, tc, coarse, error=None):
    data = {"request_id": codec.request_id(tc)}
    if error is not None:
        data["error"] = error
    return codec.encode_tm(1, subtype, data, coarse=coarse)


def _transfer(rec, tid, data, t, drop=()):
    count = -(-len(data) // PART)
    aux = {"transaction": tid, "product": 3, "size": len(data), "parts": count, "crc": crc16(data)}
    rec.down(codec.encode_tm(5, 1, {"event_id": EVT["transfer_started"].id, "aux": aux}, coarse=int(t)), ground_time=t)
    for k in range(count):
        if k in drop:
            continue
        name = "large.first_part" if k == 0 else "large.last_part" if k == count - 1 else "large.intermediate_part"
        service, subtype = d.key(name)
        rec.down(codec.encode_tm(service, subtype, {"transaction": tid, "part": k, "data": data[k * PART:(k + 1) * PART]}, coarse=int(t)),
                 ground_time=t + 0.1 * (k + 1))


def _pass(path):
    """Session 1 (rover): a ping completed, a param.get refused, a TC never answered, HK, events, a
    product and a transfer that lost a part. Session 2 (no vehicle name): one more ping, later."""
    with archive.Recorder(path, port="/dev/pts/3", vehicle="rover") as rec:
        ping = codec.encode_command(d.command("test.ping"), {}, seq_count=1)
        bad = codec.encode_command(d.command("param.get"), {"param_ids": [{"param_id": 9999}]}, seq_count=2)
        lost = codec.encode_command(d.command("test.ping"), {}, seq_count=3)
        rec.up(ping, ground_time=100.0)
        rec.down(_report(1, ping, 10), ground_time=100.1)
        rec.down(_report(7, ping, 10), ground_time=100.2)
        rec.up(bad, ground_time=101.0)
        rec.down(_report(2, bad, 11, error=d.ERROR_BY_NAME["UNKNOWN_PARAMETER"]), ground_time=101.1)
        rec.up(lost, ground_time=102.0)
        for i in range(20):
            rec.down(_hk(POWER, 20 + i, soc=0.9 - 0.01 * i, solar_w=40.0, load_w=10.0 + i), ground_time=103.0 + i)
            rec.down(_hk(OBC, 20 + i, heap_free=9000 - i, tc_accepted=1), ground_time=103.5 + i)
        rec.down(codec.encode_tm(5, 1, {"event_id": EVT["boot"].id, "aux": {"boot_count": 3, "cause": 2}}, coarse=5), ground_time=99.0)
        rec.down(codec.encode_tm(5, 2, {"event_id": EVT["param_changed"].id, "aux": {"param_id": 1}}, coarse=30), ground_time=110.0)
        rec.down(codec.encode_tm(5, 2, {"event_id": EVT["param_changed"].id, "aux": {"param_id": 4}}, coarse=31), ground_time=111.0)
        _transfer(rec, 7, LOG, 130.0)
        _transfer(rec, 8, LOG[::-1], 140.0, drop=(1,))
    with archive.Recorder(path, port="/dev/pts/4") as rec:
        again = codec.encode_command(d.command("test.ping"), {}, seq_count=4)
        rec.up(again, ground_time=500.0)
        rec.down(_report(1, again, 50), ground_time=500.1)
        rec.down(_report(7, again, 50), ground_time=500.2)


def _links(text):
    return re.findall(r"\]\(([^)]+)\)", text)


def test_report_of_a_pass_has_commands_events_plots_and_products(tmp_path):
    path = tmp_path / "m.sqlite"
    _pass(path)
    out = tmp_path / "report"
    r = report.write_report(path, out)
    assert r.path == out / "report.md"
    text = r.path.read_text()
    # commands with their ST1 outcome, in the order sent
    assert [(o["name"], report.outcome(o["reports"])) for o in r.outcomes] == [
        ("test.ping", "completed"), ("param.get", "failed at acceptance: UNKNOWN_PARAMETER (%d)" % d.ERROR_BY_NAME["UNKNOWN_PARAMETER"]),
        ("test.ping", "no report"), ("test.ping", "completed")]
    assert "4 sent: 2 completed, 1 failed, 1 without a completion report." in text
    assert "| test.ping | 0x%08X | no report |" % codec.request_id(codec.encode_command(d.command("test.ping"), {}, seq_count=3)) in text
    # events by severity: the count table, then the list
    assert "| info | 3 |" in text and "| low | 2 |" in text and "| high | 0 |" in text
    assert text.index("### low (2)") < text.index("### info (3)")
    assert '| 31.000 | 1 | param_changed | {"param_id": 4} |' in text
    # HK plots: the rover's own (position has no values here: left out) and the board's, points as archived
    with archive.Archive(path) as a:
        soc = len(a.values("rover_power", "soc"))
        heap = len(a.values("obc", "heap_free"))
    assert {p.name: c for p, c in r.plots.items()} == {
        "rover-board.png": {"obc.heap_free": heap, "obc.tc_accepted": heap, "obc.tc_rejected": heap},
        "rover-power.png": {"rover_power.soc": soc, "rover_power.solar_w": soc, "rover_power.load_w": soc}}
    assert soc == heap == 20
    assert "rover-position.png" not in text and not (out / "rover-position.png").exists()
    # products: the complete one written and linked, the one with a lost part says so
    (good,) = [p for s, t, p, e in r.products if t == 7]
    assert good.read_bytes() == LOG
    ((problem),) = [e for s, t, p, e in r.products if t == 8]
    assert "missing parts 1" in problem and "| 1 | 8 | log | 150 | not written: transaction 8: incomplete" in text
    # every link in the report points at a file that is there; every plot is a PNG
    links = _links(text)
    assert "products/session-1/%s" % good.name in links
    for link in links:
        assert (out / link).is_file(), link
        if link.endswith(".png"):
            assert (out / link).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # session 2 had no vehicle name and no HK: a section that says so
    assert "### unnamed (session 2)" in text and "No housekeeping values of the main parameters" in text


def test_report_of_a_session_and_a_time_range(tmp_path):
    path = tmp_path / "m.sqlite"
    _pass(path)
    r = report.write_report(path, tmp_path / "s2", sessions=[2])
    assert [s["id"] for s in r.sessions] == [2] and len(r.outcomes) == 1 and r.products == [] and r.plots == {}
    r = report.write_report(path, tmp_path / "range", start=105.0, end=114.5)
    assert r.outcomes == [] and [e["aux"] for e in r.events] == [{"param_id": 1}, {"param_id": 4}]
    assert r.plots[tmp_path / "range" / "rover-power.png"]["rover_power.soc"] == 10


def test_cli_report_prints_its_path_and_errors_are_one_line(tmp_path, capsys):
    path = tmp_path / "m.sqlite"
    _pass(path)
    assert main(["report", "--file", str(path), "--session", "1", "-o", str(tmp_path / "r")]) == 0
    assert capsys.readouterr().out == "%s\n" % (tmp_path / "r" / "report.md")
    for argv, message in (
        (["--file", str(path), "--session", "9"], "ground: %s has no session 9 (see `ground archive list`)" % path),
        (["--file", str(path), "--from", "1000"], "ground: nothing recorded in %s, from 1970-01-01 00:16:40 UTC" % path),
        (["--mission", "none-here"], "ground: no archive at "),
    ):
        proc = subprocess.run([sys.executable, "-m", "ground", "report", *argv, "-o", str(tmp_path / "x")], capture_output=True,
                              text=True, env={"MITRA_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"})
        assert proc.returncode == 1 and proc.stderr.splitlines() == [proc.stderr.strip()] and proc.stderr.startswith(message), proc.stderr


def test_demo_writes_the_report_of_its_own_passes_and_prints_its_path(tmp_path, monkeypatch, capsys):
    """run_demo's last step, with the flights replaced by a recorded pass each (the flights themselves:
    tests/hil/test_demo.py): a second run into the same folder reports only its own sessions."""
    from ground import demo

    def fly(vehicle):
        def run(runtime, board, out, heap=None):
            with archive.Recorder(out / demo.ARCHIVE, port="/dev/pts/9", vehicle=vehicle) as rec:
                ping = codec.encode_command(d.command("test.ping"), {}, seq_count=1)
                rec.up(ping)
                rec.down(_report(7, ping, 1))
                for i in range(5):
                    rec.down(_hk(OBC, 2 + i, heap_free=100 + i))
            return out / ("%s-product" % vehicle)
        return run

    monkeypatch.setattr(demo, "fly_inspector", fly("inspector"))
    monkeypatch.setattr(demo, "fly_rover", fly("rover"))
    out = tmp_path / "demo"
    for _ in range(2):
        assert demo.run_demo(runtime="cpython", out=str(out)) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.endswith("  report %s" % (out / "report" / "report.md"))
    text = (out / "report" / "report.md").read_text()
    assert "4 sessions" not in text and ", 2 sessions." in text
    assert "| 3 | inspector | /dev/pts/9 |" in text and "| 4 | rover | /dev/pts/9 |" in text and "| 1 | inspector |" not in text
    assert (out / "report" / "inspector-board.png").is_file() and (out / "report" / "rover-board.png").is_file()
