"""Fuzzing every decoder on both sides of the link with hypothesis (issue 11).

Ground: `ground.framing` (cobs_decode, FrameSplitter) and `ground.codec.decode` on every
TM of the dictionary. Firmware (run here under CPython with the firmware's own modules,
and the decoders once more on the MicroPython unix port): `fsw.cobs.Decoder`,
`fsw.packet` (check, Tc.parse, unpack of every TC and TM layout) and `fsw.dispatcher`
inside a real OBC with each vehicle's app, fed every TC of the dictionary.

Inputs are valid packets of the dictionary, then truncated, extended, mutated (octets
flipped, inserted, deleted) and, for the packet decoders, "resealed": length field and
PEC made right again after the mutation, so the damage reaches the payload parsers.

Properties (the documented errors only):
- cobs_decode returns bytes or raises FramingError; FrameSplitter and the firmware
  decoder never raise, agree frame for frame, and a good frame after garbage and a
  delimiter comes through (garbage costs at most the frame it hits);
- codec.decode returns a packet or raises a MitraError (PacketError and kin);
- fsw.packet.check returns OK, BAD_LENGTH or BAD_PEC; unpack raises only ValueError
  (length) or KeyError (unknown typing key);
- Dispatcher.handle never raises; every TM it sends decodes on the ground; a TC that
  asked for acceptance reports, and a TC it refused gets a failure report naming it.
"""

import contextlib
import os
import struct
import sys
import tempfile

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hseed
from hypothesis import strategies as st

from ground import FIRMWARE_DIR, codec
from ground import dictionary as d
from ground.errors import FramingError, MitraError
from ground.framing import FrameSplitter, cobs_decode, cobs_encode
from ground import runtimes
from hil.campaign.report import Result

for _p in (str(FIRMWARE_DIR), str(runtimes.CPYTHON_SHIMS)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from fsw import cobs as fcobs  # noqa: E402  (firmware modules, importable once the paths are set)
from fsw import dictionary as D  # noqa: E402
from fsw import packet as fp  # noqa: E402

D.use_vehicle("inspector")
D.use_vehicle("rover")

MAX_FRAME = d.MAX_FRAME
ST1 = d.SERVICE_BY_NAME["verification"].number
_FAILURE_SUBTYPES = {d.key("verification.%s_failure" % s)[1] for s in ("acceptance", "start", "progress", "completion")}

# --- strategies: dictionary packets and their damage ---------------------------------------

TAIL_KEYS = {"hk": d.HK_BY_SID, "event": d.EVENT_BY_ID, "function": d.FUNCTION_BY_ID}


def scalar(type_):
    """Values of one dictionary scalar type: integers over the whole range, f32 finite and exact in float32."""
    if type_ == "f32":
        return st.floats(width=32, allow_nan=False, allow_infinity=False)
    _, _, lo, hi = d.SCALARS[type_]
    return st.integers(lo, hi)


def tail_fields(field, key):
    """The fields a Typed tail stands for, given its key (SID, event ID or function ID)."""
    if field.table == "hk":
        return d.HK_BY_SID[key].fields
    if field.table == "function":
        return d.FUNCTION_BY_ID[key].args
    return d.EVENT_BY_ID[key].aux


def key_ids(fields):
    """Names of fields that type a later ParamValue / Typed, with the IDs they may take."""
    out = {}
    for f in fields:
        if isinstance(f, d.ParamValue):
            out[f.id_field] = sorted(d.PARAM_BY_ID)
        elif isinstance(f, d.Typed):
            out[f.key_field] = sorted(TAIL_KEYS[f.table])
    return out


@st.composite
def payload(draw, fields):
    """A payload dict for dictionary fields (IDs that type a later field drawn from their table)."""
    keys = key_ids(fields)
    out = {}
    for f in fields:
        if isinstance(f, d.F):
            out[f.name] = draw(st.sampled_from(keys[f.name]) if f.name in keys else scalar(f.type))
        elif isinstance(f, d.List):
            # mostly short lists, sometimes long enough that a reply to them cannot fit one frame
            out[f.name] = draw(st.one_of(st.lists(payload(f.item), max_size=4), st.lists(payload(f.item), min_size=150, max_size=255)))
        elif isinstance(f, d.ParamValue):
            out[f.name] = draw(scalar(d.PARAM_BY_ID[out[f.id_field]].type))
        elif isinstance(f, d.Typed):
            out[f.name] = draw(payload(tail_fields(f, out[f.key_field])))
        elif isinstance(f, (d.Blob, d.Rest)):
            out[f.name] = draw(st.binary(max_size=64))
        else:
            raise TypeError(f)
    return out


@st.composite
def tm_packet(draw):
    m = draw(st.sampled_from(d.tm_messages()))
    return codec.encode_tm(
        m.service, m.subtype, draw(payload(m.payload)), apid=draw(st.sampled_from(sorted(d.APIDS))),
        seq_count=draw(st.integers(0, 0x3FFF)), coarse=draw(st.integers(0, 0xFFFFFFFF)), fine=draw(st.integers(0, 0xFFFF)),
    )


@st.composite
def tc_packet(draw, ack_flags=None):
    """A TC of the dictionary: any command (service message or vehicle function) at its owner's APID."""
    name = draw(st.sampled_from(sorted(d.COMMANDS)))
    cmd = d.COMMANDS[name]
    values = draw(payload(cmd.payload))
    flags = draw(st.integers(0, 0xF)) if ack_flags is None else ack_flags
    if name == "sched.insert":  # the embedded TC is itself a dictionary TC, else it is refused at once
        values["tc"] = codec.encode_command(d.command("test.ping"), seq_count=draw(st.integers(0, 0x3FFF)))
    try:
        return codec.encode_command(cmd, values, seq_count=draw(st.integers(0, 0x3FFF)), ack_flags=flags)
    except MitraError:  # a drawn list too long for its count octet, and the like: a plain ping instead
        return codec.encode_command(d.command("test.ping"), seq_count=1, ack_flags=flags)


def reseal(raw):
    """`raw` with its length field and PEC made right (the damage gets past check())."""
    raw = bytearray(raw)
    if len(raw) < 8:
        raw += bytes(8 - len(raw))
    struct.pack_into(">H", raw, 4, len(raw) - 7)
    struct.pack_into(">H", raw, len(raw) - 2, codec.crc16(bytes(raw[:-2])))
    return bytes(raw)


@st.composite
def damaged(draw, base, resealed=True):
    """A packet from `base`, then truncated, extended or mutated; resealed half the time."""
    raw = bytearray(draw(base))
    how = draw(st.sampled_from(["truncate", "extend", "flip", "insert", "delete", "header", "none"]))
    if how == "truncate":
        raw = raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
    elif how == "extend":
        raw += draw(st.binary(min_size=1, max_size=32))
    elif how == "flip":
        for _ in range(draw(st.integers(1, 4))):
            if raw:
                i = draw(st.integers(0, len(raw) - 1))
                raw[i] ^= draw(st.integers(1, 255))
    elif how == "insert":
        i = draw(st.integers(0, len(raw)))
        raw[i:i] = draw(st.binary(min_size=1, max_size=8))
    elif how == "delete" and raw:
        i = draw(st.integers(0, len(raw) - 1))
        del raw[i : i + draw(st.integers(1, 8))]
    elif how == "header" and len(raw) >= 11:
        i = draw(st.integers(0, 10))  # primary or secondary header: APID, type, service, subtype, flags
        raw[i] = draw(st.integers(0, 255))
    raw = bytes(raw)
    if resealed and draw(st.booleans()):
        raw = reseal(raw)
    return raw


def _wire_stream():
    """Frame bodies on a wire: good frames, damaged encodings, garbage, delimiters."""
    body = st.one_of(st.binary(min_size=1, max_size=300), st.binary(min_size=1000, max_size=1100))
    piece = st.one_of(
        body.map(lambda b: cobs_encode(b) + b"\x00"),
        st.tuples(body, st.integers(0, 2000), st.integers(0, 255)).map(_mangle),
        st.binary(max_size=40),
        st.just(b"\x00"),
    )
    return st.lists(piece, max_size=12).map(b"".join)


def _mangle(args):
    b, i, v = args
    enc = bytearray(cobs_encode(b))
    enc[i % len(enc)] = v
    return bytes(enc) + b"\x00"


# --- properties ----------------------------------------------------------------------------


def prop_ground_cobs(data):
    try:
        out = cobs_decode(data)
    except FramingError:
        return
    assert isinstance(out, bytes)


def prop_cobs_decoders_agree(stream, good):
    """ground FrameSplitter and fsw.cobs.Decoder: no exception, same frames; a good frame after a delimiter survives."""
    stream = stream + b"\x00" + cobs_encode(good) + b"\x00"
    split = FrameSplitter(MAX_FRAME)
    ground_frames = []
    for i in range(0, len(stream), 7):  # the splitter gets the stream in chunks, as from a port
        ground_frames += split.feed(stream[i : i + 7])
    dec = fcobs.Decoder(MAX_FRAME)
    fw_frames = []
    for b in stream:
        n = dec.feed(b)
        if n:
            assert n <= MAX_FRAME
            fw_frames.append(bytes(dec.frame[:n]))
    assert fw_frames == ground_frames, "firmware and ground frames differ"
    assert fw_frames and fw_frames[-1] == good, "the good frame after the delimiter was lost"


def prop_codec_decode(raw):
    try:
        p = codec.decode(raw)
    except MitraError:
        return
    assert isinstance(p, dict) and "apid" in p


def prop_fw_packet(raw):
    verdict = fp.check(raw, 0, len(raw))
    assert verdict in (fp.OK, fp.BAD_LENGTH, fp.BAD_PEC)
    if verdict != fp.OK:
        return
    tc = fp.Tc()
    if not tc.parse(raw, 0, len(raw)):
        return
    layouts = D.TC_LAYOUT if tc.ptype else D.TM_LAYOUT
    layout = layouts.get(tc.key())
    if layout is None:
        return
    start = fp.PRIMARY_LEN + (fp.TC_SEC_LEN if tc.ptype else fp.TM_SEC_LEN)
    try:
        fp.unpack(layout, raw, start, len(raw) - fp.PEC_LEN)
    except (ValueError, KeyError):
        pass


class _Capture:
    """The hal link of an in-process OBC: every TM it writes, decoded by the ground."""

    def __init__(self):
        self.split = FrameSplitter()
        self.packets = []
        self.undecodable = []

    def write(self, buf, n):
        for body in self.split.feed(bytes(buf[:n])):
            try:
                self.packets.append(codec.decode(body))
            except MitraError as exc:
                self.undecodable.append("%s: %s" % (body.hex(), exc))


@contextlib.contextmanager
def _in_dir(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def boot_obc(vehicle):
    """The real OBC (fsw.app.Obc) with `vehicle`'s app; its flash is the current directory (the caller's to choose)."""
    from fsw.app import Obc

    board = {"speed": "max", "security": False, "watchdog_ms": 8000, "vehicle": vehicle,
             "devices": ["imu", "magnetometer", "sun_sensor", "star_tracker", "rel_nav", "wheels", "magnetorquers",
                         "thrusters", "camera", "battery", "encoders", "hazard", "drill", "spectrometer"], "scenario": {}}
    link = _Capture()
    obc = Obc(board, link)
    obc.capture = link
    if vehicle:
        app = __import__(vehicle + ".app", None, None, ("start",))
        app.start(obc, board)
    return obc


def prop_dispatcher(obc, raw):
    """One TC through the live dispatcher: never raises, answers (or drops) as ST1 says."""
    cap = obc.capture
    start = len(cap.packets)
    rejected = obc.dispatcher.tc_rejected
    if fp.check(raw, 0, len(raw)) != fp.OK:
        return  # the link drops it before the dispatcher (counted there)
    buf = bytearray(MAX_FRAME)
    buf[: len(raw)] = raw
    obc.dispatcher.handle(buf, 0, len(raw))
    assert not cap.undecodable, "a TM the ground cannot decode: %s" % cap.undecodable[-1]
    rid = struct.unpack_from(">I", raw, 0)[0]
    reports = [p for p in cap.packets[start:] if p["service"] == ST1 and p["data"].get("request_id") == rid]
    flags = raw[6] & 0xF if len(raw) > 6 else 0
    if obc.dispatcher.tc_rejected > rejected:
        assert any(p["subtype"] in _FAILURE_SUBTYPES for p in reports), "refused without a failure report"
    elif flags & 1:
        assert reports, "ack flag 1 set and no verification report"
    del cap.packets[:]  # keep memory flat over a long run


# --- the runner ----------------------------------------------------------------------------


def _run(row, strategy, prop, examples, seed):
    """Run one property for `examples` draws; count them in row.trials, a counterexample as a failure."""

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate, Phase.shrink],
              suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(strategy)
    def case(x):
        row.trials += 1
        prop(*x) if isinstance(x, tuple) else prop(x)

    try:
        case()
    except Exception as exc:  # hypothesis re-raises the shrunk counterexample's error
        row.fail("%s: %s" % (type(exc).__name__, str(exc).splitlines()[0][:300] if str(exc) else ""))


def run(examples=200, seed=0, micropython=True):
    """The whole fuzz campaign: `examples` draws per decoder (the dispatcher gets them per vehicle)."""
    res = Result("fuzz", "Decoder fuzzing (hypothesis): frames, packets, every TM and TC of the dictionary")
    _run(res.row("ground cobs_decode: FramingError or bytes"), st.one_of(st.binary(max_size=600), _wire_stream()),
         prop_ground_cobs, examples, seed)
    _run(res.row("ground FrameSplitter = fsw.cobs.Decoder, resync"), st.tuples(_wire_stream(), st.binary(min_size=1, max_size=200)),
         prop_cobs_decoders_agree, examples, seed)
    _run(res.row("ground codec.decode, every TM: MitraError or packet"), damaged(tm_packet()), prop_codec_decode, examples, seed)
    _run(res.row("ground codec.decode, every TC: MitraError or packet"), damaged(tc_packet()), prop_codec_decode, examples, seed)
    _run(res.row("fsw.packet check/parse/unpack, every TC and TM"), damaged(st.one_of(tc_packet(), tm_packet())),
         prop_fw_packet, examples, seed)
    for vehicle in ("rover", "inspector"):
        with tempfile.TemporaryDirectory(prefix="mitra-fuzz-") as tmp, _in_dir(tmp):
            obc = boot_obc(vehicle)
            row = res.row("fsw.dispatcher (OBC + %s), every TC: ST1 report or clean drop" % vehicle)
            _run(row, damaged(tc_packet()), lambda raw, obc=obc: prop_dispatcher(obc, raw), examples, seed)
            row.figures = "accepted %d, rejected %d" % (obc.dispatcher.tc_accepted, obc.dispatcher.tc_rejected)
    if micropython:
        res.rows.append(run_micropython(examples, seed))
        res.rows.append(run_live(max(1, examples // 10), seed))
    return res


# --- the firmware decoders on the MicroPython unix port -------------------------------------

_MP_BATCH = r"""
import sys, binascii
from fsw import cobs, packet as fp
from fsw import dictionary as D
D.use_vehicle("inspector")
D.use_vehicle("rover")
dec = cobs.Decoder(1024)
tc = fp.Tc()
for line in sys.stdin:
    raw = binascii.unhexlify(line.strip())
    try:
        frames = 0
        for b in raw:
            if dec.feed(b):
                frames += 1
        dec.reset()
        v = fp.check(raw, 0, len(raw))
        out = "v%d" % v
        if v == fp.OK and tc.parse(raw, 0, len(raw)):
            layout = (D.TC_LAYOUT if tc.ptype else D.TM_LAYOUT).get(tc.key())
            if layout is not None:
                start = fp.PRIMARY_LEN + (fp.TC_SEC_LEN if tc.ptype else fp.TM_SEC_LEN)
                try:
                    fp.unpack(layout, raw, start, len(raw) - fp.PEC_LEN)
                    out += " ok"
                except (ValueError, KeyError):
                    out += " refused"
        print(out)
    except Exception as e:
        print("RAISED %s %s" % (type(e).__name__, e))
"""


def run_micropython(examples=200, seed=0):
    """fsw.cobs and fsw.packet on the unix port over a batch of damaged packets; the row for the table."""
    from hil.campaign.report import Row

    row = Row("fsw.cobs + fsw.packet on MicroPython, damaged TC/TM")
    if runtimes.micropython_binary() is None:
        row.figures = "skipped: no MicroPython unix port"
        return row
    inputs = []

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(st.one_of(damaged(st.one_of(tc_packet(), tm_packet())), _wire_stream()))
    def collect(raw):
        inputs.append(raw)

    collect()
    out = runtimes.run_snippet(_MP_BATCH, runtime="micropython", stdin=("\n".join(r.hex() for r in inputs) + "\n").encode(),
                               timeout=300).decode().splitlines()
    row.trials = len(inputs)
    if len(out) != len(inputs):
        row.fail("%d answers for %d inputs" % (len(out), len(inputs)))
    verdicts = {}
    for raw, line in zip(inputs, out):
        if line.startswith("RAISED"):
            row.fail("%s on %s" % (line, raw.hex()[:80]))
        else:
            want = fp.check(raw, 0, len(raw))
            if line.split()[0] != "v%d" % want:
                row.fail("MicroPython verdict %s, CPython v%d on %s" % (line, want, raw.hex()[:80]))
        key = "raised" if line.startswith("RAISED") else line.split()[0]
        verdicts[key] = verdicts.get(key, 0) + 1
    row.figures = "verdicts " + ", ".join("%s %d" % kv for kv in sorted(verdicts.items()))
    return row


# --- the dispatcher of a live flight app on the MicroPython unix port -----------------------


def _short(raw):
    return raw.hex() if len(raw) <= 48 else "%s... (%d octets)" % (raw[:40].hex(), len(raw))


def live_packet():
    """A damaged, resealed TC that asks for acceptance and completion reports: the board must answer each."""

    def ask(raw):
        raw = bytearray(raw)
        if len(raw) > 6:
            raw[6] |= 0x9
        return reseal(bytes(raw))

    return st.one_of(tc_packet(), damaged(tc_packet(), resealed=False)).map(ask)


def run_live(examples=60, seed=0, runtime="micropython", vehicle="rover"):
    """Damaged TCs of the dictionary, authenticated, to a live OBC: every one gets an ST1 report
    (success or failure) and the flight app lives on. The row for the table."""
    from ground.link import BoardSilent, CommandFailed, LinkError
    from hil.campaign.report import Row
    from hil.campaign.target import Target

    row = Row("fsw.dispatcher live on %s (SITL, OBC + %s), every TC, valid or damaged: ST1 report" % (runtime, vehicle))
    if runtime == "micropython" and runtimes.micropython_binary() is None:
        row.figures = "skipped: no MicroPython unix port"
        return row
    inputs = []

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(live_packet())
    def collect(raw):
        inputs.append(raw)

    collect()
    answers = {"completed": 0, "failure report": 0, "refused by the ground: over the frame": 0}
    with Target(runtime=runtime, vehicle=vehicle) as target:
        link = target.link()
        try:
            for raw in inputs:
                row.trials += 1
                try:
                    link.send_packet(raw, "damaged TC", timeout=5.0)  # a safety net: the board answers in ~20 ms
                    answers["completed"] += 1
                except CommandFailed:
                    answers["failure report"] += 1
                except BoardSilent:
                    row.fail("no ST1 report for %s" % _short(raw))
                except FramingError as exc:
                    if exc.reason != "oversize":
                        raise
                    # the ground refuses a TC over the board's frame before sending it (issue 11, defect 6);
                    # the board's side of an oversize frame is the flood campaign's
                    answers["refused by the ground: over the frame"] += 1
                except (LinkError, MitraError) as exc:
                    row.fail("%s for %s" % (exc, _short(raw)))
                if target.sitl.returncode is not None:
                    row.fail("the flight app exited with code %s after %s" % (target.sitl.returncode, _short(raw)))
                    break
        finally:
            link.close()
    row.figures = ", ".join("%s %d" % kv for kv in answers.items() if kv[1])
    return row
