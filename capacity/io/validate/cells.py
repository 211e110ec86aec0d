"""Pass 1 of validation: read every cell of a sheet by its schema column rule.

Each cell is parsed by its :class:`~capacity.io.schema.Column` (the schema is the
only place a column's rule lives). A bad cell is reported as
``sheet!CELL: <column> must be <rule>, got <value>``. The result of a sheet is
a :class:`Parsed`: its records plus where each value came from, which the
cross-sheet rules (:mod:`capacity.io.validate.rules`) and the assembly of
:class:`~capacity.io.inputs.Inputs` (:mod:`capacity.io.validate.assemble`) use.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from capacity.io import schema as S
from capacity.io.errors import ERROR, WARNING, Issue, cell_ref, number_ranges
from capacity.io.reader import RawSheet, as_cell_error

BLANK = object()


# --------------------------------------------------------------------------
# Parsed sheets: values with their positions
# --------------------------------------------------------------------------
@dataclass
class Parsed:
    """A sheet after the cell pass: records plus where each value came from."""

    sheet: S.Sheet
    records: list[dict[str, Any]] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # 0-based grid row of each record
    cols: dict[Any, int] = field(default_factory=dict)  # column name (or week int) -> 0-based col
    weeks: dict[int, int] = field(default_factory=dict)  # WIDE: week -> 0-based col
    bad: set[tuple[int, str]] = field(default_factory=set)  # (record idx, column) that failed
    key_rows: dict[str, int] = field(default_factory=dict)  # settings: key -> 0-based row of its value

    def cell(self, i: int, column: Any) -> str:
        """'C7' of record i's cell in column (the first key column if unknown)."""
        col0 = self.cols.get(column)
        if col0 is None:
            col0 = self.cols.get(self.sheet.key[0], 0) if self.sheet.key else 0
        return cell_ref(self.rows[i], col0)

    def header(self, column: Any) -> str:
        return cell_ref(0, self.cols.get(column, 0))

    def key_of(self, i: int):
        rec = self.records[i]
        values = tuple(rec.get(k) for k in self.sheet.key)
        return values[0] if len(values) == 1 else values

    def ids(self) -> list:
        return [self.key_of(i) for i in range(len(self.records))]


#: A workbook after the cell pass: its parsed sheets by name.
Book = dict[str, Parsed]


class Collector:
    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def error(self, sheet: str, cell: str, message: str) -> None:
        self.issues.append(Issue(sheet, cell, message, ERROR))

    def warn(self, sheet: str, cell: str, message: str) -> None:
        self.issues.append(Issue(sheet, cell, message, WARNING))

    @property
    def has_errors(self) -> bool:
        return any(i.level == ERROR for i in self.issues)


# --------------------------------------------------------------------------
# Cell parsing by column rule
# --------------------------------------------------------------------------
def is_blank(value: Any) -> bool:
    """None, NaN, pd.NA or text of only spaces: what every reader of a cell (and the model,
    reading the typed inputs) treats as blank."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, str) and value.strip() == "":
        return True
    return isinstance(value, float) and math.isnan(value)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"text {value!r}" if _looks_numeric(value) or _looks_date(value) else repr(value)
    if isinstance(value, bool):
        return f"{value!r} (a true/false value)"
    if isinstance(value, (dt.datetime, dt.date)):
        return f"the date {value.isoformat()}"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _looks_numeric(text: str) -> bool:
    try:
        float(text.strip().replace(",", "").replace("_", ""))
        return True
    except ValueError:
        return False


def _looks_date(text: str) -> bool:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            dt.datetime.strptime(text.strip(), fmt)
            return True
        except ValueError:
            pass
    return False


def _hint(col: S.Column, value: Any) -> str:
    if isinstance(value, str) and col.type in (S.INT, S.NUMBER) and _looks_numeric(value):
        return " (a number stored as text: re-enter it as a number)"
    if isinstance(value, str) and col.type == S.DATE and _looks_date(value):
        return " (a date stored as text: re-enter it as a date)"
    if isinstance(value, str) and col.type == S.ENUM and value.strip().lower() in col.choices:
        return " (values are lower-case)"
    return ""


def parse_value(col: S.Column, value: Any) -> tuple[Any, str | None]:
    """Return (parsed value or BLANK, error message or None)."""
    problem = cell_problem(value)
    if problem:
        return BLANK, f"{col.name} must be {col.describe()}, got {problem}"
    if is_blank(value):
        if col.required:
            return BLANK, f"{col.name} is required ({col.describe()})"
        return BLANK, None
    bad = f"{col.name} must be {col.describe()}, got {_show(value)}{_hint(col, value)}"
    if col.type in (S.ID, S.TEXT, S.REF):
        if isinstance(value, bool):
            return BLANK, bad
        text = id_text(value)
        if col.max_chars and (len(text) > col.max_chars or not text.isprintable()):
            return BLANK, bad
        return text, None
    if col.type == S.ENUM:
        text = str(value).strip() if isinstance(value, str) else None
        return (text, None) if text in col.choices else (BLANK, bad)
    if col.type == S.DATE:
        if isinstance(value, dt.datetime):
            return value.date(), None
        if isinstance(value, dt.date):
            return value, None
        return BLANK, bad
    # numbers
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return BLANK, bad
    number = float(value)
    if col.type == S.INT:
        if not number.is_integer():
            return BLANK, bad
        number = int(number)
    if not col.in_range(number):
        return BLANK, bad
    if not col.within_limits(number):
        return BLANK, (f"{col.name} must be {col.limits_text()}, got {_show(value)}: values beyond these "
                       "limits cannot be solved reliably (see models/README.md, numeric range)")
    return number, None


def cell_problem(value: Any) -> str | None:
    """What makes a cell unreadable whatever its column: an Excel error value,
    NaN, or text longer than a cell may hold; None if it is readable."""
    err = as_cell_error(value)
    if err is not None:
        return err.describe() + ("; fix the formula or the cell" if err.code != "NaN" else "")
    if isinstance(value, str) and len(value) >= S.MAX_TEXT:
        return (f"text of {len(value):,} characters (a cell holds at most {S.MAX_TEXT - 1:,} here; "
                "Excel cuts text at 32,767, so longer text may have been cut)")
    return None


def id_text(value: Any) -> str:
    """A text or id cell as the validator reads it: 2020.0 -> '2020', dates in
    ISO form, text trimmed. Shared with :mod:`capacity.analysis.variants`, which must
    find rows by id exactly as validation names them."""
    if is_blank(value):
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value).strip()


def week_of(header: Any) -> int | None:
    """A wide sheet's week header: 3, 3.0 or '3' -> 3; anything else None."""
    if isinstance(header, bool):
        return None
    if isinstance(header, (int, float)) and float(header).is_integer():
        return int(header)
    if isinstance(header, str) and re.fullmatch(r"[0-9]{1,9}", header.strip()):
        return int(header.strip())  # ASCII digits only: '²'.isdigit() is True
    return None


# --------------------------------------------------------------------------
# Pass 1: cells
# --------------------------------------------------------------------------
def _header(raw: RawSheet, sheet: S.Sheet, out: Collector, weeks: int | None) -> Parsed:
    parsed = Parsed(sheet)
    known = set(sheet.column_names) if sheet.layout != S.SETTINGS else {"key", "value"}
    header = raw.cells[0] if raw.cells else []
    for c0, value in enumerate(header):
        if is_blank(value):
            continue
        where = cell_ref(0, c0)
        problem = cell_problem(value)
        if problem:
            out.error(sheet.name, where, f"column header must be a column name, got {problem}")
            continue
        if sheet.layout == S.WIDE:
            week = week_of(value)
            if week is not None:
                if week in parsed.weeks:
                    out.error(sheet.name, where, f"duplicate week column {week} "
                              f"(first at {cell_ref(0, parsed.weeks[week])})")
                elif weeks is not None and not 1 <= week <= weeks:
                    out.warn(sheet.name, where, f"week column {week} is outside 1..{weeks} (settings weeks); ignored")
                else:
                    parsed.weeks[week] = c0
                    parsed.cols[week] = c0
                continue
            if isinstance(value, str) and value.strip().isdigit():
                out.error(sheet.name, where, f"week column heading {value.strip()[:20]!r} must be a week number "
                          "written with the digits 0-9")
                continue
        name = str(value).strip() if isinstance(value, str) else _show(value)
        if name in parsed.cols:
            out.error(sheet.name, where, f"duplicate column '{name}' (first at {cell_ref(0, parsed.cols[name])})")
        elif name in known:
            parsed.cols[name] = c0
        elif name.lower() in known:
            out.error(sheet.name, where, f"column '{name}' must be written '{name.lower()}' (column names are lower-case)")
        else:
            out.warn(sheet.name, where, f"unknown column '{name}' ignored")
    needed = ["key", "value"] if sheet.layout == S.SETTINGS else [c.name for c in sheet.columns if c.required]
    for name in needed:
        if name not in parsed.cols and not any(
            i.sheet == sheet.name and f"'{name}'" in i.message for i in out.issues
        ):
            out.error(sheet.name, "A1", f"missing required column '{name}'")
    if sheet.layout == S.WIDE and weeks is not None:
        missing = [w for w in range(1, weeks + 1) if w not in parsed.weeks]
        if missing:
            out.error(sheet.name, "A1", f"missing week column(s) {number_ranges(missing)} (need 1..{weeks})")
    return parsed


def parse_sheet(raw: RawSheet, sheet: S.Sheet, out: Collector, weeks: int | None) -> Parsed:
    parsed = _header(raw, sheet, out, weeks)
    if sheet.layout == S.SETTINGS:
        return _parse_settings(raw, parsed, out)
    columns = [c for c in sheet.columns if c.name in parsed.cols]
    for r0 in range(1, len(raw.cells)):
        row = raw.cells[r0]
        used = list(parsed.cols.values())
        if all(is_blank(row[c]) if c < len(row) else True for c in used):
            continue
        record: dict[str, Any] = {}
        i = len(parsed.records)
        parsed.rows.append(r0)
        parsed.records.append(record)
        for col in columns:
            c0 = parsed.cols[col.name]
            value, error = parse_value(col, raw.value(r0, c0))
            if error:
                _cell_error(out, raw, r0, c0, error)
                parsed.bad.add((i, col.name))
            else:
                _check_unusual(out, sheet.name, col, value, r0, c0)
            record[col.name] = None if value is BLANK else value
        if sheet.week_column is not None:
            for week, c0 in parsed.weeks.items():
                value, error = parse_value(sheet.week_column, raw.value(r0, c0))
                if error:
                    _cell_error(out, raw, r0, c0, error)
                    parsed.bad.add((i, week))
                else:
                    _check_unusual(out, sheet.name, sheet.week_column, value, r0, c0)
                record[week] = sheet.week_column.default if value is BLANK else value
    if len(parsed.records) < sheet.min_rows:
        out.error(sheet.name, "A2", f"needs at least {sheet.min_rows} row(s) of data")
    return parsed


def _check_unusual(out: Collector, sheet: str, col: S.Column, value: Any, r0: int, c0: int) -> None:
    """Warn, by cell, about a valid value beyond what is usual for its column."""
    if col.warn_above is not None and isinstance(value, (int, float)) and value > col.warn_above:
        out.warn(sheet, cell_ref(r0, c0), f"{col.name} {_show(value)} is unusually large (above "
                 f"{S.fmt_number(col.warn_above)}); check it")


def _cell_error(out: Collector, raw: RawSheet, r0: int, c0: int, message: str) -> None:
    """Report a bad cell, unless it is a formula without a value (reported once, as such)."""
    if (r0, c0) not in raw.formula_without_value:
        out.error(raw.name, cell_ref(r0, c0), message)


def _parse_settings(raw: RawSheet, parsed: Parsed, out: Collector) -> Parsed:
    sheet = parsed.sheet
    if "key" not in parsed.cols or "value" not in parsed.cols:
        return parsed
    kc, vc = parsed.cols["key"], parsed.cols["value"]
    record: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for r0 in range(1, len(raw.cells)):
        key_raw = raw.value(r0, kc)
        if is_blank(key_raw) and is_blank(raw.value(r0, vc)):
            continue
        key = str(key_raw).strip()
        where = cell_ref(r0, kc)
        problem = cell_problem(key_raw)
        if problem:
            out.error(sheet.name, where, f"key must be a setting name, got {problem}")
            continue
        try:
            col = sheet.column(key)
        except KeyError:
            out.warn(sheet.name, where, f"unknown setting '{key}' ignored")
            continue
        if key in seen:
            out.error(sheet.name, where, f"duplicate setting '{key}' (first at {cell_ref(seen[key], kc)})")
            continue
        seen[key] = r0
        parsed.key_rows[key] = r0
        parsed.cols.setdefault(key, vc)
        value, error = parse_value(col, raw.value(r0, vc))
        if error:
            _cell_error(out, raw, r0, vc, error)
            parsed.bad.add((0, key))
        record[key] = None if value is BLANK else value
    for col in sheet.columns:
        if col.required and col.name not in seen:
            out.error(sheet.name, "A1", f"missing setting '{col.name}' ({col.describe()})")
    parsed.records.append(record)
    parsed.rows.append(0)
    return parsed
