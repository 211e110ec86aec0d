"""Fuzz the validator with Hypothesis, from the schema itself (issue 10).

Each example is the small example with one to three cells replaced by a
random value of a random type (numbers, NaN, inf, huge, tiny, negative, text,
Excel error values, dates, booleans, blanks), in any column of any sheet the
schema declares, week columns included. The workbook is written to a file and
run through `capacity plan`: it either validates and plans (exit 0, or 3 with
its diagnosis when the random values make it infeasible) or exits 1 with one
`sheet!CELL: ...` line per problem and nothing written. Never a traceback,
never `internal error`.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from capacity.io import schema as S
from capacity.cli import main
from capacity.io.examples import write_example
from capacity.io.reader import ERROR_CODES
from capacity.io.validate import week_of

CELL_LINE = re.compile(r"^(warning: )?[A-Za-z_]+![A-Z]+[0-9]+: \S")


def _example_bytes(tmp: Path) -> bytes:
    path = tmp / "small.xlsx"
    write_example("small", path)
    return path.read_bytes()


def _targets(data: bytes) -> list[tuple[str, int, int, S.Column]]:
    """(sheet, row, column, rule) of every data cell of the small example, from the schema."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    out = []
    for sheet in S.SHEETS:
        ws = book[sheet.name]
        rows = list(ws.iter_rows(values_only=True))
        if sheet.layout == S.SETTINGS:
            out += [(sheet.name, r, 2, sheet.column(row[0])) for r, row in enumerate(rows[1:], 2)]
            continue
        for c, head in enumerate(rows[0], 1):
            col = sheet.column(head) if head in sheet.column_names else (
                sheet.week_column if week_of(head) is not None else None)
            out += [(sheet.name, r, c, col) for r in range(2, len(rows) + 1) if col is not None]
    return out


def _ids(data: bytes) -> dict[str, list[str]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {s.name: [r[0] for r in book[s.name].iter_rows(min_row=2, values_only=True)]
            for s in S.SHEETS if s.layout == S.TABLE}


def _valid(col: S.Column, ids: dict) -> st.SearchStrategy:
    """Values the column's rule accepts (so that some examples get as far as the solve)."""
    if col.type in (S.NUMBER, S.INT):
        lo = col.ge if col.ge is not None else (col.gt or 0) + 1e-3
        hi = min(x for x in (col.le, col.max_value, 1e3) if x is not None)
        lo = max(lo, col.min_value or lo)
        if col.type == S.INT:
            return st.integers(int(-(-lo // 1)), int(hi))
        return st.floats(lo, hi, allow_nan=False)
    if col.type == S.ENUM:
        return st.sampled_from(col.choices)
    if col.type == S.REF:
        return st.sampled_from(ids[col.ref])
    if col.type == S.DATE:
        return st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2030, 12, 31))
    return st.text(TEXT_CHARS, min_size=1, max_size=12)


# openpyxl refuses control characters in cells (XML 1.0 cannot hold them)
TEXT_CHARS = st.characters(blacklist_categories=("Cc", "Cs"))
JUNK = st.one_of(
    st.sampled_from([None, "", "   ", "\u00a0"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10**20, 10**20),
    st.sampled_from([1e300, -1e300, 1e-300, 5e-324, 1e15, 1e25, 1e8, -0.0, 0.5, 2**53 + 1.0]),
    st.text(TEXT_CHARS, max_size=20),
    st.sampled_from(ERROR_CODES + ("#n/a", " #REF! ", "1,200", "²", "٣", "=1+1", "'7", "x" * 40_000)),
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(9999, 12, 31)),
    st.booleans(),
)


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    data = _example_bytes(tmp_path_factory.mktemp("fuzz"))
    return data, _targets(data), _ids(data)


def _run_plan(path: Path, cwd: Path) -> tuple[int, str]:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        res = CliRunner().invoke(main, ["plan", str(path), "-o", "out.xlsx", "--time-limit", "30"])
    finally:
        os.chdir(old)
    return res.exit_code, res.stdout + res.stderr


# CAPACITY_FUZZ_EXAMPLES=400 for a longer hunt; 40 keeps CI to about ten seconds
@settings(max_examples=int(os.environ.get("CAPACITY_FUZZ_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_cell_value_validates_and_plans_or_is_refused_by_cell(example, tmp_path_factory, data):
    raw, targets, ids = example
    picks = data.draw(st.lists(st.sampled_from(targets), min_size=1, max_size=3, unique=True), label="cells")
    book = openpyxl.load_workbook(io.BytesIO(raw))
    for sheet, r, c, col in picks:
        where = f"{sheet}!{openpyxl.utils.get_column_letter(c)}{r}"
        value = data.draw(st.one_of(JUNK, _valid(col, ids)), label=where)
        book[sheet].cell(row=r, column=c).value = value
    folder = tmp_path_factory.mktemp("case")
    path = folder / "in.xlsx"
    book.save(path)
    code, out = _run_plan(path, folder)
    assert "Traceback" not in out and "internal error" not in out, out
    lines = out.splitlines()
    if code == 1:
        problems = [ln for ln in lines if not ln.startswith("[") and ln != "nothing written."
                    and not re.fullmatch(r"\d+ errors?; nothing written\.", ln)]
        assert problems and all(CELL_LINE.match(ln) for ln in problems), out
        assert lines[-1].endswith("nothing written.")
        assert sorted(p.name for p in folder.iterdir()) == ["in.xlsx"]
    else:
        assert code in (0, 3), out
        assert (folder / "out.xlsx").is_file()
