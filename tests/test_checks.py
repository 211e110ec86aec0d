"""Every audit check can fail: a failing fixture for each check in CHECKS.

Each fixture is either a hand-edited output table or the input tightened so
that the plan of the small example breaks the rule (formulation.md). A check
added to ``capacity.analysis.checks.CHECKS`` without a fixture here fails
``test_every_check_has_a_failing_fixture``.
"""

from __future__ import annotations

import dataclasses

import openpyxl
import pytest
from click.testing import CliRunner

from capacity import api
from capacity.analysis.checks import CHECKS, TOLERANCE, run_checks
from capacity.cli import main
from capacity.io.examples import small_tables
from capacity.io.workbook import write_input_workbook

#: every check function by name (checks are declared with their families)
FN = {check.fn.__name__: check.fn for check in CHECKS}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The small example planned once: (inputs, tables)."""
    folder = tmp_path_factory.mktemp("checks")
    inp = folder / "small.xlsx"
    write_input_workbook(inp, small_tables(), weeks=8)
    res = api.plan(inp, folder / "small-plan.xlsx")
    assert res.exit_code == 0 and (res.checks["result"] == "pass").all(), res.checks
    return res.inputs, res.tables.as_dict()


def _tables(base):
    return {k: v.copy() for k, v in base[1].items()}


def _with(inputs, **frames):
    return dataclasses.replace(inputs, **frames)


def _edit_input(sheet: str, key, column: str, value):
    """The input tightened: one cell of a keyed input frame changed."""
    def build(base):
        inputs, _ = base
        frame = getattr(inputs, sheet).copy()
        frame.loc[key, column] = value
        return _with(inputs, **{sheet: frame}), _tables(base)
    return build


def _scale_input(sheet: str, column: str, factor: float):
    def build(base):
        inputs, _ = base
        frame = getattr(inputs, sheet).copy()
        frame[column] = frame[column] * factor
        return _with(inputs, **{sheet: frame}), _tables(base)
    return build


def _settings(**changes):
    def build(base):
        inputs, _ = base
        return _with(inputs, settings=dataclasses.replace(inputs.settings, **changes)), _tables(base)
    return build


def _edit_table(table: str, column: str, change, **where):
    """A hand-edited output: `column` of the first scenario row matching `where` changed."""
    def build(base):
        inputs, _ = base
        t = _tables(base)
        df = t[table]
        mask = df["scenario"] != "expected" if "scenario" in df else df.index == df.index
        for k, v in where.items():
            mask &= df[k] == v
        row = df.index[mask][0]
        df.loc[row, column] = change(df.loc[row, column])
        return inputs, t
    return build


def _objective_edit(base):
    inputs, _ = base
    t = _tables(base)
    s = t["summary"]
    s.loc[s["key"] == "objective", "value"] = float(s.loc[s["key"] == "objective", "value"].iloc[0]) * 0.99
    return inputs, t


#: check function's name -> a builder of (inputs, tables) under which it must fail
FAILING = {
    "check_demand_recomputed": _scale_input("demand", "cases", 1.5),
    "check_demand_balance": _edit_table("coverage", "lost", lambda v: v + 10, week=4, region="north"),
    "check_completion_target": _edit_input("work_types", "contact_call", "min_completion_share", 0.99),
    "check_work_consistent": _edit_table("work", "completed", lambda v: v * 0.5, unit="eho"),
    "check_hours": _settings(productive_share=0.5),
    "check_availability": _scale_input("availability", "fte", 0.5),
    "check_contract_stock": _edit_table("plan", "onboarded", lambda v: v + 5, unit="callco_flex", week=4),
    "check_regional_stock": _edit_table("plan", "exits", lambda v: v + 1, unit="hire", week=6),
    "check_contract_window": _edit_input("contracts", "callco_flex", "end_week", 6),
    "check_contract_size": _edit_input("contracts", "callco_flex", "max_fte", 20),
    "check_block_lock_in": _edit_input("contracts", "callco_block", "committed_fte", 10),
    "check_contract_ramps": _edit_input("contracts", "callco_flex", "max_increase_per_week", 1),
    "check_regional_lead": _edit_input("sources", "redeployed", "lead_weeks", 2),
    "check_cohort_lock_in": _edit_input("sources", "redeployed", "min_term_weeks", 4),
    "check_regional_ramp": _edit_input("sources", "hire", "max_increase_per_week", 0.5),
    "check_non_anticipativity": _settings(reveal_week=8),
    "check_history": _edit_table("plan", "onboarded", lambda v: v - 1, unit="eho", region="north", week=1),
    "check_tail": _edit_table("risk", "excess_over_var", lambda v: v + 1000, scenario="high"),
    "check_objective": _objective_edit,
}


def test_every_check_has_a_failing_fixture():
    assert set(FN) == set(FAILING)
    assert len(FN) == len(CHECKS), "check functions are unique"


def test_every_check_names_an_equation(base):
    sheet = run_checks(*base)
    assert list(sheet["check"]) == [c.title for c in CHECKS]
    for row in sheet.itertuples():
        assert row.equation == "objective" or row.equation.startswith("eq "), row.check


@pytest.mark.parametrize("name", list(FAILING))
def test_check_fails_on_its_fixture(base, name):
    fn = FN[name]
    assert fn(*base).violation <= TOLERANCE  # the plan as solved passes
    inputs, tables = FAILING[name](base)
    worst = fn(inputs, tables)
    assert worst.violation > TOLERANCE and worst.where, worst
    check = next(c for c in CHECKS if c.fn is fn)
    row = run_checks(inputs, tables).set_index("check").loc[check.title]
    equation = "objective" if check.eq == "objective" else f"eq {check.eq}"
    assert (row["result"], row["equation"], row["where"]) == ("fail", equation, worst.where)


def test_input_cell_of_the_broken_limit_is_named(base):
    inputs, tables = FAILING["check_regional_ramp"](base)
    inputs = dataclasses.replace(inputs, origin=base[0].origin)
    assert "input=sources!H5" in FN["check_regional_ramp"](inputs, tables).where


# ---------------------------------------------------------------------------
# A contract named like its contractor source (issue 9, point 2)
# ---------------------------------------------------------------------------
def test_contract_named_like_its_source_takes_no_training_hours(tmp_path):
    tables = small_tables()
    tables["contracts"].loc[0, "contract"] = "callco"
    tables["sources"].loc[0, "training_hours"] = 4
    inp, out = tmp_path / "named.xlsx", tmp_path / "named-plan.xlsx"
    write_input_workbook(inp, tables, weeks=8)
    r = CliRunner().invoke(main, ["plan", str(inp), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "training_hours is ignored for contractor sources" in r.stderr
    book = openpyxl.load_workbook(out, read_only=True)
    checks = list(book["checks"].iter_rows(min_row=2, values_only=True))
    head = [c.value for c in next(book["checks"].iter_rows(max_row=1))]
    assert len(checks) == len(CHECKS)
    assert {row[head.index("result")] for row in checks} == {"pass"}
    # the case matters: the contract takes on staff, so training hours x onboarded would count
    plan = book["plan"]
    ph = [c.value for c in next(plan.iter_rows(max_row=1))]
    added = [row[ph.index("onboarded")] for row in plan.iter_rows(min_row=2, values_only=True)
             if row[ph.index("unit")] == "callco" and row[0] != "expected"]
    assert max(added) > 1
    assert CliRunner().invoke(main, ["audit", str(out), "--input", str(inp)]).exit_code == 0


# ---------------------------------------------------------------------------
# `capacity audit OUT --input IN2`, IN2 tightened so that the plan breaks one rule
# ---------------------------------------------------------------------------
def _plan_of(tmp, tables, name):
    inp, out = tmp / f"{name}.xlsx", tmp / f"{name}-plan.xlsx"
    write_input_workbook(inp, tables, weeks=8)
    assert api.plan(inp, out).exit_code == 0
    return inp, out


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit-rules")
    signed = small_tables()  # callco_block signed, 20 FTE pre-arranged for a 2-week term
    signed["contracts"].loc[1, ["status", "committed_fte", "min_term_weeks"]] = ["signed", 20, 2]
    return {"small": _plan_of(tmp, small_tables(), "small"), "signed": _plan_of(tmp, signed, "signed")}


RULES = [  # (plan, cell of IN2, value, check, equation)
    ("small", "contracts!E2", 6, "contract window and lead time", "eq 2"),      # end_week 8 -> 6
    ("signed", "contracts!L3", 4, "contract window and lead time", "eq 2"),     # lead_weeks 1 -> 4
    ("small", "contracts!I3", 10, "block lock-in at the committed level", "eq 4"),  # committed_fte
    ("small", "contracts!N2", 1, "contract ramps", "eq 5"),                     # max_increase 50 -> 1
    ("small", "sources!E4", 2, "regional lead time", "eq 6"),                   # redeployed lead 1 -> 2
    ("small", "sources!H5", 0.5, "regional ramp", "eq 9"),                      # hire max_increase 10 -> 0.5
]


@pytest.mark.parametrize("which, ref, value, check, equation", RULES, ids=[f"{r[4]}:{r[1]}" for r in RULES])
def test_audit_names_the_broken_rule(plans, tmp_path, which, ref, value, check, equation):
    inp, out = plans[which]
    book = openpyxl.load_workbook(inp)
    sheet, cell = ref.split("!")
    book[sheet][cell].value = value
    in2 = tmp_path / "in2.xlsx"
    book.save(in2)
    r = CliRunner().invoke(main, ["audit", str(out), "--input", str(in2)])
    assert r.exit_code == 5, r.output
    lines = r.stdout.splitlines()
    failing = [line for line in lines if line.strip().startswith("check '") and " fails: " in line]
    assert any(line.strip().startswith(f"check '{check}' ({equation}) fails") and line.endswith(f"input={ref}")
               for line in failing), r.stdout  # the rule, and the input cell that was tightened
    assert f"MISMATCH constraint checks ({len(failing)} of {len(CHECKS)} fail)" in r.stdout
