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
    note: str = ""     # why (flexibility and built-in variants)
    row: str = ""      # where the edit was asked for (an experiments cell), for messages

    def label(self) -> str:
        shown = "(blank)" if is_blank(self.value) else _show(self.value)
        if self.sheet == "settings":
            return f"{self.id}={shown}"
        return f"{self.id}:{self.column}={shown}"


@dataclass
class Variant:
    name: str
    edits: list[Edit]
    origin: str = "--vary"         # '--vary', 'experiments', 'variants file', 'builtin' or 'flex'
    error: str | None = None       # set when the variant cannot be built
    error_status: str = "invalid"  # the comparison's status when ``error`` is set
    contract: str | None = None    # the contract a built-in or flexibility variant is about
    deferred: str | None = None    # built-in whose edits come from a solve ('optimum level')


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
    """``SHEET:ID:COLUMN=V1,V2`` -> (sheet, id, column, values); raises VaryError.

    One cell only; :func:`parse_axis` also reads the several-cells form.
    """
    sheet, rid, columns, groups = parse_axis(spec)
    if len(columns) != 1:
        raise VaryError(f"--vary {spec!r}: several columns: use parse_axis")
    return sheet, rid, columns[0], [g[0] for g in groups]


def parse_axis(spec: str) -> tuple[str, str, list[str], list[list[Any]]]:
    """One ``--vary``: (sheet, id, columns, value groups); raises VaryError (one line).

    ``SHEET:ID:COLUMN=V1,V2`` sets one cell per variant; ``SHEET:ID:{C1,C2}=A1/B1,A2/B2``
    sets several cells of one row per variant (one group per variant, its values in the
    order of the braces, separated by ``/``); settings: ``settings:KEY=...`` or
    ``settings:{K1,K2}=...``.
    """
    where = f"--vary {spec!r}"
    usage = ("expected SHEET:ID:COLUMN=V1,V2,... or SHEET:ID:{COLUMN1,COLUMN2}=A1/B1,A2/B2 "
             "(settings: settings:KEY=V1,... or settings:{KEY1,KEY2}=A1/B1,...)")
    if "=" not in spec:
        raise VaryError(f"{where}: {usage}")
    lhs, rhs = spec.split("=", 1)
    braces = None
    if "{" in lhs or "}" in lhs:
        m = re.fullmatch(r"(.*):\s*\{([^{}]*)\}\s*", lhs)
        if m is None:
            raise VaryError(f"{where}: braces must enclose the column names at the end, as in "
                            "contracts:ID:{min_term_weeks,cost_per_fte_week}=4/943.59")
        braces = [c.strip() for c in m.group(2).split(",")]
        if any(c == "" for c in braces):
            raise VaryError(f"{where}: an empty column name between the braces")
        for c in braces:
            if braces.count(c) > 1:
                raise VaryError(f"{where}: column '{c}' named twice between the braces")
        parts = [p.strip() for p in m.group(1).split(":")]
        if parts == ["settings"]:
            sheet, rid, columns = "settings", "", braces      # the keys are the cells' ids
        elif len(parts) == 2 and parts[0] != "settings":
            (sheet, rid), columns = parts, braces
        else:
            raise VaryError(f"{where}: {usage}")
    else:
        parts = [p.strip() for p in lhs.split(":")]
        if len(parts) == 2 and parts[0] == "settings":
            sheet, rid, column = "settings", parts[1], "value"
        elif len(parts) == 3:
            sheet, rid, column = parts
            if sheet == "settings" and column not in ("value", ""):
                raise VaryError(f"{where}: settings are varied as settings:KEY=V1,... "
                                "(e.g. settings:reveal_week=2,4)")
            column = column or "value"
        else:
            raise VaryError(f"{where}: {usage}")
        columns = [column]
        if not rid:
            raise VaryError(f"{where}: sheet, id and column must not be empty")
    if not sheet or not all(columns):
        raise VaryError(f"{where}: sheet, id and column must not be empty")
    if rhs.strip() == "":
        raise VaryError(f"{where}: no values after '='")
    groups = []
    for text in rhs.split(","):
        values = [parse_text_value(v) for v in (text.split("/") if braces is not None else [text])]
        if len(values) != len(columns):
            raise VaryError(f"{where}: value group {text.strip()!r} has {len(values)} value"
                            f"{'s' if len(values) != 1 else ''} for {len(columns)} columns "
                            f"({', '.join(columns)}); separate them with '/' in the order of the braces")
        groups.append(values)
    seen = set()
    for g in groups:
        key = tuple((type(v).__name__ if isinstance(v, str) else "number", v) for v in g)
        if key in seen:
            shown = "/".join(_show(v) if not is_blank(v) else "(blank)" for v in g)
            raise VaryError(f"{where}: value{'s' if len(g) > 1 else ''} {shown} given twice")
        seen.add(key)
    return sheet, rid, columns, groups


def _axis_edits(spec: str) -> list[list[Edit]]:
    """One ``--vary`` as its variants' edits (one list per value group)."""
    sheet, rid, columns, groups = parse_axis(spec)
    if sheet == "settings" and not rid:   # settings:{K1,K2}: the keys are the ids
        return [[Edit("settings", k, "value", v) for k, v in zip(columns, g)] for g in groups]
    return [[Edit(sheet, rid, c, v) for c, v in zip(columns, g)] for g in groups]


def vary_variants(specs: list[str]) -> list[Variant]:
    """The Cartesian product of the ``--vary`` options, one Variant each, with short labels."""
    if not specs:
        return []
    axes, targets = [], set()
    for spec in specs:
        axis = _axis_edits(spec)
        for e in axis[0]:
            if (e.sheet, e.id, e.column) in targets:
                raise VaryError(f"--vary {spec!r}: the same cell is varied twice")
            targets.add((e.sheet, e.id, e.column))
        axes.append(axis)
    rows = {(e.sheet, e.id) for e in (a[0][0] for a in axes) if e.sheet != "settings"}
    out = []
    for combo in itertools.product(*axes):
        edits = [e for group in combo for e in group]
        out.append(Variant(short_label(edits, with_id=len(rows) > 1), edits))
    _unique_names(out)
    return out


_SHORT = {  # contracts columns: how a short label says them ({} = the value)
    "min_term_weeks": "term {} wk", "cost_per_fte_week": "price {}", "committed_fte": "level {}",
    "notice_weeks": "notice {} wk", "lead_weeks": "lead {} wk", "start_week": "start wk {}",
    "end_week": "end wk {}", "status": "{}", "max_fte": "max {} FTE", "min_fte": "min {} FTE",
    "fixed_cost": "fixed cost {}", "max_increase_per_week": "ramp up {}/wk",
    "max_decrease_per_week": "ramp down {}/wk",
}
_SHORT_BLANK = {"committed_fte": "level free", "max_increase_per_week": "ramp up unlimited",
                "max_decrease_per_week": "ramp down unlimited"}
_SHORT_SETTINGS = {"reveal_week": "reveal wk {}", "productive_share": "productive share {}",
                   "hours_per_fte_week": "{} h/FTE-week"}


def short_label(edits: list[Edit], *, with_id: bool = False) -> str:
    """A short name for a variant: 'term 4 wk, price 943.59' (the full edits go to inputs_changed)."""
    parts = []
    for e in edits:
        shown = "(blank)" if is_blank(e.value) else _show(e.value)
        if e.sheet == "settings":
            text = _SHORT_SETTINGS.get(e.id, e.id + " {}").format(shown)
        elif e.sheet == "contracts":
            text = _SHORT_BLANK[e.column] if is_blank(e.value) and e.column in _SHORT_BLANK else \
                _SHORT.get(e.column, e.column + " {}").format(shown)
            text = f"{e.id} {text}" if with_id else text
        else:
            text = f"{e.id} {e.column} {shown}" if with_id or e.sheet != "contracts" else f"{e.column} {shown}"
        parts.append(text)
    return ", ".join(parts)


def full_label(edits: list[Edit]) -> str:
    """Every edit of a variant, as 'id:column=value & ...' (the comparison's `edits` column)."""
    return " & ".join(e.label() for e in edits)


def _unique_names(variants: list[Variant]) -> None:
    """Labels that would collide get the full edit instead."""
    names = [v.name for v in variants]
    for v in variants:
        if names.count(v.name) > 1:
            v.name = full_label(v.edits)


def check_targets(raw: RawWorkbook, specs: list[str]) -> None:
    """Every --vary names an existing sheet, row and column (else VaryError, before any solve)."""
    for spec in specs:
        for edit in _axis_edits(spec)[0]:
            try:
                locate(raw, edit)
            except EditError as exc:
                raise VaryError(f"--vary {spec!r} (variant {edit.label()!r}): {exc}") from None


# ------------------------------------------------------------ experiments
def experiment_variants(raw: RawWorkbook, *, origin: str = "experiments", strict: bool = False,
                        where: str = "") -> list[Variant]:
    """Variants named in the optional ``experiments`` sheet (rows sharing a variant form one).

    A malformed header raises InputError (the input workbook is invalid); a
    row with a missing field makes its variant fail with that message, or,
    with ``strict`` (a ``--variants`` file), raises VaryError naming every such
    cell (``where`` prefixes the message).
    """
    sheet = raw.sheets.get(EXPERIMENTS)
    if sheet is None or not sheet.cells:
        return []
    header = {(id_text(h)): c0 for c0, h in enumerate(sheet.cells[0]) if not is_blank(h)}
    missing = [c for c in EXPERIMENT_COLUMNS if c not in header]
    if missing:
        issues = [Issue(EXPERIMENTS, "A1", f"missing column '{c}' (the experiments sheet needs columns "
                        f"{', '.join(EXPERIMENT_COLUMNS)})") for c in missing]
        if strict:
            raise VaryError(where + "; ".join(str(i) for i in issues))
        raise InputError(issues)
    out: dict[str, Variant] = {}
    problems = []
    for r0 in range(1, len(sheet.cells)):
        cell = {c: sheet.value(r0, header[c]) for c in EXPERIMENT_COLUMNS}
        if all(is_blank(v) for v in cell.values()):
            continue
        name = id_text(cell["variant"])
        if not name:
            if strict:
                problems.append(f"{EXPERIMENTS}!{cell_ref(r0, header['variant'])}: variant is required")
                continue
            raise InputError([Issue(EXPERIMENTS, cell_ref(r0, header["variant"]), "variant is required")])
        var = out.setdefault(name, Variant(name, [], origin=origin))
        sheet_name, rid = id_text(cell["sheet"]), id_text(cell["id"])
        column = id_text(cell["column"]) or ("value" if sheet_name == "settings" else "")
        if not sheet_name or not rid or not column:
            what = "sheet" if not sheet_name else "id" if not rid else "column"
            text = f"{EXPERIMENTS}!{cell_ref(r0, header[what])}: {what} is required"
            problems.append(text)
            var.error = var.error or text
            continue
        value = cell["value"]
        var.edits.append(Edit(sheet_name, rid, column, "" if is_blank(value) else value,
                              row=f"{EXPERIMENTS}!{cell_ref(r0, header['value'])}"))
    if strict and problems:
        raise VaryError(where + "; ".join(problems))
    return list(out.values())


def variants_file(path, base_raw: RawWorkbook) -> list[Variant]:
    """The variants of a ``--variants FILE.xlsx``: its ``experiments`` sheet, in the input's format.

    Strict: an unreadable file, a missing sheet or column, a row missing a field,
    or an edit naming a sheet, row or column the input does not have raises
    VaryError (one line, before anything is solved or written).
    """
    from pathlib import Path

    from capacity.io.errors import one_line
    from capacity.io.reader import read_workbook

    where = f"--variants {one_line(str(path))}: "
    if not Path(path).is_file():
        raise VaryError(where + "no such file")
    try:
        raw = read_workbook(path)
    except InputError as exc:
        texts = [str(i) for i in exc.issues[:SHOWN]]
        texts = [t[len(str(path)) + 2:] if t.startswith(f"{path}: ") else t for t in texts]
        raise VaryError(where + one_line("; ".join(texts))) from None
    if EXPERIMENTS not in raw.sheets:
        raise VaryError(where + f"no sheet '{EXPERIMENTS}' (it needs columns {', '.join(EXPERIMENT_COLUMNS)}, "
                        "one row per edited cell)")
    out = experiment_variants(raw, origin="variants file", strict=True, where=where)
    if not out:
        raise VaryError(where + f"sheet '{EXPERIMENTS}' has no variant rows")
    problems = []
    for v in out:
        for e in v.edits:
            try:
                locate(base_raw, e)
            except EditError as exc:
                problems.append(f"{e.row} (variant {v.name!r}): {exc}")
    if problems:
        more = f" (+{len(problems) - SHOWN} more)" if len(problems) > SHOWN else ""
        raise VaryError(where + "; ".join(problems[:SHOWN]) + more)
    return out


SHOWN = 3


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
        out.append(Variant(f"flex:{c}", edits, origin="flex", contract=c))
    if len(contracts):
        out.append(Variant(f"flex:{FLEX_ALL}", every, origin="flex"))
    return out


# ------------------------------------------- built-in variants of signed contracts
NOT_SIGNED = "not signed"
OPTIMUM_LEVEL = "optimum level"
LEVEL_DIGITS = 3   # the optimum level is written to the variant rounded to 0.001 FTE


def _cell(inputs, contract: str, column: str) -> str:
    try:
        return inputs.origin.cell("contracts", contract, column)
    except Exception:  # an Inputs built in Python has no cells
        return f"contracts:{contract}:{column}"


def signed_variants(inputs) -> list[Variant]:
    """For every contract whose input status is signed: ``not signed:<c>`` and ``optimum level:<c>``.

    - ``not signed``: status option, the terms kept. An unsigned contract cannot
      start inside its lead time (workbook.md: start_week >= 1 + lead_weeks
      unless signed with a committed_fte; formulation.md eq 2), so a start
      inside it moves to week 1 + lead_weeks, the first week the lead time
      allows; nothing else changes. If that week is after end_week the variant
      cannot be made valid and says so by cell.
    - ``optimum level``: still signed, at the committed level the model would
      choose if it were free. When the start is not pre-arranged the edit is
      committed_fte blank (workbook.md: blank = chosen by the model). When the
      committed level was arranged before the plan (start inside the lead
      time), a blank committed_fte would void the start, so the level is found
      by a solve with the committed level free and the pre-arranged start kept
      (``deferred``), then written as committed_fte (rounded to 0.001 FTE) and
      solved as an ordinary variant.
    """
    out = []
    con = inputs.contracts
    for c in con.index:
        row = con.loc[c]
        if row["status"] != "signed":
            continue
        out.append(not_signed_variant(inputs, c))
        out.append(optimum_level_variant(inputs, c))
    return out


def not_signed_variant(inputs, c: str) -> Variant:
    row = inputs.contracts.loc[c]
    name = f"{NOT_SIGNED}:{c}"
    start, end, lead = int(row["start_week"]), int(row["end_week"]), int(row["lead_weeks"])
    first = 1 + lead
    edits = [Edit("contracts", c, "status", "option",
                  "offered, not signed: the model decides whether to sign it, on the same terms")]
    v = Variant(name, edits, origin="builtin", contract=c)
    if start < first:
        if first > end:
            v.error = (f"cannot be made valid: unsigned, {c} could start no earlier than week {first} "
                       f"({_cell(inputs, c, 'lead_weeks')} lead_weeks {lead}), which is after its end_week {end} "
                       f"({_cell(inputs, c, 'end_week')})")
        edits.append(Edit("contracts", c, "start_week", first,
                          f"an unsigned contract cannot start inside its lead time (lead_weeks {lead}): start moved "
                          f"from week {start} to week {first}, the first week the lead time allows; committed level "
                          "and term kept"))
    return v


def optimum_level_variant(inputs, c: str) -> Variant:
    row = inputs.contracts.loc[c]
    name = f"{OPTIMUM_LEVEL}:{c}"
    committed = row["committed_fte"]
    if is_blank(committed):
        return Variant(name, [], origin="builtin", contract=c, error_status="not built",
                       error=f"not built: {_cell(inputs, c, 'committed_fte')} committed_fte is blank, so the base "
                             "already leaves the committed level to the model")
    if int(row["start_week"]) < 1 + int(row["lead_weeks"]):   # pre-arranged: keep the start
        return Variant(name, [], origin="builtin", contract=c, deferred=OPTIMUM_LEVEL)
    return Variant(name, [Edit("contracts", c, "committed_fte", "",
                               f"left to the model (was {_show(committed)}): the level it chooses when free")],
                   origin="builtin", contract=c)


def optimum_level_edit(inputs, c: str, level: float) -> Edit:
    """The edit of a deferred ``optimum level`` variant, once the free-level solve gave ``level``."""
    was = inputs.contracts.loc[c, "committed_fte"]
    value = round(float(level), LEVEL_DIGITS)
    value = 0.0 if value == 0 else value
    return Edit("contracts", c, "committed_fte", value,
                f"the level the model chooses with the committed level free and the pre-arranged start "
                f"(week {int(inputs.contracts.loc[c, 'start_week'])}, inside the lead time) kept; was {_show(was)}; "
                f"rounded to {10 ** -LEVEL_DIGITS:g} FTE")


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
