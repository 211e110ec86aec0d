"""The input copies inside a plan workbook (``input_<sheet>``, capacity/output/trail.py), for the audit.

* :func:`compare_copies`: with the input file at hand, every copied cell must
  equal the input's cell at the same address (the copy is what the formulas
  of the workbook refer to, so a copy edited by hand would make them lie).
* :func:`embedded_input`: without the input file, the copies themselves are
  read back as an input workbook, validated like any input, and audited
  against; the SHA-256 of the original file then cannot be checked, and the
  audit says so.
"""

from __future__ import annotations

import datetime as dt
import math

from capacity.io import schema as S
from capacity.io.errors import col_letter
from capacity.io.reader import RawSheet, RawWorkbook
from capacity.output.report_cells import unescape_text

PREFIX = "input_"
#: At most this many differing cells are listed (the count is always given).
MAX_LISTED = 20
#: Two numbers of a copy and its input cell are equal within this relative tolerance
#: (the copy is written with every digit, so only the last bit may differ).
COPY_REL_TOL = 1e-12


def has_copies(raw_out: RawWorkbook) -> bool:
    return any(f"{PREFIX}{s.name}" in raw_out.sheets for s in S.SHEETS)


def _copied(raw_out: RawWorkbook, name: str) -> list[list]:
    cells = raw_out.sheets[f"{PREFIX}{name}"].cells
    return [[unescape_text(v) if isinstance(v, str) else v for v in row] for row in cells]


def embedded_input(raw_out: RawWorkbook) -> RawWorkbook:
    """The input tables copied into the output, as an input workbook (sheet names without the prefix)."""
    sheets = {s.name: RawSheet(s.name, _copied(raw_out, s.name))
              for s in S.SHEETS if f"{PREFIX}{s.name}" in raw_out.sheets}
    return RawWorkbook(path=f"{raw_out.path} (its input_ sheets)", sha256="", sheets=sheets)


def compare_copies(raw_out: RawWorkbook, raw_in: RawWorkbook) -> list[str]:
    """One line per input sheet whose copy differs from the input file (cells named), else []."""
    lines: list[str] = []
    for sheet in S.SHEETS:
        name = sheet.name
        if name not in raw_in.sheets:
            continue
        if f"{PREFIX}{name}" not in raw_out.sheets:
            lines.append(f"{PREFIX}{name}: the copy of input sheet '{name}' is missing")
            continue
        diffs = _differences(_copied(raw_out, name), raw_in.sheets[name].cells)
        if diffs:
            listed = ", ".join(f"{PREFIX}{name}!{ref} is {_show(a)}, the input's {name}!{ref} is {_show(b)}"
                               for ref, a, b in diffs[:MAX_LISTED])
            more = f" (and {len(diffs) - MAX_LISTED:,} more)" if len(diffs) > MAX_LISTED else ""
            lines.append(f"{PREFIX}{name}: {len(diffs):,} cell(s) differ from the input: {listed}{more}")
    return lines


def _show(v) -> str:
    """A cell's value as the auditor would type it: 40 not 40.0, a date as a date, blank as blank."""
    if v in (None, ""):
        return "blank"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        return f"{float(v):.15g}"
    if isinstance(v, (dt.date, dt.datetime)):
        return _day(v).isoformat()
    return repr(v)


def _differences(copy: list[list], original: list[list]) -> list[tuple[str, object, object]]:
    out = []
    rows = max(len(copy), len(original))
    for r in range(rows):
        a_row = copy[r] if r < len(copy) else []
        b_row = original[r] if r < len(original) else []
        for c in range(max(len(a_row), len(b_row))):
            a = a_row[c] if c < len(a_row) else ""
            b = b_row[c] if c < len(b_row) else ""
            if not _same(a, b):
                out.append((f"{col_letter(c)}{r + 1}", a, b))
    return out


def _same(a, b) -> bool:
    blank = (None, "")
    if a in blank or b in blank:
        return a in blank and b in blank
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=COPY_REL_TOL, abs_tol=0.0)
    if isinstance(a, (dt.date, dt.datetime)) and isinstance(b, (dt.date, dt.datetime)):
        return _day(a) == _day(b)
    return a == b if type(a) is type(b) else str(a) == str(b)


def _day(v):
    return v.date() if isinstance(v, dt.datetime) else v
