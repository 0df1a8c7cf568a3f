"""Closed-loop GNC scenarios (GNC.md "Closed-loop scenarios"), with the C core in the loop.

Each scenario is a function registered with `@scenario(ID, title, criterion)`
that takes `(runs, plots, seed)` and returns a `Result`: the measured figure,
the criterion it is judged by, PASS or FAIL, and the PNG it drew (if `plots`
is a directory). `python -m hil scenarios [ID ...]` runs them.
"""

import importlib

SCENARIOS = {}
MODULES = ("hil.scenarios.inspector_app", "hil.scenarios.rover_app")


class Result:
    """What a scenario measured and whether it meets its criterion."""

    def __init__(self, id, figure, criterion, passed, details=None, plot=None):
        self.id = id
        self.figure = figure  # the measured figure, as text with units ("0.31 deg/s", "97/100 runs")
        self.criterion = criterion
        self.passed = bool(passed)
        self.details = details or {}
        self.plot = plot

    def line(self):
        return "%-3s %-40s %-55s %s" % (self.id, self.figure, self.criterion, "PASS" if self.passed else "FAIL")


class Scenario:
    def __init__(self, id, title, criterion, fn, default_runs):
        self.id = id
        self.title = title
        self.criterion = criterion
        self.fn = fn
        self.default_runs = default_runs

    def run(self, runs=None, plots=None, seed=0):
        result = self.fn(runs=runs or self.default_runs, plots=plots, seed=seed)
        if result.id != self.id:
            raise ValueError("scenario %s returned a result for %s" % (self.id, result.id))
        return result


def scenario(id, title, criterion, default_runs=1):
    """Register a scenario function under `id` (one of GNC.md's table)."""

    def register(fn):
        if id in SCENARIOS:
            raise ValueError("scenario %s registered twice" % id)
        SCENARIOS[id] = Scenario(id, title, criterion, fn, default_runs)
        return fn

    return register


def load_all():
    """Import the scenario modules (they register themselves); returns SCENARIOS."""
    for name in MODULES:
        importlib.import_module(name)
    return SCENARIOS
