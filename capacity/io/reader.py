"""Read an .xlsx workbook into raw grids with cell positions (no checking).

Values are read by python-calamine (fast, Rust, no XML entity expansion),
after :func:`capacity.io.safety.check_workbook_file` has refused unsafe files.
Calamine reads a formula's cached value; a formula *without* one looks blank,
so when any worksheet holds formulas a second, formula-only pass with
openpyxl (which parses through defusedxml) finds formula cells whose value is
missing. Everything downstream works on :class:`RawWorkbook`, so a variant of
an input (``capacity compare``) is an edit of a raw workbook, never a file.
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capacity.io.errors import file_error

# A table larger than this is refused before it is turned into Python objects
# (a national instance is ~1,500 rows x ~60 columns).
MAX_ROWS = 200_000
MAX_COLS = 2_000

# Excel's error values; a cell holding one (or text spelling one) is never a value.
ERROR_CODES = ("#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!",
               "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#PYTHON!")


@dataclass(frozen=True)
class CellError:
    """A cell whose content is not a value: an Excel error (``#N/A``) or a
    number that is not a number (NaN, or a numeric cell with an empty value).
    Calamine reads both as blank; the reader puts this in their place so that
    no later stage can mistake them for a blank cell and its default."""

    code: str

    def __str__(self) -> str:
        return self.code

    def describe(self) -> str:
        if self.code == "NaN":
            return "NaN (not a number)"
        return f"{self.code} (an Excel error value)"


def as_cell_error(value: Any) -> CellError | None:
    """The :class:`CellError` a cell value stands for: itself, a float NaN, or
    text that spells an Excel error value; else None."""
    if isinstance(value, CellError):
        return value
    if isinstance(value, float) and value != value:
        return CellError("NaN")
    if isinstance(value, str) and value.strip().upper() in ERROR_CODES:
        return CellError(value.strip().upper())
    return None


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

    from capacity.io import safety

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
    formulas, special = _scan_parts(path)
    if special:
        try:
            _mark_special_cells(path, sheets)
        except Exception as exc:  # a damaged part: the file, not the program, is at fault
            raise file_error(f"{path}: cannot be read as an Excel workbook ({_short(exc)})") from None
    if formulas:
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


# an error cell (t="e"), or a value element that is empty: calamine reads both as blank
_SPECIAL = re.compile(rb't\s*=\s*["\']e["\']|<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</')
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _scan_parts(path: Path) -> tuple[bool, bool]:
    """Cheap scan of the worksheet parts: (any formula element, any error or empty-value cell)."""
    from capacity.io.safety import read_member_bounded

    formulas = special = False
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                data = read_member_bounded(zf, info.filename, 1 << 30)
                formulas = formulas or b"<f>" in data or b"<f " in data or b":f>" in data or b":f " in data
                special = special or _SPECIAL.search(data) is not None
    return formulas, special


def _mark_special_cells(path: Path, sheets: dict[str, RawSheet]) -> None:
    """Put a :class:`CellError` where the XML holds an error value or a numeric
    cell whose value is empty or not a finite number (calamine gives '')."""
    from defusedxml.ElementTree import iterparse

    with zipfile.ZipFile(path) as zf:
        for name, part in _sheet_parts(zf).items():
            raw = sheets.get(name)
            if raw is None or part not in zf.namelist():
                continue
            with zf.open(part) as fh:
                for _, elem in iterparse(fh):
                    if elem.tag.rsplit("}", 1)[-1] != "c":
                        continue
                    code = _special_code(elem)
                    if code is not None and elem.get("r"):
                        r0, c0 = cell_index(elem.get("r"))
                        raw.set_value(r0, c0, CellError(code))
                    elem.clear()


def _special_code(elem) -> str | None:
    kind = elem.get("t", "n")
    v = elem.find(_NS + "v")
    if v is None:
        v = next((ch for ch in elem if ch.tag.rsplit("}", 1)[-1] == "v"), None)
    if v is None:
        return None
    text = (v.text or "").strip()
    if kind == "e":
        return text.upper() or "#N/A"
    if kind != "n" or any(ch.tag.rsplit("}", 1)[-1] == "f" for ch in elem):
        return None  # text, booleans, dates; a formula without a value is reported as such
    try:
        return None if math.isfinite(float(text)) else "NaN"
    except ValueError:
        return "NaN"


def cell_index(ref: str) -> tuple[int, int]:
    """0-based (row, column) of a cell reference such as "B12"."""
    m = re.match(r"([A-Za-z]+)(\d+)", ref)
    col = 0
    for ch in m.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> worksheet part, from xl/workbook.xml and its relationships."""
    from defusedxml.ElementTree import fromstring

    book = fromstring(zf.read("xl/workbook.xml"))
    rels = fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target", "") for r in rels}
    out = {}
    for el in book.iter():
        if el.tag.rsplit("}", 1)[-1] != "sheet":
            continue
        rid = next((v for k, v in el.attrib.items() if k.rsplit("}", 1)[-1] == "id"), None)
        t = target.get(rid, "")
        out[el.get("name")] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    return out


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
