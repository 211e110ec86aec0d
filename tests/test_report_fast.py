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
