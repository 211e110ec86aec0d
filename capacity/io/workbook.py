"""Write input workbooks from the schema: the blank template and examples.

Headers, the README sheet, drop-down lists (enumerations and ids of other
sheets) and number checks all come from :mod:`capacity.io.schema`; nothing here
restates a column's rule. Text is always written as text (never a formula).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from capacity.io import schema as S
from capacity.io.errors import col_letter

VALIDATION_ROWS = 2000  # rows below the header that carry drop-downs and checks


def _key_column_letter(sheet_name: str) -> str:
    sheet = S.SHEETS_BY_NAME[sheet_name]
    return col_letter(sheet.column_names.index(sheet.key[0]))


def _validation(col: S.Column) -> dict | None:
    """Excel data validation for a column, from its schema rule."""
    if col.type == S.ENUM:
        return {"validate": "list", "source": list(col.choices)}
    if col.type == S.REF:
        letter = _key_column_letter(col.ref)
        return {"validate": "list", "source": f"={col.ref}!${letter}$2:${letter}${VALIDATION_ROWS + 1}"}
    if col.type in (S.NUMBER, S.INT):
        kind = "integer" if col.type == S.INT else "decimal"
        lo = col.ge if col.ge is not None else col.gt
        hi = col.le if col.le is not None else col.lt if col.lt is not None else col.max_value
        if lo is not None and hi is not None:
            rule = {"criteria": "between", "minimum": lo, "maximum": hi}
        elif lo is not None:
            rule = {"criteria": ">=" if col.ge is not None else ">", "value": lo}
        else:
            return None
        return {"validate": kind, **rule, "error_title": col.name,
                "error_message": f"{col.name} must be {col.rule_text()}"[:255]}
    return None


def write_input_workbook(
    path: str | Path,
    tables: dict[str, Any] | None = None,
    *,
    weeks: int | None = None,
    notes: Iterable[tuple[str, str, str]] = (),
    title: str = "capacity input workbook",
) -> None:
    """Write an input workbook.

    ``tables`` maps sheet name to a DataFrame (or list of dicts) with the
    schema's column names; wide sheets have integer week columns. ``settings``
    may be a dict {key: value}. Missing sheets are written with headers only.
    ``notes`` adds rows (item, value, source) to the README sheet, for
    examples that must cite where each number came from.
    """
    import xlsxwriter

    tables = dict(tables or {})
    settings = tables.get("settings") or {}
    weeks = weeks or settings.get("weeks") or 0
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                           "nan_inf_to_errors": True})
    fmt = {
        "head": book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1}),
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "title": book.add_format({"bold": True, "font_size": 14}),
        "bold": book.add_format({"bold": True}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
    }
    _write_readme(book, fmt, title, list(notes))
    for sheet in S.SHEETS:
        ws = book.add_worksheet(sheet.name)
        if sheet.layout == S.SETTINGS:
            _write_settings(ws, fmt, settings)
            continue
        headers: list[Any] = sheet.column_names + (list(range(1, weeks + 1)) if sheet.layout == S.WIDE else [])
        for c0, h in enumerate(headers):
            if isinstance(h, int):
                ws.write_number(0, c0, h, fmt["head"])
            else:
                ws.write_string(0, c0, h, fmt["head"])
            ws.set_column(c0, c0, max(10, len(str(h)) + 2) if not isinstance(h, int) else 7)
        ws.freeze_panes(1, len(sheet.key) if sheet.layout == S.WIDE else 1)
        for c0, col in enumerate(sheet.columns):
            rule = _validation(col)
            if rule:
                ws.data_validation(1, c0, VALIDATION_ROWS, c0, rule)
            ws.write_comment(0, c0, f"{col.describe()}; {col.default_text()}. {col.doc}"[:1000],
                             {"x_scale": 2, "y_scale": 1.2})
        if sheet.week_column is not None and weeks:
            rule = _validation(sheet.week_column)
            ws.data_validation(1, len(sheet.columns), VALIDATION_ROWS, len(headers) - 1, rule)
        _write_rows(ws, fmt, headers, tables.get(sheet.name))
    book.close()


def _write_settings(ws, fmt, settings: dict) -> None:
    ws.write_string(0, 0, "key", fmt["head"])
    ws.write_string(0, 1, "value", fmt["head"])
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 14)
    ws.freeze_panes(1, 0)
    for r0, col in enumerate(S.SETTINGS_SHEET.columns, start=1):
        ws.write_string(r0, 0, col.name)
        value = settings.get(col.name, None if col.required else col.default)
        _write_cell(ws, fmt, r0, 1, value)
        ws.write_comment(r0, 0, f"{col.doc} ({col.describe()}; {col.default_text()})", {"x_scale": 2})
        rule = _validation(col)
        if rule:
            ws.data_validation(r0, 1, r0, 1, rule)


def _write_rows(ws, fmt, headers: list, table: Any) -> None:
    if table is None:
        return
    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(list(table))
    for r0, row in enumerate(frame.itertuples(index=False), start=1):
        record = dict(zip(frame.columns, row))
        for c0, h in enumerate(headers):
            _write_cell(ws, fmt, r0, c0, record.get(h))


def _write_cell(ws, fmt, r0: int, c0: int, value: Any) -> None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return
    if isinstance(value, bool):
        ws.write_boolean(r0, c0, value)
    elif isinstance(value, (int, float)):
        ws.write_number(r0, c0, float(value))
    elif isinstance(value, (dt.date, dt.datetime)):
        ws.write_datetime(r0, c0, dt.datetime.combine(value, dt.time()) if not isinstance(value, dt.datetime)
                          else value, fmt["date"])
    else:
        ws.write_string(r0, c0, str(value))


def readme_rows() -> list[tuple[str, str, str, str, str]]:
    """(sheet, column, rule, default, meaning) for every column: the README
    sheet and docs/workbook.md are both made from this."""
    rows = []
    for sheet in S.SHEETS:
        for col in sheet.columns:
            rows.append((sheet.name, col.name, col.rule_text(), col.default_text(), col.doc))
        if sheet.week_column is not None:
            wc = sheet.week_column
            rows.append((sheet.name, "1 .. weeks", wc.rule_text(), wc.default_text(), wc.doc))
    return rows


def _write_readme(book, fmt, title: str, notes: list[tuple[str, str, str]]) -> None:
    ws = book.add_worksheet("README")
    ws.set_column(0, 0, 16)
    ws.set_column(1, 1, 24)
    ws.set_column(2, 2, 34)
    ws.set_column(3, 3, 22)
    ws.set_column(4, 4, 90)
    ws.write_string(0, 0, title, fmt["title"])
    ws.write_string(1, 0, "One sheet per table; the first row holds the column names (lower-case). "
                          "This README sheet is ignored by the model. Run `capacity validate FILE.xlsx` to check.")
    r0 = 3
    if notes:
        ws.write_string(r0, 0, "About this example: every number with its source (or 'assumption')", fmt["bold"])
        r0 += 1
        for c0, h in enumerate(("item", "value", "source")):
            ws.write_string(r0, c0, h, fmt["head"])
        for item, value, source in notes:
            r0 += 1
            for c0, text in enumerate((item, value, source)):
                ws.write_string(r0, c0, str(text), fmt["wrap"] if c0 == 2 else None)
        r0 += 2
    ws.write_string(r0, 0, "Sheets", fmt["bold"])
    for sheet in S.SHEETS:
        r0 += 1
        ws.write_string(r0, 0, sheet.name)
        ws.write_string(r0, 1, sheet.doc)
    r0 += 2
    ws.write_string(r0, 0, "Columns", fmt["bold"])
    r0 += 1
    for c0, h in enumerate(("sheet", "column", "rule", "default", "meaning")):
        ws.write_string(r0, c0, h, fmt["head"])
    for row in readme_rows():
        r0 += 1
        for c0, text in enumerate(row):
            ws.write_string(r0, c0, text)
    r0 += 2
    ws.write_string(r0, 0, "Rules across cells and sheets", fmt["bold"])
    for rule in S.CROSS_RULES:
        r0 += 1
        ws.write_string(r0, 0, "-")
        ws.write_string(r0, 1, rule)
