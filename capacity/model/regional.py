"""Regional families, formulation.md eq 6-9 (block ``regional``).

See models/README.md#eq-6 .. #eq-9. Eq 6's lead time, eq 7 (availability)
and eq 9 (regional ramp) are variable bounds (variables.py); in the elastic
model eq 7 and eq 9 are rows here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.io.inputs import Inputs

from .core import Context
from .family import FamilySpec
from .index import VAR_LEVELS
from .recheck import (Check, Worst, eq, history_fixed, labels, le, limit, past, plan_from, regional_plan,
                      stock_violation, worst)

BLOCK = "regional"


def _cells(column: str | None = None):
    """The input cells of one regional row: its availability cell, and a column of its sources row."""
    def cells(inputs, key):
        o, s, r = inputs.origin, key["source"], key["region"]
        out = [o.cell("availability", (s, r), key["week"])] if (s, r) in o.rows.get("availability", {}) else []
        return out + ([o.cell("sources", s, column)] if column else [])
    return cells


# ---- audit checks: the rules re-checked from the result tables and the input alone
def check_regional_stock(inputs: Inputs, t: dict) -> Worst:
    """eq 6: F[t] = F[t-1] + onboarded - exits, F[0] = 0."""
    plan = regional_plan(inputs, t).sort_values(["scenario", "unit", "region", "week"])
    return worst(stock_violation(plan), plan[["scenario", "week", "region", "unit"]])


def check_regional_lead(inputs: Inputs, t: dict) -> Worst:
    """eq 6: nobody onboarded before week plan_from_week + lead_weeks of the source (week 1 + lead_weeks
    in version 1), except what the history fixes (v2 section 1)."""
    plan = regional_plan(inputs, t)
    lead = plan["unit"].map(inputs.sources["lead_weeks"]).to_numpy(float)
    blocked = (plan["week"].to_numpy(float) < plan_from(inputs) + lead) & ~history_fixed(inputs, plan)
    viol = np.where(blocked, eq(plan["onboarded"], 0.0), 0.0)
    return worst(viol, labels(plan, ["scenario", "week", "region", "unit"], inputs, "sources", "lead_weeks"))


def check_availability(inputs: Inputs, t: dict) -> Worst:
    """eq 7: regional FTE <= availability (a missing row = 0), from week plan_from_week on (a history
    week's headcount happened)."""
    plan = regional_plan(inputs, t)
    avail = inputs.availability.set_index(["source", "region", "week"])["fte"]
    cap = avail.reindex(pd.MultiIndex.from_frame(plan[["unit", "region", "week"]])).fillna(0.0).to_numpy()
    return worst(np.where(past(inputs, plan), 0.0, le(plan["fte"], cap)), plan[["scenario", "week", "region", "unit"]])


def check_cohort_lock_in(inputs: Inputs, t: dict) -> Worst:
    """eq 8: FTE[t] >= onboarded in the last min_term_weeks weeks, from week plan_from_week on (the
    history's cohorts count)."""
    plan = regional_plan(inputs, t).sort_values(["scenario", "unit", "region", "week"])
    term = plan["unit"].map(inputs.sources["min_term_weeks"]).to_numpy(int)
    keys = ["scenario", "unit", "region"]
    total = plan.groupby(keys)["onboarded"].cumsum()   # onboarded up to each week, per unit
    recent = np.zeros(len(plan))
    for m in np.unique(term[term > 0]):
        # onboarded in the last m weeks: the running total less its value m weeks before
        before = total.groupby([plan[k] for k in keys]).shift(int(m)).fillna(0.0).to_numpy()
        recent = np.where(term == m, total.to_numpy() - before, recent)
    return worst(np.where(past(inputs, plan), 0.0, le(recent, plan["fte"])),
                 plan[["scenario", "week", "region", "unit"]])


def check_regional_ramp(inputs: Inputs, t: dict) -> Worst:
    """eq 9: onboarded <= max_increase_per_week of the source, per region and week (not the
    history's onboarding: it happened)."""
    plan = regional_plan(inputs, t)
    cap = limit(plan["unit"].map(inputs.sources["max_increase_per_week"]))
    return worst(np.where(history_fixed(inputs, plan), 0.0, le(plan["onboarded"], cap)),
                  labels(plan, ["scenario", "week", "region", "unit"], inputs, "sources", "max_increase_per_week"))


STOCK_CHECK = Check("regional stock", "6", check_regional_stock)
LEAD_CHECK = Check("regional lead time", "6", check_regional_lead)
AVAILABILITY_CHECK = Check("availability", "7", check_availability)
COHORT_CHECK = Check("cohort lock-in", "8", check_cohort_lock_in)
RAMP_CHECK = Check("regional ramp", "9", check_regional_ramp)


STOCK = FamilySpec(
    BLOCK, "stock", "6", "==", "regional stock",
    "F[s,r,t] = F[s,r,t-1] + O[s,r,t] - X[s,r,t], F[s,r,0] = 0",
    r"F_{s,r,t,w} = F_{s,r,t-1,w} + O_{s,r,t,w} - X_{s,r,t,w}",
    "Regional headcount carries over from week to week: it changes only by onboarding and exits.", (), checks=(STOCK_CHECK,))
LEAD = FamilySpec(
    BLOCK, "lead", "6", "==", "regional lead time", "O[s,r,t] = 0 for t < 1 + lead_weeks",
    r"O_{s,r,t,w} = 0 \quad (t < 1 + \ell_s)",
    "Nobody can start before the source's lead time (recruitment, vetting) has passed.",
    ("sources.lead_weeks",), bound=True, checks=(LEAD_CHECK,))
AVAILABILITY = FamilySpec(
    BLOCK, "availability", "7", "<=", "availability", "F[s,r,t,w] <= avail[s,r,t]",
    r"F_{s,r,t,w} \le a_{s,r,t}",
    "A region cannot field more of a source than the availability sheet allows that week (a missing row "
    "means none): when redeployed staff are recalled, exits are forced.",
    ("availability.<week>",), bound=True, slack_unit="FTE", broken="more staff needed than available",
    remedy="availability", remedy_inputs="availability (sheet availability)", cells=_cells(), checks=(AVAILABILITY_CHECK,))
COHORT = FamilySpec(
    BLOCK, "cohort", "8", ">=", "cohort lock-in",
    "F[s,r,t] >= sum of O[s,r,tau] for tau in t-min_term_weeks+1..t",
    r"F_{s,r,t,w} \ge \sum_{\tau = t - m_s + 1}^{t} O_{s,r,\tau,w}",
    "Staff onboarded stay at least min_term_weeks: headcount never falls below the recent intake.",
    ("sources.min_term_weeks",), slack_unit="FTE", broken="cohort would have to leave before its "
    "min_term_weeks", remedy="min_term_weeks", remedy_inputs="cohort terms (sources min_term_weeks)",
    cells=_cells("min_term_weeks"), checks=(COHORT_CHECK,))
RAMP = FamilySpec(
    BLOCK, "ramp", "9", "<=", "regional ramp", "O[s,r,t] <= max_increase_per_week",
    r"O_{s,r,t,w} \le \Delta^{+}_s",
    "A region can onboard at most max_increase_per_week of a source a week.",
    ("sources.max_increase_per_week",), bound=True, slack_unit="FTE",
    broken="more onboarded than max_increase_per_week", remedy="max_increase_per_week",
    remedy_inputs="regional ramps (sources max_increase_per_week)", cells=_cells("max_increase_per_week"), checks=(RAMP_CHECK,))

FAMILIES = (STOCK, LEAD, AVAILABILITY, COHORT, RAMP)


def build(ctx: Context) -> None:
    """The rows of this module's families (see FAMILIES above)."""
    ix = ctx.ix
    rg = ix.regional
    lv = VAR_LEVELS["F"]
    n = len(rg)
    if n == 0:
        return
    rows = np.arange(n)
    fpos = np.arange(n)
    prev_pos = ctx.pos("F", rg[lv].assign(week=rg["week"] - 1), lv)

    # eq 6: F[t] = F[t-1] + O[t] - X[t], F[0] = 0
    ctx.add_rows(STOCK, rg, lv, [
        ("F", rows, fpos, 1.0), ("F", rows, prev_pos, -1.0),
        ("O", rows, fpos, -1.0), ("X", rows, fpos, 1.0)], 0.0)

    # eq 8: F[t] >= sum O[tau], tau = t-min_term+1..t; from week T on (a history week is what happened;
    # the history's cohorts count in the weeks from T: models/README.md#history)
    mt = rg["source"].map(ix.sources["min_term_weeks"]).to_numpy(dtype=int)
    sel = np.nonzero((mt >= 1) & (rg["week"].to_numpy() >= ix.T))[0]
    if len(sel):
        sub = rg.iloc[sel].reset_index(drop=True)
        msub = mt[sel]
        rep = np.repeat(np.arange(len(sub)), msub)
        lag = np.arange(len(rep)) - np.repeat(np.cumsum(msub) - msub, msub)
        q = sub.iloc[rep][lv].reset_index(drop=True)
        q["week"] = q["week"].to_numpy() - lag
        opos = ctx.pos("O", q, lv)
        ctx.add_rows(COHORT, sub, lv, [
            ("F", np.arange(len(sub)), fpos[sel], 1.0), ("O", rep, opos, -1.0)], 0.0)

    if ctx.elastic:
        sel = np.nonzero(rg["week"].to_numpy() >= ix.T)[0]   # eq 7 from T on (history weeks happened)
        av = rg["avail"].to_numpy(dtype=float)
        ctx.add_rows(AVAILABILITY, rg.iloc[sel], lv, [("F", np.arange(len(sel)), fpos[sel], 1.0)], av[sel])
        oub = rg["o_ub"].to_numpy()
        sel = np.nonzero((oub > 0) & np.isfinite(oub) & np.isnan(rg["fix_O"].to_numpy(dtype=float)))[0]
        ctx.add_rows(RAMP, rg.iloc[sel], lv, [("O", np.arange(len(sel)), fpos[sel], 1.0)], oub[sel])
