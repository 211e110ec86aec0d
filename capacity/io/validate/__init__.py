"""Check a raw workbook against the schema and the rules of workbook.md.

Two passes:

1. **Cells** (:func:`~capacity.io.validate.cells.parse_sheet` in
   :mod:`capacity.io.validate.cells`): every cell of every sheet is read by its
   :class:`~capacity.io.schema.Column` rule. A bad cell is reported as
   ``sheet!CELL: <column> must be <rule>, got <value>``.
2. **Rules across cells and sheets** (:mod:`capacity.io.validate.rules`): one
   function each (listed in :data:`RULES`), in the style of PyPSA's
   consistency checks.

All problems are collected; :func:`read_inputs` raises one
:class:`~capacity.io.errors.InputError` carrying every issue, sorted by sheet
(in schema order) and cell. Only a clean workbook becomes :class:`Inputs`
(:mod:`capacity.io.validate.assemble`).

The names other modules use (``validate_raw``, ``read_inputs``, ``is_blank``,
``id_text``, ``week_of``, ``parse_value``, the rules ...) are importable from
``capacity.io.validate`` itself.
"""

from __future__ import annotations

from pathlib import Path

from capacity.io import schema as S
from capacity.io.errors import InputError, Issue, cell_ref, sort_issues
from capacity.io.inputs import Inputs
from capacity.io.reader import RawWorkbook, read_workbook
from capacity.io.validate.assemble import assemble
from capacity.io.validate.cells import (  # noqa: F401  re-exported
    BLANK,
    Book,
    Collector,
    Parsed,
    cell_problem,
    id_text,
    is_blank,
    parse_sheet,
    parse_value,
    week_of,
)
from capacity.io.validate.rules import (  # noqa: F401  re-exported
    EXCEL_FIRST_DATE,
    EXCEL_LAST_DATE,
    RULES,
    check_contractor_terms,
    check_contracts,
    check_demand_rows,
    check_duplicate_ids,
    check_escalation,
    check_horizon_dates,
    check_magnitude,
    check_probabilities,
    check_references,
    check_unit_ids,
    check_unserved_work,
)


# --------------------------------------------------------------------------
# Workbook-level checks, then the two passes and assembly
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
        elif name not in S.EXTRA_SHEETS:  # the tool's own sheets are not unknown (workbook.md): no warning
            out.warn(name, "A1", f"unknown sheet '{name}' ignored")
    for sheet in S.SHEETS:
        if sheet.optional:
            continue
        if sheet.name not in raw.sheets and sheet.name.lower() not in {n.lower() for n in raw.sheets}:
            out.error(sheet.name, "A1", f"missing sheet '{sheet.name}'")


def validate_raw(raw: RawWorkbook) -> tuple[Inputs | None, list[Issue]]:
    """Check a raw workbook; return (Inputs or None if any error, sorted issues)."""
    out = Collector()
    _check_layout(raw, out)
    book: Book = {}
    weeks = None
    if "settings" in raw.sheets:
        book["settings"] = parse_sheet(raw.sheets["settings"], S.SETTINGS_SHEET, out, None)
        recs = book["settings"].records
        weeks = recs[0].get("weeks") if recs else None
    for sheet in S.SHEETS[1:]:
        if sheet.name in raw.sheets:
            book[sheet.name] = parse_sheet(raw.sheets[sheet.name], sheet, out, weeks)
    for rule in RULES:
        rule(book, out, weeks)
    issues = sort_issues(out.issues, S.SHEET_ORDER)
    if out.has_errors:
        return None, issues
    return assemble(raw, book, weeks), issues


def read_inputs(path: str | Path) -> tuple[Inputs, list[Issue]]:
    """Read and validate a workbook. Raises InputError with every issue."""
    raw = read_workbook(path)
    inputs, issues = validate_raw(raw)
    if inputs is None:
        raise InputError(issues)
    return inputs, issues
