"""`ground plot` (ground/plot.py): HK time series from the archive into a PNG: the points of each
series against what the archive holds (packets recorded as GroundLink records them; a SITL session
recorded by `ground tlm` is plotted in test_archive_link.py), axes shared by unit, one-line errors."""

import struct
import subprocess
import sys

import pytest

from ground import archive, codec, plot
from ground import dictionary as d
from ground.cli import main

pytestmark = pytest.mark.usefixtures("mitra_home")  # tests/ground/conftest.py

OBC = d.HK_BY_NAME["obc"]
POWER = d.HK_BY_NAME["rover_power"]


def _hk(structure, coarse, **values):
    params = {f.name: 0 for f in structure.fields}
    params.update(values)
    return codec.encode_tm(3, 25, {"sid": structure.sid, "params": params}, coarse=coarse)


def _fill(path):
    """Two sessions: the second a reboot (on-board time starts again). Returns the HK counts written."""
    with archive.Recorder(path, port="/dev/pts/1", vehicle="rover") as rec:
        for i in range(40):
            rec.down(_hk(POWER, 100 + i, soc=1.0 - 0.01 * i, solar_w=50.0, load_w=20.0 + i), ground_time=1000.0 + i)
            if i % 4 == 0:
                rec.down(_hk(OBC, 100 + i, uptime=i, heap_free=5000 - i), ground_time=1000.0 + i + 0.5)
        rec.down(b"\x08\x01\x00", ground_time=1050.0)  # a frame that does not decode: no value
    with archive.Recorder(path, port="/dev/pts/1", vehicle="rover") as rec:
        for i in range(15):
            rec.down(_hk(POWER, 3 + i, soc=0.6, solar_w=0.0, load_w=15.0), ground_time=2000.0 + i)
    return {"rover_power": 55, "obc": 10}


def png_size(path):
    """(width, height) from a PNG's IHDR after checking the signature, the chunk order and that the
    image holds drawing (not one flat colour)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR" and data[-8:-4] == b"IEND"
    from matplotlib import pyplot as plt

    pixels = plt.imread(str(path))
    assert pixels.std() > 0.05, "a blank image"
    return struct.unpack(">II", data[16:24])


def test_plot_draws_every_point_the_archive_holds_per_series(tmp_path):
    path = tmp_path / "m.sqlite"
    written = _fill(path)
    out = tmp_path / "power.png"
    with archive.Archive(path) as a:
        counts = plot.plot(a, ["rover_power.soc", "rover_power.load_w", "obc.heap_free"], out)
        assert counts == {"rover_power.soc": written["rover_power"], "rover_power.load_w": written["rover_power"],
                          "obc.heap_free": written["obc"]}
        assert counts["rover_power.soc"] == len(a.values("rover_power", "soc"))
        # a session, a ground-time range
        assert plot.plot(a, ["rover_power.soc"], out, sessions=[2])["rover_power.soc"] == 15
        assert plot.plot(a, ["rover_power.soc"], out, start=1010.0, end=1019.0)["rover_power.soc"] == 10
    png_size(out)


def test_units_that_agree_share_an_axis_each_other_unit_gets_its_own(tmp_path):
    assert plot.axes_of(["rover_power.solar_w", "rover_nav.x", "rover_power.load_w", "rover_drill.depth"]) == {
        "W": ["rover_power.solar_w", "rover_power.load_w"], "m": ["rover_nav.x", "rover_drill.depth"]}
    path = tmp_path / "m.sqlite"
    _fill(path)
    with archive.Archive(path) as a:
        plot.plot(a, ["rover_power.solar_w", "rover_power.load_w"], tmp_path / "one.png")
        plot.plot(a, ["rover_power.solar_w", "rover_power.soc", "obc.heap_free"], tmp_path / "three.png")
    (w1, h1), (w3, h3) = png_size(tmp_path / "one.png"), png_size(tmp_path / "three.png")
    assert w1 == w3 and h3 > 2 * h1  # three axes stacked, one shared


def test_cli_plot_prints_the_points_and_writes_the_png(tmp_path, capsys):
    path = tmp_path / "m.sqlite"
    _fill(path)
    out = tmp_path / "sub" / "soc.png"
    assert main(["plot", "rover_power.soc", "obc.uptime", "--file", str(path), "--session", "1", "-o", str(out), "--title", "pass 1"]) == 0
    assert capsys.readouterr().out == "%s: rover_power.soc 40 points, obc.uptime 10 points\n" % out
    png_size(out)


@pytest.mark.parametrize("argv, message", [
    (["rover_power.sco"], "ground: unknown HK parameter 'rover_power.sco' (did you mean rover_power.soc, "),
    (["soc"], "ground: unknown HK parameter 'soc' (did you mean inspector_power.soc, rover_truth.soc, rover_power.soc?)"),
    (["nothing_like_it"], "ground: unknown HK parameter 'nothing_like_it' (names are STRUCTURE.FIELD, e.g. rover_power.soc"),
    (["rover_power.soc", "--to", "999"], "ground: no values of rover_power.soc in "),
    (["inspector_truth.range"], "ground: no values of inspector_truth.range in "),
    (["rover_power.soc", "--session", "7"], "ground: no values of rover_power.soc in session 7 of "),
])
def test_plot_errors_are_one_line(tmp_path, argv, message):
    path = tmp_path / "m.sqlite"
    _fill(path)
    out = tmp_path / "x.png"
    proc = subprocess.run([sys.executable, "-m", "ground", "plot", *argv, "--file", str(path), "-o", str(out)],
                          capture_output=True, text=True, env={"MITRA_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1 and proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith(message), proc.stderr
    assert not out.exists()


def test_plot_refuses_an_output_that_is_not_png(tmp_path):
    path = tmp_path / "m.sqlite"
    _fill(path)
    with archive.Archive(path) as a, pytest.raises(plot.PlotError, match=r"give a file name ending in \.png"):
        plot.plot(a, ["rover_power.soc"], tmp_path / "x.jpg")
