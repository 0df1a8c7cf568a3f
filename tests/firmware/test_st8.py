"""fsw.dispatcher routing by APID and fsw.services.st8 (ST8 function management): every
acceptance, start and completion outcome with its exact error code."""

import math
import struct

import pytest

from fsw import dictionary as D
from fsw import packet as fp
from fsw.dispatcher import Dispatcher
from fsw.services.st8 import Functions
from ground import codec
from ground import dictionary as d

# a board merges its vehicle's tables at boot; these tests look at both vehicles'
D.use_vehicle("inspector")
D.use_vehicle("rover")


class Clock:
    def cuc(self):
        return (100, 0)


class Board:
    """A dispatcher with ST8 on the inspector's APIDs and a record of what it sent."""

    def __init__(self, mode=0):
        self.tm = fp.TmWriter(Clock(), D.MAX_FRAME)
        self.sent = []
        self.dispatcher = Dispatcher(self.tm, self.send)
        self.dispatcher.register(D.TC_TEST_PING, lambda args: 0)  # an OBC service
        self.mode = mode
        self.functions = Functions(self.dispatcher, lambda: self.mode)
        for apid in D.VEHICLES["inspector"][1]:
            self.functions.register_apid(apid)
        self.calls = []

    def send(self, buf, n):
        self.sent.append(codec.decode(bytes(buf[:n])))

    def tc(self, raw):
        self.sent = []
        self.dispatcher.handle(raw, 0, len(raw))
        return [(p["apid"], p["name"], p["data"].get("error")) for p in self.sent]


def _fn(name, values, apid=None, seq=1):
    return codec.encode_command(d.command(name), values, seq_count=seq, apid=apid)


ADCS = d.APID_BY_NAME["inspector_adcs"]
GNC = d.APID_BY_NAME["inspector_gnc"]
ROVER = d.APID_BY_NAME["rover_mobility"]
OK = [
    (ADCS, "verification.acceptance_success", None),
    (ADCS, "verification.start_success", None),
    (ADCS, "verification.completion_success", None),
]


def test_st8_function_runs_with_its_arguments_and_reports_on_its_apid():
    b = Board()
    b.functions.add(D.FN_INSPECTOR_ADCS_SET_MODE, lambda args: b.calls.append(args) or 0)
    assert b.tc(_fn("inspector_adcs.set_mode", {"mode": 3})) == OK
    assert b.calls == [[3]]


def test_st8_unknown_apid_is_refused_at_acceptance():
    b = Board()
    assert b.tc(_fn("rover_mobility.set_mode", {"mode": 1})) == [(ROVER, "verification.acceptance_failure", d.ERROR_BY_NAME["UNKNOWN_APID"])]


def test_st8_to_the_obc_apid_is_an_unknown_service():
    b = Board()
    raw = codec.encode_tc(8, 1, {"function_id": D.FN_INSPECTOR_ADCS_SET_MODE, "args": {"mode": 1}}, apid=d.APID_BY_NAME["obc"])
    assert b.tc(raw) == [(1, "verification.acceptance_failure", d.ERROR_BY_NAME["UNKNOWN_SERVICE"])]


def test_st8_obc_service_on_a_vehicle_apid_is_an_unknown_service():
    b = Board()
    raw = codec.encode_tc(17, 1, apid=ADCS)
    assert b.tc(raw) == [(ADCS, "verification.acceptance_failure", d.ERROR_BY_NAME["UNKNOWN_SERVICE"])]


def test_st8_unknown_subtype_on_a_vehicle_apid():
    b = Board()
    raw = fp_raw_tc(ADCS, 8, 2, b"")
    assert b.tc(raw) == [(ADCS, "verification.acceptance_failure", d.ERROR_BY_NAME["UNKNOWN_SUBTYPE"])]


def test_st8_function_id_not_in_the_dictionary_is_unknown_function():
    b = Board()
    raw = fp_raw_tc(ADCS, 8, 1, struct.pack(">HB", 0x7FFF, 1))
    assert b.tc(raw) == [(ADCS, "verification.acceptance_failure", d.ERROR_BY_NAME["UNKNOWN_FUNCTION"])]


def test_st8_function_of_another_apid_is_unknown_function():
    b = Board()
    b.functions.add(D.FN_INSPECTOR_ADCS_SET_MODE, lambda args: 0)
    raw = _fn("inspector_adcs.set_mode", {"mode": 1}, apid=GNC)
    assert b.tc(raw) == [(GNC, "verification.acceptance_failure", d.ERROR_BY_NAME["UNKNOWN_FUNCTION"])]


def test_st8_function_the_app_did_not_add_is_unknown_function():
    b = Board()
    assert b.tc(_fn("inspector_adcs.clear_faults", {"device": 0})) == [(ADCS, "verification.acceptance_failure", d.ERROR_BY_NAME["UNKNOWN_FUNCTION"])]


def test_st8_arguments_too_short_or_long_are_bad_length():
    b = Board()
    b.functions.add(D.FN_INSPECTOR_ADCS_SET_MODE, lambda args: 0)
    short = fp_raw_tc(ADCS, 8, 1, struct.pack(">H", D.FN_INSPECTOR_ADCS_SET_MODE))
    long = fp_raw_tc(ADCS, 8, 1, struct.pack(">HBB", D.FN_INSPECTOR_ADCS_SET_MODE, 1, 0))
    for raw in (short, long):
        assert b.tc(raw) == [(ADCS, "verification.acceptance_failure", d.ERROR_BY_NAME["BAD_LENGTH"])]


@pytest.mark.parametrize(
    "fid, payload",
    [
        (D.FN_INSPECTOR_ADCS_SET_MODE, struct.pack(">B", D.FUNCTIONS[D.FN_INSPECTOR_ADCS_SET_MODE][3][0][1] + 1)),  # one past the last commandable mode
        (D.FN_INSPECTOR_ADCS_INJECT_FAULT, struct.pack(">BBf", 0, 1, 0.0)),  # device 0
        (D.FN_INSPECTOR_ADCS_INJECT_FAULT, struct.pack(">BBf", 1, 6, 0.0)),  # fault past the table
        (D.FN_INSPECTOR_ADCS_INJECT_FAULT, struct.pack(">BBf", 1, 1, 1000.5)),
        (D.FN_INSPECTOR_ADCS_INJECT_FAULT, struct.pack(">BBf", 1, 1, math.nan)),
    ],
    ids=["mode", "device0", "fault", "value", "nan"],
)
def test_st8_argument_out_of_range_fails_at_start_and_does_not_run(fid, payload):
    b = Board()
    b.functions.add(fid, lambda args: b.calls.append(args) or 0)
    raw = fp_raw_tc(ADCS, 8, 1, struct.pack(">H", fid) + payload)
    assert b.tc(raw) == [
        (ADCS, "verification.acceptance_success", None),
        (ADCS, "verification.start_failure", d.ERROR_BY_NAME["ARG_OUT_OF_RANGE"]),
    ]
    assert b.calls == []


def test_st8_function_not_allowed_in_the_current_mode(monkeypatch):
    b = Board(mode=2)
    spec = D.FUNCTIONS[D.FN_INSPECTOR_ADCS_SET_MODE]
    monkeypatch.setitem(D.FUNCTIONS, D.FN_INSPECTOR_ADCS_SET_MODE, (spec[0], spec[1], 0b11, spec[3]))  # modes 0 and 1 only
    b.functions.add(D.FN_INSPECTOR_ADCS_SET_MODE, lambda args: b.calls.append(args) or 0)
    raw = _fn("inspector_adcs.set_mode", {"mode": 1})
    assert b.tc(raw)[-1] == (ADCS, "verification.start_failure", d.ERROR_BY_NAME["NOT_ALLOWED_IN_MODE"])
    b.mode = 1
    assert b.tc(raw) == OK
    assert b.calls == [[1]]


def test_st8_owner_check_and_execute_errors_are_start_and_completion_failures():
    b = Board()
    b.functions.add(D.FN_INSPECTOR_ADCS_SET_MODE, lambda args: D.ERR_EXECUTION_FAILED, lambda args: D.ERR_BUSY if args[0] == 3 else 0)
    assert b.tc(_fn("inspector_adcs.set_mode", {"mode": 3}))[-1] == (ADCS, "verification.start_failure", d.ERROR_BY_NAME["BUSY"])
    assert b.tc(_fn("inspector_adcs.set_mode", {"mode": 2}))[-1] == (ADCS, "verification.completion_failure", d.ERROR_BY_NAME["EXECUTION_FAILED"])


def test_st8_add_refuses_a_function_not_in_the_dictionary():
    b = Board()
    with pytest.raises(ValueError, match="0x7fff"):
        b.functions.add(0x7FFF, lambda args: 0)


def fp_raw_tc(apid, service, subtype, payload):
    buf = bytearray(D.MAX_FRAME)
    body_end = fp.PRIMARY_LEN + fp.TC_SEC_LEN + len(payload)
    buf[fp.PRIMARY_LEN + fp.TC_SEC_LEN : body_end] = payload
    total = body_end + fp.PEC_LEN
    struct.pack_into(">HHHBBBH", buf, 0, 0x1800 | apid, 0xC001, total - 7, (2 << 4) | 0xF, service, subtype, 1)
    from fsw.crc16 import crc16

    struct.pack_into(">H", buf, body_end, crc16(buf, 0, body_end))
    return bytes(buf[:total])


_MP_ST8 = r"""
from fsw import dictionary as D
D.use_vehicle("inspector")
from fsw import packet as fp
from fsw.dispatcher import Dispatcher
from fsw.services.st8 import Functions
import binascii, sys

class Clock:
    def cuc(self):
        return (100, 0)

tm = fp.TmWriter(Clock(), D.MAX_FRAME)
out = []
def send(buf, n):
    out.append((buf[1] | ((buf[0] & 7) << 8), buf[7], buf[8], bytes(buf[19:n - 2])))
dsp = Dispatcher(tm, send)
mode = [0]
fns = Functions(dsp, lambda: mode[0])
for apid in D.VEHICLES["inspector"][1]:
    fns.register_apid(apid)
calls = []
fns.add(D.FN_INSPECTOR_ADCS_SET_MODE, lambda args: calls.append(args) or 0)
for line in sys.stdin:
    raw = binascii.unhexlify(line.strip())
    out.clear()
    dsp.handle(raw, 0, len(raw))
    print([(a, s, t, binascii.hexlify(p).decode()) for a, s, t, p in out])
print(calls)
"""


@pytest.mark.micropython
def test_st8_routing_and_checks_on_micropython(micropython):
    cases = [
        _fn("inspector_adcs.set_mode", {"mode": 3}),
        fp_raw_tc(ADCS, 8, 1, struct.pack(">HB", D.FN_INSPECTOR_ADCS_SET_MODE, 9)),
        _fn("rover_mobility.set_mode", {"mode": 1}),
        fp_raw_tc(ADCS, 8, 1, struct.pack(">HB", 0x7FFF, 1)),
    ]
    out = micropython(_MP_ST8, stdin=("\n".join(c.hex() for c in cases) + "\n").encode()).decode().splitlines()
    b = Board()
    b.functions.add(D.FN_INSPECTOR_ADCS_SET_MODE, lambda args: b.calls.append(args) or 0)
    for raw, line in zip(cases, out):
        b.sent = []
        b.dispatcher.handle(raw, 0, len(raw))
        want = [(p["apid"], p["service"], p["subtype"], codec.build_payload("tm", p["service"], p["subtype"], p["data"]).hex()) for p in b.sent]
        assert line == repr(want)
    assert out[-1] == "[[3]]"


def test_st8_a_handler_that_raises_fails_its_tc_and_the_dispatcher_goes_on():
    b = Board()

    def broken(args):
        return [][args[0]]  # IndexError: a bug in a handler

    b.functions.add(D.FN_INSPECTOR_ADCS_SET_MODE, broken, lambda args: {}[args[0]] if args[0] == 2 else 0)
    assert b.tc(_fn("inspector_adcs.set_mode", {"mode": 2}))[-1] == (ADCS, "verification.start_failure", d.ERROR_BY_NAME["EXECUTION_FAILED"])
    assert b.tc(_fn("inspector_adcs.set_mode", {"mode": 1}))[-1] == (ADCS, "verification.completion_failure", d.ERROR_BY_NAME["EXECUTION_FAILED"])
    b.functions.add(D.FN_INSPECTOR_ADCS_SET_MODE, lambda args: 0)
    assert b.tc(_fn("inspector_adcs.set_mode", {"mode": 1})) == OK
