"""Pre-solve checks: conflicts found from the inputs alone, certain (each one proves
the model infeasible). See the package docstring for why every infeasibility of a
validated workbook runs through a completion target (eq 13)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from capacity.io.inputs import Inputs

from .limits import (TOL, RegionalLimits, contract_limit_phrase, contract_limits, regional_limit_phrase,
                     regional_limits, targets, unit_reach)
from .text import number, pct, span, names, week_ranges, compress_cells

FOUND_PRESOLVE = "pre-solve check"


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


def _context(inputs: Inputs):
    lim = regional_limits(inputs)
    cl = contract_limits(inputs)
    reg, con = unit_reach(inputs, lim, cl)
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
        phrase, cells = regional_limit_phrase(inputs, lim, u.source, r, t)
        out.append({"unit": u.source, "phrase": phrase, "cells": cells, "fte": float(u.fmax),
                    "reach": float(u.reach), "p": float(u.p),
                    "p_cell": o.cell("skills", (u.source, k), "success_rate")})
    for u in con_g.get((t, k), ()):
        phrase, cells = contract_limit_phrase(inputs, u.contract, u.by)
        out.append({"unit": f"contract {u.contract}", "phrase": phrase, "cells": cells, "fte": float(u.cap),
                    "reach": float(u.reach), "p": float(u.p),
                    "p_cell": o.cell("skills", (u.source, k), "success_rate")})
    return out


def _grouped(reg: pd.DataFrame, con: pd.DataFrame):
    reg_g = {key: list(g.itertuples(index=False)) for key, g in reg.groupby(["region", "week", "work_type"])}
    con_g = {key: list(g.itertuples(index=False)) for key, g in con.groupby(["week", "work_type"])}
    return reg_g, con_g


def _fte_text(lims: list[dict]) -> str:
    return "; ".join(f"{d['unit']} at most {number(d['fte'])} FTE ({d['phrase']}"
                     + (f"; {compress_cells(d['cells'])})" if d["cells"] else ")") for d in lims)


def _rate_text(lims: list[dict], mcs: float) -> str:
    parts = []
    for d in lims:
        if d["fte"] > TOL:
            parts.append(f"{d['unit']} success_rate {pct(d['p'])} ({d['p_cell']})")
        elif d["p"] > mcs + TOL:
            phrase = "availability 0" if d["phrase"] == "its availability" else d["phrase"]
            parts.append(f"{d['unit']} success_rate {pct(d['p'])} ({d['p_cell']}) but no staff then "
                         f"({phrase}" + (f"; {compress_cells(d['cells'])})" if d["cells"] else ")"))
    return "; ".join(parts)


def completion_above_success_rate(inputs: Inputs, _ctx=None) -> list[Conflict]:
    """Eq 13 with mcs[k] above the success rate of every unit that can have
    staff in that region-week (needs no capacity figure: completed <= best
    rate x attempted <= best rate x demand)."""
    tg = targets(inputs)
    if not len(tg):
        return []
    lim, reg, con = _ctx or _context(inputs)
    staffed_r = reg[reg["fmax"] > TOL].groupby(["region", "week", "work_type"])["p"].max()
    staffed_c = con[con["cap"] > TOL].groupby(["week", "work_type"])["p"].max()
    x = tg.merge(staffed_r.rename("p_reg").reset_index(), on=["region", "week", "work_type"], how="left")
    x = x.merge(staffed_c.rename("p_con").reset_index(), on=["week", "work_type"], how="left")
    x["best"] = x[["p_reg", "p_con"]].astype(float).max(axis=1)
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
        text = (f"{k} work in region {r}, week {t}, scenario {w}: min_completion_share {pct(row.mcs)} "
                f"({cells[0]}) of {number(row.d0)} tasks ({cells[1]}) is above the best success rate of the staff "
                f"who can work then ({pct(row.best)}): {_rate_text(lims, row.mcs)}. Lower min_completion_share "
                f"to at most {pct(row.best)}, or make staff with a higher success rate available then.")
        out.append(Conflict("completion_above_success_rate", "demand.completion", "13", w, t, r, k,
                            float(row.required - row.best * row.d0), cells, text, limits=lims,
                            required=float(row.mcs), reachable=float(row.best)))
    return out


def completion_unreachable(inputs: Inputs, _ctx=None) -> list[Conflict]:
    """Eq 13 where mcs x demand is above what every able unit together can
    complete at most: the region's own regional sources plus the contracts
    (national: their capacity is pooled over the regions short that week)."""
    tg = targets(inputs)
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
        pooled = (f"; the contracts can complete at most {number(row.reach_con)} for all regions together, "
                  f"{number(row.need_total)} short over the regions" if row.reach_con > 0 else "")
        text = (f"{k} work in region {r}, week {t}, scenario {w}: min_completion_share {pct(row.mcs)} "
                f"({cells[0]}) of {number(row.d0)} tasks ({cells[1]}) needs {number(row.required)} completed, but the "
                f"region's staff able to do {k} can complete at most {number(row.reach_reg)}{pooled}: {who}. "
                "Lower min_completion_share or make more able staff available in that week.")
        out.append(Conflict("completion_unreachable", "demand.completion", "13", w, t, r, k,
                            float(row.need), cells, text, limits=lims, required=float(row.required),
                            reachable=float(row.reach_reg + (row.reach_con if row.reach_con > 0 else 0.0))))
    return out


CHECKS = (completion_above_success_rate, completion_unreachable)


def presolve_conflicts(inputs: Inputs) -> list[Conflict]:
    """Every certain conflict found without a solver (see the module doc):
    at most one per (scenario, week, region, work type)."""
    if not len(targets(inputs)):
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


def conflict_groups(conflicts: list[Conflict]) -> dict:
    """(kind, work type, region) -> its conflicts, in order of first appearance."""
    groups: dict = {}
    for c in conflicts:
        groups.setdefault((c.kind, c.work_type, c.region), []).append(c)
    return groups


def conflict_lines(inputs: Inputs, conflicts: list[Conflict]) -> list[str]:
    """Collapse conflict rows: one line per (kind, work type, region)."""
    lines = []
    o = inputs.origin
    for (kind, k, r), cs in conflict_groups(conflicts).items():
        weeks = week_ranges(c.week for c in cs)
        scens = list(dict.fromkeys(c.scenario for c in cs))
        scen = f"scenario{'s' if len(scens) > 1 else ''} {names(scens)}"
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
            lines.append(f"{k} work in region {r}, {weeks} ({scen}): min_completion_share {pct(mcs)} ({mcell}) "
                         f"is above the success rate of every source that can work then (best {pct(best)}): "
                         f"{_rate_text(merged, mcs)}. Lower min_completion_share to at most {pct(best)}, or make "
                         "staff with a higher success rate available in those weeks.")
        else:
            detail = "; ".join(f"{e['unit']} at most {span(e['ftes'])} FTE ({e['phrase']}"
                               + (f"; {compress_cells(e['cells'])})" if e["cells"] else ")") for e in merged)
            if not merged:
                detail = f"no source has a skill row for {k} in sheet skills"
            lines.append(f"{k} work in region {r}, {weeks} ({scen}): min_completion_share {pct(mcs)} ({mcell}) "
                         f"needs {span([c.required for c in cs])} tasks a week completed ({demand_cells}) but "
                         f"the able staff can complete at most {span([c.reachable for c in cs])}: {detail}. "
                         "Lower min_completion_share or make more able staff available then.")
    return lines
