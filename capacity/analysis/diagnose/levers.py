"""The levers a planner can pull when the input has no plan: one input value
(or one group of cells moved together), the direction that relaxes the model,
and how far it may go.

A :class:`Lever` changes a copy of the :class:`~capacity.io.inputs.Inputs`
(:meth:`Lever.apply`); :mod:`.remedies` re-solves the model along it to find
what the change would take. :func:`candidate_levers` lists the levers that
touch the conflict found by the diagnosis (its work types, regions and weeks):

- the completion target of every work type that has one (eq 13, lowered),
  and all of them at once (capped at one value);
- the availability of every regional source able to do a conflicting work
  type in a conflicting region, and of its trainer and supervisor (eq 7,
  raised to a floor over the conflict weeks); with several regions short,
  also one source's availability scaled up in all of them at once;
- those sources' lead time (eq 6), cohort term (eq 8), training hours and
  supervision ratio (eq 10), lowered, and their regional ramp limit (eq 9),
  raised;
- every contract whose source can do a conflicting work type: its size
  (``max_fte``, eq 3) and committed level (eq 4), raised; its window (eq 2):
  ``end_week`` later, ``start_week`` earlier; its lead time (eq 2) and ramp
  limit (eq 5).

Every value a lever sets passes the validator's rules (capacity/io/schema.py,
capacity/io/validate/rules.py), so each remedy is an input the planner could
type in. The cells come from :class:`~capacity.io.inputs.Origin`; the rule
each lever relaxes is a family of :mod:`capacity.model.registry`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from capacity.io.inputs import Inputs
from capacity.io.schema import MAX_FTE
from capacity.io.validate import is_blank
from capacity.model.index import skill_terms

from .limits import targets
from .text import week_ranges

LOWER, RAISE = -1, 1
SHARE_STEP = 0.001   # targets: 0.1 percentage point
RATIO_STEP = 0.001   # supervision_ratio
HOURS_STEP = 0.1     # training_hours
WEEK_STEP = 1


FLOOR, CEILING, SCALE, SET = "floor", "ceiling", "scale", "set"
#: what a planner does with each kind of lever
VERBS = {"target": "lower", "targets": "lower", "availability": "raise", "availability_scale": "raise",
         "lead_weeks": "shorten", "min_term_weeks": "shorten", "ramp": "raise", "training_hours": "cut",
         "supervision_ratio": "lower", "max_fte": "raise", "committed_fte": "raise", "end_week": "extend",
         "start_week": "bring forward", "contract_lead": "shorten", "contract_ramp": "raise"}


@dataclass
class Lever:
    """One input a planner can change, as a single number ``v``.

    ``cells``/``current``: the input cells it changes and their values now.
    ``mode``: SET puts ``v`` in its one cell; FLOOR sets each cell to
    ``max(current, v)`` (availability over the conflict weeks), CEILING to
    ``min(current, v)`` (every completion target at once); SCALE
    multiplies each cell by ``v`` (availability of one source in every
    region short, when several are). ``limit``: the furthest value tried;
    ``step``: the resolution of the answer (values are multiples of it).
    ``unit``: 'share', 'FTE', 'FTE a week', 'weeks', 'hours', 'ratio' or
    'factor'. ``family``: the rule it relaxes.
    """

    kind: str
    family: str
    subject: str
    cells: list
    current: list
    direction: int
    unit: str
    step: float
    limit: float
    setter: Callable[[Inputs, float], Inputs]
    where: str = ""
    mode: str = SET

    @property
    def verb(self) -> str:
        return VERBS[self.kind]

    @property
    def start(self) -> float:
        """The value the lever moves from (it has no plan)."""
        if self.mode == SCALE:
            return 1.0
        return min(self.current) if self.direction == RAISE else max(self.current)

    def apply(self, inputs: Inputs, value: float) -> Inputs:
        return self.setter(inputs, value)

    def changes(self, value: float) -> list[tuple[str, float, float]]:
        """(cell, current, new) for each cell the value changes."""
        new = {FLOOR: lambda cur: max(cur, value), CEILING: lambda cur: min(cur, value), SCALE: lambda cur: cur * value,
               SET: lambda cur: value}[self.mode]
        return [(cell, cur, new(cur)) for cell, cur in zip(self.cells, self.current) if abs(new(cur) - cur) > 1e-12]


def fte_step(magnitude: float) -> float:
    """0.1 FTE below 100, then three significant figures (200 -> 1, 18,000 -> 100)."""
    return 0.1 if magnitude < 100 else 10.0 ** (math.floor(math.log10(magnitude)) - 2)


# ------------------------------------------------------------------------------------ scope
@dataclass(frozen=True)
class Scope:
    """What the conflict touches: the work types named by the diagnosis (every targeted one
    when it names none), every targeted work type (named ones first: a target competing for
    the same staff is a lever too) and, per region, the weeks."""

    work_types: tuple
    targeted: tuple
    weeks: dict


def conflict_scope(inputs: Inputs, table: pd.DataFrame) -> Scope:
    """The scope of the diagnosis rows ``table`` (TABLE_COLUMNS)."""
    mcs = inputs.work_types["min_completion_share"].fillna(0)
    targeted = [k for k in mcs.index if mcs[k] > 0]
    named = {k for k in table.get("work_type", pd.Series(dtype=object)) if isinstance(k, str) and k}
    ks = tuple(k for k in targeted if k in named) or tuple(targeted)
    weeks: dict = {}
    if len(table):
        for r, w in zip(table["region"], table["week"]):
            if isinstance(r, str) and r and w is not None and w == w:
                weeks.setdefault(r, set()).add(int(w))
    return Scope(ks, ks + tuple(k for k in targeted if k not in ks), {r: sorted(ws) for r, ws in weeks.items()})


# ---------------------------------------------------------------------------------- setters
def _set(frame: str, key, column: str, cast=float):
    def setter(inputs: Inputs, value: float) -> Inputs:
        df = getattr(inputs, frame).copy()
        df.loc[key, column] = cast(value)
        return dataclasses.replace(inputs, **{frame: df})
    return setter


def _set_availability(source: str, weeks: dict, mode: str):
    """Availability of ``source`` in ``weeks`` ({region: [week, ...]}): floor or scale."""
    def setter(inputs: Inputs, value: float) -> Inputs:
        av = inputs.availability.copy()
        sel = np.zeros(len(av), dtype=bool)
        for r, ws in weeks.items():
            sel |= ((av["source"] == source) & (av["region"] == r) & av["week"].isin(ws)).to_numpy()
        cur = av.loc[sel, "fte"].to_numpy(dtype=float)
        av.loc[sel, "fte"] = np.maximum(cur, float(value)) if mode == FLOOR else cur * float(value)
        return dataclasses.replace(inputs, availability=av)
    return setter


def _int(v: float) -> int:
    return int(round(v))


# ---------------------------------------------------------------------------------- levers
def _set_targets(work_types: tuple):
    def setter(inputs: Inputs, value: float) -> Inputs:
        wt = inputs.work_types.copy()
        wt.loc[list(work_types), "min_completion_share"] = np.minimum(
            wt.loc[list(work_types), "min_completion_share"].to_numpy(dtype=float), float(value))
        return dataclasses.replace(inputs, work_types=wt)
    return setter


def target_levers(inputs: Inputs, scope: Scope) -> list[Lever]:
    """Each completion target alone, then (two or more) every target at once, capped."""
    wt, o = inputs.work_types, inputs.origin
    cells = {k: o.cell("work_types", k, "min_completion_share") for k in scope.targeted}
    mcs = {k: float(wt.loc[k, "min_completion_share"]) for k in scope.targeted}
    out = [Lever("target", "demand.completion", f"the completion target for {k} work", [cells[k]], [mcs[k]], LOWER,
                 "share", SHARE_STEP, 0.0, _set("work_types", k, "min_completion_share")) for k in scope.targeted]
    if len(scope.targeted) > 1:
        out.append(Lever("targets", "demand.completion", "every completion target",
                         list(cells.values()), list(mcs.values()), LOWER, "share", SHARE_STEP, 0.0,
                         _set_targets(scope.targeted), mode=CEILING))
    return out


def _needed_fte(inputs: Inputs, source: str, work_types, regions) -> float:
    """FTE of ``source`` that would complete every target of ``work_types`` in ``regions``
    alone, in the busiest week and scenario (a generous cap for a search)."""
    tg = targets(inputs)
    tg = tg[tg["work_type"].isin(work_types) & tg["region"].isin(regions)]
    sk = skill_terms(inputs)
    sk = sk[(sk["source"] == source) & (sk["p"] > 0)].set_index("work_type")
    tg = tg[tg["work_type"].isin(sk.index)]
    if not len(tg):
        return 0.0
    hours = tg["required"] * tg["work_type"].map(sk["a"] / sk["p"])
    per_week = hours.groupby([tg["scenario"], tg["week"]]).sum()
    return float(per_week.max()) / float(inputs.settings.productive_hours)


def _able(inputs: Inputs, work_types) -> set:
    sk = inputs.skills.reset_index()
    return set(sk.loc[sk["work_type"].isin(work_types), "source"])


def _regional_units(inputs: Inputs, scope: Scope) -> list[tuple[str, str]]:
    """(source, region) pairs: able regional sources with an availability row in a conflict
    region, then their trainers and supervisors there."""
    src = inputs.sources
    regional = set(src.index[src["kind"] != "contractor"])
    have = set(map(tuple, inputs.availability[["source", "region"]].drop_duplicates().to_numpy()))
    able = _able(inputs, scope.work_types) & regional
    out = []
    for r in scope.weeks:
        units = [s for s in src.index if s in able and (s, r) in have]
        helpers = [src.loc[s, c] for s in units for c in ("trainer", "supervisor") if not is_blank(src.loc[s, c])]
        for s in units + [h for h in helpers if h in regional and (h, r) in have]:
            if (s, r) not in out:
                out.append((s, r))
    return out


SCALE_STEP, SCALE_LIMIT = 0.01, 10.0   # availability x (1 + 1%) ... x 10


def availability_levers(inputs: Inputs, scope: Scope) -> list[Lever]:
    """Per source short in several regions, its availability scaled there; then per (source,
    region), a floor over the region's conflict weeks."""
    o, av = inputs.origin, inputs.availability
    units = _regional_units(inputs, scope)
    out = []
    for s in dict.fromkeys(s for s, _ in units):
        regions = [r for u, r in units if u == s]
        if len(regions) < 2:
            continue
        weeks = {r: scope.weeks[r] for r in regions}
        keyed = av[av["source"] == s].set_index(["region", "week"])["fte"].astype(float)
        cells = [(o.cell("availability", (s, r), t), float(keyed.get((r, t), 0.0))) for r in regions for t in weeks[r]]
        if any(v > 0 for _, v in cells):
            out.append(Lever("availability_scale", "regional.availability",
                             f"the availability of {s} in every region and week short ({len(regions)} regions)",
                             [c for c, _ in cells], [v for _, v in cells], RAISE, "factor", SCALE_STEP, SCALE_LIMIT,
                             _set_availability(s, weeks, SCALE), mode=SCALE))
    for s, r in units:
        weeks = scope.weeks[r]
        row = av[(av["source"] == s) & (av["region"] == r)].set_index("week")["fte"].astype(float)
        cur = [float(row.get(t, 0.0)) for t in weeks]
        cap = 2 * _needed_fte(inputs, s, scope.work_types, [r]) + 4 * max(float(row.max()), 1.0)
        cap = min(MAX_FTE, cap)
        out.append(Lever("availability", "regional.availability",
                         f"the availability of {s} in region {r}", [o.cell("availability", (s, r), t) for t in weeks],
                         cur, RAISE, "FTE", fte_step(max(max(cur), cap / 10)), cap,
                         _set_availability(s, {r: weeks}, FLOOR), where=week_ranges(weeks), mode=FLOOR))
    return out


def source_levers(inputs: Inputs, scope: Scope) -> list[Lever]:
    """Lead time, cohort term, ramp limit, training hours and supervision ratio of the
    sources of :func:`_regional_units` (each source once)."""
    src, o, av = inputs.sources, inputs.origin, inputs.availability
    out = []
    for s in dict.fromkeys(s for s, _ in _regional_units(inputs, scope)):
        row = src.loc[s]

        def lever(kind, family, subject, column, direction, unit, step, limit, cast=float):
            out.append(Lever(kind, family, subject, [o.cell("sources", s, column)], [float(row[column])],
                             direction, unit, step, limit, _set("sources", s, column, cast)))

        if row["lead_weeks"] > 0:
            lever("lead_weeks", "regional.lead", f"the lead time of {s}", "lead_weeks", LOWER, "weeks",
                  WEEK_STEP, 0, _int)
        if row["min_term_weeks"] > 1:
            lever("min_term_weeks", "regional.cohort", f"the cohort term of {s}", "min_term_weeks", LOWER, "weeks",
                  WEEK_STEP, 0, _int)
        inc = row["max_increase_per_week"]
        most = float(av.loc[av["source"] == s, "fte"].max())
        if not is_blank(inc) and float(inc) < most:
            lever("ramp", "regional.ramp", f"the onboarding limit of {s}", "max_increase_per_week", RAISE,
                  "FTE a week", fte_step(most), most)
        if not is_blank(row["trainer"]) and row["training_hours"] > 0:
            lever("training_hours", "hours.regional", f"the training hours per new {s}", "training_hours", LOWER,
                  "hours", HOURS_STEP, 0.0)
        if not is_blank(row["supervisor"]) and row["supervision_ratio"] > 0:
            lever("supervision_ratio", "hours.regional", f"the supervision ratio of {s}", "supervision_ratio",
                  LOWER, "ratio", RATIO_STEP, 0.0)
    return out


def contract_levers(inputs: Inputs, scope: Scope) -> list[Lever]:
    con, o = inputs.contracts, inputs.origin
    able = _able(inputs, scope.work_types)
    regions = list(scope.weeks) or list(inputs.regions.index)
    last = max((w for ws in scope.weeks.values() for w in ws), default=int(inputs.settings.weeks))
    first = min((w for ws in scope.weeks.values() for w in ws), default=1)
    out = []
    for c in con.index[con["source"].isin(able)]:
        row = con.loc[c]

        def lever(kind, family, subject, column, direction, unit, step, limit, cast=float):
            out.append(Lever(kind, family, subject, [o.cell("contracts", c, column)], [float(row[column])],
                             direction, unit, step, limit, _set("contracts", c, column, cast)))

        size = float(row["max_fte"])
        cap = min(MAX_FTE, max(2 * size, size + 2 * _needed_fte(inputs, row["source"], scope.work_types, regions)))
        lever("max_fte", "contracts.size_max", f"the size of contract {c}", "max_fte", RAISE, "FTE",
              fte_step(size), cap)
        if not is_blank(row["committed_fte"]) and float(row["committed_fte"]) < size:
            lever("committed_fte", "contracts.committed", f"the committed level of contract {c}", "committed_fte",
                  RAISE, "FTE", fte_step(size), size)
        if row["end_week"] < last:
            lever("end_week", "contracts.window", f"the end of contract {c}", "end_week", RAISE, "weeks",
                  WEEK_STEP, int(inputs.settings.weeks), _int)
        pre_arranged = row["status"] == "signed" and not is_blank(row["committed_fte"])
        earliest = 1 if pre_arranged else 1 + int(row["lead_weeks"])
        if row["start_week"] > max(first, earliest):
            lever("start_week", "contracts.window", f"the start of contract {c}", "start_week", LOWER, "weeks",
                  WEEK_STEP, earliest, _int)
        if pre_arranged and row["lead_weeks"] > 0:
            lever("contract_lead", "contracts.window", f"the lead time of contract {c}", "lead_weeks", LOWER,
                  "weeks", WEEK_STEP, 0, _int)
        inc = row["max_increase_per_week"]
        if not is_blank(inc) and float(inc) < size:
            lever("contract_ramp", "contracts.ramp_up", f"the weekly increase limit of contract {c}",
                  "max_increase_per_week", RAISE, "FTE a week", fte_step(size), size)
    return out


#: the kinds in the order they are tried (and ranked on ties): targets first
BUILDERS = (target_levers, availability_levers, source_levers, contract_levers)


def candidate_levers(inputs: Inputs, table: pd.DataFrame) -> list[Lever]:
    """Every lever that touches the conflict of the diagnosis ``table``, in the order they are
    tried. With several regions short, one region's availability alone rarely helps: those
    levers go last (the time budget may not reach them)."""
    scope = conflict_scope(inputs, table)
    levers = [lever for build in BUILDERS for lever in build(inputs, scope)]
    if len(scope.weeks) > 1:
        one_region = [lv for lv in levers if lv.mode == FLOOR]
        levers = [lv for lv in levers if lv.mode != FLOOR] + one_region
    return levers
