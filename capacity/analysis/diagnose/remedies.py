"""What each lever would take: the smallest change of one input that makes a plan
possible, found by solving the model again with the value changed.

For each :class:`~.levers.Lever` (:mod:`.levers`), the values it can take
are a grid of multiples of its ``step`` (0.1 percentage point for a target,
0.1 FTE below 100 FTE, whole weeks, ...), running from the current value
to the lever's ``limit``. Each lever moves its input in the direction
that relaxes the model (a lower target, more staff, a shorter lead time or
term, a longer contract): whenever a value has a plan, every value further
along has one too, so along the grid "a plan exists" switches once, from no
to yes. :func:`find_remedy`:

1. tries the furthest value (the limit); no plan there: the lever is *not
   enough on its own* (the value tried is reported);
2. otherwise bisects the grid: each step builds the model of the changed
   input and asks HiGHS for any feasible plan (MIP gap 1: the first plan
   found ends the solve), after the pre-solve checks (:mod:`.presolve`),
   which settle some values without a solver.

The answer is exact to the step: the value reported has a plan (a solve
found one), the next grid value towards the current one has none.

Ranking (:func:`rank`): the changes that make a plan possible, smallest
first, by the *relative change* ``sum |new - current| / sum max(|new|,
|current|)`` over the cells changed: lowering a target from 80% to 66% is
17.5%; anything from or to 0 is 100%. Ties keep the order of
:data:`.levers.BUILDERS` (targets first). Then the levers that are not
enough alone, then any not computed within the time budget.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from capacity.io.inputs import Inputs

from .levers import CEILING, FLOOR, RAISE, SCALE, Lever
from .text import compress_cells, number, pct

FIXES, NOT_ENOUGH, NOT_COMPUTED = "fixes", "not enough alone", "not computed"
BUDGET_S = 60.0   # default time budget for all levers together
MAX_REST = 6      # levers named per line for those that do not fix it (the sheet has all)


@dataclass
class Remedy:
    """What one lever would take. ``needed``: the value that makes a plan possible
    (None unless ``status`` is FIXES); ``short``: the next value towards the current
    one, which has no plan; ``tried``: the furthest value tried (NOT_ENOUGH)."""

    lever: Lever
    status: str
    needed: float | None = None
    short: float | None = None
    tried: float | None = None
    solves: int = 0
    presolved: int = 0
    note: str = ""

    @property
    def size(self) -> float:
        """Relative change: sum |new - current| / sum max(|new|, |current|) over the cells changed."""
        if self.needed is None:
            return math.inf
        ch = self.lever.changes(self.needed)
        den = sum(max(abs(a), abs(b)) for _, a, b in ch)
        return sum(abs(b - a) for _, a, b in ch) / den if den > 0 else 0.0


class OutOfTime(Exception):
    pass


class Feasibility:
    """Does a changed input have a plan? Counts solves; raises OutOfTime past the deadline."""

    def __init__(self, budget_s: float, threads: int | None = None, presolve: bool = True):
        self.deadline = time.monotonic() + budget_s
        self.threads = threads
        self.presolve = presolve   # False when the input has no pre-solve conflict: relaxing it adds none
        self.solves = self.presolved = 0

    def __call__(self, inputs: Inputs) -> bool | None:
        from capacity.model import build_model
        from capacity.model.solve import solve

        from .presolve import presolve_conflicts

        left = self.deadline - time.monotonic()
        if left <= 0:
            raise OutOfTime
        if self.presolve and presolve_conflicts(inputs):
            self.presolved += 1
            return False
        built = build_model(inputs)
        self.solves += 1
        if built.trivially_infeasible:
            return False
        limit = inputs.settings.time_limit_s
        limit = left if limit is None or limit != limit else min(left, float(limit))
        res = solve(built, mip_gap=1.0, time_limit=max(1.0, limit), threads=self.threads, duals=False,
                    _explain=False)
        return {"optimal": True, "feasible": True, "infeasible": False}.get(res.status)


def grid(lever: Lever) -> tuple[int, callable]:
    """(n, value): grid values value(1..n) from next to the start to the limit; value(0) is
    the start's grid point (no plan)."""
    s = lever.step
    if lever.direction == RAISE:
        base = math.floor(lever.start / s + 1e-9)
        n = max(1, math.ceil((lever.limit - base * s) / s - 1e-9))
        return n, lambda i: round(min(lever.limit, (base + i) * s), 10) if i else lever.start
    base = math.ceil(lever.start / s - 1e-9)
    n = max(1, math.ceil((base * s - lever.limit) / s - 1e-9))
    return n, lambda i: round(max(lever.limit, (base - i) * s), 10) if i else lever.start


def find_remedy(inputs: Inputs, lever: Lever, feasible: Feasibility) -> Remedy:
    """The value of ``lever`` closest to the current one (on its grid) that has a plan."""
    solves0, pre0 = feasible.solves, feasible.presolved
    n, value = grid(lever)

    def done(status, **kw):
        return Remedy(lever, status, solves=feasible.solves - solves0, presolved=feasible.presolved - pre0, **kw)

    if not lever.changes(value(n)):
        return done(NOT_ENOUGH, tried=value(n))
    ok = feasible(lever.apply(inputs, value(n)))
    if ok is None:
        return done(NOT_COMPUTED, note="the solver found no answer within the time limit")
    if not ok:
        return done(NOT_ENOUGH, tried=value(n))
    lo, hi = 0, n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        ok = feasible(lever.apply(inputs, value(mid)))
        if ok is None:
            return done(NOT_COMPUTED, note="the solver found no answer within the time limit")
        lo, hi = (lo, mid) if ok else (mid, hi)
    return done(FIXES, needed=value(hi), short=value(lo))


def find_remedies(inputs: Inputs, levers: list[Lever], *, budget_s: float = BUDGET_S,
                  threads: int | None = None, presolve: bool = True) -> list[Remedy]:
    """Every lever's remedy, ranked (:func:`rank`); levers left when the budget runs out
    are NOT_COMPUTED. ``presolve``: try the pre-solve checks before each solve (useless
    when ``inputs`` have no pre-solve conflict)."""
    feasible = Feasibility(budget_s, threads, presolve)
    out = []
    for lever in levers:
        try:
            out.append(find_remedy(inputs, lever, feasible))
        except OutOfTime:
            out.append(Remedy(lever, NOT_COMPUTED, note=f"not tried: the time budget of {number(budget_s)} s "
                                                          "for remedies ran out"))
        except Exception as exc:  # a report: one lever's failure never loses the diagnosis
            out.append(Remedy(lever, NOT_COMPUTED, note=f"could not be computed ({type(exc).__name__}: {exc})"))
    return rank(out)


def rank(remedies: list[Remedy]) -> list[Remedy]:
    """Fixes by relative change (ties: the order given), then the rest; a fix that makes the
    same change as one before it (every target capped where only one is above the cap) is
    dropped."""
    order = {FIXES: 0, NOT_ENOUGH: 1, NOT_COMPUTED: 2}
    pos = {id(r): i for i, r in enumerate(remedies)}
    out, seen = [], set()
    for r in sorted(remedies, key=lambda r: (order[r.status], round(r.size, 9), pos[id(r)])):
        same = tuple((c, round(b, 9)) for c, _, b in r.lever.changes(r.needed)) if r.status == FIXES else None
        if same is None or same not in seen:
            out.append(r)
            seen.add(same)
    return out


# ------------------------------------------------------------------------------------ words
def value_text(lever: Lever, v: float) -> str:
    """A value in the lever's unit: '80%', '3.4 FTE', 'week 6', '2 weeks'."""
    if lever.unit == "share":
        return pct(v)
    if lever.unit == "factor":
        return f"+{pct(v - 1)}"
    if lever.kind in ("end_week", "start_week"):
        return f"week {number(v)}"
    if lever.unit == "weeks":
        return f"{number(v)} week{'s' if v != 1 else ''}"
    if lever.unit == "ratio":
        return number(v, 3)
    return f"{number(v, 2 if lever.step < 0.1 else 1)} {lever.unit}"


def current_text(lever: Lever) -> str:
    """The cells' values now: '90%', '0 FTE', '3–8 FTE' (a scaled lever's cells are FTE)."""
    lo, hi = min(lever.current), max(lever.current)
    show = (lambda v: f"{number(v)} FTE") if lever.mode == SCALE else (lambda v: value_text(lever, v))
    if abs(hi - lo) < 1e-12:
        return show(lo)
    return f"{pct(lo)[:-1] if lever.unit == 'share' else number(lo)}–{show(hi)}"


def needed_text(r: Remedy, each: bool = True) -> str:
    if r.status != FIXES:
        return ""
    bound = "" if r.needed == r.lever.limit else "at least " if r.lever.direction == RAISE else "at most "
    each = " each week" if each and r.lever.mode == FLOOR and len(r.lever.cells) > 1 else \
        " each" if each and r.lever.mode == CEILING else ""
    return f"{bound}{value_text(r.lever, r.needed)}{each}"


def _head(lv: Lever) -> str:
    where = f" in {lv.where}" if lv.where else ""
    return f"{lv.verb} {lv.subject}{where} ({compress_cells(lv.cells)})"


def change_text(r: Remedy) -> str:
    """'lower the completion target for complex work (work_types!E2) from 90% to at most 80%'."""
    lv = r.lever
    head = _head(lv)
    if r.status == FIXES and lv.mode == SCALE:
        return f"{head} by at least {pct(r.needed - 1)} (now {current_text(lv)})"
    if r.status == FIXES:
        return f"{head} from {current_text(lv)} to {needed_text(r)}"
    if r.status == NOT_ENOUGH:
        return f"{head}: not enough on its own, even to {value_text(lv, r.tried)}"
    return f"{head}: {r.note}"


def how_text(r: Remedy) -> str:
    """How the value was found, in words."""
    n = r.solves + r.presolved
    pre = f"; {r.presolved} settled by the pre-solve checks" if r.presolved else ""
    if r.status == NOT_ENOUGH:
        return f"tried {value_text(r.lever, r.tried)}{pre}: no plan"
    if r.status != FIXES:
        return r.note
    return (f"{n} value{'s' if n != 1 else ''} tried (bisection{pre}): {value_text(r.lever, r.needed)} has a "
            f"plan, {value_text(r.lever, r.short)} has none")


def remedy_lines(remedies: list[Remedy]) -> list[str]:
    """The ranked remedies in plain words (first lines on stderr)."""
    fixes = [r for r in remedies if r.status == FIXES]
    lines = []
    if fixes:
        lines.append("No plan is possible. Each of these changes alone would make one possible, smallest "
                     "change first (found by solving the model again with the value changed):")
        lines += [f"  {i}. {change_text(r)[0].upper()}{change_text(r)[1:]} "
                  f"[relative change {pct(r.size)}]." for i, r in enumerate(fixes, start=1)]
    else:
        lines.append("No plan is possible, and no single change tried makes one possible: several inputs "
                     "must change together (see the explanation below).")
    for status, words in ((NOT_ENOUGH, "Not enough alone (each tried as far as it can go; see sheet remedies)"),
                          (NOT_COMPUTED, "Not computed (time budget or solver limit; see sheet remedies)")):
        rest = [_head(r.lever) for r in remedies if r.status == status]
        if len(rest) > MAX_REST:
            rest = rest[:MAX_REST] + [f"and {len(rest) - MAX_REST} more"]
        if rest:
            lines.append(f"{words}: " + "; ".join(rest) + ".")
    if fixes:
        lines.append("Edit one of these input cells, run capacity validate, then capacity plan again.")
    return lines
