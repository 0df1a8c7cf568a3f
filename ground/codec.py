"""Construct codecs for mitra's space packets, built from `ground.dictionary`.

Layouts follow CCSDS 133.0-B-2 (space packet primary header, 4.1.3) and
ECSS-E-ST-70-41C (PUS-C TC secondary header 7.4.3.1, TM secondary header
7.4.3.2, request ID 6.1.9), with the PEC of CCSDS 133.0-B-2 / ECSS 7.4.3.3
(CRC-16/CCITT-FALSE) appended. Field names are those of `spacepackets`.

`decode()` checks length and PEC first and then parses with compiled
constructs (only data whose PEC checked reaches them); `Packet` is the plain
declarative definition, which `tests/ground/test_codec.py` keeps equal to the
compiled path.
"""

import binascii
import struct

from construct import (
    BitsInteger,
    BitStruct,
    Checksum,
    Const,
    Error,
    FixedSized,
    Float32b,
    GreedyBytes,
    Int8sb,
    Int8ub,
    Int16sb,
    Int16ub,
    Int32sb,
    Int32ub,
    Prefixed,
    PrefixedArray,
    RawCopy,
    Struct,
    Switch,
    Terminated,
    this,
)
from construct import ConstructError

from ground import dictionary as d
from ground.errors import ArgumentError, DictionaryError, LengthError, PacketError, PecError

PRIMARY_LEN = 6
TC_SEC_LEN = 5
TM_SEC_LEN = 13  # 7 octets + 6 octets CUC time
PEC_LEN = 2
IDLE_APID = 0x7FF  # CCSDS 133.0-B-2 4.1.3.3.4.4: all ones

_CONSTRUCT_OF = {
    "u8": Int8ub,
    "u16": Int16ub,
    "u32": Int32ub,
    "i8": Int8sb,
    "i16": Int16sb,
    "i32": Int32sb,
    "f32": Float32b,
}


def crc16(data):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF): the PEC. binascii's crc_hqx is that CRC."""
    return binascii.crc_hqx(data, 0xFFFF)


# --- Headers -------------------------------------------------------------------------

PrimaryHeader = BitStruct(
    "version" / Const(0, BitsInteger(3)) * "packet version number, always 0 (CCSDS 133.0-B-2 4.1.3.2)",
    "type" / BitsInteger(1) * "packet type: 0 telemetry, 1 telecommand",
    "sec_header_flag" / BitsInteger(1) * "1: a PUS secondary header follows (0 only on idle packets)",
    "apid" / BitsInteger(11) * "application process ID",
    "seq_flags" / BitsInteger(2) * "sequence flags: 0b11 unsegmented",
    "seq_count" / BitsInteger(14) * "sequence count per APID, wrapping at 2^14",
    "data_len" / BitsInteger(16) * "octets in the packet data field minus 1",
)

TcSecondaryHeader = BitStruct(
    "pus_version" / Const(d.PUS_VERSION, BitsInteger(4)) * "TC packet PUS version number (2: PUS-C)",
    "ack_flags" / BitsInteger(4) * "acknowledgement flags: 1 acceptance, 2 start, 4 progress, 8 completion",
    "service" / BitsInteger(8) * "service type ID",
    "subtype" / BitsInteger(8) * "message subtype ID",
    "source_id" / BitsInteger(16) * "source ID: who sent the TC",
)

CucTime = Struct(
    "coarse" / Int32ub * "seconds since 2000-01-01T00:00:00 (P-field 0x2E, implicit), s",
    "fine" / Int16ub * "binary fraction of a second, 2^-16 s",
)

TmSecondaryHeader = Struct(
    "flags"
    / BitStruct(
        "pus_version" / Const(d.PUS_VERSION, BitsInteger(4)) * "TM packet PUS version number (2: PUS-C)",
        "time_ref_status" / BitsInteger(4) * "spacecraft time reference status",
    ),
    "service" / Int8ub * "service type ID",
    "subtype" / Int8ub * "message subtype ID",
    "message_counter" / Int16ub * "message type counter (per destination)",
    "destination_id" / Int16ub * "destination ID: who the TM is for",
    "time" / CucTime * "CUC time of the report",
)

# --- Payloads, generated from the dictionary -----------------------------------------


def _field(field):
    if isinstance(field, d.F):
        units = (", " + field.units) if field.units else ""
        return field.name / _CONSTRUCT_OF[field.type] * (field.doc + units)
    if isinstance(field, d.List):
        return field.name / PrefixedArray(Int8ub, Struct(*[_field(x) for x in field.item])) * field.doc
    if isinstance(field, d.ParamValue):
        cases = {p.id: _CONSTRUCT_OF[p.type] for p in d.PARAMS}
        return field.name / Switch(this[field.id_field], cases, default=Error) * field.doc
    if isinstance(field, d.Typed):
        if field.table == "hk":
            cases = {h.sid: _struct(h.fields) for h in d.HK_STRUCTURES}
        elif field.table == "function":
            cases = {fn.id: _struct(fn.args) for fn in d.FUNCTIONS}
        else:
            cases = {e.id: _struct(e.aux) for e in d.EVENTS}
        return field.name / Switch(this[field.key_field], cases, default=Error) * field.doc
    if isinstance(field, d.Blob):
        return field.name / Prefixed(Int16ub, GreedyBytes) * field.doc
    if isinstance(field, d.Rest):
        return field.name / GreedyBytes * field.doc
    raise TypeError("not a dictionary field: %r" % (field,))


def _struct(fields):
    return Struct(*[_field(x) for x in fields])


def _payload(fields):
    return Struct(*[_field(x) for x in fields], Terminated)


PAYLOADS = {(m.kind, m.service, m.subtype): _payload(m.payload) for m in d.MESSAGES}


def _payload_switch(kind):
    cases = {(s, t): con for (k, s, t), con in PAYLOADS.items() if k == kind}
    return Switch(lambda ctx: (ctx.secondary.service, ctx.secondary.subtype), cases, default=GreedyBytes)


def _packet(secondary, sec_len, kind):
    body = Struct(
        "primary" / PrimaryHeader,
        "secondary" / secondary,
        "data" / _sized(sec_len, _payload_switch(kind)),
    )
    return Struct(
        "body" / RawCopy(body),
        "pec" / Checksum(Int16ub * "packet error control: CRC-16/CCITT-FALSE over the packet", crc16, this.body.data),
    )


def _sized(sec_len, subcon):
    """The payload: what the data length leaves after the secondary header and the PEC."""
    return FixedSized(lambda ctx: ctx.primary.data_len + 1 - sec_len - PEC_LEN, subcon)


TcPacket = _packet(TcSecondaryHeader, TC_SEC_LEN, "tc")
TmPacket = _packet(TmSecondaryHeader, TM_SEC_LEN, "tm")

# The fast path (PEC and length already checked): headers by struct, since
# construct cannot compile BitStruct; payloads by compiled constructs. The tests
# keep both equal to TcPacket / TmPacket.
_TC_HEAD = struct.Struct(">HHHBBBH")
_TM_HEAD = struct.Struct(">HHHBBBHHIH")


def _primary_dict(pid, psc, plen, kind):
    return {
        "version": pid >> 13,
        "type": kind,
        "sec_header_flag": (pid >> 11) & 1,
        "apid": pid & 0x7FF,
        "seq_flags": psc >> 14,
        "seq_count": psc & 0x3FFF,
        "data_len": plen,
    }


_FAST_PAYLOADS = {key: con.compile() for key, con in PAYLOADS.items()}


# --- Decoding ------------------------------------------------------------------------


def check(packet):
    """Raise LengthError / PecError unless `packet` is one whole space packet whose PEC checks."""
    n = len(packet)
    if n < PRIMARY_LEN + PEC_LEN:
        raise LengthError("packet of %d octets is shorter than a header and PEC" % n, expected=PRIMARY_LEN + PEC_LEN, got=n)
    want = PRIMARY_LEN + ((packet[4] << 8) | packet[5]) + 1
    if want != n:
        raise LengthError("data length field says %d octets, packet has %d" % (want, n), expected=want, got=n)
    pec = (packet[-2] << 8) | packet[-1]
    calc = crc16(packet[:-2])
    if pec != calc:
        raise PecError("PEC 0x%04x does not check (computed 0x%04x)" % (pec, calc), expected=calc, got=pec)


def _idle(packet):
    """An idle packet (CCSDS 133.0-B-2 4.1.3.3.4.4: APID all ones, no secondary header; its data
    field is fill, with no PUS header or PEC) as a dict with the primary header's fields."""
    pid, psc, plen = struct.unpack_from(">HHH", packet)
    want = PRIMARY_LEN + plen + 1
    if want != len(packet):
        raise LengthError("data length field says %d octets, idle packet has %d" % (want, len(packet)), expected=want, got=len(packet))
    out = _primary_dict(pid, psc, plen, "tc" if (pid >> 12) & 1 else "tm")
    out.update(name="idle", data=packet[PRIMARY_LEN:].hex())
    return out


def decode(packet):
    """Decode one space packet into a plain dict (JSON-ready), or raise a PacketError subclass.

    Keys follow PROTOCOL.md: version, type, apid, seq_flags, seq_count, data_len,
    then for TC: service, subtype, ack_flags, source_id; for TM: service, subtype,
    message_counter, destination_id, time; then name and data (the payload).
    An idle packet has the primary header's keys, name "idle" and its fill octets as data.
    """
    packet = bytes(packet)
    if len(packet) >= PRIMARY_LEN and packet[0] & 0xEF == IDLE_APID >> 8 and packet[1] == IDLE_APID & 0xFF:
        return _idle(packet)  # version 0, no secondary header, APID all ones; TM or TC
    check(packet)
    ptype = (packet[0] >> 4) & 1
    sec_len = TC_SEC_LEN if ptype else TM_SEC_LEN
    if packet[0] >> 5:
        raise PacketError("packet version %d is not 0" % (packet[0] >> 5), expected=0, got=packet[0] >> 5)
    if not (packet[0] >> 3) & 1:
        raise PacketError("no secondary header (flag 0): not a PUS packet", expected=1, got=0)
    if len(packet) < PRIMARY_LEN + sec_len + PEC_LEN:
        raise LengthError(
            "packet of %d octets is too short for its secondary header" % len(packet),
            expected=PRIMARY_LEN + sec_len + PEC_LEN,
            got=len(packet),
        )
    if ptype:
        pid, psc, plen, sec, service, subtype, source_id = _TC_HEAD.unpack_from(packet)
        out = _primary_dict(pid, psc, plen, "tc")
        out.update(pus_version=sec >> 4, ack_flags=sec & 0xF, service=service, subtype=subtype, source_id=source_id)
    else:
        pid, psc, plen, sec, service, subtype, counter, dest, coarse, fine = _TM_HEAD.unpack_from(packet)
        out = _primary_dict(pid, psc, plen, "tm")
        out.update(
            pus_version=sec >> 4,
            time_ref_status=sec & 0xF,
            service=service,
            subtype=subtype,
            message_counter=counter,
            destination_id=dest,
            time={"coarse": coarse, "fine": fine},
        )
    if out["pus_version"] != d.PUS_VERSION:
        raise PacketError("PUS version %d is not %d (PUS-C)" % (out["pus_version"], d.PUS_VERSION), expected=d.PUS_VERSION, got=out["pus_version"])
    key = (out["type"], out["service"], out["subtype"])
    payload = packet[PRIMARY_LEN + sec_len : -PEC_LEN]
    con = _FAST_PAYLOADS.get(key)
    if con is None:
        out["name"] = None
        out["data"] = payload.hex()
        return out
    out["name"] = message_name(d.MESSAGE_BY_KEY[key])
    try:
        out["data"] = plain(con.parse(payload))
    except (ConstructError, struct.error) as exc:  # compiled parsers unpack with struct directly
        raise LengthError("%s payload of %d octets does not parse: %s" % (out["name"], len(payload), _reason(exc))) from None
    return out


def _reason(exc):
    return str(exc).splitlines()[-1].strip() if str(exc) else type(exc).__name__


def plain(obj):
    """Construct containers to plain dicts and lists, without construct's private keys."""
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    if isinstance(obj, float):
        return _f32(obj)
    return obj


def _f32(value):
    """A float32 as the shortest decimal that round-trips to the same float32."""
    packed = struct.pack(">f", value)
    for digits in range(6, 10):
        candidate = float("%.*g" % (digits, value))
        if struct.pack(">f", candidate) == packed:
            return candidate
    return value


def message_name(message):
    return "%s.%s" % (d.SERVICE_BY_NUMBER[message.service].name, message.name)


# --- Encoding ------------------------------------------------------------------------


def _primary(ptype, apid, seq_count, data_len, seq_flags=0b11):
    if not 0 <= apid <= 0x7FF:
        raise ArgumentError("APID %d outside 0..2047" % apid)
    if not 0 <= seq_count <= 0x3FFF:
        raise ArgumentError("sequence count %d outside 0..16383" % seq_count)
    return dict(version=0, type=ptype, sec_header_flag=1, apid=apid, seq_flags=seq_flags, seq_count=seq_count, data_len=data_len)


def build_payload(kind, service, subtype, data):
    """Payload octets for a dictionary message, range-checked against the dictionary."""
    key = (kind, service, subtype)
    if key not in PAYLOADS:
        raise DictionaryError("no %s %d.%d in the dictionary" % (kind.upper(), service, subtype))
    try:
        return PAYLOADS[key].build(data or {})
    except (ConstructError, KeyError, TypeError, struct.error) as exc:
        raise ArgumentError("cannot encode %s: %s" % (message_name(d.MESSAGE_BY_KEY[key]), _reason(exc))) from None


def encode_tc(service, subtype, data=None, apid=d.APID_BY_NAME["obc"], seq_count=0, ack_flags=0xF, source_id=d.GROUND_ID):
    """A complete TC space packet (octets) with PEC."""
    payload = build_payload("tc", service, subtype, data)
    body = dict(
        primary=_primary(1, apid, seq_count, TC_SEC_LEN + len(payload) + PEC_LEN - 1),
        secondary=dict(pus_version=d.PUS_VERSION, ack_flags=ack_flags, service=service, subtype=subtype, source_id=source_id),
        data=data or {},
    )
    return _build(TcPacket, body)


def encode_tm(service, subtype, data=None, apid=d.APID_BY_NAME["obc"], seq_count=0, message_counter=0, destination_id=d.GROUND_ID, coarse=0, fine=0, time_ref_status=0):
    """A complete TM space packet (octets) with PEC."""
    payload = build_payload("tm", service, subtype, data)
    body = dict(
        primary=_primary(0, apid, seq_count, TM_SEC_LEN + len(payload) + PEC_LEN - 1),
        secondary=dict(
            flags=dict(pus_version=d.PUS_VERSION, time_ref_status=time_ref_status),
            service=service,
            subtype=subtype,
            message_counter=message_counter,
            destination_id=destination_id,
            time=dict(coarse=coarse, fine=fine),
        ),
        data=data or {},
    )
    return _build(TmPacket, body)


def _build(con, body):
    try:
        return con.build(dict(body=dict(value=body)))
    except ConstructError as exc:
        raise ArgumentError("cannot encode the packet headers: %s" % _reason(exc)) from None


def encode_command(command, values=None, seq_count=0, ack_flags=0xF, apid=None):
    """A TC packet for a dictionary Command (`d.command(name)`), routed to its owner's APID."""
    return encode_tc(command.service, command.subtype, command.data(values), apid=command.apid if apid is None else apid, seq_count=seq_count, ack_flags=ack_flags)


def request_id(tc_packet):
    """The PUS request ID of a TC: its first 4 octets as a big-endian u32 (ECSS-E-ST-70-41C 6.1.9)."""
    return struct.unpack_from(">I", tc_packet, 0)[0]
