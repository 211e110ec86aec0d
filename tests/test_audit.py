"""`capacity audit`: an output workbook re-checked against its input without trusting it."""

from __future__ import annotations

import shutil

import openpyxl
import pytest
from click.testing import CliRunner

from capacity import api
from capacity.analysis.audit import audit
from capacity.analysis.checks import CHECKS
from capacity.cli import main
from capacity.io.errors import InputError
from conftest import plan_small_example


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """The small example and a fresh plan of it, side by side in one folder."""
    return plan_small_example(tmp_path_factory.mktemp("audit"))


def _tampered(planned, tmp_path, edit) -> tuple:
    inp, out = planned
    copy = tmp_path / "small-plan.xlsx"
    shutil.copy(out, copy)
    book = openpyxl.load_workbook(copy, data_only=True)  # a hand edit saved with values (formulas' results)
    edit(book)
    book.save(copy)
    return inp, copy


def _first_scenario_fte(book, minimum=1.0):
    ws = book["plan"]
    head = [c.value for c in ws[1]]
    col = head.index("fte")
    for row in ws.iter_rows(min_row=2):
        if row[0].value != "expected" and (row[col].value or 0) > minimum:
            return row[col]
    raise AssertionError("no staffed row")


def test_fresh_output_is_verified(planned):
    inp, out = planned
    res = audit(out, inp)
    assert res.exit_code == 0, "\n".join(res.lines)
    assert res.lines[-1] == "verified"
    text = "\n".join(res.lines)
    for step in ("read", "SHA-256", "derived figures", f"constraint checks: {len(CHECKS)} of {len(CHECKS)} pass", "checks sheet",
                 "re-solve (optimal"):
        assert step in text
    assert not res.mismatches


def test_input_found_beside_the_output(planned):
    _, out = planned
    res = audit(out)
    assert res.exit_code == 0 and res.input_path.name == "small.xlsx"


def test_hand_edited_fte_is_a_mismatch(planned, tmp_path):
    cells = {}

    def edit(book):
        cell = _first_scenario_fte(book)
        cell.value += 1
        cells["ref"] = cell.coordinate

    inp, out = _tampered(planned, tmp_path, edit)
    res = audit(out, inp)
    text = "\n".join(res.lines)
    assert res.exit_code == 5
    assert res.lines[-1].startswith("not verified")
    row = cells["ref"][1:]
    assert f"plan!J{row}: paid_hours" in text  # the derived figures of that row no longer follow
    assert "check 'regional stock' (eq 6) fails" in text  # the first staffed scenario row: eho, north
    assert "checks!G" in text  # the checks sheet says pass, the recomputation fails


def test_hand_edited_derived_cell_is_a_mismatch(planned, tmp_path):
    """A cost no constraint check looks at is still recomputed from the input prices."""
    def edit(book):
        ws = book["plan"]
        ws["P40"].value = (ws["P40"].value or 0) + 100

    inp, out = _tampered(planned, tmp_path, edit)
    res = audit(out, inp)
    assert res.exit_code == 5
    assert any(line.strip().startswith("plan!P40: cost is") for line in res.lines)


def test_hand_edited_objective_is_a_mismatch(planned, tmp_path):
    def edit(book):
        ws = book["summary"]
        assert ws["A3"].value == "objective"
        ws["B3"].value = ws["B3"].value * 0.99

    inp, out = _tampered(planned, tmp_path, edit)
    res = audit(out, inp)
    text = "\n".join(res.lines)
    assert res.exit_code == 5
    assert "summary!B3" in text
    assert "below the re-solved bound" in text
    assert "check 'objective recomputed from the tables'" in text


def test_hand_edited_checks_sheet_is_a_mismatch(planned, tmp_path):
    def edit(book):
        ws = book["checks"]
        ws["D3"].value = 0.5

    inp, out = _tampered(planned, tmp_path, edit)
    res = audit(out, inp)
    assert res.exit_code == 5
    assert any("checks!D3" in line for line in res.lines)


def test_changed_input_is_a_sha_mismatch(planned, tmp_path):
    inp, out = planned
    changed = tmp_path / "small.xlsx"
    shutil.copy(inp, changed)
    book = openpyxl.load_workbook(changed)
    ws = book["demand"]
    ws["C2"].value = ws["C2"].value + 50
    book.save(changed)
    res = audit(out, changed)
    text = "\n".join(res.lines)
    assert res.exit_code == 5
    assert "run!input_sha256" in text and "the input changed" in text


def test_same_content_other_bytes_is_still_a_sha_mismatch(planned, tmp_path):
    inp, out = planned
    resaved = tmp_path / "small.xlsx"
    book = openpyxl.load_workbook(inp)
    book.save(resaved)
    res = audit(out, resaved)
    assert res.exit_code == 5
    assert sum("input_sha256" in line for line in res.lines) == 1


def test_not_a_plan_is_a_file_error(planned, tmp_path):
    inp, _ = planned
    with pytest.raises(InputError, match="not an output workbook of capacity plan"):
        audit(inp)
    text = tmp_path / "x.xlsx"
    text.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not an Excel workbook"):
        audit(text)


def test_missing_input_is_a_file_error(planned, tmp_path, monkeypatch):
    """A workbook without input_ copies (written before plans carried them) and no input file."""
    _, out = planned
    lonely = tmp_path / "alone-plan.xlsx"
    book = openpyxl.load_workbook(out, data_only=True)
    for name in [n for n in book.sheetnames if n.startswith("input_")]:
        del book[name]
    book.save(lonely)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="cannot find the input 'small.xlsx'.*--input"):
        audit(lonely)


def test_cli_exit_statuses(planned, tmp_path):
    inp, out = planned
    runner = CliRunner()
    ok = runner.invoke(main, ["audit", str(out), "--input", str(inp)])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip().splitlines()[-1] == "verified"

    _, bad = _tampered(planned, tmp_path, lambda b: setattr(_first_scenario_fte(b), "value", 0.5))
    r = runner.invoke(main, ["audit", str(bad), "--input", str(inp)])
    assert r.exit_code == 5 and "not verified" in r.stdout

    r = runner.invoke(main, ["audit", str(inp)])
    assert r.exit_code == 1
    assert "not an output workbook of capacity plan" in r.stderr and "Traceback" not in r.output

    r = runner.invoke(main, ["audit", str(tmp_path / "nope.xlsx")])
    assert r.exit_code == 1 and "file not found" in r.stderr


def test_infeasible_diagnosis_is_not_a_plan_to_verify(tmp_path):
    from capacity.io.examples import small_tables
    from capacity.io.workbook import write_input_workbook

    tables = small_tables()
    tables["work_types"].loc[0, "min_completion_share"] = 1.0
    tables["skills"] = tables["skills"][tables["skills"]["work_type"] != "complex"]
    src, out = tmp_path / "in.xlsx", tmp_path / "out.xlsx"
    write_input_workbook(src, tables, weeks=8)
    assert api.plan(src, out).exit_code == 3
    if not out.exists():
        pytest.skip("this version of plan writes nothing for an infeasible input")
    with pytest.raises(InputError, match="infeasible input"):
        audit(out, src)
