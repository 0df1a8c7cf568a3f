"""`ground demo` (what `make demo` runs) flies both vehicles and writes their products."""

import subprocess
import sys

import pytest

from hil.plugin import need_micropython

MILESTONES = [
    "inspector detumbled:",
    "inspector TARGET_POINT: relative navigation locked",
    "inspector burn 2:",
    "inspector image 64x48",
    "inspector FLY_AROUND:",
    "inspector AUTONOMOUS ABORT:",
    "rover     entered the permanently shadowed region",
    "rover     drill done at 1.50 m",
    "rover     water-ice spectrum downlinked",
    "in sunlight (truth)",
    "demo done; products:",
]


def _demo(runtime, tmp_path):
    out = tmp_path / "products"
    proc = subprocess.run(
        [sys.executable, "-m", "ground", "demo", "--runtime", runtime, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env={"MITRA_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = proc.stdout
    positions = [log.find(m) for m in MILESTONES]
    assert -1 not in positions, "missing: %s\n%s" % ([m for m, p in zip(MILESTONES, positions) if p < 0], log)
    assert positions == sorted(positions), log
    png = sorted(out.glob("image-*.png"))
    csv = sorted(out.glob("spectrum-*.csv"))
    assert len(png) == 1 and png[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(csv) == 1 and csv[0].read_text().splitlines()[1] == "depth_m,abundance_wt_pct"
    assert csv[0].with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(png[0]) in log and str(csv[0]) in log
    assert "STILL IN SHADOW" not in log
    # the archive holds both passes: every frame, each TC with its reports
    from ground.archive import Archive

    with Archive(out / "archive.sqlite") as a:
        sessions = a.sessions()
        assert [x["vehicle"] for x in sessions] == ["inspector", "rover"]
        assert all(x["frames"] > 100 and x["bad"] == 0 for x in sessions)
        assert "archive %s: inspector %d frames (0 bad); rover %d frames (0 bad)" % (
            out / "archive.sqlite", sessions[0]["frames"], sessions[1]["frames"]) in log
        outcomes = a.outcomes()
        assert outcomes and all(o["reports"] and o["reports"][-1][0] == "verification.completion_success" for o in outcomes)
        assert {"inspector_camera.capture", "rover_drill.drill"} <= {o["name"] for o in outcomes}
    return log


def test_demo_flies_both_vehicles_on_cpython(tmp_path):
    _demo("cpython", tmp_path)


@pytest.mark.slow
@pytest.mark.micropython
def test_demo_flies_both_vehicles_on_the_default_virtual_board(tmp_path):
    need_micropython()
    log = _demo("micropython", tmp_path)
    assert "heap peak" in log
