"""fsw.dispatcher: no TC, valid or not, ends the flight app (issue 11 item 1). Whatever a TC's
unpacking or a handler raises fails that TC at the stage it reached with a code, and the next
TC is answered; list arguments are read in place (packet.Items), so a long list needs no
large block of heap."""

import pytest

from fsw import dictionary as D
from fsw import packet as fp
from fsw.dispatcher import Dispatcher
from ground import codec
from ground import dictionary as d

ERR = d.ERROR_BY_NAME
OK = ["verification.acceptance_success", "verification.start_success", "verification.completion_success"]


class Clock:
    def cuc(self):
        return (100, 0)


class Board:
    """A dispatcher with ping and an ST3-shaped TC (a list argument) whose handlers the test sets."""

    def __init__(self):
        self.tm = fp.TmWriter(Clock(), D.MAX_FRAME)
        self.sent = []
        self.refuse_reports = False
        self.dispatcher = Dispatcher(self.tm, self.send)
        self.dispatcher.register(D.TC_TEST_PING, lambda args: 0)
        self.seen = []

    def send(self, buf, n):
        if self.refuse_reports:
            raise MemoryError("memory allocation failed, allocating 32 bytes")
        self.sent.append(codec.decode(bytes(buf[:n])))

    def tc(self, name, values=None, seq=1):
        raw = codec.encode_command(d.command(name), values, seq_count=seq)
        self.sent = []
        self.dispatcher.handle(bytearray(raw), 0, len(raw))
        return [(p["name"], p["data"].get("error")) for p in self.sent]

    def names(self, name, values=None):
        return [n for n, _ in self.tc(name, values)]


def _sids(n):
    return {"sids": [{"sid": i} for i in range(n)]}


def test_dispatcher_memory_error_while_unpacking_fails_acceptance_with_no_memory_and_the_next_tc_runs(monkeypatch):
    b = Board()
    b.dispatcher.register(D.TC_HK_ONE_SHOT, lambda args: 0)

    def no_heap(*_args, **_kwargs):
        raise MemoryError("memory allocation failed, allocating 1024 bytes")

    monkeypatch.setattr(fp, "unpack", no_heap)
    assert b.tc("hk.one_shot", _sids(200)) == [("verification.acceptance_failure", ERR["NO_MEMORY"])]
    monkeypatch.undo()
    assert b.names("test.ping") == OK
    assert b.dispatcher.tc_rejected == 1


@pytest.mark.parametrize(
    "stage, exc, report, error",
    [
        ("accept", RuntimeError("bug"), "verification.acceptance_failure", "EXECUTION_FAILED"),
        ("accept", MemoryError(), "verification.acceptance_failure", "NO_MEMORY"),
        ("validate", MemoryError(), "verification.start_failure", "NO_MEMORY"),
        ("execute", MemoryError(), "verification.completion_failure", "NO_MEMORY"),
        ("execute", ValueError("buffer too small"), "verification.completion_failure", "EXECUTION_FAILED"),
        ("execute", OSError(28), "verification.completion_failure", "STORAGE_FAILED"),
    ],
)
def test_dispatcher_a_handler_that_raises_fails_its_tc_at_its_stage_with_a_code(stage, exc, report, error):
    b = Board()

    def raises(_args):
        raise exc

    handlers = {"execute": lambda args: 0, "validate": lambda args: 0, "accept": lambda args: 0}
    handlers[stage] = raises
    b.dispatcher.register(D.TC_HK_ONE_SHOT, handlers["execute"], handlers["validate"], accept=handlers["accept"])
    assert b.tc("hk.one_shot", _sids(3))[-1] == (report, ERR[error])
    assert b.names("test.ping") == OK


def test_dispatcher_a_failure_report_that_cannot_be_built_leaves_the_tc_unanswered_and_returns():
    b = Board()

    def execute(_args):
        raise MemoryError()

    b.dispatcher.register(D.TC_HK_ONE_SHOT, execute)
    b.refuse_reports = True  # not even the failure report fits in the heap
    assert b.tc("hk.one_shot", _sids(1)) == []
    assert b.dispatcher.tc_lost == 1
    b.refuse_reports = False
    assert b.names("test.ping") == OK


def test_dispatcher_list_arguments_are_items_views_read_in_place_every_time_they_are_iterated():
    b = Board()

    def execute(args):
        items = args[0]
        b.seen.append((type(items).__name__, len(items), bool(items), list(items), list(items)))
        return 0

    b.dispatcher.register(D.TC_HK_ONE_SHOT, execute)
    assert b.names("hk.one_shot", _sids(3)) == OK
    assert b.seen == [("Items", 3, True, [(0,), (1,), (2,)], [(0,), (1,), (2,)])]
    assert b.names("hk.one_shot", _sids(0)) == OK
    assert b.seen[1][:4] == ("Items", 0, False, [])


def test_dispatcher_items_of_typed_pairs_check_every_item_before_acceptance():
    # param.set is [HP]: an unknown parameter ID anywhere in the list is refused at acceptance
    b = Board()
    b.dispatcher.register(D.TC_PARAM_SET, lambda args: b.seen.append(list(args[0])) or 0)
    pairs = {"params": [{"param_id": 1, "value": 5000}, {"param_id": 4, "value": 2}]}
    assert b.names("param.set", pairs) == OK
    assert b.seen == [[(1, 5000), (4, 2)]]
    raw = bytearray(codec.encode_command(d.command("param.set"), pairs, seq_count=2))
    raw[fp.PRIMARY_LEN + fp.TC_SEC_LEN + 1 + 6 : fp.PRIMARY_LEN + fp.TC_SEC_LEN + 1 + 8] = b"\x7f\xff"  # second ID
    raw[-2:] = codec.crc16(bytes(raw[:-2])).to_bytes(2, "big")
    b.sent = []
    b.dispatcher.handle(raw, 0, len(raw))
    assert [(p["name"], p["data"].get("error")) for p in b.sent] == [("verification.acceptance_failure", ERR["UNKNOWN_PARAMETER"])]


def test_dispatcher_items_of_a_list_cut_short_are_bad_length():
    b = Board()
    b.dispatcher.register(D.TC_HK_ONE_SHOT, lambda args: 0)
    raw = bytearray(codec.encode_command(d.command("hk.one_shot"), _sids(4), seq_count=3))
    raw[fp.PRIMARY_LEN + fp.TC_SEC_LEN] = 5  # the count promises one item more than present
    raw[-2:] = codec.crc16(bytes(raw[:-2])).to_bytes(2, "big")
    b.sent = []
    b.dispatcher.handle(raw, 0, len(raw))
    assert [(p["name"], p["data"].get("error")) for p in b.sent] == [("verification.acceptance_failure", ERR["BAD_LENGTH"])]


_MP_ITEMS = r"""
from fsw import packet as fp
buf = bytearray(b"\x03\x00\x01\x00\x02\x00\x03")
args = fp.unpack("[H]", buf, 0, len(buf), True)
items = args[0]
print(len(items), bool(items), list(items), list(items), [sid for (sid,) in items])
empty = fp.unpack("[H]", bytearray(b"\x00"), 0, 1, True)[0]
print(len(empty), bool(empty), list(empty), "yes" if empty else "no")
try:
    fp.unpack("[H]", buf, 0, len(buf) - 1, True)
except ValueError:
    print("short")
"""


@pytest.mark.micropython
def test_dispatcher_items_views_on_micropython(micropython):
    out = micropython(_MP_ITEMS).decode().splitlines()
    assert out == ["3 True [(1,), (2,), (3,)] [(1,), (2,), (3,)] [1, 2, 3]", "0 False [] no", "short"]


@pytest.mark.micropython
def test_rover_app_on_micropython_survives_a_200_id_param_get_and_answers_the_next_tc():
    # the rover's flight app on the unix port with the RP2040's heap budget: a 200-item list
    # unpacked as 200 tuples was a MemoryError out of the dispatcher that ended the app
    from ground import runtimes
    from ground.mission import Mission

    if runtimes.micropython_binary() is None:
        pytest.skip("MicroPython unix port not installed (set MITRA_MICROPYTHON)")
    with Mission("rover", runtime="micropython") as m:
        ids = [str(pid) for pid in (1, 5, 200, 2)] * 50  # 200 pairs of 6 octets: two reports
        result = m.send("param.get", *ids, timeout=30.0)
        assert result.completed
        values = [item["param_id"] for p in result.telemetry if p["name"] == "param.values" for item in p["data"]["params"]]
        assert values == [int(pid) for pid in ids]  # every value, in the order asked, over several reports
        assert m.sitl.returncode is None
        assert m.send("test.ping", timeout=30.0).completed
