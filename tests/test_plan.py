"""`capacity plan` end to end: the output workbook, its checks, exit statuses."""

from __future__ import annotations

import shutil
import subprocess
import zipfile

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from capacity import api
from capacity.output.plan_workbook import FROZEN
from capacity.analysis.checks import run_checks
from capacity.cli import main
from capacity.io.examples import small_tables
from capacity.io.workbook import write_input_workbook

SHEETS = ["summary", "plan", "work", "coverage", "contracts", "shadow_prices", "checks", "run"]


@pytest.fixture(scope="module")
def planned(tmp_path_factory, small_path):
    out = tmp_path_factory.mktemp("plan") / "small-plan.xlsx"
    res = api.plan(small_path, out)
    return res, out


def test_plan_solves_and_every_check_passes(planned):
    res, out = planned
    assert res.status == "optimal" and res.exit_code == 0
    assert list(res.checks["result"]) == ["pass"] * len(res.checks)
    assert out.exists()


def test_output_workbook_has_every_sheet_and_tables(planned):
    _, out = planned
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "read_me_first"  # the sheet written for the reader comes first
    tidy = [n for n in book.sheetnames if n in SHEETS]
    assert tidy == SHEETS
    for name in SHEETS:
        ws = book[name]
        frozen = FROZEN.get(name, 0)  # the header row, and the id columns of a long table
        assert ws.freeze_panes == f"{openpyxl.utils.get_column_letter(frozen + 1)}2", name
        assert ws.tables or ws.auto_filter.ref, name
    with zipfile.ZipFile(out) as zf:
        charts = [n for n in zf.namelist() if n.startswith("xl/charts/chart")]
    assert len(charts) == 3 + 4  # the summary's three, and one per kind of source on the charts sheet
    views = ["decisions", "contracts_by_week", "contingent", "rounding", "charts"]
    assert book.sheetnames[1:7] == ["summary"] + views  # the decisions come before the tidy tables


def test_summary_objective_is_the_sum_of_its_parts(planned):
    res, out = planned
    s = pd.read_excel(out, sheet_name="summary", engine="openpyxl").set_index("key")["value"]
    parts = sum(float(s[k]) for k in ("expected_staff_cost", "expected_onboarding_cost", "fixed_cost",
                                      "expected_lost_value"))
    assert float(s["objective"]) == pytest.approx(parts, rel=1e-9)
    assert float(s["objective"]) == pytest.approx(res.solve.objective, rel=1e-9)
    assert s["status"] == "optimal" and s["currency"] == "GBP"


def test_plan_rows_agree_with_the_inputs(planned):
    """Paid hours = 37.5 x FTE, cost = price x FTE (+ onboarding), utilisation = task / paid hours."""
    res, _ = planned
    plan = res.tables.plan
    assert (plan["paid_hours"] - 37.5 * plan["fte"]).abs().max() < 1e-9
    eho = plan[(plan["unit"] == "eho") & (plan["scenario"] != "expected")]
    assert (eho["cost"] - 1400 * eho["fte"]).abs().max() < 1e-6
    used = plan[plan["paid_hours"] > 0]
    assert (used["utilisation"] - used["task_hours"] / used["paid_hours"]).abs().max() < 1e-12
    # productive share 0.8 caps task hours at 80 % of paid hours for contract units (no training there)
    assert used["utilisation"].max() <= 0.8 + 1e-9
    # expected rows are the probability-weighted (0.5/0.5) mean of the scenarios
    w = plan[plan["scenario"] != "expected"].groupby(["week", "unit", "region"], dropna=False)["fte"].mean()
    e = plan[plan["scenario"] == "expected"].set_index(["week", "unit", "region"])["fte"]
    assert (e - w.reindex(e.index)).abs().max() < 1e-9


def test_checks_catch_a_tampered_table(planned):
    res, _ = planned
    tables = {k: v.copy() for k, v in res.tables.as_dict().items()}
    plan = tables["plan"]
    row = plan.index[(plan["unit"] == "eho") & (plan["scenario"] == "low") & (plan["week"] == 2)][0]
    plan.loc[row, "fte"] += 50  # more EHOs than the region can field
    checks = run_checks(res.inputs, tables).set_index("check")
    assert checks.loc["availability", "result"] == "fail"
    assert checks.loc["objective recomputed from the tables", "result"] == "fail"
    assert checks.loc["demand balance", "result"] == "pass"


def test_cli_default_output_path_and_summary(tmp_path, small_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(small_path, tmp_path / "svc.xlsx")
    r = CliRunner().invoke(main, ["plan", "svc.xlsx"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "outputs" / "svc-plan.xlsx").exists()
    assert "objective (expected cost)" in r.stdout and "expected completion share" in r.stdout
    for stage in ("reading", "building", "solving", "writing"):
        assert stage in r.stderr
    assert not list(tmp_path.glob("outputs/*.tmp*"))


def test_cli_refuses_to_write_over_its_input(tmp_path, small_path):
    src = tmp_path / "in.xlsx"
    shutil.copy(small_path, src)
    before = src.read_bytes()
    r = CliRunner().invoke(main, ["plan", str(src), "-o", str(src)])
    assert r.exit_code == 1
    assert src.read_bytes() == before


def test_text_from_input_never_becomes_a_formula(tmp_path):
    tables = small_tables()
    tables["regions"].loc[0, "region"] = "=HYPERLINK(\"x\")"
    for name in ("availability", "demand", "history"):
        tables[name]["region"] = tables[name]["region"].replace("north", "=HYPERLINK(\"x\")")
    src, out = tmp_path / "in.xlsx", tmp_path / "out.xlsx"
    write_input_workbook(src, tables, weeks=8)
    res = api.plan(src, out)
    assert res.exit_code == 0
    book = openpyxl.load_workbook(out)
    cells = [c for row in book["plan"].iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert cells and all(c.data_type == "s" and c.value.startswith("'=") for c in cells)


def test_infeasible_exits_3_and_writes_only_a_diagnosis(tmp_path):
    tables = small_tables()
    # every complex case completed everywhere, but no source can do complex work
    tables["work_types"].loc[0, "min_completion_share"] = 1.0
    tables["skills"] = tables["skills"][tables["skills"]["work_type"] != "complex"]
    src, out = tmp_path / "in.xlsx", tmp_path / "out.xlsx"
    write_input_workbook(src, tables, weeks=8)
    r = CliRunner().invoke(main, ["plan", str(src), "-o", str(out)])
    assert r.exit_code == 3, r.output
    assert "infeasible" in r.stderr and "eq 13" in r.stderr
    names = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert "infeasibility" in names and "plan" not in names  # a diagnostic workbook, not a plan


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_opens_the_output(planned, tmp_path):
    _, out = planned
    proc = subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "small-plan.pdf").stat().st_size > 10_000


def test_run_sheet_has_provenance_and_real_timings(planned, small_path):
    from capacity.io.reader import read_workbook, sha256_of

    _, out = planned
    run = dict(row[:2] for row in read_workbook(out).sheets["run"].cells[1:])
    assert run["input_sha256"] == sha256_of(small_path)
    assert run["input_file"] == "small.xlsx"
    for key in ("seconds_read", "seconds_build", "seconds_solve", "seconds_write"):
        assert isinstance(run[key], float) and 0 <= run[key] < 60, key
    assert run["model_binaries"] == 2 and run["model_variables"] > 100
    assert run["solver_status"] == "optimal"
    assert run["version:pyomo"] and run["version:highspy"]
