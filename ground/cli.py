"""`ground`: the mitra ground station command line.

A table of subcommands, each with its parser and handler (mpremote habit).
Expected failures raise CommandError (or a MitraError), printed as one line
`ground: <message>` with exit status 1; the link always closes in `finally`.
"""

import argparse
import json
import signal
import sys
import time

from ground import args as cliargs
from ground import codec
from ground import dictionary as d
from ground import show
from ground.errors import MitraError
from ground.link import CommandFailed


class CommandError(Exception):
    """An expected failure: printed as `ground: <message>`, exit 1."""


# --- helpers --------------------------------------------------------------------


def _link(opts):
    from ground.keys import KeyStore, port_link_name
    from ground.link import GroundLink, open_port

    port = open_port(opts.port, opts.baud)  # a missing port says so before a missing key
    try:
        key = None
        if not opts.clear:
            key = KeyStore().load(opts.key or port_link_name(opts.port))
        return GroundLink(opts.port, key=key, ack_window_s=opts.ack_window, serial_port=port)
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
    if text == "max":
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a number or 'max'" % text) from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0 or 'max', got %s" % text)
    return value


# --- subcommands ------------------------------------------------------------------


def cmd_send(opts):
    command, data = _tc_payload(opts.command, opts.args)
    link = _link(opts)
    try:
        link.flush_input()
        try:
            result = link.command(opts.command, data, timeout=opts.timeout)
        except CommandFailed as exc:
            for p in exc.reports:
                _emit(opts, p)
            raise
        for p in result.packets:
            # ST1 reports and the replies to this TC; periodic telemetry only with -v
            if opts.verbose or p in result.reports or _reply_to(command, p):
                _emit(opts, p)
        if not result.completed:
            print("ground: %s sent; its ack flags asked for no completion report" % opts.command, file=sys.stderr)
    finally:
        link.close()
    return 0


def _reply_to(command, packet):
    """TM that a TC asks for (the dictionary's reply table): pong, parameter values, HK one-shot, the events it causes."""
    return (packet["service"], packet["subtype"]) in command.replies


def cmd_tlm(opts):
    link = _link(opts)
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

    if opts.format == "json":
        print(json.dumps(export.dictionary_json(), indent=2))
    else:
        sys.stdout.write(export.firmware_tables())
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


def _start_sitl(board, runtime, state_dir=None, security=True, speed=1.0, log=None, vehicle=None):
    from ground.sitl import Sitl, SitlError
    from hil.runtimes import RuntimeMissing

    try:
        return Sitl(board, runtime=runtime, state_dir=state_dir, security=security, speed=speed, log=log, vehicle=vehicle).start()
    except (SitlError, RuntimeMissing) as exc:
        raise CommandError(str(exc)) from None


def cmd_sitl(opts):
    sitl = _start_sitl(opts.board, opts.runtime, opts.state, not opts.no_security, opts.speed, vehicle=opts.vehicle)
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

    return fetch(opts, _link)


def cmd_demo(opts):
    from ground.demo import run_demo

    return run_demo(board=opts.board, runtime=opts.runtime, out=opts.out, vehicles=opts.vehicle or ("inspector", "rover"))


# --- the table ---------------------------------------------------------------------


def _link_options(p):
    p.add_argument("--port", required=True, help="serial port of the board or of `ground sitl`")
    p.add_argument("--key", help="key-store name of the link's uplink key (default: the port's name)")
    p.add_argument("--clear", action="store_true", help="clear mode (SPI 0): only for boards with security off")
    p.add_argument("--baud", type=int, default=921600)
    p.add_argument("--ack-window", type=float, default=0.5, help="uplink pacing window of the board, s")
    p.add_argument("--json", action="store_true", help="one JSON object per packet")


def _runtime_options(p):
    p.add_argument("--board", default="rp2-pico", help="board file in boards/ (default rp2-pico)")
    p.add_argument("--runtime", choices=("micropython", "cpython"), default="micropython")


def build_parser():
    parser = argparse.ArgumentParser(prog="ground", description="mitra ground station")
    sub = parser.add_subparsers(dest="subcommand", metavar="COMMAND")
    sub.required = True
    table = []

    p = sub.add_parser("sitl", help="run the flight app on a pty (software in the loop)")
    _runtime_options(p)
    p.add_argument("--state", help="state directory (the board's flash); kept, so a restart is a reboot")
    p.add_argument("--no-security", action="store_true", help="accept clear-mode (SPI 0) uplink")
    p.add_argument("--vehicle", choices=sorted(d.VEHICLE_BY_NAME), help="the vehicle app the board runs (default: the on-board computer alone)")
    p.add_argument("--speed", type=_speed, default=1.0, help="flight time per real time, or 'max': virtual time, as fast as the host runs")
    table.append((p, cmd_sitl))

    p = sub.add_parser("send", help="send one TC and wait for its ST1 reports")
    _link_options(p)
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the reports")
    p.add_argument("-v", "--verbose", action="store_true", help="also print all other telemetry meanwhile")
    p.add_argument("command", metavar="SERVICE.COMMAND|COMPONENT.FUNCTION")
    p.add_argument("args", nargs="*", metavar="ARG")
    table.append((p, cmd_send))

    p = sub.add_parser("tlm", help="print decoded telemetry live")
    _link_options(p)
    p.add_argument("--count", type=int, default=0, help="stop after N packets")
    p.add_argument("--duration", type=float, default=None, help="stop after S seconds")
    table.append((p, cmd_tlm))

    p = sub.add_parser("decode", help="decode one space packet given in hex")
    p.add_argument("hex", nargs="+")
    p.add_argument("--json", action="store_true")
    table.append((p, cmd_decode))

    p = sub.add_parser("encode", help="encode one TC packet to hex")
    p.add_argument("command", metavar="SERVICE.COMMAND")
    p.add_argument("args", nargs="*", metavar="ARG")
    p.add_argument("--apid", type=lambda s: int(s, 0), default=None, help="override the APID (default: the command's owner in the dictionary)")
    p.add_argument("--seq", type=int, default=0)
    p.add_argument("--ack", type=lambda s: int(s, 0), default=0xF, help="ack flags (default 0xF)")
    table.append((p, cmd_encode))

    p = sub.add_parser("dict", help="export the packet dictionary")
    p.add_argument("--format", choices=("json", "firmware"), default="json")
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

    for p, handler in table:
        p.set_defaults(handler=handler)
    return parser


def main(argv=None):
    parser = build_parser()
    opts = parser.parse_args(argv)
    try:
        return opts.handler(opts)
    except (CommandError, MitraError) as exc:
        print("ground: %s" % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
