"""What each unit can do at most: a relaxation of eq 2-11 used by the pre-solve
checks (:mod:`.presolve`), with the phrases and input cells that say what caps a unit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from capacity.io.inputs import Inputs
from capacity.io.validate import is_blank

from .text import number

TOL = 1e-6


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


def targets(inputs: Inputs) -> pd.DataFrame:
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


def unit_reach(inputs: Inputs, lim: RegionalLimits, cl: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
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
def regional_limit_phrase(inputs: Inputs, lim: RegionalLimits, s: str, r: str, t: int) -> tuple[str, list]:
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
        return (f"supervised by {sup} at supervision_ratio {number(row['supervision_ratio'], 3)}, "
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
                   f"{number(a[w])} within that term")
        cells += [o.cell("sources", s, "min_term_weeks"), o.cell("availability", (s, r), w + 1)]
    if lim.trainer[i, j, k]:
        tr = row["trainer"]
        why.append(f"each needs {number(row['training_hours'])} training hours from {tr}")
        cells += [o.cell("sources", s, "trainer"), o.cell("sources", s, "training_hours")]
        ti = lim.sources.index(tr)
        if lim.has_row[ti, j]:
            cells.append(o.cell("availability", (tr, r), t))
    if lim.ramp[i, j, k]:
        why.append(f"max_increase_per_week {number(row['max_increase_per_week'])}")
        cells.append(o.cell("sources", s, "max_increase_per_week"))
    if not why:  # onboarding-limited by an earlier week's rule
        why.append("what can be onboarded by then")
    return "; ".join(why), cells


def contract_limit_phrase(inputs: Inputs, c: str, by: str) -> tuple[str, list]:
    o = inputs.origin
    if by == "committed_fte":
        return ("committed_fte for its initial term, shared by every region",
                [o.cell("contracts", c, "committed_fte"), o.cell("contracts", c, "min_term_weeks")])
    return "max_fte, shared by every region", [o.cell("contracts", c, "max_fte")]
