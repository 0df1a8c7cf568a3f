"""What the rover scenarios flown through the app (rover_app, rover_app_drive, rover_app_heading,
rover_app_drill) share: opening a Mission on a runtime, raising the truth HK rate by command,
waiting for a drive to end, reading series between two flight times, and the plot files.

Every figure comes from the app's telemetry as the ground received it. The SITL's relay drops
bytes the ground does not read in time (a serial line's behaviour): each flight reports the
relay's dropped bytes and the largest gap in the series it judges, so a lossy run is visible.
"""

import math

from ground.mission import UNIX_PORT_HEAP, Mission, tm_time
from hil.offline.plots import plot_file, pyplot, save  # noqa: F401 (re-exported: the scenarios' plotting, one place)

TRUTH_MS = 200  # truth HK interval the drives are judged at (5 Hz: 4 cm apart at 0.2 m/s)
DRIVE = 2  # rover mode


def open_mission(runtime="cpython", scenario=None):
    """A Mission of the rover app on `runtime` (not started)."""
    return Mission("rover", runtime=runtime, scenario=scenario or {}, heap=UNIX_PORT_HEAP)  # not the board's 160 KB: ground/mission.py says why


def truth_every(m, ms=TRUTH_MS):
    """Raise the truth HK rate by command (hk.change_interval), as an operator would."""
    m.send("hk.change_interval", "rover_truth:%d" % ms)


def event_time(p):
    return tm_time(p)


def wait_drive_end(m, flight_s):
    """After rover_nav.drive: until the app leaves DRIVE (route done, hazard stop, reserve abort).
    Judged on the events and, should one be lost on the link, on the mobility HK's mode."""
    n0 = len(m.series("rover_mobility", "mode"))
    ends = ("rover_route_done", "rover_hazard_stop", "rover_route_aborted")
    counts = [len(m.events(e)) for e in ends]

    def ended(m):
        if any(len(m.events(e)) > c for e, c in zip(ends, counts)):
            return True
        modes = [v for _, v in m.series("rover_mobility", "mode")[n0:]]
        return DRIVE in modes and modes[-1] != DRIVE

    m.run_until(ended, flight_s=flight_s)
    return m.t


def between(series, t0, t1):
    """The (t, value) samples of a series with t0 <= t <= t1."""
    return [(t, v) for t, v in series if t0 <= t <= t1]


def gap_max(series, t0, t1):
    """Largest spacing (s) of the samples within [t0, t1], the window's ends included."""
    ts = [t0] + [t for t, _ in series if t0 <= t <= t1] + [t1]
    return max(b - a for a, b in zip(ts, ts[1:]))



def dropped(m):
    return m.sitl.relay_stats["dropped_to_ground"]


def rms(values):
    return math.sqrt(sum(v * v for v in values) / len(values)) if values else float("nan")


