"""Archive benchmarks: how many downlink packets a second the mission archive (ground/archive.py)
stores, against how many the fastest link delivers (issue 10: "keeps up with the fastest link").

The packets are a rover pass as the demo's archive holds it: almost all housekeeping, one report of
each of the rover's HK structures and the OBC's, plus the three ST1 reports of a TC and an event,
per round, with running sequence counts, times and changing values.

The link: 921600 baud (rp2-pico, the fastest link a board declares), 8N1, so 92160 octets/s; each TM
goes on the wire as the firmware writes it (firmware/fsw/link.py): a leading 0x00, COBS(packet), a
trailing 0x00. Link packets/s = 92160 / the mean wire octets per packet of the same mix.

Two measurements, each into a fresh archive file per round and ending with the commit that makes
the batch durable:
- `test_bench_archive_insert`: Recorder.down(body, decoded), as GroundLink.read calls it (the link
  decoded the packet already: the decode's own rate is in test_bench_link.py);
- `test_bench_archive_decode_and_insert`: Recorder.down(body), which decodes too: the whole ground
  cost of a packet after the COBS splitter.

Benchmarks measure, they never assert on time; under `make test` each body runs once and checks that
the archive holds every packet and every value.
"""

import itertools

import pytest

from ground import archive, codec
from ground import dictionary as d
from ground.framing import frame

LINK_BAUD = 921600
LINK_OCTETS_PER_S = LINK_BAUD // 10  # 8N1: 10 bit times per octet
ROUNDS_OF_MIX = 150
STRUCTURES = [d.HK_BY_NAME[n] for n in ("rover_mobility", "rover_nav", "rover_truth", "rover_drill", "rover_spectrometer",
                                         "rover_power", "obc")]
TC_REQUEST = (0x1800 | d.APID_BY_NAME["rover_drill"]) << 16 | 0xC000


def _value(field, k, i):
    """A value of `field` that moves with the round `k` (and differs between fields `i`)."""
    if field.type == "f32":
        return round(0.01 * k + 0.37 * i, 3)
    top = d.SCALARS[field.type][3]
    return (k * 7 + i) % (top + 1)


def build_mix():
    """[(raw TM packet, its decode)] of ROUNDS_OF_MIX rounds, as the link hands them to the recorder."""
    packets = []
    seq = itertools.count()
    for k in range(ROUNDS_OF_MIX):
        coarse, fine = 1000 + k // 10, (k % 10) * 6553
        tm = []
        for h in STRUCTURES:
            params = {f.name: _value(f, k, i) for i, f in enumerate(h.fields)}
            tm.append((3, 25, {"sid": h.sid, "params": params}))
        request = {"request_id": TC_REQUEST | (k & 0x3FFF)}
        tm += [(1, 1, request), (1, 3, request), (1, 7, request)]
        tm.append((5, 2, {"event_id": d.EVENT_BY_NAME["param_changed"].id, "aux": {"param_id": 1}}))
        for service, subtype, data in tm:
            n = next(seq)
            apid = d.OWNER[("hk", data["sid"])] if service == 3 else TC_REQUEST >> 16 & 0x7FF if service == 1 else d.APID_BY_NAME["obc"]
            raw = codec.encode_tm(service, subtype, data, apid=apid,
                                  seq_count=n & 0x3FFF, message_counter=n & 0xFFFF, coarse=coarse, fine=fine)
            packets.append((raw, codec.decode(raw)))
    return packets


@pytest.fixture(scope="module")
def mix():
    packets = build_mix()
    wire = sum(1 + len(frame(raw)) for raw, _ in packets)  # leading 0x00, COBS, trailing 0x00 per TM
    values = sum(len(p["data"]["params"]) for _, p in packets if p["name"] == "hk.report")
    return {"packets": packets, "wire": wire, "values": values}


_paths = itertools.count()
_open = []  # every round's recorder, closed after the benchmark


def _round(tmp_path, mix, decoded):
    """pedantic's setup: a fresh archive file for each round."""
    rec = archive.Recorder(tmp_path / ("bench-%d.sqlite" % next(_paths)), port="bench", vehicle="rover")
    _open.append(rec)
    return (rec, mix["packets"], decoded), {}


def _insert(rec, packets, decoded):
    for raw, p in packets:
        rec.down(raw, p if decoded else None)
    rec.commit()
    return rec


def _check(rec, mix):
    while _open:
        _open.pop().close()
    with archive.Archive(rec.path) as a:
        (s,) = a.sessions()
        assert (s["frames"], s["bad"]) == (len(mix["packets"]), 0)
        n_values = a.db.execute('SELECT COUNT(*) FROM "values"').fetchone()[0]
        assert n_values == mix["values"]
        assert len(a.outcomes()) == 0 and len(a.events()) == ROUNDS_OF_MIX
        last = a.values("rover_power", "soc")[-1]
    soc = [p for _, p in mix["packets"] if p["name"] == "hk.report" and p["data"]["sid"] == d.HK_BY_NAME["rover_power"].sid][-1]
    assert last[1] == pytest.approx(soc["data"]["params"]["soc"])


def _record(benchmark, mix):
    if benchmark.stats is None:
        return
    median = benchmark.stats.stats.median
    n = len(mix["packets"])
    link_pps = LINK_OCTETS_PER_S / (mix["wire"] / n)
    info = benchmark.extra_info
    info["packets"] = n
    info["hk_values"] = mix["values"]
    info["wire_octets"] = mix["wire"]
    info["wire_octets_per_packet"] = round(mix["wire"] / n, 1)
    info["median_s"] = median
    info["packets_per_s"] = round(n / median)
    info["link_packets_per_s"] = round(link_pps)
    info["x_link_921600"] = round(n / median / link_pps, 1)
    print("\n%s: %d packets in %.4f s (median): %d packets/s; the 921600-baud link delivers %d packets/s "
          "(%.1f wire octets each): %.1f x the link" % (benchmark.name, n, median, n / median, link_pps, mix["wire"] / n,
                                                          n / median / link_pps))


def test_bench_archive_insert(benchmark, mix, tmp_path):
    benchmark.group = "archive"
    rec = benchmark.pedantic(_insert, setup=lambda: _round(tmp_path, mix, True), rounds=15, iterations=1)
    _check(rec, mix)
    _record(benchmark, mix)


def test_bench_archive_decode_and_insert(benchmark, mix, tmp_path):
    benchmark.group = "archive"
    rec = benchmark.pedantic(_insert, setup=lambda: _round(tmp_path, mix, False), rounds=15, iterations=1)
    _check(rec, mix)
    _record(benchmark, mix)
