"""ground/yamcs.py: a real Yamcs (fprime-yamcs-bundle on Java 17) loaded with our XTCE decodes a SITL's
TM stream exactly as ground.codec does, and TCs issued through Yamcs are executed by the SITL."""

import base64
import calendar
import math
import os
import signal
import subprocess
import struct
import sys
import time

import pytest

from ground import codec
from ground import dictionary as d
from ground import xtce
from ground import yamcs as gy
from ground.cli import main
from ground.keys import KeyStore
from ground.link import GroundLink
from ground.sitl import Sitl
from hil.plugin import need_yamcs


pytestmark = pytest.mark.usefixtures("mitra_home")  # SITL keys in a temporary key store, never the operator's


# --- what is missing says so in one line -------------------------------------------------------


def test_yamcs_without_java_names_the_package_to_install(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(gy.YamcsError, match="apt-get install openjdk-17-jre-headless"):
        gy.java()


def test_yamcs_with_an_old_java_says_which_it_found(monkeypatch, tmp_path):
    old = tmp_path / "java"
    old.write_text('#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    old.chmod(0o755)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(gy.YamcsError, match=r"Java 17 or later \(.*java is Java 11\)"):
        gy.java()


def test_yamcs_without_the_bundle_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "fprime_yamcs_bundle", None)
    with pytest.raises(gy.YamcsError, match="pip install fprime-yamcs-bundle==5.12.8.0"):
        gy.jars()


def test_cli_yamcs_without_java_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["yamcs", "--sitl"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ground: Yamcs needs Java 17") and "openjdk-17-jre-headless" in err[0]


def test_cli_yamcs_needs_a_port_or_sitl(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["yamcs"])
    assert exc.value.code == 2
    assert "one of the arguments --port --sitl is required" in capsys.readouterr().err


def test_cli_yamcs_missing_port_says_so_before_yamcs_starts(capsys, tmp_path):
    need_yamcs()
    assert main(["yamcs", "--port", str(tmp_path / "ttyNONE"), "--data", str(tmp_path / "y")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["ground: %s: no such port (is the board plugged in, or `ground sitl` running?)" % (tmp_path / "ttyNONE")]
    assert not (tmp_path / "y" / "yamcs.log").exists()


def test_cli_yamcs_bad_sitl_options_are_one_line(capsys):
    need_yamcs()
    assert main(["yamcs", "--sitl", "--board", "nosuch"]) == 1
    assert main(["yamcs", "--sitl", "--speed", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("ground: SITL: unknown board 'nosuch'") and err[1].startswith("ground: SITL: speed must be in")
    assert len(err) == 2


def test_cli_yamcs_refuses_a_data_dir_in_use(capsys, tmp_path):
    need_yamcs()
    (tmp_path / "old").write_text("x")
    assert main(["yamcs", "--sitl", "--data", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip() == "ground: --data %s: not empty (Yamcs starts with a fresh directory)" % tmp_path


@pytest.mark.slow
def test_cli_yamcs_sitl_pass_bridges_tm(capsys, tmp_path):
    need_yamcs()
    data = tmp_path / "yamcs"
    assert main(["yamcs", "--sitl", "--vehicle", "rover", "--speed", "5", "--http-port", "0", "--duration", "3", "--data", str(data)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Yamcs 5.12.8 ready in ") and "http://127.0.0.1:" in out
    bridged = [line for line in err.splitlines() if line.startswith("bridged ")]
    assert len(bridged) == 1 and int(bridged[0].split()[1]) > 0 and "0 TCs to the board (0 refused)" in bridged[0]
    assert (data / "etc" / "yamcs.mitra.yaml").exists() and (data / "mdb" / "mitra.xtce.xml").read_text() == xtce.xtce_text()


@pytest.mark.slow
def test_cli_yamcs_port_bridges_a_running_sitl_with_its_key(capsys, tmp_path):
    need_yamcs()
    with Sitl("rp2-pico", runtime="cpython", speed=5.0, log=lambda line: None) as sitl:  # keys under the port's link name
        assert main(["yamcs", "--port", sitl.port, "--http-port", "0", "--duration", "3"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Yamcs 5.12.8 ready in ")
    assert err.splitlines()[0].startswith("bridging %s <-> Yamcs" % sitl.port)
    bridged = err.splitlines()[1].split()
    assert bridged[0] == "bridged" and int(bridged[1]) > 0


def _processes_mentioning(text):
    out = []
    for proc in os.listdir("/proc"):
        if proc.isdigit():
            try:
                with open("/proc/%s/cmdline" % proc, "rb") as fh:
                    if text.encode() in fh.read():
                        out.append(int(proc))
            except OSError:
                pass
    return out


@pytest.mark.slow
def test_cli_yamcs_sigterm_stops_yamcs_and_the_sitl(tmp_path, mitra_home):
    need_yamcs()
    data = tmp_path / "yamcs"
    env = dict(os.environ, MITRA_HOME=str(mitra_home))
    proc = subprocess.Popen([sys.executable, "-m", "ground", "yamcs", "--sitl", "--http-port", "0", "--data", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stderr.readline()
        assert line.startswith("bridging /dev/pts/"), line + proc.stderr.read()
        assert len(_processes_mentioning(str(data / "etc"))) == 1  # the java of this Yamcs
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        left = _processes_mentioning(str(data / "etc"))
        for pid in left:  # a Yamcs the CLI failed to stop: end it here, then fail
            os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert out.startswith("Yamcs 5.12.8 ready in ") and err.startswith("bridged ")
    assert left == []


def test_yamcs_config_is_loopback_with_pus_links(tmp_path):
    server = gy.server_config(8090, tmp_path)
    assert server["services"][0]["args"]["address"] == "127.0.0.1"
    inst = gy.instance_config(1, 2, tmp_path / "m.xml")
    tm, tc = inst["dataLinks"]
    assert tm["packetPreprocessorClassName"] == "org.yamcs.pus.PusPacketPreprocessor"
    assert tm["packetPreprocessorArgs"]["timeEncoding"]["implicitPField"] == d.CUC_P_FIELD
    assert tc["host"] == "127.0.0.1" and tc["commandPostprocessorClassName"] == "org.yamcs.pus.PusCommandPostprocessor"


# --- a real Yamcs and a SITL -----------------------------------------------------------------


def _value(v):
    """A Yamcs API value as Python: numbers, bytes, lists, {member: value}."""
    t = v["type"]
    if t in ("UINT32", "SINT32", "UINT64", "SINT64"):
        return int(v[_key(t)])
    if t in ("FLOAT", "DOUBLE"):
        return float(v[_key(t)])
    if t == "BINARY":
        return base64.b64decode(v.get("binaryValue", ""))
    if t in ("STRING", "ENUMERATED", "TIMESTAMP"):
        return v["stringValue"]
    if t == "ARRAY":
        return [_value(x) for x in v.get("arrayValue", [])]
    if t == "AGGREGATE":
        agg = v["aggregateValue"]
        return {n: _value(x) for n, x in zip(agg["name"], agg["value"])}
    raise AssertionError("unexpected Yamcs value type %r" % t)


def _key(t):
    return {"UINT32": "uint32Value", "SINT32": "sint32Value", "UINT64": "uint64Value", "SINT64": "sint64Value", "FLOAT": "floatValue", "DOUBLE": "doubleValue"}[t]


def _same(ours, theirs):
    """Equal values; floats as the float32 on the wire (our decode prints the shortest decimal)."""
    if isinstance(ours, float) or isinstance(theirs, float):
        return struct.pack(">f", ours) == struct.pack(">f", theirs)
    if isinstance(ours, list):
        return isinstance(theirs, list) and len(ours) == len(theirs) and all(_same(a, b) for a, b in zip(ours, theirs))
    if isinstance(ours, dict):
        return isinstance(theirs, dict) and ours.keys() == theirs.keys() and all(_same(ours[k], theirs[k]) for k in ours)
    return ours == theirs


@pytest.fixture(scope="module")
def yamcs():
    need_yamcs()
    y = gy.Yamcs().start()
    try:
        yield y
    finally:
        y.stop()


def _listening(pid):
    """(protocol, local address, port) of every TCP socket listening and every UDP socket bound by process
    `pid`, from /proc (no tool needed)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for proto in ("tcp", "udp", "tcp6", "udp6"):
        with open("/proc/net/" + proto) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                local, state, inode = cols[1], cols[3], cols[9]
                if inode in inodes and (proto.startswith("udp") or state == "0A"):  # 0A: LISTEN
                    address, port = local.split(":")
                    if len(address) == 8:
                        address = ".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0))
                    out.append((proto, address, int(port, 16)))
    return out


def test_yamcs_listens_on_the_loopback_only(yamcs):
    # the HTTP API and both links: Yamcs' TM and TC links are clients of the bridge's loopback servers
    sockets = _listening(yamcs.proc.pid)
    assert ("tcp", "127.0.0.1", yamcs.http_port) in sockets
    assert [s for s in sockets if s[1] != "127.0.0.1"] == []
    assert _listening(os.getpid()).count(("tcp", "127.0.0.1", yamcs.tm_port)) == 1  # the feeds are ours
    assert _listening(os.getpid()).count(("tcp", "127.0.0.1", yamcs.tc_port)) == 1


@pytest.fixture(scope="module")
def pass_(yamcs, tmp_path_factory):
    """A rover SITL bridged to the fresh Yamcs, with commands issued through Yamcs: (yamcs, bridge, issued)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MITRA_HOME", str(tmp_path_factory.mktemp("home")))
        yield from _pass(yamcs)


def _pass(y):
    sitl = Sitl("rp2-pico", runtime="cpython", vehicle="rover", speed=10.0, log=lambda line: None)
    link = bridge = None
    try:
        sitl.start()
        link = GroundLink(sitl.port, key=KeyStore().load(sitl.link_name))
        link.flush_input()
        bridge = gy.Bridge(link, y.tm, y.tc, keep=True).start()
        issued = []
        for name, args in (
            ("test-ping", {}),
            ("rover_nav-add_waypoint", {"x": 10.5, "y": -3.25}),
            ("rover_mobility-set_mode", {"mode": "CHARGE"}),
            ("hk-one_shot", {"sids_count": 1, "sids": [{"sid": d.HK_BY_NAME["rover_power"].sid}]}),
            ("param-get", {"param_ids_count": 1, "param_ids": [{"param_id": d.PARAM_BY_NAME["link.replay_window"].id}]}),
            ("param-set-obc-hk_period_ms", {"value": 2000}),
            ("rover_mobility-set_mode", {"mode": "DRIVE"}),  # refused at start: DRIVE is entered by drive
        ):
            issued.append((name, y.issue(name, args)))
        deadline = time.monotonic() + 60
        while len(bridge.sent) < len(issued) and time.monotonic() < deadline and bridge.error is None:
            time.sleep(0.2)
        time.sleep(3.0)  # the last reports, and a few more HK rounds
        bridge.stop()
        yield y, bridge, issued
    finally:
        if bridge is not None:
            bridge.stop()
        if link is not None:
            link.close()
        sitl.stop()


def _archived(y):
    """Every packet Yamcs archived so far: {raw octets: the archive's record}."""
    return {base64.b64decode(a["packet"]): a for a in y.archived_packets()}


def _archived_of(y, raws, timeout=60.0):
    """{raw: record} of these packets once Yamcs has archived them all (it records asynchronously), or
    of those it has when the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        got = _archived(y)
        if all(raw in got for raw in raws) or time.monotonic() > deadline:
            return {raw: got[raw] for raw in raws if raw in got}
        time.sleep(0.5)


@pytest.mark.slow
def test_yamcs_decodes_every_tm_parameter_as_our_decode(pass_):
    y, bridge, _ = pass_
    assert bridge.error is None
    ours = {raw: p for raw, p in bridge.tap.kept}
    assert len(ours) > 50
    archived = _archived_of(y, ours)
    assert len(archived) == len(ours) == len(bridge.tap.kept)  # every packet the bridge forwarded, once
    names_seen, containers, labels = set(), set(), 0
    for raw, a in archived.items():
        p = ours[raw]
        want = xtce.parameter_values(p)
        got = _extract(y, a)
        labels += got.pop(_LABELS)
        assert got.keys() == want.keys(), (p["name"], sorted(set(got) ^ set(want)))
        for name, value in want.items():
            assert _same(value, got[name]), (p["name"], name, value, got[name])
        names_seen |= set(got)
        containers.add(a["id"]["name"])
    # the pass covered housekeeping, events, ST1, a single-parameter report and the time parameter
    assert "pus_time" in names_seen and "/mitra/param-value-link-replay_window" in containers
    assert any(c.startswith("/mitra/event-") for c in containers) and any(c.startswith("/mitra/hk-") for c in containers)
    assert "/mitra/verification-completion_success" in containers
    assert labels > 10


_LABELS = object()


def _extract(y, archived):
    """{parameter: raw value} Yamcs extracts from one archived packet; checks each enumeration's label
    against the dictionary's on the way (their number under the key _LABELS)."""
    ex = y.api("GET", "/api/archive/%s/packets/%s/%s:extract" % (gy.INSTANCE, archived["generationTime"], archived["sequenceNumber"]))
    got = {_LABELS: 0}
    for pv in ex["parameterValues"]:
        name = pv["parameter"]["name"]
        got[name] = _value(pv["rawValue"])
        if pv["parameter"].get("type", {}).get("engType") == "enumeration":  # the calibration: the dictionary's label
            names = _names(name)
            label = _value(pv["engValue"])
            assert label == names[got[name]] if got[name] in names else label not in names.values(), (name, got[name], label)
            got[_LABELS] += 1
    return got


def _names(param):
    if param.startswith("verification-") and param.endswith("_failure-error"):
        return d.ERROR_BY_CODE  # the ST1 error code, named by the dictionary's error table
    for prefix, items, fields in (("hk-", d.HK_STRUCTURES, "fields"), ("event-", d.EVENTS, "aux")):
        for item in items:
            for f in getattr(item, fields):
                if param == "%s%s-%s" % (prefix, item.name, f.name) and f.names:
                    return f.names
    raise AssertionError("%s is not an enumerated field" % param)


@pytest.mark.slow
def test_yamcs_generation_time_is_the_packets_cuc_time(pass_):
    y, bridge, _ = pass_
    ours = {raw: p for raw, p in bridge.tap.kept}
    epoch = calendar.timegm((2000, 1, 1, 0, 0, 0))
    checked = 0
    for raw, a in _archived_of(y, ours).items():
        p = ours[raw]
        exact_ms = (p["time"]["coarse"] * 65536 + p["time"]["fine"]) * 1000 / 65536.0
        got_ms = (calendar.timegm(time.strptime(a["generationTime"][:19], "%Y-%m-%dT%H:%M:%S")) - epoch) * 1000 + int(a["generationTime"][20:23])
        assert math.floor(exact_ms) <= got_ms <= math.floor(exact_ms) + 1, (p["time"], a["generationTime"])  # rounded up to the next ms at most
        checked += 1
    assert checked == len(ours)


@pytest.mark.slow
def test_tcs_issued_through_yamcs_are_executed_by_the_sitl(pass_):
    y, bridge, issued = pass_
    assert bridge.rejected == []
    assert len(bridge.sent) == len(issued)
    reports = {}
    for _, p in bridge.tap.kept:
        if p["service"] == 1:
            reports.setdefault(p["data"]["request_id"], []).append(p["name"])
    history = {e["id"]: {a["name"]: a["value"].get("stringValue") for a in e["attr"]} for e in y.api("GET", "/api/archive/%s/commands" % gy.INSTANCE).get("entry", [])}
    assert len(history) == len(issued)
    for (name, answer), tc in zip(issued, bridge.sent):
        sent = base64.b64decode(answer["binary"])
        assert tc[:2] == sent[:2] and tc[6:len(sent)] == sent[6:], name  # Yamcs' TC, length / count / PEC filled in
        rid = struct.unpack(">I", tc[:4])[0]
        seen = history[answer["id"]]  # Yamcs' own verdict, from the ST1 reports by its PUS1 verifiers
        if answer is issued[-1][1]:  # the refused one
            assert reports.get(rid) == ["verification.acceptance_success", "verification.start_failure"], reports.get(rid)
            assert seen["Verifier_Start_Status"] == "NOK" and seen["CommandComplete_Message"] == "start failed: ARG_OUT_OF_RANGE"
            continue
        assert reports.get(rid, [])[-1:] == ["verification.completion_success"], (name, reports.get(rid))
        assert [seen.get("Verifier_%s_Status" % stage) for stage in ("Acceptance", "Start", "Completion")] == ["OK"] * 3, (name, seen)
        assert seen["CommandComplete_Status"] == "OK", (name, seen)


# --- every packet the dictionary defines, with values at the edges of their types -------------------

_EDGES = {"u8": (0, 0xFF, 7), "u16": (0, 0xFFFF, 513), "u32": (0, 0xFFFFFFFF, 70000), "i8": (-128, 127, -1), "i16": (-32768, 32767, -2),
          "i32": (-(2**31), 2**31 - 1, -3), "f32": (-1.5e3, 3.25, 1e-7)}


def _scalar(f, k):
    if f.names:
        return sorted(f.names)[k % len(f.names)]
    return _EDGES[f.type][k % 3]


def _fields(fields, k):
    out = {}
    for f in fields:
        if isinstance(f, d.F):
            out[f.name] = _scalar(f, k + len(out))
        elif isinstance(f, d.List):
            out[f.name] = [_fields(f.item, k + i) for i in range(2)]
        elif isinstance(f, d.Rest):
            out[f.name] = bytes(range(k % 7, k % 7 + 11))
    return out


def _every_tm(k):
    """(description, TM packet) for every TM message, HK structure, event and parameter of the dictionary."""
    out = []
    for m in d.tm_messages():
        if any(isinstance(f, d.Typed) for f in m.payload) or m.name == "values":
            continue
        out.append((m.name, dict(service=m.service, subtype=m.subtype, data=_fields(m.payload, k))))
    for h in d.HK_STRUCTURES:
        out.append((h.name, dict(service=3, subtype=25, data={"sid": h.sid, "params": _fields(h.fields, k)})))
    for e in d.EVENTS:
        out.append((e.name, dict(service=5, subtype=e.severity, data={"event_id": e.id, "aux": _fields(e.aux, k)})))
    for p in d.PARAMS:
        value = (p.minimum, p.maximum, p.default)[k % 3]
        out.append((p.name, dict(service=20, subtype=2, data={"params": [{"param_id": p.id, "value": value}]})))
    two = [{"param_id": p.id, "value": p.default} for p in d.PARAMS[:2]]
    out.append(("two parameters", dict(service=20, subtype=2, data={"params": two})))
    return [(what, codec.encode_tm(apid=0x20 + i % 5, seq_count=(k * 1000 + i) & 0x3FFF, message_counter=i, coarse=0x7FFFFFFF - i * 977,
                                   fine=(i * 4099) & 0xFFFF, time_ref_status=k & 0xF, **kw)) for i, (what, kw) in enumerate(out)]


@pytest.mark.slow
def test_yamcs_decodes_every_packet_of_the_dictionary_as_our_decode(yamcs):
    sent = _every_tm(1) + _every_tm(2)
    archived, missing = {}, [raw for _, raw in sent]
    for raw in missing:
        yamcs.tm.send(raw)  # Yamcs' TCP TM link: in order, none lost
    deadline = time.monotonic() + 30
    while missing and time.monotonic() < deadline:
        time.sleep(0.5)
        archived.update(_archived(yamcs))
        missing = [raw for raw in missing if raw not in archived]
    assert missing == []
    what = {raw: w for w, raw in sent}
    for raw in what:
        a = archived[raw]
        want = xtce.parameter_values(codec.decode(raw))
        got = _extract(yamcs, a)
        got.pop(_LABELS)
        assert got.keys() == want.keys(), (what[raw], sorted(set(got) ^ set(want)))
        for name, value in want.items():
            assert _same(value, got[name]), (what[raw], name, value, got[name])


# --- every TC of the dictionary, encoded by Yamcs from the XTCE ------------------------------------


def _arg(f):
    """(our value, Yamcs' value) of a scalar argument: a name of an enumeration, else its range's top."""
    if f.names:
        value = sorted(f.names)[-1]
        return value, f.names[value]
    if f.type == "f32":
        value = f.maximum if f.maximum is not None else 3.25
        return value, value
    value = f.maximum if f.maximum is not None else d.SCALARS[f.type][3]
    return value, value


def _tc_values(fields):
    ours, theirs = {}, {}
    for f in fields:
        if isinstance(f, d.F):
            ours[f.name], theirs[f.name] = _arg(f)
        elif isinstance(f, d.List):
            items = [_tc_values(f.item) for _ in range(2)]
            ours[f.name] = [o for o, _ in items]
            theirs[f.name], theirs[f.name + "_count"] = [t for _, t in items], 2
        elif isinstance(f, d.Blob):
            inner = codec.encode_tc(17, 1, seq_count=5)
            ours[f.name], theirs[f.name], theirs[f.name + "_len"] = inner, inner.hex(), len(inner)
    return ours, theirs


def _without_length_and_pec(packet):
    """A TC as Yamcs encodes it before its post-processor: data length 0, no PEC."""
    return packet[:4] + b"\x00\x00" + packet[6:-2]


@pytest.mark.slow
def test_yamcs_encodes_every_tc_of_the_dictionary_as_our_codec(yamcs):
    checked = 0
    for cmd in d.COMMANDS.values():
        if cmd.name == "param.set":
            for p in (p for p in d.PARAMS if p.writable):
                value = p.maximum
                ours = codec.encode_command(cmd, {"params": [{"param_id": p.id, "value": value}]})
                got = base64.b64decode(yamcs.issue(xtce.param_set_command(p), {"value": value})["binary"])
                assert got == _without_length_and_pec(ours), p.name
                checked += 1
            continue
        ours, theirs = _tc_values(cmd.payload)
        got = base64.b64decode(yamcs.issue(xtce.command_name(cmd), theirs)["binary"])
        assert got == _without_length_and_pec(codec.encode_command(cmd, ours)), cmd.name
        checked += 1
    assert checked == len(d.COMMANDS) - 1 + sum(p.writable for p in d.PARAMS)


@pytest.mark.slow
def test_yamcs_refuses_an_argument_outside_its_range(yamcs):
    f = d.COMMANDS["rover_nav.add_waypoint"].function.args[0]
    with pytest.raises(gy.YamcsError, match="HTTP 400") as exc:
        yamcs.issue("rover_nav-add_waypoint", {"x": f.maximum * 2, "y": 0.0})
    assert "\n" not in str(exc.value) and str(exc.value).endswith("is not in the range [%s,%s]" % (f.minimum, f.maximum))
