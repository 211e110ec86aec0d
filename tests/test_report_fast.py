"""Large sheets written from their arrays (capacity/output/report_fast.py) read back exactly as the
per-cell writer's: every value, type, number format and formula, on a frame with every kind of column."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import openpyxl
import pandas as pd
import pytest

import capacity.output.report_fast as fast
from capacity.io.reader import read_workbook
from capacity.output.report import SheetSpec, write_report


def _frame(n=300):
    rng = np.random.default_rng(0)
    week = np.arange(n) % 7 + 1
    x = rng.normal(size=n) * 1e3
    x[::17] = np.nan
    return pd.DataFrame({
        "region": pd.array([["north", "south", "=SUM(A1)", "'quoted", "", "a & <b>"][i % 6] for i in range(n)],
                           dtype="str"),
        "scenario": [None if i % 11 == 0 else f"s{i % 3}" for i in range(n)],
        "week": week,
        "week_start": [dt.date(2020, 5, 25) + dt.timedelta(days=7 * int(w)) for w in week],
        "signed": [bool(i % 2) for i in range(n)],
        "fte": x,
        "twice": 2 * x,
        "code": [i % 4 for i in range(n)],
        "share": np.where(np.arange(n) % 5 == 0, np.nan, rng.uniform(size=n)),
    })


def _spec(frame):
    n = len(frame)
    formulas = {"twice": [None if i % 9 == 0 else f"=F{i + 2}*2" for i in range(n)],
                "week": [f"=MOD({i},7)+1" for i in range(n)],     # an integer cached value
                "share": [f'=IF(F{i + 2}>0,1,"")' for i in range(n)]}
    return SheetSpec("plan", frame, formats={"fte": "fte", "twice": "fte", "share": "share", "code": "text",
                                            "week": "int"},
                     formulas=formulas, freeze_cols=2, header_notes={"fte": "full-time equivalents"})


def _cells(path):
    book = openpyxl.load_workbook(path)
    ws = book["plan"]
    return ws.dimensions, [[(c.value, c.data_type, c.number_format) for c in row] for row in ws.iter_rows()]


def test_fast_rows_read_back_as_the_per_cell_writer(tmp_path, monkeypatch):
    frame = _frame()
    monkeypatch.setattr(fast, "FAST_MIN_CELLS", 10 ** 9)
    slow = tmp_path / "slow.xlsx"
    write_report(slow, [_spec(frame)])
    monkeypatch.setattr(fast, "FAST_MIN_CELLS", 1)
    monkeypatch.setattr(fast, "CHUNK_ROWS", 64)      # several blocks of rows
    quick = tmp_path / "fast.xlsx"
    write_report(quick, [_spec(frame)])
    dims_a, a = _cells(slow)
    dims_b, b = _cells(quick)
    assert dims_a == dims_b == "A1:I301"
    assert a == b
    # cached values too (formulas' results), through the project's own reader
    ra, rb = read_workbook(slow), read_workbook(quick)
    assert ra.sheets["plan"].cells == rb.sheets["plan"].cells
    # a formula cell with its cached value, text never a formula, a blank for NaN
    ws = openpyxl.load_workbook(quick)["plan"]
    assert ws["G3"].value == "=F3*2" and ws["A4"].value == "'=SUM(A1)" and ws["F2"].value is None
    vals = openpyxl.load_workbook(quick, data_only=True)["plan"]
    assert vals["G3"].value == pytest.approx(2 * frame["fte"][1])
    assert not math.isnan(frame["fte"][1])


def test_a_column_of_mixed_objects_keeps_the_per_cell_writer(tmp_path, monkeypatch):
    frame = pd.DataFrame({"what": ["a", 1.5, dt.datetime(2020, 1, 1)] * 10, "x": np.arange(30.0)})
    monkeypatch.setattr(fast, "FAST_MIN_CELLS", 1)
    spec = SheetSpec("plan", frame)
    assert fast.fast_sheet(frame, spec, styles=_NoStyles(), offset=0) is None
    write_report(tmp_path / "mixed.xlsx", [spec])
    ws = openpyxl.load_workbook(tmp_path / "mixed.xlsx")["plan"]
    assert [ws.cell(r, 1).value for r in (2, 3)] == ["a", 1.5]


class _NoStyles:
    def get(self, name):
        return None


def test_a_formula_xlsxwriter_would_rewrite_keeps_the_per_cell_writer():
    """A dynamic-array function needs XlsxWriter's _xlfn. prefix and array braces their own handling:
    the array writer does neither, so such a sheet is left to the per-cell writer."""
    from types import SimpleNamespace

    from capacity.output.report_cells import Styles
    from capacity.output.report_fast import FAST_MIN_CELLS, fast_sheet

    n = FAST_MIN_CELLS
    frame = pd.DataFrame({"x": np.arange(n, dtype=float)})
    styles = Styles.__new__(Styles)  # fast_sheet only asks it for formats: stub them
    styles.get = lambda name=None: None

    def spec(formula):
        return SimpleNamespace(formats={}, formulas={"x": [formula] * n}, row_formats={}, filter={})

    assert fast_sheet(frame, spec("=A1+1"), styles, 0) is not None
    assert fast_sheet(frame, spec("=XLOOKUP(A1,B:B,C:C)"), styles, 0) is None
    assert fast_sheet(frame, spec("{=SUM(A1:A2)}"), styles, 0) is None
    assert fast_sheet(frame, spec("=_xlfn.STDEV.S(A1:A9)"), styles, 0) is None


def test_all_plain_agrees_with_the_per_formula_test():
    """The column-at-once test (report_fast.all_plain) says what is_plain_formula says of each formula,
    in a column of plain formulas wherever the unplain one sits, and at the edges of the names
    (a name must follow a non-word character, SINGLE a non-space one)."""
    from capacity.output.report_cells import is_plain_formula
    from capacity.output.report_fast import all_plain

    cases = ["=SORT(A1)", "=x+SINGLE(A1)", "=SINGLE(A1)", "= SINGLE(A1)", "=XSORT(A1)", "=A.SORT(1)",
             "=ANCHORARRAY(A1)", "=A1+ZANCHORARRAY(A1)", "=1+ SORT(2)", "=sort(1)", '=IF(A1>0,1,"")',
             "=_xlfn.STDEV.S(A1:A9)", "{=SUM(A1:A2)}", "=A1+\nXLOOKUP(A1,B:B,C:C)", "=SUM(work!G2:G9)"]
    for f in cases:
        expected = is_plain_formula(f) and not f.startswith("{")
        assert all_plain([f]) == expected, f
        assert all_plain(["=A1*2", None, f, "", "=IF(B2>1E-9,C2/B2,1)"]) == expected, f
    assert [all_plain([f]) for f in cases].count(True) == 5   # XSORT, ZANCHORARRAY, sort, IF, SUM
    assert all_plain([None, ""]) and not all_plain(["=A1", 3])


def test_record_write_seconds_rewrites_only_the_run_sheet(tmp_path):
    """The sentinel becomes the seconds; every other member is copied as stored (same compressed bytes)."""
    import zipfile

    from capacity.output.provenance import WRITE_SECONDS_SENTINEL, record_write_seconds

    path = tmp_path / "book.xlsx"
    run = pd.DataFrame({"key": ["seconds_solve", "seconds_write"], "value": [1.5, WRITE_SECONDS_SENTINEL]})
    write_report(path, [SheetSpec("plan", _frame()), SheetSpec("run", run)])
    with zipfile.ZipFile(path) as z:
        before = {i.filename: (i.CRC, i.compress_size) for i in z.infolist()}
    record_write_seconds(path, 12.34567)
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        after = {i.filename: (i.CRC, i.compress_size) for i in z.infolist()}
    changed = [m for m in before if before[m] != after[m]]
    assert list(after) == list(before) and changed == ["xl/worksheets/sheet2.xml"]
    values = dict(read_workbook(path).sheets["run"].cells[1:])
    assert values == {"seconds_solve": 1.5, "seconds_write": 12.346}
    ws = openpyxl.load_workbook(path)["plan"]
    assert ws["F3"].value == pytest.approx(_frame()["fte"][1])
