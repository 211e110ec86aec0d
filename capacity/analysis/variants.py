"""Variants of an input workbook for ``capacity compare``: edits of a RawWorkbook.

A variant is a list of :class:`Edit` (sheet, row id, column, value) applied to
a copy of the raw workbook read once from the input file; the edited workbook
is then validated like any input (:func:`capacity.io.validate.validate_raw`).

Where variants come from:

- ``--vary SHEET:ID:COLUMN=V1,V2,...`` (settings: ``settings:KEY=V1,...``):
  one value per variant; several ``--vary`` form their Cartesian product.
  Values look like numbers -> numbers (``4`` -> 4, ``0.5`` -> 0.5), else text;
  an empty value (``min_fte=,5``) clears the cell. A value cannot contain a
  comma.
- the optional ``experiments`` sheet of the input workbook, columns
  ``variant``, ``sheet``, ``id``, ``column``, ``value``: rows sharing a
  variant form one variant (settings rows: ``id`` = the setting's key,
  ``column`` blank or ``value``).

Row ids: the value of the sheet's key column; for sheets keyed by two columns
(``skills`` source/work_type, ``availability`` source/region, ``demand``
scenario/region) the two ids joined by ``/``, e.g. ``demand:high/north:5``.
Week columns of the wide sheets are named by their number.

An edit is applied at the cell found by the sheet's header row and key
column(s). A schema column missing from the header row is added; an unknown
sheet, id or column raises :class:`EditError`.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import Any

import click

from capacity.io import schema as S
from capacity.io.errors import InputError, Issue, cell_ref
from capacity.io.reader import RawSheet, RawWorkbook
from capacity.io.validate import id_text, is_blank, week_of

EXPERIMENTS = "experiments"
EXPERIMENT_COLUMNS = ("variant", "sheet", "id", "column", "value")
ID_SEP = "/"
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class EditError(Exception):
    """An edit names a sheet, row or column the workbook does not have."""


class VaryError(click.ClickException):
    """A ``--vary`` option that cannot be used (printed as one line, exit 1)."""

    exit_code = 1


@dataclass(frozen=True)
class Edit:
    sheet: str
    id: str            # row id (settings: the key); two-column keys joined by '/'
    column: str        # column name, week number as text, or 'value' for settings
    value: Any         # number, text, or '' (clear the cell)
    note: str = ""     # why (flexibility variants)

    def label(self) -> str:
        shown = "(blank)" if is_blank(self.value) else _show(self.value)
        if self.sheet == "settings":
            return f"{self.id}={shown}"
        return f"{self.id}:{self.column}={shown}"


@dataclass
class Variant:
    name: str
    edits: list[Edit]
    origin: str = "--vary"         # '--vary', 'experiments' or 'flex'
    error: str | None = None       # set when the variant cannot be built


@dataclass
class Change:
    """One applied edit: a row of the ``inputs_changed`` sheet."""

    variant: str
    sheet: str
    cell: str
    id: str
    column: str
    old_value: Any
    new_value: Any
    note: str = ""
    read_value: Any = None   # the value the validated variant holds (confirms the edit took)


# --------------------------------------------------------------------- values
def parse_text_value(text: str) -> Any:
    """'4' -> 4, '0.5' -> 0.5, '' -> '' (clear), anything else -> the text."""
    t = text.strip()
    if t == "":
        return ""
    if _NUMBER.match(t):
        number = float(t)
        if number.is_integer() and re.fullmatch(r"[+-]?\d+", t):
            return int(t)
        return number
    return text


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ------------------------------------------------------------------ --vary
def parse_vary(spec: str) -> tuple[str, str, str, list[Any]]:
    """``SHEET:ID:COLUMN=V1,V2`` -> (sheet, id, column, values); raises VaryError."""
    where = f"--vary {spec!r}"
    if "=" not in spec:
        raise VaryError(f"{where}: expected SHEET:ID:COLUMN=V1,V2,... (or settings:KEY=V1,...)")
    lhs, rhs = spec.split("=", 1)
    parts = [p.strip() for p in lhs.split(":")]
    if len(parts) == 2 and parts[0] == "settings":
        sheet, rid, column = "settings", parts[1], "value"
    elif len(parts) == 3:
        sheet, rid, column = parts
        if sheet == "settings" and column not in ("value", ""):
            raise VaryError(f"{where}: settings are varied as settings:KEY=V1,... (e.g. settings:reveal_week=2,4)")
        column = column or "value"
    else:
        raise VaryError(f"{where}: expected SHEET:ID:COLUMN=V1,V2,... (or settings:KEY=V1,...)")
    if not sheet or not rid or not column:
        raise VaryError(f"{where}: sheet, id and column must not be empty")
    if rhs.strip() == "":
        raise VaryError(f"{where}: no values after '='")
    values = [parse_text_value(v) for v in rhs.split(",")]
    seen = set()
    for v in values:
        key = (type(v).__name__ if isinstance(v, str) else "number", v)
        if key in seen:
            raise VaryError(f"{where}: value {_show(v) if not is_blank(v) else '(blank)'} given twice")
        seen.add(key)
    return sheet, rid, column, values


def vary_variants(specs: list[str]) -> list[Variant]:
    """The Cartesian product of the ``--vary`` options, one Variant each."""
    if not specs:
        return []
    axes, targets = [], set()
    for spec in specs:
        sheet, rid, column, values = parse_vary(spec)
        if (sheet, rid, column) in targets:
            raise VaryError(f"--vary {spec!r}: the same cell is varied twice")
        targets.add((sheet, rid, column))
        axes.append([Edit(sheet, rid, column, v) for v in values])
    return [Variant(" & ".join(e.label() for e in combo), list(combo)) for combo in itertools.product(*axes)]


def check_targets(raw: RawWorkbook, specs: list[str]) -> None:
    """Every --vary names an existing sheet, row and column (else VaryError, before any solve)."""
    for spec in specs:
        sheet, rid, column, values = parse_vary(spec)
        edit = Edit(sheet, rid, column, values[0])
        try:
            locate(raw, edit)
        except EditError as exc:
            raise VaryError(f"--vary {spec!r} (variant {edit.label()!r}): {exc}") from None


# ------------------------------------------------------------ experiments
def experiment_variants(raw: RawWorkbook) -> list[Variant]:
    """Variants named in the optional ``experiments`` sheet (rows sharing a variant form one).

    A malformed header raises InputError (the input workbook is invalid); a
    row with a missing field makes its variant fail with that message.
    """
    sheet = raw.sheets.get(EXPERIMENTS)
    if sheet is None or not sheet.cells:
        return []
    header = {(id_text(h)): c0 for c0, h in enumerate(sheet.cells[0]) if not is_blank(h)}
    missing = [c for c in EXPERIMENT_COLUMNS if c not in header]
    if missing:
        raise InputError([Issue(EXPERIMENTS, "A1", f"missing column '{c}' (the experiments sheet needs columns "
                                f"{', '.join(EXPERIMENT_COLUMNS)})") for c in missing])
    out: dict[str, Variant] = {}
    for r0 in range(1, len(sheet.cells)):
        cell = {c: sheet.value(r0, header[c]) for c in EXPERIMENT_COLUMNS}
        if all(is_blank(v) for v in cell.values()):
            continue
        name = id_text(cell["variant"])
        if not name:
            raise InputError([Issue(EXPERIMENTS, cell_ref(r0, header["variant"]), "variant is required")])
        var = out.setdefault(name, Variant(name, [], origin="experiments"))
        sheet_name, rid = id_text(cell["sheet"]), id_text(cell["id"])
        column = id_text(cell["column"]) or ("value" if sheet_name == "settings" else "")
        if not sheet_name or not rid or not column:
            what = "sheet" if not sheet_name else "id" if not rid else "column"
            var.error = var.error or f"{EXPERIMENTS}!{cell_ref(r0, header[what])}: {what} is required"
            continue
        value = cell["value"]
        var.edits.append(Edit(sheet_name, rid, column, "" if is_blank(value) else value))
    return list(out.values())


# ------------------------------------------------------------- applying
def _header_col(sheet: RawSheet, name: str) -> int | None:
    for c0, h in enumerate(sheet.cells[0] if sheet.cells else []):
        if not is_blank(h) and id_text(h) == name:
            return c0
    return None


def locate(raw: RawWorkbook, edit: Edit) -> tuple[int, int, bool]:
    """(row0, col0, new_column) of the cell an edit sets; raises EditError.

    ``new_column`` is True when a schema column absent from the header row
    must be added (at the first free column), or a known setting absent from
    the settings sheet must be added (as a new row: row0 = the next row).
    """
    spec = S.SHEETS_BY_NAME.get(edit.sheet)
    if spec is None:
        raise EditError(f"unknown sheet '{edit.sheet}' (sheets: {', '.join(S.SHEETS_BY_NAME)})")
    sheet = raw.sheets.get(edit.sheet)
    if sheet is None or not sheet.cells:
        raise EditError(f"the workbook has no sheet '{edit.sheet}'")
    if spec.layout == S.SETTINGS:
        if edit.column not in ("value", ""):
            raise EditError(f"settings have one column, 'value' (got '{edit.column}')")
        kc, vc = _header_col(sheet, "key"), _header_col(sheet, "value")
        if kc is None or vc is None:
            raise EditError("sheet 'settings' has no 'key'/'value' header")
        for r0 in range(1, len(sheet.cells)):
            if id_text(sheet.value(r0, kc)) == edit.id:
                return r0, vc, False
        if edit.id in spec.column_names:
            return len(sheet.cells), vc, True
        raise EditError(f"unknown setting '{edit.id}' (settings: {', '.join(spec.column_names)})")
    # the column
    new_column = False
    week = week_of(edit.column) if spec.layout == S.WIDE else None
    c0 = None
    for i, h in enumerate(sheet.cells[0]):
        if week is not None and week_of(h) == week:
            c0 = i
            break
        if week is None and not is_blank(h) and id_text(h) == edit.column:
            c0 = i
            break
    if c0 is None:
        if week is None and edit.column in spec.column_names and edit.column not in spec.key:
            c0, new_column = max(len(sheet.cells[0]), 1 + max((i for i, h in enumerate(sheet.cells[0])
                                                               if not is_blank(h)), default=-1)), True
        else:
            what = "week columns 1..weeks" if spec.layout == S.WIDE else ", ".join(
                c for c in spec.column_names if c not in spec.key)
            raise EditError(f"sheet '{edit.sheet}' has no column '{edit.column}' (columns: {what})")
    if edit.column in spec.key:
        raise EditError(f"'{edit.column}' is the key column of sheet '{edit.sheet}'; edit other columns")
    # the row
    key_cols = [_header_col(sheet, k) for k in spec.key]
    if any(k is None for k in key_cols):
        raise EditError(f"sheet '{edit.sheet}' has no key column '{spec.key[key_cols.index(None)]}'")
    parts = edit.id.split(ID_SEP) if len(spec.key) > 1 else [edit.id]
    if len(parts) != len(spec.key):
        raise EditError(f"rows of sheet '{edit.sheet}' are named {ID_SEP.join(spec.key)} (got '{edit.id}')")
    for r0 in range(1, len(sheet.cells)):
        if all(id_text(sheet.value(r0, k)) == p.strip() for k, p in zip(key_cols, parts)):
            return r0, c0, new_column
    raise EditError(f"sheet '{edit.sheet}' has no row '{edit.id}'")


def apply_edits(raw: RawWorkbook, variant: Variant) -> tuple[RawWorkbook, list[Change]]:
    """A copy of ``raw`` with the variant's edits applied, and the changes made."""
    out = raw.copy()
    changes = []
    for e in variant.edits:
        r0, c0, new = locate(out, e)
        sheet = out.sheets[e.sheet]
        if new and e.sheet == "settings":
            sheet.set_value(r0, _header_col(sheet, "key"), e.id)
        elif new:
            sheet.set_value(0, c0, e.column)
        old = sheet.value(r0, c0)
        sheet.set_value(r0, c0, "" if is_blank(e.value) else e.value)
        changes.append(Change(variant.name, e.sheet, f"{e.sheet}!{cell_ref(r0, c0)}", e.id, e.column,
                              None if is_blank(old) else old, None if is_blank(e.value) else e.value, e.note))
    return out, changes


# -------------------------------------------------------- flexibility
FLEX_ALL = "all"


def flex_edits(contracts, contract: str) -> list[Edit]:
    """Edits that remove a contract's lock-in: min term 0, notice 0, ramps unlimited.

    ``contracts`` is the validated ``Inputs.contracts`` frame. A committed
    level needs min_term_weeks >= 1, so it is cleared too; but a signed
    contract whose committed level was arranged before the plan (its start
    lies inside the lead time) keeps that level for its first week only
    (min_term_weeks 1), since clearing it would leave the start inside the
    lead time. Only cells that change are edited.
    """
    row = contracts.loc[contract]
    committed = row["committed_fte"]
    has_committed = not is_blank(committed)
    pre_arranged = (has_committed and row["status"] == "signed"
                    and int(row["start_week"]) < 1 + int(row["lead_weeks"]))
    edits = []
    if pre_arranged:
        if int(row["min_term_weeks"]) != 1:
            edits.append(Edit("contracts", contract, "min_term_weeks", 1,
                              "signed with a committed_fte arranged before the plan (start inside the lead time): "
                              "the committed level is kept for its first week only"))
    else:
        if has_committed:
            edits.append(Edit("contracts", contract, "committed_fte", "",
                              "cleared: a committed level needs min_term_weeks >= 1"))
        if int(row["min_term_weeks"]) != 0:
            edits.append(Edit("contracts", contract, "min_term_weeks", 0, "lock-in removed"))
    if int(row["notice_weeks"]) != 0:
        edits.append(Edit("contracts", contract, "notice_weeks", 0, "lock-in removed"))
    for col in ("max_increase_per_week", "max_decrease_per_week"):
        if not is_blank(row[col]):
            edits.append(Edit("contracts", contract, col, "", "lock-in removed (no ramp limit)"))
    return edits


def flex_variants(contracts) -> list[Variant]:
    """One variant per contract with its lock-in removed, and one for all at once."""
    out = []
    every = []
    for c in contracts.index:
        edits = flex_edits(contracts, c)
        every += edits
        out.append(Variant(f"flex:{c}", edits, origin="flex"))
    if len(contracts):
        out.append(Variant(f"flex:{FLEX_ALL}", every, origin="flex"))
    return out


def read_back(inputs, change: Change) -> Any:
    """The value the validated variant holds for an edited cell (to confirm the edit took)."""
    import pandas as pd

    try:
        if change.sheet == "settings":
            value = getattr(inputs.settings, change.id)
        elif change.sheet in ("availability", "demand"):
            frame = getattr(inputs, change.sheet)
            keys = S.SHEETS_BY_NAME[change.sheet].key
            mask = frame["week"] == int(change.column)
            for k, p in zip(keys, change.id.split(ID_SEP)):
                mask &= frame[k].astype(str) == p.strip()
            hit = frame.loc[mask, "fte" if change.sheet == "availability" else "cases"]
            value = float(hit.iloc[0]) if len(hit) else None
        else:
            frame = getattr(inputs, change.sheet)
            key = tuple(p.strip() for p in change.id.split(ID_SEP)) if frame.index.nlevels > 1 else change.id
            value = frame.loc[key, change.column]
    except (KeyError, AttributeError, ValueError, IndexError):
        return None
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    return value
