"""Version 2 section 1: plan from week T with what has happened (settings.plan_from_week, sheet history).

Hand-computed optima for each rule at the boundary T (lock-in, cohort lock-in, a decision inside its
lead time, notice given before T), the cost split into sunk and to go, version 1 unchanged, and the
re-plan consistency property of v2 section 5 on seeded random instances.

Unless stated: one region R1, one scenario, work type 'case' (1 task per case, value 100 per task not
done), H = 30 productive hours per FTE-week and 60 minutes per task, so one FTE does 30 tasks a week.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from capacity import api
from capacity.analysis.checks import run_checks
from capacity.io.examples import small_tables
from capacity.io.inputs import HISTORY_COLUMNS
from capacity.io.validate import read_inputs
from capacity.io.workbook import write_input_workbook
from capacity.model import build_model
from capacity.model.solve import solve
from capacity.output.results import tabulate
from factory import make_inputs, simple, synthetic

CASE = dict(work_type="case", tasks_per_case=1, value_per_task=100)


def with_history(inp, T: int, rows, **settings):
    """``inp`` planned from week T with these history rows (unit, region, week, fte, onboarded, exits)."""
    full = [tuple(r) + (0.0,) * (6 - len(r)) for r in rows]
    h = pd.DataFrame(full, columns=list(HISTORY_COLUMNS))
    h["week"] = h["week"].astype(int)
    for c in ("fte", "onboarded", "exits"):
        h[c] = h[c].astype(float)
    st = dataclasses.replace(inp.settings, plan_from_week=T, **settings)
    return dataclasses.replace(inp, settings=st, history=h)


def run(inp):
    built = build_model(inp)
    res = solve(built)
    assert res.status == "optimal", (res.status, res.termination, res.infeasible_families)
    return built, res


def summary(inp, built, res) -> dict:
    t = tabulate(inp, built, res)
    checks = run_checks(inp, t.as_dict())
    assert (checks["result"] == "pass").all(), checks[checks["result"] != "pass"]
    return dict(zip(t.summary["key"], t.summary["value"])), t


def series(values, *prefix):
    return [float(v) for k, v in values.items() if tuple(k[: len(prefix)]) == prefix]


# ---- lock-in crossing T ---------------------------------------------------------------------------
def test_lock_in_crossing_T_keeps_the_history_level_and_its_fixed_cost_is_sunk():
    # An option, 4-week term from week 1, 50/FTE-week, fixed cost 1000; no demand. The history staffed it
    # at 5 FTE in weeks 1-2 (T = 3): it is signed, L = 5, weeks 3-4 stay at 5 (2 x 5 x 50 = 500 to go),
    # week 5 drops to 0. Sunk: weeks 1-2 (500) + the fixed cost (start_week 1 < T, signed): 1500.
    c = dict(contract="C1", source="agency", min_term_weeks=4, max_fte=10, cost_per_fte_week=50, fixed_cost=1000)
    inp = make_inputs(weeks=5, regions=["R1"], work_types=[CASE], sources=[dict(source="agency", kind="contractor")],
                      skills=[dict(source="agency", work_type="case", minutes_per_task=60, success_rate=1)],
                      contracts=[c], demand={("base", "R1"): [0] * 5})
    assert run(inp)[1].objective == pytest.approx(0)      # version 1: never signed
    h = with_history(inp, 3, [("C1", "", 1, 5), ("C1", "", 2, 5)])
    built, res = run(h)
    assert res.objective == pytest.approx(500)
    assert series(res.values["N"], "C1") == pytest.approx([5, 5, 5, 5, 0])
    assert res.values["y"]["C1"] == 1 and res.values["L"]["C1"] == pytest.approx(5)
    s, t = summary(h, built, res)
    assert s["cost_to_go"] == pytest.approx(500) and s["sunk_cost"] == pytest.approx(1500)
    assert s["objective"] == pytest.approx(500)
    assert t.contracts.set_index("contract").at["C1", "status"] == "signed before the plan"
    assert list(t.plan.loc[t.plan["scenario"] == "base", "phase"]) == ["history"] * 2 + ["plan"] * 3


# ---- cohort lock-in crossing T --------------------------------------------------------------------
def test_cohort_lock_in_crossing_T_keeps_the_history_cohort():
    # hires (10/FTE-week, min_term 3); no demand. The history onboarded 2 in week 2 (T = 3): they stay
    # weeks 2-4, so weeks 3-4 cost 2 x 2 x 10 = 40 to go; week 2 (20) is sunk. Without a term: 0 to go.
    src = dict(source="hire", kind="hire", cost_per_fte_week=10, min_term_weeks=3)
    kw = dict(weeks=5, sources=[src], skills=[dict(source="hire", work_type="case", minutes_per_task=60)],
              availability={("hire", "R1"): 10})
    rows = [("hire", "R1", 2, 2, 2)]
    built, res = run(with_history(simple(**kw), 3, rows))
    assert res.objective == pytest.approx(40)
    assert series(res.values["F"], "hire", "R1") == pytest.approx([0, 2, 2, 2, 0])
    s, _ = summary(with_history(simple(**kw), 3, rows), built, res)
    assert s["sunk_cost"] == pytest.approx(20)
    src["min_term_weeks"] = 0
    assert run(with_history(simple(**kw), 3, rows))[1].objective == pytest.approx(0)


# ---- an onboarding decided inside its lead time ---------------------------------------------------
def test_onboarding_decided_inside_its_lead_time():
    # hires: lead 2, 10/FTE-week, onboarding 5; demand 30 cases in week 3 only (1 FTE's work).
    # From week 1 (version 1): onboard 1 for week 3, 10 + 5 = 15. From T = 2 the week-3 onboarding would
    # have been decided in week 1: without a history row for it nobody starts in week 3 (3 < T + lead):
    # the 30 tasks are lost, 3000. With the history row (onboarded 1 in week 3): 15 again.
    src = dict(source="hire", kind="hire", cost_per_fte_week=10, onboarding_cost=5, lead_weeks=2)
    kw = dict(weeks=4, sources=[src], skills=[dict(source="hire", work_type="case", minutes_per_task=60)],
              availability={("hire", "R1"): 10}, demand={("base", "R1"): [0, 0, 30, 0]})
    assert run(simple(**kw))[1].objective == pytest.approx(15)
    assert run(with_history(simple(**kw), 2, []))[1].objective == pytest.approx(3000)
    h = with_history(simple(**kw), 2, [("hire", "R1", 3, 1, 1)])
    built, res = run(h)
    assert res.objective == pytest.approx(15)
    assert series(res.values["O"], "hire", "R1") == pytest.approx([0, 0, 1, 0])
    assert series(res.values["F"], "hire", "R1") == pytest.approx([0, 0, 1, 0])
    summary(h, built, res)


def test_staff_in_post_at_the_start_are_not_onboarded_for_free():
    # EHOs with lead 1 and onboarding cost 7: from an empty start nobody works in week 1 (lose 30 x 100).
    # With 1 EHO in post in week 1 (T = 2, the history's week 1) week 1 is covered and sunk
    # (10 + 7 = 17), and the cost to go is week 2's salary (10).
    src = dict(source="eho", kind="eho", cost_per_fte_week=10, onboarding_cost=7, lead_weeks=1)
    kw = dict(weeks=2, sources=[src], demand={("base", "R1"): [30, 30]})
    assert run(simple(**kw))[1].objective == pytest.approx(3000 + 10 + 7)
    h = with_history(simple(**kw), 2, [("eho", "R1", 1, 1, 1)])
    built, res = run(h)
    assert res.objective == pytest.approx(10)
    s, t = summary(h, built, res)
    assert s["sunk_cost"] == pytest.approx(17)
    cov = t.coverage[t.coverage["scenario"] == "base"]
    assert list(cov["completion_share"]) == pytest.approx([1.0, 1.0]) and list(cov["phase"]) == ["history", "plan"]


# ---- notice given before T ------------------------------------------------------------------------
def test_notice_given_before_T_forces_the_exit():
    # redeployed: notice 2, lead 0, 10/FTE-week; demand 90 cases in weeks 3-4 (3 FTE). 3 in post in weeks
    # 1-2; their notice was given in week 1 for week 3 (history row week 3: exits 3). T = 3: week 3 has
    # nobody (the row also fixes onboarded 0): 90 x 100 lost; week 4: 3 onboarded again, 30.
    # Without the notice row they stay: 2 x 3 x 10 = 60.
    src = dict(source="redeployed", kind="redeployed", cost_per_fte_week=10, notice_weeks=2)
    kw = dict(weeks=4, sources=[src], skills=[dict(source="redeployed", work_type="case", minutes_per_task=60)],
              availability={("redeployed", "R1"): 10}, demand={("base", "R1"): [0, 0, 90, 90]})
    past = [("redeployed", "R1", 1, 3, 3), ("redeployed", "R1", 2, 3)]
    built, res = run(with_history(simple(**kw), 3, past + [("redeployed", "R1", 3, 0, 0, 3)]))
    assert res.objective == pytest.approx(9030)
    assert series(res.values["F"], "redeployed", "R1") == pytest.approx([3, 3, 0, 3])
    assert run(with_history(simple(**kw), 3, past))[1].objective == pytest.approx(60)


def test_history_weeks_work_is_chosen_and_its_lost_value_is_sunk():
    # 1 EHO in post in weeks 1-2 (T = 3) against 60 cases a week: 30 done, 30 lost (3000) each week, sunk.
    # From week 3: 2 EHOs (lead 0) for 60 cases: 2 x 10 a week to go.
    inp = simple(weeks=4, demand={("base", "R1"): [60] * 4})
    h = with_history(inp, 3, [("eho", "R1", 1, 1, 1), ("eho", "R1", 2, 1)])
    built, res = run(h)
    assert res.objective == pytest.approx(40)
    s, t = summary(h, built, res)
    assert s["sunk_cost"] == pytest.approx(2 * (10 + 3000))
    done = t.coverage[(t.coverage["scenario"] == "base")]["completed"].tolist()
    assert done == pytest.approx([30, 30, 60, 60])


# ---- version 1 is unchanged -----------------------------------------------------------------------
def test_version_1_workbook_gives_the_version_1_optimum(tmp_path):
    """T = 1 and no history: the optimum of the small example before version 2 (663,205.9332017238, by
    the model before this change), and that of a random instance (489,559.19444444444)."""
    tables = small_tables()
    del tables["history"]
    path = tmp_path / "v1.xlsx"
    write_input_workbook(path, tables, weeks=8)
    inp, _ = read_inputs(path)
    assert inp.settings.plan_from_week == 1 and len(inp.history) == 0
    built, res = run(inp)
    assert res.objective == pytest.approx(663205.9332017238, rel=1e-9)
    s, _ = summary(inp, built, res)
    assert s["sunk_cost"] == 0 and s["cost_to_go"] == pytest.approx(res.objective)
    r = run(synthetic(regions=3, weeks=12, scenarios=3, contracts=3, seed=1, reveal_week=3))[1]
    assert r.objective == pytest.approx(489559.19444444444, rel=1e-9)


def test_small_example_shows_staff_in_post_and_plans_end_to_end(tmp_path):
    """The shipped small example has its EHOs in post in week 1; plan and audit pass on it."""
    path = tmp_path / "small.xlsx"
    write_input_workbook(path, small_tables(), weeks=8)
    inp, _ = read_inputs(path)
    assert set(zip(inp.history["unit"], inp.history["region"], inp.history["week"])) == {
        ("eho", "north", 1), ("eho", "midlands", 1), ("eho", "south", 1)}
    res = api.plan(path, tmp_path / "small-plan.xlsx")
    assert res.exit_code == 0
    plan = res.tables.plan
    wk1 = plan[(plan["unit"] == "eho") & (plan["week"] == 1) & (plan["scenario"] != "expected")]
    assert wk1.groupby("region")["fte"].max().to_dict() == {"north": 8, "midlands": 6, "south": 10}


# ---- the re-plan consistency property (v2 section 5) ----------------------------------------------
def _w_history(inp, built, res, w: str, T: int) -> pd.DataFrame:
    """The plan's decisions in scenario w: every week < T, and the weeks >= T decided before T
    (t - lead < T for an increase, t - notice < T for a decrease)."""
    v = res.values
    rows = []
    con = inp.contracts
    n = v["N"]
    for (c, t, s), fte in n.items():
        lag = max(int(con.at[c, "lead_weeks"]), int(con.at[c, "notice_weeks"]))
        if s == w and (t < T or t - lag < T):
            rows.append((c, "", int(t), float(fte), 0.0, 0.0))
    src = inp.sources
    for (s_, r, t, s), fte in v["F"].items():
        lag = max(int(src.at[s_, "lead_weeks"]), int(src.at[s_, "notice_weeks"]))
        if s == w and (t < T or t - lag < T):
            rows.append((s_, r, int(t), float(fte), float(v["O"][(s_, r, t, s)]), float(v["X"][(s_, r, t, s)])))
    return pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))


def _cost_from(inp, built, res, w: str, T: int) -> float:
    """The plan's cost in scenario w from week T on: staff, onboarding and lost value of weeks >= T, and
    the fixed costs of signed contracts that start at T or later."""
    t = tabulate(inp, built, res)
    plan, cov = t.plan, t.coverage
    p = plan[(plan["scenario"] == w) & (plan["week"] >= T)]
    c = cov[(cov["scenario"] == w) & (cov["week"] >= T)]
    lost = (c["lost"] * c["work_type"].map(inp.work_types["value_per_task"])).sum()
    con = t.contracts.set_index("contract")
    fixed = sum(con.at[k, "fixed_cost"] for k in con.index if inp.contracts.at[k, "start_week"] >= T)
    return float(p["cost"].sum() + lost + fixed)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("all_signed", [False, True])
def test_replan_from_own_history_costs_no_more_and_exactly_as_much_when_all_signed(seed, all_signed):
    inp = synthetic(regions=3, weeks=12, scenarios=3, contracts=3, seed=seed, reveal_week=3)
    if all_signed:
        inp = dataclasses.replace(inp, contracts=inp.contracts.assign(status="signed"))
    built, res = run(inp)
    T = 6                                                       # > reveal_week
    w = list(inp.scenarios.index)[seed % 3]
    before = _cost_from(inp, built, res, w, T)
    hist = _w_history(inp, built, res, w, T)
    one = dataclasses.replace(
        inp, scenarios=inp.scenarios.loc[[w]].assign(probability=1.0),
        demand=inp.demand[inp.demand["scenario"] == w].reset_index(drop=True),
        settings=dataclasses.replace(inp.settings, plan_from_week=T), history=hist)
    b2, r2 = run(one)
    tol = 1e-6 * max(1.0, abs(before)) + (r2.gap or 0.0) * abs(r2.objective) + (res.gap or 0.0) * abs(before)
    assert r2.objective <= before + tol
    if all_signed:
        assert r2.objective == pytest.approx(before, rel=1e-6, abs=1e-6)
    s, t = summary(one, b2, r2)                                 # every check passes, history included
    assert s["cost_to_go"] == pytest.approx(r2.objective, rel=1e-9)
    past = t.plan[(t.plan["week"] < T) & (t.plan["scenario"] == w)]
    mine = res.values["F"]
    for row in past[past["region"] != ""].head(20).itertuples():
        assert row.fte == pytest.approx(float(mine[(row.unit, row.region, row.week, w)]), abs=1e-6)
    assert np.isfinite(s["sunk_cost"]) and s["sunk_cost"] >= 0
