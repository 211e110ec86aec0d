"""capacity.output.report: the output workbook is faithful, formatted and safe."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from capacity.output import report
from capacity.output.report import (
    CHART_DATA_SHEET,
    ChartSpec,
    SheetSpec,
    escape_text,
    money_format,
    unescape_text,
    write_report,
)

DANGEROUS = ["=", "+", "-", "@", "\t", "\r"]


def _write(tmp_path, sheets, **kw):
    path = tmp_path / "out.xlsx"
    write_report(path, sheets, **kw)
    return path


def _load(path):
    return openpyxl.load_workbook(path)


def _xml(path, member):
    with zipfile.ZipFile(path) as z:
        return z.read(member).decode("utf-8")


def _sheet_members(path):
    with zipfile.ZipFile(path) as z:
        return [n for n in z.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]


def _plan_frame(n=5):
    return pd.DataFrame({
        "scenario": ["base"] * n,
        "week": np.arange(1, n + 1, dtype=np.int64),
        "week_start": pd.date_range("2025-01-06", periods=n, freq="7D"),
        "fte": np.linspace(0.25, 10.25, n),
        "cost": np.linspace(1000.4, 5000.6, n),
        "utilisation": np.linspace(0.1, 0.9, n),
    })


# ------------------------------------------------------------- escaping
@pytest.mark.parametrize("first", DANGEROUS + ["'"])
def test_escape_text_prefixes_quote_and_round_trips(first):
    s = first + "SUM(A1:A9)"
    assert escape_text(s) == "'" + s
    assert unescape_text(escape_text(s)) == s


@pytest.mark.parametrize("s", ["", "plain", "a=b", "north-east", " =x", "1+1"])
def test_escape_text_leaves_safe_text_alone(s):
    assert escape_text(s) == s
    assert unescape_text(s) == s


@given(st.text(max_size=20))
def test_unescape_inverts_escape(s):
    e = escape_text(s)
    assert unescape_text(e) == s
    assert not e or e[0] not in DANGEROUS


@pytest.mark.parametrize("first", DANGEROUS)
def test_formula_looking_text_is_written_as_escaped_string(tmp_path, first):
    bad = first + "cmd|' /C calc'!A0"
    frame = pd.DataFrame({
        first + "header": [bad, "ok"],                     # escaped header, object column
        "mixed": pd.Series([bad, 3], dtype=object),       # object column with a number
        "id": [bad, 7],                                   # forced text column
    })
    path = _write(tmp_path, [SheetSpec("plan", frame, formats={"id": "text"})],
                  charts=[ChartSpec("plan", "F2", "column", "t",
                                    pd.DataFrame({"cat": [bad], first + "series": [1.0]}))])
    wb = _load(path)
    ws = wb["plan"]
    # Headers are escaped too; a line break in a header becomes a space.
    assert ws["A1"].value == "'" + first.replace("\r", " ") + "header"
    assert ws["A1"].data_type == "s"
    for ref in ("A2", "B2", "C2"):
        # XlsxWriter stores CR as _x000D_, which Excel decodes and openpyxl does not.
        assert ws[ref].value.replace("_x000D_", "\r") == "'" + bad, ref
        assert ws[ref].data_type == "s", ref
    assert ws["B3"].value == 3 and ws["B3"].data_type == "n"
    assert ws["C3"].value == "7" and ws["C3"].data_type == "s"  # "text" keeps ids as text
    assert unescape_text(ws["A2"].value.replace("_x000D_", "\r")) == bad
    assert dict(ws.tables.items()) == {"tbl_plan": "A1:C3"}
    cd = wb[CHART_DATA_SHEET]
    assert cd["A2"].value.replace("_x000D_", "\r") == "'" + bad and cd["B1"].value == "'" + first.replace("\r", " ") + "series"
    # No formula anywhere in any sheet.
    for member in _sheet_members(path):
        assert "<f>" not in _xml(path, member) and "<f " not in _xml(path, member)


def test_urls_and_numeric_strings_stay_plain_strings(tmp_path):
    frame = pd.DataFrame({"s": ["https://example.com", "0012", "1e5"]})
    ws = _load(_write(tmp_path, [SheetSpec("run", frame)]))["run"]
    assert [ws.cell(r, 1).value for r in (2, 3, 4)] == ["https://example.com", "0012", "1e5"]
    assert all(ws.cell(r, 1).data_type == "s" for r in (2, 3, 4))
    assert not ws._hyperlinks


# ------------------------------------------------------------- values
def test_missing_values_are_blank_and_types_are_native(tmp_path):
    frame = pd.DataFrame({
        "f": [1.5, np.nan, np.inf],
        "o": pd.Series(["x", None, np.nan], dtype=object),
        "s": pd.Series(["x", None, "y"], dtype="string"),
        "d": pd.to_datetime(["2025-01-06", None, "2025-02-03"]),
        "tz": pd.to_datetime(["2025-01-06 10:00", None, "2025-02-03 00:00"]).tz_localize("Europe/London"),
        "n": pd.array([1, None, 3], dtype="Int64"),
        "b": [True, False, True],
        "nb": pd.array([True, None, False], dtype="boolean"),
        "i": np.array([1, 2, 3], dtype=np.int32),
        "od": pd.Series([dt.date(2025, 3, 1), pd.NaT, np.int64(4)], dtype=object),
        "ob": pd.Series([np.bool_(True), np.float32(2.5), pd.NA], dtype=object),
    })
    path = _write(tmp_path, [SheetSpec("plan", frame)])
    ws = _load(path)["plan"]
    row = {c.value: i + 1 for i, c in enumerate(ws[1])}

    def cell(col, r):
        return ws.cell(r, row[col])

    for col in ["f", "o", "s", "d", "tz", "n", "nb", "od"]:
        assert cell(col, 3).value is None, col
        assert cell(col, 3).data_type == "n", col  # blank: not an error, not 'nan'
    assert cell("ob", 4).value is None
    assert cell("f", 2).value == 1.5
    # inf becomes Excel's #DIV/0! error (XlsxWriter's nan_inf_to_errors), not a number.
    assert cell("f", 4).value == "=1/0"
    cached = openpyxl.load_workbook(path, data_only=True)["plan"].cell(4, row["f"])
    assert cached.value == "#DIV/0!" and cached.data_type == "e"
    assert cell("d", 2).value == dt.datetime(2025, 1, 6)
    assert cell("d", 2).number_format == "yyyy-mm-dd"  # dates default to the date format
    assert cell("tz", 2).value == dt.datetime(2025, 1, 6, 10, 0)  # local wall time
    assert cell("od", 2).value == dt.datetime(2025, 3, 1)
    assert cell("od", 4).value == 4 and cell("od", 4).data_type == "n"
    assert cell("n", 4).value == 3 and cell("n", 4).data_type == "n"
    assert cell("i", 2).value == 1 and cell("i", 2).data_type == "n"
    assert cell("b", 2).value is True and cell("b", 2).data_type == "b"
    assert cell("b", 3).value is False
    assert cell("nb", 4).value is False and cell("nb", 4).data_type == "b"
    assert cell("ob", 2).value is True and cell("ob", 2).data_type == "b"
    assert cell("ob", 3).value == 2.5
    for c in ws[3]:
        assert c.value != "nan"


def test_named_index_becomes_columns_and_unnamed_index_is_dropped(tmp_path):
    named = pd.DataFrame({"v": [1.0, 2.0]}, index=pd.Index(["a", "b"], name="unit"))
    unnamed = pd.DataFrame({"v": [1.0, 2.0]}, index=[10, 20])
    wb = _load(_write(tmp_path, [SheetSpec("named", named), SheetSpec("unnamed", unnamed)]))
    assert [c.value for c in wb["named"][1]] == ["unit", "v"]
    assert wb["named"]["A3"].value == "b"
    assert [c.value for c in wb["unnamed"][1]] == ["v"]


# ------------------------------------------------------------- formats
@pytest.mark.parametrize("currency,expected", [
    ("GBP", '"£"#,##0'), ("EUR", '"€"#,##0'), ("USD", '"$"#,##0'), ("chf", '#,##0 "CHF"'),
    ("£", '#,##0 "£"'), ("EURO", '#,##0 "EURO"'), ('G"B', '#,##0 \\G\\"\\B'),
])
def test_money_format_by_currency(tmp_path, currency, expected):
    assert money_format(currency) == expected
    frame = pd.DataFrame({"cost": [1234.5]})
    ws = _load(_write(tmp_path, [SheetSpec("plan", frame, formats={"cost": "money"})],
                      currency=currency))["plan"]
    assert ws["A2"].number_format == expected


@pytest.mark.parametrize("bad", ["", "   ", "\x01", "x" * 13, None])
def test_bad_currency_is_refused(tmp_path, bad):
    with pytest.raises(ValueError):
        _write(tmp_path, [SheetSpec("plan", pd.DataFrame({"a": [1]}))], currency=bad)
    assert not (tmp_path / "out.xlsx").exists()


def test_every_named_format_is_applied_to_every_data_cell(tmp_path):
    formats = {"fte": "fte", "money": "money", "share": "share", "int": "int",
               "date": "date", "number": "number", "hours": "hours", "text": "text"}
    frame = pd.DataFrame({
        "fte": [1.25, 2.0, np.nan], "money": [10.6, 20.0, 30.0], "share": [0.5, 0.25, 1.0],
        "int": [1, 2, 3], "date": pd.to_datetime(["2025-01-06"] * 3), "number": [1.5, 2.5, 3.5],
        "hours": [37.5, 0.0, 1.0], "text": ["a", "b", "c"], "plain": [1.5, 2.5, 3.5],
    })
    ws = _load(_write(tmp_path, [SheetSpec("plan", frame, formats=formats)]))["plan"]
    expected = {"fte": "#,##0.0", "money": '"£"#,##0', "share": "0.0%", "int": "#,##0",
                "date": "yyyy-mm-dd", "number": "#,##0.00", "hours": "#,##0.0", "text": "@",
                "plain": "General"}
    for j, name in enumerate(frame.columns, 1):
        assert ws.cell(1, j).value == name
        for r in (2, 3):
            assert ws.cell(r, j).number_format == expected[name], (name, r)


def test_row_formats_format_key_value_sheets(tmp_path):
    summary = pd.DataFrame({"key": ["status", "objective", "expected_completion_share", "mip_gap"],
                            "value": pd.Series(["optimal", 123456.7, 0.934, 0.0001], dtype=object)})
    ws = _load(_write(tmp_path, [SheetSpec(
        "summary", summary, note="Run summary",
        row_formats={"objective": "money", "expected_completion_share": "share"})]))["summary"]
    assert ws["B2"].value == "optimal"
    assert ws["B3"].value == 123456.7 and ws["B3"].number_format == '"£"#,##0'
    assert ws["B4"].number_format == "0.0%"
    assert ws["B5"].number_format == "General"
    assert ws.tables["tbl_summary"].ref == "A1:B5"
    assert ws["A1"].comment.text == "Run summary"
    assert ws.max_row == 5  # the note is a comment, not a row


def test_column_widths_follow_content(tmp_path):
    frame = pd.DataFrame({"a": ["x" * 30, "y"], "b": [1.0, 2.0], "c": ["z" * 500, "w"]})
    ws = _load(_write(tmp_path, [SheetSpec("plan", frame)]))["plan"]
    assert ws.column_dimensions["A"].width > ws.column_dimensions["B"].width >= 8
    assert 30 <= ws.column_dimensions["A"].width <= 40
    assert ws.column_dimensions["C"].width <= 61  # capped


def test_bad_specs_are_refused_before_writing(tmp_path):
    f = pd.DataFrame({"a": [1.0]})
    cases = [
        [SheetSpec("plan", f, formats={"a": "percent"})],       # unknown format
        [SheetSpec("plan", f, formats={"b": "fte"})],           # format for a missing column
        [SheetSpec("plan", f), SheetSpec("PLAN", f)],           # duplicate (case-insensitive)
        [SheetSpec("chart_data", f)],                            # reserved
        [SheetSpec("a/b", f)],                                   # forbidden character
        [SheetSpec("x" * 32, f)],                                # too long
    ]
    for sheets in cases:
        with pytest.raises(ValueError):
            _write(tmp_path, sheets)
    chart_cases = [
        ChartSpec("nope", "D2", "line", "t", pd.DataFrame({"w": [1], "v": [1.0]})),
        ChartSpec("plan", "D2", "pie", "t", pd.DataFrame({"w": [1], "v": [1.0]})),
        ChartSpec("plan", "2D", "line", "t", pd.DataFrame({"w": [1], "v": [1.0]})),
        ChartSpec("plan", "D2", "line", "t", pd.DataFrame({"w": [1]})),
    ]
    for chart in chart_cases:
        with pytest.raises(ValueError):
            _write(tmp_path, [SheetSpec("plan", f)], charts=[chart])
    assert not (tmp_path / "out.xlsx").exists()


# ------------------------------------------------------------- tables
def test_tables_exactly_cover_the_data_with_frozen_header(tmp_path):
    sheets = [
        SheetSpec("summary", pd.DataFrame({"key": ["status"], "value": ["optimal"]})),
        SheetSpec("plan", _plan_frame(7), formats={"fte": "fte"}),
        SheetSpec("shadow prices", pd.DataFrame({"constraint": [], "value": []})),
        SheetSpec("A1", pd.DataFrame({"x": [1, 2]})),
    ]
    wb = _load(_write(tmp_path, sheets))
    assert wb.sheetnames == ["summary", "plan", "shadow prices", "A1"]  # order given, no chart_data
    assert dict(wb["summary"].tables.items()) == {"tbl_summary": "A1:B2"}
    assert dict(wb["plan"].tables.items()) == {"tbl_plan": "A1:F8"}
    # Excel tables need one data row: an empty frame gets a single blank row.
    assert dict(wb["shadow prices"].tables.items()) == {"tbl_shadow_prices": "A1:B2"}
    assert dict(wb["A1"].tables.items()) == {"tbl_A1": "A1:A3"}
    for ws in wb:
        assert ws.freeze_panes == "A2"
        table = next(iter(ws.tables.values()))
        assert table.tableStyleInfo.showRowStripes
        assert table.autoFilter is not None
        assert [c.name for c in table.tableColumns] == [c.value for c in ws[1]]


def test_duplicate_and_empty_headers_are_made_valid(tmp_path):
    frame = pd.DataFrame([[1, 2, 3, 4]], columns=["a", "A", "", 5])
    ws = _load(_write(tmp_path, [SheetSpec("plan", frame)]))["plan"]
    assert [c.value for c in ws[1]] == ["a", "A_2", "column_3", "5"]
    assert ws.tables["tbl_plan"].ref == "A1:D2"


def test_huge_sheet_gets_autofilter_instead_of_table(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "TABLE_MAX_CELLS", 10)
    frame = pd.DataFrame({"a": range(6), "b": [0.5] * 6})
    ws = _load(_write(tmp_path, [SheetSpec("plan", frame, formats={"b": "share"})]))["plan"]
    assert not ws.tables
    assert ws.auto_filter.ref == "A1:B7"
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.b and ws["B7"].number_format == "0.0%"


def test_frame_over_row_limit_is_split_with_notes(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "MAX_ROWS", 11)  # 10 data rows per sheet
    frame = pd.DataFrame({"row": np.arange(25), "fte": np.arange(25) / 4})
    sheets = [SheetSpec("summary", pd.DataFrame({"key": ["k"], "value": [1]})),
              SheetSpec("plan", frame, formats={"fte": "fte"}, note="Plan by week"),
              SheetSpec("work", pd.DataFrame({"x": [1]}))]
    path = _write(tmp_path, sheets, charts=[
        ChartSpec("plan", "E2", "line", "t", pd.DataFrame({"w": [1, 2], "v": [1.0, 2.0]}))])
    wb = _load(path)
    assert wb.sheetnames == ["summary", "plan", "plan_2", "plan_3", "work", CHART_DATA_SHEET]
    got = []
    for name, n in [("plan", 10), ("plan_2", 10), ("plan_3", 5)]:
        ws = wb[name]
        assert ws.tables[f"tbl_{name}"].ref == f"A1:B{n + 1}"
        assert [c.value for c in ws[1]] == ["row", "fte"]
        assert ws.freeze_panes == "A2"
        assert ws["B2"].number_format == "#,##0.0"
        note = ws["A1"].comment.text
        assert "Plan by week" in note and "plan, plan_2, plan_3" in note and "of 25" in note
        got += [ws.cell(r, 1).value for r in range(2, n + 2)]
    assert got == list(range(25))
    assert "rows 11-20 of 25" in wb["plan_2"]["A1"].comment.text
    # The chart is on the first part.
    rels = _xml(path, "xl/worksheets/_rels/sheet2.xml.rels")
    assert "drawing" in rels


def test_long_sheet_name_split_stays_within_31_chars(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "MAX_ROWS", 3)
    name = "x" * 31
    wb = _load(_write(tmp_path, [SheetSpec(name, pd.DataFrame({"a": range(5)}))]))
    assert wb.sheetnames == [name, "x" * 29 + "_2", "x" * 29 + "_3"]


# ------------------------------------------------------------- charts
def test_charts_are_native_and_reference_chart_data(tmp_path):
    fte = pd.DataFrame({"week": [1, 2, 3], "agency": [1.0, 2.0, 3.0], "=staff": [4.0, 5.0, np.nan]})
    share = pd.DataFrame({"week": [1, 2, 3, 4], "completion": [0.5, 0.75, 0.9, 1.0]})
    summary = pd.DataFrame({"key": ["status"], "value": ["optimal"]})
    path = _write(tmp_path, [SheetSpec("summary", summary), SheetSpec("plan", _plan_frame())], charts=[
        ChartSpec("summary", "D2", "column_stacked", "Expected FTE by source", fte,
                  y_title="FTE", x_title="week"),
        ChartSpec("summary", "D20", "line", "Completion share", share, y_format="share"),
        ChartSpec("plan", "H2", "bar", "Cost by source", share),
    ])
    wb = _load(path)
    assert wb.sheetnames[-1] == CHART_DATA_SHEET
    cd = wb[CHART_DATA_SHEET]
    assert dict(cd.tables.items()) == {"tbl_chart_1": "A1:C4", "tbl_chart_2": "E1:F5",
                                       "tbl_chart_3": "H1:I5"}
    assert cd["F2"].number_format == "0.0%"  # data cells carry y_format
    assert cd["C4"].value is None

    c1 = _xml(path, "xl/charts/chart1.xml")
    refs = re.findall(r"<c:f>([^<]*)</c:f>", c1)
    assert refs == ["chart_data!$B$1", "chart_data!$A$2:$A$4", "chart_data!$B$2:$B$4",
                    "chart_data!$C$1", "chart_data!$A$2:$A$4", "chart_data!$C$2:$C$4"]
    assert '<c:grouping val="stacked"/>' in c1 and "<c:barDir val=\"col\"/>" in c1
    assert "Expected FTE by source" in c1 and ">FTE<" in c1 and ">week<" in c1
    assert "<c:numLit>" not in c1 and "<c:strLit>" not in c1  # no literal arrays

    c2 = _xml(path, "xl/charts/chart2.xml")
    assert "<c:lineChart>" in c2
    assert re.findall(r"<c:f>([^<]*)</c:f>", c2) == [
        "chart_data!$F$1", "chart_data!$E$2:$E$5", "chart_data!$F$2:$F$5"]
    assert 'formatCode="0%"' in c2
    assert "<c:legend>" not in c2  # a single series needs no legend

    c3 = _xml(path, "xl/charts/chart3.xml")
    assert '<c:barDir val="bar"/>' in c3 and "chart_data!$I$2:$I$5" in c3
    # Charts 1 and 2 are drawn on summary (sheet1), chart 3 on plan (sheet2).
    d1 = _xml(path, "xl/drawings/_rels/drawing1.xml.rels")
    d2 = _xml(path, "xl/drawings/_rels/drawing2.xml.rels")
    assert "chart1.xml" in d1 and "chart2.xml" in d1 and "chart3.xml" in d2
    assert "drawing1.xml" in _xml(path, "xl/worksheets/_rels/sheet1.xml.rels")


def test_chart_with_empty_data_still_writes_a_valid_table(tmp_path):
    empty = pd.DataFrame({"week": pd.Series([], dtype=int), "fte": pd.Series([], dtype=float)})
    path = _write(tmp_path, [SheetSpec("summary", pd.DataFrame({"key": ["a"], "value": [1]}))],
                  charts=[ChartSpec("summary", "D2", "column", "empty", empty)])
    assert _load(path)[CHART_DATA_SHEET].tables["tbl_chart_1"].ref == "A1:B2"
    assert "<c:f>chart_data!$B$2</c:f>" in _xml(path, "xl/charts/chart1.xml")


# ------------------------------------------------------------- LibreOffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_opens_the_workbook(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "TABLE_MAX_CELLS", 100)  # plan: autofilter; others: tables
    frame = _plan_frame(20)
    frame["region"] = ["=1+1", "-x", None, "@a", "\tb"] * 4
    path = _write(tmp_path, [
        SheetSpec("summary", pd.DataFrame({"key": ["status", "objective"],
                                           "value": pd.Series(["optimal", 1.5], dtype=object)}),
                  row_formats={"objective": "money"}, note="summary"),
        SheetSpec("plan", frame, formats={"fte": "fte", "cost": "money", "utilisation": "share"}),
        SheetSpec("empty", pd.DataFrame({"a": []})),
    ], charts=[ChartSpec("summary", "D2", "column_stacked", "FTE",
                         frame[["week", "fte", "cost"]], y_format="fte")])
    out = tmp_path / "pdf"
    profile = tmp_path / "lo_profile"
    proc = subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
         "--convert-to", "pdf", "--outdir", str(out), str(path)],
        capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    pdf = out / "out.pdf"
    assert pdf.exists() and pdf.stat().st_size > 1000
    wb = _load(path)
    assert not wb["plan"].tables and wb["plan"].auto_filter.ref == "A1:G21"
    assert wb["summary"].tables["tbl_summary"].ref == "A1:B3"


def test_scatter_chart_over_a_sheets_cells_with_its_flags_written_off(tmp_path):
    """A ScatterSpec is XlsxWriter's scatter chart over the host sheet's own columns, one labelled point per
    label; its smoothing and label flags are written as off (LibreOffice reads absent ones as on)."""
    from capacity.output.report import ScatterSpec

    frame = pd.DataFrame({"name": ["a", "b", "c"], "cost": [3.0, 2.0, 1.0], "risk": [1.0, 2.0, 4.0]})
    path = tmp_path / "s.xlsx"
    write_report(path, [SheetSpec("points", frame)],
                 charts=[ScatterSpec("points", "E2", "cost against risk", x="risk", y="cost",
                                     x_bounds=(0, 5, 1), labels=[(0, "first"), (2, "last")])])
    ch = openpyxl.load_workbook(path)["points"]._charts[0]
    assert ch.series[0].xVal.numRef.f == "'points'!$C$2:$C$4" and ch.series[0].yVal.numRef.f == "'points'!$B$2:$B$4"
    assert [s.tx.v for s in ch.series[1:]] == ["first", "last"]
    assert ch.series[2].xVal.numRef.f == "'points'!$C$4:$C$4"
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/charts/chart1.xml").decode()
    assert xml.count('<c:smooth val="0"/>') == 3
    assert xml.count('<c:showVal val="0"/>') == 2 and xml.count('<c:showSerName val="1"/>') == 2
    with pytest.raises(ValueError, match="has no column 'price'"):
        write_report(tmp_path / "t.xlsx", [SheetSpec("points", frame)],
                     charts=[ScatterSpec("points", "E2", "x", x="price", y="cost")])
    assert not (tmp_path / "t.xlsx").exists()
