"""One test per constraint family, each against an optimum computed by hand.

Unless stated: one region R1, one scenario, work type 'case' (1 task per
case, value 100 per task not done), H = 37.5 * 0.8 = 30 productive hours per
FTE-week, 60 minutes per task, so one FTE does 30 tasks a week.
"""

from __future__ import annotations

import math

import pytest

from capacity.model import build_model
from capacity.model.solve import solve
from factory import make_inputs, simple

AGENCY = dict(source="agency", kind="contractor")
EHO = dict(source="eho", kind="eho", cost_per_fte_week=10)
CASE = dict(work_type="case", tasks_per_case=1, value_per_task=100)


def agency_skill(**kw):
    d = dict(source="agency", work_type="case", minutes_per_task=60, success_rate=1)
    d.update(kw)
    return d


def run(inp, **kw):
    res = solve(build_model(inp), **kw)
    assert res.status == "optimal", (res.status, res.termination, res.infeasible_families)
    return res


def vals(series, *prefix):
    """Values of a Series at the index entries starting with prefix, in order."""
    return [float(v) for k, v in series.items() if tuple(k[: len(prefix)]) == prefix]


def contract_only(weeks, contract, demand, **kw):
    return make_inputs(weeks=weeks, regions=["R1"], work_types=[CASE], sources=[AGENCY],
                       skills=[agency_skill()], contracts=[contract],
                       demand={("base", "R1"): demand}, **kw)


# ---- eq 1-4: a signed contract is paid through its lock-in with no demand ----------
def test_eq4_signed_contract_paid_through_lock_in_with_zero_demand():
    # committed 5 FTE, term 3 weeks, 50/FTE-week, 4 weeks, no demand:
    # weeks 1-3 locked at 5 -> 5*3*50 = 750; week 4 drops to 0 (no decrease limit).
    c = dict(contract="C1", source="agency", status="signed", committed_fte=5, min_term_weeks=3,
             max_fte=10, cost_per_fte_week=50)
    res = run(contract_only(4, c, [0, 0, 0, 0]))
    assert res.objective == pytest.approx(750)
    assert vals(res.values["N"], "C1") == pytest.approx([5, 5, 5, 0])
    assert res.values["L"]["C1"] == pytest.approx(5)
    assert res.values["y"]["C1"] == 1
    assert len(res.values["A"]) == 0      # no demand -> no work variables (utilisation 0)
    # lock-in shadow price: one FTE less in a locked week saves 50
    assert res.duals["lock_in"].to_numpy() == pytest.approx([50, 50, 50])


def test_eq2_lead_time_and_window():
    # option, lead 2, start 3 -> nothing before week 3; demand 30/week all 4 weeks.
    # Weeks 3-4: 1 FTE at 20 = 40; weeks 1-2 lost 2*30*100 = 6000.
    c = dict(contract="C1", source="agency", start_week=3, lead_weeks=2, max_fte=10,
             cost_per_fte_week=20)
    res = run(contract_only(4, c, [30] * 4))
    assert res.objective == pytest.approx(6040)
    assert vals(res.values["N"], "C1") == pytest.approx([1, 1])   # exists only in weeks 3-4
    assert list(res.values["N"].index.get_level_values("week")) == [3, 4]


def test_eq3_min_fte_and_fixed_cost_option_not_signed_when_uneconomic():
    # min_fte 3 at 20/FTE-week over 4 weeks = 240 plus fixed 500, to save
    # 10 tasks * 100 * 4 = 4000 -> signed (cost 740).
    c = dict(contract="C1", source="agency", min_fte=3, max_fte=10, cost_per_fte_week=20,
             fixed_cost=500)
    res = run(contract_only(4, c, [10] * 4))
    assert res.values["y"]["C1"] == 1
    assert res.objective == pytest.approx(740)
    assert vals(res.values["N"], "C1") == pytest.approx([3, 3, 3, 3])
    # fixed cost 5000 > lost value 4000 -> not signed, everything lost
    c["fixed_cost"] = 5000
    res = run(contract_only(4, c, [10] * 4))
    assert res.values["y"]["C1"] == 0
    assert res.objective == pytest.approx(4000)
    assert res.gap == pytest.approx(0, abs=1e-6)


def test_eq3_max_fte_caps_contract():
    # demand 90 tasks = 3 FTE, max_fte 2 -> 2 FTE at 20 + 30 lost tasks * 100, 1 week
    c = dict(contract="C1", source="agency", max_fte=2, cost_per_fte_week=20)
    res = run(contract_only(1, c, [90]))
    assert res.objective == pytest.approx(40 + 3000)


def test_eq5_contract_ramps():
    # max increase 1/week after start; demand 90 tasks (3 FTE) weeks 1-3, 0 in week 4;
    # mobilisation at start is free of the ramp, so: start at 3 in week 1.
    # With max_decrease 1: week 4 must keep >= 2 -> cost 20*(3+3+3+2)=220.
    c = dict(contract="C1", source="agency", max_fte=10, cost_per_fte_week=20,
             max_increase_per_week=1, max_decrease_per_week=1)
    res = run(contract_only(4, c, [90, 90, 90, 0]))
    assert vals(res.values["N"], "C1") == pytest.approx([3, 3, 3, 2])
    assert res.objective == pytest.approx(220)
    # demand rising 0, 90: the increase after start is limited to 1 per week:
    # N1 = 2 (start, anything), N2 <= N1 + 1. Best: N1=2,N2=3 (cost 100) vs lose.
    res = run(contract_only(2, dict(c, max_decrease_per_week=math.nan), [0, 90]))
    n = vals(res.values["N"], "C1")
    assert n[1] - n[0] <= 1 + 1e-9
    assert res.objective == pytest.approx(20 * 2 + 20 * 3)


# ---- eq 6-9: regional -----------------------------------------------------------
def test_eq7_recall_of_redeployed_staff_forces_exits():
    # availability 5,5,2,2; demand 150 tasks/week (= 5 FTE).
    # F = 5,5,2,2 (cost 10*14 = 140); weeks 3-4 lose 90 tasks each -> 18000.
    inp = simple(availability={("eho", "R1"): [5, 5, 2, 2]}, demand={("base", "R1"): [150] * 4})
    res = run(inp)
    assert res.objective == pytest.approx(18140)
    assert vals(res.values["F"], "eho", "R1") == pytest.approx([5, 5, 2, 2])
    assert vals(res.values["X"], "eho", "R1") == pytest.approx([0, 0, 3, 0])


def test_eq8_cohort_min_term_keeps_hires_after_demand_falls():
    # 1 FTE needed in week 1 only; min_term 3 keeps the cohort weeks 1-3: 3*10 = 30.
    src = dict(EHO, source="hire", kind="hire", min_term_weeks=3)
    inp = simple(sources=[src],
                 skills=[dict(source="hire", work_type="case", minutes_per_task=60)],
                 availability={("hire", "R1"): 10}, demand={("base", "R1"): [30, 0, 0, 0]})
    res = run(inp)
    assert res.objective == pytest.approx(30)
    assert vals(res.values["F"], "hire", "R1") == pytest.approx([1, 1, 1, 0])
    # without the term only week 1 is paid
    src["min_term_weeks"] = 0
    assert run(simple(sources=[src],
                      skills=[dict(source="hire", work_type="case", minutes_per_task=60)],
                      availability={("hire", "R1"): 10},
                      demand={("base", "R1"): [30, 0, 0, 0]})).objective == pytest.approx(10)


def test_eq6_lead_time_and_onboarding_cost():
    # lead 2: nothing before week 3; onboarding 5/FTE; demand 30/week, 4 weeks.
    # weeks 1-2 lost 6000; weeks 3-4: 1 FTE: 2*10 + 5 = 25.
    src = dict(EHO, lead_weeks=2, onboarding_cost=5)
    res = run(simple(sources=[src], demand={("base", "R1"): [30] * 4}))
    assert res.objective == pytest.approx(6025)
    assert vals(res.values["O"], "eho", "R1") == pytest.approx([0, 0, 1, 0])


def test_eq9_regional_ramp():
    # max 1 onboarded per week (per region); demand 60/week (2 FTE), 2 weeks.
    # F1 = 1 (lose 30), F2 = 2: cost 10*3 + 3000.
    src = dict(EHO, max_increase_per_week=1)
    res = run(simple(weeks=2, sources=[src], demand={("base", "R1"): [60, 60]}))
    assert res.objective == pytest.approx(3030)
    assert vals(res.values["O"], "eho", "R1") == pytest.approx([1, 1])


# ---- eq 10-11: hours ------------------------------------------------------------
def test_eq10_training_and_supervision_reduce_eho_casework_hours():
    # One week. 'red' (redeployed, cost 1, avail 1) needs 5 training hours per FTE
    # onboarded, taken from itself AND from its trainer eho, and 0.1 FTE of eho
    # supervision per FTE. Only eho does 'case' (60 min), only red does 'admin'
    # (60 min, value 100). Demand 30 case + 30 admin; eho avail 1 FTE = 30 h.
    # Onboarding x FTE of red: red works 30x - 5x = 25x admin tasks; eho loses
    # 5x + 0.1*30x = 8x hours of casework. x = 1 (worth it: saves 2500, loses 800):
    # case done 22 (lost 8*100), admin done 25 (lost 5*100):
    # cost = eho 10 + red 1 + 800 + 500 = 1311.
    red = dict(source="red", kind="redeployed", cost_per_fte_week=1, trainer="eho",
               training_hours=5, supervisor="eho", supervision_ratio=0.1)
    inp = make_inputs(
        weeks=1, regions=["R1"],
        work_types=[CASE, dict(work_type="admin", tasks_per_case=1, value_per_task=100)],
        sources=[EHO, red],
        skills=[dict(source="eho", work_type="case", minutes_per_task=60),
                dict(source="red", work_type="admin", minutes_per_task=60)],
        availability={("eho", "R1"): 1, ("red", "R1"): 1},
        demand={("base", "R1"): [30]},
    )
    res = run(inp)
    assert res.objective == pytest.approx(1311)
    a = res.values["A"]
    assert a[("eho", "R1", "case", 1, "base")] == pytest.approx(22)
    assert a[("red", "R1", "admin", 1, "base")] == pytest.approx(25)
    # one more eho productive hour = one more case task = 100 saved
    assert res.duals["hours"][("eho", "R1", 1, "base")] == pytest.approx(100)


def test_eq10_trainer_absent_from_region_blocks_onboarding():
    # red needs eho training, but eho has no availability in R1: red cannot be onboarded.
    red = dict(source="red", kind="redeployed", cost_per_fte_week=1, trainer="eho",
               training_hours=1)
    inp = simple(sources=[EHO, red],
                 skills=[dict(source="red", work_type="case", minutes_per_task=60)],
                 availability={("red", "R1"): 5}, demand={("base", "R1"): [30, 30]},
                 weeks=2)
    res = run(inp)
    assert res.objective == pytest.approx(6000)
    assert sum(vals(res.values["O"], "red")) == pytest.approx(0)


def test_eq11_contract_hours_serve_every_region():
    # one contract FTE (30 h) serves 15 tasks in each of two regions
    c = dict(contract="C1", source="agency", max_fte=10, cost_per_fte_week=20)
    inp = make_inputs(weeks=1, regions=["R1", "R2"], work_types=[CASE], sources=[AGENCY],
                      skills=[agency_skill()], contracts=[c],
                      demand={("base", "R1"): [15], ("base", "R2"): [15]})
    res = run(inp)
    assert res.objective == pytest.approx(20)
    assert res.duals["hours"][("C1", "", 1, "base")] == pytest.approx(20 / 30)


# ---- eq 12-13: demand -----------------------------------------------------------
def test_eq12_escalation_adds_handoff_hours_and_receiver_work():
    # call: 60 min, success 0.5, escalation 0.5, hand-off 30 min
    #   a = (60 + 30*0.5*0.5)/60 = 1.125 h; complex: 60 min, success 1.
    # 20 calls: 22.5 h; escalated 20*0.5*0.5 = 5 complex tasks: 5 h;
    # lost calls (1-p)(1-e) = 0.25 -> 5 tasks * 100 = 500.
    # hours 27.5 -> 27.5/30 FTE * 10 = 9.1667; total 509.1667.
    inp = make_inputs(
        weeks=1, regions=["R1"],
        work_types=[dict(work_type="call", tasks_per_case=1, value_per_task=100,
                         escalates_to="complex"),
                    dict(work_type="complex", tasks_per_case=0, value_per_task=100)],
        sources=[EHO],
        skills=[dict(source="eho", work_type="call", minutes_per_task=60, success_rate=0.5,
                     escalation_share=0.5, handoff_minutes=30),
                dict(source="eho", work_type="complex", minutes_per_task=60)],
        availability={("eho", "R1"): 10}, demand={("base", "R1"): [20]})
    res = run(inp)
    assert res.objective == pytest.approx(500 + 27.5 / 30 * 10)
    a = res.values["A"]
    assert a[("eho", "R1", "call", 1, "base")] == pytest.approx(20)
    assert a[("eho", "R1", "complex", 1, "base")] == pytest.approx(5)
    assert res.values["U"][("R1", "complex", 1, "base")] == pytest.approx(0)


def test_eq13_binding_completion_target():
    # tasks are worth 0 -> no reason to work, except min_completion_share 0.5
    # of 60 tasks: 30 done = 1 FTE = 10.
    inp = simple(weeks=1, work_types=[dict(CASE, value_per_task=0, min_completion_share=0.5)],
                 demand={("base", "R1"): [60]})
    res = run(inp)
    assert res.objective == pytest.approx(10)
    assert res.values["A"][("eho", "R1", "case", 1, "base")] == pytest.approx(30)


# ---- eq 14: non-anticipativity ------------------------------------------------------
def two_scenarios(reveal_week):
    return simple(scenarios=[("lo", 0.5), ("hi", 0.5)], reveal_week=reveal_week,
                  demand={("lo", "R1"): [30] * 4, ("hi", "R1"): [60] * 4})


def test_eq14_same_onboarding_before_reveal_and_different_after():
    # reveal week 3: weeks 1-2 staffing equal in both scenarios -> 2 FTE (hi need),
    # then lo 1, hi 2: 0.5*10*(2+2+1+1) + 0.5*10*8 = 70.
    res = run(two_scenarios(3))
    assert res.objective == pytest.approx(70)
    o = res.values["O"]
    assert o[("eho", "R1", 1, "lo")] == pytest.approx(o[("eho", "R1", 1, "hi")])
    assert o[("eho", "R1", 1, "hi")] == pytest.approx(2)
    f = res.values["F"]
    assert f[("eho", "R1", 3, "lo")] == pytest.approx(1)
    assert f[("eho", "R1", 3, "hi")] == pytest.approx(2)
    # known from week 1: 0.5*40 + 0.5*80 = 60
    assert run(two_scenarios(1)).objective == pytest.approx(60)


def test_duals_are_conditional_on_the_scenario():
    # scenario probabilities 0.25/0.75; one more hour in either scenario saves 10/30
    # of staff cost *given that scenario* (not weighted by its probability).
    inp = simple(weeks=1, scenarios=[("a", 0.25), ("b", 0.75)],
                 demand={("a", "R1"): [15], ("b", "R1"): [15]})
    res = run(inp)
    assert res.duals["hours"].to_numpy() == pytest.approx([10 / 30, 10 / 30])
    assert res.duals["demand"].to_numpy() == pytest.approx([10 / 30, 10 / 30])


# ---- infeasibility ---------------------------------------------------------------
def test_infeasible_completion_target_reported_with_family():
    # need 30 of 60 tasks done but only 0.5 FTE (15 tasks) available
    inp = simple(weeks=1, work_types=[dict(CASE, min_completion_share=0.5)],
                 availability={("eho", "R1"): 0.5}, demand={("base", "R1"): [60]})
    res = solve(build_model(inp))
    assert res.status == "infeasible"
    joined = " ".join(res.infeasible_families)
    assert "eq 13" in joined and "eq 7" in joined
    assert res.objective is None


def test_infeasible_cohort_versus_recall():
    # min_term 3 with availability dropping to 0 in week 2 and demand needing 1 FTE in
    # week 1 is still feasible (hire nobody); a completion target makes it infeasible.
    src = dict(EHO, min_term_weeks=3)
    inp = simple(sources=[src], work_types=[dict(CASE, min_completion_share=1)],
                 availability={("eho", "R1"): [1, 0, 0, 0]},
                 demand={("base", "R1"): [30, 0, 0, 0]})
    res = solve(build_model(inp))
    assert res.status == "infeasible"
    joined = " ".join(res.infeasible_families)
    assert "eq 8" in joined


def test_trivially_infeasible_target_without_any_unit():
    inp = simple(weeks=1, work_types=[dict(CASE, min_completion_share=0.5)],
                 availability={}, demand={("base", "R1"): [60]})
    res = solve(build_model(inp))
    assert res.status == "infeasible"
    assert any("eq 13" in f for f in res.infeasible_families)
