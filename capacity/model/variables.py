"""The decision variables, on the top model, with formulation.md's names.

Bounds that are simple per-variable limits are set here (see
models/README.md#bounds): eq 2 and eq 6 lead times (Ninc/O fixed at 0),
eq 5 and eq 9 ramps, eq 7 availability. In the elastic model the ramps and
availability become penalised rows instead (regional.py / contracts.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from . import history as hist
from . import risk
from .core import Context
from .index import VAR_LEVELS


def add_variables(ctx: Context, fixed: dict | None = None) -> None:
    ix, m = ctx.ix, ctx.m
    con = ix.contracts
    fixed = fixed or {}

    # first stage: y (binary, signed -> 1), L
    ctx.add_var("y", con, ["contract"], domain=pyo.Binary, doc="contract signed (eq 3)")
    ctx.add_var("L", con, ["contract"], doc="committed level for the initial term (eq 4)")
    for c, status, mt in zip(con["contract"], con["status"], con["min_term_weeks"]):
        if status == "signed":
            m.y[c].fix(1)
        if int(mt) == 0:
            m.L[c].fix(0)          # eq 4: L = 0 when min_term_weeks = 0
    # v2 section 1 (history.py): a contract the history staffs is signed; its term's level is the history's
    inputs = ctx.inputs
    if inputs is not None:
        for c in hist.staffed_contracts(inputs):
            m.y[c].fix(1)
        for c, level in hist.term_levels(inputs).items():
            m.L[c].fix(level)
    for c, v in fixed.get("y", {}).items():
        m.y[c].fix(int(round(v)))
    for c, v in fixed.get("L", {}).items():
        m.L[c].fix(float(v))

    cw = ix.contract_weeks
    el = ctx.elastic
    inc_ub = cw["inc_ub"].to_numpy()
    dec_ub = cw["dec_ub"].to_numpy()
    if el:  # ramps become elastic rows; the lead-time zeros stay bounds
        inc_ub = np.where(inc_ub == 0, 0.0, np.inf)
        dec_ub = np.full(len(cw), np.inf)
    lv = VAR_LEVELS["N"]
    ctx.add_var("N", cw, lv, doc="contract headcount")
    ctx.add_var("Ninc", cw, lv, ub=inc_ub, doc="contract increase (eq 2 lead, eq 5 ramp)")
    ctx.add_var("Ndec", cw, lv, ub=dec_ub, doc="contract decrease (eq 5 ramp)")

    rg = ix.regional
    lv = VAR_LEVELS["F"]
    o_ub = rg["o_ub"].to_numpy()
    f_ub = rg["f_ub"].to_numpy()
    if el:
        lead0 = rg["week"].to_numpy() < ix.T + rg["source"].map(
            dict(zip(ix.sources.index, ix.sources["lead_weeks"]))).to_numpy(dtype=int)
        o_ub = np.where(lead0 & rg["fix_O"].isna().to_numpy(), 0.0, np.inf)
        f_ub = np.full(len(rg), np.inf)
    ctx.add_var("F", rg, lv, ub=f_ub, doc="regional headcount (eq 7 availability)")
    ctx.add_var("O", rg, lv, ub=o_ub, doc="onboarded (eq 6 lead, eq 9 ramp)")
    ctx.add_var("X", rg, lv, doc="exits")

    # v2 section 1: the history's values, fixed in every scenario (history.py)
    _fix_at(ctx, "N", cw["fix_N"].to_numpy(dtype=float))
    _fix_at(ctx, "O", rg["fix_O"].to_numpy(dtype=float))
    _fix_at(ctx, "X", rg["fix_X"].to_numpy(dtype=float))

    ctx.add_var("A", ix.work, VAR_LEVELS["A"], doc="attempted tasks")
    ctx.add_var("U", ix.unserved, VAR_LEVELS["U"], doc="unattempted tasks")

    # first-stage values of the scenario-indexed decisions (EEV): keyed without
    # the scenario, each value is fixed in every scenario
    for name in STAGE_ONE_VARS:
        if fixed.get(name):
            _fix_every_scenario(ctx, name, fixed[name])

    # v2 section 4: eta and z of the CVaR, when settings.risk_weight > 0 (risk.py)
    risk.add_variables(ctx)


def _fix_at(ctx: Context, name: str, values: np.ndarray) -> None:
    """Fix variable ``name`` where ``values`` (one per variable, in its order) is not NaN."""
    objs = ctx.objs[name]
    for pos in np.nonzero(~np.isnan(values))[0].tolist():
        objs[pos].fix(float(values[pos]))


# decisions that are first stage where t - lag < reveal_week (formulation.md eq 14)
STAGE_ONE_VARS = ("Ninc", "Ndec", "O", "X")


def _fix_every_scenario(ctx: Context, name: str, values: dict) -> None:
    """Fix ``name`` at ``values[key]`` in every scenario (key = levels without scenario)."""
    levels = [lv for lv in VAR_LEVELS[name] if lv != "scenario"]
    keys = list(values)
    query = pd.DataFrame([k if isinstance(k, tuple) else (k,) for k in keys], columns=levels)
    query["_value"] = np.maximum(np.asarray([values[k] for k in keys], dtype=float), 0.0)
    if "week" in query:
        query["week"] = query["week"].astype(int)
    got = query.merge(ctx.frames[name][levels + ["pos"]], on=levels, how="left")
    missing = got[got["pos"].isna() & (got["_value"] > 0)]
    if len(missing):
        raise ValueError(f"fixed {name}: no such variable for {tuple(missing.iloc[0][levels])}")
    got = got.dropna(subset=["pos"])
    objs = ctx.objs[name]
    for pos, value in zip(got["pos"].to_numpy(dtype=np.int64).tolist(), got["_value"].tolist()):
        objs[pos].fix(value)
