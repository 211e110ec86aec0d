"""`capacity explain OUT.xlsx SHEET!CELL`: a figure's derivation, back to the input cells.

A plan workbook writes its derived columns as live formulas over the
decision cells (fte, onboarded, exits, attempted, ...) and over the copies of
the input (``input_<sheet>``, capacity/output/trail.py). This module reads a
cell's formula (openpyxl, ``data_only=False``) and its cached value
(``data_only=True``), splits the formula with openpyxl's formula
:class:`~openpyxl.formula.Tokenizer` and follows every reference it makes --
``A1``, ``$A$1``, ranges ``B2:B9`` and other sheets' cells ``'sheet'!A1`` --
down to its leaves, as an indented tree. Each node shows ``sheet!cell``, its
value, its column header, the row's id columns (when the row differs from its
parent's), and its formula. Leaves are:

* input cells (on an ``input_`` sheet): ``input_settings!B4 =
  hours_per_fte_week 37.5 (from the input's settings!B4)``;
* decisions of the model (plain numbers in the decision columns of the plan,
  work and contracts sheets: fte, onboarded, exits, attempted, signed,
  committed_fte);
* constants with no formula, and empty cells.

Limits keep the tree readable: a range of more than :data:`SMALL_RANGE`
cells is summarised (count, sum, distinct texts) with only its first
:data:`FIRST_CELLS` formula cells expanded (non-zero ones first); a cell already expanded (or a cell of the same sheet with the same formula
text, which refers to the same cells) is shown once and then referred to as
"expanded above"; the tree stops at
``max_depth`` levels and :data:`MAX_NODES` nodes, saying so.

A bad reference (no such sheet, a cell that is not ``SHEET!A1``, an empty
cell) raises :func:`capacity.io.errors.file_error`: one line, exit 1.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl.formula import Tokenizer
from openpyxl.formula.tokenizer import Token
from openpyxl.utils.cell import coordinate_from_string, range_boundaries
from openpyxl.utils.exceptions import CellCoordinatesException

from capacity.io import schema as S
from capacity.io.errors import cell_ref, file_error

INPUT_PREFIX = "input_"
#: columns that say which row a figure belongs to (shown for context)
ID_COLUMNS = ("scenario", "week", "region", "unit", "work_type", "contract")
#: plain numbers in these columns are the model's decisions
DECISIONS = {
    "plan": ("fte", "onboarded", "exits"),
    "work": ("attempted",),
    "contracts": ("signed", "committed_fte"),
}
#: a range of at most this many cells is expanded cell by cell
SMALL_RANGE = 4
#: of a longer range, this many formula cells are expanded (the rest summarised)
FIRST_CELLS = 3
#: the tree stops after this many nodes
MAX_NODES = 400
MAX_DEPTH = 10
DECISION = "decision of the model"


@dataclass
class Node:
    """One cell (or range) of the derivation."""

    ref: str                      # sheet!A1 or sheet!A1:A9
    kind: str                     # formula | input | decision | constant | empty | range | seen | name | limit
    value: Any = None
    formula: str | None = None
    header: str = ""
    ids: str = ""                 # the row's id columns, when they differ from the parent's row
    note: str = ""
    source: str = ""              # an input cell: its address in the input workbook (settings!B4)
    children: list["Node"] = field(default_factory=list)

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()


@dataclass
class Explanation:
    workbook: Path
    root: Node
    truncated: bool = False
    has_copies: bool = True  # the workbook carries input_ sheets

    def inputs(self) -> list[Node]:
        """The input cells reached, each once, in the order first met."""
        out, seen = [], set()
        for n in self.root.walk():
            if n.kind == "input" and n.ref not in seen:
                seen.add(n.ref)
                out.append(n)
        return out

    def lines(self) -> list[str]:
        out = [f"{self.root.ref} of {self.workbook}: each cell with its value, [its column and row], and its "
               "formula; indented under it, the cells the formula refers to.", ""]
        _render(self.root, 0, out)
        if self.truncated:
            out.append("(the tree stops where it says 'not followed further'; run explain on that cell, or give "
                       "a larger --depth, to follow it)")
        reached = self.inputs()
        if reached:
            out += ["", f"Input cells reached ({len(reached)}; the input_ sheets copy the input workbook cell for "
                        "cell):"]
            out += [f"  {n.source} = {n.header} {show(n.value, n.header)}" for n in reached]
        elif not self.has_copies:
            out += ["", "No input cell reached: this workbook has no input_ sheets (it is not a plan workbook "
                        "written by capacity plan, or an old one)."]
        else:
            out += ["", "No input cell reached" + (" within the limits." if self.truncated else ".")]
        return out

    def text(self) -> str:
        return "\n".join(self.lines())


# ------------------------------------------------------------------ the workbook
class _Sheet:
    """One sheet's formulas (or values) and cached values, read row by row."""

    def __init__(self, formulas: list[tuple], values: list[tuple]):
        self.formulas = formulas
        self.values = values

    @staticmethod
    def _at(grid: list[tuple], row: int, col: int):
        if 1 <= row <= len(grid):
            r = grid[row - 1]
            if 1 <= col <= len(r):
                return r[col - 1]
        return None

    def formula(self, row: int, col: int) -> str | None:
        v = self._at(self.formulas, row, col)
        v = getattr(v, "text", v)  # an array formula
        return v if isinstance(v, str) and v.startswith("=") else None

    def value(self, row: int, col: int):
        return self._at(self.values, row, col)

    def header(self, col: int):
        return self._at(self.values, 1, col)

    def headers(self) -> list:
        """Row 1, every column."""
        return list(self.values[0]) if self.values else []


class _Book:
    """The workbook, opened twice (formulas, cached values), sheets read when first needed."""

    def __init__(self, path: Path):
        import openpyxl

        from capacity.io import safety

        safety.check_workbook_file(path)
        try:
            self._f = openpyxl.load_workbook(path, read_only=True, data_only=False)
            self._v = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a file it cannot read
            raise file_error(f"{path}: cannot be read as an Excel workbook ({type(exc).__name__}: {exc})") from None
        self.path = path
        self.names = list(self._f.sheetnames)
        self._sheets: dict[str, _Sheet] = {}

    def sheet(self, name: str) -> _Sheet | None:
        if name not in self.names:
            return None
        if name not in self._sheets:
            self._sheets[name] = _Sheet(list(self._f[name].iter_rows(values_only=True)),
                                        list(self._v[name].iter_rows(values_only=True)))
        return self._sheets[name]

    def close(self) -> None:
        for b in (self._f, self._v):
            try:
                b.close()
            except Exception:
                pass


# ------------------------------------------------------------------ references
def parse_ref(text: str, current: str | None = None) -> tuple[str, tuple[int, int, int, int]]:
    """``'sheet'!$A$1:B2`` -> (sheet, (min_col, min_row, max_col, max_row)); ValueError when not a reference."""
    text = text.strip()
    if "!" in text:
        sheet, addr = text.rsplit("!", 1)
        if len(sheet) >= 2 and sheet[0] == sheet[-1] == "'":
            sheet = sheet[1:-1].replace("''", "'")
    elif current is not None:
        sheet, addr = current, text
    else:
        raise ValueError(text)
    addr = addr.replace("$", "")
    if not addr or not sheet:
        raise ValueError(text)
    try:
        if ":" not in addr:
            coordinate_from_string(addr)  # a single cell: column letters and a row number
        bounds = range_boundaries(addr)
    except (ValueError, CellCoordinatesException, TypeError):
        raise ValueError(text) from None
    if any(b is None for b in bounds):  # whole columns or rows (A:A, 2:2)
        raise ValueError(text)
    return sheet, bounds


def references(formula: str) -> list[str]:
    """The cell and range operands of a formula, in order of appearance, each once."""
    out: list[str] = []
    for tok in Tokenizer(formula).items:
        if tok.type == Token.OPERAND and tok.subtype == Token.RANGE and tok.value not in out:
            out.append(tok.value)
    return out


def functions(formula: str) -> list[str]:
    out: list[str] = []
    for tok in Tokenizer(formula).items:
        if tok.type == Token.FUNC and tok.subtype == Token.OPEN and tok.value[:-1] not in out:
            out.append(tok.value[:-1])
    return out


def _cell(col: int, row: int) -> str:
    """1-based (column, row) -> 'B7'."""
    return cell_ref(row - 1, col - 1)


def _qualified(sheet: str, addr: str) -> str:
    plain = sheet.replace("_", "a").isalnum()
    return f"{sheet}!{addr}" if plain else f"'{sheet.replace(chr(39), chr(39) * 2)}'!{addr}"


# ------------------------------------------------------------------ labels
def _is_blank(v) -> bool:
    return v is None or (isinstance(v, str) and v == "")


def show(v, header: str = "") -> str:
    """A value as a reader reads it (shares also in per cent)."""
    if _is_blank(v):
        return "(empty)"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        x = float(v)
        if not math.isfinite(x):
            return str(x)
        s = f"{x:,.6g}" if abs(x) < 1e6 else f"{x:,.2f}"
        if ("utilisation" in header or "share" in header) and abs(x) <= 100 and x != 0:
            s += f" ({x:.1%})"
        return s
    if isinstance(v, (dt.datetime, dt.date)):
        return (v.date() if isinstance(v, dt.datetime) else v).isoformat()
    return repr(v) if isinstance(v, str) else str(v)


def _nonzero(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v != 0


def _text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v)


def _header(sh: _Sheet, row: int, col: int) -> str:
    """The column name of a cell: row 1 of its column; on a key/value sheet, the row's key."""
    if sh.header(1) == "key" and col >= 2 and row >= 2:
        return _text(sh.value(row, 1))
    return _text(sh.header(col))


def _row_ids(sh: _Sheet, row: int) -> str:
    if row < 2:
        return ""
    heads = sh.headers()
    parts = []
    for name in ID_COLUMNS:
        if name in heads:
            v = sh.value(row, heads.index(name) + 1)
            if not _is_blank(v):
                parts.append(f"{name} {_text(v)}")
                if name == "week" and "week_start" in heads:
                    start = sh.value(row, heads.index("week_start") + 1)
                    if isinstance(start, (dt.date, dt.datetime)):
                        parts[-1] += f" (from {show(start)})"
    return ", ".join(parts)


def input_name(sheet: str, sh: _Sheet, row: int, col: int) -> str:
    """What an input_ cell is, in the input's words: ``hours_per_fte_week``,
    ``minutes_per_task of eho / complex``, ``cases in week 3 of low / north``."""
    spec = S.SHEETS_BY_NAME.get(sheet[len(INPUT_PREFIX):])
    head = _text(sh.header(col))
    if row < 2:
        return f"the header {head!r}" if head else "a header cell"
    if spec is not None and spec.layout == S.SETTINGS:
        return _text(sh.value(row, 1)) if col >= 2 else f"the name of setting {_text(sh.value(row, 1))!r}"
    heads = [_text(h) for h in sh.headers()]
    keys = list(spec.key) if spec is not None else heads[:1]
    ids = " / ".join(_text(sh.value(row, heads.index(k) + 1)) for k in keys if k in heads)
    if head in keys:
        return f"{head} (an id)"
    if spec is not None and spec.layout == S.WIDE and spec.week_column is not None and head not in heads[:len(keys)]:
        return f"{spec.week_column.name} in week {head} of {ids}" if ids else f"{spec.week_column.name} in week {head}"
    return f"{head} of {ids}" if ids else head


# ------------------------------------------------------------------ the tree
class _Walker:
    def __init__(self, book: _Book, max_depth: int, first: int):
        self.book = book
        self.max_depth = max_depth
        self.first = first
        self.nodes = 0
        self.seen: set[tuple[str, int, int]] = set()
        self.formulas: dict[tuple[str, str], str] = {}  # (sheet, formula text) -> the cell expanded
        self.truncated = False

    def cell(self, sheet: str, row: int, col: int, depth: int, parent_row: tuple[str, int] | None) -> Node:
        self.nodes += 1
        sh = self.book.sheet(sheet)
        ref = _qualified(sheet, _cell(col, row))
        if sh is None:
            return Node(ref, "name", note=f"no sheet {sheet!r} in this workbook")
        value, formula = sh.value(row, col), sh.formula(row, col)
        ids = "" if parent_row == (sheet, row) else _row_ids(sh, row)
        if sheet.startswith(INPUT_PREFIX):
            original = f"{sheet[len(INPUT_PREFIX):]}!{_cell(col, row)}"
            return Node(ref, "input", value, formula, input_name(sheet, sh, row, col),
                        note=f"from the input's {original}", source=original)
        header = _header(sh, row, col)
        if formula is None:
            if _is_blank(value):
                return Node(ref, "empty", value, header=header, ids=ids, note="empty cell")
            if isinstance(value, (int, float, bool, str)) and header in DECISIONS.get(sheet.split("_")[0], ()):
                return Node(ref, "decision", value, header=header, ids=ids, note=DECISION)
            return Node(ref, "constant", value, header=header, ids=ids, note="a constant (no formula)")
        node = Node(ref, "formula", value, formula, header, ids)
        if value is None:
            node.note = "no cached value (the workbook was saved by a program that does not calculate)"
        key = (sheet, row, col)
        if key in self.seen:
            node.kind, node.note = "seen", "expanded above"
            return node
        same = self.formulas.get((sheet, formula))
        if same is not None:  # the same text on the same sheet refers to the same cells
            node.kind, node.note = "seen", f"the same formula as {same}, expanded above"
            return node
        self.seen.add(key)
        self.formulas[(sheet, formula)] = ref
        if depth >= self.max_depth or self.nodes >= MAX_NODES:
            node.note = (node.note + "; " if node.note else "") + "not followed further: " + (
                f"--depth {self.max_depth} reached" if depth >= self.max_depth else f"{MAX_NODES} cells shown")
            self.truncated = True
            return node
        for operand in references(formula):
            if self.nodes >= MAX_NODES:
                self.truncated = True
                node.children.append(Node("...", "limit", note=f"more references not shown ({MAX_NODES} cells shown)"))
                break
            node.children.append(self.operand(operand, sheet, depth + 1, (sheet, row)))
        return node

    def operand(self, text: str, sheet: str, depth: int, here: tuple[str, int]) -> Node:
        try:
            target, (c0, r0, c1, r1) = parse_ref(text, sheet)
        except ValueError:
            self.nodes += 1
            return Node(text, "name", note="a name, not a cell reference (not followed)")
        if self.book.sheet(target) is None:
            self.nodes += 1
            return Node(text, "name", note=f"no sheet {target!r} in this workbook")
        if (c0, r0) == (c1, r1):
            return self.cell(target, r0, c0, depth, here)
        return self.range(target, c0, r0, c1, r1, depth, here)

    def range(self, sheet: str, c0: int, r0: int, c1: int, r1: int, depth: int, here) -> Node:
        self.nodes += 1
        sh = self.book.sheet(sheet)
        cells = [(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]
        ref = _qualified(sheet, f"{_cell(c0, r0)}:{_cell(c1, r1)}")
        values = [sh.value(r, c) for r, c in cells]
        numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        texts = [v for v in values if isinstance(v, str) and v != ""]
        header = _header(sh, r0, c0) if c0 == c1 else ""
        parts = [f"{len(cells):,} cells"]
        if numbers:
            parts.append(f"{len(numbers):,} numbers, sum {show(sum(numbers))}")
        if texts:
            distinct = sorted(set(texts), key=texts.index)
            shown = ", ".join(repr(t) for t in distinct[:4]) + (", ..." if len(distinct) > 4 else "")
            parts.append(f"{len(texts):,} texts ({shown})")
        blanks = len(values) - len(numbers) - len(texts)
        if blanks:
            parts.append(f"{blanks:,} empty")
        node = Node(ref, "range", header=header, note="; ".join(parts))
        with_formula = [(r, c) for r, c in cells if sh.formula(r, c) is not None]
        if len(cells) <= SMALL_RANGE:
            expand = cells
        elif with_formula:
            nonzero = [(r, c) for r, c in with_formula if _nonzero(sh.value(r, c))]
            expand = (nonzero or with_formula)[: self.first]
            node.note += f"; the first {len(expand)} {'non-zero ' if nonzero else ''}formula cells:"
        else:
            expand = []
            node.note += f"; no formulas (first values: {', '.join(show(v) for v in values[:self.first])})"
        if depth > self.max_depth:
            self.truncated = True
            return node
        for r, c in expand:
            if self.nodes >= MAX_NODES:
                self.truncated = True
                break
            node.children.append(self.cell(sheet, r, c, depth + 1, here))
        rest = len(cells) - len(expand)
        if expand and rest > 0:
            node.children.append(Node("...", "limit", note=f"{rest:,} more cells of {ref} not shown"))
        return node


def _render(node: Node, level: int, out: list[str]) -> None:
    pad = "  " * level
    if node.kind == "limit":
        out.append(f"{pad}... {node.note}")
        return
    if node.kind == "input":
        out.append(f"{pad}{node.ref} = {node.header} {show(node.value, node.header)} ({node.note}): input cell")
        return
    if node.kind == "range":
        head = f" ({node.header})" if node.header else ""
        out.append(f"{pad}{node.ref}{head}: {node.note}")
    elif node.kind == "name":
        out.append(f"{pad}{node.ref}: {node.note}")
    else:
        what = ", ".join(p for p in (node.header, node.ids) if p)
        line = f"{pad}{node.ref} = {show(node.value, node.header)}"
        if what:
            line += f"  [{what}]"
        if node.kind in ("decision", "constant", "empty") or (node.kind == "seen" and node.note != "expanded above"):
            line += f": {node.note}"
        elif node.formula:
            line += f"  {node.formula}"
            if node.note:
                line += f"  ({node.note})"
        out.append(line)
    for c in node.children:
        _render(c, level + 1, out)


# ------------------------------------------------------------------ API
def _target(book: _Book, ref: str) -> tuple[str, int, int]:
    text = ref.strip()
    if "!" not in text:
        raise file_error(f"{ref!r}: give the cell as SHEET!CELL, e.g. plan!O2")
    try:
        sheet, (c0, r0, c1, r1) = parse_ref(text)
    except ValueError:
        raise file_error(f"{ref!r}: not a cell reference; give the cell as SHEET!CELL, e.g. plan!O2") from None
    if (c0, r0) != (c1, r1):
        raise file_error(f"{ref!r}: a range; give one cell, e.g. {sheet}!{_cell(c0, r0)}")
    if sheet not in book.names:
        close = [n for n in book.names if n.lower() == sheet.lower()]
        hint = f" (did you mean {close[0]!r}?)" if close else f"; its sheets: {', '.join(book.names)}"
        raise file_error(f"{book.path}: no sheet {sheet!r}{hint}")
    sh = book.sheet(sheet)
    if sh.formula(r0, c0) is None and _is_blank(sh.value(r0, c0)):
        raise file_error(f"{_qualified(sheet, _cell(c0, r0))}: the cell is empty; nothing to explain")
    return sheet, r0, c0


def explain(workbook: str | Path, ref: str, *, max_depth: int = MAX_DEPTH, first: int = FIRST_CELLS) -> Explanation:
    """The derivation of the cell ``ref`` (``SHEET!CELL``) of ``workbook`` as a tree (see the module doc)."""
    path = Path(workbook)
    book = _Book(path)
    try:
        sheet, row, col = _target(book, ref)
        walker = _Walker(book, max_depth, first)
        root = walker.cell(sheet, row, col, 0, None)
        return Explanation(path, root, walker.truncated,
                           any(n.startswith(INPUT_PREFIX) for n in book.names))
    finally:
        book.close()
