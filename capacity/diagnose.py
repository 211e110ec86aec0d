"""Infeasibility explained in input terms.

Two layers (models/README.md#elastic):

1. **Pre-solve checks** (:func:`presolve_conflicts`): conflicts that need no
   solver, found from the inputs alone and *certain* (each one proves the
   model infeasible). One small function per kind, vectorised with NumPy and
   pandas:

   - :func:`completion_above_success_rate`: a completion target (eq 13)
     above the success rate of every unit that can have staff in that
     region-week: completed <= best success rate x attempted <= best rate x
     demand, whatever the staffing.
   - :func:`completion_unreachable`: a completion target above what the able
     units can complete at most in that region-week (regional sources: the
     most staff the rules allow there, x H / a x p; contracts: their
     max_fte, or committed_fte during the initial term, pooled nationally).

   The most staff a regional source can have (:func:`regional_limits`) is a
   relaxation of eq 6-10: availability (eq 7), nothing onboarded before
   ``1 + lead_weeks`` (eq 6), at most ``max_increase_per_week`` a week (eq 9),
   a cohort onboarded in week tau stays ``min_term_weeks`` and so can be no
   larger than the smallest availability in that term (eq 7 + eq 8), trainees
   need their trainer's hours (eq 10: ``training_hours x O <= H x trainer's
   availability``), supervised staff their supervisor (eq 10: ``ratio x F <=
   supervisor's availability``). So a cohort term against an availability
   drop, a lead time, a ramp limit or a missing trainer is reported when --
   and only when -- it makes a completion target impossible: by itself
   (onboard fewer, or none) it never is.

   Why there is no contract-only check: once the validator has accepted a
   workbook (capacity/validate.py: start <= end <= weeks, min_fte <= max_fte,
   committed_fte in [min_fte, max_fte] with min_term_weeks >= 1, start_week
   >= 1 + lead_weeks unless signed with a committed_fte), the contract
   families (eq 1-5) always have a solution: the mobilisation at start_week
   has no ramp limit, a locked level is constant (no increase or decrease
   needed), the drop after end_week is free. Regional families alone are
   met by F = O = X = 0, and eq 12 by unattempted work. Hence, in a
   validated workbook, every infeasibility runs through a completion target
   (eq 13); the two checks above find the ones visible region-week by
   region-week, and the elastic model the rest (several work types or
   regions competing for the same staff, hours spent training, ...).

2. **After the solver** (:func:`elastic_rows`): the positive slacks of the
   elastic model (``build_model(..., elastic=True)``; the solve already
   computes them in ``SolveResult.infeasibility``) mapped to the constraint
   family, the index and the input cells that feed each row, collapsed into
   plain lines.

:func:`diagnose` puts both together in a :class:`Diagnosis` (``.lines`` in
plain words, ``.table`` for the ``infeasibility`` sheet);
:func:`write_diagnosis` writes the diagnostic workbook.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from capacity.inputs import Inputs
from capacity.model.registry import family
from capacity.validate import is_blank

TOL = 1e-6
MAX_LINES = 12  # printed per part; the sheet has every row
FOUND_PRESOLVE = "pre-solve check"
FOUND_ELASTIC = "elastic model"
TABLE_COLUMNS = ["found_by", "family", "equation", "scenario", "week", "region", "unit", "work_type",
                 "slack", "input_cells", "explanation"]


@dataclass
class Conflict:
    """One certain conflict at one index, with the input cells behind it.

    ``slack``: how far the inputs are from agreeing (tasks short of the
    target). ``limits``: per able unit, what caps it (for collapsing lines).
    """

    kind: str
    family: str
    equation: str
    scenario: str
    week: int
    region: str
    work_type: str
    slack: float
    input_cells: list
    explanation: str
    unit: str = ""
    limits: list = field(default_factory=list)
    required: float = 0.0
    reachable: float = 0.0


@dataclass
class Diagnosis:
    lines: list
    table: pd.DataFrame
    conflicts: list = field(default_factory=list)
    families: list = field(default_factory=list)

    @property
    def certain(self) -> bool:
        """Pre-solve conflicts were found: the inputs alone prove infeasibility."""
        return bool(self.conflicts)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _n(x: float, dp: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "?"
    if math.isinf(x):
        return "unlimited"
    r = round(float(x), dp)
    return str(int(r)) if float(r).is_integer() else f"{r:.{dp}f}"


def _pct(x: float) -> str:
    s = f"{100 * float(x):.1f}".rstrip("0").rstrip(".")
    return f"{s}%"


def _span(values) -> str:
    """'3' or '3–7' (min–max)."""
    vals = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not vals:
        return "?"
    lo, hi = min(vals), max(vals)
    return _n(lo) if abs(hi - lo) < 0.05 else f"{_n(lo)}–{_n(hi)}"


def week_ranges(weeks) -> str:
    """[1, 2, 3, 5] -> 'weeks 1–3, 5'."""
    ws = sorted({int(w) for w in weeks})
    if not ws:
        return ""
    spans, start = [], ws[0]
    for a, b in zip(ws, ws[1:] + [None]):
        if b != a + 1:
            spans.append(str(start) if start == a else f"{start}–{a}")
            start = b
    return ("week " if len(ws) == 1 else "weeks ") + ", ".join(spans)


_CELL = re.compile(r"^(?P<sheet>[^!]+)!(?P<col>[A-Z]+)(?P<row>\d+)$")


def _col_num(col: str) -> int:
    n = 0
    for ch in col:
        n = n * 26 + ord(ch) - 64
    return n


def compress_cells(cells) -> str:
    """Unique cells, contiguous runs in one row merged: 'demand!G5:J5; work_types!E2'."""
    seen, other = {}, []
    for c in cells:
        m = _CELL.match(c)
        if not m:
            if c not in other:
                other.append(c)
            continue
        seen.setdefault((m["sheet"], int(m["row"])), set()).add(_col_num(m["col"]))
    letters = {}

    def letter(n):
        if n not in letters:
            s, k = "", n
            while k:
                k, r = divmod(k - 1, 26)
                s = chr(65 + r) + s
            letters[n] = s
        return letters[n]

    out = []
    by_sheet: dict = {}
    for (sheet, row), cols in seen.items():
        by_sheet.setdefault(sheet, []).append((row, sorted(cols)))
    for sheet, rows in by_sheet.items():
        parts = []
        for row, cols in sorted(rows):
            start = prev = cols[0]
            for c in cols[1:] + [None]:
                if c != (prev + 1 if prev is not None else None):
                    parts.append(f"{letter(start)}{row}" if start == prev else
                                 f"{letter(start)}{row}:{letter(prev)}{row}")
                    start = c
                prev = c
        out.append(f"{sheet}!" + ", ".join(parts))
    return "; ".join(out + other)


def _names(xs) -> str:
    xs = list(dict.fromkeys(xs))
    return xs[0] if len(xs) == 1 else ", ".join(xs[:-1]) + " and " + xs[-1]


# ---------------------------------------------------------------------------------------------
# what each unit can do at most (a relaxation of eq 2-11)
# ---------------------------------------------------------------------------------------------
@dataclass
class RegionalLimits:
    """The most FTE each regional source can have in each region-week.

    Arrays are [source, region, week-1]; ``fmax`` the bound, ``avail`` the
    availability, and boolean arrays for what limits it below availability.
    """

    sources: list
    regions: list
    avail: np.ndarray
    has_row: np.ndarray
    fmax: np.ndarray
    by_supervisor: np.ndarray
    by_onboarding: np.ndarray
    lead: np.ndarray          # onboarding-limited and the lead time blocks early weeks
    cohort: np.ndarray        # onboarding-limited and a term covers an availability drop
    ramp: np.ndarray          # onboarding-limited and a ramp limit applies
    trainer: np.ndarray       # onboarding-limited by the trainer's hours


def regional_limits(inputs: Inputs) -> RegionalLimits:
    st = inputs.settings
    T, H = int(st.weeks), float(st.productive_hours)
    rs = inputs.regional_sources
    S, R = list(rs.index), list(inputs.regions.index)
    s_pos = {s: i for i, s in enumerate(S)}
    r_pos = {r: i for i, r in enumerate(R)}
    avail = np.zeros((len(S), len(R), T))
    has_row = np.zeros((len(S), len(R)), dtype=bool)
    av = inputs.availability
    av = av[av["source"].isin(s_pos) & av["region"].isin(r_pos) & (av["week"] >= 1) & (av["week"] <= T)]
    si = av["source"].map(s_pos).to_numpy(dtype=int)
    ri = av["region"].map(r_pos).to_numpy(dtype=int)
    avail[si, ri, av["week"].to_numpy(dtype=int) - 1] = av["fte"].to_numpy(dtype=float)
    has_row[si, ri] = True
    inf = np.full((len(R), T), np.inf)
    fmax = np.empty_like(avail)
    flags = {k: np.zeros_like(avail, dtype=bool) for k in
             ("sup", "onb", "lead", "cohort", "ramp", "trainer")}
    weeks = np.arange(1, T + 1)
    for s in S:
        i = s_pos[s]
        row = rs.loc[s]
        a = avail[i]
        m = int(row["min_term_weeks"])
        if m > 1:
            pad = np.concatenate([a, np.full((len(R), m - 1), np.inf)], axis=1)
            win = sliding_window_view(pad, m, axis=1).min(axis=2)
        else:
            win = a
        inc = row["max_increase_per_week"]
        inc = np.inf if is_blank(inc) else float(inc)
        tr, th = row["trainer"], float(row["training_hours"] or 0.0)
        trcap = H * avail[s_pos[tr]] / th if not is_blank(tr) and tr in s_pos and th > 0 else inf
        opencap = np.minimum(np.minimum(win, inc), trcap)
        lead = int(row["lead_weeks"])
        opencap = np.where(weeks[None, :] < 1 + lead, 0.0, opencap)
        cum = np.cumsum(opencap, axis=1)
        sup, ratio = row["supervisor"], float(row["supervision_ratio"] or 0.0)
        supcap = avail[s_pos[sup]] / ratio if not is_blank(sup) and sup in s_pos and ratio > 0 else inf
        f = np.minimum(np.minimum(a, cum), supcap)
        fmax[i] = f
        below = f < a - TOL
        by_sup = below & (supcap <= cum)
        onb = below & ~by_sup
        flags["sup"][i], flags["onb"][i] = by_sup, onb
        # which rule caps onboarding in each week (ties: cohort, trainer, ramp); a rule is named for
        # week t when it was the binding one in some week <= t that could have added staff
        stack = np.stack([np.broadcast_to(win if m > 1 else np.inf, a.shape),
                          np.broadcast_to(trcap, a.shape), np.full(a.shape, inc)])
        arg = stack.argmin(axis=0)
        active = (weeks[None, :] >= 1 + lead) & (stack.min(axis=0) < a - TOL)
        earlier = np.logical_or.accumulate
        flags["lead"][i] = onb & (lead > 0)
        for n, name in enumerate(("cohort", "trainer", "ramp")):
            flags[name][i] = onb & earlier(active & (arg == n), axis=1)
    return RegionalLimits(S, R, avail, has_row, fmax, flags["sup"], flags["onb"], flags["lead"],
                          flags["cohort"], flags["ramp"], flags["trainer"])


def contract_limits(inputs: Inputs) -> pd.DataFrame:
    """Most FTE of each contract in each week of its window: committed_fte
    during the initial term when given, else max_fte (eq 3, eq 4)."""
    con = inputs.contracts
    if not len(con):
        return pd.DataFrame({"contract": [], "source": [], "week": [], "cap": [], "by": []})
    c = con.reset_index().rename(columns={con.index.name or "index": "contract"})
    c["week"] = [list(range(int(a), int(b) + 1)) for a, b in zip(c["start_week"], c["end_week"])]
    c = c.explode("week")
    c["week"] = c["week"].astype(int)
    term = (c["week"] < c["start_week"] + c["min_term_weeks"]) & c["committed_fte"].notna()
    c["cap"] = np.where(term, c["committed_fte"], c["max_fte"]).astype(float)
    c["by"] = np.where(term, "committed_fte", "max_fte")
    return c[["contract", "source", "week", "cap", "by"]].reset_index(drop=True)


def _skills(inputs: Inputs) -> pd.DataFrame:
    """The model's own coefficients (hours per task a, success p) per skill row."""
    from capacity.model.index import skill_terms

    return skill_terms(inputs)[["source", "work_type", "p", "a"]]


def _targets(inputs: Inputs) -> pd.DataFrame:
    """(scenario, region, week, work_type) with mcs > 0 and base demand > 0."""
    wt = inputs.work_types
    mcs = wt["min_completion_share"].fillna(0).astype(float)
    ks = mcs[mcs > 0].index
    if not len(ks):
        return pd.DataFrame(columns=["scenario", "region", "week", "work_type", "d0", "mcs", "required"])
    tpc = wt.loc[ks, "tasks_per_case"].astype(float)
    dm = inputs.demand[["scenario", "region", "week", "cases"]]
    out = dm.merge(pd.DataFrame({"work_type": ks, "tpc": tpc.to_numpy(), "mcs": mcs[ks].to_numpy()}),
                   how="cross")
    out["d0"] = out["cases"].astype(float) * out["tpc"]
    out = out[out["d0"] > 0].drop(columns=["cases", "tpc"]).reset_index(drop=True)
    out["week"] = out["week"].astype(int)
    out["required"] = out["mcs"] * out["d0"]
    return out


def _unit_reach(inputs: Inputs, lim: RegionalLimits, cl: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tasks of each work type each able unit can complete at most.

    Returns (regional: source, region, week, work_type, fmax, avail, p, reach;
    contracts: contract, source, week, work_type, cap, by, p, reach).
    """
    H = float(inputs.settings.productive_hours)
    sk = _skills(inputs)
    T = int(inputs.settings.weeks)
    s_pos = {s: i for i, s in enumerate(lim.sources)}
    rsk = sk[sk["source"].isin(s_pos)]
    parts = []
    for row in rsk.itertuples(index=False):
        i = s_pos[row.source]
        f = lim.fmax[i]
        parts.append(pd.DataFrame({
            "source": row.source, "work_type": row.work_type, "p": row.p, "a": row.a,
            "region": np.repeat(np.asarray(lim.regions, dtype=object), T),
            "week": np.tile(np.arange(1, T + 1), len(lim.regions)),
            "fmax": f.ravel(), "avail": lim.avail[i].ravel()}))
    reg = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["source", "work_type", "p", "a", "region", "week", "fmax", "avail"])
    reg["reach"] = reg["fmax"].astype(float) * H / reg["a"].astype(float) * reg["p"].astype(float)
    con = cl.merge(sk, on="source")
    con["reach"] = con["cap"] * H / con["a"] * con["p"]
    return reg, con


# ---------------------------------------------------------------------------------------------
# limit phrases (what caps a unit), with their cells
# ---------------------------------------------------------------------------------------------
def _regional_limit(inputs: Inputs, lim: RegionalLimits, s: str, r: str, t: int) -> tuple[str, list]:
    """What caps source s in region r in week t: (phrase, cells).

    The phrase is week-independent so that lines can merge weeks."""
    o = inputs.origin
    i, j = lim.sources.index(s), lim.regions.index(r)
    k = t - 1
    row = inputs.sources.loc[s]
    if not lim.has_row[i, j]:
        return f"no availability row for {s} in {r}", []
    acell = o.cell("availability", (s, r), t)
    if lim.by_supervisor[i, j, k]:
        sup = row["supervisor"]
        cells = [o.cell("sources", s, "supervisor"), o.cell("sources", s, "supervision_ratio")]
        si = lim.sources.index(sup)
        if lim.has_row[si, j]:
            cells.append(o.cell("availability", (sup, r), t))
        return (f"supervised by {sup} at supervision_ratio {_n(row['supervision_ratio'], 3)}, "
                f"and {sup} availability is low"), cells
    if not lim.by_onboarding[i, j, k]:
        return "its availability", [acell]
    why, cells = [], []
    lead = int(row["lead_weeks"])
    if lim.lead[i, j, k] and t < 1 + lead:
        why.append(f"lead_weeks {lead}: nobody in post before week {1 + lead}")
        cells.append(o.cell("sources", s, "lead_weeks"))
    if lim.cohort[i, j, k]:
        m = int(row["min_term_weeks"])
        a = lim.avail[i, j]
        lo, hi = max(0, k - m + 1), min(len(a), k + m)
        w = lo + int(np.argmin(a[lo:hi]))
        why.append(f"min_term_weeks {m}: anyone onboarded must stay {m} weeks, but availability falls to "
                   f"{_n(a[w])} within that term")
        cells += [o.cell("sources", s, "min_term_weeks"), o.cell("availability", (s, r), w + 1)]
    if lim.trainer[i, j, k]:
        tr = row["trainer"]
        why.append(f"each needs {_n(row['training_hours'])} training hours from {tr}")
        cells += [o.cell("sources", s, "trainer"), o.cell("sources", s, "training_hours")]
        ti = lim.sources.index(tr)
        if lim.has_row[ti, j]:
            cells.append(o.cell("availability", (tr, r), t))
    if lim.ramp[i, j, k]:
        why.append(f"max_increase_per_week {_n(row['max_increase_per_week'])}")
        cells.append(o.cell("sources", s, "max_increase_per_week"))
    if not why:  # onboarding-limited by an earlier week's rule
        why.append("what can be onboarded by then")
    return "; ".join(why), cells


def _contract_limit(inputs: Inputs, c: str, by: str) -> tuple[str, list]:
    o = inputs.origin
    if by == "committed_fte":
        return ("committed_fte for its initial term, shared by every region",
                [o.cell("contracts", c, "committed_fte"), o.cell("contracts", c, "min_term_weeks")])
    return "max_fte, shared by every region", [o.cell("contracts", c, "max_fte")]


# ---------------------------------------------------------------------------------------------
# pre-solve checks
# ---------------------------------------------------------------------------------------------
def _context(inputs: Inputs):
    lim = regional_limits(inputs)
    cl = contract_limits(inputs)
    reg, con = _unit_reach(inputs, lim, cl)
    return lim, reg, con


def _limits_at(inputs: Inputs, lim: RegionalLimits, reg_g, con_g, r: str, t: int, k: str) -> list[dict]:
    """Every able unit for work type k in region r, week t: what it can do at most and why
    (the same in every scenario: computed once, copies returned)."""
    cache = reg_g.setdefault("_cache", {})
    if (r, t, k) not in cache:
        cache[(r, t, k)] = _limits_uncached(inputs, lim, reg_g, con_g, r, t, k)
    return [dict(d) for d in cache[(r, t, k)]]


def _limits_uncached(inputs: Inputs, lim: RegionalLimits, reg_g, con_g, r: str, t: int, k: str) -> list[dict]:
    o = inputs.origin
    out = []
    for u in reg_g.get((r, t, k), ()):
        phrase, cells = _regional_limit(inputs, lim, u.source, r, t)
        out.append({"unit": u.source, "phrase": phrase, "cells": cells, "fte": float(u.fmax),
                    "reach": float(u.reach), "p": float(u.p),
                    "p_cell": o.cell("skills", (u.source, k), "success_rate")})
    for u in con_g.get((t, k), ()):
        phrase, cells = _contract_limit(inputs, u.contract, u.by)
        out.append({"unit": f"contract {u.contract}", "phrase": phrase, "cells": cells, "fte": float(u.cap),
                    "reach": float(u.reach), "p": float(u.p),
                    "p_cell": o.cell("skills", (u.source, k), "success_rate")})
    return out


def _grouped(reg: pd.DataFrame, con: pd.DataFrame):
    reg_g = {key: list(g.itertuples(index=False)) for key, g in reg.groupby(["region", "week", "work_type"])}
    con_g = {key: list(g.itertuples(index=False)) for key, g in con.groupby(["week", "work_type"])}
    return reg_g, con_g


def _fte_text(lims: list[dict]) -> str:
    return "; ".join(f"{d['unit']} at most {_n(d['fte'])} FTE ({d['phrase']}"
                     + (f"; {compress_cells(d['cells'])})" if d["cells"] else ")") for d in lims)


def _rate_text(lims: list[dict], mcs: float) -> str:
    parts = []
    for d in lims:
        if d["fte"] > TOL:
            parts.append(f"{d['unit']} success_rate {_pct(d['p'])} ({d['p_cell']})")
        elif d["p"] > mcs + TOL:
            phrase = "availability 0" if d["phrase"] == "its availability" else d["phrase"]
            parts.append(f"{d['unit']} success_rate {_pct(d['p'])} ({d['p_cell']}) but no staff then "
                         f"({phrase}" + (f"; {compress_cells(d['cells'])})" if d["cells"] else ")"))
    return "; ".join(parts)


def completion_above_success_rate(inputs: Inputs, _ctx=None) -> list[Conflict]:
    """Eq 13 with mcs[k] above the success rate of every unit that can have
    staff in that region-week (needs no capacity figure: completed <= best
    rate x attempted <= best rate x demand)."""
    tg = _targets(inputs)
    if not len(tg):
        return []
    lim, reg, con = _ctx or _context(inputs)
    staffed_r = reg[reg["fmax"] > TOL].groupby(["region", "week", "work_type"])["p"].max()
    staffed_c = con[con["cap"] > TOL].groupby(["week", "work_type"])["p"].max()
    x = tg.merge(staffed_r.rename("p_reg").reset_index(), on=["region", "week", "work_type"], how="left")
    x = x.merge(staffed_c.rename("p_con").reset_index(), on=["week", "work_type"], how="left")
    x["best"] = x[["p_reg", "p_con"]].max(axis=1)
    # no staffed unit at all is a capacity conflict (completion_unreachable), not this one
    bad = x[x["best"].notna() & (x["mcs"] > x["best"] + TOL)]
    if not len(bad):
        return []
    reg_g, con_g = _grouped(reg, con)
    out = []
    o = inputs.origin
    for row in bad.itertuples(index=False):
        k, r, t, w = row.work_type, row.region, int(row.week), row.scenario
        lims = _limits_at(inputs, lim, reg_g, con_g, r, t, k)
        lims = [d for d in lims if d["fte"] > TOL or d["p"] > row.mcs + TOL]
        cells = [o.cell("work_types", k, "min_completion_share"), o.cell("demand", (w, r), t)]
        for d in lims:
            cells += [d["p_cell"]] + (d["cells"] if d["fte"] <= TOL else [])
        text = (f"{k} work in region {r}, week {t}, scenario {w}: min_completion_share {_pct(row.mcs)} "
                f"({cells[0]}) of {_n(row.d0)} tasks ({cells[1]}) is above the best success rate of the staff "
                f"who can work then ({_pct(row.best)}): {_rate_text(lims, row.mcs)}. Lower min_completion_share "
                f"to at most {_pct(row.best)}, or make staff with a higher success rate available then.")
        out.append(Conflict("completion_above_success_rate", "demand.completion", "13", w, t, r, k,
                            float(row.required - row.best * row.d0), cells, text, limits=lims,
                            required=float(row.mcs), reachable=float(row.best)))
    return out


def completion_unreachable(inputs: Inputs, _ctx=None) -> list[Conflict]:
    """Eq 13 where mcs x demand is above what every able unit together can
    complete at most: the region's own regional sources plus the contracts
    (national: their capacity is pooled over the regions short that week)."""
    tg = _targets(inputs)
    if not len(tg):
        return []
    lim, reg, con = _ctx or _context(inputs)
    rr = reg.groupby(["region", "week", "work_type"])["reach"].sum().rename("reach_reg").reset_index()
    cr = con.groupby(["week", "work_type"])["reach"].sum().rename("reach_con").reset_index()
    x = tg.merge(rr, on=["region", "week", "work_type"], how="left")
    x["reach_reg"] = x["reach_reg"].fillna(0.0)
    x["need"] = (x["required"] - x["reach_reg"]).clip(lower=0.0)
    x.loc[x["need"] <= TOL * np.maximum(1.0, x["required"]), "need"] = 0.0
    tot = x.groupby(["scenario", "week", "work_type"])["need"].sum().rename("need_total").reset_index()
    x = x.merge(tot, on=["scenario", "week", "work_type"]).merge(cr, on=["week", "work_type"], how="left")
    x["reach_con"] = x["reach_con"].fillna(0.0)
    bad = x[(x["need"] > 0) & (x["need_total"] > x["reach_con"] + TOL * np.maximum(1.0, x["need_total"]))]
    if not len(bad):
        return []
    reg_g, con_g = _grouped(reg, con)
    able = set(reg["work_type"]) | set(con["work_type"])
    out = []
    o = inputs.origin
    for row in bad.itertuples(index=False):
        k, r, t, w = row.work_type, row.region, int(row.week), row.scenario
        lims = _limits_at(inputs, lim, reg_g, con_g, r, t, k)
        cells = [o.cell("work_types", k, "min_completion_share"), o.cell("demand", (w, r), t)]
        for d in lims:
            cells += d["cells"]
        who = _fte_text(lims) if k in able else f"no source has a skill row for {k} in sheet skills"
        pooled = (f"; the contracts can complete at most {_n(row.reach_con)} for all regions together, "
                  f"{_n(row.need_total)} short over the regions" if row.reach_con > 0 else "")
        text = (f"{k} work in region {r}, week {t}, scenario {w}: min_completion_share {_pct(row.mcs)} "
                f"({cells[0]}) of {_n(row.d0)} tasks ({cells[1]}) needs {_n(row.required)} completed, but the "
                f"region's staff able to do {k} can complete at most {_n(row.reach_reg)}{pooled}: {who}. "
                "Lower min_completion_share or make more able staff available in that week.")
        out.append(Conflict("completion_unreachable", "demand.completion", "13", w, t, r, k,
                            float(row.need), cells, text, limits=lims, required=float(row.required),
                            reachable=float(row.reach_reg + (row.reach_con if row.reach_con > 0 else 0.0))))
    return out


CHECKS = (completion_above_success_rate, completion_unreachable)


def presolve_conflicts(inputs: Inputs) -> list[Conflict]:
    """Every certain conflict found without a solver (see the module doc):
    at most one per (scenario, week, region, work type)."""
    if not len(_targets(inputs)):
        return []
    ctx = _context(inputs)
    out = []
    seen = set()
    for check in CHECKS:
        for c in check(inputs, ctx):
            key = (c.scenario, c.week, c.region, c.work_type)
            if key not in seen:
                seen.add(key)
                out.append(c)
    return out


def _conflict_lines(inputs: Inputs, conflicts: list[Conflict]) -> list[str]:
    """Collapse conflict rows: one line per (kind, work type, region)."""
    groups: dict = {}
    for c in conflicts:
        groups.setdefault((c.kind, c.work_type, c.region), []).append(c)
    lines = []
    o = inputs.origin
    for (kind, k, r), cs in groups.items():
        weeks = week_ranges(c.week for c in cs)
        scens = list(dict.fromkeys(c.scenario for c in cs))
        scen = f"scenario{'s' if len(scens) > 1 else ''} {_names(scens)}"
        mcs = float(inputs.work_types.loc[k, "min_completion_share"])
        mcell = o.cell("work_types", k, "min_completion_share")
        demand_cells = compress_cells([o.cell("demand", (c.scenario, r), c.week) for c in cs])
        # merge each unit's limits over the weeks: FTE as a range, cells united
        units: dict = {}
        for c in cs:
            for d in c.limits:
                e = units.setdefault(d["unit"], dict(d, cells=[], ftes=[], phrases=[]))
                e["cells"] = e["cells"] + d["cells"]
                e["ftes"].append(d["fte"])
                e["phrases"] += [x for x in d["phrase"].split("; ") if x not in e["phrases"]]
        merged = [dict(e, fte=max(e["ftes"]), phrase="; ".join(e["phrases"])) for e in units.values()]
        if kind == "completion_above_success_rate":
            best = max(c.reachable for c in cs)
            lines.append(f"{k} work in region {r}, {weeks} ({scen}): min_completion_share {_pct(mcs)} ({mcell}) "
                         f"is above the success rate of every source that can work then (best {_pct(best)}): "
                         f"{_rate_text(merged, mcs)}. Lower min_completion_share to at most {_pct(best)}, or make "
                         "staff with a higher success rate available in those weeks.")
        else:
            detail = "; ".join(f"{e['unit']} at most {_span(e['ftes'])} FTE ({e['phrase']}"
                               + (f"; {compress_cells(e['cells'])})" if e["cells"] else ")") for e in merged)
            if not merged:
                detail = f"no source has a skill row for {k} in sheet skills"
            lines.append(f"{k} work in region {r}, {weeks} ({scen}): min_completion_share {_pct(mcs)} ({mcell}) "
                         f"needs {_span([c.required for c in cs])} tasks a week completed ({demand_cells}) but "
                         f"the able staff can complete at most {_span([c.reachable for c in cs])}: {detail}. "
                         "Lower min_completion_share or make more able staff available then.")
    return lines


# ---------------------------------------------------------------------------------------------
# after the solver: elastic slacks in input terms
# ---------------------------------------------------------------------------------------------
def _row_cells(inputs: Inputs, fam: str, key: dict) -> list:
    """The input cells feeding one row of an elastic family (declared with the family)."""
    spec = family(fam)
    return spec.cells(inputs, key) if spec is not None and spec.cells is not None else []


def _texts(fam: str) -> tuple[str, str, str]:
    """(slack unit, what a positive slack means, what to change) of a family."""
    spec = family(fam)
    return (spec.slack_unit, spec.broken, spec.remedy) if spec is not None and spec.elastic else \
        ("", "rule broken", "the inputs named")


def elastic_rows(inputs: Inputs, viol: pd.DataFrame | None) -> pd.DataFrame:
    """Map the elastic model's positive slacks (``elastic_violations``) to
    tidy rows (TABLE_COLUMNS) with the input cells of each row."""
    recs = []
    if viol is None or not len(viol):
        return pd.DataFrame(columns=TABLE_COLUMNS)
    for row in viol.itertuples(index=False):
        key = dict(zip(row.levels, row.index))
        fam = row.family
        unit = key.get("source", key.get("contract", ""))
        slack = float(row.slack) if row.slack == row.slack else math.nan
        cells = _row_cells(inputs, fam, key)
        what_unit, meaning, change = _texts(fam)
        where = ", ".join(f"{lv} {key[lv]}" for lv in ("work_type", "region", "source", "contract", "week",
                                                          "scenario") if lv in key)
        amount = (f"by {_n(slack)} {what_unit}" if slack == slack else "with no staff who can meet it")
        recs.append({"found_by": FOUND_ELASTIC, "family": fam, "equation": str(row.equation),
                     "scenario": key.get("scenario", ""), "week": key.get("week"), "region": key.get("region", ""),
                     "unit": unit, "work_type": key.get("work_type", ""), "slack": slack,
                     "input_cells": "; ".join(cells),
                     "explanation": f"eq {row.equation} {fam} ({where}): {meaning} {amount}; change {change} "
                                    f"({compress_cells(cells)})"})
    return pd.DataFrame(recs, columns=TABLE_COLUMNS)


def _elastic_lines(inputs: Inputs, rows: pd.DataFrame) -> list[str]:
    """One line per (family, unit, region, work type)."""
    lines = []
    if not len(rows):
        return lines
    r = rows.assign(_u=rows["unit"].fillna(""), _r=rows["region"].fillna(""), _k=rows["work_type"].fillna(""))
    for (fam, u, reg, k), g in r.groupby(["family", "_u", "_r", "_k"], sort=False):
        what_unit, meaning, change = _texts(fam)
        who = " ".join(x for x in (f"{k} work" if k else "", f"contract {u}" if fam.startswith(("contracts.",
                       "hours.contract")) else u, f"in region {reg}" if reg else "") if x)
        weeks = week_ranges(w for w in g["week"] if w == w and w is not None)
        scen = sorted({s for s in g["scenario"] if s})
        when = ", ".join(x for x in (weeks, (f"scenario{'s' if len(scen) > 1 else ''} {_names(scen)}"
                                              if scen else "")) if x)
        cells = compress_cells([c for cs in g["input_cells"] for c in cs.split("; ") if c])
        sl = g["slack"].astype(float)
        amount = (f"by up to {_n(sl.max())} {what_unit}" if sl.notna().any() else "with no staff who can meet it")
        eq = g["equation"].iloc[0]
        lines.append(f"{who}{' (' + when + ')' if when else ''}: {meaning} {amount} "
                     f"[eq {eq}, {len(g)} row{'s' if len(g) != 1 else ''}]; change {change} ({cells}).")
    return lines


def _family_inputs(inputs: Inputs, name: str) -> str:
    """'demand.completion (eq 13)' -> with the inputs it stands for."""
    fam = name.split(" ", 1)[0]
    spec = family(fam)
    if spec is None or not spec.remedy_inputs:
        return name
    words = spec.remedy_inputs
    if fam == "demand.completion":
        mcs = inputs.work_types["min_completion_share"].fillna(0)
        cells = [f"{k} {_pct(v)} {inputs.origin.cell('work_types', k, 'min_completion_share')}"
                 for k, v in mcs[mcs > 0].items()]
        words += " (min_completion_share: " + ", ".join(cells) + ")"
    return f"{name}: {words}"


def elastic_violations_of(inputs: Inputs, *, time_limit: float | None = None, threads: int | None = None):
    """Build and solve the elastic model; its positive slacks (or None)."""
    from capacity.model import build_model, elastic_violations
    from capacity.solve import solve

    el = build_model(inputs, elastic=True)
    res = solve(el, time_limit=time_limit, threads=threads, duals=False, _explain=False)
    if res.status not in ("optimal", "feasible"):
        return None
    return elastic_violations(el)


# ---------------------------------------------------------------------------------------------
# the diagnosis
# ---------------------------------------------------------------------------------------------
def _conflict_table(conflicts: list[Conflict]) -> pd.DataFrame:
    recs = [{"found_by": FOUND_PRESOLVE, "family": c.family, "equation": c.equation, "scenario": c.scenario,
             "week": c.week, "region": c.region, "unit": c.unit, "work_type": c.work_type, "slack": c.slack,
             "input_cells": "; ".join(dict.fromkeys(c.input_cells)), "explanation": c.explanation}
            for c in conflicts]
    return pd.DataFrame(recs, columns=TABLE_COLUMNS)


def diagnose(inputs: Inputs, result=None, *, conflicts: list[Conflict] | None = None,
             elastic: bool = True) -> Diagnosis:
    """Explain why ``inputs`` give an infeasible model.

    ``result``: the infeasible :class:`capacity.solve.SolveResult` (its
    ``infeasibility`` slacks and ``infeasible_families`` are used); without
    one, the elastic model is solved here when ``elastic``.
    """
    conflicts = presolve_conflicts(inputs) if conflicts is None else conflicts
    viol = getattr(result, "infeasibility", None)
    if viol is None and elastic:
        viol = elastic_violations_of(inputs)
    families = list(getattr(result, "infeasible_families", None) or [])
    erows = elastic_rows(inputs, viol)
    lines = []
    if conflicts:
        lines.append(f"The inputs conflict ({len(conflicts)} region-week-scenario row"
                     f"{'s' if len(conflicts) != 1 else ''} of eq 13, found from the inputs alone):")
        cl = _conflict_lines(inputs, conflicts)
        lines += ["  " + x for x in cl[:MAX_LINES]]
        if len(cl) > MAX_LINES:
            lines.append(f"  ... and {len(cl) - MAX_LINES} more like these (every row is in the infeasibility sheet)")
    if len(erows):
        el = _elastic_lines(inputs, erows)
        if conflicts:
            lines.append(f"The elastic model (penalised slack on the hard rules) relaxes {len(erows)} row"
                         f"{'s' if len(erows) != 1 else ''} to make the plan possible; see the infeasibility "
                         "sheet" + (":" if len(el) <= 5 else "."))
            if len(el) <= 5:
                lines += ["  " + x for x in el]
        else:
            lines.append("The smallest changes that make a plan possible (elastic model: penalised slack on "
                         "the hard rules):")
            lines += ["  " + x for x in el[:MAX_LINES]]
            if len(el) > MAX_LINES:
                lines.append(f"  ... and {len(el) - MAX_LINES} more (every row is in the infeasibility sheet)")
    if families:
        lines.append("Rule families that cannot all hold together: "
                     + "; ".join(_family_inputs(inputs, f) for f in families) + ".")
    if not lines:
        lines.append("The model is infeasible but no explanation could be found (the elastic model did not "
                     "solve); check the completion targets (work_types min_completion_share) first.")
    parts = [t for t in (_conflict_table(conflicts), erows) if len(t)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TABLE_COLUMNS)
    return Diagnosis(lines=lines, table=table, conflicts=conflicts, families=families)


def write_diagnosis(path, diagnosis: Diagnosis, run_info: pd.DataFrame | None = None,
                    currency: str = "GBP") -> None:
    """The diagnostic workbook: sheets ``infeasibility`` (and ``run``)."""
    from capacity.report import SheetSpec, write_report

    summary = pd.DataFrame({"line": diagnosis.lines})
    sheets = [
        SheetSpec("infeasibility", diagnosis.table, {"week": "int", "slack": "number"},
                  note="Why the model is infeasible: each row is a rule (formulation.md equation) at one index "
                       "that the inputs make impossible, with the input cells that feed it. found_by: "
                       "'pre-solve check' (certain, from the inputs alone) or 'elastic model' (penalised slack; "
                       "slack = how far that rule must give)."),
        SheetSpec("diagnosis", summary, note="The same explanation in plain words, as printed by capacity plan."),
    ]
    if run_info is not None:
        sheets.append(SheetSpec("run", run_info, note="Provenance of this run."))
    write_report(path, sheets, currency=currency)
