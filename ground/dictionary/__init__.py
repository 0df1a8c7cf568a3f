"""The packet dictionary: the one definition of mitra's packets (PROTOCOL.md).

Declared by owner, F Prime habit: `services` holds the PUS services and their
TC/TM payloads, `obc` the on-board computer's events, parameters and
housekeeping, and `inspector` / `rover` each vehicle's modes and, per
application process (APID), its ST8 functions, events, parameters and
housekeeping. This module gathers them into the tables everything else reads:

- the construct codecs (`ground.codec`), which follow the field names of CCSDS
  133.0-B-2 and ECSS-E-ST-70-41C as `spacepackets` spells them;
- the firmware codec and routing tables (`firmware/fsw/dictionary.py`, by `ground.export`);
- the JSON dictionary (`ground dict --format json`) and the CLI's command names:
  `service.command` for the PUS services (`test.ping`), `component.function`
  for ST8 functions (`rover_mobility.set_mode`), each routed to its owner's APID.
"""

from collections import namedtuple

from ground.dictionary import inspector, obc, rover
from ground.dictionary.services import (  # noqa: F401 (re-exported)
    CUC_P_FIELD,
    ERRORS,
    GROUND_ID,
    IDLE_APID,
    MAC_LEN,
    MAX_FRAME,
    MESSAGES,
    FUNCTION_REPLIES,
    PUS_VERSION,
    REPLIES,
    SEC_HEADER_LEN,
    SERVICES,
)
from ground.dictionary.types import (  # noqa: F401 (re-exported)
    SCALARS,
    Blob,
    Component,
    Event,
    F,
    Function,
    HkStructure,
    Limit,
    List,
    Message,
    Param,
    ParamValue,
    Rest,
    Service,
    Typed,
    Vehicle,
    f,
)

SECURITY_REASONS = obc.SECURITY_REASONS
SECURITY_REASON_BY_NAME = {name: n for n, name in SECURITY_REASONS.items()}
VEHICLES = [inspector.VEHICLE, rover.VEHICLE]
COMPONENTS = [obc.COMPONENT] + [c for v in VEHICLES for c in v.components]

APIDS = {c.apid: (c.name, c.doc) for c in COMPONENTS}
APIDS[IDLE_APID] = ("idle", "idle packets")

EVENTS = [e for c in COMPONENTS for e in c.events]
PARAMS = [p for c in COMPONENTS for p in c.params]
HK_STRUCTURES = [h for c in COMPONENTS for h in c.hk]
FUNCTIONS = [fn for c in COMPONENTS for fn in c.functions]
LIMITS = [lim for c in COMPONENTS for lim in c.limits]
LIMIT_ACTIONS = {0: "report", 1: "safe"}
SAFING_REASONS = obc.SAFING_REASONS
TASK_ERRORS = obc.TASK_ERRORS

# --- Look-ups ----------------------------------------------------------------------

SERVICE_BY_NUMBER = {s.number: s for s in SERVICES}
SERVICE_BY_NAME = {s.name: s for s in SERVICES}
MESSAGE_BY_KEY = {(m.kind, m.service, m.subtype): m for m in MESSAGES}
MESSAGE_BY_NAME = {"%s.%s" % (SERVICE_BY_NUMBER[m.service].name, m.name): m for m in MESSAGES}
ERROR_BY_CODE = {code: name for code, name, _ in ERRORS}
ERROR_BY_NAME = {name: code for code, name, _ in ERRORS}
EVENT_BY_ID = {e.id: e for e in EVENTS}
EVENT_BY_NAME = {e.name: e for e in EVENTS}
PARAM_BY_ID = {p.id: p for p in PARAMS}
PARAM_BY_NAME = {p.name: p for p in PARAMS}
HK_BY_SID = {h.sid: h for h in HK_STRUCTURES}
HK_BY_NAME = {h.name: h for h in HK_STRUCTURES}
FUNCTION_BY_ID = {fn.id: fn for fn in FUNCTIONS}
APID_BY_NAME = {name: apid for apid, (name, _) in APIDS.items()}
COMPONENT_BY_NAME = {c.name: c for c in COMPONENTS}
VEHICLE_BY_NAME = {v.name: v for v in VEHICLES}
# owner APID of each event, parameter, structure and function
OWNER = {}
for _c in COMPONENTS:
    for _kind, _items, _key in (("event", _c.events, "id"), ("param", _c.params, "id"), ("hk", _c.hk, "sid"), ("function", _c.functions, "id")):
        for _item in _items:
            OWNER[(_kind, getattr(_item, _key))] = _c.apid
VEHICLE_OF_APID = {c.apid: v for v in VEHICLES for c in v.components}
# which APID answers each PUS service other than ST8 (the OBC's, for every vehicle)
SERVICE_APID = {s: c.apid for c in COMPONENTS for s in c.services}
FUNCTION_MESSAGE = MESSAGE_BY_KEY[("tc", 8, 1)]


class Command(namedtuple("Command", "name apid service subtype kind payload doc function")):
    """A TC the ground can send: a service message or an ST8 function, with the APID
    that serves it. `payload` is the fields the operator gives (a function's arguments)."""

    @property
    def replies(self):
        """(service, subtype) of the TM this TC asks for besides its ST1 reports."""
        names = FUNCTION_REPLIES if self.function is not None else REPLIES.get(self.name, ())
        return {(MESSAGE_BY_NAME[n].service, MESSAGE_BY_NAME[n].subtype) for n in names}

    def data(self, values):
        """The whole TC payload for codec.encode_tc from the operator's values."""
        if self.function is None:
            return values or {}
        return {"function_id": self.function.id, "args": values or {}}


def _service_command(service, m):
    return Command("%s.%s" % (service.name, m.name), SERVICE_APID.get(m.service, obc.COMPONENT.apid), m.service, m.subtype, "tc", m.payload, m.doc, None)


def _function_command(component, fn):
    return Command("%s.%s" % (component.name, fn.name), component.apid, 8, 1, "tc", fn.args, fn.doc, fn)


def commands():
    """Every command the ground can send, by its CLI name."""
    out = {}
    for m in MESSAGES:
        if m.kind == "tc" and m.service != 8:
            service = SERVICE_BY_NUMBER[m.service]
            out["%s.%s" % (service.name, m.name)] = _service_command(service, m)
    for c in COMPONENTS:
        for fn in c.functions:
            out["%s.%s" % (c.name, fn.name)] = _function_command(c, fn)
    return out


COMMANDS = None  # filled below, after _check()


def command(name):
    """The Command for 'service.command' or 'component.function', or raise DictionaryError."""
    from ground.errors import DictionaryError

    found = COMMANDS.get(name)
    if found is not None:
        return found
    prefix, _, _ = name.partition(".")
    known = sorted(k for k in COMMANDS if k.partition(".")[0] == prefix)
    if known:
        raise DictionaryError("unknown command %r (known: %s)" % (name, ", ".join(known)))
    if prefix in SERVICE_BY_NAME:
        raise DictionaryError("service %r has no commands (it only reports)" % prefix)
    if prefix in COMPONENT_BY_NAME:
        raise DictionaryError("%s has no functions yet" % prefix)
    prefixes = sorted(set(k.partition(".")[0] for k in COMMANDS))
    raise DictionaryError("unknown service or component %r (known: %s)" % (prefix, ", ".join(prefixes)))


def tc_messages():
    return [m for m in MESSAGES if m.kind == "tc"]


def tm_messages():
    return [m for m in MESSAGES if m.kind == "tm"]


def mode_names(vehicle):
    return {n: name for n, name, _ in VEHICLE_BY_NAME[vehicle].modes}


def key(name):
    """(service, subtype) of a message by its 'service.message' name."""
    m = MESSAGE_BY_NAME[name]
    return m.service, m.subtype


def _check():
    """Refuse an inconsistent dictionary at import: duplicate numbers or names, bad ranges, unknown modes."""
    for label, items in (
        ("APID", [c.apid for c in COMPONENTS]),
        ("component name", [c.name for c in COMPONENTS]),
        ("message", [(m.kind, m.service, m.subtype) for m in MESSAGES]),
        ("error code", [c for c, _, _ in ERRORS]),
        ("event", [e.id for e in EVENTS]),
        ("event name", [e.name for e in EVENTS]),
        ("parameter", [p.id for p in PARAMS]),
        ("parameter name", [p.name for p in PARAMS]),
        ("HK structure", [h.sid for h in HK_STRUCTURES]),
        ("HK structure name", [h.name for h in HK_STRUCTURES]),
        ("function", [fn.id for fn in FUNCTIONS]),
    ):
        if len(set(items)) != len(items):
            dup = sorted(set(x for x in items if items.count(x) > 1), key=str)
            raise ValueError("duplicate %s in the dictionary: %s" % (label, dup))
    for n in list(REPLIES) + [r for rs in REPLIES.values() for r in rs] + list(FUNCTION_REPLIES):
        if n not in MESSAGE_BY_NAME:
            raise ValueError("reply table names unknown message %r" % n)
    for p in PARAMS:
        if p.type not in SCALARS:
            raise ValueError("parameter %s has unknown type %r" % (p.name, p.type))
        if not p.minimum <= p.default <= p.maximum:
            raise ValueError("parameter %s default outside its range" % p.name)
    for v in VEHICLES:
        names = [name for _, name, _ in v.modes]
        if [n for n, _, _ in v.modes] != list(range(len(v.modes))) or len(v.modes) > 16:
            raise ValueError("vehicle %s: modes must be numbered 0..n-1 (at most 16)" % v.name)
        for c in v.components:
            for fn in c.functions:
                for m in fn.modes or ():
                    if m not in names:
                        raise ValueError("%s.%s: unknown mode %r of %s" % (c.name, fn.name, m, v.name))
    for fn in FUNCTIONS:
        for a in fn.args:
            if not isinstance(a, F):
                raise ValueError("function %s: arguments are scalars (%r)" % (fn.name, a))
            lo, hi = SCALARS[a.type][2:]
            if a.type != "f32" and ((a.minimum is not None and a.minimum < lo) or (a.maximum is not None and a.maximum > hi)):
                raise ValueError("function %s: range of %s exceeds its type" % (fn.name, a.name))
    for lim in LIMITS:
        limit_field(lim)
        if lim.action not in LIMIT_ACTIONS:
            raise ValueError("limit on %s: action %r is not one of %s" % (lim.field, lim.action, sorted(LIMIT_ACTIONS)))
        if (lim.low is None and lim.high is None) or (lim.low is not None and lim.high is not None and lim.low > lim.high):
            raise ValueError("limit on %s: needs low <= high, at least one of them" % lim.field)


def limit_field(lim):
    """The index of a limit's field in its housekeeping structure (a scalar), or raise ValueError."""
    h = HK_BY_SID.get(lim.sid)
    if h is None:
        raise ValueError("limit on %s: no housekeeping structure %r" % (lim.field, lim.sid))
    for i, field in enumerate(h.fields):
        if field.name == lim.field:
            if not isinstance(field, F):
                raise ValueError("limit on %s.%s: not a scalar field" % (h.name, lim.field))
            return i
    raise ValueError("limit: structure %s has no field %r" % (h.name, lim.field))


_check()
COMMANDS = commands()
