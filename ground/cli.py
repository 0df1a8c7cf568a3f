"""`ground`: the mitra ground station command line.

A table of subcommands, each with its parser and handler (mpremote habit).
Expected failures raise CommandError (or a MitraError), printed as one line
`ground: <message>` with exit status 1; the link always closes in `finally`.
"""

import argparse
import json
import os
import signal
import stat
import sys
import time

try:
    import termios

    _PORT_ERRORS = (OSError, termios.error)  # pyserial's SerialException is an OSError
except ImportError:  # not on a POSIX host
    _PORT_ERRORS = (OSError,)

from ground import args as cliargs
from ground import codec
from ground import dictionary as d
from ground import show
from ground.args import count, int_in, seconds
from ground.errors import MitraError, PortLost
from ground.link import CommandFailed


class CommandError(Exception):
    """An expected failure: printed as `ground: <message>`, exit 1."""


class Interrupted(CommandError):
    """Ctrl-C: printed as `ground: <message>`, exit 130 (128 + SIGINT, as a shell reports it)."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `ground send: error: <message> (see 'ground send --help')`, exit 2."""

    def error(self, message):
        self.exit(2, "%s: error: %s (see '%s --help')\n" % (self.prog, message, self.prog))


# --- helpers --------------------------------------------------------------------


class Port:
    """The board's serial port as GroundLink uses it, turning the port going away (pyserial's
    SerialException, an OSError or termios.error: EIO once a USB board is unplugged or a SITL
    pty closes) into one PortLost, and remembering whether a TC had started to go out."""

    def __init__(self, port, name):
        self._port = port
        self.name = name
        self.sent = False  # a write was started: the board may have the TC

    def _call(self, method, *args):
        try:
            return method(*args)
        except _PORT_ERRORS as exc:
            raise PortLost(self.name, self.sent, exc) from None

    def read(self, size=1):
        return self._call(self._port.read, size)

    def write(self, data):
        self.sent = True
        return self._call(self._port.write, data)

    def flush(self):
        return self._call(self._port.flush)

    def reset_input_buffer(self):
        return self._call(self._port.reset_input_buffer)

    @property
    def in_waiting(self):
        return self._call(lambda: self._port.in_waiting)

    def close(self):
        try:
            self._port.close()
        except _PORT_ERRORS:
            pass  # a port that went away is closed already

    def __getattr__(self, name):
        return getattr(self._port, name)


def _not_a_serial_device(path):
    """What `path` is when it exists but is no serial device ('a directory', ...), else None.

    Asked only after the port failed to open, so a real board is never opened twice."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISREG, "a regular file"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    if stat.S_ISCHR(mode):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError:
            return None
        try:
            return None if os.isatty(fd) else "a character device that is not a terminal"
        finally:
            os.close(fd)
    return None


def _open(path, baud):
    from ground.link import LinkError, open_port

    try:
        return Port(open_port(path, baud), path)
    except LinkError:
        kind = _not_a_serial_device(path)
        if kind is not None:
            raise CommandError("%s: not a serial port (%s)" % (path, kind)) from None
        raise


def open_link(opts, archived=True):
    """The link of a command's link options (args.add_link_options): the port, its uplink key, the
    board file's link limits; recorded into the mission's archive when `archived` (--mission,
    --no-archive), else a plain GroundLink (the console records in a thread of its own)."""
    from ground.archive_cli import recorded_link
    from ground.keys import KeyStore, port_link_name
    from ground.link import GroundLink

    settings = cliargs.link_settings(opts)  # an unknown --board says so before the port is opened
    port = _open(opts.port, settings["baud"])  # a missing port says so before a missing key
    try:
        key = None
        if not opts.clear:
            key = KeyStore().load(opts.key or port_link_name(opts.port))
        kwargs = dict(key=key, ack_window_s=settings["ack_window_s"], max_frame=settings["max_frame"])
        if archived:
            return recorded_link(opts, port, **kwargs)
        return GroundLink(opts.port, serial_port=port, **kwargs)
    except BaseException:
        port.close()
        raise


def _emit(opts, packet, out=None):
    out = out or sys.stdout
    print(show.as_json(packet) if opts.json else show.line(packet), file=out, flush=True)


def _tc_payload(name, tokens):
    command = d.command(name)
    return command, cliargs.payload(command, tokens)


def _speed(text):
    from ground.sitl import SPEED_MAX, SPEED_MIN

    if text == "max":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number or 'max'" % text) from None
    if not SPEED_MIN <= value <= SPEED_MAX:  # also nan and inf
        raise argparse.ArgumentTypeError("must be in %g..%g or 'max', got %s" % (SPEED_MIN, SPEED_MAX, text))
    return value


# --- subcommands ------------------------------------------------------------------


def cmd_send(opts):
    command, data = _tc_payload(opts.command, opts.args)
    link = open_link(opts)
    try:
        try:
            link.flush_input()
            result = link.command(opts.command, data, timeout=opts.timeout)
        except CommandFailed as exc:
            for p in exc.reports:
                _emit(opts, p)
            raise
        except PortLost as exc:
            raise CommandError("%s: the port went away %s %s was sent (board unplugged or SITL stopped?): %s"
                               % (exc.port, *_fate(opts.command, exc.sent))) from None
        except KeyboardInterrupt:
            raise Interrupted("interrupted %s %s was sent: %s" % _fate(opts.command, link.serial.sent)) from None
        for p in result.packets:
            # ST1 reports and the replies to this TC; periodic telemetry only with -v
            if opts.verbose or p in result.reports or _reply_to(command, p):
                _emit(opts, p)
        if not result.completed:
            print("ground: %s sent; its ack flags asked for no completion report" % opts.command, file=sys.stderr)
    finally:
        link.close()
    return 0


def _fate(name, sent):
    """(when, name, what became of the TC) for a send that ended early."""
    if sent:
        return ("after", name, "it may or may not have executed")
    return ("before", name, "it did not execute")


def _reply_to(command, packet):
    """TM that a TC asks for (the dictionary's reply table): pong, parameter values, HK one-shot, the events it causes."""
    return (packet["service"], packet["subtype"]) in command.replies


def cmd_tlm(opts):
    link = open_link(opts)
    count = 0
    try:
        for p in link.packets(opts.duration):
            _emit(opts, p)
            count += 1
            if opts.count and count >= opts.count:
                break
    finally:
        link.close()
    if link.bad_packets:
        print("ground: %d undecodable packets (last: %s)" % (link.bad_packets, link.last_error), file=sys.stderr)
    return 0


def cmd_decode(opts):
    text = "".join(opts.hex).replace(" ", "").replace(":", "")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise CommandError("not hexadecimal: %r" % " ".join(opts.hex)) from None
    packet = codec.decode(raw)
    if opts.json:
        print(show.as_json(packet, indent=2))
    else:
        print(show.line(packet))
    return 0


def cmd_encode(opts):
    command, data = _tc_payload(opts.command, opts.args)
    raw = codec.encode_command(command, data, seq_count=opts.seq, ack_flags=opts.ack, apid=opts.apid)
    print(raw.hex())
    return 0


def cmd_dict(opts):
    from ground import export

    text = export.dictionary_text(opts.format)
    if opts.output is None:
        sys.stdout.write(text)
        return 0
    try:
        with open(opts.output, "w") as fh:
            fh.write(text)
    except OSError as exc:
        raise CommandError("%s: %s" % (opts.output, exc.strerror or exc)) from None
    print("wrote %s (%s, %d octets)" % (opts.output, opts.format, len(text.encode())), file=sys.stderr)
    return 0


def cmd_keys(opts):
    from ground.keys import KeyStore

    store = KeyStore()
    if opts.action == "create":
        if not opts.name:
            raise CommandError("keys create needs a NAME")
        link = store.create(opts.name, spi=opts.spi, force=opts.force)
        print("created %s (SPI %d) at %s" % (link.name, link.spi, link.path))
    elif opts.action == "list":
        for name in store.names():
            link = store.load(name)
            print("%s spi=%d next_sn=%d" % (name, link.spi, link.next_sn))
    else:
        if not opts.name:
            raise CommandError("keys delete needs a NAME")
        if not store.delete(opts.name):
            raise CommandError("no key named %r in %s" % (opts.name, store.root))
        print("deleted %s" % opts.name)
    return 0


def start_sitl(board, runtime, state_dir=None, security=True, speed=1.0, log=None, vehicle=None):
    """A started Sitl (`ground sitl`, `ground console --sitl`); what stops it is one CommandError."""
    from ground.sitl import Sitl, SitlError
    from ground.runtimes import RuntimeMissing

    try:
        return Sitl(board, runtime=runtime, state_dir=state_dir, security=security, speed=speed, log=log, vehicle=vehicle).start()
    except (SitlError, RuntimeMissing) as exc:
        raise CommandError(str(exc)) from None


def cmd_sitl(opts):
    sitl = start_sitl(opts.board, opts.runtime, opts.state, not opts.no_security, opts.speed, vehicle=opts.vehicle)
    stop = {"now": False}

    def _stop(*_):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        print("port: %s" % sitl.port, flush=True)
        print(
            "SITL %s on %s (state %s); try: ground send --port %s test.ping   (Ctrl-C stops)"
            % (opts.board, opts.runtime, sitl.state_dir, sitl.port),
            file=sys.stderr,
            flush=True,
        )
        while not stop["now"]:
            code = sitl.wait(0.2)
            if code is not None:
                raise CommandError("flight app exited with code %d" % code)
    except KeyboardInterrupt:
        pass
    finally:
        sitl.stop()
    return 0


def cmd_fetch(opts):
    from ground.transfer import cmd_fetch as fetch

    return fetch(opts, open_link)


def cmd_demo(opts):
    from ground.demo import run_demo
    from ground.runtimes import micropython_binary

    runtime = opts.runtime
    if runtime == "micropython" and micropython_binary() is None:
        print("ground: no MicroPython unix port here: flying on the CPython runtime instead", flush=True)
        runtime = "cpython"
    return run_demo(board=opts.board, runtime=runtime, out=opts.out, vehicles=opts.vehicle or ("inspector", "rover"))


# --- the table ---------------------------------------------------------------------


def _link_options(p):
    cliargs.add_link_options(p)  # --port --key --clear --board --baud --ack-window
    p.add_argument("--json", action="store_true", help="one JSON object per packet")
    from ground import archive_cli

    archive_cli.add_link_options(p)  # --mission NAME, --no-archive


def _runtime_options(p):
    p.add_argument("--board", default="rp2-pico", help="board file in boards/ (default rp2-pico)")
    p.add_argument("--runtime", choices=("micropython", "cpython"), default="micropython")


def build_parser():
    parser = Parser(prog="ground", description="mitra ground station")
    sub = parser.add_subparsers(dest="subcommand", metavar="COMMAND")
    sub.required = True
    table = []

    p = sub.add_parser("sitl", help="run the flight app on a pty (software in the loop)")
    _runtime_options(p)
    p.add_argument("--state", help="state directory (the board's flash); kept, so a restart is a reboot")
    p.add_argument("--no-security", action="store_true", help="accept clear-mode (SPI 0) uplink")
    p.add_argument("--vehicle", choices=sorted(d.VEHICLE_BY_NAME), help="the vehicle app the board runs (default: the on-board computer alone)")
    p.add_argument("--speed", type=_speed, default=1.0, help="flight time per real time (0.001..1000), or 'max': virtual time, as fast as the host runs")
    table.append((p, cmd_sitl))

    p = sub.add_parser("send", help="send one TC and wait for its ST1 reports")
    _link_options(p)
    p.add_argument("--timeout", type=seconds, default=5.0, help="seconds to wait for the reports")
    p.add_argument("-v", "--verbose", action="store_true", help="also print all other telemetry meanwhile")
    p.add_argument("command", metavar="SERVICE.COMMAND|COMPONENT.FUNCTION")
    p.add_argument("args", nargs="*", default=[], metavar="ARG")
    table.append((p, cmd_send))

    p = sub.add_parser("tlm", help="print decoded telemetry live")
    _link_options(p)
    p.add_argument("--count", type=count, default=0, help="stop after N packets (0: never)")
    p.add_argument("--duration", type=seconds, default=None, help="stop after S seconds")
    table.append((p, cmd_tlm))

    p = sub.add_parser("decode", help="decode one space packet given in hex")
    p.add_argument("hex", nargs="+")
    p.add_argument("--json", action="store_true")
    table.append((p, cmd_decode))

    p = sub.add_parser("encode", help="encode one TC packet to hex")
    p.add_argument("command", metavar="SERVICE.COMMAND")
    p.add_argument("args", nargs="*", default=[], metavar="ARG")
    p.add_argument("--apid", type=int_in(0, 0x7FF), default=None, help="override the APID (default: the command's owner in the dictionary)")
    p.add_argument("--seq", type=int_in(0, 0x3FFF), default=0)
    p.add_argument("--ack", type=int_in(0, 0xF), default=0xF, help="ack flags (default 0xF)")
    table.append((p, cmd_encode))

    from ground import export

    p = sub.add_parser("dict", help="export the packet dictionary")
    p.add_argument("--format", choices=export.FORMATS, default="json", help="xtce: the XTCE 1.2 mission database Yamcs loads")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    table.append((p, cmd_dict))

    p = sub.add_parser("keys", help="manage uplink keys (kept outside the repository)")
    p.add_argument("action", choices=("create", "list", "delete"))
    p.add_argument("name", nargs="?")
    p.add_argument("--spi", type=int, default=1)
    p.add_argument("--force", action="store_true")
    table.append((p, cmd_keys))

    p = sub.add_parser("fetch", help="wait for or resume an ST13 large-data transfer, write the product, print its path")
    _link_options(p)
    from ground.transfer import add_fetch_options

    add_fetch_options(p)
    table.append((p, cmd_fetch))

    p = sub.add_parser("demo", help="fly both vehicles from the ground on the default virtual board (what `make demo` runs)")
    _runtime_options(p)
    p.add_argument("--out", default="out/demo", help="folder for the products (image PNG, spectrum CSV + PNG)")
    p.add_argument("--vehicle", action="append", choices=sorted(d.VEHICLE_BY_NAME), help="fly only this vehicle (repeatable)")
    table.append((p, cmd_demo))

    from ground import archive_cli, keys_sn

    archive_cli.add_parsers(sub, table)
    table.append(keys_sn.add_parser(sub))
    from ground import console

    table.append(console.add_parser(sub))
    from ground import yamcs

    table.append(yamcs.add_parser(sub))
    from ground import flash

    table.append(flash.add_parser(sub))

    for p, handler in table:
        p.set_defaults(handler=handler)
    return parser


def main(argv=None):
    parser = build_parser()
    opts = parser.parse_args(argv)
    try:
        return opts.handler(opts)
    except Interrupted as exc:
        print("ground: %s" % exc, file=sys.stderr)
        return 130
    except (CommandError, MitraError) as exc:
        print("ground: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ground: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
