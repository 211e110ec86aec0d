"""`capacity audit --report FILE` (capacity/analysis/audit/report_file.py): both SHA-256s, each step,
every difference with its cell, the tolerances and where they come from; exit codes unchanged."""

from __future__ import annotations

import re
import shutil

import openpyxl
import pytest
from click.testing import CliRunner

from capacity.analysis.audit import OBJ_TOL, audit
from capacity.cli import main
from capacity.io.errors import InputError
from conftest import plan_small_example
from capacity.io.reader import sha256_of


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """The small example and a fresh plan of it, side by side in one folder."""
    return plan_small_example(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def tampered(planned, tmp_path_factory):
    """The plan with plan!G4 (north's EHOs in week 1 of scenario low, 8 FTE) set to 9, saved with values."""
    inp, out = planned
    bad = tmp_path_factory.mktemp("tampered") / "small-plan.xlsx"
    book = openpyxl.load_workbook(out, data_only=True)
    ws = book["plan"]
    assert [ws[f"{c}4"].value for c in "AEG"] == ["low", "eho", 8]
    ws["G4"].value = 9
    book.save(bad)
    return inp, bad


def _run_sheet(out) -> dict:
    ws = openpyxl.load_workbook(out, data_only=True)["run"]
    return {r[0].value: (r[1].value, r[1].coordinate) for r in ws.iter_rows(min_row=2)}


def test_screen_line_names_the_terms_of_the_allowance(planned):
    inp, out = planned
    res = audit(out, inp)
    run = _run_sheet(out)
    gap, cell = run["mip_gap"]
    o = res.objective
    assert o.run_gap == gap and o.run_gap_cell == f"run!{cell}"
    assert o.allowed == pytest.approx((gap + o.resolve_gap + OBJ_TOL) * max(1.0, abs(o.reported)), rel=1e-15)
    line = next(s.line for s in res.steps if s.name == "re-solve")
    assert (f"within {o.allowed:,.2f} = (run gap {gap:.2g} [run!{cell}] + re-solve gap {o.resolve_gap:.2g} + "
            f"OBJ_TOL 1e-06) x max(1, |objective|) {abs(o.reported):,.2f}") in line


def test_markdown_report_of_a_verified_plan(planned, tmp_path):
    inp, out = planned
    report = tmp_path / "audit.md"
    res = audit(out, inp, report=report)
    assert res.exit_code == 0 and res.report_path == report
    text = report.read_text()
    recorded = _run_sheet(out)["input_sha256"]
    assert recorded[0] == sha256_of(inp)
    assert f"| input SHA-256 recorded | run!{recorded[1]} | {recorded[0]} |" in text
    assert f"| input SHA-256 computed | {inp} | {sha256_of(inp)} | equal to the recorded one |" in text
    assert f"| audited workbook | {out} | {sha256_of(out)} |" in text
    assert text.startswith(f"# Audit of {out}\n\nVERIFIED against the input file")
    for line in res.lines[:-1]:  # every step's printed line is in the report
        assert line.replace("|", "\\|") in text
    for name, origin in (("REL_TOL", "capacity/analysis/audit/diffs.py"),
                         ("SUMMARY_ABS_TOL", "capacity/analysis/audit/derived.py"),
                         ("TOLERANCE", "TOLERANCE in capacity/model/recheck.py; the checks sheet records 1e-06 "
                                       "in checks!F"),
                         ("OBJ_TOL", "capacity/analysis/audit/steps.py"),
                         ("DUAL_TOL", "capacity/analysis/audit/duals.py"),
                         ("mip_gap (option)", "the input's settings")):
        assert re.search(rf"^\| {re.escape(name)} \| [^|]+ \| .* \| {re.escape(origin)} \|$", text, re.M), name
    assert f"| run gap | 0 | " in text and f"| the run sheet, {res.objective.run_gap_cell} |" in text
    assert "## Differences" not in text


def test_xlsx_report_of_a_tampered_plan(tampered, tmp_path):
    inp, bad = tampered
    report = tmp_path / "audit.xlsx"
    res = audit(bad, inp, report=report)
    assert res.exit_code == 5
    book = openpyxl.load_workbook(report)
    assert book.sheetnames == ["read_me_first", "steps", "differences", "tolerances", "digests"]
    first = [c.value for row in book["read_me_first"].iter_rows() for c in row if isinstance(c.value, str)]
    assert first[0] == "Audit of small-plan.xlsx"
    assert first[1].startswith(f"NOT VERIFIED: the audit found {len(res.mismatches)} differences; exit status 5.")
    assert "\u2022 plan!J4: paid_hours is 300, but hours_per_fte_week (37.5) x fte gives 337.5" in first
    steps = {r[1]: (r[2], r[3]) for r in book["steps"].iter_rows(min_row=2, values_only=True)}
    assert steps["derived figures"][0] == "MISMATCH" and steps["input"] == ("pass", 0)
    diffs = list(book["differences"].iter_rows(min_row=2, values_only=True))
    assert ("derived figures", "plan!J4", "paid_hours is 300, but hours_per_fte_week (37.5) x fte gives 337.5") \
        in diffs
    assert len(diffs) == len(res.mismatches)
    digests = {r[0]: r[2] for r in book["digests"].iter_rows(min_row=2, values_only=True)}
    assert digests["input SHA-256 recorded"] == digests["input SHA-256 computed"] == sha256_of(inp)
    assert digests["audited workbook"] == sha256_of(bad)
    tol = {r[0]: (r[1], r[3]) for r in book["tolerances"].iter_rows(min_row=2, values_only=True)}
    assert tol["REL_TOL"] == (1e-9, "capacity/analysis/audit/diffs.py")


def test_text_report_without_the_input_file(planned, tmp_path, monkeypatch):
    _, out = planned
    folder = tmp_path / "alone"
    folder.mkdir()
    lonely = folder / out.name
    shutil.copy(out, lonely)
    monkeypatch.chdir(folder)
    res = audit(lonely, report="audit.txt")
    assert res.exit_code == 0
    text = (folder / "audit.txt").read_text()
    assert "VERIFIED against the input copied into the workbook (its input_ sheets)" in text
    assert "* input SHA-256 computed\n    sha256: not checked: input taken from the input_ sheets\n" in text
    assert f"* input SHA-256 recorded\n    where: run!B14\n    sha256: {res.source.recorded}\n" in text
    assert "COPY_REL_TOL" not in text  # no input file: the copies were not compared with one


def test_report_may_not_overwrite_the_workbook_or_the_input(planned, tmp_path):
    inp, out = planned
    before = sha256_of(out), sha256_of(inp)
    with pytest.raises(InputError, match="the report would overwrite the audited workbook"):
        audit(out, inp, report=out)
    with pytest.raises(InputError, match="the report would overwrite the input"):
        audit(out, inp, report=inp)
    with pytest.raises(InputError, match=r"must end in \.xlsx \(a workbook\), \.md or \.txt"):
        audit(out, inp, report=tmp_path / "audit.pdf")
    with pytest.raises(InputError, match="does not exist"):
        audit(out, inp, report=tmp_path / "no" / "audit.md")
    assert (sha256_of(out), sha256_of(inp)) == before
    assert not list(tmp_path.iterdir())


def test_cli_exit_statuses_with_a_report(planned, tampered, tmp_path):
    inp, out = planned
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", str(out), "--input", str(inp), "--report", str(tmp_path / "ok.md")])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip().splitlines()[-1] == "verified"
    assert f"wrote {tmp_path / 'ok.md'}" in ok.stderr
    _, bad = tampered
    r = runner.invoke(main, ["audit", str(bad), "--input", str(inp), "--report", str(tmp_path / "bad.xlsx")])
    assert r.exit_code == 5 and "not verified" in r.stdout
    assert (tmp_path / "bad.xlsx").is_file()
    r = runner.invoke(main, ["audit", str(out), "--input", str(inp), "--report", str(out)])
    assert r.exit_code == 1 and "would overwrite the audited workbook" in r.stderr
    assert "Traceback" not in r.output and "verified" not in r.stdout
