"""`ground flash`: put the flight software on a board running MicroPython, or a firmware image on it.

    ground flash --board rp2-pico --port /dev/ttyACM0            # the app, key, reset, ping
    ground flash --board rp2-pico --firmware firmware.bin --drive /media/$USER/RPI-RP2

The app: the board is asked in its raw REPL (mpremote's SerialTransport) for its MicroPython
version and `sys.implementation._mpy`; a .mpy ABI that the board file's `mpy_cross_arch` or
mpy-cross cannot serve is refused. The firmware packages are compiled for that ABI
(ground.runtimes.compile_firmware_mpy, dictionary constants folded) and, with main.py,
board.json (the board file, security on) and keys.json (the link's uplink key from the ground
key store, never the repository), compared by SHA-256 with the manifest the last flash left on the
board (MANIFEST). Only what differs is copied; files the new build no longer has are deleted;
each copied file is hashed ON the board and must match; the manifest is removed before the first
change and written last, so a flash cut short leaves no manifest and the next one hashes what
the board holds instead of trusting a stale list. Then a soft reset (machine.reset() with
--hard-reset, none with --no-reset) starts the flight app, and a test.ping through GroundLink
proves it answers under the key.

A board running the flight app ignores Ctrl-C (its link owns the port), so its REPL is reached
only while it boots: `--wait-reset S` keeps interrupting for S seconds while you reset it.

Every failure is one FlashError line (a MitraError), and nothing is claimed that did not happen.
"""

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import struct
import sys
import time
from pathlib import Path

from ground import FIRMWARE_DIR
from ground.errors import MitraError

MANIFEST = ".mitra/manifest.json"
MANIFEST_VERSION = 1
CHUNK = 2048  # octets of a file per raw-REPL exec (base64 in the command)
REPL_TIMEOUT_S = 5.0  # to reach the raw REPL of an idle board
EXEC_TIMEOUT_S = 60.0  # silence allowed inside one exec (hashing a whole build on a slow board)
BOOT_TIMEOUT_S = 60.0
PING_TIMEOUT_S = 10.0
# Where the tools for a firmware image live, per MCU (board file "mcu").
IMAGE_TOOLS = {
    "ESP32": "esptool (pip install esptool): esptool.py --chip esp32 --port PORT erase_flash, then "
             "esptool.py --chip esp32 --port PORT --baud 460800 write_flash -z 0x1000 FIRMWARE.bin",
}


class FlashError(MitraError):
    """The board could not be flashed; the message says why and what to do."""


# ---- what goes on the board ----------------------------------------------------------------


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def board_json(board, speed=1.0):
    """board.json as the flight app reads it: the board file (security on unless it says otherwise, as
    every board file in boards/ has it on), MicroPython at `speed` (real time on a board)."""
    settings = dict(board)
    settings.setdefault("security", True)
    settings.update(runtime="micropython", speed=speed)
    return (json.dumps(settings, indent=2, sort_keys=True) + "\n").encode()


def keys_json(link):
    """keys.json as fsw.security.load_keys reads it: {"SPI": "hex key"}."""
    return (json.dumps({str(link.spi): link.key.hex()}) + "\n").encode()


def app_files(mpy_dir):
    """{board path: bytes} of the compiled firmware (`mpy_dir` from compile_firmware_mpy) and main.py."""
    files = {}
    for path in sorted(Path(mpy_dir).rglob("*.mpy")):
        files[path.relative_to(mpy_dir).as_posix()] = path.read_bytes()
    files["main.py"] = main_py()
    return files


def main_py():
    """firmware/main.py as it goes on the board: its dictionary constants folded (runtimes.flash_source)."""
    from ground import runtimes

    main = (FIRMWARE_DIR / "main.py").read_text()
    return runtimes.flash_source("main.py", main, runtimes.dictionary_consts()).encode()


class Plan:
    """What a flash does: `copy` (paths whose content differs or is missing), `unchanged`, `delete`."""

    def __init__(self, copy, unchanged, delete):
        self.copy, self.unchanged, self.delete = copy, unchanged, delete

    def __repr__(self):
        return "Plan(copy=%r, unchanged=%r, delete=%r)" % (self.copy, self.unchanged, self.delete)


def plan(new, old):
    """Diff the build's hashes `new` {path: sha256} against the board's `old` {path: sha256 or None}."""
    copy = sorted(p for p, h in new.items() if old.get(p) != h)
    unchanged = sorted(p for p, h in new.items() if old.get(p) == h)
    delete = sorted(p for p, h in old.items() if p not in new and h is not None)
    return Plan(copy, unchanged, delete)


def manifest_bytes(board_name, info, hashes):
    doc = {"version": MANIFEST_VERSION, "board": board_name, "micropython": info.get("version"),
           "mpy": info.get("mpy"), "files": dict(sorted(hashes.items()))}
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()


def parse_manifest(text):
    """{path: sha256} of a manifest's text, or None when it is not one of ours (then the board is hashed)."""
    try:
        doc = json.loads(text)
        files = doc["files"]
        if doc.get("version") != MANIFEST_VERSION or not isinstance(files, dict):
            return None
        if not all(isinstance(p, str) and isinstance(h, str) and re.fullmatch(r"[0-9a-f]{64}", h) for p, h in files.items()):
            return None
        return files
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


# ---- UF2 (Microsoft's USB flashing format, as the RP2040 boot ROM's drive takes it) ---------------

UF2_MAGIC0, UF2_MAGIC1, UF2_MAGIC_END = 0x0A324655, 0x9E5D5157, 0x0AB16F30
UF2_FLAG_FAMILY = 0x00002000
RP2040_FAMILY = 0xE48BFF56
RP2040_FLASH = 0x10000000  # XIP flash base: where a .bin for the RP2040 starts
UF2_PAYLOAD = 256  # the boot ROM writes 256-octet pages


def bin_to_uf2(data, base=RP2040_FLASH, family=RP2040_FAMILY):
    """A UF2 file of the raw image `data` loaded at `base`: 512-octet blocks of 256 octets each."""
    if not data:
        raise FlashError("the firmware image is empty")
    count = (len(data) + UF2_PAYLOAD - 1) // UF2_PAYLOAD
    out = bytearray()
    for n in range(count):
        chunk = data[n * UF2_PAYLOAD:(n + 1) * UF2_PAYLOAD].ljust(UF2_PAYLOAD, b"\0")
        head = struct.pack("<8I", UF2_MAGIC0, UF2_MAGIC1, UF2_FLAG_FAMILY, base + n * UF2_PAYLOAD, UF2_PAYLOAD, n,
                           count, family)
        out += head + chunk + b"\0" * (512 - 32 - 4 - UF2_PAYLOAD) + struct.pack("<I", UF2_MAGIC_END)
    return bytes(out)


def parse_uf2(data):
    """(base address, image bytes, family) of a UF2 file; FlashError at the first bad block."""
    if not data or len(data) % 512:
        raise FlashError("not a UF2 file: %d octets is not a whole number of 512-octet blocks" % len(data))
    blocks = []
    family = None
    for i in range(len(data) // 512):
        block = data[i * 512:(i + 1) * 512]
        m0, m1, flags, addr, size, n, count, fam = struct.unpack_from("<8I", block)
        (end,) = struct.unpack_from("<I", block, 508)
        if (m0, m1, end) != (UF2_MAGIC0, UF2_MAGIC1, UF2_MAGIC_END):
            raise FlashError("not a UF2 file: block %d has bad magic numbers" % i)
        if n != i or size > 476:
            raise FlashError("bad UF2 block %d: number %d of %d, payload %d octets" % (i, n, count, size))
        if count != len(data) // 512:
            raise FlashError("bad UF2 block %d: says %d blocks, the file has %d" % (i, count, len(data) // 512))
        family = fam if flags & UF2_FLAG_FAMILY else None
        blocks.append((addr, block[32:32 + size]))
    base = blocks[0][0]
    image = bytearray()
    for addr, payload in blocks:
        if addr != base + len(image):
            raise FlashError("UF2 blocks are not contiguous at 0x%08x (expected 0x%08x)" % (addr, base + len(image)))
        image += payload
    return base, bytes(image), family


def flash_image(board, firmware, drive=None):
    """Put a firmware image on `board`: an RP2040 takes it as UF2 on its BOOTSEL drive `drive`.
    Returns the line to print; FlashError for any board that takes images through another tool."""
    firmware = Path(firmware)
    try:
        data = firmware.read_bytes()
    except OSError as exc:
        raise FlashError("%s: %s" % (firmware, exc.strerror or exc)) from None
    mcu = board.get("mcu")
    if mcu != "RP2040":
        tool = IMAGE_TOOLS.get(mcu)
        raise FlashError("%s (%s) takes its firmware through %s; ground flash does not write %s images"
                         % (board["name"], mcu, tool or "its vendor's tool", mcu))
    if firmware.suffix.lower() == ".uf2":
        base, image, family = parse_uf2(data)
        if family not in (None, RP2040_FAMILY):
            raise FlashError("%s: a UF2 for family 0x%08x, not the RP2040 (0x%08x)" % (firmware, family, RP2040_FAMILY))
        uf2 = data
    else:
        if data[:4] == struct.pack("<I", UF2_MAGIC0):
            raise FlashError("%s is a UF2 file: name it .uf2" % firmware)
        uf2 = bin_to_uf2(data)
        base, image = RP2040_FLASH, data
    if drive is None:
        raise FlashError("an RP2040 takes its firmware on its BOOTSEL drive: hold BOOTSEL, plug the board in, "
                         "and pass the drive's folder with --drive (e.g. /media/$USER/RPI-RP2)")
    drive = Path(drive)
    if not (drive / "INFO_UF2.TXT").is_file():
        raise FlashError("%s is not an RP2040 BOOTSEL drive (no INFO_UF2.TXT): hold BOOTSEL while plugging "
                         "the board in, then pass the RPI-RP2 drive's folder" % drive)
    target = drive / (firmware.stem + ".uf2")
    try:
        with open(target, "wb") as f:
            f.write(uf2)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise FlashError("%s: cannot write: %s" % (target, exc.strerror or exc)) from None
    return ("wrote %s (%d octets at 0x%08x as %d UF2 blocks) to %s: the board reboots into it; then "
            "ground flash --board %s --port PORT" % (firmware.name, len(image), base, len(uf2) // 512, drive,
                                                     board["name"]))


# ---- the board side (code run in its raw REPL; MicroPython) ----------------------------------

_INFO = """\
import sys, os
try:
    m = os.uname().machine
except Exception:
    m = sys.platform
print(repr((sys.implementation.version[:3], getattr(sys.implementation, '_mpy', 0), m, sys.platform)))
"""

# {path: sha256 hex or None} of PATHS, and every file under the folders DIRS (stale ones too)
_HASHES = """\
import os, hashlib, binascii
def _h(p):
    try:
        f = open(p, 'rb')
    except OSError:
        return None
    d = hashlib.sha256()
    b = bytearray(512)
    v = memoryview(b)
    while True:
        n = f.readinto(b)
        if not n:
            break
        d.update(v[:n])
    f.close()
    return binascii.hexlify(d.digest()).decode()
def _walk(d, out):
    try:
        it = os.ilistdir(d)
    except OSError:
        return
    for e in it:
        p = d + '/' + e[0]
        if e[1] & 0x4000:
            _walk(p, out)
        else:
            out.append(p)
_ps = %(paths)r
for _d in %(dirs)r:
    _walk(_d, _ps)
print(repr([(p, _h(p)) for p in _ps]))
"""

_WRITE = """\
import os, binascii
def _mk(p):
    q = ''
    for part in p.split('/')[:-1]:
        q = q + part if not q else q + '/' + part
        try:
            os.mkdir(q)
        except OSError:
            pass
_mk(%(path)r)
f = open(%(path)r, %(mode)r)
f.write(binascii.a2b_base64(%(data)r))
f.close()
"""

_REMOVE = """\
import os
for p in %(paths)r:
    try:
        os.remove(p)
    except OSError:
        pass
    d = p.rsplit('/', 1)[0] if '/' in p else ''
    while d:
        try:
            os.rmdir(d)
        except OSError:
            break
        d = d.rsplit('/', 1)[0] if '/' in d else ''
"""

# the anti-replay floor of a newly provisioned key: the record fsw.security reads at boot
_FLOOR = """\
import struct
from fsw import storage
storage.save('replay.dat', struct.pack('>HI', %(spi)d, %(floor)d))
"""


class BoardFiles:
    """The board's filesystem through a transport's `exec(code, timeout) -> str`."""

    def __init__(self, transport):
        self.t = transport

    def info(self):
        """{"version": "1.28.0", "mpy": int, "machine": str, "platform": str} of the board's MicroPython."""
        out = self.t.exec(_INFO, REPL_TIMEOUT_S * 2)
        try:
            version, mpy, machine, platform = _literal(out)
        except (ValueError, TypeError):
            raise FlashError("%s: the board's answer to a version query is not MicroPython's: %r" % (self.t.port, out[:80])) from None
        return {"version": ".".join(str(v) for v in version), "mpy": mpy, "machine": machine, "platform": platform}

    def hashes(self, paths, dirs=()):
        """{path: sha256 or None (missing)} for `paths` and every file under `dirs`, hashed on the board."""
        out = self.t.exec(_HASHES % {"paths": list(paths), "dirs": list(dirs)}, EXEC_TIMEOUT_S)
        return dict(_literal(out))

    def read(self, path):
        """The file's text, or None when the board has none."""
        out = self.t.exec("try:\n f = open(%r)\n print(repr(f.read()))\n f.close()\nexcept OSError:\n print(None)\n" % path,
                          EXEC_TIMEOUT_S)
        return _literal(out)

    def write(self, path, data):
        if not data:
            self.t.exec(_WRITE % {"path": path, "mode": "wb", "data": ""}, EXEC_TIMEOUT_S)
        for i in range(0, len(data), CHUNK):
            chunk = base64.b64encode(data[i:i + CHUNK]).decode()
            self.t.exec(_WRITE % {"path": path, "mode": "wb" if i == 0 else "ab", "data": chunk}, EXEC_TIMEOUT_S)

    def remove(self, paths):
        if paths:
            self.t.exec(_REMOVE % {"paths": list(paths)}, EXEC_TIMEOUT_S)

    def set_replay_floor(self, spi, floor):
        self.t.exec(_FLOOR % {"spi": spi, "floor": floor}, EXEC_TIMEOUT_S)


def _literal(text):
    import ast

    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise ValueError("no answer")
    return ast.literal_eval(lines[-1])


# ---- the serial transport (mpremote's raw REPL) -------------------------------------------------


class SerialRepl:
    """The board's raw REPL on `port` through mpremote's SerialTransport: `exec`, `reset`, `close`."""

    def __init__(self, port, baud=115200):
        self.port = port
        self.baud = baud
        self._t = None
        self._heard = b""  # what the port said while it was interrupted, for the error

    def open(self, wait_reset=0.0, log=None):
        """Open the port and enter the raw REPL (a raw-mode soft reset: main.py does not run).
        With `wait_reset` > 0, keep interrupting that long while the board is reset by hand."""
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport

        if not os.path.exists(self.port) and "://" not in self.port:
            raise FlashError("%s: no such port (is the board plugged in?)" % self.port)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self._t = SerialTransport(self.port, baudrate=self.baud, exclusive=True)
        except (TransportError, OSError) as exc:
            raise FlashError(self._open_failure(exc)) from None
        try:
            seen = self._interrupt(REPL_TIMEOUT_S)
            if seen is None and wait_reset > 0:
                if log is not None:
                    log("ground flash: %s does not answer as a MicroPython REPL; reset the board now (replug it, or "
                        "press RESET/EN): waiting %g s" % (self.port, wait_reset))
                seen = self._interrupt(wait_reset, reopen=True)
            if seen is None:
                raise FlashError(self._silent_hint(wait_reset))
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    self._t.enter_raw_repl(soft_reset=True, timeout_overall=REPL_TIMEOUT_S * 2)
            except (TransportError, OSError) as exc:
                raise FlashError("%s: the board's raw REPL did not come up: %s" % (self.port, exc)) from None
        except BaseException:
            self.close()
            raise
        return self

    def _open_failure(self, exc):
        """Why the port did not open, as `ground send` words it (not a serial port, busy, permission)."""
        from ground.cli import _not_a_serial_device
        from ground.link import LinkError, open_port

        kind = _not_a_serial_device(self.port)
        if kind is not None:
            return "%s: not a serial port (%s)" % (self.port, kind)
        try:
            open_port(self.port).close()
        except LinkError as why:
            return str(why)
        return "%s: cannot open: %s" % (self.port, exc)

    def _silent_hint(self, wait_reset):
        heard = self._heard
        if heard and b"\x00" in heard:
            what = "%s sends binary frames, not a MicroPython REPL: the flight app runs there and ignores Ctrl-C" % self.port
        elif heard:
            what = "%s answers, but not as a MicroPython REPL (%r...)" % (self.port, heard[:40])
        else:
            what = "%s does not answer (no MicroPython REPL within %.0f s)" % (self.port, REPL_TIMEOUT_S + wait_reset)
        if wait_reset > 0:
            return what + "; no reset was seen either: check the port and the board's power"
        return what + ": run ground flash with --wait-reset 30 and reset the board (replug it, or press RESET/EN)"

    def _interrupt(self, seconds, reopen=False):
        """Send Ctrl-C until the board answers with a REPL prompt; what it said, or None."""
        deadline = time.monotonic() + seconds
        heard = b""
        while time.monotonic() < deadline:
            try:
                if self._t is None:
                    raise OSError("port closed")
                self._t.serial.write(b"\r\x03\x03\x02")  # interrupt; Ctrl-B: a raw REPL left open says >>> too
                end = time.monotonic() + 0.2
                while time.monotonic() < end:
                    n = self._t.serial.in_waiting
                    chunk = self._t.serial.read(n) if n else b""
                    if chunk:
                        heard = (heard + chunk)[-4096:]
                        if b">>> " in heard or b"raw REPL" in heard or heard.endswith(b"\r\n>"):
                            return heard
                    else:
                        time.sleep(0.02)
            except OSError:  # the board went away (replugged): open it again when it is back
                if not reopen:
                    raise FlashError("%s: the port went away" % self.port) from None
                self._reopen()
        self._heard = heard
        return None

    def _reopen(self):
        from mpremote.transport_serial import SerialTransport

        if self._t is not None:
            with contextlib.suppress(Exception):
                self._t.serial.close()
            self._t = None
        time.sleep(0.2)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self._t = SerialTransport(self.port, baudrate=self.baud, exclusive=True)
        except Exception:
            self._t = None

    def exec(self, code, timeout=EXEC_TIMEOUT_S):
        from mpremote.transport import TransportError

        try:
            out, err = self._t.exec_raw(code, timeout=timeout)
        except (TransportError, OSError) as exc:
            raise FlashError("%s: the board stopped answering in its raw REPL: %s" % (self.port, exc)) from None
        if err:
            lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
            raise FlashError("%s: the board raised %s" % (self.port, lines[-1] if lines else "an error"))
        return out.decode(errors="replace")

    def reset(self, hard=False):
        """Leave the raw REPL and restart MicroPython so main.py runs: a soft reset (Ctrl-D at the
        friendly REPL), or machine.reset() when `hard`."""
        if hard:
            self._t.exec_raw_no_follow("import machine\nmachine.reset()\n")
            return
        self._t.exit_raw_repl()
        self._t.serial.write(b"\x04")
        self._t.serial.flush()

    def close(self):
        if self._t is not None:
            with contextlib.suppress(Exception):
                if self._t.in_raw_repl:
                    self._t.exit_raw_repl()  # the friendly REPL, as a person expects to find it
                self._t.close()
            self._t = None


# ---- the flash ------------------------------------------------------------------------------------


class Summary:
    def __init__(self, board, port):
        self.board, self.port = board, port
        self.copied, self.unchanged, self.deleted = [], [], []
        self.bytes = 0
        self.seconds = 0.0
        self.ping_s = None
        self.info = {}
        self.key_name = None
        self.key_written = False
        self.dry_run = False

    def line(self):
        verb = "to copy" if self.dry_run else "copied"
        text = "%s %s on %s: %d file%s %s, %d unchanged, %d deleted, %d octets in %.1f s" % (
            "dry run:" if self.dry_run else "flashed", self.board, self.port, len(self.copied),
            "" if len(self.copied) == 1 else "s", verb,
            len(self.unchanged), len(self.deleted), self.bytes, self.seconds)
        if self.ping_s is not None:
            text += "; ping %.0f ms" % (self.ping_s * 1000)
        text += " (MicroPython v%s, mpy %s; key %s%s)" % (self.info.get("version"), _abi_text(self.info.get("mpy", 0)),
                                                          self.key_name, ", written" if self.key_written else "")
        return text


    def as_json(self):
        """The summary as one JSON object (`ground flash --json`), for scripts."""
        return json.dumps({"board": self.board, "port": self.port, "dry_run": self.dry_run, "copied": self.copied,
                           "unchanged": len(self.unchanged), "deleted": self.deleted, "octets": self.bytes,
                           "seconds": round(self.seconds, 3), "ping_s": None if self.ping_s is None else round(self.ping_s, 4),
                           "micropython": self.info.get("version"), "mpy": self.info.get("mpy"), "key": self.key_name,
                           "key_written": self.key_written}, sort_keys=True)


def _abi_text(abi):
    from ground import runtimes

    version, sub, arch = runtimes.mpy_target(abi)
    return "v%d.%d %s" % (version, sub, arch or "(no native arch)")


def check_abi(board, info, port):
    """(mpy version, sub-version, arch) the build targets; FlashError when the board file disagrees."""
    from ground import runtimes
    from ground.sitl import known_boards, load_board

    abi = info["mpy"]
    target = runtimes.mpy_target(abi)
    want = board.get("mpy_cross_arch")
    if not abi:
        raise FlashError("%s: MicroPython v%s on %s reports no .mpy ABI (sys.implementation._mpy): reflash a MicroPython "
                         "with .mpy support (v1.23 or later)" % (port, info["version"], info["machine"]))
    if target[2] != want:
        fits = [n for n in known_boards() if load_board(n).get("mpy_cross_arch") == target[2]]
        raise FlashError("%s: the board's MicroPython v%s on %s loads .mpy %s, but board %s is %s: %s"
                         % (port, info["version"], info["machine"], _abi_text(abi), board["name"], want,
                            "pick --board %s" % " or ".join(fits) if fits else
                            "pick the right --board, or reflash the board with MicroPython for a %s" % board.get("mcu")))
    return target


def _compile(target, info, port):
    from ground import runtimes

    try:
        return runtimes.compile_firmware_mpy(runtimes.flashed_packages(), target=target)
    except runtimes.RuntimeMissing as exc:
        cross = runtimes._mpy_cross_version(tuple(runtimes.mpy_cross_command())).strip()
        emits = re.search(r"mpy v(\d+\.\d+)", cross)
        version = re.search(r"MicroPython (v\S+)", cross)
        raise FlashError("%s: the board's MicroPython v%s loads .mpy v%d.%d, which mpy-cross (%s) does not emit: reflash "
                         "the board with MicroPython %s or another that loads .mpy v%s (README, Flashing a board)"
                         % (port, info["version"], target[0], target[1], cross, version.group(1) if version else "",
                            emits.group(1) if emits else "?")) from exc


def _key(keystore, name, new_key, dry_run):
    """The LinkKey of link `name`, made when missing or `new_key`; None in a dry run that would make one."""
    if keystore.exists(name) and not new_key:
        return keystore.load(name)
    if dry_run:
        return None
    return keystore.create(name, spi=1, force=True)


def flash(port, board, transport, key_name=None, keystore=None, force=False, dry_run=False, reset=True,
          hard_reset=False, log=None, ping=True, new_key=False, boot_timeout=BOOT_TIMEOUT_S,
          ping_timeout=PING_TIMEOUT_S, build=None):
    """Flash the flight app onto the board behind `transport` (open, in its raw REPL); a Summary.

    `board`: the board file as a dict; `build(target) -> mpy folder` replaces compile_firmware_mpy."""
    from ground.keys import KeyStore, port_link_name

    started = time.monotonic()
    keystore = keystore if keystore is not None else KeyStore()
    key_name = key_name or port_link_name(port)
    summary = Summary(board["name"], port)
    summary.dry_run = dry_run
    summary.key_name = key_name
    fs = BoardFiles(transport)
    info = fs.info()
    summary.info = info
    target = check_abi(board, info, port)
    mpy_dir = build(target) if build is not None else _compile(target, info, port)
    files = app_files(mpy_dir)
    files["board.json"] = board_json(board)
    link = _key(keystore, key_name, new_key, dry_run)
    if link is not None:
        files["keys.json"] = keys_json(link)
    new = {p: sha256(d) for p, d in files.items()}
    if link is None:
        new["keys.json"] = "0" * 64  # a dry run: a key would be made, so keys.json would be written
    packages = sorted({p.split("/")[0] for p in files if "/" in p})

    old = None
    if not force:
        text = fs.read(MANIFEST)
        old = parse_manifest(text) if text is not None else None
    if old is None:  # no manifest (never flashed, or cut short), or --force: what is really there
        old = {} if force else fs.hashes(sorted(new), packages)
    todo = plan(new, old)
    summary.copied, summary.unchanged, summary.deleted = todo.copy, todo.unchanged, todo.delete
    summary.bytes = sum(len(files.get(p, b"")) for p in todo.copy)
    summary.key_written = "keys.json" in todo.copy
    if dry_run:
        summary.seconds = time.monotonic() - started
        return summary

    if todo.copy or todo.delete or force:
        fs.remove([MANIFEST])  # from here on the board is not what any manifest says
        for i, path in enumerate(todo.copy):
            if log is not None:
                log("ground flash: %d/%d %s (%d octets)" % (i + 1, len(todo.copy), path, len(files[path])))
            fs.write(path, files[path])
        fs.remove(todo.delete)
        got = fs.hashes(todo.copy)
        bad = [p for p in todo.copy if got.get(p) != new[p]]
        if bad:
            raise FlashError("%s: %d of %d copied files read back wrong on the board (%s): nothing is claimed flashed; "
                             "run ground flash again" % (port, len(bad), len(todo.copy), ", ".join(bad[:5])))
        if summary.key_written:
            # a key new to this board: its anti-replay floor is the last SN the ground used under it
            fs.set_replay_floor(link.spi, link.next_sn - 1)
        manifest = manifest_bytes(board["name"], info, new)
        fs.write(MANIFEST, manifest)
        if fs.hashes([MANIFEST]).get(MANIFEST) != sha256(manifest):
            raise FlashError("%s: the manifest read back wrong on the board: run ground flash again" % port)
    summary.seconds = time.monotonic() - started
    if not reset:
        return summary
    transport.reset(hard=hard_reset)
    transport.close()
    if ping:
        summary.ping_s = ping_board(port, board, link, boot_timeout, ping_timeout)
    summary.seconds = time.monotonic() - started
    return summary


def ping_board(port, board, link, boot_timeout=BOOT_TIMEOUT_S, ping_timeout=PING_TIMEOUT_S):
    """Wait for the flight app's first packet on `port`, then test.ping it under `link`; the RTT in s."""
    from ground.link import GroundLink, LinkError, board_link, open_port

    cfg = board.get("link", {})
    deadline = time.monotonic() + boot_timeout
    serial_port = None
    while serial_port is None:  # a hard reset takes a USB board's port away for a moment
        try:
            serial_port = open_port(port, cfg.get("baud", 115200))
        except LinkError:
            if time.monotonic() >= deadline:
                raise FlashError("%s: the port did not come back within %.0f s of the reset" % (port, boot_timeout)) from None
            time.sleep(0.2)
    limits = board_link(board)
    with GroundLink(port, key=link, serial_port=serial_port, max_frame=limits["max_frame"],
                    ack_window_s=limits["ack_window_s"]) as gl:
        heard = []
        while not heard:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FlashError("%s: the flight app sent no telemetry within %.0f s of the reset (its boot output "
                                 "is on the REPL: mpremote connect %s repl)" % (port, boot_timeout, port))
            heard = gl.read(min(left, 0.5))
        t0 = time.monotonic()
        try:
            gl.command("test.ping", timeout=ping_timeout)
        except MitraError as exc:
            raise FlashError("%s: the flight app runs but test.ping failed: %s" % (port, exc)) from None
        return time.monotonic() - t0


# ---- the subcommand -------------------------------------------------------------------------------


def add_parser(sub):
    """The `flash` subcommand on `sub`; returns (parser, handler) for cli.py's table."""
    from ground.args import seconds, seconds_or_zero

    p = sub.add_parser("flash", help="put the flight app (or a firmware image) on a board running MicroPython")
    p.add_argument("--board", required=True, help="board file in boards/ (rp2-pico, esp32-devkitc, ...)")
    p.add_argument("--port", help="the board's serial port (its MicroPython REPL)")
    p.add_argument("--key", help="key-store name of the board's uplink key (default: the port's name); made when missing")
    p.add_argument("--new-key", action="store_true", help="replace the stored key with a fresh one and provision it")
    p.add_argument("--force", action="store_true", help="copy every file, whatever the board's manifest says")
    p.add_argument("--dry-run", action="store_true", help="say what would be copied and deleted; change nothing")
    p.add_argument("--no-reset", action="store_true", help="leave the board in its REPL: no reset, no ping")
    p.add_argument("--hard-reset", action="store_true", help="machine.reset() instead of a soft reset")
    p.add_argument("--wait-reset", type=seconds_or_zero, default=0.0, metavar="S",
                   help="keep interrupting S seconds while you reset a board whose flight app runs")
    p.add_argument("--baud", type=int, default=115200, help="a UART board's REPL baud rate")
    p.add_argument("--boot-timeout", type=seconds, default=BOOT_TIMEOUT_S, help="seconds for the flight app to speak")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--firmware", metavar="FILE", help="write a firmware image instead (RP2040: .bin or .uf2, with --drive)")
    p.add_argument("--drive", metavar="DIR", help="the RP2040's BOOTSEL drive (RPI-RP2) for --firmware")
    return p, run


def run(opts):
    from ground.sitl import load_board

    board = load_board(opts.board)
    if opts.firmware:
        print(flash_image(board, opts.firmware, opts.drive))
        return 0
    if not opts.port:
        raise FlashError("ground flash needs --port (the board's serial port) or --firmware FILE")
    repl = SerialRepl(opts.port, opts.baud)

    def log(line):
        print(line, file=sys.stderr, flush=True)

    repl.open(wait_reset=opts.wait_reset, log=log)
    try:
        summary = flash(opts.port, board, repl, key_name=opts.key, force=opts.force, dry_run=opts.dry_run,
                        reset=not opts.no_reset, hard_reset=opts.hard_reset, new_key=opts.new_key,
                        boot_timeout=opts.boot_timeout, log=log if sys.stderr.isatty() else None)
    finally:
        repl.close()
    print(summary.as_json() if opts.json else summary.line())
    return 0
