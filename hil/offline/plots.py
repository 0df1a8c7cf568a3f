"""matplotlib helpers for the scenario PNGs (one per scenario, `--plots DIR`)."""

import os

import numpy as np


def plot_file(plots, sid):
    """Where scenario `sid` draws its PNG, or None when `plots` is not set."""
    if not plots:
        return None
    os.makedirs(plots, exist_ok=True)
    return os.path.join(plots, "%s.png" % sid)


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path


def keepout_circle(ax, radius, label=True):
    th = np.linspace(0.0, 2.0 * np.pi, 200)
    ax.fill(radius * np.cos(th), radius * np.sin(th), color="tab:red", alpha=0.15)
    ax.plot(radius * np.cos(th), radius * np.sin(th), color="tab:red", lw=1.2,
            label="keep-out %.0f m" % radius if label else None)
