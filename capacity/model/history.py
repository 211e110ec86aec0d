"""What the history fixes (v2 section 1): ``settings.plan_from_week`` T and sheet ``history``.

Computed in pandas/NumPy from the validated inputs alone, for the index
(:mod:`.index`: which values are fixed, which bounds no longer apply), the
variables (:mod:`.variables`: ``fix()``), the objective (:mod:`.objective`:
what is sunk) and the audit (:mod:`capacity.analysis.checks`: the history
re-checked as fixed decisions). See models/README.md#history.

- Weeks ``t < T``: ``N[c,t]`` and ``O``/``X`` of every regional unit are fixed
  in every scenario to the history (no row = 0); ``F`` follows from the stock
  rows (eq 6), which the validated history satisfies.
- Weeks ``t >= T`` with a row: ``O``/``X`` (regional, blank = 0) or ``N``
  (contract) fixed in every scenario; nothing else about those weeks.
- A history value is a fact, not a decision: the bounds on the decisions
  (lead times, ramps, availability of weeks < T) do not apply to it. The lead
  time applies from T instead of week 1: a decision taking effect in week
  ``t < T + lead`` would have been taken before T, so it is what the history
  says (no row: none). With T = 1 and no history this is version 1 exactly.
- A contract staffed by the history (a row with fte > 0) is signed (``y = 1``);
  a level of its initial term fixes ``L`` (and the term's history weeks take
  that one level: validation allows a difference of at most
  :data:`capacity.io.validate.history.TOL`).
- A contract's fixed cost is sunk when its start_week < T and it is signed (by
  its status or by the history); every cost of weeks < T is sunk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.io.inputs import Inputs

#: a history fte above this counts as staffed (validation's tolerance)
STAFFED = 1e-6

HISTORY = "history"
PLAN = "plan"


def plan_from(inputs: Inputs) -> int:
    return int(getattr(inputs.settings, "plan_from_week", 1) or 1)


def phase(weeks, T: int) -> np.ndarray:
    """'history' for weeks < T, 'plan' from T on (the ``phase`` column of the output tables)."""
    return np.where(np.asarray(weeks, dtype=int) < T, HISTORY, PLAN).astype(object)


def contract_rows(inputs: Inputs) -> pd.DataFrame:
    """The history's contract rows: contract, week, fte."""
    h = inputs.history
    sel = h[h["unit"].isin(inputs.contracts.index) & (h["region"].fillna("") == "")]
    return sel.rename(columns={"unit": "contract"})[["contract", "week", "fte"]].reset_index(drop=True)


def regional_rows(inputs: Inputs) -> pd.DataFrame:
    """The history's regional rows: source, region, week, fte, onboarded, exits."""
    h = inputs.history
    sel = h[~h["unit"].isin(inputs.contracts.index) & (h["region"].fillna("") != "")]
    return sel.rename(columns={"unit": "source"})[["source", "region", "week", "fte", "onboarded", "exits"]] \
        .reset_index(drop=True)


def staffed_contracts(inputs: Inputs) -> set:
    """Contracts the history staffs (fte > 0 in some row): signed (y = 1)."""
    c = contract_rows(inputs)
    return set(c.loc[c["fte"] > STAFFED, "contract"])


def signed_contracts(inputs: Inputs) -> set:
    """Signed by the input's status or by the history."""
    con = inputs.contracts
    return set(con.index[con["status"] == "signed"]) | staffed_contracts(inputs)


def sunk_fixed_contracts(inputs: Inputs) -> set:
    """Contracts whose fixed cost is sunk: start_week < T and signed (status or history)."""
    T = plan_from(inputs)
    con = inputs.contracts
    early = set(con.index[con["start_week"].to_numpy(dtype=int) < T])
    return early & signed_contracts(inputs)


def term_levels(inputs: Inputs) -> dict:
    """contract -> the one level of its initial term the history gives (committed_fte when given),
    for contracts signed whose term has a history week (a row, or a week < T: no row = 0)."""
    T = plan_from(inputs)
    rows = contract_rows(inputs)
    signed = signed_contracts(inputs)
    out = {}
    for c, r in inputs.contracts.iterrows():
        if c not in signed or int(r["min_term_weeks"]) == 0:
            continue
        start, end = int(r["start_week"]), int(r["end_week"])
        last = min(start + int(r["min_term_weeks"]) - 1, end)
        mine = rows[(rows["contract"] == c) & (rows["week"] >= start) & (rows["week"] <= last)]
        if len(mine) == 0 and start >= T:
            continue
        if not np.isnan(float(r["committed_fte"])):
            out[c] = float(r["committed_fte"])
        elif len(mine):
            out[c] = float(mine.sort_values("week")["fte"].iloc[0])
        else:
            out[c] = 0.0   # a term week before T with no row: nobody
    return out


def contract_fixing(inputs: Inputs, cw: pd.DataFrame) -> np.ndarray:
    """Per row of the contract-week frame (contract, week, no scenario): the history's N (NaN = free).

    Weeks < T: the row's fte or 0; weeks >= T: the row's fte where there is one. Inside an initial
    term with a history level, that one level; clipped into [min_fte (signed, in the window), max_fte]
    (validation allows at most its tolerance outside)."""
    T = plan_from(inputs)
    rows = contract_rows(inputs)
    got = rows.groupby(["contract", "week"])["fte"].first()
    idx = pd.MultiIndex.from_frame(cw[["contract", "week"]])
    fix = got.reindex(idx).to_numpy(dtype=float)
    week = cw["week"].to_numpy(dtype=int)
    fix = np.where(np.isnan(fix) & (week < T), 0.0, fix)
    con = inputs.contracts
    start = cw["contract"].map(con["start_week"]).to_numpy(dtype=int)
    term = cw["contract"].map(con["min_term_weeks"]).to_numpy(dtype=int)
    levels = term_levels(inputs)
    level = cw["contract"].map(levels).to_numpy(dtype=float)
    in_term = (week < start + term) & ~np.isnan(level) & ~np.isnan(fix)
    fix = np.where(in_term, level, fix)
    signed = cw["contract"].isin(signed_contracts(inputs)).to_numpy()
    lo = np.where(signed, cw["contract"].map(con["min_fte"]).to_numpy(dtype=float), 0.0)
    hi = cw["contract"].map(con["max_fte"]).to_numpy(dtype=float)
    return np.where(np.isnan(fix), np.nan, np.clip(fix, lo, hi))


def regional_fixing(inputs: Inputs, ru: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of the regional frame (source, region, week): the history's (O, X, F), NaN = not fixed.

    O and X are fixed for every week < T (no row = 0) and for weeks >= T with a row; F is the
    history's headcount of weeks < T (it follows from the stock rows; used for the work index)."""
    T = plan_from(inputs)
    rows = regional_rows(inputs)
    got = rows.groupby(["source", "region", "week"])[["fte", "onboarded", "exits"]].first()
    idx = pd.MultiIndex.from_frame(ru[["source", "region", "week"]])
    vals = got.reindex(idx)
    past = ru["week"].to_numpy(dtype=int) < T
    has = vals["fte"].notna().to_numpy()
    fix_o = np.where(has, vals["onboarded"].to_numpy(dtype=float), np.where(past, 0.0, np.nan))
    fix_x = np.where(has, vals["exits"].to_numpy(dtype=float), np.where(past, 0.0, np.nan))
    hist_f = np.where(past, np.nan_to_num(vals["fte"].to_numpy(dtype=float)), np.nan)
    return fix_o, fix_x, hist_f


def history_units(inputs: Inputs) -> pd.DataFrame:
    """(source, region) pairs the history names (some with no availability at all)."""
    return regional_rows(inputs)[["source", "region"]].drop_duplicates().reset_index(drop=True)
