"""Command-line arguments to TC payloads, by the dictionary.

    test.ping
    param.set obc.hk_period_ms=2000 link.replay_window=512
    param.get obc.hk_period_ms 3            (names or IDs; none: all)
    hk.one_shot obc                         (structure names or SIDs)
    hk.change_interval obc:1000             (list items with several fields: a:b)
    time.set_time now | 2026-11-25T12:00:00 | COARSE [FINE]
    time.set_rate 0                         (scalars: positional or name=value)
    rover_mobility.set_mode DRIVE           (ST8 functions: enumerated values by name)

Values are checked against their types and, for parameters, against their
ranges before anything is sent: a bad argument is an ArgumentError naming the
field and what it accepts. The argparse types of the CLI's own options (seconds,
counts, integers in a range) are at the end.
"""

import argparse
import datetime
import math
import struct

from ground import dictionary as d
from ground.errors import ArgumentError

EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)

# Fields whose values may be given by name.
_NAMED = {
    "param_id": {p.name: p.id for p in d.PARAMS},
    "event_id": {e.name: e.id for e in d.EVENTS},
    "sid": {h.name: h.sid for h in d.HK_STRUCTURES},
}


def scalar(field, text, type_=None):
    """Parse one scalar field value from text, range-checked for its type and the field's own range."""
    type_ = type_ or field.type
    names = {name: value for value, name in field.names.items()} if getattr(field, "names", None) else _NAMED.get(field.name, {})
    if text in names:
        return names[text]
    try:
        if type_ == "f32":
            value = float(text)
            if math.isnan(value) or math.isinf(value):
                raise ValueError
            struct.pack(">f", value)
        else:
            value = int(text, 0)
    except (ValueError, OverflowError):
        kind = "a number" if type_ == "f32" else "an integer"
        hint = (" or one of: " + ", ".join(sorted(names))) if names else ""
        raise ArgumentError("%s: %r is not %s%s" % (field.name, text, kind, hint)) from None
    if type_ != "f32":
        lo, hi = d.SCALARS[type_][2:]
        if not lo <= value <= hi:
            raise ArgumentError("%s: %d outside %s range %d..%d" % (field.name, value, type_, lo, hi))
    lo, hi = getattr(field, "minimum", None), getattr(field, "maximum", None)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ArgumentError("%s: %s outside its range %s..%s" % (field.name, text, _bound(lo, type_, 2), _bound(hi, type_, 3)))
    return value


def _bound(value, type_, index):
    if value is not None:
        return value
    limit = d.SCALARS[type_][index]
    return limit if limit is not None else ("-inf" if index == 2 else "inf")


def param_value(param, text):
    field = d.F(param.name, param.type, param.units, param.doc)
    value = scalar(field, text)
    if not param.minimum <= value <= param.maximum:
        raise ArgumentError("%s=%s outside its range %s..%s" % (param.name, text, param.minimum, param.maximum))
    if not param.writable:
        raise ArgumentError("%s is read-only" % param.name)
    return value


def _param(token):
    key = token if not token.isdigit() else int(token)
    param = d.PARAM_BY_ID.get(key) if isinstance(key, int) else d.PARAM_BY_NAME.get(key)
    if param is None:
        raise ArgumentError("unknown parameter %r (known: %s)" % (token, ", ".join(p.name for p in d.PARAMS)))
    return param


def iso_utc(text):
    """An ISO 8601 date-time (a trailing Z allowed) as an aware datetime, UTC when it carries no zone; else ValueError."""
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.timezone.utc)


def _time(fields, tokens):
    if len(tokens) == 1 and not tokens[0].lstrip("-").isdigit():
        text = tokens[0]
        if text == "now":
            moment = datetime.datetime.now(datetime.timezone.utc)
        else:
            try:
                moment = iso_utc(text)
            except ValueError:
                raise ArgumentError("time: %r is not 'now', an ISO date-time or COARSE [FINE]" % text) from None
        seconds = (moment - EPOCH).total_seconds()
        if seconds < 0:
            raise ArgumentError("time: %s is before the CUC epoch 2000-01-01T00:00:00" % text)
        coarse = int(seconds)
        return {"coarse": coarse, "fine": int((seconds - coarse) * 65536)}
    return None


def payload(command, tokens):
    """The operator's values for `command` (a `d.command()`: service TC or ST8 function) from CLI tokens."""
    fields = command.payload
    name = command.name
    if name in ("sched.insert", "sched.delete"):
        from ground import schedule  # AT COMMAND [ARGS...] and printed request IDs: ground/schedule.py

        return schedule.insert(tokens) if name == "sched.insert" else schedule.delete(tokens)
    if name == "time.set_time":
        when = _time(fields, tokens)
        if when is not None:
            return when
    if not fields:
        if tokens:
            raise ArgumentError("%s takes no arguments (got %s)" % (name, " ".join(tokens)))
        return {}
    if len(fields) == 1 and isinstance(fields[0], d.List):
        return {fields[0].name: _list(fields[0], tokens)}
    out = {}
    positional = [t for t in tokens if "=" not in t]
    named = dict(t.split("=", 1) for t in tokens if "=" in t)
    for field in fields:
        if isinstance(field, d.List) and field is fields[-1]:
            out[field.name] = _list(field, positional)  # a trailing list takes the remaining arguments (large.resend)
            positional = []
        elif field.name in named:
            out[field.name] = scalar(field, named.pop(field.name))
        elif positional:
            out[field.name] = scalar(field, positional.pop(0))
        else:
            raise ArgumentError("%s: missing %s (%s)" % (name, field.name, field.doc))
    if named or positional:
        extra = list(named) + positional
        raise ArgumentError("%s: unexpected argument(s) %s (takes %s)" % (name, " ".join(extra), ", ".join(f.name for f in fields)))
    return out


def _list(field, tokens):
    item = field.item
    if len(tokens) > 255:
        raise ArgumentError("%s: at most 255 items, got %d" % (field.name, len(tokens)))
    if any(isinstance(x, d.ParamValue) for x in item):
        out = []
        for token in tokens:
            if "=" not in token:
                raise ArgumentError("%s: expected NAME=VALUE, got %r" % (field.name, token))
            key, text = token.split("=", 1)
            param = _param(key)
            out.append({"param_id": param.id, "value": param_value(param, text)})
        return out
    out = []
    for token in tokens:
        parts = token.split(":")
        if len(parts) != len(item):
            raise ArgumentError(
                "%s: expected %s, got %r" % (field.name, ":".join(x.name.upper() for x in item), token)
            )
        entry = {}
        for sub, text in zip(item, parts):
            if sub.name == "param_id":
                entry[sub.name] = _param(text).id
            else:
                entry[sub.name] = scalar(sub, text)
        out.append(entry)
    return out


# --- argparse types of the CLI's options (ground/cli.py, ground/transfer.py) ---------------


def _option(name, convert, ok, want):
    """An argparse type: `convert(text)` (ValueError: not `name`), then `ok(value)` or 'must be `want`'."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%r is not %s" % (text, name)) from None
        if not ok(value):
            raise argparse.ArgumentTypeError("must be %s, got %s" % (want, text))
        return value

    parse.__name__ = name  # argparse names the type in its own messages
    return parse


# Refused before anything is sent: a negative or NaN timeout would send the TC and then give up on it.
seconds = _option("a number", float, lambda v: math.isfinite(v) and v > 0, "a finite number of seconds > 0")
seconds_or_zero = _option("a number", float, lambda v: math.isfinite(v) and v >= 0, "a finite number of seconds >= 0")
count = _option("an integer", int, lambda v: v >= 0, ">= 0")
positive = _option("an integer", int, lambda v: v > 0, "> 0")


def int_in(lo, hi):
    """An integer option in lo..hi (decimal, or 0x.. hexadecimal)."""
    return _option("an integer", lambda text: int(text, 0), lambda v: lo <= v <= hi, "in %d..%d" % (lo, hi))


# --- the options of every command that talks to a board over its link --------------------------
# (send, tlm, fetch, console, yamcs): one definition, so a board file's link limits reach all of them

DEFAULT_BOARD = "rp2-pico"


def add_link_options(p, port=True):
    """--port (unless the command puts it in a group of its own), --key, --clear, --board, --baud,
    --ack-window on parser `p`; `link_settings(opts)` resolves them."""
    if port:
        p.add_argument("--port", required=True, help="serial port of the board or of `ground sitl`")
    p.add_argument("--key", help="key-store name of the link's uplink key (default: the port's name)")
    p.add_argument("--clear", action="store_true", help="clear mode (SPI 0): only for boards with security off")
    p.add_argument("--board", default=DEFAULT_BOARD,
                   help="board file in boards/ (default %s): its link's largest frame (a longer TC is refused before "
                        "it is sent), baud and ack window; with --sitl also the board it runs" % DEFAULT_BOARD)
    p.add_argument("--baud", type=positive, default=None, help="link baud rate (default: the board file's)")
    p.add_argument("--ack-window", type=seconds_or_zero, default=None,
                   help="uplink pacing window of the board, s (default: the board file's)")


def link_settings(opts):
    """{'baud', 'ack_window_s', 'max_frame'} of the link: --baud / --ack-window where given, else
    the board file's link section, else the protocol's; UnknownBoard for a board with no file."""
    from ground.link import board_link
    from ground.sitl import load_board

    settings = board_link(load_board(opts.board))
    if opts.baud is not None:
        settings["baud"] = opts.baud
    if opts.ack_window is not None:
        settings["ack_window_s"] = opts.ack_window
    return settings
