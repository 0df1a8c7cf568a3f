"""Link benchmarks: ground decode rate, firmware TM encode rate, TC round-trip latency.

ARCHITECTURE.md (Budgets): the ground decodes packets at least 10x faster than
the fastest link it supports can deliver them. The fastest link is the RP2040's
921600 baud (boards/rp2-pico.json); at 8N1 an octet takes 10 bit times, so the
link delivers at most 92160 octets/s, COBS overhead and delimiters included.

Benchmarks measure, they never assert on time. `make bench` runs them with
`--benchmark-enable --benchmark-only`; under `make test` (pyproject addopts has
`--benchmark-disable`) each body runs once as a plain test and checks only that
the results are right. Rates go to `benchmark.extra_info` when timing is on;
docs/benchmarks.md holds the figures and how they were made.
"""

import math
import re
import statistics
import time

import pytest
from spacepackets.ecss.tm import PusTm

from ground import codec
from ground import dictionary as d
from ground.framing import FrameSplitter, frame
from ground.keys import KeyStore
from ground.link import GroundLink
from ground.sitl import Sitl
from ground import runtimes

LINK_BAUD = 921600  # fastest link a board declares (rp2-pico, USB-CDC)
LINK_OCTETS_PER_S = LINK_BAUD // 10  # 8N1: start + 8 data + stop bits per octet -> 92160
READ_CHUNK = 4096  # GroundLink.read takes at most this much per read (ground/link.py _READ_SIZE)
CUC_LEN = 6  # CUC time field: 4 octets coarse + 2 octets fine (P-field 0x2E, implicit)
APID = d.APID_BY_NAME["obc"]

# The TM mix of one second of a busy pass: the ground runs about 4 TCs a second
# (3 go through, 1 is refused), HK comes once a second, plus events and reports.
#   (label, service, subtype, packets per second)
MIX = [
    ("hk.report sid 1 (obc, %d x u32)" % len(d.HK_BY_SID[1].fields), 3, 25, 1),
    ("verification.acceptance_success", 1, 1, 3),
    ("verification.start_success", 1, 3, 3),
    ("verification.completion_success", 1, 7, 3),
    ("verification.acceptance_failure", 1, 2, 1),
    ("event.low param_changed", 5, 2, 1),
    ("event.high security_rejected", 5, 4, 1),
    ("time.report", 9, 2, 1),
    ("param.values (3 parameters)", 20, 2, 1),
    ("test.pong", 17, 2, 1),
]
SECONDS = 63  # 16 packets a second x 63 s = 1008 packets
PINGS = 200
PING_WARMUP = 5
FW_PACKETS = 2000  # half HK reports, half ST1 completion reports
FW_HEAP = 100 * 1024  # the ESP32 budget (boards/esp32-devkitc.json), the tighter one
OBC_HK = [x.name for x in d.HK_BY_SID[1].fields]

_medians = {}  # benchmark name -> median seconds, for ratios within one run


def _payload(service, subtype, t, k):
    """Payload values of one mix entry at second `t`, `k`-th packet of its kind that second."""
    tc_seq = (4 * t + k) & 0x3FFF
    request_id = (0x1800 | APID) << 16 | 0xC000 | tc_seq
    if service == 1:
        data = {"request_id": request_id}
        if subtype == 2:
            data["error"] = d.ERROR_BY_NAME["ARG_OUT_OF_RANGE"]
        return data
    if service == 3:
        values = [t, 3, 61000 - t, 4 * t, 0, 0, 0, 1, 0, 0, t, 0, 0, 0, 3 * t, t, 16 * t, 98000]
        names = [x.name for x in d.HK_BY_SID[1].fields]
        return {"sid": 1, "params": dict(zip(names, values))}
    if service == 5 and subtype == 2:
        return {"event_id": 3, "aux": {"param_id": 1}}
    if service == 5:
        return {"event_id": 2, "aux": {"reason": 3, "spi": 1, "sn": 1000 + t, "floor": 2000 + t}}
    if service == 9:
        return {"rate_exp": 0, "coarse": 800000000 + t, "fine": 0x8000, "status": 1}
    if service == 20:
        return {"params": [{"param_id": 1, "value": 1000}, {"param_id": 2, "value": 0.5}, {"param_id": 3, "value": 1024}]}
    return {}


def build_mix():
    """The TM packets of SECONDS seconds of the mix, with running counters and times."""
    packets = []
    seq = 0
    for t in range(SECONDS):
        for _label, service, subtype, count in MIX:
            for k in range(count):
                packets.append(
                    codec.encode_tm(
                        service,
                        subtype,
                        _payload(service, subtype, t, k),
                        apid=APID,
                        seq_count=seq & 0x3FFF,
                        message_counter=seq & 0xFFFF,
                        coarse=800000000 + t,
                        fine=(k * 4096) & 0xFFFF,
                    )
                )
                seq += 1
    return packets


@pytest.fixture(scope="module")
def mix():
    packets = build_mix()
    # as the board sends them: a leading delimiter, then COBS(packet) 0x00 each
    stream = b"\x00" + b"".join(frame(p) for p in packets)
    keys = [(s, t) for _ in range(SECONDS) for _l, s, t, n in MIX for _ in range(n)]
    return {"packets": packets, "stream": stream, "keys": keys, "octets": sum(len(p) for p in packets)}


def _decode_all(packets):
    return [codec.decode(p) for p in packets]


def _spacepackets_all(packets):
    return [PusTm.unpack(p, timestamp_len=CUC_LEN) for p in packets]


def _downlink(stream):
    splitter = FrameSplitter()
    out = []
    for i in range(0, len(stream), READ_CHUNK):
        for body in splitter.feed(stream[i : i + READ_CHUNK]):
            out.append(codec.decode(body))
    return out


def _record_rates(benchmark, name, mix):
    """Rates from this benchmark's median into extra_info; nothing when timing is off."""
    if benchmark.stats is None:
        return None
    median = benchmark.stats.stats.median
    _medians[name] = median
    n = len(mix["packets"])
    wire = len(mix["stream"])
    info = benchmark.extra_info
    info["packets"] = n
    info["packet_octets"] = mix["octets"]
    info["wire_octets"] = wire  # COBS overhead and delimiters included
    info["median_s"] = median
    info["packets_per_s"] = round(n / median)
    info["packet_octets_per_s"] = round(mix["octets"] / median)
    info["wire_octets_per_s"] = round(wire / median)
    info["link_octets_per_s"] = LINK_OCTETS_PER_S
    # how long the link needs to deliver the mix over how long the ground needs to decode it
    info["x_link_921600"] = round(wire / LINK_OCTETS_PER_S / median, 1)
    return median


def test_bench_ground_decode_tm_mix(benchmark, mix):
    benchmark.group = "ground decode"
    out = benchmark(_decode_all, mix["packets"])
    assert [(p["service"], p["subtype"]) for p in out] == mix["keys"]
    assert out[0]["name"] == "hk.report" and out[0]["data"]["params"]["boot_count"] == 3
    _record_rates(benchmark, "ground_decode", mix)


def test_bench_spacepackets_unpack_tm_mix(benchmark, mix):
    # Header, CUC field and PEC only: spacepackets leaves the source data as bytes,
    # where codec.decode also parses every payload into fields.
    benchmark.group = "ground decode"
    out = benchmark(_spacepackets_all, mix["packets"])
    assert [(p.service, p.message_subtype) for p in out] == mix["keys"]
    assert out[0].timestamp == bytes.fromhex("2faf08000000")
    median = _record_rates(benchmark, "spacepackets", mix)
    if median is not None and "ground_decode" in _medians:
        # > 1: codec.decode is faster than PusTm.unpack on the same packets
        benchmark.extra_info["spacepackets_time_over_ground_decode_time"] = round(median / _medians["ground_decode"], 2)


def test_bench_ground_downlink_path(benchmark, mix):
    # The whole downlink after the serial port: COBS stream -> FrameSplitter -> decode.
    benchmark.group = "ground decode"
    out = benchmark(_downlink, mix["stream"])
    assert [(p["service"], p["subtype"]) for p in out] == mix["keys"]
    _record_rates(benchmark, "ground_downlink", mix)


# --- firmware TM encode -----------------------------------------------------------

FW_ENCODE = """\
import gc
import time
import hal
from fsw import dictionary as D
from fsw.clock import Clock
from fsw.packet import TmWriter

try:
    ticks_us = time.ticks_us
    ticks_diff = time.ticks_diff
except AttributeError:  # CPython
    def ticks_us():
        return time.perf_counter_ns() // 1000

    def ticks_diff(a, b):
        return a - b

N = %d
tm = TmWriter(Clock(hal.ticks_ms, hal.ticks_diff), D.MAX_FRAME)
build = tm.build
hk = tuple(range(1000, 1000 + %d))
gc.collect()
t0 = ticks_us()
for i in range(N // 2):
    build(D.APID_OBC, D.TM_HK_REPORT, (D.HK_OBC,) + hk)  # as st3 builds it
    build(D.APID_OBC, D.TM_VERIFICATION_COMPLETION_SUCCESS, (0x1801C000 | (i & 0x3FFF),))
dt = ticks_diff(ticks_us(), t0)
print("encoded", N, "us", dt)
n = build(D.APID_OBC, D.TM_HK_REPORT, (D.HK_OBC,) + hk)
print("hk", bytes(tm.buf[0:n]).hex())
n = build(D.APID_OBC, D.TM_VERIFICATION_COMPLETION_SUCCESS, (0x1801C000,))
print("st1", bytes(tm.buf[0:n]).hex())
"""


@pytest.mark.parametrize(
    "runtime",
    [pytest.param("micropython", marks=pytest.mark.micropython), "cpython"],
)
def test_bench_firmware_tm_encode(benchmark, runtime, request):
    heap = None
    if runtime == "micropython":
        request.getfixturevalue("micropython")  # skips (or fails on CI) without the unix port
        heap = FW_HEAP
    benchmark.group = "firmware encode"

    def run():
        return runtimes.run_snippet(FW_ENCODE % (FW_PACKETS, len(OBC_HK)), runtime=runtime, heap_bytes=heap).decode()

    # One subprocess run; the rate is timed inside it with ticks_us (pytest-benchmark's
    # own figure for this test includes interpreter start-up).
    out = benchmark.pedantic(run, rounds=1, iterations=1)
    m = re.search(r"encoded (\d+) us (\d+)", out)
    assert m, out
    n, us = int(m.group(1)), int(m.group(2))
    assert n == FW_PACKETS
    hk = codec.decode(bytes.fromhex(re.search(r"hk ([0-9a-f]+)", out).group(1)))
    assert hk["name"] == "hk.report" and hk["data"]["params"]["tm_sent"] == 1000 + OBC_HK.index("tm_sent")
    st1 = codec.decode(bytes.fromhex(re.search(r"st1 ([0-9a-f]+)", out).group(1)))
    assert st1["name"] == "verification.completion_success" and st1["data"]["request_id"] == 0x1801C000
    benchmark.extra_info.update(
        runtime=runtime,
        heap_bytes=heap,
        packets=n,
        elapsed_us=us,
        packets_per_s=round(n * 1e6 / us) if us else None,
    )


# --- TC round trip over the pty ---------------------------------------------------


@pytest.fixture
def mitra_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MITRA_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _ms(seconds):
    return round(seconds * 1e3, 3)


def _ping_round_trips(runtime, n):
    """(write -> completion, command() call) latencies in seconds of `n` test.ping TCs."""
    lines = []
    with Sitl("rp2-pico", runtime=runtime, log=lines.append) as sitl:
        with GroundLink(sitl.port, key=KeyStore().load(sitl.link_name)) as link:
            for _ in range(PING_WARMUP):  # first frame, imports, caches
                link.command("test.ping", timeout=10)
            written = [0.0]
            write = link.serial.write

            def timed_write(data):
                written[0] = time.perf_counter()
                return write(data)

            link.serial.write = timed_write
            wire, call = [], []
            for _ in range(n):
                t0 = time.perf_counter()
                result = link.command("test.ping", timeout=10)
                t1 = time.perf_counter()
                assert result.accepted and result.completed, (result.reports, lines)
                assert any(p["name"] == "test.pong" for p in result.telemetry), result.telemetry
                wire.append(t1 - written[0])
                call.append(t1 - t0)
    return wire, call


def _p99(samples):
    ordered = sorted(samples)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]  # nearest rank


@pytest.mark.parametrize(
    "runtime",
    [pytest.param("micropython", marks=pytest.mark.micropython), "cpython"],
)
def test_bench_tc_round_trip_ping(benchmark, runtime, request, mitra_home):
    if runtime == "micropython":
        request.getfixturevalue("micropython")
    benchmark.group = "tc round trip"
    wire, call = benchmark.pedantic(_ping_round_trips, args=(runtime, PINGS), rounds=1, iterations=1)
    assert len(wire) == PINGS
    benchmark.extra_info.update(
        runtime=runtime,
        board="rp2-pico",
        pings=PINGS,
        # from the TC frame's write() on the pty to its ST1 completion report decoded
        median_ms=_ms(statistics.median(wire)),
        p99_ms=_ms(_p99(wire)),
        min_ms=_ms(min(wire)),
        max_ms=_ms(max(wire)),
        # the whole GroundLink.command(): encode, seal (SN persisted with fsync), write, follow
        command_median_ms=_ms(statistics.median(call)),
        command_p99_ms=_ms(_p99(call)),
    )
