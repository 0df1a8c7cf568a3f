"""fsw.services.st20: a parameter report longer than the board's frame is split over several
TM 20.2 reports, each within the frame, in the order asked (issue 11 item 1)."""

import pytest

from fsw import dictionary as D
from fsw import packet as fp
from fsw.dispatcher import Dispatcher
from fsw.params import Params
from fsw.services.st20 import Parameters
from ground import codec
from ground import dictionary as d

# a board merges its vehicle's tables at boot; these tests look at both vehicles'
D.use_vehicle("inspector")
D.use_vehicle("rover")


class Clock:
    def cuc(self):
        return (100, 0)


class Board:
    def __init__(self, max_frame=D.MAX_FRAME):
        self.tm = fp.TmWriter(Clock(), max_frame)
        self.raw = []
        self.dispatcher = Dispatcher(self.tm, self.send)
        self.params = Params()
        self.st20 = Parameters(D.APID_OBC, self.tm, self.send, self.params, None)
        self.st20.register(self.dispatcher)

    def send(self, buf, n):
        self.raw.append(bytes(buf[:n]))

    def get(self, ids):
        raw = codec.encode_command(d.command("param.get"), {"param_ids": [{"param_id": pid} for pid in ids]}, seq_count=1)
        self.raw = []
        self.dispatcher.handle(bytearray(raw), 0, len(raw))
        return [codec.decode(r) for r in self.raw]


def _values(packets):
    return [(item["param_id"], item["value"]) for p in packets if p["name"] == "param.values" for item in p["data"]["params"]]


def _names(packets):
    return [p["name"] for p in packets]


def test_st20_get_of_225_ids_is_split_over_reports_that_fit_the_frame():
    b = Board()
    ids = [1, 2, 3, 4, 5] * 45  # u32, f32, u16, u8, u32: 225 pairs of 6, 6, 4, 3, 6 octets (1125 in all)
    packets = b.get(ids)
    assert _names(packets) == ["verification.acceptance_success", "verification.start_success", "param.values", "param.values", "verification.completion_success"]
    assert [pid for pid, _ in _values(packets)] == ids
    assert _values(packets)[:5] == [(pid, b.params.get(pid)) for pid in (1, 2, 3, 4, 5)]
    assert max(len(r) for r in b.raw) <= D.MAX_FRAME
    # the first report is as full as the frame allows: one more pair would not have fitted
    first = b.raw[2]
    assert len(first) + 6 > D.MAX_FRAME


def test_st20_get_of_255_ids_on_a_240_octet_frame_answers_every_one():
    b = Board(max_frame=240)
    ids = [1] * 255
    packets = b.get(ids)
    assert _names(packets)[-1] == "verification.completion_success"
    assert [pid for pid, _ in _values(packets)] == ids
    assert all(len(r) <= 240 for r in b.raw)
    assert _names(packets).count("param.values") == 8  # (240 - 19 - 2 - 1) // 6 = 36 pairs a report: 7 full, 1 of 3


def test_st20_get_all_on_a_small_frame_is_split_and_in_id_order():
    b = Board(max_frame=64)
    packets = b.get([])
    assert [pid for pid, _ in _values(packets)] == sorted(b.params.spec)
    assert len(b.params.spec) > 10 and _names(packets).count("param.values") > 1
    assert all(len(r) <= 64 for r in b.raw)


def test_st20_get_that_fits_is_one_report_byte_for_byte_as_the_ground_builds_it():
    b = Board()
    b.get([1, 2])
    want = codec.encode_tm(20, 2, {"params": [{"param_id": 1, "value": b.params.get(1)}, {"param_id": 2, "value": b.params.get(2)}]},
                           seq_count=2, message_counter=2, coarse=100)
    assert b.raw[2] == want


@pytest.mark.parametrize("ids", [[99], [1, 99]])
def test_st20_get_unknown_id_fails_at_start(ids):
    b = Board()
    packets = b.get(ids)
    assert _names(packets)[-1] == "verification.start_failure"
    assert packets[-1]["data"]["error"] == d.ERROR_BY_NAME["UNKNOWN_PARAMETER"]
