"""`ground archive list|show|export` and `ground replay` on an archive written by ground.archive."""

import csv
import io
import json
import subprocess
import sys

from ground import archive, codec
from ground import dictionary as d
from ground.cli import main

OBC_HK = d.HK_BY_NAME["obc"]


def _write(path):
    with archive.Recorder(path, port="/dev/pts/4", vehicle="rover") as rec:
        ping = codec.encode_command(d.command("test.ping"), {}, seq_count=3)
        rec.up(ping, ground_time=1000.0)
        rec.down(codec.encode_tm(1, 1, {"request_id": codec.request_id(ping)}, coarse=5), ground_time=1000.1)
        rec.down(codec.encode_tm(1, 7, {"request_id": codec.request_id(ping)}, coarse=5), ground_time=1000.2)
        for i in range(3):
            params = {f.name: 0 for f in OBC_HK.fields}
            params["uptime"] = 10 + i
            rec.down(codec.encode_tm(3, 25, {"sid": OBC_HK.sid, "params": params}, coarse=10 + i), ground_time=1001.0 + i)
        rec.down(b"\x08\x01\x00", ground_time=1005.0)  # too short to be a packet


def test_archive_list_show_export_and_replay(tmp_path, capsys):
    path = tmp_path / "a.sqlite"
    _write(path)
    assert main(["archive", "list", "--file", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("session 1  ") and "rover  /dev/pts/4  7 frames (1 bad)" in out

    assert main(["archive", "show", "--file", str(path), "--kind", "outcomes"]) == 0
    assert capsys.readouterr().out.split() [1:] == ["test.ping", str(codec.request_id(
        codec.encode_command(d.command("test.ping"), {}, seq_count=3))), "acceptance_success", "completion_success"]

    csv_path = tmp_path / "uptime.csv"
    assert main(["archive", "export", "--file", str(path), "--kind", "values", "--structure", "obc", "--field", "uptime",
                 "--from", "1970-01-01T00:16:41", "-o", str(csv_path)]) == 0
    assert list(csv.reader(io.StringIO(csv_path.read_text()))) == [["obt", "value"], ["10.0", "10.0"], ["11.0", "11.0"], ["12.0", "12.0"]]

    assert main(["archive", "export", "--file", str(path), "--kind", "events", "--json"]) == 0
    assert capsys.readouterr().out == ""  # no events in this pass

    assert main(["archive", "export", "--file", str(path), "--json", "--to", "1000.15"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["direction"], r["name"]) for r in rows] == [("up", "test.ping"), ("down", "verification.acceptance_success")]

    assert main(["replay", "--file", str(path)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 6 and "does not decode" in lines[-1] and "hk.report" in lines[2]
    assert "1 frames did not decode" in captured.err
    assert main(["replay", "--file", str(path), "--uplink"]) == 0
    assert "TC " in capsys.readouterr().out.splitlines()[0]


def test_archive_cli_errors_are_one_line(tmp_path):
    cases = (
        (["archive", "list", "--file", str(tmp_path / "none.sqlite")], "no archive at"),
        (["archive", "show", "--mission", "../etc"], "mission name"),
        (["archive", "show", "--file", str(tmp_path / "a.sqlite"), "--kind", "values"], "needs --structure and --field"),
        (["archive", "show", "--from", "yesterday"], "neither epoch seconds nor an ISO 8601"),
    )
    _write(tmp_path / "a.sqlite")
    for argv, message in cases:
        proc = subprocess.run([sys.executable, "-m", "ground", *argv], capture_output=True, text=True,
                              env={"MITRA_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"})
        assert proc.returncode != 0 and message in proc.stderr, (argv, proc.stderr)
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2, proc.stderr
