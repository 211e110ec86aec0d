"""The audit and the input_ copies inside a plan workbook (capacity/analysis/audit/embedded.py):
compared with the input file when it is at hand, audited against when it is not."""

from __future__ import annotations

import shutil

import openpyxl
import pytest
from click.testing import CliRunner

from capacity.analysis.audit import EMBEDDED, audit
from capacity.cli import main
from capacity.io.errors import InputError
from conftest import plan_small_example

NOT_CHECKED = "the SHA-256 of the original file cannot be checked"


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """The small example and a fresh plan of it, side by side in one folder."""
    return plan_small_example(tmp_path_factory.mktemp("embedded"))


def _edited(src, dest, edit):
    """``src`` saved as ``dest`` after ``edit(book)``: a hand edit saved with values."""
    book = openpyxl.load_workbook(src, data_only=True)
    edit(book)
    book.save(dest)
    return dest


def _alone(tmp_path, monkeypatch, out, edit=None):
    """The plan in a folder of its own (no input beside it, none in inputs/), the cwd there."""
    folder = tmp_path / "alone"
    folder.mkdir()
    dest = folder / out.name
    if edit is None:
        shutil.copy(out, dest)
    else:
        _edited(out, dest, edit)
    monkeypatch.chdir(folder)
    return dest


def _set(ref, value):
    def edit(book):
        sheet, cell = ref.split("!")
        book[sheet][cell].value = value
    return edit


def test_verified_without_the_input_file(planned, tmp_path, monkeypatch):
    _, out = planned
    lonely = _alone(tmp_path, monkeypatch, out)
    res = audit(lonely)
    assert res.exit_code == 0, "\n".join(res.lines)
    assert res.source.source == EMBEDDED and res.source.computed is None and res.input_path is None
    assert len(res.source.recorded) == 64
    line = next(s.line for s in res.steps if s.name == "input")
    assert line.startswith("input: no input file found (none given, and small.xlsx is neither beside the output "
                           "nor in inputs/): the input was taken from the 10 input_ sheets (valid)")
    assert NOT_CHECKED in line
    assert res.lines[-1].startswith("verified against the input copied into the workbook")
    assert "re-solve (optimal" in "\n".join(res.lines)


def test_the_copies_are_compared_with_the_input_file(planned):
    inp, out = planned
    res = audit(out, inp)
    assert res.exit_code == 0
    assert "input copies: the 10 input_ sheets equal small.xlsx cell for cell" in res.lines
    assert res.source.source == "file" and res.source.computed == res.source.recorded


def test_an_edited_copy_is_a_mismatch_naming_its_cell(planned, tmp_path):
    inp, out = planned
    assert openpyxl.load_workbook(out)["input_settings"]["A4"].value == "hours_per_fte_week"
    edited = _edited(out, tmp_path / "small-plan.xlsx", _set("input_settings!B4", 40))
    res = audit(edited, inp)
    assert res.exit_code == 5
    assert "MISMATCH input copies (input_ sheets against the input file): 1 difference" in res.lines
    assert ("input_settings: 1 cell(s) differ from the input: input_settings!B4 is 40, "
            "the input's settings!B4 is 37.5") in res.mismatches
    step = next(s for s in res.steps if s.name == "input copies")
    assert step.passed is False


def test_an_edited_copy_without_the_input_file_is_a_mismatch(planned, tmp_path, monkeypatch):
    """Audited against its own (edited) copy, the figures no longer follow: 8 FTE x 40 hours is not
    the 300 paid hours the plan says."""
    _, out = planned
    lonely = _alone(tmp_path, monkeypatch, out, _set("input_settings!B4", 40))
    book = openpyxl.load_workbook(lonely, data_only=True)
    assert (book["plan"]["G4"].value, book["plan"]["J4"].value) == (8, 300)
    res = audit(lonely)
    assert res.exit_code == 5
    assert "plan!J4: paid_hours is 300, but hours_per_fte_week (40) x fte gives 320" in res.mismatches
    assert res.lines[-1].endswith("the input was taken from the workbook's own input_ sheets")


def test_a_copy_differing_from_the_input_file_is_reported(planned, tmp_path):
    """The input file changed after the plan: its SHA-256 and the copy of the changed cell both say so."""
    inp, out = planned
    before = openpyxl.load_workbook(inp)["demand"]["C2"].value
    changed = _edited(inp, tmp_path / "small.xlsx", _set("demand!C2", before + 50))
    res = audit(out, changed)
    assert res.exit_code == 5
    assert any(m.startswith("run!input_sha256: ") for m in res.mismatches)
    assert (f"input_demand: 1 cell(s) differ from the input: input_demand!C2 is {before!r}, "
            f"the input's demand!C2 is {before + 50!r}") in res.mismatches


def test_old_workbook_without_copies(planned, tmp_path, monkeypatch):
    """Without copies the input file is needed (the existing error); with it, the audit says the
    copies are absent and verifies the rest."""
    inp, out = planned

    def strip(book):
        for name in [n for n in book.sheetnames if n.startswith("input_")]:
            del book[name]

    old = _edited(out, tmp_path / "small-plan.xlsx", strip)
    res = audit(old, inp)
    assert res.exit_code == 0, "\n".join(res.lines)
    assert any(line.startswith("input copies: none") for line in res.lines)
    lonely = _alone(tmp_path, monkeypatch, old)
    with pytest.raises(InputError, match="cannot find the input 'small.xlsx'.*--input"):
        audit(lonely)


def test_an_invalid_copy_without_the_input_file_names_its_cell(planned, tmp_path, monkeypatch):
    _, out = planned
    lonely = _alone(tmp_path, monkeypatch, out, _set("input_settings!B4", "many"))
    with pytest.raises(InputError) as err:
        audit(lonely)
    text = str(err.value)
    assert "the input copied into the workbook is not a valid input" in text
    assert "\ninput_settings!B4: " in text


def test_an_input_given_but_missing_is_still_an_error(planned, tmp_path):
    _, out = planned
    with pytest.raises(InputError, match="file not found"):
        audit(out, tmp_path / "nope.xlsx")


def test_cli_without_the_input_file(planned, tmp_path, monkeypatch):
    _, out = planned
    lonely = _alone(tmp_path, monkeypatch, out)
    r = CliRunner().invoke(main, ["audit", str(lonely)])
    assert r.exit_code == 0, r.output
    assert NOT_CHECKED in r.stdout
    assert r.stdout.strip().splitlines()[-1].startswith("verified against the input copied into the workbook")
