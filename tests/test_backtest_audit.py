"""`capacity audit` of a backtest workbook (capacity/analysis/audit/backtest_audit.py), on the small example
backtested with --realised high --every 2: a fresh workbook is verified (exit 0); a hand-edited cell of
comparison, weekly, steps, implemented or run is a difference naming that cell (exit 5); a changed input is
an SHA-256 mismatch; a workbook without its columns is a file error (exit 1); --report works; the forecast
re-weighting of the audit by hand on two scenarios."""

from __future__ import annotations

import math
import shutil
import sys
from unittest import mock

import openpyxl
import pytest
from click.testing import CliRunner

from capacity.analysis.audit import audit
from capacity.analysis.audit.backtest_audit import command_options, forecast_probabilities
from capacity.analysis.audit.read import workbook_kind
from capacity.cli import main
from capacity.io.examples import write_example
from factory import make_inputs

ARGS = ["--realised", "high", "--every", "2", "--workers", "2"]
CUR = "GBP"


@pytest.fixture(scope="module")
def backtested(tmp_path_factory):
    """(folder, input, backtest workbook) of the small example, as the command writes it."""
    d = tmp_path_factory.mktemp("bt_audit")
    inp = d / "small.xlsx"
    write_example("small", inp)
    out = d / "out.xlsx"
    argv = ["backtest", str(inp), *ARGS, "-o", str(out)]
    with mock.patch.object(sys, "argv", ["capacity", *argv]):   # the command line the run sheet records
        r = CliRunner().invoke(main, argv)
    assert r.exit_code == 0, r.output
    return d, inp, out


def _copy(backtested, tmp_path):
    """The input and the workbook copied to ``tmp_path`` (the audit finds the input beside the workbook)."""
    _, inp, out = backtested
    shutil.copy(inp, tmp_path / inp.name)
    return tmp_path / inp.name, tmp_path / out.name


def _edit(backtested, tmp_path, sheet, match, header, *, delta=None, value=None):
    """A copy of the backtest workbook with one cell changed: the first row of ``sheet`` whose cells under
    the headers of ``match`` hold its values, the column headed ``header``; returns (path, cell, old value)."""
    _, out = _copy(backtested, tmp_path)
    book = openpyxl.load_workbook(backtested[2])
    ws = book[sheet]
    head = [c.value for c in ws[1]]
    row = next(r for r in range(2, ws.max_row + 1)
               if all(ws.cell(r, head.index(h) + 1).value == v for h, v in match.items()))
    cell = ws.cell(row, head.index(header) + 1)
    old = cell.value
    cell.value = old + delta if delta is not None else value
    book.save(out)
    return out, f"{sheet}!{cell.coordinate}", old


def _audit(path, *extra):
    r = CliRunner().invoke(main, ["audit", str(path), *extra])
    return r.exit_code, r.output


def _mismatch_lines(output: str, cell: str) -> list[str]:
    return [ln.strip() for ln in output.splitlines() if ln.strip().startswith(f"{cell}:")]


# --------------------------------------------------------------------------
# A fresh workbook
# --------------------------------------------------------------------------

def test_a_fresh_backtest_workbook_is_verified(backtested):
    _, _, out = backtested
    assert workbook_kind(out) == "backtest"
    code, text = _audit(out)
    assert code == 0, text
    lines = text.strip().splitlines()
    assert lines[-1] == "verified"
    for start in ("read ", "input ", "options: --realised high --every 2 --forecast-sd 0.3", "implemented: ",
                  "weekly: ", "comparison: ", "steps: ", "invariants: ", "re-run: "):
        assert any(ln.startswith(start) for ln in lines), (start, text)
    # the re-run compared the cells of all four sheets: 3 + 6 + 24 + 264 rows, several columns each
    rerun = next(ln for ln in lines if ln.startswith("re-run: "))
    cells = int(rerun.split("; ")[1].split(" cells")[0].replace(",", ""))
    assert cells > 264 * 8


def test_the_result_records_the_steps_digests_and_tolerances(backtested):
    d, inp, out = backtested
    res = audit(out)
    assert res.exit_code == 0 and not res.mismatches
    assert [s.name for s in res.steps] == ["read", "input", "options", "implemented", "weekly", "comparison", "steps",
                                           "invariants", "re-run"]
    assert all(s.passed for s in res.steps)
    assert res.source.computed == res.source.recorded and len(res.source.recorded) == 64
    assert {t.name for t in res.tolerances} >= {"ARITH_REL_TOL", "PROB_TOL", "OBJ_TOL", "RERUN_REL_TOL"}
    # hindsight's realised cost against its re-run
    assert res.objective is not None and abs(res.objective.difference) <= res.objective.allowed
    book = openpyxl.load_workbook(out)
    ws = book["comparison"]
    head = [c.value for c in ws[1]]
    hind = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "hindsight")
    assert res.objective.reported == ws.cell(hind, head.index(f"realised cost incl. lost value ({CUR})") + 1).value


def test_report_file(backtested, tmp_path):
    _, out = _copy(backtested, tmp_path)
    shutil.copy(backtested[2], out)
    rep = tmp_path / "audit.md"
    code, text = _audit(out, "--report", str(rep))
    assert code == 0, text
    body = rep.read_text()
    assert "VERIFIED" in body and "RERUN_REL_TOL" in body and "re-run" in body
    assert "Objective reported in comparison!" in body
    xlsx = tmp_path / "audit.xlsx"
    assert _audit(out, "--report", str(xlsx))[0] == 0
    assert openpyxl.load_workbook(xlsx).sheetnames[:2] == ["read_me_first", "steps"]


# --------------------------------------------------------------------------
# Hand-edited cells
# --------------------------------------------------------------------------

def test_an_edited_comparison_cost_is_named(backtested, tmp_path):
    col = f"realised cost incl. lost value ({CUR})"
    out, cell, old = _edit(backtested, tmp_path, "comparison", {"policy": "rolling policy"}, col, delta=1000.0)
    rep = tmp_path / "audit.txt"
    code, text = _audit(out, "--report", str(rep))
    assert code == 5, text
    assert "NOT VERIFIED" in rep.read_text() and f"{cell}" in rep.read_text()
    assert any(ln.startswith("not verified: ") for ln in text.splitlines())
    found = _mismatch_lines(text, cell)
    # cash + lost value (the derived figure) and the re-run both give the old value
    assert any("realised cash cost + lost value gives" in ln for ln in found), text
    assert any("the re-run gives" in ln for ln in found), text
    assert any(f"{old:,.2f}" in ln for ln in found)
    # "more than hindsight" now disagrees with the edited total too; run!rolling:realised_cost with comparison
    assert "MISMATCH comparison" in text and "MISMATCH re-run" in text


def test_an_edited_weekly_cash_cost_is_named(backtested, tmp_path):
    out, cell, _ = _edit(backtested, tmp_path, "weekly", {"policy": "one-shot plan", "week": 3}, f"cash cost ({CUR})",
                         delta=-25.0)
    code, text = _audit(out)
    assert code == 5, text
    found = _mismatch_lines(text, cell)
    assert any("staff cost + onboarding + fixed contract costs gives" in ln for ln in found), text
    assert any("the re-run gives" in ln for ln in found), text
    # the comparison's cash cost of the one-shot plan is the sum of its weekly cash costs: now off by 25
    assert "MISMATCH comparison" in text and "the sum of its cash cost in sheet weekly" in text


def test_an_edited_step_objective_and_probability_are_named(backtested, tmp_path):
    head = openpyxl.load_workbook(backtested[2])["steps"][1]
    col = next(c.value for c in head if str(c.value).startswith("objective"))
    out, cell, _ = _edit(backtested, tmp_path, "steps", {"policy": "rolling policy", "step": 2}, col, delta=500.0)
    code, text = _audit(out)
    assert code == 5, text
    assert any("the re-run gives" in ln for ln in _mismatch_lines(text, cell)), text
    # a probability: the re-weighting from the input's cases, the sum to 1 and the re-run all disagree
    (tmp_path / "p").mkdir()
    out2, cell2, _ = _edit(backtested, tmp_path / "p", "steps", {"policy": "rolling policy", "step": 2},
                           "probability: low", value=0.5)
    code, text = _audit(out2)
    assert code == 5, text
    found = _mismatch_lines(text, cell2)
    assert any("the re-weighting of the input's cases before week 3" in ln for ln in found), text
    assert any("sum to 1.05" in ln for ln in found), text


def test_an_edited_implemented_fte_is_named(backtested, tmp_path):
    out, cell, old = _edit(backtested, tmp_path, "implemented",
                           {"policy": "hindsight", "week": 4, "region": "north", "unit": "eho"}, "FTE in post",
                           delta=1.0)
    code, text = _audit(out)
    assert code == 5, text
    assert any("the re-run gives" in ln for ln in _mismatch_lines(text, cell)), text
    # its cash cost no longer the input's 1,400 per FTE-week x FTE in post (a cell to its right)
    assert "the input's cost_per_fte_week x FTE in post + onboarding_cost x starters gives" in text
    # the weekly FTE of hindsight's week 4 is not the sum of implemented any more
    assert "MISMATCH weekly" in text and "the sum of sheet implemented's FTE in post of kind eho" in text


def test_an_edited_option_in_the_run_sheet_is_named(backtested, tmp_path):
    out, cell, _ = _edit(backtested, tmp_path, "run", {"key": "every_weeks"}, "value", value=3)
    code, text = _audit(out)
    assert code == 5, text
    found = _mismatch_lines(text, cell)
    assert any("the command line" in ln and "--every 2" in ln for ln in found), text
    # re-run with --every 3 as recorded: the rolling policy's plans are not at weeks 1, 4, 7
    assert "--every 3 implies weeks 1, 4, 7" in text


# --------------------------------------------------------------------------
# The input, unreadable workbooks, the other kinds
# --------------------------------------------------------------------------

def test_text_in_a_number_cell_is_named(backtested, tmp_path):
    out, cell, _ = _edit(backtested, tmp_path, "weekly", {"policy": "rolling policy", "week": 2}, "FTE: eho",
                         value="twenty-four")
    code, text = _audit(out)
    assert code == 5, text
    assert any("is 'twenty-four', but the sum of sheet implemented's FTE in post of kind eho gives 24" in ln
               for ln in _mismatch_lines(text, cell)), text


def test_a_changed_input_is_an_sha_mismatch(backtested, tmp_path):
    inp, out = _copy(backtested, tmp_path)
    shutil.copy(backtested[2], out)
    book = openpyxl.load_workbook(inp)
    ws = book["scenarios"]
    head = [c.value for c in ws[1]]
    ws.cell(2, head.index("description") + 1).value = "edited after the backtest"
    book.save(inp)
    code, text = _audit(out)
    assert code == 5, text
    assert "the input changed since the backtest was run" in text
    assert "MISMATCH input file" in text


def test_a_workbook_without_its_columns_is_unreadable(backtested, tmp_path):
    _, out = _copy(backtested, tmp_path)
    book = openpyxl.load_workbook(backtested[2])
    ws = book["steps"]
    head = [c.value for c in ws[1]]
    ws.cell(1, head.index("plan from week") + 1).value = "week"
    book.save(out)
    code, text = _audit(out)
    assert code == 1, text
    assert "sheet 'steps' has no column 'plan from week'" in text


def test_the_kinds_of_workbook(backtested, tmp_path):
    book = openpyxl.load_workbook(backtested[2])
    del book["implemented"]
    path = tmp_path / "no-implemented.xlsx"
    book.save(path)
    assert workbook_kind(path) == "plan"       # not every backtest sheet: the plan audit says it is no plan
    code, text = _audit(path)
    assert code == 1 and "not an output workbook of capacity plan" in text


def test_command_options():
    assert command_options("capacity backtest x.xlsx --realised high --every 2 --workers 2 -o out.xlsx") == \
        {"realised": "high", "every": 2, "exclude_realised": False, "sd": 0.3}
    assert command_options("capacity backtest 'a b.xlsx' --realised=observed --exclude-realised --forecast-sd 0.5") \
        == {"realised": "observed", "every": 1, "exclude_realised": True, "sd": 0.5}


def test_the_re_weighting_by_hand_on_two_scenarios():
    inp = make_inputs(
        weeks=3, regions=["R1", "R2"], reveal_week=2,
        work_types=[dict(work_type="case", tasks_per_case=1, value_per_task=100)],
        sources=[dict(source="eho", kind="eho", cost_per_fte_week=10)],
        skills=[dict(source="eho", work_type="case", minutes_per_task=60, success_rate=1)],
        availability={("eho", "R1"): 100, ("eho", "R2"): 100},
        scenarios=[("a", 0.6), ("b", 0.4)],
        demand={("a", "R1"): [10, 20, 30], ("a", "R2"): [0, 4, 8],
                ("b", "R1"): [5, 40, 60], ("b", "R2"): [2, 4, 1]})
    assert forecast_probabilities(inp, "a", 1, ["a", "b"], 0.3) == pytest.approx({"a": 0.6, "b": 0.4}, abs=1e-15)
    # T = 2, realised a, S = 1: b is off by ln(11/6) in R1 and ln(1/3) in R2 in week 1
    b = 0.4 * math.exp(-0.5 * (math.log(11 / 6) ** 2 + math.log(1 / 3) ** 2))
    got = forecast_probabilities(inp, "a", 2, ["a", "b"], 1.0)
    assert got["b"] == pytest.approx(b / (0.6 + b), rel=1e-12) and got["a"] + got["b"] == pytest.approx(1.0)
    # T = 3, S = 0.3: b's weight 8.8e-6 stays (>= one in a million); S = 0.2: below, left out, a alone
    assert forecast_probabilities(inp, "a", 3, ["a", "b"], 0.3)["b"] == pytest.approx(8.8183e-6, rel=1e-4)
    assert forecast_probabilities(inp, "a", 3, ["a", "b"], 0.2) == {"a": 1.0, "b": 0.0}
