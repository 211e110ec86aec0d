"""The read_me_first sheet on hand-made cases whose answers are known, and the
glossary's coverage of every column of every tidy table.

Each case is built with tests/factory.py, written to a real input workbook
and read back (so that input cells have their addresses), then solved. With
the factory's defaults H = 37.5 x 0.8 = 30 productive hours per FTE-week and a
60-minute task that always succeeds, one FTE completes 30 tasks a week.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from capacity.analysis.checks import CHECK_COLUMNS, run_checks
from capacity.io.examples import WEEKS, small_tables
from capacity.io.validate import read_inputs
from capacity.io.workbook import write_input_workbook
from capacity.model import build_model
from capacity.model.solve import solve
from capacity.output import results
from capacity.output.bottlenecks import bottlenecks
from capacity.output.glossary import GLOSSARY, TERMS, header_note, term
from capacity.output.read_me_first import (ROUNDING_RULE, cost_table, money_formatter, read_me_first_sheet,
                                           whole_people)
from capacity.output.report import SheetSpec, write_report
from capacity.output.results import scenario_costs, tabulate
from factory import make_inputs

CASE = dict(work_types=[dict(work_type="case", tasks_per_case=1, value_per_task=100)])


def _native(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells as plain Python values (the workbook writer takes int/float/str/None)."""
    out = frame.astype(object).where(frame.notna(), None)
    return out.map(lambda v: v.item() if isinstance(v, np.generic) else v)


def _wide(long: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    return long.pivot_table(index=keys, columns="week", values=value, sort=False).reset_index()


def _via_workbook(tmp_path, inputs):
    """``inputs`` written as an input workbook and read back: the same figures, with their cells."""
    st = dataclasses.asdict(inputs.settings)
    st.pop("time_limit_s")
    tables = {"settings": st,
              "availability": _native(_wide(inputs.availability, ["source", "region"], "fte")),
              "demand": _native(_wide(inputs.demand, ["scenario", "region"], "cases"))}
    for name in ("regions", "scenarios", "work_types", "sources", "skills", "contracts"):
        tables[name] = _native(getattr(inputs, name).reset_index())
    path = tmp_path / "case.xlsx"
    write_input_workbook(path, tables, weeks=inputs.settings.weeks)
    return read_inputs(path)[0]


def _plan(tmp_path, **case):
    """(inputs, tables, checks) of a factory case, solved to optimality with every audit check passing."""
    inputs = _via_workbook(tmp_path, make_inputs(**case))
    built = build_model(inputs)
    result = solve(built)
    assert result.status == "optimal", result.status
    tables = tabulate(inputs, built, result)
    checks = run_checks(inputs, tables.as_dict())
    assert (checks["result"] == "pass").all(), checks
    return inputs, tables, checks


def _sheet(case):
    inputs, tables, checks = case
    return read_me_first_sheet(inputs, tables, checks)


def _section(sheet, number: int) -> list[str]:
    """The texts of the blocks under heading ``number.`` (up to the next heading)."""
    out, inside = [], False
    for b in sheet.blocks:
        if b.kind == "heading":
            inside = b.text.startswith(f"{number}.")
            continue
        if inside and b.kind in ("text", "bullet"):
            out.append(b.text)
    return out


def _one(lines: list[str], start: str) -> str:
    got = [x for x in lines if x.startswith(start)]
    assert len(got) == 1, (start, lines)
    return got[0]


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def test_whole_people_rounds_up_but_not_solver_noise():
    assert whole_people([0.0, 1e-9, 1.0000001, 4.2, 2.0, 12.71]).tolist() == [0, 0, 1, 5, 2, 13]
    assert "rounded up" in ROUNDING_RULE


def test_money_in_words_uses_the_currency():
    gbp, chf = money_formatter("GBP"), money_formatter("CHF")
    assert (gbp(1234.4), gbp(-5), gbp(-0.4), gbp(96.834, 2)) == ("£1,234", "-£5", "£0", "£96.83")
    assert chf(1234.4) == "1,234 CHF"


# --------------------------------------------------------------------------------------------------
# 1. what to sign
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def contracts_case(tmp_path_factory):
    """45 tasks a week for 4 weeks, contractor staff only (1.5 FTE a week needed):
    - block: an option locked for all 4 weeks at £5/FTE-week -> signed by the plan at L = 1.5;
    - pre: signed before the plan, 3 FTE committed for weeks 1-2 at £20/FTE-week;
    - spare: an option with a £1,000 fixed cost -> not signed."""
    return _plan(tmp_path_factory.mktemp("contracts"), weeks=4, regions=["R1"], **CASE,
                 sources=[dict(source="agency", kind="contractor")],
                 skills=[dict(source="agency", work_type="case", minutes_per_task=60, success_rate=1)],
                 demand={("base", "R1"): 45},
                 contracts=[dict(contract="block", source="agency", min_term_weeks=4, max_fte=100,
                                 cost_per_fte_week=5),
                            dict(contract="pre", source="agency", status="signed", committed_fte=3,
                                 min_term_weeks=2, max_fte=100, cost_per_fte_week=20),
                            dict(contract="spare", source="agency", max_fte=100, fixed_cost=1000,
                                 cost_per_fte_week=50)])


def test_contract_signed_by_the_plan_is_named_with_its_level_in_whole_fte(contracts_case):
    _, tables, _ = contracts_case
    assert tables.contracts.set_index("contract").at["block", "committed_fte"] == pytest.approx(1.5)
    line = _one(_section(_sheet(contracts_case), 1), "Sign block")
    assert ("Sign block (agency, signed by the plan): committed level 2 FTE (the plan's 1.50 rounded up) for "
            "its initial term, weeks 1–4") in line


def test_contract_signed_before_the_plan_keeps_its_agreed_level(contracts_case):
    line = _one(_section(_sheet(contracts_case), 1), "Already signed pre")
    assert ("Already signed pre (agency, signed before the plan): committed level 3 FTE as agreed for its "
            "initial term, weeks 1–2") in line


def test_unused_option_is_offered_not_signed(contracts_case):
    line = _one(_section(_sheet(contracts_case), 1), "spare")
    assert line.startswith("spare (agency): offered, not signed; the plan does not need it (fixed cost £1,000, "
                           "£50 per FTE-week)")


# --------------------------------------------------------------------------------------------------
# 2./3. this week, firm and contingent
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lead_case(tmp_path_factory):
    """Hires (lead time 2 weeks) only; 30 tasks a week in both scenarios until week 3, then 90 if high.
    reveal_week 2: the week-3 start (decided in week 1) is firm, 1 hire; the week-4 starts (decided in
    week 2) depend on the scenario: +2 if high."""
    return _plan(tmp_path_factory.mktemp("lead"), weeks=6, regions=["R1"], **CASE, reveal_week=2,
                 scenarios=[("low", 0.5), ("high", 0.5)],
                 sources=[dict(source="hire", kind="hire", cost_per_fte_week=10, lead_weeks=2)],
                 skills=[dict(source="hire", work_type="case", minutes_per_task=60, success_rate=1)],
                 availability={("hire", "R1"): 100},
                 demand={("low", "R1"): 30, ("high", "R1"): [30, 30, 30, 90, 90, 90]})


def test_this_weeks_decision_is_the_start_that_the_lead_time_forces_now(lead_case):
    lines = _section(_sheet(lead_case), 2)
    assert _one(lines, "R1:") == "R1: 1 hire starting week 3 (lead time 2 weeks)."
    assert "decided in week t - l" in lines[0] and ROUNDING_RULE in lines[0]


def test_contingent_starts_are_named_by_scenario(lead_case):
    lines = _section(_sheet(lead_case), 3)
    assert _one(lines, "If high:") == "If high: R1 hire +2 (week 4)."
    assert _one(lines, "If low:") == "If low: nothing beyond what every scenario does."


# --------------------------------------------------------------------------------------------------
# 4. cash apart from lost value; range and worst case
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cash_case(tmp_path_factory):
    """2 weeks, 40 tasks a week, 1 EHO available at £10/FTE-week: 30 done and 10 lost a week.
    Cash = 1 x 10 x 2 = £20; lost value = 10 x 100 x 2 = £2,000."""
    return _plan(tmp_path_factory.mktemp("cash"), weeks=2, regions=["R1"], **CASE,
                 sources=[dict(source="eho", kind="eho", cost_per_fte_week=10)],
                 skills=[dict(source="eho", work_type="case", minutes_per_task=60, success_rate=1)],
                 availability={("eho", "R1"): 1}, demand={("base", "R1"): 40})


def test_cash_and_lost_value_hand_computed(cash_case):
    lines = _section(_sheet(cash_case), 4)
    assert _one(lines, "Expected cash cost") == ("Expected cash cost: £20 = staff £20 (contracts £0, regional "
                                                 "staff £20) + onboarding £0 + fixed contract costs £0.")
    assert _one(lines, "Notional lost value").startswith("Notional lost value: £2,000 expected")
    assert "is £2,020 = cash £20 + lost value £2,000." in _one(lines, "The plan's objective")


def test_cost_table_adds_up_to_the_tables(cash_case, contracts_case):
    for inputs, tables, _ in (cash_case, contracts_case):
        sc = scenario_costs(inputs, tables.plan, tables.coverage, tables.contracts)
        e = cost_table(inputs, tables).set_index("scenario").loc[results.EXPECTED]
        pi = sc["probability"]
        summary = dict(zip(tables.summary["key"], tables.summary["value"]))
        assert e["cash"] == pytest.approx(float(((sc["total"] - sc["lost_value"]) * pi).sum()))
        assert e["cash"] == pytest.approx(summary["expected_staff_cost"] + summary["expected_onboarding_cost"]
                                          + summary["fixed_cost"])
        assert e["lost_value"] == pytest.approx(summary["expected_lost_value"])
        assert e["total"] == pytest.approx(summary["objective"])


@pytest.fixture(scope="module")
def worst_case(tmp_path_factory):
    """'surge' (listed second, probability 0.3) has 60 tasks a week against 1 EHO: the worst case."""
    return _plan(tmp_path_factory.mktemp("worst"), weeks=2, regions=["R1"], **CASE,
                 scenarios=[("calm", 0.7), ("surge", 0.3)],
                 sources=[dict(source="eho", kind="eho", cost_per_fte_week=10)],
                 skills=[dict(source="eho", work_type="case", minutes_per_task=60, success_rate=1)],
                 availability={("eho", "R1"): 1}, demand={("calm", "R1"): 10, ("surge", "R1"): 60})


def test_worst_scenario_is_named(worst_case):
    line = _one(_section(_sheet(worst_case), 4), "Across the scenarios")
    # calm: 1/3 FTE x £10 x 2 weeks; surge: 1 FTE x £10 x 2 = £20 cash + 30 lost x £100 x 2 = £6,000
    assert "the cash cost runs from £7 (calm) to £20 (surge)" in line
    assert "Worst case: surge, total £6,020 (cash £20 + lost value £6,000), 50% of tasks completed." in line


# --------------------------------------------------------------------------------------------------
# 5. bottlenecks
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def short_case(tmp_path_factory):
    """R1 has 60 tasks a week and 1 EHO available (its availability binds); R2 has 30 tasks and 10 EHOs."""
    return _plan(tmp_path_factory.mktemp("short"), weeks=4, regions=["R1", "R2"], **CASE,
                 sources=[dict(source="eho", kind="eho", cost_per_fte_week=10)],
                 skills=[dict(source="eho", work_type="case", minutes_per_task=60, success_rate=1)],
                 availability={("eho", "R1"): 1, ("eho", "R2"): 10},
                 demand={("base", "R1"): 60, ("base", "R2"): 30})


def test_bottleneck_names_the_region_and_its_availability_cells(short_case):
    lines = [x for x in _section(_sheet(short_case), 5) if x[:2] in ("1.", "2.")]
    assert len(lines) == 1 and "R2" not in lines[0].replace("R1 completes", ""), lines
    line = lines[0]
    assert line.startswith("1. R1, eho, weeks 1–4: every available eho is in post (1 FTE). An extra productive "
                           "hour is worth up to £100.00, against £0.33 an hour of pay.")
    # availability!C2:F2 = the eho/R1 row, weeks 1-4
    assert "Relieve by: availability (sheet availability): availability!C2:F2" in line
    assert "R1 completes 50% of its tasks in those weeks, against 100% in the other regions." in line
    # value: 4 weeks x (£100 an hour x 30 hours - £10 a week)
    assert line.endswith("Value £11,960.")


def test_issue_example_north_week_3_doubled(tmp_path):
    """The issue's case: north's week-3 cases doubled in the small example. The north EHOs (all 8 available in
    post) are named with what their hours go to, who they train and supervise, and their cells."""
    t = small_tables()
    d = t["demand"]
    d.loc[d["region"] == "north", 3] *= 2
    path = tmp_path / "north3.xlsx"
    write_input_workbook(path, t, weeks=WEEKS)
    inputs = read_inputs(path)[0]
    built = build_model(inputs)
    tables = tabulate(inputs, built, solve(built))
    found = bottlenecks(inputs, tables, money_formatter("GBP"))
    assert [b.value for b in found] == sorted((b.value for b in found), reverse=True)
    north = next(b for b in found if (b.region, b.unit) == ("north", "eho"))
    assert north.text.startswith("north, eho, ")
    for phrase in ("every available eho is in post (8 FTE)", "Their hours go to complex", "training",
                   "They train or supervise redeployed", "north completes", "availability!C2"):
        assert phrase in north.text, phrase
    assert north in found[:5]
    sheet = read_me_first_sheet(inputs, tables, run_checks(inputs, tables.as_dict()))
    assert any(x.startswith("north, eho, ", 3) for x in _section(sheet, 5))


# --------------------------------------------------------------------------------------------------
# 6. glossary and the sheet itself
# --------------------------------------------------------------------------------------------------
TABLE_OF = {"PLAN_COLUMNS": "plan", "WORK_COLUMNS": "work", "COVERAGE_COLUMNS": "coverage",
            "CONTRACT_COLUMNS": "contracts", "SHADOW_COLUMNS": "shadow_prices", "RISK_COLUMNS": "risk"}


def test_glossary_covers_every_column_of_every_tidy_table():
    """A column added to a results.py *_COLUMNS list (or a new list) without a glossary entry fails here."""
    lists = {name: getattr(results, name) for name in dir(results) if name.endswith("_COLUMNS")}
    assert set(lists) == set(TABLE_OF), "a new table: name its sheet in TABLE_OF and its columns in glossary.py"
    lists["CHECK_COLUMNS"] = CHECK_COLUMNS
    for name, columns in lists.items():
        table = TABLE_OF.get(name, "checks")
        missing = [c for c in columns if term(c) is None or table not in term(c).tables]
        assert not missing, f"{name}: no glossary entry for {missing}"


def test_glossary_covers_every_summary_key(cash_case, contracts_case):
    for _, tables, _ in (cash_case, contracts_case):
        missing = [k for k in tables.summary["key"] if term(k) is None or "summary" not in term(k).tables]
        assert not missing, missing


def test_header_notes_say_words_unit_and_formula():
    assert header_note("paid_hours") == "Paid hours [hours]: hours_per_fte_week x fte."
    assert header_note("cost", currency="GBP").startswith("Staff cost [GBP]: cost_per_fte_week x fte")
    assert "Unattempted tasks" in header_note("lost", "coverage") and "Unattempted" not in header_note("lost", "work")
    assert header_note("expected_cost:eho", currency="GBP").startswith("Expected cost of a kind of source [GBP]")
    assert header_note("no_such_column") == "" and term("no_such_column") is None
    assert len(GLOSSARY) == len(TERMS)


def test_sheet_lists_the_glossary_and_writes(tmp_path, short_case):
    inputs, tables, checks = short_case
    sheet = read_me_first_sheet(inputs, tables, checks)
    assert sheet.name == "read_me_first"
    glossary = _section(sheet, 6)
    assert any(x.startswith("Rows with scenario 'expected' are probability-weighted") for x in glossary)
    assert any(x.startswith("Shadow prices are conditional on the scenario") for x in glossary)
    assert sum(x.startswith("fte (plan): Headcount (FTE) [FTE].") for x in glossary) == 1
    status = sheet.blocks[2].text
    assert status.startswith("Solver status: optimal") and f"all {len(checks)} audit checks pass" in status
    assert "capacity explain OUT.xlsx SHEET!CELL" in status
    out = tmp_path / "rmf.xlsx"
    write_report(out, [sheet, SheetSpec("plan", tables.plan)], currency="GBP")
    assert out.stat().st_size > 0
