"""`python -m hil campaign [NAME ...] [--quick | --trials N] [--seed S] [--no-doc]`

Runs the named campaigns (default: all), prints one line per check, writes each
campaign's table into docs/reliability.md with the command that produced it, and
exits 1 when any check failed.
"""

import shlex
import sys

from hil import campaign
from hil.campaign import report


def add_parser(sub):
    p = sub.add_parser("campaign", help="robustness campaign: noisy link, decoder fuzzing, power cuts, bad-frame flood")
    p.add_argument("names", nargs="*", metavar="NAME", help="campaigns: %s (default: all)" % ", ".join(campaign.NAMES))
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="the default test set's small trial counts")
    size.add_argument("--trials", type=int, help="trials for each campaign named (fuzz: examples per decoder)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-doc", action="store_true", help="do not write docs/reliability.md")
    return p


def main(opts, argv):
    names = opts.names or list(campaign.NAMES)
    unknown = [n for n in names if n not in campaign.NAMES]
    if unknown:
        print("hil: unknown campaign %s (known: %s)" % (", ".join(unknown), " ".join(campaign.NAMES)), file=sys.stderr)
        return 2
    if opts.trials is not None and opts.trials < 1:
        print("hil: --trials must be at least 1, got %d" % opts.trials, file=sys.stderr)
        return 2
    command = "python -m hil " + " ".join(shlex.quote(a) for a in argv)
    failed = 0
    for name in names:
        trials = opts.trials if opts.trials is not None else (campaign.QUICK[name] if opts.quick else campaign.FULL[name])
        result = campaign.run(name, trials=trials, seed=opts.seed)
        print("\n".join(result.lines()), flush=True)
        if not opts.no_doc:
            report.write_section(result, command, order=campaign.NAMES)
        failed += result.failures
    if not opts.no_doc:
        print("hil: tables written to %s" % report.DOC)
    return 1 if failed else 0
