"""`ground plot`: time series of housekeeping parameters from the mission archive, as a PNG.

A parameter goes by the dictionary's name for it, `STRUCTURE.FIELD`: the HK structure and its
field (`rover_power.soc`, `inspector_truth.range`); `ground dict --format json` lists them. Each
series is drawn against on-board time. Parameters whose units agree share one axis; each other
unit gets its own axis below, all with the same time axis; labels carry the dictionary's units.
A series is broken where on-board time steps back or the session changes (a reboot, the clock
being set, another pass), never joined across the gap.

The plot is drawn headless (matplotlib's Agg backend): no display is needed.
"""

import datetime
import difflib
from pathlib import Path

from ground import dictionary as d
from ground.errors import MitraError


class PlotError(MitraError):
    """A plot that cannot be made: an unknown parameter, nothing in the range, an unwritable file."""


class NoValues(PlotError):
    """No parameter of the plot has a value in the selection."""


# "structure.field" -> (HkStructure, F), every field of every HK structure
PARAMETERS = {"%s.%s" % (h.name, f.name): (h, f) for h in d.HK_STRUCTURES for f in h.fields}


def resolve(name):
    """(structure, field) of a parameter name; PlotError naming close matches when it is unknown."""
    found = PARAMETERS.get(name)
    if found is not None:
        return found
    close = difflib.get_close_matches(name, PARAMETERS, n=4, cutoff=0.6)
    # a bare field name (`soc`) or a structure (`rover_power`): the parameters it could mean
    close += [p for p in PARAMETERS if name in p.split(".") and p not in close]
    if close:
        hint = "did you mean %s?" % ", ".join(close[:6])
    else:
        hint = "names are STRUCTURE.FIELD, e.g. rover_power.soc; `ground dict --format json` lists them"
    raise PlotError("unknown HK parameter %r (%s)" % (name, hint))


def units(name):
    return resolve(name)[1].units


def label(name):
    u = units(name)
    return "%s (%s)" % (name, u) if u else name


def axes_of(names):
    """{unit: [names]}: the axes of a plot, top to bottom; parameters whose units agree share one."""
    groups = {}
    for name in names:
        groups.setdefault(units(name), []).append(name)
    return groups


def _when(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def describe_range(start, end):
    if start is None and end is None:
        return "the whole archive"
    if end is None:
        return "from %s" % _when(start)
    if start is None:
        return "up to %s" % _when(end)
    return "from %s to %s" % (_when(start), _when(end))


def _segments(rows):
    """[(times, values)] of one series' (session, obt, value) rows, split where a session ends or time steps back."""
    out = []
    prev = None
    for session, obt, value in rows:
        if obt is None or value is None:
            continue
        if prev is None or session != prev[0] or obt < prev[1]:
            out.append(([], []))
        out[-1][0].append(obt)
        out[-1][1].append(value)
        prev = (session, obt)
    return out


def plot(archive, names, output, sessions=None, start=None, end=None, title=None):
    """Draw the parameters `names` from an open ground.archive.Archive into the PNG `output`.

    `sessions`: session ids to take values from (None: all); `start`/`end`: ground receive time (epoch s).
    Returns {name: number of points drawn}, in the order given. PlotError when a name is unknown,
    when no parameter has a value in the range, or when the file cannot be written."""
    names = list(dict.fromkeys(names))
    if not names:
        raise PlotError("no parameter to plot")
    output = Path(output)
    if output.suffix.lower() != ".png":
        raise PlotError("%s: the plot is a PNG, give a file name ending in .png" % output)
    series = {}
    for name in names:
        structure, field = resolve(name)
        series[name] = _segments(archive.series(structure.name, field.name, sessions=sessions, start=start, end=end))
    counts = {name: sum(len(t) for t, _ in segs) for name, segs in series.items()}
    if not any(counts.values()):
        where = ("session%s %s of " % ("s" if len(sessions) > 1 else "", ", ".join(map(str, sessions)))) if sessions else ""
        raise NoValues("no values of %s in %s%s%s" % (", ".join(names), where, archive.path,
                                                       "" if start is None and end is None else ", " + describe_range(start, end)))

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    groups = axes_of(names)
    fig, axes = plt.subplots(len(groups), 1, sharex=True, figsize=(8, 0.8 + 2.4 * len(groups)), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for (unit, group), ax in zip(groups.items(), axes[:, 0]):
        for name in group:
            color = colors[names.index(name) % len(colors)]
            segs = series[name]
            for i, (t, v) in enumerate(segs):
                ax.plot(t, v, color=color, marker="." if len(t) < 50 else None, linewidth=1.2,
                        label=("%s, %d points" % (name, counts[name])) if i == 0 else None)
            if not segs:
                ax.plot([], [], color=color, label="%s, no values" % name)
        if unit:
            ax.set_ylabel(unit)
        elif len(group) == 1:
            ax.set_ylabel(group[0])
        ax.grid(True, alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    axes[-1, 0].set_xlabel("on-board time (s)")
    axes[0, 0].set_title(title or "%s: %s" % (archive.path.name, describe_range(start, end)), fontsize="medium")
    fig.tight_layout()
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(str(output), format="png", dpi=100)
    except OSError as exc:
        raise PlotError("%s: cannot write the plot: %s" % (output, exc.strerror or exc)) from None
    finally:
        plt.close(fig)
    return counts
