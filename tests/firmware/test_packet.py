"""fsw.packet against the ground codec on every dictionary packet (PROTOCOL.md 5), under CPython and MicroPython.

The strategies here walk `ground.dictionary`, so a message added there is
covered without touching this file; `tests/ground/test_codec.py` reuses them.
"""

import json
import struct

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fsw import dictionary as D
from fsw import packet as fp
from ground import codec
from ground import dictionary as d
from hil.campaign.fuzz import key_ids, scalar, tail_fields  # the dictionary strategies' building blocks, one copy

# a board merges its vehicle's tables at boot; the codec is tested on both vehicles'
D.use_vehicle("inspector")
D.use_vehicle("rover")

# --- strategies: a valid payload dict for any dictionary message --------------------


@st.composite
def payload(draw, fields):
    """A payload dict for a tuple of dictionary fields, shaped as `codec.decode` returns it."""
    keys = key_ids(fields)
    out = {}
    for f in fields:
        if isinstance(f, d.F):
            out[f.name] = draw(st.sampled_from(keys[f.name]) if f.name in keys else scalar(f.type))
        elif isinstance(f, d.List):
            out[f.name] = draw(st.lists(payload(f.item), max_size=5))
        elif isinstance(f, d.ParamValue):
            out[f.name] = draw(scalar(d.PARAM_BY_ID[out[f.id_field]].type))
        elif isinstance(f, d.Typed):
            out[f.name] = draw(payload(tail_fields(f, out[f.key_field])))
        elif isinstance(f, d.Blob):
            out[f.name] = draw(st.binary(max_size=40))
        elif isinstance(f, d.Rest):
            out[f.name] = draw(st.binary(max_size=200))
        else:
            raise TypeError(f)
    return out


@st.composite
def packets(draw, kinds=("tc", "tm")):
    """A dictionary packet: message, payload and random header fields (encode_tc/encode_tm keywords)."""
    m = draw(st.sampled_from([m for m in d.MESSAGES if m.kind in kinds]))
    p = dict(
        kind=m.kind,
        service=m.service,
        subtype=m.subtype,
        data=draw(payload(m.payload)),
        apid=draw(st.integers(0, 0x7FF)),
        seq_count=draw(st.integers(0, 0x3FFF)),
    )
    if m.kind == "tc":
        p.update(ack_flags=draw(st.integers(0, 0xF)), source_id=draw(st.integers(0, 0xFFFF)))
    else:
        p.update(
            message_counter=draw(st.integers(0, 0xFFFF)),
            destination_id=draw(st.integers(0, 0xFFFF)),
            coarse=draw(st.integers(0, 0xFFFFFFFF)),
            fine=draw(st.integers(0, 0xFFFF)),
            time_ref_status=draw(st.integers(0, 0xF)),
        )
    return p


def ground_encode(p):
    kw = {k: v for k, v in p.items() if k != "kind"}
    return codec.encode_tc(**kw) if p["kind"] == "tc" else codec.encode_tm(**kw)


# --- dict <-> firmware value list ---------------------------------------------------


def to_values(fields, data):
    """A payload dict as fsw.packet's value list: scalars flat, lists of tuples, typed tails flat."""
    out = []
    for f in fields:
        if isinstance(f, (d.F, d.ParamValue, d.Blob, d.Rest)):
            out.append(data[f.name])
        elif isinstance(f, d.List):
            out.append([tuple(to_values(f.item, item)) for item in data[f.name]])
        else:
            out.extend(to_values(tail_fields(f, data[f.key_field]), data[f.name]))
    return out


def from_values(fields, values):
    """Inverse of to_values(); fails when values are left over."""
    it = iter(values)
    out = _from(fields, it)
    assert next(it, None) is None, "values left over"
    return out


def _from(fields, it):
    out = {}
    for f in fields:
        if isinstance(f, (d.F, d.ParamValue, d.Blob, d.Rest)):
            out[f.name] = next(it)
        elif isinstance(f, d.List):
            out[f.name] = [from_values(f.item, item) for item in next(it)]
        else:
            out[f.name] = _from(tail_fields(f, out[f.key_field]), it)
    return out


def canon(obj):
    """Comparable form: floats as their float32 octets (hex), tuples as lists."""
    if isinstance(obj, float):
        return {"f": struct.pack(">f", obj).hex()}
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return {"octets": bytes(obj).hex()}
    if isinstance(obj, dict):
        return {k: canon(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [canon(v) for v in obj]
    return obj


def layout_key(p):
    return (p["service"] << 8) | p["subtype"]


class FakeClock:
    def __init__(self, coarse, fine):
        self.time = (coarse, fine)

    def cuc(self):
        return self.time


def fw_encode(p, values):
    """The firmware's bytes for packet `p` with payload `values` (encode_tc, or TmWriter with a fake clock)."""
    key = layout_key(p)
    if p["kind"] == "tc":
        buf = bytearray(D.MAX_FRAME)
        n = fp.encode_tc(buf, p["apid"], p["seq_count"], key, values, p["ack_flags"], p["source_id"])
        return bytes(buf[:n])
    w = fp.TmWriter(FakeClock(p["coarse"], p["fine"]), D.MAX_FRAME, p["time_ref_status"])
    w._seq[p["apid"]] = p["seq_count"]
    w._counter[p["destination_id"]] = p["message_counter"]
    n = w.build(p["apid"], key, values, p["destination_id"])
    return bytes(w.buf[:n])


def fw_payload_span(p, raw):
    sec = fp.TC_SEC_LEN if p["kind"] == "tc" else fp.TM_SEC_LEN
    return fp.PRIMARY_LEN + sec, len(raw) - fp.PEC_LEN


def flip_pec(raw):
    return raw[:-1] + bytes([raw[-1] ^ 0x01])


# --- CPython: ground -> firmware -> ground ------------------------------------------


@settings(max_examples=200, deadline=None)
@given(packets())
def test_packet_ground_encode_equals_firmware_encode_and_both_decode(p):
    message = d.MESSAGE_BY_KEY[(p["kind"], p["service"], p["subtype"])]
    raw = ground_encode(p)
    assert fp.check(raw, 0, len(raw)) == fp.OK
    if p["kind"] == "tc":
        tc = fp.Tc()
        assert tc.parse(raw, 0, len(raw))
        assert (tc.ptype, tc.apid, tc.seq_count) == (1, p["apid"], p["seq_count"])
        assert (tc.pus_version, tc.ack_flags, tc.service, tc.subtype, tc.source_id) == (
            2,
            p["ack_flags"],
            p["service"],
            p["subtype"],
            p["source_id"],
        )
        assert tc.request_id == codec.request_id(raw)
        start, end = tc.data_span()
        layout = D.TC_LAYOUT[tc.key()]
    else:
        start, end = fw_payload_span(p, raw)
        layout = D.TM_LAYOUT[layout_key(p)]
    values = fp.unpack(layout, raw, start, end)
    assert canon(values) == canon(to_values(message.payload, p["data"]))
    assert canon(from_values(message.payload, values)) == canon(p["data"])

    fw = fw_encode(p, values)
    assert fw.hex() == raw.hex()
    back = codec.decode(fw)
    assert canon(back["data"]) == canon(p["data"])
    assert back["apid"] == p["apid"] and back["seq_count"] == p["seq_count"]


_LAYOUTS = [("tc", k, v) for k, v in sorted(D.TC_LAYOUT.items())] + [("tm", k, v) for k, v in sorted(D.TM_LAYOUT.items())]


@pytest.mark.parametrize("kind,key,layout", _LAYOUTS, ids=["%s-%04x" % (k, key) for k, key, _ in _LAYOUTS])
def test_packet_unpack_rejects_one_octet_short_and_long(kind, key, layout):
    fields = d.MESSAGE_BY_KEY[(kind, key >> 8, key & 0xFF)].payload
    data = _minimal(fields)
    body = codec.build_payload(kind, key >> 8, key & 0xFF, data)
    assert canon(fp.unpack(layout, body, 0, len(body))) == canon(to_values(fields, data))
    if layout.endswith("R"):
        # the rest of the payload is the last field: only the fixed fields before it can be short
        fixed = struct.calcsize(">" + layout[:-1])
        with pytest.raises(ValueError):
            fp.unpack(layout, body, 0, fixed - 1)
        return
    with pytest.raises(ValueError):
        fp.unpack(layout, body + b"\x00", 0, len(body) + 1)
    if body:
        with pytest.raises(ValueError):
            fp.unpack(layout, body, 0, len(body) - 1)


def _minimal(fields):
    """A deterministic payload: one list item, the first parameter / structure / event."""
    keys = key_ids(fields)
    out = {}
    for f in fields:
        if isinstance(f, d.F):
            out[f.name] = keys[f.name][0] if f.name in keys else (1.5 if f.type == "f32" else 7)
        elif isinstance(f, d.List):
            out[f.name] = [_minimal(f.item)]
        elif isinstance(f, d.ParamValue):
            out[f.name] = 1.5 if d.PARAM_BY_ID[out[f.id_field]].type == "f32" else 7
        elif isinstance(f, (d.Blob, d.Rest)):
            out[f.name] = b"\x01\x02\x03"
        else:
            out[f.name] = _minimal(tail_fields(f, out[f.key_field]))
    return out


def test_packet_unpack_unknown_param_id_is_key_error():
    body = bytes.fromhex("01" "0063" "00000005")  # one pair: param 99, then 4 octets
    with pytest.raises(KeyError):
        fp.unpack(D.TC_LAYOUT[D.TC_PARAM_SET], body, 0, len(body))


def test_packet_tm_writer_sequence_count_wraps_at_16384():
    w = fp.TmWriter(FakeClock(1, 2), 64)
    w._seq[5] = 0x3FFF
    seqs = []
    for _ in range(2):
        n = w.build(5, D.TM_TEST_PONG, [])
        seqs.append(codec.decode(bytes(w.buf[:n]))["seq_count"])
    assert seqs == [0x3FFF, 0]


def test_packet_tm_writer_message_counter_per_destination_wraps_at_65536():
    w = fp.TmWriter(FakeClock(1, 2), 64)
    w._counter[1] = 0xFFFF
    got = []
    for dest in (1, 1, 2):
        n = w.build(5, D.TM_TEST_PONG, [], dest)
        got.append(codec.decode(bytes(w.buf[:n]))["message_counter"])
    assert got == [0xFFFF, 0, 0]


def _verdict_cases():
    tc = codec.encode_tc(17, 1, apid=1, seq_count=5)
    tm = codec.encode_tm(1, 2, {"request_id": 0x1801C005, "error": 4}, coarse=9, fine=1)
    return [
        (tc, fp.OK),
        (tm, fp.OK),
        (tc[:-1], fp.BAD_LENGTH),  # truncated
        (tc + b"\x00", fp.BAD_LENGTH),  # trailing octet
        (tc[:7], fp.BAD_LENGTH),  # shorter than header + PEC
        (b"", fp.BAD_LENGTH),
        (flip_pec(tc), fp.BAD_PEC),
        (flip_pec(tm), fp.BAD_PEC),
        (tm[:10] + bytes([tm[10] ^ 0x80]) + tm[11:], fp.BAD_PEC),  # a payload bit, not the PEC
    ]


def test_packet_check_verdicts_ok_bad_length_bad_pec():
    for raw, want in _verdict_cases():
        assert fp.check(raw, 0, len(raw)) == want, raw.hex()
    # a span inside a larger buffer
    tc = _verdict_cases()[0][0]
    buf = b"\xaa\xbb" + tc + b"\xcc"
    assert fp.check(buf, 2, 2 + len(tc)) == fp.OK


# --- MicroPython: the same cases on the unix port -------------------------------------

_MP_CASES = r"""
import sys, json, struct, binascii
from fsw import packet as fp
from fsw import dictionary as D
D.use_vehicle("inspector")
D.use_vehicle("rover")

class Clock:
    def __init__(self, t):
        self.t = t
    def cuc(self):
        return self.t

def dec(v):
    if isinstance(v, dict):
        if "octets" in v:
            return binascii.unhexlify(v["octets"])
        return struct.unpack(">f", binascii.unhexlify(v["f"]))[0]
    if isinstance(v, list):
        return [dec(x) for x in v]
    return v

def enc(v):
    if isinstance(v, float):
        return {"f": binascii.hexlify(struct.pack(">f", v)).decode()}
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"octets": binascii.hexlify(bytes(v)).decode()}
    if isinstance(v, (list, tuple)):
        return [enc(x) for x in v]
    return v

buf = bytearray(D.MAX_FRAME)
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    c = json.loads(line)
    values = dec(c["v"])
    if c["kind"] == "tc":
        n = fp.encode_tc(buf, c["apid"], c["seq_count"], c["key"], values, c["ack_flags"], c["source_id"])
        raw = bytes(buf[:n])
    else:
        w = fp.TmWriter(Clock((c["coarse"], c["fine"])), D.MAX_FRAME, c["time_ref_status"])
        w._seq[c["apid"]] = c["seq_count"]
        w._counter[c["destination_id"]] = c["message_counter"]
        n = w.build(c["apid"], c["key"], values, c["destination_id"])
        raw = bytes(w.buf[:n])
    want = binascii.unhexlify(c["raw"])
    bad = bytearray(want)
    bad[-1] ^= 1
    chk = [fp.check(want, 0, len(want)), fp.check(want, 0, len(want) - 1), fp.check(bad, 0, len(bad))]
    tc = None
    if c["kind"] == "tc":
        t = fp.Tc()
        ok = t.parse(want, 0, len(want))
        tc = [ok, t.ptype, t.apid, t.seq_count, t.pus_version, t.ack_flags, t.service, t.subtype, t.source_id, t.request_id]
        start, end = t.data_span()
        layout = D.TC_LAYOUT[t.key()]
    else:
        start, end = 19, len(want) - 2
        layout = D.TM_LAYOUT[c["key"]]
    got = fp.unpack(layout, want, start, end)
    print(json.dumps({"raw": binascii.hexlify(raw).decode(), "v": enc(got), "chk": chk, "tc": tc}))
"""


def _mp_batch(n):
    cases = []

    @settings(max_examples=n, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(packets())
    def collect(p):
        cases.append(p)

    collect()
    return cases


@pytest.mark.micropython
def test_packet_cross_codec_on_micropython_byte_for_byte(micropython):
    cases = _mp_batch(150)
    assert len(cases) >= 100
    assert {c["kind"] for c in cases} == {"tc", "tm"}
    lines = []
    expect = []
    for p in cases:
        message = d.MESSAGE_BY_KEY[(p["kind"], p["service"], p["subtype"])]
        raw = ground_encode(p)
        values = to_values(message.payload, p["data"])
        case = {k: v for k, v in p.items() if k not in ("data", "service", "subtype")}
        case.update(key=layout_key(p), v=canon(values), raw=raw.hex())
        lines.append(json.dumps(case))
        tc = None
        if p["kind"] == "tc":
            tc = [True, 1, p["apid"], p["seq_count"], 2, p["ack_flags"], p["service"], p["subtype"], p["source_id"], codec.request_id(raw)]
        expect.append({"raw": raw.hex(), "v": canon(values), "chk": [fp.OK, fp.BAD_LENGTH, fp.BAD_PEC], "tc": tc})
    out = micropython(_MP_CASES, stdin=("\n".join(lines) + "\n").encode()).decode().splitlines()
    assert len(out) == len(cases)
    for p, want, line in zip(cases, expect, out):
        assert json.loads(line) == want, p


@pytest.mark.micropython
def test_packet_check_verdicts_on_micropython(micropython):
    cases = _verdict_cases()
    code = (
        "import binascii\nfrom fsw import packet as fp\n"
        "for h in %r:\n"
        "    b = binascii.unhexlify(h)\n"
        "    print(fp.check(b, 0, len(b)), fp.check(bytearray(b), 0, len(b)))\n" % [raw.hex() for raw, _ in cases]
    )
    out = micropython(code).decode().splitlines()
    assert out == ["%d %d" % (want, want) for _, want in cases]
    assert sorted(set(out)) == ["0 0", "1 1", "2 2"]
