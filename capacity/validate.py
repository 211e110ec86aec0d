"""Check a raw workbook against the schema and the rules of workbook.md.

Two passes:

1. **Cells** (:func:`_parse_sheet`): every cell of every sheet is read by its
   :class:`~capacity.schema.Column` rule. A bad cell is reported as
   ``sheet!CELL: <column> must be <rule>, got <value>``.
2. **Rules across cells and sheets**: one function each (listed in
   :data:`RULES`), in the style of PyPSA's consistency checks.

All problems are collected; :func:`read_inputs` raises one
:class:`~capacity.errors.InputError` carrying every issue, sorted by sheet
(in schema order) and cell. Only a clean workbook becomes :class:`Inputs`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from capacity import schema as S
from capacity.errors import ERROR, WARNING, InputError, Issue, cell_ref, col_letter, number_ranges, sort_issues
from capacity.inputs import CONTRACTOR, Inputs, Origin, Settings
from capacity.reader import RawSheet, RawWorkbook, as_cell_error, read_workbook

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
    """None, NaN or text of only spaces: what every reader of a cell treats as blank."""
    if value is None:
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
    ISO form, text trimmed. Shared with :mod:`capacity.variants`, which must
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


def _parse_sheet(raw: RawSheet, sheet: S.Sheet, out: Collector, weeks: int | None) -> Parsed:
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


# --------------------------------------------------------------------------
# Pass 2: rules across cells and sheets, one function each
# --------------------------------------------------------------------------
Book = dict[str, Parsed]


def check_duplicate_ids(book: Book, out: Collector, weeks: int | None) -> None:
    """Ids are unique within their sheet (settings keys are checked when read)."""
    for name, p in book.items():
        if p.sheet.layout == S.SETTINGS or not p.sheet.key:
            continue
        first: dict[Any, int] = {}
        for i in range(len(p.records)):
            key = p.key_of(i)
            if key is None or (isinstance(key, tuple) and None in key):
                continue
            if key in first:
                shown = " x ".join(map(repr, key)) if isinstance(key, tuple) else repr(key)
                out.error(name, p.cell(i, p.sheet.key[0]),
                          f"duplicate {'/'.join(p.sheet.key)} {shown} (first at {p.cell(first[key], p.sheet.key[0])})")
            else:
                first[key] = i


def check_references(book: Book, out: Collector, weeks: int | None) -> None:
    """Every referenced id exists; trainer/supervisor/availability name regional
    sources; a contract's source is a contractor."""
    kinds = _source_kinds(book)
    for name, p in book.items():
        for col in p.sheet.columns:
            if col.type != S.REF or col.name not in p.cols:
                continue
            target = book.get(col.ref)
            if target is None:
                continue
            ids = set(target.ids())
            for i, rec in enumerate(p.records):
                value = rec.get(col.name)
                if value is None or (i, col.name) in p.bad:
                    continue
                where = p.cell(i, col.name)
                if value not in ids:
                    what = col.ref.rstrip("s").replace("_", " ")
                    twin = _space_twin(value, ids)
                    if twin is None:
                        out.error(name, where, f"unknown {what} '{value}' (not in sheet {col.ref})")
                    else:
                        out.error(name, where, f"unknown {what} {_visible(value)} (not in sheet {col.ref}): it "
                                               f"differs from {_visible(twin)} only in its spaces (a non-breaking "
                                               "or doubled space?); retype it")
                elif col.ref_filter == S.REGIONAL and kinds.get(value) == CONTRACTOR:
                    out.error(name, where, f"{col.name} must be a regional source (eho, redeployed or hire); "
                                           f"'{value}' is a contractor")
                elif col.ref_filter == S.CONTRACTOR_ONLY and kinds.get(value) not in (None, CONTRACTOR):
                    out.error(name, where, f"{col.name} must be a contractor source; '{value}' is "
                                           f"{kinds[value]}")


def _squash(text) -> str | None:
    return " ".join(text.split()) if isinstance(text, str) else None


def _space_twin(value, ids) -> str | None:
    """The id that ``value`` matches once runs of spaces of any kind (non-breaking
    included) count as one plain space, if any."""
    key = _squash(value)
    if key is None:
        return None
    for other in ids:
        if isinstance(other, str) and other != value and _squash(other) == key:
            return other
    return None


def _visible(text: str) -> str:
    """'text' with any space other than a plain one shown as an escape (e.g. \\u00a0)."""
    shown = "".join(c if c == " " or not c.isspace() else f"\\u{ord(c):04x}" for c in text)
    return f"'{shown}'"


def check_probabilities(book: Book, out: Collector, weeks: int | None) -> None:
    """Scenario probabilities sum to 1 within 1e-6."""
    p = book.get("scenarios")
    if p is None or "probability" not in p.cols or any(c == "probability" for _, c in p.bad):
        return
    total = sum(r["probability"] for r in p.records if r.get("probability") is not None)
    if p.records and abs(total - 1.0) > 1e-6:
        out.error("scenarios", p.header("probability"), f"probabilities must sum to 1, got {total:.6g}")


def check_escalation(book: Book, out: Collector, weeks: int | None) -> None:
    """escalates_to links form no cycle; escalation_share > 0 needs escalates_to."""
    wt = book.get("work_types")
    if wt is None:
        return
    link = {r["work_type"]: r.get("escalates_to") for r in wt.records if r.get("work_type")}
    reported: set = set()
    for i, rec in enumerate(wt.records):
        start = rec.get("work_type")
        if start is None:
            continue  # a blank id is reported by cell already
        path, node = [start], link.get(start)
        while node is not None and node in link and node not in path:
            path.append(node)
            node = link.get(node)
        if node == start and start not in reported:
            reported.update(path)
            out.error("work_types", wt.cell(i, "escalates_to"),
                      "escalation links form a cycle: " + " -> ".join(path + [start]))
    sk = book.get("skills")
    if sk is None or "escalation_share" not in sk.cols:
        return
    for i, rec in enumerate(sk.records):
        share = rec.get("escalation_share") or 0.0
        k = rec.get("work_type")
        if share > 0 and k in link and link[k] is None:
            out.error("skills", sk.cell(i, "escalation_share"),
                      f"escalation_share > 0 needs work type '{k}' to have escalates_to")


def check_demand_rows(book: Book, out: Collector, weeks: int | None) -> None:
    """demand has exactly one row per scenario x region."""
    d, sc, rg = book.get("demand"), book.get("scenarios"), book.get("regions")
    if d is None or sc is None or rg is None:
        return
    have = set(d.ids())
    missing = [(s, r) for s in sc.ids() for r in rg.ids() if s is not None and r is not None and (s, r) not in have]
    for s, r in missing[:20]:
        out.error("demand", "A1", f"missing row for scenario '{s}', region '{r}'")
    if len(missing) > 20:
        out.error("demand", "A1", f"... and {len(missing) - 20} more missing scenario x region rows")


def check_contracts(book: Book, out: Collector, weeks: int | None) -> None:
    """The contract rules at the end of workbook.md's contracts section."""
    c = book.get("contracts")
    if c is None:
        return
    for i, rec in enumerate(c.records):
        if any(b[0] == i for b in c.bad):
            continue  # a bad cell in this row is already reported
        start, end = rec.get("start_week") or 1, rec.get("end_week")
        end = weeks if end is None else end
        if end is not None and start > end:
            out.error("contracts", c.cell(i, "start_week"), f"start_week {start} is after end_week {end}")
        if end is not None and weeks is not None and end > weeks:
            out.error("contracts", c.cell(i, "end_week"), f"end_week {end} is beyond the horizon (weeks = {weeks})")
        lo, hi = rec.get("min_fte") or 0.0, rec.get("max_fte")
        if hi is not None and lo > hi:
            out.error("contracts", c.cell(i, "min_fte"), f"min_fte {_n(lo)} is above max_fte {_n(hi)}")
        committed = rec.get("committed_fte")
        if committed is not None:
            if hi is not None and lo <= hi and not lo <= committed <= hi:
                out.error("contracts", c.cell(i, "committed_fte"),
                          f"committed_fte {_n(committed)} must lie in [min_fte, max_fte] = [{_n(lo)}, {_n(hi)}]")
            if (rec.get("min_term_weeks") or 0) < 1:
                out.error("contracts", c.cell(i, "committed_fte"),
                          "committed_fte needs min_term_weeks >= 1 (the term it is committed for)")
        lead = rec.get("lead_weeks") or 0
        pre_arranged = rec.get("status") == "signed" and committed is not None
        if not pre_arranged and start < 1 + lead:
            out.error("contracts", c.cell(i, "start_week"),
                      f"start_week {start} is inside the lead time (lead_weeks {lead}): it must be >= {1 + lead}, "
                      "unless the contract is signed with a committed_fte")


def check_unit_ids(book: Book, out: Collector, weeks: int | None) -> None:
    """A contract id differs from every regional source id (both name units)."""
    c = book.get("contracts")
    kinds = _source_kinds(book)
    if c is None:
        return
    for i, rec in enumerate(c.records):
        cid = rec.get("contract")
        if cid is not None and kinds.get(cid) not in (None, CONTRACTOR):
            out.error("contracts", c.cell(i, "contract"),
                      f"contract id '{cid}' is also a regional source id; give it a distinct name")


def check_contractor_terms(book: Book, out: Collector, weeks: int | None) -> None:
    """Only `source` and `kind` are read for contractor rows: warn about others."""
    src = book.get("sources")
    if src is None:
        return
    ignored = [c for c in S.SOURCES.columns if c.name not in ("source", "kind")]
    for i, rec in enumerate(src.records):
        if rec.get("kind") != CONTRACTOR:
            continue
        for col in ignored:
            value = rec.get(col.name)
            if col.name in src.cols and value is not None and value != col.default:
                out.warn("sources", src.cell(i, col.name),
                         f"{col.name} is ignored for contractor sources (their terms are in sheet contracts)")


def check_unserved_work(book: Book, out: Collector, weeks: int | None) -> None:
    """Warn about a work type with demand that no source can do."""
    wt, sk, d = book.get("work_types"), book.get("skills"), book.get("demand")
    if wt is None or sk is None or d is None:
        return
    any_cases = any(v for rec in d.records for k, v in rec.items() if isinstance(k, int) and v)
    able = {rec.get("work_type") for rec in sk.records}
    escalated = {rec.get("escalates_to") for rec in wt.records}
    for i, rec in enumerate(wt.records):
        k = rec.get("work_type")
        has_demand = (rec.get("tasks_per_case") or 0) > 0 and any_cases or k in escalated
        if k is not None and has_demand and k not in able:
            out.warn("work_types", wt.cell(i, "work_type"),
                     f"work type '{k}' has demand but no source has a skill for it: all of it will be lost")


# Excel's dates run from 1900-01-01 to 9999-12-31; every week of the horizon
# is written as a date, so all of them must lie in that range.
EXCEL_FIRST_DATE, EXCEL_LAST_DATE = dt.date(1900, 1, 1), dt.date(9999, 12, 31)


def check_horizon_dates(book: Book, out: Collector, weeks: int | None) -> None:
    """start_date and the last day of week `weeks` lie within Excel's dates."""
    st = book.get("settings")
    if st is None or not st.records or "start_date" not in st.key_rows:
        return
    start = st.records[0].get("start_date")
    if start is None:
        return
    days = 7 * (weeks or 1) - 1
    where = cell_ref(st.key_rows["start_date"], st.cols["value"])
    if start < EXCEL_FIRST_DATE or start > EXCEL_LAST_DATE - dt.timedelta(days=days):
        out.error("settings", where, f"start_date {start.isoformat()}: the {weeks or 1} weeks from it must lie "
                  f"within Excel's dates ({EXCEL_FIRST_DATE.isoformat()} to {EXCEL_LAST_DATE.isoformat()})")


def check_magnitude(book: Book, out: Collector, weeks: int | None) -> None:
    """The expected cost of losing all demand plus signed contracts' forced
    costs stays within S.MAX_OBJECTIVE (models/README.md#numeric-range)."""
    wt, sc, d, c = (book.get(n) for n in ("work_types", "scenarios", "demand", "contracts"))
    if wt is None or sc is None or d is None or any(p.bad for p in (wt, sc, d)):
        return
    prob = {r.get("scenario"): r.get("probability") or 0.0 for r in sc.records}
    cases = sum(prob.get(r.get("scenario"), 0.0) * sum(v for k, v in r.items() if isinstance(k, int) and v)
                for r in d.records)
    lost = [(r.get("tasks_per_case") or 0.0) * (r.get("value_per_task") or 0.0) * cases for r in wt.records]
    forced = []
    for r in (c.records if c is not None and not c.bad else []):
        if r.get("status") == "signed":
            level = max(r.get("min_fte") or 0.0, r.get("committed_fte") or 0.0)
            span = (r.get("end_week") or weeks or 1) - (r.get("start_week") or 1) + 1
            forced.append((r.get("fixed_cost") or 0.0) + level * (r.get("cost_per_fte_week") or 0.0) * span)
    total = sum(lost) + sum(forced)
    if total <= S.MAX_OBJECTIVE:
        return
    if lost and max(lost) >= max(forced, default=0.0):
        i, what = lost.index(max(lost)), "losing all its demand"
        where, name = ("work_types", wt.cell(lost.index(max(lost)), "value_per_task")), wt.key_of(i)
    else:
        i, what = forced.index(max(forced)), "its forced costs"
        where, name = ("contracts", c.cell(i, "cost_per_fte_week")), c.key_of(i)
    out.error(*where, f"costs too large to solve reliably: the plan's expected cost could reach {total:.3g} "
              f"(largest part: {name!r}, {what}), above {S.MAX_OBJECTIVE:.0e}; state money in larger units "
              "(e.g. thousands) or check the figures")


RULES: tuple[Callable[[Book, Collector, int | None], None], ...] = (
    check_horizon_dates,
    check_magnitude,
    check_duplicate_ids,
    check_references,
    check_probabilities,
    check_escalation,
    check_demand_rows,
    check_contracts,
    check_unit_ids,
    check_contractor_terms,
    check_unserved_work,
)


def _source_kinds(book: Book) -> dict:
    src = book.get("sources")
    return {} if src is None else {r.get("source"): r.get("kind") for r in src.records}


def _n(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


# --------------------------------------------------------------------------
# Workbook-level checks and assembly
# --------------------------------------------------------------------------
def _check_layout(raw: RawWorkbook, out: Collector) -> None:
    for name, sheet in raw.sheets.items():
        if name in S.SHEETS_BY_NAME:
            if sheet.hidden:
                out.warn(name, "A1", "sheet is hidden; it is read all the same")
            for r0, c0, r1, c1 in sheet.merged:
                out.error(name, cell_ref(r0, c0),
                          f"merged cells {cell_ref(r0, c0)}:{cell_ref(r1, c1)} inside a table; unmerge them")
            for r0, c0 in sorted(sheet.formula_without_value):
                out.error(name, cell_ref(r0, c0),
                          "formula with no cached value; open the workbook in Excel or LibreOffice, "
                          "let it calculate, and save it")
        elif name.lower() in S.SHEETS_BY_NAME:
            out.error(name, "A1", f"sheet '{name}' must be named '{name.lower()}' (sheet names are lower-case)")
        elif name not in S.EXTRA_SHEETS:
            out.warn(name, "A1", f"unknown sheet '{name}' ignored")
        else:
            out.warn(name, "A1", f"sheet '{name}' ignored by the model")
    for sheet in S.SHEETS:
        if sheet.name not in raw.sheets and sheet.name.lower() not in {n.lower() for n in raw.sheets}:
            out.error(sheet.name, "A1", f"missing sheet '{sheet.name}'")


def validate_raw(raw: RawWorkbook) -> tuple[Inputs | None, list[Issue]]:
    """Check a raw workbook; return (Inputs or None if any error, sorted issues)."""
    out = Collector()
    _check_layout(raw, out)
    book: Book = {}
    weeks = None
    if "settings" in raw.sheets:
        book["settings"] = _parse_sheet(raw.sheets["settings"], S.SETTINGS_SHEET, out, None)
        recs = book["settings"].records
        weeks = recs[0].get("weeks") if recs else None
    for sheet in S.SHEETS[1:]:
        if sheet.name in raw.sheets:
            book[sheet.name] = _parse_sheet(raw.sheets[sheet.name], sheet, out, weeks)
    for rule in RULES:
        rule(book, out, weeks)
    issues = sort_issues(out.issues, S.SHEET_ORDER)
    if out.has_errors:
        return None, issues
    return _assemble(raw, book, weeks), issues


def read_inputs(path: str | Path) -> tuple[Inputs, list[Issue]]:
    """Read and validate a workbook. Raises InputError with every issue."""
    raw = read_workbook(path)
    inputs, issues = validate_raw(raw)
    if inputs is None:
        raise InputError(issues)
    return inputs, issues


def _frame(p: Parsed) -> pd.DataFrame:
    cols = p.sheet.column_names
    df = pd.DataFrame.from_records(p.records, columns=cols) if p.records else pd.DataFrame(columns=cols)
    for col in p.sheet.columns:
        if col.name not in df:
            continue
        default = col.default
        if col.type in (S.NUMBER, S.INT):
            series = pd.to_numeric(df[col.name], errors="coerce").astype(float)
            if default is not None:
                series = series.fillna(float(default))
            df[col.name] = series.astype(int) if col.type == S.INT and not series.isna().any() else series
        elif default is not None:
            df[col.name] = df[col.name].where(df[col.name].notna(), default).astype(object)
        else:
            df[col.name] = df[col.name].astype(object).where(df[col.name].notna(), None)
    return df


def _assemble(raw: RawWorkbook, book: Book, weeks: int) -> Inputs:
    rec = book["settings"].records[0]
    settings = Settings(**{c.name: c.default if rec.get(c.name) is None else rec[c.name]
                           for c in S.SETTINGS_SHEET.columns})
    regions = _frame(book["regions"]).set_index("region")
    scenarios = _frame(book["scenarios"]).set_index("scenario")
    work_types = _frame(book["work_types"]).set_index("work_type")
    sources = _frame(book["sources"]).set_index("source")
    skills = _frame(book["skills"])
    escalates = work_types["escalates_to"]
    skills["escalation_share"] = np.where(escalates.reindex(skills["work_type"]).isna().to_numpy(), 0.0,
                                          skills["escalation_share"].to_numpy(dtype=float))
    skills = skills.set_index(["source", "work_type"])
    contracts = _frame(book["contracts"])
    contracts["end_week"] = contracts["end_week"].fillna(weeks).astype(int)
    contracts = contracts.set_index("contract")
    availability = _long(book["availability"], "fte", weeks)
    demand = _long(book["demand"], "cases", weeks)
    origin = Origin(
        path=raw.path,
        sha256=raw.sha256,
        rows={name: {p.key_of(i): p.rows[i] + 1 for i in range(len(p.records))} if name != "settings"
              else {k: None for k in p.records[0]} for name, p in book.items()},
        columns={name: {k: col_letter(c0) for k, c0 in p.cols.items()} for name, p in book.items()},
    )
    settings_rows = {}
    sp = raw.sheets["settings"]
    kc = book["settings"].cols["key"]
    for r0 in range(1, len(sp.cells)):
        key = sp.value(r0, kc)
        if isinstance(key, str) and key.strip():
            settings_rows.setdefault(key.strip(), r0 + 1)
    origin.rows["settings"] = settings_rows
    return Inputs(settings, regions, scenarios, work_types, sources, skills, contracts, availability, demand, origin)


def _long(p: Parsed, value_name: str, weeks: int) -> pd.DataFrame:
    keys = list(p.sheet.key)
    if not p.records:
        return pd.DataFrame({k: pd.Series(dtype=object) for k in keys}
                            | {"week": pd.Series(dtype=int), value_name: pd.Series(dtype=float)})
    df = pd.DataFrame.from_records(p.records)
    df["_row"] = range(len(df))  # keep the workbook's row order
    week_cols = [w for w in range(1, weeks + 1) if w in df.columns]
    long = df.melt(id_vars=keys + ["_row"], value_vars=week_cols, var_name="week", value_name=value_name)
    long["week"] = long["week"].astype(int)
    long[value_name] = long[value_name].astype(float).fillna(0.0)
    return long.sort_values(["_row", "week"]).drop(columns="_row").reset_index(drop=True)
