"""`ground archive list|show|export`, `ground replay`, `ground plot` (ground/plot.py) and `ground report`
(ground/report.py): reading a mission archive from the shell; and the archive options and link of the
commands that write one (`send`, `tlm`, `fetch`, `console`: `--mission`, `--no-archive`, ArchivedLink).

An archive is named by its mission (`--mission NAME`: `$MITRA_HOME/archive/NAME.sqlite`) or given
as a file (`--file PATH`, e.g. the `archive.sqlite` that `ground demo` writes). Times (`--from`,
`--to`) are ground receive times: seconds since the Unix epoch or an ISO 8601 date-time (UTC when
it carries no zone)."""

import csv
import datetime
import json
import sys

from ground import show
from ground.archive import Archive, ArchiveError, Recorder, mission_path
from ground.args import iso_utc
from ground.link import GroundLink

KINDS = ("packets", "events", "values", "outcomes")


def ground_time(text):
    """argparse type: epoch seconds or ISO 8601 -> epoch seconds."""
    import argparse

    try:
        return float(text)
    except ValueError:
        pass
    try:
        return iso_utc(text).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError("%r is neither epoch seconds nor an ISO 8601 date-time" % text) from None


def mission_name(text):
    """argparse type: a mission name that can name an archive file (refused before any port is opened)."""
    import argparse

    try:
        mission_path(text, root=".")
    except ArchiveError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _which(p):
    g = p.add_mutually_exclusive_group()
    g.add_argument("--mission", type=mission_name, default="default", help="mission name: $MITRA_HOME/archive/NAME.sqlite (default: default)")
    g.add_argument("--file", help="an archive file (e.g. OUT/archive.sqlite written by `ground demo`)")


def _range(p):
    p.add_argument("--session", type=int, default=None, help="one session (see `ground archive list`)")
    p.add_argument("--from", dest="start", type=ground_time, default=None, help="ground time from (epoch s or ISO 8601)")
    p.add_argument("--to", dest="end", type=ground_time, default=None, help="ground time to (epoch s or ISO 8601)")


def add_link_options(p):
    """The archive options of every command that opens a link (`send`, `tlm`, `fetch`)."""
    p.add_argument("--mission", type=mission_name, default="default", help="record the session in $MITRA_HOME/archive/NAME.sqlite (default: default)")
    p.add_argument("--no-archive", action="store_true", help="record nothing")


class ArchivedLink(GroundLink):
    """A GroundLink that records into a Recorder of its own and closes it (ending the session) with the link."""

    def close(self):
        try:
            super().close()
        finally:
            if self.recorder is not None:
                self.recorder.close()
                self.recorder = None


def recorded_link(opts, serial_port, **kwargs):
    """The link of a `ground` command on `serial_port` (opened already), recording every frame up and
    down into the mission's archive (`--mission`) unless `--no-archive`."""
    recorder = None if opts.no_archive else Recorder(mission_path(opts.mission), port=opts.port)
    try:
        return ArchivedLink(opts.port, serial_port=serial_port, recorder=recorder, **kwargs)
    except BaseException:
        if recorder is not None:
            recorder.close()
        raise


def add_parsers(sub, table):
    """Add `archive` and `replay` to the CLI's subparsers; (parser, handler) pairs go in `table`."""
    p = sub.add_parser("archive", help="read a mission archive: list sessions, show or export what was recorded")
    p.add_argument("action", choices=("list", "show", "export"))
    _which(p)
    _range(p)
    p.add_argument("--kind", choices=KINDS, default="packets", help="what to show or export (default packets)")
    p.add_argument("--structure", help="values: the HK structure (e.g. rover_power)")
    p.add_argument("--field", help="values: the field (e.g. soc)")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="export as CSV")
    fmt.add_argument("--json", action="store_true", help="export as JSON lines")
    p.add_argument("-o", "--output", help="export to this file (default: standard output)")
    table.append((p, cmd_archive))

    p = sub.add_parser("replay", help="decode an archive's frames again and print them as `ground tlm` does")
    _which(p)
    _range(p)
    p.add_argument("--json", action="store_true", help="one JSON object per packet")
    p.add_argument("--uplink", action="store_true", help="also the TCs the ground sent")
    table.append((p, cmd_replay))

    p = sub.add_parser("plot", help="plot HK parameters (STRUCTURE.FIELD, e.g. rover_power.soc) from an archive into a PNG")
    p.add_argument("params", nargs="+", metavar="PARAM", help="STRUCTURE.FIELD, as the dictionary names it")
    _which(p)
    _range(p)
    p.add_argument("-o", "--output", required=True, help="the PNG file to write")
    p.add_argument("--title", help="the plot's title (default: the archive and the range)")
    table.append((p, cmd_plot))

    p = sub.add_parser("report", help="write a markdown report of a pass (commands, events, HK plots, products) into a directory")
    _which(p)
    p.add_argument("--session", type=int, action="append", default=None, help="this session (repeatable; default: every one)")
    p.add_argument("--from", dest="start", type=ground_time, default=None, help="ground time from (epoch s or ISO 8601)")
    p.add_argument("--to", dest="end", type=ground_time, default=None, help="ground time to (epoch s or ISO 8601)")
    p.add_argument("-o", "--output", required=True, help="directory for report.md and its PNGs")
    table.append((p, cmd_report))


def _open(opts):
    path = opts.file if opts.file else mission_path(opts.mission)
    return Archive(path)


def _when(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _rows(a, opts):
    """(header, rows) of the kind asked, plain values only."""
    rng = dict(session=opts.session, start=opts.start, end=opts.end)
    if opts.kind == "packets":
        rows = []
        for r in a.packets(**rng):
            p = r["packet"] or {}  # none for a frame that did not decode
            rows.append((r["frame"], r["ground_time"], r["direction"], p.get("apid"), p.get("name"), p.get("obt"),
                         json.dumps(p["data"], sort_keys=True) if p else None, r["error"]))
        return ("frame", "ground_time", "direction", "apid", "name", "obt", "data", "error"), rows
    if opts.kind == "events":
        return ("frame", "obt", "event_id", "name", "severity", "aux"), [
            (e["frame"], e["obt"], e["event_id"], e["name"], e["severity"], json.dumps(e["aux"], sort_keys=True))
            for e in a.events(**rng)]
    if opts.kind == "values":
        if not (opts.structure and opts.field):
            raise ArchiveError("--kind values needs --structure and --field (e.g. --structure rover_power --field soc)")
        return ("obt", "value"), a.values(opts.structure, opts.field, **rng)
    return ("frame", "name", "request_id", "reports"), [
        (o["frame"], o["name"], o["request_id"], " ".join("%s%s" % (r.rpartition(".")[2], "" if e is None else "(%d)" % e)
                                                          for r, e in o["reports"]))
        for o in a.outcomes(session=opts.session)]


def cmd_archive(opts):
    with _open(opts) as a:
        if opts.action == "list":
            for s in a.sessions():
                print("session %d  %s .. %s  %s  %s  %d frames (%d bad)" % (
                    s["id"], _when(s["started"]), _when(s["ended"]) if s["ended"] else "(not closed)",
                    s["vehicle"] or "-", s["port"] or "-", s["frames"], s["bad"]))
            return 0
        header, rows = _rows(a, opts)
    out = open(opts.output, "w", newline="") if opts.output else sys.stdout
    try:
        if opts.action == "export" and opts.json:
            for row in rows:
                out.write(json.dumps(dict(zip(header, row)), sort_keys=True) + "\n")
        elif opts.action == "export" or opts.csv:
            w = csv.writer(out)
            w.writerow(header)
            w.writerows(rows)
        else:
            for row in rows:
                out.write("  ".join("-" if v is None else str(v) for v in row) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def cmd_replay(opts):
    bad = 0
    with _open(opts) as a:
        for fid, t, direction, p in a.replay(session=opts.session, start=opts.start, end=opts.end):
            if direction == "up" and not opts.uplink:
                continue
            if isinstance(p, str):
                bad += 1
                print("%s  frame %d does not decode: %s" % (_when(t), fid, p))
            elif opts.json:
                print(show.as_json(p))
            else:
                print("%s  %s%s" % (_when(t), "TC " if direction == "up" else "", show.line(p)))
    if bad:
        print("ground: %d frames did not decode" % bad, file=sys.stderr)
    return 0


def cmd_plot(opts):
    from ground import plot

    for name in opts.params:
        plot.resolve(name)  # an unknown name says so before the archive is opened
    with _open(opts) as a:
        counts = plot.plot(a, opts.params, opts.output, sessions=None if opts.session is None else [opts.session],
                           start=opts.start, end=opts.end, title=opts.title)
    print("%s: %s" % (opts.output, ", ".join("%s %d points" % kv for kv in counts.items())))
    for name, n in counts.items():
        if not n:
            print("ground: %s: no values in the range" % name, file=sys.stderr)
    return 0


def cmd_report(opts):
    from ground.report import write_report

    with _open(opts) as a:
        report = write_report(a, opts.output, sessions=opts.session, start=opts.start, end=opts.end)
    print(report.path)
    return 0
