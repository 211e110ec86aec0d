"""Sparse index sets and coefficients, computed in pandas/NumPy.

Every variable and constraint row of the model is a row of one of the frames
here; Pyomo only ever sees the exact lists (no rule scans all combinations).
The sparsity choices are explained in models/README.md#sparsity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capacity.io.inputs import CONTRACTOR, Inputs
from capacity.io.validate import is_blank

from . import history as hist

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
    # v2 section 4, only when settings.risk_weight > 0 (capacity/model/risk.py)
    "eta": ["risk"],
    "z": ["scenario"],
}


@dataclass
class ModelIndex:
    """The sparse index frames (one row per variable, in Pyomo order).

    - ``contracts``: contract -> source, status, y-related data (all contracts)
    - ``contract_weeks`` (N, Ninc, Ndec): contract, week, scenario, plus
      ``lock`` (eq 4 week), ``inc_ub``/``dec_ub`` (eq 2/5 bounds, inf = none),
      ``fix_N`` (the history's N, NaN = free; v2 section 1, :mod:`.history`)
    - ``regional`` (F, O, X): source, region, week, scenario, plus ``avail``
      (eq 7), ``f_ub`` (F's bound: avail, none in a history week), ``o_ub``
      (eq 6 lead / eq 9 ramp, inf = none), ``fix_O``/``fix_X`` (the history's
      O and X, NaN = free) and ``hist_F`` (the history's F of weeks < T)
    - ``work`` (A): unit, region, work_type, week, scenario, plus source,
      is_contract, a (hours/task), p, e, loss=(1-p)(1-e), esc_to, esc=(1-p)e
    - ``unserved`` (U): region, work_type, week, scenario, base demand ``d0``
    - ``hour_pairs`` (eq 10 pairs): source, region (regional units and
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
    T: int = 1   # settings.plan_from_week: weeks < T are history


def escalation_targets(work_types: pd.DataFrame) -> dict:
    """work type -> the work type its failures escalate to (None: they do not)."""
    return {k: (None if is_blank(v) else v) for k, v in work_types["escalates_to"].items()}


def _topological(work_types: pd.DataFrame) -> list:
    """Work types so that every k' comes before esc(k')."""
    esc = escalation_targets(work_types)
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
    esc_map = escalation_targets(inputs.work_types)
    sk["esc_to"] = sk["work_type"].map(esc_map)
    p = sk["success_rate"].to_numpy(dtype=float)
    e = sk["escalation_share"].to_numpy(dtype=float)   # 0 without a target (io.validate.assemble)
    h = sk["handoff_minutes"].fillna(0).to_numpy(dtype=float)
    m = sk["minutes_per_task"].to_numpy(dtype=float)
    sk["p"] = p
    sk["e"] = e
    sk["a"] = (m + h * (1 - p) * e) / 60.0
    sk["loss"] = (1 - p) * (1 - e)
    sk["esc"] = (1 - p) * e
    return sk[["source", "work_type", "a", "p", "e", "loss", "esc", "esc_to"]]


def build_index(inputs: Inputs) -> ModelIndex:
    """Every sparse index set of the model, one function each (models/README.md#sparsity)."""
    st = inputs.settings
    scen = list(inputs.scenarios.index)
    regions = list(inputs.regions.index)
    sk = skill_terms(inputs)
    unserved = demand_index(inputs, sk, scen, regions)
    con = contract_table(inputs)
    T = hist.plan_from(inputs)
    contract_weeks = _cross_scen(contract_week_index(con, T, inputs), scen)
    units, ru = regional_index(inputs, regions)
    return ModelIndex(
        contracts=con,
        contract_weeks=contract_weeks,
        regional=_cross_scen(ru, scen),
        work=work_index(inputs, sk, con, ru, unserved, scen, regions),
        unserved=unserved,
        hour_pairs=hour_pair_index(inputs, units),
        scenarios=scen,
        pi={w: float(p) for w, p in inputs.scenarios["probability"].items()},
        H=float(st.hours_per_fte_week * st.productive_share),
        weeks=st.weeks,
        sources=inputs.sources,
        work_types=inputs.work_types,
        T=T,
    )


def _cases(inputs: Inputs, scen: list, regions: list) -> np.ndarray:
    """Dense cases array [scenario, region, week - 1]."""
    dm = inputs.demand
    w_pos = {w: i for i, w in enumerate(scen)}
    r_pos = {r: i for i, r in enumerate(regions)}
    cases = np.zeros((len(scen), len(regions), inputs.settings.weeks))
    cases[dm["scenario"].map(w_pos).to_numpy(), dm["region"].map(r_pos).to_numpy(),
          dm["week"].astype(int).to_numpy() - 1] = dm["cases"].to_numpy(dtype=float)
    return cases


def demand_index(inputs: Inputs, sk: pd.DataFrame, scen: list, regions: list) -> pd.DataFrame:
    """U and eq 12 rows: (region, work_type, week, scenario) where demand can be positive
    (base demand, or escalated failures of a work type that can have demand), with base demand d0."""
    wt = inputs.work_types
    esc_map = escalation_targets(wt)
    cases = _cases(inputs, scen, regions)
    tpc = wt["tasks_per_case"].astype(float).to_dict()
    base = {k: cases * tpc[k] for k in wt.index}
    possible = {}
    for k in _topological(wt):
        pos = base[k] > 0
        for k2, tgt in esc_map.items():
            if tgt == k and (sk.loc[sk["work_type"] == k2, "esc"] > 0).any():
                pos = pos | possible[k2]
        possible[k] = pos
    parts = []
    for k in wt.index:
        wi, ri, ti = np.nonzero(possible[k])
        parts.append(pd.DataFrame({
            "region": np.asarray(regions, dtype=object)[ri], "work_type": np.full(len(wi), k, dtype=object),
            "week": ti + 1, "scenario": np.asarray(scen, dtype=object)[wi], "d0": base[k][wi, ri, ti],
            "_w": wi}))
    unserved = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        {"region": [], "work_type": [], "week": [], "scenario": [], "d0": [], "_w": []})
    unserved = unserved.astype({"region": object, "work_type": object, "scenario": object, "d0": float})
    unserved["week"] = unserved["week"].astype(int)
    unserved = unserved.sort_values(["_w", "region", "work_type", "week"], kind="stable")
    return unserved.drop(columns="_w").reset_index(drop=True)


def contract_table(inputs: Inputs) -> pd.DataFrame:
    """The contracts sheet as a frame with a ``contract`` column (committed_fte numeric)."""
    con = inputs.contracts.copy()
    con.index.name = "contract"
    con = con.reset_index()
    con["committed_fte"] = pd.to_numeric(con["committed_fte"], errors="coerce")
    return con


def contract_week_index(con: pd.DataFrame, T: int = 1, inputs: Inputs | None = None) -> pd.DataFrame:
    """(contract, week) for the weeks of each contract's window, with the eq 4 ``lock`` flag,
    the eq 2/5 bounds ``inc_ub``/``dec_ub`` (inf = none) and the history's ``fix_N`` (NaN = free).

    The lead time counts from T (:mod:`.history`): no increase before week T + lead_weeks, except
    the pre-arranged committed level of a signed contract at its start_week and what the history
    fixes (a history week has no lead or ramp bound: it happened)."""
    cw_parts = []
    for row in con.itertuples(index=False):
        ts = np.arange(int(row.start_week), int(row.end_week) + 1)
        max_inc = np.inf if is_blank(row.max_increase_per_week) else float(row.max_increase_per_week)
        max_dec = np.inf if is_blank(row.max_decrease_per_week) else float(row.max_decrease_per_week)
        inc_ub = np.where(ts > row.start_week, max_inc, np.inf)               # eq 5
        lead_block = ts < T + int(row.lead_weeks)                              # eq 2 (T = 1: week 1)
        if row.status == "signed" and not np.isnan(row.committed_fte):
            lead_block &= ts != row.start_week
        inc_ub[lead_block] = 0.0
        dec_ub = np.where(ts >= row.start_week + int(row.min_term_weeks), max_dec, np.inf)  # eq 5
        lock = ts < row.start_week + int(row.min_term_weeks)                   # eq 4
        cw_parts.append(pd.DataFrame({"contract": row.contract, "week": ts, "lock": lock,
                                      "inc_ub": inc_ub, "dec_ub": dec_ub}))
    if cw_parts:
        cw = pd.concat(cw_parts, ignore_index=True)
    else:
        cw = pd.DataFrame({"contract": pd.Series([], dtype=object), "week": pd.Series([], dtype=int),
                           "lock": pd.Series([], dtype=bool), "inc_ub": pd.Series([], dtype=float),
                           "dec_ub": pd.Series([], dtype=float)})
    fix = hist.contract_fixing(inputs, cw) if inputs is not None and len(cw) else np.full(len(cw), np.nan)
    cw["fix_N"] = fix
    fixed = ~np.isnan(fix)
    cw.loc[fixed, "inc_ub"] = np.inf
    cw.loc[fixed, "dec_ub"] = np.inf
    return cw


def regional_index(inputs: Inputs, regions: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Regional units (source, region) with some availability, and their weeks with
    ``avail`` (eq 7) and the onboarding bound ``o_ub`` (eq 6 lead, eq 9 ramp; inf = none)."""
    src = inputs.sources
    av = inputs.availability[["source", "region", "week", "fte"]]
    av = av[av["source"].map(src["kind"]) != CONTRACTOR]
    pairs = pd.concat([av.loc[av["fte"] > 0, ["source", "region"]], hist.history_units(inputs)]).drop_duplicates()
    s_order = {s: i for i, s in enumerate(src.index)}
    r_order = {r: i for i, r in enumerate(regions)}
    pairs = pairs.assign(_s=pairs["source"].map(s_order), _r=pairs["region"].map(r_order))
    units = pairs.sort_values(["_s", "_r"]).drop(columns=["_s", "_r"]).reset_index(drop=True)
    ru = units.merge(pd.DataFrame({"week": np.arange(1, inputs.settings.weeks + 1)}), how="cross")
    ru = ru.merge(av, on=["source", "region", "week"], how="left")
    ru["avail"] = ru["fte"].fillna(0.0).astype(float)
    ru = ru.drop(columns="fte")
    lead = ru["source"].map(src["lead_weeks"]).to_numpy(dtype=int)
    T = hist.plan_from(inputs)
    o_ub = _fill_inf(ru["source"].map(src["max_increase_per_week"]))   # eq 9
    ru["o_ub"] = np.where(ru["week"].to_numpy() < T + lead, 0.0, o_ub)  # eq 6 lead (from T: .history)
    fix_o, fix_x, hist_f = hist.regional_fixing(inputs, ru)
    ru["fix_O"], ru["fix_X"], ru["hist_F"] = fix_o, fix_x, hist_f
    ru.loc[~np.isnan(fix_o), "o_ub"] = np.inf      # a fact: no lead or ramp bound
    ru["f_ub"] = np.where(ru["week"].to_numpy() < T, np.inf, ru["avail"].to_numpy())  # eq 7 from T on
    return units, ru


def hour_pair_index(inputs: Inputs, units: pd.DataFrame) -> pd.DataFrame:
    """Eq 10 rows: the regional units plus (trainer or supervisor, region) pairs of their dependants."""
    src = inputs.sources
    hp = [units.assign(_own=True)]
    for col, amount in (("trainer", "training_hours"), ("supervisor", "supervision_ratio")):
        deps = src[[col, amount]]
        deps = deps[deps[col].map(lambda x: not is_blank(x)) & (deps[amount] > 0)]
        if len(deps):
            d = units.merge(deps.rename_axis("dep").reset_index(), left_on="source", right_on="dep")
            hp.append(pd.DataFrame({"source": d[col], "region": d["region"], "_own": False}))
    return pd.concat(hp, ignore_index=True).drop_duplicates(["source", "region"]).reset_index(drop=True)


def work_index(inputs: Inputs, sk: pd.DataFrame, con: pd.DataFrame, ru: pd.DataFrame, unserved: pd.DataFrame,
               scen: list, regions: list) -> pd.DataFrame:
    """A rows: contracts in their window (every region) and regional units with availability,
    for each work type they have a skill row for, where demand can be positive."""
    parts = []
    keys = unserved[["region", "work_type", "week", "scenario"]]
    if len(con):
        cA = con[["contract", "source", "start_week", "end_week"]].merge(sk, on="source").merge(keys, on="work_type")
        cA = cA[(cA["week"] >= cA["start_week"]) & (cA["week"] <= cA["end_week"])]
        cA = cA.rename(columns={"contract": "unit"}).drop(columns=["start_week", "end_week"])
        parts.append(cA.assign(is_contract=True))
    past = ru["week"].to_numpy() < hist.plan_from(inputs)     # a history week: who was in post works
    able = np.where(past, ru["hist_F"].fillna(0.0).to_numpy() > 0, ru["avail"].to_numpy() > 0)
    rA = ru[able][["source", "region", "week"]].merge(sk, on="source").merge(
        keys, on=["region", "work_type", "week"])
    parts.append(rA.assign(unit=rA["source"], is_contract=False))
    cols = ["unit", "region", "work_type", "week", "scenario", "source", "is_contract",
            "a", "p", "e", "loss", "esc", "esc_to"]
    work = pd.concat(parts, ignore_index=True)[cols]
    # order: scenario, unit (contracts first), region, work_type, week
    order = {name: {v: i for i, v in enumerate(vals)} for name, vals in
             (("scenario", scen), ("unit", list(con["contract"]) + list(inputs.sources.index)), ("region", regions))}
    work = work.assign(_w=work["scenario"].map(order["scenario"]), _u=work["unit"].map(order["unit"]),
                       _r=work["region"].map(order["region"]))
    work = work.sort_values(["_w", "_u", "_r", "work_type", "week"], kind="stable")
    work = work.drop(columns=["_w", "_u", "_r"]).reset_index(drop=True)
    return work.astype({"week": int, "is_contract": bool})


def _cross_scen(df: pd.DataFrame, scen: list) -> pd.DataFrame:
    """df x scenarios, scenario-major (all of scenario 1, then 2, ...)."""
    parts = [df.assign(scenario=w) for w in scen]
    out = pd.concat(parts, ignore_index=True) if parts else df.assign(scenario=[])
    if "week" in out:
        out["week"] = out["week"].astype(int)
    return out
