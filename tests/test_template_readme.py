"""The input template as a planner meets it: the README sheet (numbered steps, then the data
dictionary), shaded input cells, and week headers that carry their dates."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from capacity.cli import main
from capacity.io import schema as S
from capacity.io.examples import small_tables
from capacity.io.validate import read_inputs
from capacity.io.workbook import BLANK_ROWS, INPUT_FILL, plain, readme_rows

REPO = Path(__file__).resolve().parents[1]
COMMITTED = sorted((REPO / "inputs").glob("*.xlsx"))
FILL = "FF" + INPUT_FILL.lstrip("#").upper()  # as openpyxl reports a fill colour
DICTIONARY_HEADER = ["sheet", "column", "type and range", "required or default", "meaning"]


def run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def _template(tmp_path_factory, name: str, *options) -> Path:
    """``capacity template NAME.xlsx OPTIONS``, in a directory of its own."""
    out = tmp_path_factory.mktemp(name) / f"{name}.xlsx"
    r = run("template", out, *options)
    assert r.exit_code == 0, r.output
    return out


@pytest.fixture(scope="module")
def blank(tmp_path_factory) -> Path:
    return _template(tmp_path_factory, "blank", "--weeks", "5")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return _template(tmp_path_factory, "small", "--example", "small")


def _rows(ws) -> list[list]:
    """The README as rows of values, None for an empty cell (merged cells hold their value in the first)."""
    return [list(row) for row in ws.iter_rows(values_only=True)]


def _steps(rows: list[list]) -> list[list]:
    """The rows of the "Steps" block: from the row after the heading to the first empty row."""
    start = next(i for i, row in enumerate(rows) if row[0] == "Steps") + 1
    steps = []
    for row in rows[start:]:
        if row[0] is None:
            break
        steps.append(row)
    return steps


def _dictionary(rows: list[list]) -> list[list]:
    start = next(i for i, row in enumerate(rows) if row[:5] == DICTIONARY_HEADER) + 1
    out = []
    for row in rows[start:]:
        if row[0] is None:
            break
        out.append(row[:5])
    return out


# --------------------------------------------------------------------------
# README: steps
# --------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["blank", "small"])
def test_steps_are_numbered_and_name_every_input_sheet_in_schema_order(request, which):
    book = openpyxl.load_workbook(request.getfixturevalue(which))
    assert book.sheetnames[0] == "README" and book.active.title == "README"
    steps = _steps(_rows(book["README"]))
    n = len(S.SHEETS)
    assert [row[0] for row in steps] == [f"{i}." for i in range(1, n + 3)]
    assert [row[1] for row in steps[:n]] == [sheet.name for sheet in S.SHEETS]
    heading = _first_step_row(book)
    for k, (row, sheet) in enumerate(zip(steps, S.SHEETS)):
        text = row[2]
        # every column the planner edits is named in the step, required ones under "Required"
        for col in sheet.columns:
            assert re.search(rf"\b{col.name}\b", text), (sheet.name, col.name, text)
        required = [c.name for c in sheet.columns if c.required]
        assert f": {', '.join(required)}." in text, text
        if sheet.week_column is not None:
            assert "one column per week, headed 1 .. weeks" in text
        # the sheet name links to its sheet
        link = book["README"].cell(row=heading + 2 + k, column=2).hyperlink
        assert link is not None and link.location == f"'{sheet.name}'!A1"
    validate, plan = steps[n], steps[n + 1]
    assert validate[1:3] == ["validate", "capacity validate FILE.xlsx"]
    assert plan[1:3] == ["plan", "capacity plan FILE.xlsx"]
    assert "outputs/FILE-plan.xlsx" in plan[3] and "read_me_first" in plan[3]
    assert "sheet!CELL" in validate[3]


def _first_step_row(book) -> int:
    """0-based index of the "Steps" heading row (the first step is on the next row)."""
    return next(i for i, row in enumerate(_rows(book["README"])) if row[0] == "Steps")


def test_settings_step_states_the_defaults_from_the_schema(small):
    steps = _steps(_rows(openpyxl.load_workbook(small)["README"]))
    text = steps[0][2]
    assert "Required rows: start_date, weeks." in text
    assert "hours_per_fte_week (default 37.5)" in text
    assert "time_limit_s (blank = none)" in text
    assert "column value" in text


def test_commands_are_in_a_monospace_cell(small):
    ws = openpyxl.load_workbook(small)["README"]
    cells = [c for row in ws.iter_rows() for c in row
             if isinstance(c.value, str) and re.match(r"capacity [a-z]+ FILE", c.value)]
    assert {c.value for c in cells} == {"capacity validate FILE.xlsx", "capacity plan FILE.xlsx"}
    assert {c.font.name for c in cells} == {"Courier New"}


# --------------------------------------------------------------------------
# README: dictionary, wording
# --------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["blank", "small"])
def test_dictionary_has_every_schema_column_exactly_once(request, which):
    rows = _dictionary(_rows(openpyxl.load_workbook(request.getfixturevalue(which))["README"]))
    expected = []
    for sheet in S.SHEETS:
        expected += [(sheet.name, c.name) for c in sheet.columns]
        if sheet.week_column is not None:
            expected.append((sheet.name, "1 .. weeks"))
    assert [(r[0], r[1]) for r in rows] == expected
    assert len(set(expected)) == len(expected)
    # the same words as docs/workbook.md, without Markdown marks
    assert rows == [[plain(t) or "blank" for t in row] for row in readme_rows()]
    assert ["contracts", "max_fte", "a number > 0, at most 1,000,000 (unusual above 100,000)", "required",
            "Most FTE the supplier provides."] in rows
    assert ["skills", "escalation_share", "a number from 0 to 1", "0",
            "Share of failed tasks escalated to the work type's \"escalates_to\" (> 0 needs one)."] in rows


def _all_readme_text(path: Path) -> list[str]:
    ws = openpyxl.load_workbook(path)["README"]
    return [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


@pytest.mark.parametrize("which", ["blank", "small"] + [p.name for p in COMMITTED])
def test_no_backtick_and_no_ignored_claim_in_the_readme(request, which):
    path = request.getfixturevalue(which) if which in ("blank", "small") else REPO / "inputs" / which
    texts = _all_readme_text(path)
    assert len(texts) > 100
    assert not [t for t in texts if "`" in t]
    assert not [t for t in texts if "ignored by the model" in t]
    assert any(t.startswith("Shaded cells are inputs") for t in texts)


def test_no_backtick_in_any_comment(small):
    book = openpyxl.load_workbook(small)
    comments = [c.comment.text for ws in book for row in ws.iter_rows() for c in row if c.comment]
    assert len(comments) > 60
    assert not [t for t in comments if "`" in t]


def test_example_keeps_its_sources_block(small):
    rows = _rows(openpyxl.load_workbook(small)["README"])
    i = next(i for i, row in enumerate(rows) if row[:3] == ["item", "value", "source"])
    assert rows[i - 1][0] == "About this example: every number with its source (or 'assumption')"
    assert rows[i + 1][0] == "all numbers" and rows[i + 1][2].startswith("assumption")


def test_blank_template_has_no_sources_block(blank):
    assert not [t for t in _all_readme_text(blank) if t.startswith("About this example")]


# --------------------------------------------------------------------------
# Shading
# --------------------------------------------------------------------------

def _shaded(cell) -> bool:
    return cell.fill.patternType == "solid" and cell.fill.fgColor.rgb == FILL


def _header_plain(ws, ncols: int) -> None:
    for cell in ws[1][:ncols]:
        assert cell.font.b, (ws.title, cell.coordinate)
        assert cell.fill.patternType is None, (ws.title, cell.coordinate)


def test_example_input_cells_shaded_and_headers_not(small):
    book = openpyxl.load_workbook(small)
    tables = small_tables()
    settings = book["settings"]
    _header_plain(settings, 2)
    for r in range(2, 2 + len(S.SETTINGS_SHEET.columns)):
        assert _shaded(settings.cell(r, 2)), f"settings!B{r}"
        assert not _shaded(settings.cell(r, 1)), f"settings!A{r}"  # the key is a label
    for sheet in S.SHEETS[1:]:
        ws = book[sheet.name]
        rows = len(tables[sheet.name])
        ncols = len(sheet.columns) + (tables["settings"]["weeks"] if sheet.layout == S.WIDE else 0)
        assert ws.max_column == ncols
        _header_plain(ws, ncols)
        for r in range(2, rows + 2):  # every cell of the data area, blank optional ones too
            for c in range(1, ncols + 1):
                assert _shaded(ws.cell(r, c)), f"{sheet.name}!{ws.cell(r, c).coordinate}"
        assert not _shaded(ws.cell(rows + 2, 1))  # nothing below the data
    # the README shades one cell only: the legend's sample
    readme = book["README"]
    shaded = [c.coordinate for row in readme.iter_rows() for c in row if _shaded(c)]
    assert shaded == ["A3"]
    assert readme["B3"].value.startswith("Shaded cells are inputs")


def test_blank_template_shades_where_to_type(blank):
    book = openpyxl.load_workbook(blank)
    for sheet in S.SHEETS[1:]:
        ws = book[sheet.name]
        ncols = len(sheet.columns) + (5 if sheet.layout == S.WIDE else 0)
        _header_plain(ws, ncols)
        assert ws.max_row == 1 + BLANK_ROWS
        for r in range(2, 2 + BLANK_ROWS):
            for c in range(1, ncols + 1):
                cell = ws.cell(r, c)
                assert cell.value is None and _shaded(cell), f"{sheet.name}!{cell.coordinate}"
    # drop-downs are still there
    lists = {str(dv.sqref) for dv in book["sources"].data_validations.dataValidation if dv.type == "list"}
    assert "B2:B2001" in lists


# --------------------------------------------------------------------------
# Week headers
# --------------------------------------------------------------------------

def _week_headers(ws, key_cols: int) -> list:
    return [c for c in ws[1][key_cols:]]


@pytest.mark.parametrize("name", ["demand", "availability"])
def test_week_headers_stay_integers_and_carry_their_dates(small, name):
    ws = openpyxl.load_workbook(small)[name]
    start = small_tables()["settings"]["start_date"]
    weeks = small_tables()["settings"]["weeks"]
    headers = _week_headers(ws, 2)
    assert [c.value for c in headers] == list(range(1, weeks + 1))
    for week, cell in zip(range(1, weeks + 1), headers):
        day = start + dt.timedelta(days=7 * (week - 1))
        first = cell.comment.text.splitlines()[0]
        assert first == f"week {week}: {day:%A} {day:%Y-%m-%d}", first
    assert headers[2].comment.text.startswith("week 3: Monday 2020-06-08")  # 25 May 2020 + 14 days
    assert headers[7].comment.text.startswith("week 8: Monday 2020-07-13")


def test_committed_england_week_headers_carry_2020_dates():
    ws = openpyxl.load_workbook(REPO / "inputs" / "england-2020.xlsx")["demand"]
    headers = _week_headers(ws, 2)
    assert len(headers) == 26
    assert headers[0].comment.text.startswith("week 1: Monday 2020-05-25")
    assert headers[4].comment.text.startswith("week 5: Monday 2020-06-22")  # reveal_week: 22 June 2020
    assert headers[25].comment.text.startswith("week 26: Monday 2020-11-16")


def test_blank_template_week_comments_point_to_start_date(blank):
    book = openpyxl.load_workbook(blank)
    assert book["settings"]["A2"].value == "start_date"
    weeks_line = next(t for t in _all_readme_text(blank) if t.startswith("Week columns are headed"))
    assert "this workbook has 5: set settings weeks to match" in weeks_line
    for name in ("demand", "availability"):
        headers = _week_headers(book[name], 2)
        assert [c.value for c in headers] == [1, 2, 3, 4, 5]
        texts = [c.comment.text for c in headers]
        assert texts[0].startswith("week 1: its date follows from settings start_date (settings!B2)")
        assert texts[2].startswith("week 3: its date follows from settings start_date (settings!B2): "
                                   "week 3 starts 2 weeks after it")
        assert not [t for t in texts if re.search(r"\d{4}-\d\d-\d\d", t)]


# --------------------------------------------------------------------------
# What the reader accepts is unchanged
# --------------------------------------------------------------------------

def test_blank_template_validates_as_before(blank):
    """Structurally correct and empty: exactly the errors of an empty workbook, no warning."""
    r = run("validate", blank)
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [
        "settings!B2: start_date is required (a date)",
        "settings!B3: weeks is required (a whole number from 1 to 520)",
        "regions!A2: needs at least 1 row(s) of data",
        "scenarios!A2: needs at least 1 row(s) of data",
        "work_types!A2: needs at least 1 row(s) of data",
        "sources!A2: needs at least 1 row(s) of data",
        "demand!A2: needs at least 1 row(s) of data",
        "7 errors; nothing written.",
    ]


def test_typing_into_the_shaded_cells_validates(blank, tmp_path):
    """A planner types into the first shaded rows (not below them): it validates, weeks 1..5 read."""
    book = openpyxl.load_workbook(blank)
    book["settings"]["B2"] = dt.date(2021, 1, 4)
    book["settings"]["B3"] = 5
    rows = {"regions": ["r1", "Region one", 1000], "scenarios": ["base", 1.0], "work_types": ["call", 3, 10],
            "sources": ["staff", "hire", 800], "skills": ["staff", "call", 20, 0.9],
            "availability": ["staff", "r1", 5, 5, 5, 5, 5], "demand": ["base", "r1", 40, 50, 60, 70, 80]}
    for name, values in rows.items():
        for c, v in enumerate(values, start=1):
            book[name].cell(2, c).value = v
    # a row further down, blank rows between: read too
    book["regions"].cell(7, 1).value = "r2"
    for c, v in enumerate(["base", "r2", 1, 2, 3, 4, 5], start=1):
        book["demand"].cell(9, c).value = v
    out = tmp_path / "filled.xlsx"
    book.save(out)
    inputs, issues = read_inputs(out)
    assert [str(i) for i in issues] == []
    assert list(inputs.regions.index) == ["r1", "r2"]
    assert len(inputs.demand) == 2 * 5
    assert inputs.settings.weeks == 5
    d = inputs.demand
    assert d.loc[(d["region"] == "r1") & (d["week"] == 3), "cases"].tolist() == [60.0]


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed (no soffice on PATH)")
def test_libreoffice_opens_the_example_with_its_comments_and_shading(small, tmp_path):
    profile = tmp_path / "lo_profile"
    proc = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
                           "--convert-to", "xlsx", "--outdir", str(tmp_path / "lo"), str(small)],
                          capture_output=True, text=True, timeout=300)
    out = tmp_path / "lo" / small.name
    assert proc.returncode == 0 and out.exists(), proc.stdout + proc.stderr
    book = openpyxl.load_workbook(out)
    assert book["demand"]["E1"].value == 3
    assert book["demand"]["E1"].comment.text.startswith("week 3: Monday 2020-06-08")
    assert _shaded(book["demand"]["A2"]) and not _shaded(book["demand"]["A1"])
    assert _steps(_rows(book["README"]))[0][1] == "settings"
