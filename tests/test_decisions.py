"""The decision views (capacity/output/decisions.py) on hand-made cases whose answers are known.

With the factory's defaults H = 37.5 x 0.8 = 30 productive hours per FTE-week and a 60-minute task that
always succeeds, one FTE completes 30 tasks a week: 45 tasks need 1.5 FTE (2 whole people), 120 need 4.
"""

from __future__ import annotations

import math

import numpy as np
import openpyxl
import pandas as pd
import pytest

from capacity.model import build_model
from capacity.model.solve import solve
from capacity.output.decisions import (FIRM, NATIONAL, SAME, TOTAL, decision_sheets, people_frame,
                                       rounding_costs, week_label)
from capacity.output.report import write_report
from capacity.output.results import EXPECTED, tabulate
from capacity.io.validate import read_inputs
from factory import make_inputs

CASE = dict(work_types=[dict(work_type="case", tasks_per_case=1, value_per_task=100)])


def _solved(inputs):
    built = build_model(inputs)
    result = solve(built)
    assert result.status == "optimal", result.status
    return inputs, tabulate(inputs, built, result)


def _hire_case(high_later: float = 120):
    """R1, one hire source (lead 1 week, notice 0, GBP 10 per FTE-week, onboarding GBP 4) and an eho source
    with nobody available; scenarios low/high (0.5 each), reveal_week 3, 6 weeks. 45 tasks a week in both
    scenarios in weeks 1-4; then 45 (low) or ``high_later`` (high). Week 1 cannot be staffed (lead time)."""
    return _solved(make_inputs(
        weeks=6, regions=["R1"], **CASE, reveal_week=3, scenarios=[("low", 0.5), ("high", 0.5)],
        sources=[dict(source="hire", kind="hire", cost_per_fte_week=10, onboarding_cost=4, lead_weeks=1),
                 dict(source="eho", kind="eho", cost_per_fte_week=10)],
        skills=[dict(source="hire", work_type="case", minutes_per_task=60),
                dict(source="eho", work_type="case", minutes_per_task=60)],
        availability={("hire", "R1"): 100, ("eho", "R1"): 0},
        demand={("low", "R1"): [45] * 6, ("high", "R1"): [45] * 4 + [high_later] * 2}))


@pytest.fixture(scope="module")
def hire_case():
    return _hire_case()


@pytest.fixture(scope="module")
def small_case(small_path):
    """The small example: 3 regions x 8 weeks, scenarios low/high, every kind of source, 2 contracts
    (options, lead 1 week, notice 1 and 2 weeks), reveal_week 3."""
    return _solved(read_inputs(small_path)[0])


def _sheet(case, name):
    sheets, _ = decision_sheets(*case)
    return next(s for s in sheets if s.name == name)


def _weeks(inputs):
    return [week_label(inputs, t) for t in inputs.weeks]


def _row(frame, inputs, **match) -> list:
    """The week cells of the one row matching ``match`` (column: value), None for a blank."""
    sel = np.ones(len(frame), dtype=bool)
    for col, value in match.items():
        sel &= (frame[col] == value).to_numpy()
    assert sel.sum() == 1, (match, sel.sum())
    return [None if pd.isna(v) else int(v) for v in frame.loc[sel, _weeks(inputs)].iloc[0]]


# --------------------------------------------------------------------------------------------------
# whole people add up, round up, and cost what they cost
# --------------------------------------------------------------------------------------------------
def _full_series(frame: pd.DataFrame, inputs, measure_col: str, ids: list[str]) -> dict:
    """{(ids..., scenario): {measure: [value per week]}}: each scenario's row filled in with the rows shown
    for all scenarios (firm, or decided later the same in each); asserts each week is shown exactly once."""
    weeks = _weeks(inputs)
    out = {}
    for key, g in frame.groupby(ids, sort=False):
        labels = set(g["Scenario"])
        own = [w for w in inputs.scenarios.index if w in labels] or [SAME if SAME in labels else FIRM]
        for w in own:
            rows = g[g["Scenario"].isin([w, FIRM, SAME])]
            series = {}
            for measure, m in rows.groupby(measure_col):
                cells = m[weeks].to_numpy(dtype=float)
                shown = ~np.isnan(cells)
                assert (shown.sum(axis=0) == 1).all(), (key, w, measure, cells)
                series[measure] = np.nansum(cells, axis=0)
            out[key + (w,)] = series
    return out


def test_whole_people_rows_add_up_in_integers_on_every_row(small_case):
    inputs, _ = small_case
    frame = _sheet(small_case, "decisions").frame
    full = _full_series(frame, inputs, "Measure (people)", ["Region", "Source"])
    assert len(full) == 18  # 3 regions x 3 regional sources x 2 scenarios (they differ)
    for key, s in full.items():
        post, start, leave = s["in post"], s["starting"], s["leaving"]
        assert (post == np.round(post)).all() and (post >= 0).all(), key
        prev = np.concatenate([[0.0], post[:-1]])
        assert (post == prev + start - leave).all(), key
        assert ((start == 0) | (leave == 0)).all(), key  # starters and leavers never in the same week


def test_rounding_up_is_never_below_the_fte_and_within_one_person(small_case):
    inputs, tables = small_case
    p = people_frame(inputs, tables.plan)
    assert len(p) == len(tables.plan[tables.plan["scenario"] != EXPECTED])
    assert (p["people"] >= p["fte"] - 1e-6).all()
    assert (p["people"] < p["fte"] + 1).all()
    assert (p["people"] > p["fte"]).any()  # the case does round something up


def test_rounding_cost_by_hand(hire_case):
    """People - FTE: 2 - 1.5 in weeks 2-4 in both scenarios, and in weeks 5-6 if low (high needs exactly 4).
    Staff: low 5 x 0.5 x 10 = 25, high 3 x 0.5 x 10 = 15, expected 20. Onboarding: low starts 2 people
    against 1.5 FTE (0.5 x 4 = 2), high 2 + 2 against 1.5 + 2.5 (0): expected 1."""
    inputs, _ = hire_case
    by = rounding_costs(inputs, people_frame(inputs, hire_case[1].plan)).set_index(["area", "scenario"])
    assert by.loc[("R1", "low"), "extra_staff"] == pytest.approx(25)
    assert by.loc[("R1", "high"), "extra_staff"] == pytest.approx(15)
    assert by.loc[("R1", "low"), "extra_onboarding"] == pytest.approx(2)
    assert by.loc[("R1", "high"), "extra_onboarding"] == pytest.approx(0)
    sheet = _sheet(hire_case, "rounding")
    rows = sheet.frame.set_index("Region")
    assert list(rows.index) == ["R1", TOTAL]
    assert rows.at["R1", "Extra staff cost (expected, GBP)"] == pytest.approx(20)
    assert rows.at["R1", "Cost of rounding (expected, GBP)"] == pytest.approx(21)
    assert rows.at["R1", "Cost of rounding if low (GBP)"] == pytest.approx(27)
    assert rows.at["R1", "Cost of rounding if high (GBP)"] == pytest.approx(15)
    assert rows.at[TOTAL, "Cost of rounding (expected, GBP)"] == pytest.approx(21)
    # FTE-weeks: low 5 x 1.5, high 3 x 1.5 + 2 x 4 -> expected 10; person-weeks low 10, high 14 -> 12
    assert rows.at["R1", "FTE-weeks in the plan (expected)"] == pytest.approx(10)
    assert rows.at["R1", "Person-weeks in whole people (expected)"] == pytest.approx(12)
    assert "rounded up" in sheet.note and "0.000001" in sheet.note


def test_rounding_cost_of_contracts_is_national_and_in_the_total(small_case):
    inputs, tables = small_case
    p = people_frame(inputs, tables.plan)
    by = rounding_costs(inputs, p).set_index(["area", "scenario"])
    c = p[p["contract"]]
    for w in inputs.scenarios.index:
        mine = c[c["scenario"] == w]
        hand = float(((mine["people"] - mine["fte"]) * mine["unit"].map(inputs.contracts["cost_per_fte_week"])).sum())
        assert by.loc[(NATIONAL, w), "extra_staff"] == pytest.approx(hand)
        parts = by.xs(w, level="scenario").drop(index=TOTAL)["extra"].sum()
        assert by.loc[(TOTAL, w), "extra"] == pytest.approx(parts)


# --------------------------------------------------------------------------------------------------
# firm and contingent
# --------------------------------------------------------------------------------------------------
def test_onboarding_decided_before_the_reveal_week_is_firm_and_shown_once(hire_case):
    """reveal_week 3, lead 1: starts in weeks 1-3 are decided in weeks 0-2, so firm; in post is firm in weeks
    1-2 only (a departure in week 3, notice 0, is decided in week 3)."""
    inputs, _ = hire_case
    sheet = _sheet(hire_case, "decisions")
    f = sheet.frame[sheet.frame["Source"] == "hire"]
    assert list(f["Scenario"].drop_duplicates()) == [FIRM, "low", "high"]
    ids = dict(Region="R1", Source="hire")
    assert _row(f, inputs, **ids, Scenario=FIRM, **{"Measure (people)": "starting"}) == [0, 2, 0, None, None, None]
    assert _row(f, inputs, **ids, Scenario=FIRM, **{"Measure (people)": "in post"}) == [0, 2, None, None, None, None]
    assert _row(f, inputs, **ids, Scenario="low", **{"Measure (people)": "in post"}) == [None, None, 2, 2, 2, 2]
    assert _row(f, inputs, **ids, Scenario="high", **{"Measure (people)": "in post"}) == [None, None, 2, 2, 4, 4]
    assert _row(f, inputs, **ids, Scenario="high", **{"Measure (people)": "starting"}) == [None] * 3 + [0, 2, 0]
    ahead = f.set_index(["Scenario", "Measure (people)"])["Decided (weeks ahead)"]
    assert ahead[(FIRM, "starting")] == 1 and ahead[(FIRM, "leaving")] == 0 and pd.isna(ahead[(FIRM, "in post")])
    assert sheet.filter == {"Region": "R1"} and sheet.freeze_cols == 6
    assert "wk 5 (2024-01-29)" in sheet.frame.columns


def test_a_scenario_that_needs_more_staff_later_is_contingent_in_words(hire_case):
    f = _sheet(hire_case, "contingent").frame
    assert len(f) == 1  # low keeps the firm level; only high changes
    r = f.iloc[0]
    assert (r["Region"], r["Source"], r["Scenario"], r["From week"], r["To week"]) == ("R1", "hire", "high", 5, 6)
    assert (r["Change in people"], r["In post (people)"], r["Firm level (people)"], r["Last firm week"]) == (2, 4, 2, 2)
    assert r["Sentence"] == ("if high: +2 hire in R1 from week 5 (2024-01-29) to week 6: 4 in post, against 2 in "
                             "week 2, the last firm week")


def test_a_plan_the_same_in_every_scenario_is_shown_once_and_nothing_is_contingent():
    case = _hire_case(high_later=45)
    f = _sheet(case, "decisions").frame
    assert set(f["Scenario"]) == {FIRM, SAME}
    assert _row(f, case[0], Region="R1", Scenario=SAME, **{"Measure (people)": "in post"}) == [None, None, 2, 2, 2, 2]
    assert _sheet(case, "contingent").frame.empty


def test_a_source_nobody_is_in_post_for_is_left_out(hire_case):
    assert "eho" not in set(_sheet(hire_case, "decisions").frame["Source"])


# --------------------------------------------------------------------------------------------------
# contracts
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def contracts_case():
    """45 tasks a week for 4 weeks, contractor staff only (1.5 FTE a week needed):
    block: an option locked for all 4 weeks at 5/FTE-week -> signed by the plan at L = 1.5;
    pre: signed before the plan, 3 FTE committed for weeks 1-2 at 20/FTE-week;
    spare: an option with a 1,000 fixed cost -> not signed."""
    return _solved(make_inputs(
        weeks=4, regions=["R1"], **CASE, sources=[dict(source="agency", kind="contractor")],
        skills=[dict(source="agency", work_type="case", minutes_per_task=60)],
        demand={("base", "R1"): 45},
        contracts=[dict(contract="block", source="agency", min_term_weeks=4, max_fte=100, cost_per_fte_week=5),
                   dict(contract="pre", source="agency", status="signed", committed_fte=3, min_term_weeks=2,
                        max_fte=100, cost_per_fte_week=20),
                   dict(contract="spare", source="agency", max_fte=100, fixed_cost=1000, cost_per_fte_week=50)]))


def test_contracts_by_week_has_one_status_word_per_contract_and_whole_fte(contracts_case):
    inputs, _ = contracts_case
    f = _sheet(contracts_case, "contracts_by_week").frame
    status = f.drop_duplicates("Contract").set_index("Contract")
    assert status["Status"].to_dict() == {"block": "signed by the plan", "pre": "signed before the plan",
                                          "spare": "offered, not signed"}
    assert status.at["block", "Committed level (whole FTE)"] == 2  # 1.5 rounded up
    assert status.at["pre", "Committed level (whole FTE)"] == 3
    assert pd.isna(status.at["spare", "Committed level (whole FTE)"])
    # one scenario, reveal_week 1: nothing is decided before the scenario is known
    assert _row(f, inputs, Contract="block", Scenario="base") == [2, 2, 2, 2]
    assert _row(f, inputs, Contract="pre", Scenario="base") == [3, 3, 0, 0]
    assert _row(f, inputs, Contract="spare", Scenario="base") == [0, 0, 0, 0]


def test_contract_rows_firm_before_the_reveal_week(small_case):
    """reveal_week 3, lead 1, notice 1 (callco_flex) or 2 (callco_block): in post is firm while t - 1 < 3 and
    t - notice < 3, weeks 1-3; the firm figures are every scenario's FTE rounded up."""
    inputs, tables = small_case
    f = _sheet(small_case, "contracts_by_week").frame
    plan = tables.plan[tables.plan["scenario"] != EXPECTED]
    for c in ("callco_flex", "callco_block"):
        firm = _row(f, inputs, Contract=c, Scenario=FIRM)
        assert [v is not None for v in firm] == [True] * 3 + [False] * 5
        for w in inputs.scenarios.index:
            fte = plan[(plan["unit"] == c) & (plan["scenario"] == w)].sort_values("week")["fte"].to_numpy()
            assert firm[:3] == [math.ceil(x - 1e-6) for x in fte[:3]]
        later = f[(f["Contract"] == c) & (f["Scenario"] != FIRM)][_weeks(inputs)]
        assert later.iloc[:, :3].isna().all().all() and later.iloc[:, 3:].notna().all().all()


# --------------------------------------------------------------------------------------------------
# charts and the written workbook
# --------------------------------------------------------------------------------------------------
def test_one_chart_per_kind_with_staff(small_case, hire_case):
    sheets, charts = decision_sheets(*small_case)
    plan = small_case[1].plan
    staffed = plan[(plan["scenario"] == EXPECTED) & (plan["fte"] > 1e-6)]["kind"]
    assert [c.title.split(":")[0] for c in charts] == [
        {"contractor": "Contractor staff", "eho": "Council EHOs", "redeployed": "Redeployed staff",
         "hire": "Direct hires"}[k] for k in ("contractor", "eho", "redeployed", "hire") if k in set(staffed)]
    assert all(c.sheet == "charts" and c.y_title == "FTE" and c.kind == "column_stacked" for c in charts)
    assert "charts" in [s.name for s in sheets]
    regional = [c for c in charts if not c.title.startswith("Contractor")]
    assert all(list(c.data.columns[1:]) == list(small_case[0].regions.index) for c in regional)
    _, hire_charts = decision_sheets(*hire_case)  # eho is a source there, but nobody is staffed
    assert [c.title for c in hire_charts] == ["Direct hires: expected FTE by region"]


def test_sheets_write_and_open_on_the_first_region(tmp_path, small_case):
    inputs, _ = small_case
    sheets, charts = decision_sheets(*small_case)
    path = tmp_path / "d.xlsx"
    write_report(path, sheets, charts=charts)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:5] == ["decisions", "contracts_by_week", "contingent", "rounding", "charts"]
    ws = book["decisions"]
    first = inputs.regions.index[0]
    shown = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1) if not ws.row_dimensions[r].hidden]
    assert shown and set(shown) == {first}
    assert ws.freeze_panes == "G2"  # the header row and the 6 id columns stay in view
    assert [c.value for c in ws[1][5:7]] == ["Decided (weeks ahead)", "wk 1 (2020-05-25)"]
    assert all(isinstance(c.value, int | float) or c.value is None for row in ws.iter_rows(min_row=2, min_col=7)
               for c in row)
