"""Plain-words helpers of the infeasibility explanation: numbers, shares, week
spans and input-cell lists. Column letters and runs of numbers are the
validator's own (:mod:`capacity.io.errors`)."""

from __future__ import annotations

import math
import re

from capacity.io.errors import col_letter, col_number, runs

_CELL = re.compile(r"^(?P<sheet>[^!]+)!(?P<col>[A-Z]+)(?P<row>\d+)$")


def number(x: float, dp: int = 1) -> str:
    """3 -> '3', 2.25 -> '2.2' (dp decimals), NaN -> '?', inf -> 'unlimited'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "?"
    if math.isinf(x):
        return "unlimited"
    r = round(float(x), dp)
    return str(int(r)) if float(r).is_integer() else f"{r:.{dp}f}"


def pct(x: float) -> str:
    s = f"{100 * float(x):.1f}".rstrip("0").rstrip(".")
    return f"{s}%"


def span(values) -> str:
    """'3' or '3–7' (min–max)."""
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return "?"
    lo, hi = min(vals), max(vals)
    return number(lo) if abs(hi - lo) < 0.05 else f"{number(lo)}–{number(hi)}"


def week_ranges(weeks) -> str:
    """[1, 2, 3, 5] -> 'weeks 1–3, 5'."""
    ws = sorted({int(w) for w in weeks})
    if not ws:
        return ""
    spans = [str(a) if a == b else f"{a}–{b}" for a, b in runs(ws)]
    return ("week " if len(ws) == 1 else "weeks ") + ", ".join(spans)


def compress_cells(cells) -> str:
    """Unique cells, contiguous runs in one row merged: 'demand!G5:J5; work_types!E2'."""
    seen, other = {}, []
    for c in cells:
        m = _CELL.match(c)
        if not m:
            if c not in other:
                other.append(c)
            continue
        seen.setdefault(m["sheet"], {}).setdefault(int(m["row"]), set()).add(col_number(m["col"]) - 1)
    out = []
    for sheet, rows in seen.items():
        parts = [f"{col_letter(a)}{row}" if a == b else f"{col_letter(a)}{row}:{col_letter(b)}{row}"
                 for row, cols in sorted(rows.items()) for a, b in runs(sorted(cols))]
        out.append(f"{sheet}!" + ", ".join(parts))
    return "; ".join(out + other)


def names(xs) -> str:
    """['a', 'b', 'c'] -> 'a, b and c'."""
    xs = list(dict.fromkeys(xs))
    return xs[0] if len(xs) == 1 else ", ".join(xs[:-1]) + " and " + xs[-1]
