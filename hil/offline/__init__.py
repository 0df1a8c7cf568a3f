"""Offline helpers of the closed-loop scenarios: ground-side references and tools, never flight code.

    world.py     numpy float64 truth / reference models (orbit, field, attitude, CW and two-body motion)
    plots.py     matplotlib helpers for the scenario PNGs
    detumble.py  the D1 Monte Carlo with the whole B-dot loop in C (gnc.detumble_run)
"""
