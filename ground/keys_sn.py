"""`ground sn NAME [--floor F | --set SN] [--force]`: show or set a link's next uplink SN.

The operator's way back in when the ground's SN and the board's anti-replay floor have
diverged (README, Uplink security). The downlink is not authenticated, so the ground
never follows a floor it reads there further than one replay window (ground.link); a
floor the operator vouches for (the one a security_rejected event named, checked against
the board's HK drop_replay count, or read from the board's replay.dat over its REPL)
is set here, with local access to the key store as the authentication. Raising the SN is
always safe; lowering it needs --force, since the board refuses every SN at or below its
floor for good. A key whose SN space is spent (or a board whose floor is unknown) is
re-provisioned instead: `ground keys create NAME --spi N --force` with an SPI the board
has not used, then flash the key onto the board.
"""

from ground.keys import SN_MAX, KeyStore


def _sn(text):
    import argparse

    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError("not an integer: %r" % text) from None
    if not 0 <= value <= SN_MAX:
        raise argparse.ArgumentTypeError("%d outside 0..%d (the SN is u32)" % (value, SN_MAX))
    return value


def add_parser(sub):
    """The `sn` subcommand on `sub` (argparse subparsers); returns (parser, handler) for cli.py's table."""
    p = sub.add_parser("sn", help="show or set a link's next uplink sequence number (resync with the board's anti-replay floor)")
    p.add_argument("name", metavar="NAME", help="the link's key name (`ground keys list`)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--floor", type=_sn, help="the board's anti-replay floor: the next SN becomes FLOOR + 1")
    what.add_argument("--set", type=_sn, dest="next_sn", metavar="SN", help="the next SN itself")
    p.add_argument("--force", action="store_true", help="allow lowering the next SN")
    return p, run


def apply(name, floor=None, next_sn=None, force=False, store=None):
    """Set the next SN of link `name` (to floor + 1, or next_sn); returns (before, after).

    Raises ground.errors.KeyInvalid / KeyMissing (the CLI prints them as `ground: ...`).
    """
    link = (store or KeyStore()).load(name)
    before = link.next_sn
    if floor is not None:
        next_sn = floor + 1
    if next_sn is None:
        return before, before
    return before, link.set_next_sn(next_sn, force=force)


def run(opts):
    before, after = apply(opts.name, floor=opts.floor, next_sn=opts.next_sn, force=opts.force)
    if opts.floor is None and opts.next_sn is None:
        print("%s next_sn=%d (board floor must be below it, within the board's window)" % (opts.name, before))
    else:
        print("%s next_sn %d -> %d" % (opts.name, before, after))
    return 0
