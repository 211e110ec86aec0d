"""Infeasibility remedies: the levers a planner can pull, what each would take
(re-solved, exact to its step) and their ranking, on hand-made cases whose
answers are computed by hand.

Every case has one week and H = 37.5 h x 0.8 = 30 productive hours per FTE;
at 60 minutes a task and success rate 1, one FTE completes 30 tasks a week.
"""

from __future__ import annotations

import dataclasses

import pytest

from capacity.analysis import diagnose as D
from capacity.analysis.diagnose.levers import LOWER, RAISE, Lever, conflict_scope
from capacity.analysis.diagnose.remedies import change_text, grid, rank, remedy_lines
from capacity.io.inputs import Origin
from factory import make_inputs


def _case(mcs=0.8, eho=1.2, redeployed=1.0, demand=100, extra_work_type=None):
    """One region R1, one week, work type 'case' (target ``mcs``), eho and redeployed staff;
    ``extra_work_type``: the target of a second work type 'other' that only EHOs do."""
    wts = [dict(work_type="case", tasks_per_case=1, value_per_task=100, min_completion_share=mcs)]
    sk = [dict(source="eho", work_type="case", minutes_per_task=60, success_rate=1)]
    if extra_work_type is not None:
        wts.append(dict(work_type="other", tasks_per_case=1, value_per_task=100,
                        min_completion_share=extra_work_type))
        sk.append(dict(source="eho", work_type="other", minutes_per_task=60, success_rate=1))
    srcs = [dict(source="eho", kind="eho", cost_per_fte_week=10)]
    av = {("eho", "R1"): [eho]}
    if redeployed:
        srcs.append(dict(source="redeployed", kind="redeployed", cost_per_fte_week=5))
        sk.append(dict(source="redeployed", work_type="case", minutes_per_task=60, success_rate=1))
        av[("redeployed", "R1")] = [redeployed]
    inp = make_inputs(weeks=1, regions=["R1"], work_types=wts, sources=srcs, skills=sk, availability=av,
                      demand={("base", "R1"): [demand]})
    origin = Origin(rows={"work_types": {"case": 2, "other": 3}, "availability": {("eho", "R1"): 2,
                                                                                  ("redeployed", "R1"): 3}},
                    columns={"work_types": {"min_completion_share": "E"}, "availability": {1: "C"}})
    return dataclasses.replace(inp, origin=origin)


@pytest.fixture(scope="module")
def base():
    """The diagnosis of :func:`_case` (target 80%, eho 1.2 + redeployed 1.0 FTE, 100 tasks)."""
    return D.diagnose(_case())


def _by_kind(d, kind, subject_part=""):
    got = [r for r in d.remedies if r.lever.kind == kind and subject_part in r.lever.subject]
    assert len(got) == 1, [(r.lever.kind, r.lever.subject) for r in d.remedies]
    return got[0]


def test_target_remedy_is_the_largest_target_with_a_plan(base):
    """eho 1.2 FTE + redeployed 1.0 FTE complete at most 36 + 30 = 66 of 100 tasks: a target of at
    most 66% has a plan (80% has none)."""
    r = _by_kind(base, "target")
    assert r.status == D.FIXES
    assert r.needed == pytest.approx(0.66) and r.short == pytest.approx(0.661)
    assert r.lever.cells == ["work_types!E2"] and r.lever.current == [0.8]
    assert change_text(r) == ("lower the completion target for case work (work_types!E2) from 80% to at most 66%")
    assert r.size == pytest.approx((0.8 - 0.66) / 0.8)  # 17.5%
    assert r.solves + r.presolved > 2  # found by re-solving, not guessed


def test_availability_remedy_needs_the_hand_computed_fte(base):
    """80 tasks needed: eho must do 80 - 30 (redeployed) = 50 tasks = 1.667 FTE -> 1.7 at 0.1 FTE
    steps (1.6 FTE completes 78); redeployed must do 80 - 36 = 44 = 1.467 FTE -> 1.5."""
    eho, red = _by_kind(base, "availability", "eho"), _by_kind(base, "availability", "redeployed")
    assert (eho.needed, eho.short) == (pytest.approx(1.7), pytest.approx(1.6))
    assert (red.needed, red.short) == (pytest.approx(1.5), pytest.approx(1.4))
    assert eho.lever.cells == ["availability!C2"] and red.lever.cells == ["availability!C3"]
    assert "from 1.2 FTE to at least 1.7 FTE" in change_text(eho)


def test_ranking_target_first_when_it_is_the_smallest_change(base):
    # target 0.14/0.8 = 17.5%; eho 0.5/1.7 = 29.4%; redeployed 0.5/1.5 = 33.3%
    d = base
    fixes = [r for r in d.remedies if r.status == D.FIXES]
    assert [(r.lever.kind, r.lever.subject) for r in fixes] == [
        ("target", "the completion target for case work"), ("availability", "the availability of eho in region R1"),
        ("availability", "the availability of redeployed in region R1")]
    assert [round(r.size, 3) for r in fixes] == [0.175, 0.294, 0.333]
    # the stderr lines put them first, in that order
    assert d.lines[0].startswith("No plan is possible.")
    assert d.lines[1].startswith("  1. Lower the completion target for case work (work_types!E2) from 80% to "
                                 "at most 66%")
    assert d.lines[2].startswith("  2. Raise the availability of eho in region R1 in week 1 (availability!C2)")
    assert d.lines.index("Why:") > 3


def test_ranking_availability_first_when_two_targets_compete_for_the_same_staff():
    """Two work types of 100 tasks, targets 90% and 50%: 140 tasks, and 4.5 EHOs do 135.
    Availability: 140 / 30 = 4.67 -> 4.7 FTE (0.2 / 4.7 = 4.3%); the 90% target alone: 135 - 50
    = 85 -> 85% (0.05 / 0.9 = 5.6%); the 50% one: 135 - 90 = 45 -> 45% (10%). Capping every
    target at 85% is the same change as the first target's, so it is listed once."""
    inp = _case(eho=4.5, redeployed=0, extra_work_type=0.5, mcs=0.9)
    assert D.presolve_conflicts(inp) == []  # each target alone is reachable: only the solver sees it
    d = D.diagnose(inp)
    fixes = [r for r in d.remedies if r.status == D.FIXES]
    assert [(r.lever.kind, r.lever.cells) for r in fixes] == [
        ("availability", ["availability!C2"]), ("target", ["work_types!E2"]), ("target", ["work_types!E3"])]
    assert (fixes[0].needed, fixes[0].short) == (pytest.approx(4.7), pytest.approx(4.6))
    assert [r.needed for r in fixes[1:]] == [pytest.approx(0.85), pytest.approx(0.45)]
    assert [round(r.size, 4) for r in fixes] == [round(0.2 / 4.7, 4), round(0.05 / 0.9, 4), 0.1]
    assert "targets" not in [r.lever.kind for r in d.remedies]


def test_every_target_at_once_when_each_alone_is_not_enough():
    """Two work types of 100 tasks at 80% each (160) and 5 EHOs (150): one target alone must drop
    to 70% (12.5%); capping both at 75% needs (0.05 + 0.05) / 1.6 = 6.25%."""
    d = D.diagnose(_case(eho=5, redeployed=0, extra_work_type=0.8))
    best = d.remedies[0]
    assert best.lever.kind == "targets" and best.lever.cells == ["work_types!E2", "work_types!E3"]
    assert best.needed == pytest.approx(0.75) and best.size == pytest.approx(0.0625)
    assert change_text(best) == ("lower every completion target (work_types!E2, E3) from 80% to at most 75% each")
    assert [r.needed for r in d.remedies if r.lever.kind == "target"] == [pytest.approx(0.7)] * 2


def test_lead_time_remedy_in_whole_weeks():
    """Hires (lead 3 weeks) are the only staff; demand 30 tasks in week 3 with an 80% target: one
    hire in post by week 3 needs lead_weeks <= 2. The target would have to go to 0."""
    inp = make_inputs(weeks=3, regions=["R1"],
                      work_types=[dict(work_type="case", tasks_per_case=1, min_completion_share=0.8)],
                      sources=[dict(source="hire", kind="hire", lead_weeks=3)],
                      skills=[dict(source="hire", work_type="case", minutes_per_task=60)],
                      availability={("hire", "R1"): 5}, demand={("base", "R1"): [0, 0, 30]})
    d = D.diagnose(inp)
    lead = _by_kind(d, "lead_weeks")
    assert (lead.needed, lead.short) == (2, 3)
    assert change_text(lead).endswith("from 3 weeks to at most 2 weeks")
    target = _by_kind(d, "target")
    assert target.needed == 0 and "to 0%" in change_text(target)  # the limit: no "at most"
    assert [r.lever.kind for r in d.remedies][:2] == ["lead_weeks", "target"]  # 1/3 before 100%


def test_a_lever_that_cannot_fix_it_alone_says_so():
    """Hires succeed 50% of the time: no number of hires meets an 80% target."""
    inp = make_inputs(weeks=1, regions=["R1"],
                      work_types=[dict(work_type="case", tasks_per_case=1, min_completion_share=0.8)],
                      sources=[dict(source="hire", kind="hire")],
                      skills=[dict(source="hire", work_type="case", minutes_per_task=60, success_rate=0.5)],
                      availability={("hire", "R1"): 1}, demand={("base", "R1"): [10]})
    d = D.diagnose(inp)
    hire = _by_kind(d, "availability")
    assert hire.status == D.NOT_ENOUGH and hire.needed is None and hire.tried > 1
    assert _by_kind(d, "target").needed == pytest.approx(0.5)
    assert any(x.startswith("Not enough alone") and "the availability of hire" in x for x in d.lines)


def test_time_budget_leaves_levers_not_computed():
    d = D.diagnose(_case(), budget_s=0)
    assert {r.status for r in d.remedies} == {D.NOT_COMPUTED}
    assert "time budget" in d.remedies[0].note
    assert d.lines[0].startswith("No plan is possible, and no single change tried")


def test_grid_values_are_multiples_of_the_step():
    def lever(start, direction, step, limit):
        return Lever("x", "demand.completion", "x", ["s!A1"], [start], direction, "FTE", step, limit, None)

    n, value = grid(lever(2.25, RAISE, 0.1, 5.0))
    assert (value(0), value(1), value(n)) == (2.25, 2.3, 5.0)
    n, value = grid(lever(0.9, LOWER, 0.001, 0.0))
    assert (n, value(1), value(n)) == (900, 0.899, 0.0)
    n, value = grid(lever(3, LOWER, 1, 0))
    assert [value(i) for i in range(n + 1)] == [3, 2, 1, 0]


def test_rank_orders_fixes_by_relative_change_then_the_rest():
    def remedy(kind, cur, needed, status=D.FIXES):
        lv = Lever(kind, "demand.completion", kind, ["s!A1"], [cur], RAISE, "FTE", 0.1, 100.0, None)
        return D.Remedy(lv, status, needed=needed)

    a, b, c, e = remedy("a", 10, 20), remedy("b", 10, 11), remedy("c", 0, 3), remedy("e", 1, None, D.NOT_ENOUGH)
    assert [r.lever.kind for r in rank([e, c, a, b])] == ["b", "a", "c", "e"]
    assert (a.size, b.size, c.size) == (0.5, pytest.approx(1 / 11), 1.0)


def test_scope_comes_from_the_diagnosis_rows():
    inp = _case(extra_work_type=0.8)
    d = D.diagnose(inp, remedies=False)
    scope = conflict_scope(inp, d.table)
    assert scope.weeks == {"R1": [1]}
    assert set(scope.targeted) == {"case", "other"}
    assert remedy_lines([]) == ["No plan is possible, and no single change tried makes one possible: several "
                                "inputs must change together (see the explanation below)."]


def test_several_regions_short_scale_one_source_everywhere():
    """Two regions, each 100 tasks with an 80% target and 2 EHOs (60 tasks): EHO availability x 80/60
    = 1.333 everywhere -> +34% at 1% steps (+33% gives 79.8); one region alone is not enough. The
    target would go to 60% (25% change) against 0.34 / 1.34 = 25.4%."""
    inp = make_inputs(weeks=1, regions=["R1", "R2"],
                      work_types=[dict(work_type="case", tasks_per_case=1, min_completion_share=0.8)],
                      sources=[dict(source="eho", kind="eho")],
                      skills=[dict(source="eho", work_type="case", minutes_per_task=60)],
                      availability={("eho", "R1"): 2, ("eho", "R2"): 2},
                      demand={("base", "R1"): [100], ("base", "R2"): [100]})
    d = D.diagnose(inp)
    kinds = [(r.lever.kind, r.status) for r in d.remedies]
    assert kinds == [("target", D.FIXES), ("availability_scale", D.FIXES), ("availability", D.NOT_ENOUGH),
                     ("availability", D.NOT_ENOUGH)]
    scale = d.remedies[1]
    assert (scale.needed, scale.short) == (pytest.approx(1.34), pytest.approx(1.33))
    assert scale.size == pytest.approx(0.34 / 1.34)
    assert change_text(scale).endswith("by at least 34% (now 2 FTE)")
    assert d.remedies[0].needed == pytest.approx(0.6)


def _contract_case(weeks, max_fte, end_week):
    """Only a contractor (agency, 60 min, success 1) can do the work: 50 tasks a week, 80% target."""
    inp = make_inputs(weeks=weeks, regions=["R1"],
                      work_types=[dict(work_type="case", tasks_per_case=1, min_completion_share=0.8)],
                      sources=[dict(source="agency", kind="contractor")],
                      skills=[dict(source="agency", work_type="case", minutes_per_task=60)],
                      contracts=[dict(contract="C1", source="agency", max_fte=max_fte, end_week=end_week)],
                      demand={("base", "R1"): [50] * weeks})
    origin = Origin(rows={"contracts": {"C1": 2}}, columns={"contracts": {"end_week": "E", "max_fte": "H"}})
    return dataclasses.replace(inp, origin=origin)


def test_contract_size_remedy():
    """40 tasks needed, 1 FTE does 30: max_fte 40 / 30 = 1.33 -> at least 1.4 FTE (0.4 / 1.4)."""
    d = D.diagnose(_contract_case(weeks=1, max_fte=1, end_week=1))
    size = _by_kind(d, "max_fte")
    assert (size.needed, size.short) == (pytest.approx(1.4), pytest.approx(1.3))
    assert change_text(size) == "raise the size of contract C1 (contracts!H2) from 1 FTE to at least 1.4 FTE"
    assert [r.lever.kind for r in d.remedies if r.status == D.FIXES] == ["target", "max_fte"]  # 25% < 28.6%


def test_contract_end_week_remedy():
    """2 FTE (60 tasks) are enough, but the contract ends in week 1: extend it to week 2 (50%),
    before the target, which would have to go to 0 (100%)."""
    d = D.diagnose(_contract_case(weeks=2, max_fte=2, end_week=1))
    end = _by_kind(d, "end_week")
    assert (end.needed, end.short) == (2, 1)
    assert change_text(end) == "extend the end of contract C1 (contracts!E2) from week 1 to week 2"
    assert _by_kind(d, "max_fte").status == D.NOT_ENOUGH
    assert [r.lever.kind for r in d.remedies if r.status == D.FIXES] == ["end_week", "target"]
