"""`ground report`: what one pass (or a test run, or the demo) left in the mission archive, as a
markdown report with its plots, for a person to read after the pass.

The report (`report.md` in the directory given, PNGs and products beside it) holds:

  sessions      each link session in the selection: vehicle, port, start, end, frames, undecodable
  commands      every TC the ground sent, with its ST1 outcome (completed, failed at which stage
                with the error, accepted without a completion report, no report at all)
  events        counted by severity (ECSS-E-ST-70-41C 6.5: TM 5.1 info .. 5.4 high), then listed,
                the most severe first
  housekeeping  plots of the main parameters of each vehicle (`MAIN`), one set per vehicle
  products      the ST13 transfers reassembled again from the archived parts (ground.transfer),
                written under `products/` and linked; an incomplete or failing one says why

Everything comes from the archive alone (ground.archive), so a report can be made of any pass,
long after it, on another machine.
"""

import datetime
import json
from pathlib import Path

from ground import dictionary as d
from ground import plot, transfer
from ground.archive import Archive
from ground.errors import MitraError

SEVERITIES = {m.subtype: m.name for m in d.MESSAGES if m.kind == "tm" and m.service == d.SERVICE_BY_NAME["event"].number
              and m.name in ("info", "low", "medium", "high")}
EVENT_ROWS = 30  # events listed per severity; the rest are counted (`ground archive show --kind events` has them all)

# The main parameters of each vehicle, a PNG each: (file stem, title, parameters). The board's
# (obc) come first for every vehicle; a plot whose parameters have no values is left out.
BOARD = [("board", "on-board computer", ["obc.heap_free", "obc.tc_accepted", "obc.tc_rejected"])]
MAIN = {
    "inspector": [
        ("attitude", "attitude", ["inspector_adcs.rate", "inspector_truth.pointing_error"]),
        ("range", "range to the debris", ["inspector_truth.range", "inspector_truth.min_range"]),
        ("propulsion", "propulsion", ["inspector_prop.dv_used", "inspector_prop.dv_leaked"]),
        ("power", "power", ["inspector_power.soc", "inspector_power.power_in", "inspector_power.power_out"]),
    ],
    "rover": [
        ("position", "position (navigation)", ["rover_nav.x", "rover_nav.y"]),
        ("power", "power", ["rover_power.soc", "rover_power.solar_w", "rover_power.load_w"]),
        ("drill", "drill", ["rover_drill.depth", "rover_drill.torque"]),
    ],
}
_ST5, _ST13 = d.SERVICE_BY_NAME["event"].number, d.SERVICE_BY_NAME["large"].number
UNNAMED = "unnamed"  # sessions recorded without a vehicle name (`ground send`, `ground tlm`)


class ReportError(MitraError):
    """A report that cannot be made: nothing in the selection, or the directory cannot be written."""


class Report:
    """What `write_report` wrote: `path` (report.md), `plots` {png path: {parameter: points}},
    `products` [(session, transaction, path or None, problem or None)], `outcomes`, `events`."""

    def __init__(self, path):
        self.path = path
        self.sessions = []
        self.outcomes = []
        self.events = []
        self.plots = {}
        self.products = []


def _when(t):
    if t is None:
        return "-"
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def outcome(reports):
    """One-line ST1 outcome of a TC from its reports [(report name, error code)]."""
    for name, error in reports:
        stage = name.rpartition(".")[2]
        if stage.endswith("_failure"):
            return "failed at %s: %s (%d)" % (stage[:-len("_failure")], d.ERROR_BY_CODE.get(error, "UNKNOWN_ERROR"), error)
    stages = [name.rpartition(".")[2] for name, _ in reports]
    if "completion_success" in stages:
        return "completed"
    if "acceptance_success" in stages:
        return "accepted, no completion report"
    return "no report"


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _select(a, sessions, start, end):
    """The sessions of the selection that hold frames in the range."""
    chosen = [s for s in a.sessions() if sessions is None or s["id"] in sessions]
    if sessions is not None:
        unknown = sorted(set(sessions) - {s["id"] for s in chosen})
        if unknown:
            raise ReportError("%s has no session %s (see `ground archive list`)" % (a.path, ", ".join(map(str, unknown))))
    if start is None and end is None:
        return [s for s in chosen if s["frames"]]
    return [s for s in chosen if a.has_frames(session=s["id"], start=start, end=end)]


def write_report(archive, directory, sessions=None, start=None, end=None):
    """Write the report of `archive` (a path, or an open ground.archive.Archive) into `directory`.

    `sessions`: session ids (None: every session); `start`/`end`: ground receive time (epoch s).
    Returns a Report."""
    if not isinstance(archive, Archive):
        with Archive(archive) as a:
            return write_report(a, directory, sessions, start, end)
    a = archive
    directory = Path(directory)
    chosen = _select(a, None if sessions is None else set(sessions), start, end)
    if not chosen:
        raise ReportError("nothing recorded in %s%s%s" % (
            a.path, "" if sessions is None else " in session %s" % ", ".join(map(str, sorted(sessions))),
            "" if start is None and end is None else ", " + plot.describe_range(start, end)))
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError("%s: cannot make the report directory: %s" % (directory, exc.strerror or exc)) from None
    report = Report(directory / "report.md")
    report.sessions = chosen
    ids = [s["id"] for s in chosen]
    rng = dict(start=start, end=end)
    for sid in ids:
        report.outcomes += a.outcomes(session=sid, **rng)
        report.events += [dict(e, session=sid) for e in a.events(session=sid, **rng)]
    report.outcomes.sort(key=lambda o: o["frame"])
    report.events.sort(key=lambda e: e["frame"])

    lines = ["# Pass report: %s" % a.path.name, "",
             "Archive `%s`, %s, %d session%s. Made by `ground report` at %s UTC." % (
                 a.path, plot.describe_range(start, end), len(ids), "" if len(ids) == 1 else "s", _when(_now())), ""]
    lines += ["## Sessions", ""]
    lines += _table(("session", "vehicle", "port", "start (UTC)", "end (UTC)", "frames", "undecodable"), [
        (s["id"], s["vehicle"] or "-", s["port"] or "-", _when(s["started"]), _when(s["ended"]) if s["ended"] else "not closed",
         s["frames"], s["bad"]) for s in chosen])
    lines += [""] + _commands(report.outcomes) + [""] + _events(report.events) + [""]
    lines += _housekeeping(a, report, chosen, directory, rng) + [""]
    lines += _products(a, report, ids, directory, rng)
    try:
        report.path.write_text("\n".join(lines) + "\n")
    except OSError as exc:
        raise ReportError("%s: cannot write the report: %s" % (report.path, exc.strerror or exc)) from None
    return report


def _now():
    import time

    return time.time()


def _commands(outcomes):
    results = [outcome(o["reports"]) for o in outcomes]
    done = sum(r == "completed" for r in results)
    failed = sum(r.startswith("failed") for r in results)
    lines = ["## Commands", "", "%d sent: %d completed, %d failed, %d without a completion report." % (
        len(outcomes), done, failed, len(outcomes) - done - failed), ""]
    if outcomes:
        lines += _table(("sent (UTC)", "session", "command", "request ID", "ST1 outcome"), [
            (_when(o["ground_time"]), o["session"], o["name"] or "?", "0x%08X" % o["request_id"], r) for o, r in zip(outcomes, results)])
    return lines


def _events(events):
    lines = ["## Events by severity", ""]
    counts = {sev: sum(e["severity"] == sev for e in events) for sev in sorted(SEVERITIES, reverse=True)}
    lines += _table(("severity", "events"), [(SEVERITIES[sev], n) for sev, n in counts.items()])
    for sev, n in counts.items():
        if not n:
            continue
        lines += ["", "### %s (%d)" % (SEVERITIES[sev], n), ""]
        these = [e for e in events if e["severity"] == sev]
        lines += _table(("on-board time (s)", "session", "event", "aux"), [
            ("%.3f" % e["obt"] if e["obt"] is not None else "-", e["session"], e["name"] or "event %d" % e["event_id"],
             json.dumps(e["aux"], sort_keys=True)) for e in these[:EVENT_ROWS]])
        if n > EVENT_ROWS:
            lines += ["", "... and %d more (`ground archive show --kind events`)." % (n - EVENT_ROWS)]
    return lines


def _housekeeping(a, report, chosen, directory, rng):
    lines = ["## Housekeeping", ""]
    groups = {}
    for s in chosen:
        groups.setdefault(s["vehicle"] or UNNAMED, []).append(s["id"])
    for vehicle, sids in groups.items():
        # a named vehicle's own plots; an unnamed session may be either vehicle: every plot that has values
        plots = BOARD + (MAIN.get(vehicle, []) if vehicle in MAIN else [p for v in MAIN.values() for p in v])
        lines += ["### %s (session%s %s)" % (vehicle, "" if len(sids) == 1 else "s", ", ".join(map(str, sids))), ""]
        drawn = 0
        for stem, title, names in plots:
            png = directory / ("%s-%s.png" % (vehicle, stem))
            try:
                counts = plot.plot(a, names, png, sessions=sids, title="%s: %s" % (vehicle, title), **rng)
            except plot.NoValues:
                continue
            report.plots[png] = counts
            drawn += 1
            lines += ["![%s %s](%s)" % (vehicle, title, png.name), "",
                      "%s: %s." % (title, ", ".join("`%s` %d points" % kv for kv in counts.items())), ""]
        if not drawn:
            lines += ["No housekeeping values of the main parameters in this selection.", ""]
    return lines


def _products(a, report, ids, directory, rng):
    lines = ["## Products (ST13)", ""]
    rows = []
    for sid in ids:
        reasm = transfer.Reassembler()
        for _fid, _t, direction, p in a.replay(session=sid, services=(_ST5, _ST13), **rng):  # events and parts only
            if direction == "down" and isinstance(p, dict):
                reasm.feed(p)
        for tid, t in sorted(reasm.transfers.items()):
            try:
                path = transfer.write_product(t, directory / "products" / ("session-%d" % sid))
            except (MitraError, ValueError) as exc:
                report.products.append((sid, tid, None, str(exc)))
                rows.append((sid, tid, t.product or "?", t.size if t.size is not None else "?", "not written: %s" % exc))
                continue
            report.products.append((sid, tid, path, None))
            rel = path.relative_to(directory).as_posix()
            extra = ""
            if path.suffix == ".csv" and path.with_suffix(".png").exists():
                extra = " ([plot](%s))" % path.with_suffix(".png").relative_to(directory).as_posix()
            checked = "" if t.announced else " (no transfer_started seen: CRC not checked)"
            rows.append((sid, tid, t.product or "?", len(t.data()), "[%s](%s)%s%s" % (path.name, rel, extra, checked)))
    if rows:
        lines += _table(("session", "transaction", "kind", "octets", "file"), rows)
        pictures = [p if p.suffix == ".png" else p.with_suffix(".png") for _, _, p, _ in report.products if p is not None]
        lines += [""] + ["![%s](%s)" % (p.name, p.relative_to(directory).as_posix()) for p in pictures if p.exists()]
    else:
        lines += ["No ST13 transfer in this selection."]
    return lines
