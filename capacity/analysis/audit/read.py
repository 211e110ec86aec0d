"""Step 1 of the audit: the output workbook read back into tables.

Every sheet (and its continuation parts ``name_2``, ``name_3``, ...) becomes a
:class:`Table`: a frame typed column by column, and for each row the sheet and
Excel row it came from, so that every difference can name its cell. Text
cells are unescaped as :func:`capacity.output.report.unescape_text` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from capacity.io.errors import col_letter, file_error
from capacity.output.report import unescape_text

SHEETS = ("summary", "plan", "work", "coverage", "contracts", "checks", "run")
#: sheets read when present (a workbook written before version 2 section 4 has no risk sheet)
OPTIONAL_SHEETS = ("risk",)
COLUMNS = {
    "summary": ["key", "value"],
    "plan": ["scenario", "week", "week_start", "region", "unit", "kind", "fte", "onboarded", "exits", "paid_hours",
             "task_hours", "utilisation", "cost"],
    "work": ["scenario", "week", "region", "work_type", "unit", "attempted", "completed", "escalated", "lost"],
    "coverage": ["scenario", "week", "region", "work_type", "demand", "completed", "lost", "completion_share"],
    "contracts": ["contract", "source", "status", "signed", "committed_fte", "fixed_cost", "expected_cost",
                  "expected_paid_hours", "expected_task_hours", "expected_utilisation"],
    "checks": ["check", "equation", "rows_checked", "largest_violation", "result"],
    "run": ["key", "value"],
    "shadow_prices": ["constraint", "scenario", "week", "region", "unit", "work_type", "value"],
    "risk": ["scenario", "probability", "scenario_cost", "excess_over_var", "in_tail", "risk_adjusted_probability"],
}
TEXT = {"scenario", "region", "unit", "kind", "work_type", "contract", "source", "status", "key", "check",
        "equation", "where", "result", "constraint", "phase", "in_tail"}
INT = {"week", "rows_checked"}
#: The sheets that make a workbook a compare workbook (capacity compare), audited by compare_audit.py.
COMPARE_SHEETS = ("comparison", "measures", "inputs_changed", "run")
#: The sheets that make a workbook a backtest workbook (capacity backtest), audited by backtest_audit.py.
BACKTEST_SHEETS = ("comparison", "steps", "weekly", "implemented", "run")

@dataclass
class Table:
    """A table read back: the frame, and for each row its sheet and Excel row."""

    name: str
    frame: pd.DataFrame
    where: list[tuple[str, int]]  # (sheet part, 1-based row) per frame row
    cols: dict[str, str]  # column -> letter

    def cell(self, i: int, column: str) -> str:
        sheet, row = self.where[i]
        return f"{sheet}!{self.cols.get(column, 'A')}{row}"


def _parts(raw, name: str) -> list[str]:
    out = [name]
    k = 2
    while f"{name}_{k}"[-31:] in raw.sheets or f"{name[: 31 - len(str(k)) - 1]}_{k}" in raw.sheets:
        out.append(f"{name[: 31 - len(str(k)) - 1]}_{k}")
        k += 1
    return out


def read_table(raw, name: str, problems: list[str]) -> Table:
    header: list | None = None
    rows, where = [], []
    for part in _parts(raw, name):
        cells = raw.sheets[part].cells
        if not cells:
            raise file_error(f"{raw.path}: sheet '{part}' is empty; not an output workbook of capacity plan")
        stale = raw.sheets[part].formula_without_value
        if stale:
            r0, c0 = min(stale)
            problems.append(f"{part}!{col_letter(c0)}{r0 + 1}: {len(stale):,} formula cell(s) of sheet '{part}' "
                            "have no calculated value (saved by a program that does not calculate); open the "
                            "workbook in Excel or LibreOffice and save it")
        head, part_rows, part_where = sheet_rows(cells, part)
        if header is None:
            header = head
        elif head != header:
            problems.append(f"{part}!A1: the header row differs from sheet '{name}'")
        rows += part_rows
        where += part_where
    missing = [c for c in COLUMNS[name] if c not in header]
    if missing:
        raise file_error(f"{raw.path}: sheet '{name}' has no column {', '.join(repr(c) for c in missing)}; "
                         "not an output workbook of capacity plan")
    dup = sorted({c for c in header if header.count(c) > 1 and c not in ("", None)})
    if dup:
        problems.append(f"{name}!A1: duplicate column(s) {', '.join(map(str, dup))}")
    cols = {h: col_letter(j) for j, h in reversed(list(enumerate(header))) if isinstance(h, str) and h}
    frame = pd.DataFrame([[_cell_value(v) for v in r] for r in rows], columns=[str(h) for h in header])
    frame = frame.loc[:, ~frame.columns.duplicated()]
    table = Table(name, frame, where, cols)
    _type_columns(table, problems)
    return table


def sheet_rows(cells: list[list], part: str) -> tuple[list, list[list], list[tuple[str, int]]]:
    """A sheet's cells as (its header row, unescaped, without trailing blanks; its rows that are not blank,
    each cut or padded to the header's width; each row's (``part``, Excel row))."""
    head = [unescape_text(h.strip()) if isinstance(h, str) else h for h in cells[0]]
    while head and head[-1] in ("", None):
        head.pop()
    rows, where = [], []
    for r0 in range(1, len(cells)):
        row = list(cells[r0][: len(head)]) + [""] * max(0, len(head) - len(cells[r0]))
        if all(v in ("", None) for v in row):
            continue
        rows.append(row)
        where.append((part, r0 + 1))
    return head, rows, where


def _cell_value(v):
    if isinstance(v, str):
        return unescape_text(v)
    return v


def _type_columns(t: Table, problems: list[str]) -> None:
    df = t.frame
    key_value = t.name in ("summary", "run")
    for c in df.columns:
        if key_value or c in TEXT:
            df[c] = df[c].map(lambda v: "" if v is None else v)
            if not key_value:  # ids are text; a number here was typed over the written text
                df[c] = df[c].map(lambda v: v if isinstance(v, str) else _text_of(v))
            continue
        if c == "week_start":
            continue
        if c == "signed":
            vals = df[c].tolist()
            yes_no = {"Yes": True, "No": False}
            for i, v in enumerate(vals):
                if not isinstance(v, bool) and v not in yes_no:
                    problems.append(f"{t.cell(i, c)}: signed must be Yes or No, got {v!r}")
            df[c] = [v if isinstance(v, bool) else yes_no.get(v, False) for v in vals]
            continue
        numbers = np.full(len(df), np.nan)
        for i, v in enumerate(df[c].tolist()):
            if isinstance(v, bool) or not (v in ("", None) or isinstance(v, (int, float))):
                problems.append(f"{t.cell(i, c)}: {c} must be a number, got {v!r}")
            elif isinstance(v, (int, float)):
                numbers[i] = float(v)
        df[c] = numbers
        if c in INT:
            ok = np.isfinite(numbers)
            if (ok & (numbers != np.round(numbers))).any() or not ok.all():
                i = int(np.flatnonzero(~ok | (numbers != np.round(numbers)))[0])
                problems.append(f"{t.cell(i, c)}: {c} must be a whole number, got {df[c].iat[i]!r}")
            df[c] = np.where(ok, np.round(numbers), 0).astype(int)


def _text_of(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def key_values(t: Table) -> dict:
    return dict(zip(t.frame["key"], t.frame["value"]))


def read_output(path: Path, problems: list[str], raw=None) -> tuple[object, dict[str, Table]]:
    """(raw workbook, {name: Table}) of a plan workbook; ``raw``: the workbook at ``path`` if already read."""
    from capacity.io.reader import read_workbook

    raw = read_workbook(path) if raw is None else raw
    if "infeasibility" in raw.sheets and "plan" not in raw.sheets:
        raise file_error(f"{path}: records an infeasible input (sheet 'infeasibility'), not a plan; "
                         "there is nothing to verify")
    missing = [s for s in SHEETS if s not in raw.sheets]
    if missing:
        raise file_error(f"{path}: not an output workbook of capacity plan (no sheet "
                         f"{', '.join(repr(s) for s in missing)})")
    tables = {name: read_table(raw, name, problems) for name in SHEETS}
    tables.update({name: read_table(raw, name, problems) for name in OPTIONAL_SHEETS if name in raw.sheets})
    run = key_values(tables["run"])
    if "input_sha256" not in run or "input_file" not in run:
        raise file_error(f"{path}: the run sheet has no input_file / input_sha256; "
                         "not an output workbook of capacity plan")
    return raw, tables


def find_input(output: Path, run: dict, given: Path | None) -> Path:
    if given is not None:
        return Path(given)
    name = str(run.get("input_file") or "").strip()
    if not name or Path(name).name != name:
        raise file_error(f"{output}: the run sheet names no usable input_file ({name!r}); give the input with --input")
    candidates = [output.parent / name, Path("inputs") / name, output.parent.parent / "inputs" / name]
    for c in candidates:
        if c.is_file():
            return c
    raise file_error(f"{output}: cannot find the input '{name}' beside the output or in inputs/; "
                     "give it with --input")


def workbook_kind(workbook) -> str:
    """'backtest' for a workbook of capacity backtest (its sheets BACKTEST_SHEETS, no 'plan'), 'compare' for
    one of capacity compare (its sheets COMPARE_SHEETS, no 'plan'), else 'plan' (the plan audit says why when
    it is not one either). ``workbook``: a RawWorkbook already read, or its path (read here, the safety
    checks first)."""
    from capacity.io.reader import read_workbook

    raw = workbook if hasattr(workbook, "sheets") else read_workbook(Path(workbook))
    sheets = set(raw.sheets)
    if "plan" in sheets:
        return "plan"
    if set(BACKTEST_SHEETS) <= sheets:
        return "backtest"
    return "compare" if set(COMPARE_SHEETS) <= sheets else "plan"
