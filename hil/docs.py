"""The tables of the user documentation that other files own, generated.

`python -m hil.docs` rewrites every block between a marker pair

    <!-- generated: NAME -->
    ...
    <!-- end -->

in `docs/*.md` and `CONTRIBUTING.md` with the table NAME of `TABLES`, built from
the packet dictionary (`ground/dictionary/`), the board files (`boards/*.json`) and
the scenario registrations (`hil/scenarios/`, `@scenario(ID, title, criterion)`).
`python -m hil.docs --check` writes nothing and exits 1 when a document is stale;
`tests/ground/test_docs.py` fails in that case too. Text outside the markers is
written by hand and left alone.
"""

import re
import sys

from ground import REPO_ROOT
from ground import dictionary as d

DOCUMENTS = [REPO_ROOT / "docs" / "protocol.md", REPO_ROOT / "docs" / "gnc.md", REPO_ROOT / "docs" / "architecture.md", REPO_ROOT / "CONTRIBUTING.md"]

MARKER = re.compile(r"(<!-- generated: ([a-z_]+) -->\n)(.*?)(<!-- end -->)", re.S)


def _cell(value):
    """A Markdown table cell: pipes escaped, no line breaks."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _num(value):
    if isinstance(value, float):
        return "%g" % value
    return str(value)


def _field(field):
    """One payload field as `name: type [min..max] units`, lists and typed tails spelt out."""
    if isinstance(field, d.F):
        text = "%s: %s" % (field.name, field.type)
        if field.minimum is not None or field.maximum is not None:
            type_lo, type_hi = d.SCALARS[field.type][2:]
            lo = field.minimum if field.minimum is not None else type_lo
            hi = field.maximum if field.maximum is not None else type_hi
            text += " [%s..%s]" % ("" if lo is None else _num(lo), "" if hi is None else _num(hi))
        if field.units:
            text += " " + field.units
        if field.names:
            text += " (%s)" % ", ".join("%d %s" % (n, name) for n, name in sorted(field.names.items()))
        return text
    if isinstance(field, d.List):
        return "%s: u8 count, then {%s}" % (field.name, ", ".join(_field(f) for f in field.item))
    if isinstance(field, d.ParamValue):
        return "%s: typed by %s" % (field.name, field.id_field)
    if isinstance(field, d.Typed):
        what = {"hk": "the structure", "event": "the event", "function": "the function"}[field.table]
        return "%s: the rest, typed by %s (%s)" % (field.name, what, field.key_field)
    if isinstance(field, d.Blob):
        return "%s: u16 length, then octets" % field.name
    if isinstance(field, d.Rest):
        return "%s: the remaining octets" % field.name
    raise TypeError("not a dictionary field: %r" % (field,))


def _fields(fields):
    return "; ".join(_field(f) for f in fields) or "(none)"


def _owner(apid):
    return "0x%03X %s" % (apid, d.APIDS[apid][0])


# --- dictionary tables -------------------------------------------------------------


def apids_table():
    vehicle = {c.apid: v.name for v in d.VEHICLES for c in v.components}
    rows = []
    for apid, (name, doc) in sorted(d.APIDS.items()):
        comp = d.COMPONENT_BY_NAME.get(name)
        serves = []
        if comp is not None:
            serves = ["ST%d" % s for s in comp.services]
            if comp.functions:
                serves.append("ST8 (%d functions)" % len(comp.functions))
        rows.append(("0x%03X" % apid, name, vehicle.get(apid, "every vehicle" if comp is not None else "-"), ", ".join(serves) or "-", doc))
    return _table(("APID", "name", "vehicle", "serves", "what"), rows)


def services_table():
    rows = []
    for s in d.SERVICES:
        tcs = ["%d %s" % (m.subtype, m.name) for m in d.MESSAGES if m.service == s.number and m.kind == "tc"]
        tms = ["%d %s" % (m.subtype, m.name) for m in d.MESSAGES if m.service == s.number and m.kind == "tm"]
        rows.append(("ST%d" % s.number, s.name, s.doc, ", ".join(tcs) or "-", ", ".join(tms) or "-"))
    return _table(("service", "CLI name", "what", "TC subtypes", "TM subtypes"), rows)


def messages_table():
    rows = []
    for m in sorted(d.MESSAGES, key=lambda m: (m.service, m.subtype)):
        name = "%s.%s" % (d.SERVICE_BY_NUMBER[m.service].name, m.name)
        rows.append(("%d.%d" % (m.service, m.subtype), m.kind.upper(), name, _fields(m.payload), m.doc))
    return _table(("type", "kind", "name", "payload (big-endian, in order)", "what"), rows)


def errors_table():
    return _table(("code", "name", "meaning"), [(code, name, doc) for code, name, doc in d.ERRORS])


def security_table():
    return _table(("reason", "name"), sorted(d.SECURITY_REASONS.items()))


def functions_table():
    rows = []
    for c in d.COMPONENTS:
        for fn in c.functions:
            rows.append(
                (
                    "0x%04X" % fn.id,
                    "%s.%s" % (c.name, fn.name),
                    "0x%03X" % c.apid,
                    _fields(fn.args),
                    ", ".join(fn.modes) if fn.modes else "any",
                    fn.doc,
                )
            )
    return _table(("ID", "command", "APID", "arguments", "allowed in", "what"), rows)


def events_table():
    rows = []
    for e in d.EVENTS:
        rows.append((e.id, e.name, e.severity, _owner(d.OWNER[("event", e.id)]), _fields(e.aux), e.doc))
    return _table(("ID", "name", "severity", "owner", "auxiliary data", "what"), rows)


def params_table():
    rows = []
    for p in d.PARAMS:
        rows.append(
            (p.id, p.name, p.type, "%s..%s" % (_num(p.minimum), _num(p.maximum)), _num(p.default), p.units or "-", "yes" if p.writable else "no", p.doc)
        )
    return _table(("ID", "name", "type", "range", "default", "units", "settable", "what"), rows)


def hk_table():
    rows = []
    for h in d.HK_STRUCTURES:
        rows.append((h.sid, h.name, _owner(d.OWNER[("hk", h.sid)]), len(h.fields), ", ".join(f.name for f in h.fields), h.doc))
    return _table(("SID", "name", "owner", "fields", "field names", "what"), rows)


def limits_table():
    rows = []
    for lim in d.LIMITS:
        h = d.HK_BY_SID[lim.sid]
        rows.append(
            (
                "%s.%s" % (h.name, lim.field),
                _num(lim.low) if lim.low is not None else "-",
                _num(lim.high) if lim.high is not None else "-",
                d.LIMIT_ACTIONS[lim.action],
                lim.doc,
            )
        )
    return _table(("value", "low", "high", "action", "why"), rows)


def modes_table():
    rows = []
    for v in d.VEHICLES:
        for n, name, doc in v.modes:
            rows.append((v.name, n, name + (" (boot)" if n == v.boot_mode else ""), doc))
    return _table(("vehicle", "number", "mode", "what"), rows)


# --- boards and scenarios ----------------------------------------------------------


def boards():
    from ground.sitl import known_boards, load_board

    return [load_board(name) for name in known_boards()]


def boards_table():
    rows = []
    for b in boards():
        link = b["link"]
        where = "USB-CDC" if link["kind"] == "usb-cdc" else "UART%d (tx %d, rx %d)" % (link.get("uart", 0), link["tx"], link["rx"])
        rows.append(
            (
                "`%s`" % b["name"],
                "%s (%s, mpy-cross `%s`)" % (b["mcu"], b["cpu"], b["mpy_cross_arch"]),
                "%s at %d baud; rx buffer %d B, frame <= %d B, ack window %d ms"
                % (where, link["baud"], link["rx_buffer"], link["max_frame"], link["ack_window_ms"]),
                "%d B (%d KB)" % (b["heap_budget"], b["heap_budget"] // 1024),
                "%d B (%d KB)" % (b["flash_budget"], b["flash_budget"] // 1024),
                "%d ms" % b["watchdog_ms"],
                "on" if b.get("security", True) else "off",
                ", ".join(b["devices"]),
            )
        )
    return _table(("board", "MCU", "link", "heap budget", "flash budget", "watchdog", "security", "emulated devices"), rows)


def scenarios_table():
    from hil.scenarios import load_all

    scenarios = load_all()
    order = lambda sid: ("DPEMGSAR".index(sid[0]) if sid[0] in "DPEMGSAR" else 9, sid)  # noqa: E731
    rows = []
    for sid in sorted(scenarios, key=order):
        s = scenarios[sid]
        rows.append((sid, s.title, s.criterion, s.default_runs, "`%s`" % s.fn.__module__))
    return _table(("ID", "scenario", "pass criterion (as the code judges it)", "default runs", "module"), rows)


TABLES = {
    "apids": apids_table,
    "services": services_table,
    "messages": messages_table,
    "errors": errors_table,
    "security_reasons": security_table,
    "functions": functions_table,
    "events": events_table,
    "params": params_table,
    "hk": hk_table,
    "limits": limits_table,
    "modes": modes_table,
    "boards": boards_table,
    "scenarios": scenarios_table,
}


def render(text, tables=None):
    """`text` with every marked block replaced by its generated table; ValueError for an unknown name."""
    tables = TABLES if tables is None else tables
    made = {}

    def replace(match):
        name = match.group(2)
        if name not in tables:
            raise ValueError("unknown generated table %r (known: %s)" % (name, ", ".join(sorted(tables))))
        if name not in made:
            made[name] = tables[name]()
        return match.group(1) + made[name] + match.group(4)

    return MARKER.sub(replace, text)


def names_in(text):
    """The table names marked in `text`, in order."""
    return [m.group(2) for m in MARKER.finditer(text)]


def generated_files(documents=None):
    """{path: text as it should be} of every document that exists."""
    out = {}
    for path in documents or DOCUMENTS:
        if path.exists():
            out[path] = render(path.read_text())
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    stale = []
    for path, text in generated_files().items():
        if path.read_text() == text:
            continue
        stale.append(path)
        if not check:
            path.write_text(text)
            print("wrote %s" % path.relative_to(REPO_ROOT))
    if check and stale:
        for path in stale:
            print("stale: %s (run `python -m hil.docs`)" % path.relative_to(REPO_ROOT), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
