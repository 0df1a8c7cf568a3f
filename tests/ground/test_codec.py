"""ground.codec: golden vectors, spacepackets conformance, decode and encode errors, compiled vs plain (PROTOCOL.md 2, 5)."""

import importlib.util
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacepackets.ccsds.spacepacket import SequenceFlags
from spacepackets.ecss.tc import PusTc, generate_crc
from spacepackets.ecss.tm import MiscParams, PusTm

from ground import codec
from ground import dictionary as d
from ground.errors import ArgumentError, DictionaryError, LengthError, PacketError, PecError


def _strategies():
    # The dictionary packet strategies live with the cross-codec tests (tests/firmware/test_packet.py).
    path = Path(__file__).resolve().parents[1] / "firmware" / "test_packet.py"
    spec = importlib.util.spec_from_file_location("_mitra_packet_strategies", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


S = _strategies()
packets = S.packets
ground_encode = S.ground_encode


def h(text):
    """Hex with spaces and comments stripped: one field per line in the vectors below."""
    return bytes.fromhex("".join(line.split("#")[0] for line in text.splitlines()).replace(" ", ""))


def with_pec(body):
    return body + struct.pack(">H", codec.crc16(body))


def patched(raw, index, value):
    """`raw` with octet `index` replaced and the PEC recomputed, so only that field is wrong."""
    body = bytearray(raw[:-2])
    body[index] = value
    return with_pec(bytes(body))


# --- golden vectors --------------------------------------------------------------------

PING_APID1_SEQ5 = h(
    """
    18 01   # version 000 | type 1 (TC) | sec header flag 1 | APID 0x001
    c0 05   # seq flags 0b11 (unsegmented) | seq count 5
    00 06   # data length: 5 (sec header) + 0 (payload) + 2 (PEC) - 1
    2f      # PUS version 2 | ack flags 0xF (acceptance, start, progress, completion)
    11      # service 17 (test)
    01      # subtype 1 (ping)
    00 01   # source ID 1 (ground)
    4e 82   # PEC CRC-16/CCITT-FALSE over the 11 octets above
    """
)

PING_MAX_APID_MAX_SEQ = h(
    """
    1f ff   # version 000 | type 1 | sec header flag 1 | APID 0x7FF (maximum, idle)
    ff ff   # seq flags 0b11 | seq count 16383 (maximum, last before the wrap)
    00 06   # data length 6
    2f 11 01 00 01  # PUS 2 | ack 0xF | service 17 | subtype 1 | source ID 1
    d5 d9   # PEC
    """
)

# The doctest of spacepackets' PusTc: PusTc(service=17, message_subtype=1, seq_count=22, apid=0x01)
PING_SPACEPACKETS_DOCTEST = bytes.fromhex("1801c01600062f11010000ab62")

PARAM_SET = h(
    """
    18 01   # TC | sec header flag | APID 1
    c0 06   # unsegmented | seq count 6
    00 10   # data length: 5 + 10 + 2 - 1 = 16
    2f      # PUS version 2 | ack flags 0xF
    14 03   # service 20 (param) | subtype 3 (set)
    00 01   # source ID 1
    02      # params: count 2
    00 02   #   param_id 2 (obc.clock_drift_ppm, f32)
    3f c0 00 00  # value 1.5 as IEEE 754 binary32
    00 04   #   param_id 4 (obc.event_min_severity, u8)
    03      #   value 3: one octet, typed by the parameter ID
    1d 25   # PEC
    """
)

ACCEPTANCE_FAILURE = h(
    """
    08 01   # version 000 | type 0 (TM) | sec header flag 1 | APID 0x001
    c0 07   # unsegmented | seq count 7
    00 14   # data length: 13 (sec header incl. CUC) + 6 (payload) + 2 (PEC) - 1 = 20
    23      # PUS version 2 | time reference status 3
    01 02   # service 1 (verification) | subtype 2 (acceptance failure)
    12 34   # message type counter 0x1234
    00 01   # destination ID 1 (ground)
    01 02 03 04  # CUC coarse: 0x01020304 s since 2000-01-01T00:00:00
    80 00   # CUC fine: 0x8000 * 2^-16 s = 0.5 s
    18 01 c0 05  # request ID: the first 4 octets of PING_APID1_SEQ5
    00 04   # error code 4 (BAD_LENGTH)
    39 9c   # PEC
    """
)

TIME_REPORT = h(
    """
    08 01 c0 08 00 16  # TM | APID 1 | seq 8 | data length 13 + 8 + 2 - 1 = 22
    20      # PUS version 2 | time reference status 0
    09 02   # service 9 (time) | subtype 2 (report)
    00 01   # message type counter 1
    00 01   # destination ID 1
    01 02 03 04 80 00  # CUC of the packet: coarse 0x01020304, fine 0x8000
    05      # rate_exp 5
    12 34 56 78  # coarse 0x12345678
    80 00   # fine 0x8000
    01      # status 1 (set by ground)
    73 36   # PEC
    """
)


def test_codec_pec_check_value_123456789():
    assert codec.crc16(b"123456789") == 0x29B1


def test_codec_pec_over_packet_with_pec_is_zero():
    assert codec.crc16(PING_APID1_SEQ5) == 0


def test_codec_tc_ping_golden_encode_and_decode():
    assert codec.encode_tc(17, 1, apid=1, seq_count=5, ack_flags=0xF, source_id=1) == PING_APID1_SEQ5
    assert codec.decode(PING_APID1_SEQ5) == {
        "version": 0,
        "type": "tc",
        "sec_header_flag": 1,
        "apid": 1,
        "seq_flags": 3,
        "seq_count": 5,
        "data_len": 6,
        "pus_version": 2,
        "ack_flags": 0xF,
        "service": 17,
        "subtype": 1,
        "source_id": 1,
        "name": "test.ping",
        "data": {},
    }


def test_codec_tc_max_apid_and_seq_count_16383_golden():
    assert codec.encode_tc(17, 1, apid=0x7FF, seq_count=16383) == PING_MAX_APID_MAX_SEQ
    got = codec.decode(PING_MAX_APID_MAX_SEQ)
    assert (got["apid"], got["seq_count"], got["seq_flags"]) == (0x7FF, 16383, 3)


def test_codec_tc_seq_count_wrap_boundary_0_after_16383():
    assert codec.encode_tc(17, 1, seq_count=0)[2:4] == b"\xc0\x00"
    assert codec.encode_tc(17, 1, seq_count=16383)[2:4] == b"\xff\xff"
    with pytest.raises(ArgumentError):
        codec.encode_tc(17, 1, seq_count=16384)


def test_codec_tc_equals_spacepackets_doctest_vector():
    assert codec.encode_tc(17, 1, apid=1, seq_count=22, source_id=0) == PING_SPACEPACKETS_DOCTEST


def test_codec_tc_param_set_golden_typed_values():
    data = {"params": [{"param_id": 2, "value": 1.5}, {"param_id": 4, "value": 3}]}
    assert codec.encode_tc(20, 3, data, apid=1, seq_count=6) == PARAM_SET
    got = codec.decode(PARAM_SET)
    assert (got["name"], got["data_len"], got["data"]) == ("param.set", 16, data)


def test_codec_tm_acceptance_failure_golden_encode_and_decode():
    raw = codec.encode_tm(
        1, 2, {"request_id": codec.request_id(PING_APID1_SEQ5), "error": d.ERROR_BY_NAME["BAD_LENGTH"]},
        apid=1, seq_count=7, message_counter=0x1234, destination_id=1, coarse=0x01020304, fine=0x8000, time_ref_status=3,
    )  # fmt: skip
    assert raw == ACCEPTANCE_FAILURE
    assert codec.decode(ACCEPTANCE_FAILURE) == {
        "version": 0,
        "type": "tm",
        "sec_header_flag": 1,
        "apid": 1,
        "seq_flags": 3,
        "seq_count": 7,
        "data_len": 20,
        "pus_version": 2,
        "time_ref_status": 3,
        "service": 1,
        "subtype": 2,
        "message_counter": 0x1234,
        "destination_id": 1,
        "time": {"coarse": 0x01020304, "fine": 0x8000},
        "name": "verification.acceptance_failure",
        "data": {"request_id": 0x1801C005, "error": 4},
    }


def test_codec_tm_time_report_golden():
    data = {"rate_exp": 5, "coarse": 0x12345678, "fine": 0x8000, "status": 1}
    raw = codec.encode_tm(9, 2, data, apid=1, seq_count=8, message_counter=1, coarse=0x01020304, fine=0x8000)
    assert raw == TIME_REPORT
    assert codec.decode(TIME_REPORT)["data"] == data


def test_codec_request_id_is_first_four_octets():
    assert codec.request_id(PING_APID1_SEQ5) == 0x1801C005


# --- spacepackets conformance -----------------------------------------------------------


def _payload_of(p):
    return codec.build_payload(p["kind"], p["service"], p["subtype"], p["data"])


@settings(max_examples=150, deadline=None)
@given(packets(("tc",)))
def test_codec_tc_parsed_by_spacepackets(p):
    raw = ground_encode(p)
    tc = PusTc.unpack(raw)
    assert tc.ccsds_version == 0
    assert tc.sp_header.packet_type == 1
    assert tc.sp_header.sec_header_flag
    assert tc.apid == p["apid"]
    assert tc.sp_header.seq_flags == SequenceFlags.UNSEGMENTED
    assert tc.seq_count == p["seq_count"]
    assert tc.sp_header.data_len == len(raw) - 7
    assert tc.pus_tc_sec_header.pus_version == 2
    assert tc.pus_tc_sec_header.ack_flags == p["ack_flags"]
    assert (tc.service, tc.message_subtype, tc.source_id) == (p["service"], p["subtype"], p["source_id"])
    assert tc.app_data == _payload_of(p)
    assert tc.crc16 == raw[-2:]
    assert bytes(tc.pack()) == raw


@settings(max_examples=150, deadline=None)
@given(packets(("tm",)))
def test_codec_tm_parsed_by_spacepackets(p):
    raw = ground_encode(p)
    tm = PusTm.unpack(raw, timestamp_len=6)
    assert tm.ccsds_version == 0
    assert tm.space_packet_header.packet_type == 0
    assert tm.space_packet_header.sec_header_flag
    assert tm.apid == p["apid"]
    assert tm.seq_flags == SequenceFlags.UNSEGMENTED
    assert tm.seq_count == p["seq_count"]
    assert tm.space_packet_header.data_len == len(raw) - 7
    sec = tm.pus_tm_sec_header
    assert (sec.pus_version, sec.spacecraft_time_ref) == (2, p["time_ref_status"])
    assert (tm.service, tm.message_subtype) == (p["service"], p["subtype"])
    assert (sec.message_counter, sec.dest_id) == (p["message_counter"], p["destination_id"])
    assert tm.timestamp == struct.pack(">IH", p["coarse"], p["fine"])
    assert tm.source_data == _payload_of(p)
    assert bytes(tm.pack()) == raw


@settings(max_examples=150, deadline=None)
@given(packets(("tc",)))
def test_codec_decodes_spacepackets_tc(p):
    raw = bytes(
        PusTc(
            service=p["service"], message_subtype=p["subtype"], apid=p["apid"], seq_count=p["seq_count"],
            source_id=p["source_id"], ack_flags=p["ack_flags"], app_data=_payload_of(p),
        ).pack()
    )  # fmt: skip
    assert raw == ground_encode(p)
    got = codec.decode(raw)
    assert got["type"] == "tc" and got["version"] == 0 and got["sec_header_flag"] == 1 and got["seq_flags"] == 3
    assert got["data_len"] == len(raw) - 7 and got["pus_version"] == 2
    for k in ("apid", "seq_count", "ack_flags", "service", "subtype", "source_id"):
        assert got[k] == p[k], k
    assert S.canon(got["data"]) == S.canon(p["data"])


@settings(max_examples=150, deadline=None)
@given(packets(("tm",)))
def test_codec_decodes_spacepackets_tm(p):
    raw = bytes(
        PusTm(
            service=p["service"], message_subtype=p["subtype"], apid=p["apid"], seq_count=p["seq_count"],
            message_counter=p["message_counter"], destination_id=p["destination_id"],
            timestamp=struct.pack(">IH", p["coarse"], p["fine"]), source_data=_payload_of(p),
            misc_params=MiscParams(spacecraft_time_ref=p["time_ref_status"]),
        ).pack()
    )  # fmt: skip
    assert raw == ground_encode(p)
    got = codec.decode(raw)
    assert got["type"] == "tm" and got["version"] == 0 and got["sec_header_flag"] == 1 and got["seq_flags"] == 3
    assert got["data_len"] == len(raw) - 7 and got["pus_version"] == 2
    for k in ("apid", "seq_count", "time_ref_status", "service", "subtype", "message_counter", "destination_id"):
        assert got[k] == p[k], k
    assert got["time"] == {"coarse": p["coarse"], "fine": p["fine"]}
    assert S.canon(got["data"]) == S.canon(p["data"])


@given(st.binary(max_size=1100))
def test_codec_pec_equals_spacepackets_crc(data):
    assert struct.pack(">H", codec.crc16(data)) == generate_crc(bytearray(data))[len(data) :]


def test_codec_unknown_message_decodes_as_hex_like_spacepackets():
    raw = bytes(PusTc(service=200, message_subtype=7, apid=0x10, seq_count=1, source_id=1, app_data=b"\x01\x02").pack())
    got = codec.decode(raw)
    assert (got["name"], got["data"], got["service"], got["subtype"]) == (None, "0102", 200, 7)


# --- decode errors: each raises, nothing half-decoded --------------------------------------


def _raises(exc_class, raw, expected=None, got=None):
    with pytest.raises(exc_class) as info:
        codec.decode(raw)
    assert type(info.value) is exc_class
    if expected is not None or got is not None:
        assert (info.value.expected, info.value.got) == (expected, got)
    return info.value


@pytest.mark.parametrize("raw", [PING_APID1_SEQ5, ACCEPTANCE_FAILURE], ids=["tc", "tm"])
def test_codec_decode_truncated_is_length_error(raw):
    _raises(LengthError, raw[:-1], expected=len(raw), got=len(raw) - 1)


@pytest.mark.parametrize("n", [0, 1, 5, 7])
def test_codec_decode_shorter_than_header_and_pec_is_length_error(n):
    _raises(LengthError, PING_APID1_SEQ5[:n], expected=8, got=n)


def test_codec_decode_trailing_octet_is_length_error():
    _raises(LengthError, PING_APID1_SEQ5 + b"\x00", expected=len(PING_APID1_SEQ5), got=len(PING_APID1_SEQ5) + 1)


@pytest.mark.parametrize("delta", [1, -1, 0x100])
def test_codec_decode_data_length_field_wrong_is_length_error(delta):
    raw = ACCEPTANCE_FAILURE
    data_len = struct.unpack_from(">H", raw, 4)[0] + delta
    bad = with_pec(raw[:4] + struct.pack(">H", data_len) + raw[6:-2])
    _raises(LengthError, bad, expected=7 + data_len, got=len(raw))


def test_codec_decode_too_short_for_tm_secondary_header_is_length_error():
    # a whole packet by its length field and PEC, but only 5 octets of data: a TC header on a TM
    raw = with_pec(h("08 01 c0 00 00 06") + h("20 11 02 00 01"))
    _raises(LengthError, raw, expected=21, got=13)


@pytest.mark.parametrize("bit", range(16))
def test_codec_decode_flipped_pec_bit_is_pec_error(bit):
    raw = bytearray(PING_APID1_SEQ5)
    raw[-2 + bit // 8] ^= 0x80 >> (bit % 8)
    _raises(PecError, bytes(raw), expected=0x4E82, got=struct.unpack(">H", raw[-2:])[0])


def test_codec_decode_flipped_payload_bit_is_pec_error():
    raw = bytearray(ACCEPTANCE_FAILURE)
    raw[20] ^= 0x01
    _raises(PecError, bytes(raw), expected=codec.crc16(bytes(raw[:-2])), got=0x399C)


@pytest.mark.parametrize("raw", [PING_APID1_SEQ5, ACCEPTANCE_FAILURE], ids=["tc", "tm"])
@pytest.mark.parametrize("version", [0, 1, 3, 15])
def test_codec_decode_pus_version_not_2_is_packet_error(raw, version):
    _raises(PacketError, patched(raw, 6, (version << 4) | (raw[6] & 0xF)), expected=2, got=version)


@pytest.mark.parametrize("raw", [PING_APID1_SEQ5, ACCEPTANCE_FAILURE], ids=["tc", "tm"])
@pytest.mark.parametrize("version", [1, 4, 7])
def test_codec_decode_packet_version_not_0_is_packet_error(raw, version):
    _raises(PacketError, patched(raw, 0, (version << 5) | (raw[0] & 0x1F)), expected=0, got=version)


@pytest.mark.parametrize("raw", [PING_APID1_SEQ5, ACCEPTANCE_FAILURE], ids=["tc", "tm"])
def test_codec_decode_secondary_header_flag_0_is_packet_error(raw):
    _raises(PacketError, patched(raw, 0, raw[0] & ~0x08), expected=1, got=0)


def test_codec_decode_payload_with_extra_octet_is_length_error():
    body = bytearray(PING_APID1_SEQ5[:-2] + b"\x00")  # ping takes no payload
    body[5] += 1
    err = _raises(LengthError, with_pec(bytes(body)))
    assert "test.ping" in str(err)


def test_codec_decode_payload_one_octet_short_is_length_error():
    body = bytearray(PARAM_SET[:-3])  # the last u8 value missing
    body[5] -= 1
    err = _raises(LengthError, with_pec(bytes(body)))
    assert "param.set" in str(err)


def test_codec_decode_unknown_param_id_is_length_error():
    body = bytearray(PARAM_SET[:-2])
    body[12] = 0x63  # first param_id 2 -> 99
    err = _raises(LengthError, with_pec(bytes(body)))
    assert "param.set" in str(err)


# --- compiled vs plain declarative ---------------------------------------------------------


def _from_plain(parsed):
    """codec.decode's dict from the plain TcPacket / TmPacket parse."""
    value = parsed["body"]["value"]
    out = dict(value["primary"])
    out["type"] = "tc" if out["type"] else "tm"
    sec = dict(value["secondary"])
    if "flags" in sec:
        sec.update(sec.pop("flags"))
    out.update(sec)
    key = (out["type"], out["service"], out["subtype"])
    out["name"] = codec.message_name(d.MESSAGE_BY_KEY[key])
    out["data"] = value["data"]
    return out


@settings(max_examples=200, deadline=None)
@given(packets())
def test_codec_compiled_decode_equals_plain_parse(p):
    raw = ground_encode(p)
    con = codec.TcPacket if p["kind"] == "tc" else codec.TmPacket
    parsed = codec.plain(con.parse(raw))
    assert parsed["body"]["data"] == raw[:-2]
    assert parsed["pec"] == struct.unpack(">H", raw[-2:])[0]
    assert codec.decode(raw) == _from_plain(parsed)


# --- encode errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(apid=0x800),
        dict(apid=-1),
        dict(seq_count=0x4000),
        dict(seq_count=-1),
        dict(ack_flags=0x10),
        dict(source_id=0x10000),
        dict(source_id=-1),
    ],
    ids=lambda kw: "%s=%s" % next(iter(kw.items())),
)
def test_codec_encode_tc_header_out_of_range_is_argument_error(kwargs):
    with pytest.raises(ArgumentError) as info:
        codec.encode_tc(17, 1, **kwargs)
    assert type(info.value) is ArgumentError


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(apid=0x800),
        dict(seq_count=0x4000),
        dict(message_counter=0x10000),
        dict(destination_id=-1),
        dict(coarse=1 << 32),
        dict(fine=0x10000),
        dict(time_ref_status=0x10),
    ],
    ids=lambda kw: "%s=%s" % next(iter(kw.items())),
)
def test_codec_encode_tm_header_out_of_range_is_argument_error(kwargs):
    with pytest.raises(ArgumentError) as info:
        codec.encode_tm(17, 2, **kwargs)
    assert type(info.value) is ArgumentError


@pytest.mark.parametrize(
    "kind,service,subtype,data",
    [
        ("tc", 9, 1, {"rate_exp": 256}),  # u8 too large
        ("tc", 9, 1, {"rate_exp": -1}),  # u8 negative
        ("tc", 9, 1, {"rate_exp": "5"}),  # wrong type
        ("tc", 9, 1, {"rate_exp": 1.5}),  # float for an integer
        ("tc", 9, 1, {}),  # missing field
        ("tc", 9, 128, {"coarse": 1 << 32, "fine": 0}),  # u32 too large
        ("tc", 3, 31, {"intervals": [{"sid": 1, "interval_ms": -1}]}),
        ("tc", 3, 5, {"sids": [{"sid": 1}] * 256}),  # more items than a u8 count
        ("tc", 3, 5, {"sids": [1]}),  # item not a dict
        ("tc", 3, 5, {"sids": 1}),  # list not a list
        ("tc", 20, 3, {"params": [{"param_id": 2, "value": 1e39}]}),  # f32 overflow
        ("tc", 20, 3, {"params": [{"param_id": 2, "value": "x"}]}),
        ("tc", 20, 3, {"params": [{"param_id": 4, "value": 256}]}),  # param 4 is a u8
        ("tc", 20, 3, {"params": [{"param_id": 1, "value": 1.5}]}),  # param 1 is a u32
        ("tc", 20, 3, {"params": [{"param_id": 99, "value": 5}]}),  # unknown parameter
        ("tm", 3, 25, {"sid": 99, "params": {}}),  # unknown HK structure
        ("tm", 5, 1, {"event_id": 99, "aux": {}}),  # unknown event
        ("tm", 5, 1, {"event_id": 1, "aux": {"boot_count": 1}}),  # aux field missing
    ],
)
def test_codec_encode_bad_payload_is_argument_error(kind, service, subtype, data):
    with pytest.raises(ArgumentError) as info:
        codec.build_payload(kind, service, subtype, data)
    assert type(info.value) is ArgumentError
    encode = codec.encode_tc if kind == "tc" else codec.encode_tm
    with pytest.raises(ArgumentError):
        encode(service, subtype, data)


@pytest.mark.parametrize(
    "encode,service,subtype",
    [(codec.encode_tc, 17, 2), (codec.encode_tc, 99, 1), (codec.encode_tc, 17, 99), (codec.encode_tm, 17, 1), (codec.encode_tm, 3, 5)],
    ids=["tc17.2", "tc99.1", "tc17.99", "tm17.1", "tm3.5"],
)
def test_codec_encode_unknown_service_subtype_is_dictionary_error(encode, service, subtype):
    with pytest.raises(DictionaryError) as info:
        encode(service, subtype)
    assert type(info.value) is DictionaryError


@pytest.mark.parametrize("name", ["nope.ping", "test.nope", "test.pong", "test"])
def test_codec_dictionary_command_unknown_is_dictionary_error(name):
    with pytest.raises(DictionaryError):
        d.command(name)
