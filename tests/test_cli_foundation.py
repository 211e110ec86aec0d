"""`capacity template` and `capacity validate` as a user runs them."""

from __future__ import annotations

import subprocess
import sys

import openpyxl
import pytest
from click.testing import CliRunner

from capacity.cli import main


def run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def test_example_round_trip(tmp_path):
    out = tmp_path / "x.xlsx"
    r = run("template", out, "--example", "small")
    assert r.exit_code == 0, r.output
    r = run("validate", out)
    assert r.exit_code == 0, r.output
    assert "valid (3 regions, 8 weeks, 2 scenarios, 4 sources, 2 contracts" in r.stdout


def test_template_never_overwrites_without_force(tmp_path):
    out = tmp_path / "x.xlsx"
    out.write_bytes(b"keep me")
    r = run("template", out)
    assert r.exit_code == 1
    assert "already exists; use --force" in r.stderr
    assert out.read_bytes() == b"keep me"
    assert run("template", out, "--force").exit_code == 0
    assert out.read_bytes()[:2] == b"PK"


def test_blank_template_reports_what_is_missing(tmp_path):
    out = tmp_path / "blank.xlsx"
    assert run("template", out, "--weeks", "4").exit_code == 0
    r = run("validate", out)
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    assert "settings!B2: start_date is required (a date)" in lines
    assert "settings!B3: weeks is required (a whole number from 1 to 520)" in lines
    assert "regions!A2: needs at least 1 row(s) of data" in lines
    assert "Traceback" not in r.output


def test_blank_template_has_schema_readme_and_dropdowns(tmp_path):
    out = tmp_path / "blank.xlsx"
    run("template", out, "--weeks", "3")
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["README", "settings", "regions", "scenarios", "work_types", "sources", "skills",
                               "contracts", "availability", "demand", "history"]
    readme = [[c for c in row if c is not None] for row in book["README"].iter_rows(values_only=True)]
    assert ["contracts", "max_fte", "a number > 0, at most 1,000,000 (unusual above 100,000)", "required",
            "Most FTE the supplier provides."] in readme
    assert ["sources", "kind", "one of contractor, eho, redeployed, hire", "required", "Kind of source."] in readme
    src = book["sources"]
    assert src.freeze_panes == "B2"
    lists = {str(dv.sqref): dv.formula1 for dv in src.data_validations.dataValidation if dv.type == "list"}
    assert lists["B2:B2001"] == '"contractor,eho,redeployed,hire"'
    assert lists["I2:I2001"] == "sources!$A$2:$A$2001"  # trainer: ids of sheet sources
    assert [c.value for c in book["demand"][1]] == ["scenario", "region", 1, 2, 3]


def test_filled_in_template_validates(tmp_path):
    """A planner fills in the blank template by hand: it validates."""
    out = tmp_path / "blank.xlsx"
    run("template", out, "--weeks", "2")
    book = openpyxl.load_workbook(out)
    import datetime as dt

    book["settings"]["B2"] = dt.date(2021, 1, 4)
    book["settings"]["B3"] = 2
    book["regions"].append(["r1", "Region one", 1000])
    book["scenarios"].append(["base", 1.0])
    book["work_types"].append(["call", 3, 10])
    book["sources"].append(["staff", "hire", 800])
    book["skills"].append(["staff", "call", 20, 0.9])
    book["availability"].append(["staff", "r1", 5, 5])
    book["demand"].append(["base", "r1", 40, 50])
    book.save(out)
    r = run("validate", out)
    assert r.exit_code == 0, r.output


def test_a_dozen_mistakes_in_a_file(tmp_path):
    out = tmp_path / "x.xlsx"
    run("template", out, "--example", "small")
    book = openpyxl.load_workbook(out)
    edits = {("settings", "B5"): 2, ("regions", "C3"): -5, ("scenarios", "B3"): 0.4,
             ("work_types", "E2"): 1.2, ("sources", "B5"): "agency", ("skills", "A9"): "agency",
             ("contracts", "G2"): 300, ("contracts", "I2"): 50, ("availability", "B4"): "east",
             ("demand", "F7"): "n/a", ("demand", "C2"): -1, ("sources", "I4"): "callco"}
    for (sheet, cell), value in edits.items():
        book[sheet][cell] = value
    bad = tmp_path / "bad.xlsx"
    book.save(bad)
    r = run("validate", bad)
    assert r.exit_code == 1
    errors = [line for line in r.stderr.splitlines() if "!" in line and not line.startswith("warning")]
    assert len(errors) == 12, r.stderr
    assert "demand!F7: cases must be a number >= 0, got 'n/a'" in errors
    assert r.stderr.strip().endswith("12 errors; nothing written.")


@pytest.mark.parametrize("content", [None, b"", b"region,week\nnorth,1\n"])
def test_not_a_workbook_is_one_line_exit_1(tmp_path, content):
    path = tmp_path / "in.xlsx"
    if content is not None:
        path.write_bytes(content)
    r = run("validate", path)
    assert r.exit_code == 1
    assert "Traceback" not in r.output
    assert str(path.name) in r.stderr


def test_console_script_runs_without_traceback(tmp_path):
    """The installed entry point, as a user runs it."""
    missing = tmp_path / "nope.xlsx"
    proc = subprocess.run([sys.executable, "-m", "capacity.cli", "validate", str(missing)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "nope.xlsx" in proc.stderr
