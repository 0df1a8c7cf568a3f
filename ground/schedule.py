"""Command-line arguments of the ST11 time-based schedule (ECSS-E-ST-70-41C 6.11).

    sched.insert AT COMMAND [ARGS...]    AT: +SECONDS (from UTC now), an ISO date-time (UTC
                                         unless it says otherwise) or COARSE (CUC seconds)
    sched.delete REQUEST_ID...           as `sched.summary` prints them (apid=0x001,seq=5)
                                         or as integers (0x1801c005)

The inner COMMAND is any dictionary command (a service TC or an ST8 function), encoded
as a whole TC packet for its owner's APID with its own sequence count. The board's
clock is set from UTC by `time.set_time now`, so release times are taken in UTC.
Everything is checked before anything is sent: an unknown inner command, bad inner
arguments, a release time not in the future, an insert longer than a frame.
"""

import datetime
import os

from ground import codec
from ground import dictionary as d
from ground.errors import ArgumentError

EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
# what the security layer adds around the insert TC on the uplink (PROTOCOL.md 1)
_UPLINK_OVERHEAD = d.SEC_HEADER_LEN + d.MAC_LEN
_FINE = 65536


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def release_time(text, now=None):
    """(coarse, fine) of AT: '+SECONDS', an ISO date-time or COARSE; refused unless in the future."""
    now = now or _now()
    if text.startswith("+"):
        try:
            delay = float(text[1:])
        except ValueError:
            delay = None
        if delay is None or not delay > 0 or delay != delay or delay == float("inf"):
            raise ArgumentError("sched.insert: %r is not +SECONDS (a positive number of seconds from now)" % text)
        moment = now + datetime.timedelta(seconds=delay)
    elif text.isdigit():
        coarse = int(text)
        if coarse > 0xFFFFFFFF:
            raise ArgumentError("sched.insert: %d outside the CUC coarse range 0..4294967295" % coarse)
        moment = EPOCH + datetime.timedelta(seconds=coarse)
    else:
        try:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ArgumentError("sched.insert: release time %r is not +SECONDS, an ISO date-time or COARSE" % text) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
    if moment <= now:
        raise ArgumentError("sched.insert: release time %s is not in the future (UTC now %s)" % (_iso(moment), _iso(now)))
    ticks = (moment - EPOCH) // datetime.timedelta(microseconds=1)  # integer microseconds
    coarse, us = divmod(ticks, 1000000)
    if coarse > 0xFFFFFFFF:
        raise ArgumentError("sched.insert: release time %s is past the end of CUC time" % _iso(moment))
    return coarse, us * _FINE // 1000000


def _iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def insert(tokens, now=None, seq_count=None):
    """The sched.insert payload: {'coarse', 'fine', 'tc'} from AT COMMAND [ARGS...]."""
    from ground import args as cliargs  # args dispatches here: import late

    if len(tokens) < 2:
        raise ArgumentError("sched.insert: expected AT COMMAND [ARGS...] (e.g. sched.insert +60 test.ping)")
    coarse, fine = release_time(tokens[0], now)
    inner = d.command(tokens[1])  # DictionaryError names the known commands
    values = cliargs.payload(inner, tokens[2:])
    if seq_count is None:
        seq_count = int.from_bytes(os.urandom(2), "big") & 0x3FFF  # distinct request IDs across sessions
    tc = codec.encode_command(inner, values, seq_count=seq_count)
    size = len(codec.encode_command(d.command("sched.insert"), {"coarse": coarse, "fine": fine, "tc": tc})) + _UPLINK_OVERHEAD
    if size > d.MAX_FRAME:
        raise ArgumentError("sched.insert: the insert of %s would be a %d-octet frame (at most %d): give it fewer arguments" % (tokens[1], size, d.MAX_FRAME))
    return {"coarse": coarse, "fine": fine, "tc": tc}


def request_id(text):
    """A request ID from 'apid=0x001,seq=5' (as the ground prints it) or an integer."""
    if text.startswith("apid="):
        parts = dict(p.split("=", 1) for p in text.split(",") if "=" in p)
        try:
            apid = int(parts["apid"], 0)
            seq = int(parts["seq"], 0)
        except (KeyError, ValueError):
            apid = seq = -1
        if not (0 <= apid <= 0x7FF and 0 <= seq <= 0x3FFF) or len(parts) != 2:
            raise ArgumentError("sched.delete: %r is not apid=APID,seq=COUNT (APID 0..0x7ff, COUNT 0..16383)" % text)
        # a TC with a secondary header, unsegmented: how every ground TC is built
        return ((0x1800 | apid) << 16) | 0xC000 | seq
    try:
        value = int(text, 0)
    except ValueError:
        raise ArgumentError("sched.delete: %r is not a request ID (apid=0x001,seq=5 as sched.summary prints, or an integer)" % text) from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise ArgumentError("sched.delete: request ID %s outside 0..0xffffffff" % text)
    return value


def delete(tokens):
    """The sched.delete payload from request IDs."""
    if not tokens:
        raise ArgumentError("sched.delete: expected one or more request IDs (as sched.summary prints them)")
    if len(tokens) > 255:
        raise ArgumentError("sched.delete: at most 255 request IDs, got %d" % len(tokens))
    return {"requests": [{"request_id": request_id(t)} for t in tokens]}
