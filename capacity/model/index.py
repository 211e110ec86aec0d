"""Sparse index sets and coefficients, computed in pandas/NumPy.

Every variable and constraint row of the model is a row of one of the frames
here; Pyomo only ever sees the exact lists (no rule scans all combinations).
The sparsity choices are explained in models/README.md#sparsity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capacity.inputs import CONTRACTOR, Inputs

# index level names used throughout (and in SolveResult.values)
VAR_LEVELS = {
    "y": ["contract"],
    "L": ["contract"],
    "N": ["contract", "week", "scenario"],
    "Ninc": ["contract", "week", "scenario"],
    "Ndec": ["contract", "week", "scenario"],
    "F": ["source", "region", "week", "scenario"],
    "O": ["source", "region", "week", "scenario"],
    "X": ["source", "region", "week", "scenario"],
    "A": ["unit", "region", "work_type", "week", "scenario"],
    "U": ["region", "work_type", "week", "scenario"],
}


@dataclass
class ModelIndex:
    """The sparse index frames (one row per variable, in Pyomo order).

    - ``contracts``: contract -> source, status, y-related data (all contracts)
    - ``contract_weeks`` (N, Ninc, Ndec): contract, week, scenario, plus
      ``lock`` (eq 4 week), ``inc_ub``/``dec_ub`` (eq 2/5 bounds, inf = none)
    - ``regional`` (F, O, X): source, region, week, scenario, plus ``avail``
      (eq 7), ``o_ub`` (eq 6 lead / eq 9 ramp, inf = none)
    - ``work`` (A): unit, region, work_type, week, scenario, plus source,
      is_contract, a (hours/task), p, e, loss=(1-p)(1-e), esc_to, esc=(1-p)e
    - ``unserved`` (U): region, work_type, week, scenario, base demand ``d0``
    - ``hour_rows`` (eq 10 pairs): source, region (regional units and
      trainer/supervisor-only pairs)
    """

    contracts: pd.DataFrame
    contract_weeks: pd.DataFrame
    regional: pd.DataFrame
    work: pd.DataFrame
    unserved: pd.DataFrame
    hour_pairs: pd.DataFrame
    scenarios: list
    pi: dict
    H: float
    weeks: int
    sources: pd.DataFrame
    work_types: pd.DataFrame


def _isblank(x) -> bool:
    return x is None or (isinstance(x, float) and np.isnan(x)) or x is pd.NA or x == ""


def _topological(work_types: pd.DataFrame) -> list:
    """Work types so that every k' comes before esc(k')."""
    esc = {k: (None if _isblank(v) else v) for k, v in work_types["escalates_to"].items()}
    order, seen = [], set()

    def visit(k, stack=()):
        if k in seen:
            return
        if k in stack:
            raise ValueError(f"escalation cycle at {k}")
        for k2, tgt in esc.items():  # senders first
            if tgt == k:
                visit(k2, stack + (k,))
        seen.add(k)
        order.append(k)

    for k in esc:
        visit(k)
    return order


def _fill_inf(series) -> np.ndarray:
    arr = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    return np.where(np.isnan(arr), np.inf, arr)


def skill_terms(inputs: Inputs) -> pd.DataFrame:
    """Per skill row (source, work_type): hours per attempted task
    ``a = (m + h(1-p)e)/60``, success ``p``, escalation share ``e`` (0 where the
    work type does not escalate), ``loss = (1-p)(1-e)``, ``esc = (1-p)e`` and the
    escalation target ``esc_to`` (formulation.md, Parameters)."""
    sk = inputs.skills.reset_index()
    esc_map = {k: (None if _isblank(v) else v) for k, v in inputs.work_types["escalates_to"].items()}
    sk["esc_to"] = sk["work_type"].map(esc_map)
    p = sk["success_rate"].to_numpy(dtype=float)
    e = np.where(sk["esc_to"].isna().to_numpy(), 0.0, sk["escalation_share"].to_numpy(dtype=float))
    h = sk["handoff_minutes"].fillna(0).to_numpy(dtype=float)
    m = sk["minutes_per_task"].to_numpy(dtype=float)
    sk["p"] = p
    sk["e"] = e
    sk["a"] = (m + h * (1 - p) * e) / 60.0
    sk["loss"] = (1 - p) * (1 - e)
    sk["esc"] = (1 - p) * e
    return sk[["source", "work_type", "a", "p", "e", "loss", "esc", "esc_to"]]


def build_index(inputs: Inputs) -> ModelIndex:
    st = inputs.settings
    T = st.weeks
    weeks = np.arange(1, T + 1)
    scen = list(inputs.scenarios.index)
    pi = {w: float(p) for w, p in inputs.scenarios["probability"].items()}
    regions = list(inputs.regions.index)
    H = float(st.hours_per_fte_week * st.productive_share)
    wt = inputs.work_types
    src = inputs.sources
    kinds = src["kind"].to_dict()

    # ---- skills with coefficients -------------------------------------------------
    esc_map = {k: (None if _isblank(v) else v) for k, v in wt["escalates_to"].items()}
    sk = skill_terms(inputs)

    # ---- demand that can be positive (closure along escalation) -------------------
    dm = inputs.demand[["scenario", "region", "week", "cases"]].copy()
    dm["week"] = dm["week"].astype(int)
    # dense cases array [w, r, t]
    w_pos = {w: i for i, w in enumerate(scen)}
    r_pos = {r: i for i, r in enumerate(regions)}
    cases = np.zeros((len(scen), len(regions), T))
    cases[
        dm["scenario"].map(w_pos).to_numpy(),
        dm["region"].map(r_pos).to_numpy(),
        dm["week"].to_numpy() - 1,
    ] = dm["cases"].to_numpy(dtype=float)
    tpc = wt["tasks_per_case"].astype(float).to_dict()
    base = {k: cases * tpc[k] for k in wt.index}
    possible = {}
    for k in _topological(wt):
        pos = base[k] > 0
        for k2, tgt in esc_map.items():
            if tgt == k and (sk.loc[sk["work_type"] == k2, "esc"] > 0).any():
                pos = pos | possible[k2]
        possible[k] = pos
    # long frame of (region, work_type, week, scenario) with possible demand
    parts = []
    for k in wt.index:
        wi, ri, ti = np.nonzero(possible[k])
        if len(wi) == 0:
            continue
        parts.append(pd.DataFrame({
            "region": np.asarray(regions, dtype=object)[ri],
            "work_type": k,
            "week": ti + 1,
            "scenario": np.asarray(scen, dtype=object)[wi],
            "d0": base[k][wi, ri, ti],
            "_w": wi,
        }))
    if parts:
        unserved = pd.concat(parts, ignore_index=True)
    else:
        unserved = pd.DataFrame({"region": pd.Series([], dtype=object),
                                 "work_type": pd.Series([], dtype=object),
                                 "week": pd.Series([], dtype=int),
                                 "scenario": pd.Series([], dtype=object),
                                 "d0": pd.Series([], dtype=float), "_w": pd.Series([], dtype=int)})
    unserved["week"] = unserved["week"].astype(int)
    unserved = unserved.sort_values(["_w", "region", "work_type", "week"], kind="stable")
    unserved = unserved.drop(columns="_w").reset_index(drop=True)

    # ---- contracts -------------------------------------------------------------------
    con = inputs.contracts.copy()
    con.index.name = "contract"
    con = con.reset_index()
    con["committed_fte"] = pd.to_numeric(con["committed_fte"], errors="coerce")
    cw_parts = []
    for row in con.itertuples(index=False):
        ts = np.arange(int(row.start_week), int(row.end_week) + 1)
        n = len(ts)
        lead = int(row.lead_weeks)
        signed_committed = row.status == "signed" and not np.isnan(row.committed_fte)
        inc_ub = np.full(n, np.inf)
        max_inc = np.inf if _isblank(row.max_increase_per_week) else float(row.max_increase_per_week)
        max_dec = np.inf if _isblank(row.max_decrease_per_week) else float(row.max_decrease_per_week)
        inc_ub[ts > row.start_week] = max_inc                     # eq 5
        lead_block = ts < 1 + lead                                # eq 2
        if signed_committed:
            lead_block &= ts != row.start_week
        inc_ub[lead_block] = 0.0
        dec_ub = np.full(n, np.inf)
        dec_ub[ts >= row.start_week + int(row.min_term_weeks)] = max_dec  # eq 5
        lock = ts < row.start_week + int(row.min_term_weeks)      # eq 4
        df = pd.DataFrame({"contract": row.contract, "week": ts, "lock": lock,
                           "inc_ub": inc_ub, "dec_ub": dec_ub})
        cw_parts.append(df)
    if cw_parts:
        cw1 = pd.concat(cw_parts, ignore_index=True)
    else:
        cw1 = pd.DataFrame({"contract": pd.Series([], dtype=object),
                            "week": pd.Series([], dtype=int), "lock": pd.Series([], dtype=bool),
                            "inc_ub": pd.Series([], dtype=float),
                            "dec_ub": pd.Series([], dtype=float)})
    contract_weeks = _cross_scen(cw1, scen)

    # ---- regional units ------------------------------------------------------------------
    av = inputs.availability[["source", "region", "week", "fte"]].copy()
    av = av[av["source"].map(kinds) != CONTRACTOR]
    pos_pairs = av.loc[av["fte"] > 0, ["source", "region"]].drop_duplicates()
    # keep source order then region order of the inputs
    s_order = {s: i for i, s in enumerate(src.index)}
    pos_pairs = pos_pairs.assign(_s=pos_pairs["source"].map(s_order),
                                 _r=pos_pairs["region"].map(r_pos))
    pos_pairs = pos_pairs.sort_values(["_s", "_r"]).drop(columns=["_s", "_r"])
    units = pos_pairs.reset_index(drop=True)
    ru = units.merge(pd.DataFrame({"week": weeks}), how="cross")
    ru = ru.merge(av[["source", "region", "week", "fte"]], on=["source", "region", "week"],
                  how="left")
    ru["avail"] = ru["fte"].fillna(0.0).astype(float)
    ru = ru.drop(columns="fte")
    lead = ru["source"].map(src["lead_weeks"]).to_numpy(dtype=int)
    o_ub = _fill_inf(ru["source"].map(src["max_increase_per_week"]))   # eq 9
    o_ub = np.where(ru["week"].to_numpy() < 1 + lead, 0.0, o_ub)         # eq 6 lead
    ru["o_ub"] = o_ub
    regional = _cross_scen(ru, scen)

    # ---- eq 10 rows: units plus trainer/supervisor-only pairs ------------------------
    hp = [units.assign(_own=True)]
    for col, amount in (("trainer", "training_hours"), ("supervisor", "supervision_ratio")):
        deps = src[[col, amount]].copy()
        deps = deps[deps[col].map(lambda x: not _isblank(x)) & (deps[amount] > 0)]
        if len(deps):
            d = units.merge(deps.rename_axis("dep").reset_index(), left_on="source",
                            right_on="dep")
            hp.append(pd.DataFrame({"source": d[col], "region": d["region"], "_own": False}))
    hour_pairs = pd.concat(hp, ignore_index=True).drop_duplicates(["source", "region"])
    hour_pairs = hour_pairs.reset_index(drop=True)

    # ---- work (A) ------------------------------------------------------------------------
    work_parts = []
    if len(con):
        csk = con[["contract", "source", "start_week", "end_week"]].merge(sk, on="source")
        cA = csk.merge(unserved[["region", "work_type", "week", "scenario"]], on="work_type")
        cA = cA[(cA["week"] >= cA["start_week"]) & (cA["week"] <= cA["end_week"])]
        cA = cA.rename(columns={"contract": "unit"}).drop(columns=["start_week", "end_week"])
        cA["is_contract"] = True
        work_parts.append(cA)
    rsk = ru[ru["avail"] > 0][["source", "region", "week"]].merge(sk, on="source")
    rA = rsk.merge(unserved[["region", "work_type", "week", "scenario"]],
                   on=["region", "work_type", "week"])
    rA["unit"] = rA["source"]
    rA["is_contract"] = False
    work_parts.append(rA)
    work = pd.concat(work_parts, ignore_index=True)
    cols = ["unit", "region", "work_type", "week", "scenario", "source", "is_contract",
            "a", "p", "e", "loss", "esc", "esc_to"]
    work = work[cols]
    # order: scenario, unit (contracts first), region, work_type, week
    u_order = {u: i for i, u in enumerate(list(con["contract"]) + list(src.index))}
    work = work.assign(_w=work["scenario"].map(w_pos), _u=work["unit"].map(u_order),
                       _r=work["region"].map(r_pos))
    work = work.sort_values(["_w", "_u", "_r", "work_type", "week"], kind="stable")
    work = work.drop(columns=["_w", "_u", "_r"]).reset_index(drop=True)
    work["week"] = work["week"].astype(int)
    work["is_contract"] = work["is_contract"].astype(bool)

    return ModelIndex(
        contracts=con,
        contract_weeks=contract_weeks,
        regional=regional,
        work=work,
        unserved=unserved,
        hour_pairs=hour_pairs,
        scenarios=scen,
        pi=pi,
        H=H,
        weeks=T,
        sources=src,
        work_types=wt,
    )


def _cross_scen(df: pd.DataFrame, scen: list) -> pd.DataFrame:
    """df x scenarios, scenario-major (all of scenario 1, then 2, ...)."""
    parts = [df.assign(scenario=w) for w in scen]
    out = pd.concat(parts, ignore_index=True) if parts else df.assign(scenario=[])
    if "week" in out:
        out["week"] = out["week"].astype(int)
    return out
