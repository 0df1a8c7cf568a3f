"""One readable line per decoded packet, with names from the dictionary."""

import datetime
import json

from ground import dictionary as d

EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)


def cuc_text(time):
    moment = EPOCH + datetime.timedelta(seconds=time["coarse"] + time["fine"] / 65536)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def _value(key, value, names=None):
    if names and value in names:
        return names[value]
    if isinstance(value, (bytes, bytearray)):
        return "%d octets" % len(value)
    if key == "function_id" and value in d.FUNCTION_BY_ID:
        fn = d.FUNCTION_BY_ID[value]
        return "%s.%s" % (d.APIDS[d.OWNER[("function", value)]][0], fn.name)
    if key == "param_id" and value in d.PARAM_BY_ID:
        return d.PARAM_BY_ID[value].name
    if key == "event_id" and value in d.EVENT_BY_ID:
        return d.EVENT_BY_ID[value].name
    if key == "error":
        return "%s(%d)" % (d.ERROR_BY_CODE.get(value, "UNKNOWN"), value)
    if key == "request_id":
        return "apid=0x%03x,seq=%d" % ((value >> 16) & 0x7FF, value & 0x3FFF)
    if key == "reason":
        return d.SECURITY_REASONS.get(value, str(value))
    return value


def _fields(data, names=None):
    # names: {field name: {value: name}} of the enumerated fields (modes, devices)
    names = names or {}
    parts = []
    for key, value in data.items():
        if key == "params" and isinstance(value, list):
            parts += ["%s=%s" % (_value("param_id", p["param_id"]), p["value"]) for p in value]
        elif isinstance(value, dict):
            parts += _fields(value, names)
        elif isinstance(value, list):
            parts.append("%s=[%s]" % (key, ", ".join(" ".join(_fields(_release(v))) if isinstance(v, dict) else str(v) for v in value)))
        else:
            parts.append("%s=%s" % (key, _value(key, value, names.get(key))))
    return parts


def _release(item):
    # a schedule summary's activity: its release time as a date-time, not CUC fields
    if "request_id" in item and "coarse" in item and "fine" in item:
        return {"request_id": item["request_id"], "release": cuc_text(item)}
    return item


def line(packet):
    """`TM 2026-11-25T03:00:00.000Z obc #12 hk.report sid=1 uptime=5 ...`"""
    if packet["name"] == "idle":  # codec.decode: fill, no PUS header (so no time)
        n = packet["data_len"] + 1
        return "%s idle #%d %d octet%s of idle data" % (packet["type"].upper(), packet["seq_count"], n, "" if n == 1 else "s")
    apid = d.APIDS.get(packet["apid"], ("0x%03x" % packet["apid"],))[0]
    name = packet.get("name") or "%d.%d" % (packet["service"], packet["subtype"])
    head = [packet["type"].upper()]
    if packet["type"] == "tm":
        head.append(cuc_text(packet["time"]))
    head += [apid, "#%d" % packet["seq_count"], name]
    data = packet["data"]
    if isinstance(data, dict):
        names = {}
        if packet["service"] == 5 and "aux" in data:
            event = d.EVENT_BY_ID.get(data["event_id"])
            head[-1] = "%s:%s" % (name, event.name if event else data["event_id"])
            data = data["aux"]
            names = _enum_names(event.aux if event else ())
        elif packet["service"] == 3 and "params" in data and data.get("sid") in d.HK_BY_SID:
            names = _enum_names(d.HK_BY_SID[data["sid"]].fields)
        elif packet["service"] == 8 and data.get("function_id") in d.FUNCTION_BY_ID:
            names = _enum_names(d.FUNCTION_BY_ID[data["function_id"]].args)
        head += _fields(data, names)
    else:
        head.append("data=%s" % data)
    return " ".join(str(x) for x in head)


def _enum_names(fields):
    return {x.name: x.names for x in fields if isinstance(x, d.F) and x.names}


def _octets_as_hex(obj):
    if isinstance(obj, (bytes, bytearray)):
        return obj.hex()
    raise TypeError("not JSON serialisable: %r" % type(obj))


def as_json(packet, **kwargs):
    """One packet as JSON; octet strings (embedded TCs, large-data parts) as hex."""
    return json.dumps(packet, sort_keys=False, default=_octets_as_hex, **kwargs)
