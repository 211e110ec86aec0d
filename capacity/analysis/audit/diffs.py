"""How the audit collects differences and prints them, one step at a time."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from capacity.analysis.audit.read import Table
from capacity.output.report_cells import unescape_text

#: Relative tolerance for a figure recomputed from other cells (numbers are
#: stored with 16 significant digits).
REL_TOL = 1e-9
MAX_LINES_PER_STEP = 20


class Diffs:
    """Collects cell-by-cell differences of one step."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.cells = 0
        self.largest = 0.0

    def compare(self, t: Table, column: str, rows: np.ndarray, got, want, what: str,
                rel: float = REL_TOL, absolute: float = 0.0) -> None:
        got = np.asarray(got, dtype=float)
        want = np.asarray(want, dtype=float)
        both_nan = np.isnan(got) & np.isnan(want)
        diff = np.where(both_nan, 0.0, np.abs(got - want))
        diff = np.nan_to_num(diff, nan=np.inf)
        scale = np.maximum(1.0, np.abs(np.nan_to_num(want)))
        self.cells += len(diff)
        if len(diff):
            self.largest = max(self.largest, float(np.max(np.where(np.isfinite(diff), diff / scale, 0.0))))
        bad = np.flatnonzero(diff > rel * scale + absolute)
        for j in bad:
            self.add(f"{t.cell(int(rows[j]), column)}: {column} is {fmt(got[j])}, but {what} gives {fmt(want[j])}")

    def add(self, line: str) -> None:
        self.lines.append(line)


# ---- cell by cell: the audits of compare and backtest workbooks, whose sheets are read as text and numbers
def cell_value(v):
    """A cell as written: text unescaped (an empty text is None), anything else as it is."""
    if isinstance(v, str):
        v = unescape_text(v)
        return None if v == "" else v
    return v


def cell_number(v) -> float:
    """A cell as a number: NaN for a blank, a boolean or a text (but 'inf' / 'infinite': infinity)."""
    if isinstance(v, bool) or v is None:
        return math.nan
    if isinstance(v, (int, float, np.floating, np.integer)):
        return float(v)
    if isinstance(v, str) and v.strip().lower() in ("inf", "infinite"):
        return math.inf
    return math.nan


def plain_text(v) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


class CellDiffs:
    """Differences of one step, each naming its cell (``who(table, row)`` says whose it is); counts the
    cells compared. ``norm``: how a text cell and its expected text are compared."""

    def __init__(self, who: Callable[[Table, int], str], norm: Callable[[object], str] = plain_text) -> None:
        self.lines: list[str] = []
        self.cells = 0
        self.largest = 0.0
        self.who = who
        self.norm = norm

    def number(self, t: Table, i: int, col: str, want, what: str, *, rel: float = REL_TOL, absolute: float = 0.0,
               of=()) -> None:
        """``of``: the terms the figure is a sum, product or difference of (its rounding error scales with
        them, not with the result)."""
        if col not in t.frame.columns:
            return
        got, want = cell_number(t.frame[col].iat[i]), cell_number(want)
        self.cells += 1
        if (math.isnan(got) and math.isnan(want)) or got == want:   # both infinite, or equal
            return
        scale = max([1.0, abs(want) if math.isfinite(want) else 1.0] + [abs(x) for x in of if math.isfinite(x)])
        diff = abs(got - want) if math.isfinite(got) and math.isfinite(want) else math.inf
        if math.isfinite(diff):
            self.largest = max(self.largest, diff / scale)
        if diff > rel * scale + absolute:
            raw = t.frame[col].iat[i]
            self.add(t, i, col, fmt(got) if not math.isnan(got) or raw is None else repr(raw), fmt(want), what)

    def text(self, t: Table, i: int, col: str, want, what: str) -> None:
        if col not in t.frame.columns:
            return
        got = t.frame[col].iat[i]
        self.cells += 1
        if self.norm(got) != self.norm(want):
            self.add(t, i, col, repr(self.norm(got)), repr(self.norm(want)), what)

    def add(self, t: Table, i: int, col: str, got: str, want: str, what: str) -> None:
        self.lines.append(f"{t.cell(i, col)}: {col}{self.who(t, i)} is {got}, but {what} gives {want}")


@dataclass
class Step:
    """One step of an audit as a record: its name, whether it passed (None: not verified, or
    a note), the line printed for it, its differences and its figures."""

    name: str
    passed: bool | None
    line: str
    problems: list[str] = field(default_factory=list)
    figures: dict = field(default_factory=dict)


class Report:
    """The printed lines of an audit: one per step, or its differences (at most
    MAX_LINES_PER_STEP of them) under a MISMATCH line; and each step as a :class:`Step`."""

    def __init__(self, lines: list[str], mismatches: list[str], steps: list[Step] | None = None) -> None:
        self.lines = lines
        self.mismatches = mismatches
        self.steps = steps if steps is not None else []

    def __call__(self, ok_line: str, problems: list[str], what: str, *, name: str | None = None,
                 figures: dict | None = None) -> None:
        name = name or what
        if not problems:
            self.lines.append(ok_line)
            self.steps.append(Step(name, True, ok_line, [], dict(figures or {})))
            return
        head = f"MISMATCH {what}: {len(problems)} difference{'s' if len(problems) != 1 else ''}"
        self.lines.append(head)
        self.lines.extend(f"  {p}" for p in problems[:MAX_LINES_PER_STEP])
        if len(problems) > MAX_LINES_PER_STEP:
            self.lines.append(f"  ... and {len(problems) - MAX_LINES_PER_STEP} more")
        self.mismatches.extend(problems)
        self.steps.append(Step(name, False, head, list(problems), dict(figures or {})))

    def note(self, line: str, name: str, figures: dict | None = None) -> None:
        """A line that is neither a pass nor a difference (something not verified, and why)."""
        self.lines.append(line)
        self.steps.append(Step(name, None, line, [], dict(figures or {})))


def fmt(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "blank"
    if isinstance(x, (int, float, np.floating)):
        x = float(x)
        return f"{x:,.6g}" if abs(x) < 1e6 else f"{x:,.2f}"
    return repr(x)


def label(keys, k) -> str:
    k = k if isinstance(k, tuple) else (k,)
    return ", ".join(f"{a}={b}" for a, b in zip(keys, k))
