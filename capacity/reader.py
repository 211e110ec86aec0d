"""Read an .xlsx workbook into raw grids with cell positions (no checking).

Values are read by python-calamine (fast, Rust, no XML entity expansion),
after :func:`capacity.safety.check_workbook_file` has refused unsafe files.
Calamine reads a formula's cached value; a formula *without* one looks blank,
so when any worksheet holds formulas a second, formula-only pass with
openpyxl (which parses through defusedxml) finds formula cells whose value is
missing. Everything downstream works on :class:`RawWorkbook`, so a variant of
an input (``capacity compare``) is an edit of a raw workbook, never a file.
"""

from __future__ import annotations

import copy
import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capacity.errors import file_error

# A table larger than this is refused before it is turned into Python objects
# (a national instance is ~1,500 rows x ~60 columns).
MAX_ROWS = 200_000
MAX_COLS = 2_000


@dataclass
class RawSheet:
    """One sheet as a grid anchored at A1: ``cells[row0][col0]``, '' = blank."""

    name: str
    cells: list[list[Any]]
    hidden: bool = False
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # (r0, c0, r1, c1) 0-based
    formula_without_value: set[tuple[int, int]] = field(default_factory=set)

    def value(self, row0: int, col0: int) -> Any:
        if row0 < len(self.cells) and col0 < len(self.cells[row0]):
            return self.cells[row0][col0]
        return ""

    def set_value(self, row0: int, col0: int, value: Any) -> None:
        while len(self.cells) <= row0:
            self.cells.append([])
        row = self.cells[row0]
        while len(row) <= col0:
            row.append("")
        row[col0] = value


@dataclass
class RawWorkbook:
    path: str
    sha256: str
    sheets: dict[str, RawSheet]

    def copy(self) -> "RawWorkbook":
        return copy.deepcopy(self)


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_workbook(path: str | Path) -> RawWorkbook:
    """Check the file is a safe workbook, then read every sheet's values."""
    from python_calamine import CalamineWorkbook

    from capacity import safety

    path = Path(path)
    safety.check_workbook_file(path)
    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types
        raise file_error(f"{path}: cannot be read as an Excel workbook ({_short(exc)})") from None
    sheets: dict[str, RawSheet] = {}
    try:
        for meta in book.sheets_metadata:
            name = meta.name
            # str() is e.g. 'SheetVisibleEnum.Hidden': compare the member name, not a substring
            hidden = str(meta.visible).rsplit(".", 1)[-1] != "Visible"
            if "WorkSheet" not in str(meta.typ):
                continue  # chart sheets and macro sheets hold no tables
            sheet = book.get_sheet_by_name(name)
            end = sheet.end
            if end is not None and (end[0] + 1 > MAX_ROWS or end[1] + 1 > MAX_COLS):
                raise file_error(
                    f"{path}: sheet '{name}' claims {end[0] + 1:,} rows x {end[1] + 1:,} columns; "
                    f"a workbook for capacity has at most {MAX_ROWS:,} rows and {MAX_COLS:,} columns per sheet"
                )
            cells = sheet.to_python(skip_empty_area=False) if end is not None else []
            merged = [_merged_range(r) for r in (getattr(sheet, "merged_cell_ranges", None) or [])]
            sheets[name] = RawSheet(name=name, cells=cells, hidden=hidden, merged=merged)
    except Exception as exc:
        if hasattr(exc, "issues"):
            raise
        raise file_error(f"{path}: cannot be read as an Excel workbook ({_short(exc)})") from None
    finally:
        book.close()
    if _has_formulas(path):
        _mark_formulas_without_values(path, sheets)
    return RawWorkbook(path=str(path), sha256=sha256_of(path), sheets=sheets)


def _merged_range(r) -> tuple[int, int, int, int]:
    """(r0, c0, r1, c1) of a merged range: python-calamine gives ((r0, c0), (r1, c1))
    (older versions an object with .start / .end)."""
    start, end = (r.start, r.end) if hasattr(r, "start") else (r[0], r[1])
    return (int(start[0]), int(start[1]), int(end[0]), int(end[1]))


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _has_formulas(path: Path) -> bool:
    """Cheap scan: does any worksheet part contain a formula element?"""
    from capacity.safety import read_member_bounded

    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                data = read_member_bounded(zf, info.filename, 1 << 30)
                if b"<f>" in data or b"<f " in data or b":f>" in data or b":f " in data:
                    return True
    return False


def _mark_formulas_without_values(path: Path, sheets: dict[str, RawSheet]) -> None:
    """Record formula cells that calamine read as blank (no cached value)."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        for name, raw in sheets.items():
            if name not in book.sheetnames:
                continue
            for r0, row in enumerate(book[name].iter_rows()):
                for cell in row:
                    if getattr(cell, "data_type", None) != "f":
                        continue
                    c0 = cell.column - 1
                    if raw.value(r0, c0) in ("", None):
                        raw.formula_without_value.add((cell.row - 1, c0))
    finally:
        book.close()
