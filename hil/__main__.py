"""`python -m hil scenarios [ID ...] [--runs N] [--plots DIR] [--seed S]`
`python -m hil campaign [NAME ...] [--quick | --trials N] [--seed S] [--no-doc]` (hil/campaign/cli.py)

Runs the closed-loop scenarios and prints one line each: ID, the measured
figure, the criterion, PASS or FAIL. Exit status 1 on any FAIL, 2 on an
unknown scenario ID.
"""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hil", description="mitra HIL rig")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("scenarios", help="run closed-loop GNC scenarios with the C core in the loop")
    p.add_argument("ids", nargs="*", metavar="ID", help="scenario IDs (default: all)")
    p.add_argument("--runs", type=int, default=None, help="Monte Carlo runs (default: each scenario's own)")
    p.add_argument("--plots", metavar="DIR", help="write one PNG per scenario into DIR")
    p.add_argument("--seed", type=int, default=0)
    from hil.campaign import cli as campaign_cli

    campaign_cli.add_parser(sub)
    args = sys.argv[1:] if argv is None else list(argv)
    opts = parser.parse_args(args)
    if opts.command == "campaign":
        return campaign_cli.main(opts, args)

    from hil.scenarios import load_all

    scenarios = load_all()
    ids = [i.upper() for i in opts.ids] or sorted(scenarios, key=_order)
    unknown = [i for i in ids if i not in scenarios]
    if unknown:
        print("hil: unknown scenario %s (known: %s)" % (", ".join(unknown), " ".join(sorted(scenarios, key=_order))), file=sys.stderr)
        return 2
    if opts.plots:
        os.makedirs(opts.plots, exist_ok=True)
    failed = 0
    for sid in ids:
        result = scenarios[sid].run(runs=opts.runs, plots=opts.plots, seed=opts.seed)
        print(result.line(), flush=True)
        failed += not result.passed
    return 1 if failed else 0


def _order(sid):
    return ("DPEMGSAR".index(sid[0]) if sid[0] in "DPEMGSAR" else 9, sid)


if __name__ == "__main__":
    sys.exit(main())
