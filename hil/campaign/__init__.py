"""The robustness campaign as part of the rig (issue 11): `python -m hil campaign [NAME ...]`.

    link      noisy line between ground and board (hil.campaign.link, .channel)
    fuzz      every decoder on both sides with hypothesis (hil.campaign.fuzz)
    powercut  kill -9 during every kind of persisted write (hil.campaign.powercut)
    flood     bad frames with the board's heap and responsiveness (hil.campaign.flood)

Each returns a `report.Result` (trials, failures, figures per check); the CLI writes its
table into docs/reliability.md. `QUICK` and `FULL` are the sizes of the default test set
and of the slow one (and of the CLI's --quick and default runs).
"""

import importlib

NAMES = ("link", "fuzz", "powercut", "flood")
QUICK = {"link": 9, "fuzz": 60, "powercut": 12, "flood": 4}
FULL = {"link": 75, "fuzz": 2000, "powercut": 200, "flood": 20}


def module(name):
    if name not in NAMES:
        raise KeyError(name)
    return importlib.import_module("hil.campaign." + name)


def run(name, trials=None, seed=0, **kwargs):
    """Run campaign `name` with `trials` (its FULL size by default); a report.Result."""
    size = FULL[name] if trials is None else trials
    m = module(name)
    if name == "fuzz":
        return m.run(examples=size, seed=seed, **kwargs)
    return m.run(trials=size, seed=seed, **kwargs)
