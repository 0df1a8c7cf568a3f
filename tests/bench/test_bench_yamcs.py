"""Yamcs benchmarks (issue 10: "Yamcs start time and memory"): `ground yamcs`'s server (ground/yamcs.py:
Yamcs 5.12.8 from fprime-yamcs-bundle on the machine's Java, -Xmx256m, our XTCE) from launch to ready
(the instance RUNNING and both links OK, polled over the HTTP API every 0.2 s), its resident memory
(VmRSS) at ready, and again after it has decoded and archived a burst of TM.

Benchmarks measure, they never assert on time; under `make test` the body runs once and checks that
the server came up with our whole mission database and archived every packet of the burst. The burst
goes straight into Yamcs' TCP TM link (ground.yamcs.TmFeed) at about the 921600-baud link's packet
rate; the time until the last packet is archived is recorded too.

    .venv/bin/python -m pytest tests/bench/test_bench_yamcs.py --benchmark-enable -s
"""

import statistics
import time
import xml.etree.ElementTree as ET

import pytest

from ground import codec, xtce
from ground import dictionary as d
from ground import yamcs as gy
from hil.plugin import need_yamcs

BURST = 2000  # TM packets: HK reports of every structure in turn, as a pass sends them


def _burst():
    out = []
    for i in range(BURST):
        h = d.HK_STRUCTURES[i % len(d.HK_STRUCTURES)]
        params = {f.name: (sorted(f.names)[0] if f.names else (0.5 * i if f.type == "f32" else i % 200)) for f in h.fields}
        out.append(codec.encode_tm(3, 25, {"sid": h.sid, "params": params}, apid=d.OWNER[("hk", h.sid)], seq_count=i & 0x3FFF, coarse=1000 + i // 10, fine=(i % 10) * 6553))
    return out


def _archived_count(y):
    return sum(1 for _ in y.archived_packets())


def _tm_link(y):
    return next(x for x in y.api("GET", "/api/links/%s" % gy.INSTANCE)["links"] if x["name"] == "tm")


def test_bench_yamcs_start_and_memory(benchmark):
    need_yamcs()
    root = ET.fromstring(xtce.xtce_text())
    ns = {"x": xtce.NS}
    runs = []

    def start_measure_stop():
        y = gy.Yamcs().start()
        try:
            run = {"ready_s": y.ready_s, "rss_ready_mb": y.rss_kb() / 1024.0}
            ours = y.api("GET", "/api/mdb/%s/parameters?system=/%s&limit=1000" % (gy.INSTANCE, xtce.SPACE_SYSTEM))
            assert ours["totalSize"] == len(root.findall(".//x:ParameterSet/x:Parameter", ns))  # Yamcs adds its own under /yamcs
            assert y.api("GET", "/api/mdb/%s" % gy.INSTANCE)["commandCount"] == len(root.findall(".//x:MetaCommandSet/x:MetaCommand", ns))
            burst = _burst()
            t0 = time.monotonic()
            for raw in burst:
                y.tm.send(raw)
                time.sleep(0.0005)  # about 2000 packets/s: the 921600-baud link's rate (docs/benchmarks.md, archive)
            deadline = time.monotonic() + 60
            while _archived_count(y) < len(burst) and time.monotonic() < deadline:  # until Yamcs has archived it all
                time.sleep(0.25)
            run["archived_s"] = time.monotonic() - t0
            received = _archived_count(y)
            assert received == len(burst) == int(_tm_link(y)["dataInCount"])
            run["rss_after_mb"] = y.rss_kb() / 1024.0
            run["received"] = received
            runs.append(run)
        finally:
            y.stop()

    benchmark.pedantic(start_measure_stop, rounds=3 if benchmark.enabled else 1, iterations=1)
    for key in ("ready_s", "rss_ready_mb", "rss_after_mb", "received", "archived_s"):
        benchmark.extra_info[key] = round(statistics.median(r[key] for r in runs), 2)
        benchmark.extra_info[key + "_runs"] = [round(r[key], 2) for r in runs]
    benchmark.extra_info["java"] = gy.java_major(gy.java())
    info = benchmark.extra_info
    print("\nyamcs %s on Java %d: ready in %s s; RSS %s MB at ready, %s MB after a burst of %d TM packets at ~2000/s, "
          "of which its TCP TM link took %s, all archived %s s after the first was sent (per run; medians %.2f s, %.0f MB, "
          "%.0f MB)" % (gy.YAMCS_VERSION, info["java"], info["ready_s_runs"], info["rss_ready_mb_runs"], info["rss_after_mb_runs"],
                        BURST, info["received_runs"], info["archived_s_runs"], info["ready_s"], info["rss_ready_mb"],
                        info["rss_after_mb"]))
