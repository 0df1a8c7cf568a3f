"""The `qemu` target: the C core on emulated Cortex-M against the shared vector set.

native/baremetal/pil.py builds bare-metal images of native/src with the vectors of
tests/vectors/gnc_vectors.json embedded, runs them under qemu-system-arm (microbit: Cortex-M0,
mps2-an386: Cortex-M4F, mps2-an505: Cortex-M33) and counts instructions per call exactly
(-icount; the count is deterministic, so the budget checks are not timed asserts).
Missing QEMU or toolchain: skipped, or failed under CI (hil/plugin.py, need_qemu).
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "tests" / "vectors" / "gnc_vectors.json").read_text())
N_CASES = sum(len(f["cases"]) for f in VECTORS["functions"].values())
CPUS = ("cortex-m0", "cortex-m4f", "cortex-m33")


@pytest.mark.parametrize("cpu", CPUS)
def test_qemu_every_vector_within_tolerance(qemu_pil, cpu):
    pil, results = qemu_pil
    r = results[cpu]
    assert len(r["cases"]) == N_CASES, "%s ran %d of %d cases" % (cpu, len(r["cases"]), N_CASES)
    problems = pil.failures({cpu: r})
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("cpu", CPUS)
def test_qemu_instruction_counter_checks_out_on_a_nop_block(qemu_pil, cpu):
    _, results = qemu_pil
    for run in results[cpu]["runs"]:
        cal = run["cal"]
        assert cal is not None, run["text"][-2000:]
        assert cal["insns"] == cal["nops"], cal  # the bl, 1024 nops and bx lr: exactly


@pytest.mark.parametrize("cpu", CPUS)
def test_qemu_counts_every_function_of_the_vector_set(qemu_pil, cpu):
    pil, results = qemu_pil
    table = pil.per_function(results[cpu]["cases"])
    assert list(table) == list(VECTORS["functions"])
    assert all(t["insns_max"] > 0 for t in table.values())


# Worst vector case of each step. The inspector's dearest cycles (tests/vectors/make_gnc_vectors.py):
# a sweep's first part (34 samples, the part rotation's sinf/cosf) or a full later part, each with a
# magnetometer update; the decision cycle aborting near the V-bar outside the sphere (all four abort
# candidates) has no samples and no measurement update, so it costs less than either.
@pytest.mark.parametrize("function, budget", [("inspector_step", 150_000), ("rover_step", 30_000)])
def test_qemu_step_within_its_cortex_m0_budget(qemu_pil, function, budget):
    """ARCHITECTURE.md, Budgets: worst vector case on Cortex-M0, in executed instructions."""
    pil, results = qemu_pil
    worst = pil.per_function(results["cortex-m0"]["cases"])[function]["worst"]
    assert worst["insns"] <= budget, "%s [%s]: %d instructions on Cortex-M0, budget %d" % (
        function, worst["name"], worst["insns"], budget)


# The stress set: random cases of the two steps on their dearest paths (sweep parts, decision
# cycles that abort near the V-bar, damaged sweep states; dense rover paths with sun fixes and
# drilling), generated with a fixed seed. Every case must hold its tolerance on every CPU and the
# dearest must fit the Cortex-M0 budget: a hand-picked worst case can miss the data that costs most.
@pytest.mark.parametrize("cpu", CPUS)
def test_qemu_random_step_cases_within_tolerance(qemu_pil_stress, cpu):
    pil, results = qemu_pil_stress
    r = results[cpu]
    assert len(r["cases"]) == 2 * pil.STRESS_CASES, "%s ran %d stress cases" % (cpu, len(r["cases"]))
    problems = pil.failures({cpu: r})
    assert not problems, "\n".join(problems)


def test_qemu_random_step_cases_within_their_cortex_m0_budget(qemu_pil_stress):
    pil, results = qemu_pil_stress
    problems = pil.over_budget({"cortex-m0": results["cortex-m0"]})
    assert not problems, "\n".join(problems)


def test_qemu_budget_check_reports_a_step_over_budget(qemu_pil):
    """over_budget (which `make pil` and the test above rely on) names a step whose dearest case
    exceeds its budget: the measured worst case, one instruction over a budget lowered to it."""
    pil, results = qemu_pil
    worst = pil.per_function(results["cortex-m0"]["cases"])["rover_step"]["worst"]
    lowered = tuple((fn, label, worst["insns"] - 1 if fn == "rover_step" else budget)
                    for fn, label, budget in pil.STEPS)  # fmt: skip
    assert pil.over_budget(results, lowered) == [
        "rover_step [%s]: %d instructions on Cortex-M0, budget %d" % (worst["name"], worst["insns"], worst["insns"] - 1)]
    assert pil.over_budget(results) == []
