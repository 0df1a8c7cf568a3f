"""Markdown tables for docs/benchmarks.md from a pytest-benchmark JSON file.

    make bench                                  # writes out/bench.json
    .venv/bin/python scripts/bench_report.py    # or: scripts/bench_report.py path/to/bench.json

Prints the machine, then one table per benchmark group with the figures each
test put in `extra_info`, exactly as the run recorded them.
"""

import json
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[1] / "out" / "bench.json"

COLUMNS = {
    "ground decode": [
        ("packets", "packets"),
        ("wire_octets", "wire octets"),
        ("median_s", "median s"),
        ("packets_per_s", "packets/s"),
        ("packet_octets_per_s", "packet octets/s"),
        ("wire_octets_per_s", "wire octets/s"),
        ("x_link_921600", "x 921600 baud"),
        ("spacepackets_time_over_ground_decode_time", "spacepackets time / codec.decode time"),
    ],
    "firmware encode": [
        ("runtime", "runtime"),
        ("heap_bytes", "heap"),
        ("packets", "packets"),
        ("elapsed_us", "elapsed us"),
        ("packets_per_s", "packets/s"),
    ],
    "tc round trip": [
        ("runtime", "runtime"),
        ("pings", "pings"),
        ("median_ms", "median ms"),
        ("p99_ms", "p99 ms"),
        ("min_ms", "min ms"),
        ("max_ms", "max ms"),
        ("command_median_ms", "command() median ms"),
        ("command_p99_ms", "command() p99 ms"),
    ],
    "gnc step": [
        ("step", "step"),
        ("backend", "backend"),
        ("steps_per_call", "steps per call"),
        ("batches", "timed calls (MicroPython)"),
        ("per_step_us", "us per step"),
        ("steps_per_s", "steps/s"),
        ("cycle_percent_10hz", "% of the 100 ms cycle"),
        ("x_cffi", "x cffi"),
    ],
    "gnc monte carlo": [
        ("loop", "loop"),
        ("steps_per_run", "steps per run"),
        ("run_s", "s per run"),
        ("runs_per_s", "runs/s"),
        ("per_step_us", "us per step"),
        ("c_loop_speedup", "time / C loop time"),
    ],
    "sitl app": [
        ("vehicle", "vehicle"),
        ("runtime", "runtime"),
        ("backend", "GNC backend (0 fallback, 1 cffi)"),
        ("flight_s", "flight s"),
        ("rtf", "x real time"),
        ("cycle_us_median", "10 Hz task median us"),
        ("cycle_us_max", "10 Hz task max us"),
        ("heap_peak", "heap peak B"),
        ("heap_budget", "heap budget B"),
    ],
}


def _cell(value):
    return "" if value is None else str(value)


def report(data):
    lines = []
    m = data.get("machine_info", {})
    cpu = m.get("cpu", {})
    lines.append(
        "Machine: %s, %s logical CPUs, Python %s; commit %s%s; %s"
        % (
            cpu.get("brand_raw", m.get("processor", "?")),
            cpu.get("count", "?"),
            m.get("python_version", "?"),
            data.get("commit_info", {}).get("id", "?")[:7],
            " (dirty tree)" if data.get("commit_info", {}).get("dirty") else "",
            data.get("datetime", "?"),
        )
    )
    groups = {}
    for bench in data["benchmarks"]:
        groups.setdefault(bench.get("group") or "", []).append(bench)
    for group, benches in groups.items():
        cols = COLUMNS.get(group) or sorted({k for b in benches for k in b["extra_info"]})
        cols = [c if isinstance(c, tuple) else (c, c) for c in cols]
        cols = [c for c in cols if any(c[0] in b["extra_info"] for b in benches)]
        lines += ["", "### %s" % (group or "other"), ""]
        lines.append("| test | rounds | " + " | ".join(label for _, label in cols) + " |")
        lines.append("|---|---|" + "---|" * len(cols))
        for b in benches:
            row = [b["name"], str(b["stats"]["rounds"])] + [_cell(b["extra_info"].get(k)) for k, _ in cols]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv):
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT
    print(report(json.loads(path.read_text())))


if __name__ == "__main__":
    main(sys.argv)
