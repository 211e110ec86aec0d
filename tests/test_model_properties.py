"""Seeded random property tests on small instances (numpy seeded, fast)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from capacity.model import build_model
from capacity.model.solve import solve
from factory import make_inputs

SEEDS = range(6)


def random_instance(seed, *, avail_scale=1.0, min_term=None, cost_scale=1.0):
    rng = np.random.default_rng(seed)
    weeks = int(rng.integers(3, 7))
    regions = ["R1", "R2"]
    scen = [("lo", 0.4), ("hi", 0.6)]
    wts = [dict(work_type="call", tasks_per_case=2, value_per_task=30 * cost_scale,
                escalates_to="complex", min_completion_share=0.0),
           dict(work_type="complex", tasks_per_case=0.2, value_per_task=150 * cost_scale)]
    mt = int(rng.integers(0, 4)) if min_term is None else min_term
    srcs = [dict(source="agency", kind="contractor"),
            dict(source="eho", kind="eho", cost_per_fte_week=1000 * cost_scale),
            dict(source="hire", kind="hire", cost_per_fte_week=700 * cost_scale,
                 onboarding_cost=float(rng.uniform(0, 900)) * cost_scale,
                 lead_weeks=int(rng.integers(0, 2)), notice_weeks=1, min_term_weeks=mt,
                 trainer="eho", training_hours=float(rng.uniform(0, 8)))]
    skills = [dict(source="agency", work_type="call", minutes_per_task=20, success_rate=0.7,
                   escalation_share=0.5, handoff_minutes=5),
              dict(source="eho", work_type="complex", minutes_per_task=90, success_rate=0.95),
              dict(source="eho", work_type="call", minutes_per_task=15, success_rate=0.9,
                   escalation_share=0.5),
              dict(source="hire", work_type="call", minutes_per_task=18, success_rate=0.8,
                   escalation_share=0.6)]
    contracts = [dict(contract="C1", source="agency", min_term_weeks=2, min_fte=1, max_fte=20,
                      fixed_cost=float(rng.uniform(0, 3000)) * cost_scale,
                      cost_per_fte_week=900 * cost_scale, lead_weeks=1, start_week=2,
                      max_increase_per_week=3)]
    av = {(s, r): list(np.round(rng.uniform(0, 4, weeks) * avail_scale, 2))
          for s in ("eho", "hire") for r in regions}
    dm = {(w, r): list(np.round(rng.uniform(0, 150, weeks) * (1.5 if w == "hi" else 1), 1))
          for w, _ in scen for r in regions}
    return make_inputs(weeks=weeks, regions=regions, work_types=wts, sources=srcs, skills=skills,
                       contracts=contracts, availability=av, demand=dm, scenarios=scen,
                       reveal_week=2, mip_gap=0.0)


def opt(inp):
    res = solve(build_model(inp), duals=False)
    assert res.status == "optimal", res.termination
    return res.objective


@pytest.mark.parametrize("seed", SEEDS)
def test_more_availability_never_raises_the_optimum(seed):
    base = opt(random_instance(seed))
    more = opt(random_instance(seed, avail_scale=1.5))
    assert more <= base + 1e-6 * max(1.0, abs(base))


@pytest.mark.parametrize("seed", SEEDS)
def test_longer_min_term_never_lowers_the_optimum(seed):
    objs = [opt(random_instance(seed, min_term=mt)) for mt in (0, 2, 4)]
    for a, b in zip(objs, objs[1:]):
        assert b >= a - 1e-6 * max(1.0, abs(a))


@pytest.mark.parametrize("seed", SEEDS)
def test_scaling_costs_and_values_scales_the_objective(seed):
    alpha = 3.7
    base = opt(random_instance(seed))
    scaled = opt(random_instance(seed, cost_scale=alpha))
    assert scaled == pytest.approx(alpha * base, rel=1e-6)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_elastic_model_has_zero_slack_when_feasible(seed):
    inp = random_instance(seed)
    plain = opt(inp)
    el = build_model(inp, elastic=True)
    res = solve(el, duals=False)
    assert res.objective == pytest.approx(plain, rel=1e-6)
    from capacity.model import elastic_violations
    assert len(elastic_violations(el)) == 0


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_fixing_the_optimal_first_stage_reproduces_the_optimum(seed):
    inp = random_instance(seed)
    res = solve(build_model(inp), duals=False)
    fixed = {"y": res.values["y"].to_dict(), "L": res.values["L"].to_dict()}
    again = solve(build_model(inp, fixed=fixed), duals=False)
    assert again.objective == pytest.approx(res.objective, rel=1e-6)
    assert again.stats["binaries"] == 0
