"""The link campaign: commands through a noisy line (hil.campaign.channel) to a live target.

Profiles: bit errors at BER 1e-4 and 1e-3 (both directions), and a line that also loses
octets, takes error bursts and drops out. In each, `trials` commands go out under noise:
pings, `param.set` of obc.clock_drift_ppm to a fresh value, and `sched.insert` of a ping
at a fresh far-future time. Checks, over a clean line between the noisy commands:

- no corrupted argument executed: after each noisy param.set the parameter holds its
  old value or the one sent, never another; every activity in the schedule summary
  is one that was inserted, with the release time it was sent with;
- the board keeps answering: a clean ping after each profile completes;
- the board's drop counters (HK obc, before/after) name the reasons frames were lost.
"""

import random
import struct
import time

from ground import dictionary as d
from ground.errors import MitraError
from ground.link import BoardSilent, CommandFailed, LinkError, Rejected
from hil.campaign.channel import Channel, NoisySerial
from hil.campaign.report import Result
from hil.campaign.target import Target
from hil.plugin import drop_delta, hk_obc

PROFILES = (
    ("BER 1e-4", dict(ber=1e-4)),
    ("BER 1e-3", dict(ber=1e-3)),
    ("drops, bursts, dropouts", dict(ber=1e-4, drop=2e-3, burst=1e-3, burst_len=12, dropout=2e-4, dropout_len=200)),
)
PARAM = d.PARAM_BY_NAME["obc.clock_drift_ppm"].id
SCHED_ROUND = 10  # inserts between two clean summaries (the table holds 16)
NOISY_TIMEOUT_S = 0.6  # a command lost on the line costs this much real time; not a measurement


def f32(x):
    return struct.unpack(">f", struct.pack(">f", x))[0]


def param_value(link, pid, timeout=5.0):
    r = link.command("param.get", {"param_ids": [{"param_id": pid}]}, timeout=timeout)
    for p in r.telemetry:
        if p["name"] == "param.values":
            for item in p["data"]["params"]:
                if item["param_id"] == pid:
                    return item["value"]
    raise AssertionError("param.get answered without the value")


def check_param(before, sent, got):
    """None when `got` is the old or the sent value (float32), else what is wrong."""
    if f32(got) in (f32(before), f32(sent)):
        return None
    return "parameter %d after a noisy set: %r (old %r, sent %r)" % (PARAM, got, before, sent)


def check_schedule(inserted, summary):
    """None when every activity of `summary` was inserted as listed, else what is wrong.

    inserted: {request_id: (coarse, fine)}; summary: [{"request_id", "coarse", "fine"}]."""
    for a in summary:
        want = inserted.get(a["request_id"])
        if want is None:
            return "activity with request ID 0x%08x that was never inserted" % a["request_id"]
        if (a["coarse"], a["fine"]) != want:
            return "activity 0x%08x released at %r, sent %r" % (a["request_id"], (a["coarse"], a["fine"]), want)
    return None


def _summary(link):
    r = link.command("sched.summary", timeout=5.0)
    for p in r.telemetry:
        if p["name"] == "sched.summary_report":
            return p["data"]["activities"]
    raise AssertionError("sched.summary answered without a report")


def run_profile(target, label, channel_kw, trials, seed, res):
    rng = random.Random(seed)
    up = Channel(seed=seed * 2 + 1, **channel_kw)
    down = Channel(seed=seed * 2 + 2, **channel_kw)

    def wrap(port):
        noisy = NoisySerial(port, up, down)
        noisy.quiet(True)  # clean while the link starts
        return noisy

    link = target.link(wrap=wrap)
    noisy = link.serial  # the NoisySerial: GroundLink reads and writes through the port it was given
    args_row = res.row("%s: no corrupted argument executed" % label)
    answer_row = res.row("%s: board keeps answering" % label)
    resync_row = res.row("%s: a clean TC after a noisy one is not lost" % label)
    outcomes = {"completed": 0, "failed report": 0, "rejected (security)": 0, "silent": 0, "other": 0}
    rtts = []
    try:
        before = hk_obc(link)
        link.command("sched.reset", timeout=5.0)
        value = param_value(link, PARAM)
        inserted = {}
        pending_inserts = 0
        tc_seq = rng.randrange(0x4000)
        for i in range(trials):
            op = ("ping", "param", "insert")[i % 3]
            if op == "param":
                sent = f32(rng.uniform(-400.0, 400.0))
                name, values = "param.set", {"params": [{"param_id": PARAM, "value": sent}]}
            elif op == "insert":
                tc_seq = (tc_seq + 1) & 0x3FFF
                embedded = _ping(tc_seq)
                coarse, fine = rng.randrange(1 << 31, 1 << 32), rng.randrange(1 << 16)
                inserted[struct.unpack_from(">I", embedded)[0]] = (coarse, fine)
                name, values = "sched.insert", {"coarse": coarse, "fine": fine, "tc": embedded}
                pending_inserts += 1
            else:
                name, values = "test.ping", None
            noisy.quiet(False)
            t0 = time.monotonic()
            try:
                link.command(name, values, timeout=NOISY_TIMEOUT_S)
                outcomes["completed"] += 1
                rtts.append(time.monotonic() - t0)
            except CommandFailed:
                outcomes["failed report"] += 1
            except Rejected:
                outcomes["rejected (security)"] += 1
            except BoardSilent:
                outcomes["silent"] += 1
            except (LinkError, MitraError):
                outcomes["other"] += 1
            noisy.quiet(True)
            time.sleep(0.05)  # what the noisy command still had on the line arrives noisy, then the line is clean
            link.flush_input()
            # the first clean TC goes out as GroundLink sends it (no 0x00 before it): if the noisy
            # frame lost its delimiter, the board still holds its tail and this TC is lost with it
            resync_row.trials += 1
            try:
                got = param_value(link, PARAM, timeout=1.0)
            except BoardSilent:
                resync_row.fail("TC %d (%s): the clean param.get after it was lost" % (i, name))
                link.serial.write(b"\x00")  # the resynchronising delimiter, then ask again
                got = param_value(link, PARAM)
            if op == "param":
                args_row.trials += 1
                problem = check_param(value, sent, got)
                if problem:
                    args_row.fail(problem)
                value = got
            if pending_inserts >= SCHED_ROUND or (i == trials - 1 and pending_inserts):
                summary = _summary(link)
                args_row.trials += pending_inserts
                problem = check_schedule(inserted, summary)
                if problem:
                    args_row.fail(problem)
                link.command("sched.reset", timeout=5.0)
                pending_inserts = 0
        after = hk_obc(link)
        answer_row.trials = trials + 1
        try:
            link.command("test.ping", timeout=5.0)
        except (LinkError, MitraError) as exc:
            answer_row.fail("no clean ping after the profile: %s" % exc)
        if target.sitl is not None and target.sitl.returncode is not None:
            answer_row.fail("the flight app exited with code %s" % target.sitl.returncode)
        drops = {k[5:]: n for k, n in drop_delta(before, after).items()}
        answered = trials - outcomes["silent"]
        rtts.sort()
        answer_row.figures = "answered %d/%d under noise (%s); RTT median %.0f ms" % (
            answered, trials, ", ".join("%s %d" % kv for kv in outcomes.items() if kv[1]),
            1000 * rtts[len(rtts) // 2] if rtts else float("nan"))
        args_row.figures = "board drops by reason: %s; line: up %s, down %s; ground: cobs %d, oversize %d, undecodable %d" % (
            ", ".join("%s %d" % kv for kv in sorted(drops.items())) or "none",
            _line(up), _line(down), link.splitter.drops["cobs"], link.splitter.drops["oversize"], link.bad_packets)
        res.drops = getattr(res, "drops", {})
        res.drops[label] = drops
        res.lines_stats = getattr(res, "lines_stats", {})
        res.lines_stats[label] = (dict(up.stats), dict(down.stats))
    finally:
        link.close()


def _ping(seq):
    from ground import codec

    return codec.encode_command(d.command("test.ping"), seq_count=seq)


def _line(ch):
    s = ch.stats
    parts = ["%d octets" % s["octets"], "%d bits flipped" % s["bits_flipped"]]
    if s["octets_lost"]:
        parts.append("%d lost" % s["octets_lost"])
    if s["bursts"]:
        parts.append("%d bursts" % s["bursts"])
    if s["dropouts"]:
        parts.append("%d dropouts" % s["dropouts"])
    return " ".join(parts)


def run(trials=30, seed=0, runtime="micropython", profiles=PROFILES, port=None, key_name=None):
    res = Result("link", "Link relay: bit errors, drops, bursts, dropouts between ground and board")
    with Target(runtime=runtime, port=port, key_name=key_name) as target:
        res.notes.append("target: %s; %d commands per profile (ping, param.set, sched.insert in turn)" % (target.name, trials))
        for k, (label, kw) in enumerate(profiles):
            run_profile(target, label, kw, trials, seed * 10 + k, res)
    return res
