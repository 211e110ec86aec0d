"""Bad input never becomes a silent default or a wrong plan (issue 10).

Excel error values and NaN are refused by cell; odd but valid input plans;
values beyond what HiGHS solves reliably are refused by cell; a solution that
relies on the solver's tolerances, or fails its own checks, is never written
as a plan; the audit verifies shadow prices.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from capacity import api
from capacity.cli import main
from capacity.io.errors import ERROR, Issue, one_line
from capacity.io.reader import ERROR_CODES
from capacity.io.validate import read_inputs, validate_raw
from conftest import edit

SMALL_OBJECTIVE = 663_205.93


def _errors(raw) -> list[str]:
    inputs, issues = validate_raw(raw)
    errors = [str(i) for i in issues if i.level == ERROR]
    assert (inputs is None) == bool(errors)
    return errors


def _book_with(small_path, tmp_path, edits: dict, name="in.xlsx") -> Path:
    """The small example with cells set by openpyxl (sheet!CELL -> value)."""
    book = openpyxl.load_workbook(small_path)
    for ref, value in edits.items():
        sheet, cell = ref.split("!")
        book[sheet][cell] = value
    path = tmp_path / name
    book.save(path)
    return path


def _run(*args, cwd: Path) -> tuple[int, str]:
    import os

    old = os.getcwd()
    os.chdir(cwd)
    try:
        res = CliRunner().invoke(main, [str(a) for a in args])
    finally:
        os.chdir(old)
    out = res.stdout + res.stderr
    assert "Traceback" not in out and "internal error" not in out, out
    return res.exit_code, out


# ----------------------------------------------------------------- error values and NaN
@pytest.mark.parametrize("code", ERROR_CODES[:10])
@pytest.mark.parametrize("ref", ["availability!E3", "sources!H5", "contracts!E2", "demand!D3"])
def test_every_error_value_in_any_cell_is_refused_by_cell(small_path, tmp_path, code, ref):
    """openpyxl writes the first seven as error cells (t="e"), the rest as text: both are refused."""
    path = _book_with(small_path, tmp_path, {ref: code})
    code_out, out = _run("plan", path, "-o", tmp_path / "out.xlsx", cwd=tmp_path)
    assert code_out == 1
    assert f"{ref}: " in out and f"got {code} (an Excel error value)" in out
    assert "is required" not in out  # a #REF! in a required cell is named as such
    assert "nothing written." in out and not (tmp_path / "out.xlsx").exists()


def test_nan_in_a_raw_cell_is_not_blank(small_raw):
    errors = _errors(edit(small_raw, "contracts!N2", float("nan")))
    assert errors == ["contracts!N2: max_increase_per_week must be a number >= 0, got NaN (not a number)"]


def test_error_values_in_headers_and_setting_keys_are_refused(small_raw):
    from capacity.io.reader import CellError

    edit(small_raw, "regions!B1", CellError("#REF!"))
    edit(small_raw, "settings!A8", CellError("#N/A"))
    errors = _errors(small_raw)
    assert "regions!B1: column header must be a column name, got #REF! (an Excel error value); fix the formula " \
           "or the cell" in errors
    assert any(e.startswith("settings!A8: key must be a setting name, got #N/A") for e in errors)


def test_text_of_excel_length_is_refused_so_ids_cut_there_are_not_duplicates(small_raw):
    long_a, long_b = "r" * 32_767 + "a", "r" * 32_767 + "b"
    edit(small_raw, "regions!A2", long_a)
    edit(small_raw, "regions!A3", long_b)
    errors = _errors(small_raw)
    assert any(e.startswith("regions!A2: region must be text, got text of 32,768 characters") for e in errors)
    assert any(e.startswith("regions!A3: region must be text, got text of 32,768 characters") for e in errors)
    assert not any("duplicate" in e for e in errors)


# ----------------------------------------------------------------- odd but valid input plans
def test_currency_symbol_is_a_label_and_plans(small_path, tmp_path):
    path = _book_with(small_path, tmp_path, {"settings!B7": "£"})
    code, out = _run("plan", path, "-o", tmp_path / "out.xlsx", cwd=tmp_path)
    assert code == 0, out
    assert re.search(r"^objective \(expected cost\) +£ 663,206$", out, re.M), out
    ws = openpyxl.load_workbook(tmp_path / "out.xlsx")["contracts"]
    money = [c.number_format for c in ws[2] if "£" in (c.number_format or "")]
    assert money and all(f == '#,##0 "£"' for f in money)


def test_zero_demand_plans_to_staff_nobody(small_path, tmp_path):
    book = openpyxl.load_workbook(small_path)
    for row in book["demand"].iter_rows(min_row=2, min_col=3):
        for c in row:
            c.value = 0
    book["history"].delete_rows(2, book["history"].max_row)   # nobody in post at the start either
    book.save(tmp_path / "zero.xlsx")
    code, out = _run("plan", tmp_path / "zero.xlsx", "-o", tmp_path / "cli.xlsx", cwd=tmp_path)
    assert code == 0, out
    assert re.search(r"^staffing +nobody \(no FTE in any week or scenario\)$", out, re.M), out
    res = api.plan(tmp_path / "zero.xlsx", tmp_path / "out.xlsx")
    assert res.exit_code == 0 and res.status == "optimal"
    assert res.solve.objective == pytest.approx(0.0, abs=1e-6)
    assert res.tables.plan["fte"].abs().max() == pytest.approx(0.0, abs=1e-9)
    charts = openpyxl.load_workbook(tmp_path / "out.xlsx")["summary"]._charts
    assert len(charts) == 2  # FTE and cost; completion share is undefined without demand


def test_superscript_week_header_is_refused_by_cell(small_raw):
    errors = _errors(edit(small_raw, "demand!K1", "²"))
    assert errors == ["demand!K1: week column heading '²' must be a week number written with the digits 0-9"]


@pytest.mark.parametrize("start,ok", [(dt.datetime(9999, 12, 20), False), (dt.datetime(9999, 11, 1), True),
                                      (dt.datetime(9999, 11, 8), False)])
def test_horizon_must_fit_excel_dates(small_raw, start, ok):
    errors = _errors(edit(small_raw, "settings!B2", start))
    if ok:  # 9999-11-01 + 8 weeks - 1 day = 9999-12-26
        assert errors == []
    else:
        assert len(errors) == 1 and errors[0].startswith(f"settings!B2: start_date {start.date().isoformat()}: "
                                                         "the 8 weeks from it must lie within Excel's dates")


@pytest.mark.parametrize("command", ["plan", "compare"])
def test_a_file_named_outputs_is_a_path_error_before_any_solve(small_path, tmp_path, command):
    shutil.copy(small_path, tmp_path / "small.xlsx")
    (tmp_path / "outputs").write_text("not a folder")
    code, out = _run(command, "small.xlsx", cwd=tmp_path)
    assert code == 1
    assert out.splitlines()[-2].startswith("outputs: is a file, not a folder")
    assert "solving" not in out and (tmp_path / "outputs").read_text() == "not a folder"


def test_a_newline_in_a_path_stays_on_one_line(small_path, tmp_path):
    weird = tmp_path / "two\nlines.xlsx"
    weird.write_bytes(b"not a workbook")
    code, out = _run("validate", weird, cwd=tmp_path)
    assert code == 1
    assert "two\\nlines.xlsx" in out
    assert all("lines.xlsx" not in line or "two\\n" in line for line in out.splitlines())
    assert str(Issue("", "", "a\nb\x1bc")) == "a\\nb\\x1bc" == one_line("a\nb\x1bc")


def test_compare_does_not_call_its_experiments_sheet_ignored(small_path, tmp_path):
    from capacity.analysis import compare as C

    book = openpyxl.load_workbook(small_path)
    ws = book.create_sheet("experiments")
    ws.append(["variant", "sheet", "id", "column", "value"])
    ws.append(["short_term", "contracts", "callco_block", "min_term_weeks", 2])
    book.save(tmp_path / "exp.xlsx")
    res = C.compare(tmp_path / "exp.xlsx", tmp_path / "cmp.xlsx", workers=1, flex=False, stochastic=False)
    assert res.exit_code == 0, res.message
    assert "short_term" in set(res.comparison["variant"] if "variant" in res.comparison else
                               res.comparison.iloc[:, 0])
    assert "experiments" not in (res.message or "")
    _, issues = validate_raw(__import__("capacity.io.reader", fromlist=["x"]).read_workbook(tmp_path / "exp.xlsx"))
    assert not any(i.sheet == "experiments" for i in issues)  # workbook.md: the tool's own sheets never warn


@pytest.mark.parametrize("sheet", ["README", "experiments", "history", "replan_changes"])
def test_the_tools_own_sheets_are_not_unknown(small_path, tmp_path, sheet):
    book = openpyxl.load_workbook(small_path)
    if sheet not in book.sheetnames:
        book.create_sheet(sheet)["A1"] = "anything"
    book.create_sheet("notes")["A1"] = "a planner's own sheet"
    book.save(tmp_path / "own.xlsx")
    code, out = _run("plan", tmp_path / "own.xlsx", "-o", tmp_path / "out.xlsx", cwd=tmp_path)
    assert code == 0, out
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: notes!A1: unknown sheet 'notes' ignored"], out  # README etc. never warn


# ----------------------------------------------------------------- numeric range
@pytest.mark.parametrize("ref,value,expected", [
    ("contracts!H2", 1e8, "contracts!H2: max_fte must be at most 1,000,000, got 100000000: values beyond "
                          "these limits cannot be solved reliably"),
    ("contracts!H2", 1e15, "contracts!H2: max_fte must be at most 1,000,000, got 1000000000000000"),
    ("work_types!C2", 1e25, "work_types!C2: value_per_task must be at most 10,000,000, got 1e+25"),
    ("skills!C3", 1e-9, "skills!C3: minutes_per_task must be at least 0.01 and at most 100,000, got 1e-09"),
    ("sources!E3", 1e300, "sources!E3: lead_weeks must be at most 520"),
])
def test_values_beyond_the_solvable_range_are_refused_by_cell(small_raw, ref, value, expected):
    errors = _errors(edit(small_raw, ref, value))
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_unusual_but_solvable_values_are_warned_about_by_cell(small_raw):
    inputs, issues = validate_raw(edit(small_raw, "contracts!H2", 500_000))
    assert inputs is not None
    assert "warning: contracts!H2: max_fte 500000 is unusually large (above 100,000); check it" in map(str, issues)


def test_cost_magnitude_is_refused_at_its_largest_part(small_raw):
    edit(small_raw, "work_types!C2", 1e7)
    edit(small_raw, "work_types!B2", 1e4)
    errors = _errors(small_raw)
    assert len(errors) == 1 and errors[0].startswith("work_types!C2: costs too large to solve reliably")


def test_max_fte_at_the_limit_gives_the_right_optimum(small_path, tmp_path):
    path = _book_with(small_path, tmp_path, {"contracts!H2": 1e6, "contracts!H3": 1e6})
    res = api.plan(path, tmp_path / "out.xlsx")
    assert res.exit_code == 0 and res.status == "optimal"
    assert res.solve.objective == pytest.approx(SMALL_OBJECTIVE, abs=1.0)


@pytest.mark.parametrize("max_fte", [1e8, 1e15])
def test_past_validation_a_wrong_solution_is_never_a_plan(small_path, max_fte):
    """Past validation (inputs edited in Python), a huge max_fte lets HiGHS staff
    an unsigned contract within its integrality tolerance (1e8) or lose the
    model in its scaling (1e15): the solve is refused, or the plan's own checks
    fail (and `plan` then writes nothing, see below)."""
    from capacity.analysis.checks import run_checks
    from capacity.model import build_model
    from capacity.output.results import tabulate
    from capacity.model.solve import solve

    inputs, _ = read_inputs(small_path)
    inputs.contracts["max_fte"] = max_fte
    built = build_model(inputs)
    res = solve(built)
    if max_fte == 1e8:
        assert res.status == "error" and "unreliable solution" in res.termination
        assert api.STATUS_EXIT[res.status] == 4
    if res.status in ("optimal", "feasible") and abs(res.objective - SMALL_OBJECTIVE) > 1.0:
        checks = run_checks(inputs, tabulate(inputs, built, res).as_dict())
        assert (checks["result"] != "pass").any()


def test_failed_checks_write_no_plan(small_path, tmp_path, monkeypatch):
    import capacity.analysis.checks as checks

    real = checks.run_checks

    def failing(inputs, tables):
        out = real(inputs, tables)
        out.loc[0, "result"] = "fail"
        out.loc[0, "largest_violation"] = 38.1
        return out

    monkeypatch.setattr(checks, "run_checks", failing)
    code, out = _run("plan", small_path, "-o", tmp_path / "out.xlsx", cwd=tmp_path)
    assert code == 4
    assert "audit checks failed" in out and "no workbook was written" in out
    assert "status" not in out.split("audit checks failed")[0].splitlines()[-1]
    assert "objective (expected cost)" not in out  # a wrong figure is not printed as a plan
    assert not (tmp_path / "out.xlsx").exists() and list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------- audit of shadow prices
@pytest.fixture(scope="module")
def small_plan(tmp_path_factory):
    from capacity.io.examples import write_example

    folder = tmp_path_factory.mktemp("shadow")
    inp, out = folder / "small.xlsx", folder / "small-plan.xlsx"
    write_example("small", inp)
    assert api.plan(inp, out).exit_code == 0
    return inp, out


def _audit_edited(small_plan, tmp_path, sheet, column, row, value):
    from capacity.analysis.audit import audit

    inp, out = small_plan
    copy = tmp_path / "small-plan.xlsx"
    shutil.copy(out, copy)
    book = openpyxl.load_workbook(copy)
    ws = book[sheet]
    col = [c.value for c in ws[1]].index(column) + 1
    ws.cell(row=row, column=col, value=value(ws.cell(row=row, column=col).value))
    book.save(copy)
    return audit(copy, inp)


def test_audit_verifies_untouched_shadow_prices(small_plan):
    from capacity.analysis.audit import audit

    res = audit(small_plan[1], small_plan[0])
    assert res.exit_code == 0, res.lines
    assert any(line.startswith("shadow prices: ") and "equal the re-solve's duals" in line for line in res.lines)
    assert res.lines[-1] == "verified"


def test_audit_catches_a_doubled_shadow_price(small_plan, tmp_path):
    res = _audit_edited(small_plan, tmp_path, "shadow_prices", "value", 3, lambda v: 2 * v)
    assert res.exit_code == 5
    line = next(m for m in res.mismatches if m.startswith("shadow_prices!G3: "))
    assert "but the re-solve's LP gives" in line and "\n" not in line


def test_audit_catches_a_made_up_lock_in_shadow_price(small_plan, tmp_path):
    res = _audit_edited(small_plan, tmp_path, "contracts", "lock_in_shadow_price", 2, lambda v: 123456)
    assert res.exit_code == 5
    assert any(m.startswith("contracts!K2: lock_in_shadow_price of 'callco_flex' is 123,456") for m in res.mismatches)


def test_audit_of_the_england_example_verifies_its_shadow_prices(tmp_path):
    """The national example has thousands of duals; non-uniqueness must not raise false alarms."""
    from capacity.analysis.audit import audit

    inp = Path(__file__).resolve().parents[1] / "inputs" / "england-2020.xlsx"
    out = tmp_path / "england-plan.xlsx"
    assert api.plan(inp, out).exit_code == 0
    res = audit(out, inp)
    assert res.exit_code == 0, "\n".join(res.lines)
    assert any(line.startswith("shadow prices: ") for line in res.lines)


def test_a_blank_work_type_id_is_reported_not_a_crash(small_raw):
    """Found by the fuzz test: a blank id was taken for an escalation cycle of None."""
    errors = _errors(edit(small_raw, "work_types!A2", None))
    assert errors[0] == "work_types!A2: work_type is required (text)"
    assert not any("cycle" in e for e in errors)
