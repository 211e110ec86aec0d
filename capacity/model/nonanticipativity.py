"""Non-anticipativity, formulation.md eq 14 (block ``nonanticipativity``).

See models/README.md#eq-14. A decision taking effect in week t with lag l is
taken in week t-l; while t - l < reveal_week the scenario is unknown, so the
decision is equal in every scenario: each scenario's value is tied to the
first scenario's (row order of the scenarios sheet). Rows where the variable
is fixed at 0 in every scenario anyway (lead time) are omitted.
"""

from __future__ import annotations

import numpy as np

from capacity.io.inputs import Inputs

from .core import Context
from .family import FamilySpec
from .index import VAR_LEVELS
from .recheck import Check, Worst, is_contract, scenarios, worst

BLOCK = "nonanticipativity"
_LAGS = {"Ninc": ("contracts.lead_weeks", "contract increases"), "Ndec": ("contracts.notice_weeks", "contract decreases"),
         "O": ("sources.lead_weeks", "onboarding"), "X": ("sources.notice_weeks", "exits")}


# ---- audit check: the rule re-checked from the result tables and the input alone
def check_non_anticipativity(inputs: Inputs, t: dict) -> Worst:
    """eq 14: a decision taken before the reveal week is the same in every scenario."""
    plan = scenarios(t["plan"])
    reveal = inputs.settings.reveal_week
    contract = is_contract(inputs, plan)
    lead = np.where(contract, plan["unit"].map(inputs.contracts["lead_weeks"]),
                    plan["unit"].map(inputs.sources["lead_weeks"])).astype(float)
    notice = np.where(contract, plan["unit"].map(inputs.contracts["notice_weeks"]),
                      plan["unit"].map(inputs.sources["notice_weeks"])).astype(float)
    wk = plan["week"].to_numpy(float)
    viol = np.zeros(len(plan))
    for column, lag in (("onboarded", lead), ("exits", notice)):
        first_stage = wk - lag < reveal
        g = plan.groupby(["unit", "region", "week"])[column]
        high = g.transform("max").to_numpy(dtype=float)
        spread = high - g.transform("min").to_numpy(dtype=float)
        scale = np.maximum(1.0, np.abs(high))
        viol = np.maximum(viol, np.where(first_stage, spread / scale, 0.0))
    return worst(viol, plan[["week", "region", "unit"]])


CHECK = Check("non-anticipativity", "14", check_non_anticipativity)


def _spec(var: str) -> FamilySpec:
    lag, what = _LAGS[var]
    return FamilySpec(
        BLOCK, var, "14", "==", f"non-anticipativity of {what}",
        f"{var}[.,t,w] = {var}[.,t,w1] for every scenario w when t - lag < reveal_week (lag: {lag})",
        rf"{var}_{{\cdot,t,w}} = {var}_{{\cdot,t,w_1}} \quad (t - l < \rho)",
        f"{what.capitalize()} decided before the realised scenario is known (reveal_week) are the same in "
        "every scenario.", ("settings.reveal_week", lag), checks=(CHECK,))


FAMILIES = tuple(_spec(v) for v in _LAGS)
SPECS = {f.name: f for f in FAMILIES}


def build(ctx: Context) -> None:
    """The rows of eq 14 (see FAMILIES above)."""
    reveal_week = ctx.reveal_week
    ix = ctx.ix
    if len(ix.scenarios) < 2:
        return
    w0 = ix.scenarios[0]
    cw, rg = ix.contract_weeks, ix.regional
    con = ix.contracts.set_index("contract")
    src = ix.sources
    specs = [
        ("Ninc", cw, cw["contract"].map(con["lead_weeks"]), cw["inc_ub"].to_numpy() == 0),
        ("Ndec", cw, cw["contract"].map(con["notice_weeks"]), np.zeros(len(cw), dtype=bool)),
        ("O", rg, rg["source"].map(src["lead_weeks"]), (rg["o_ub"].to_numpy() == 0) | rg["fix_O"].notna().to_numpy()),
        ("X", rg, rg["source"].map(src["notice_weeks"]), rg["fix_X"].notna().to_numpy()),
    ]
    for var, frame, lag, zero in specs:
        if len(frame) == 0:
            continue
        lv = VAR_LEVELS[var]
        lag = lag.to_numpy(dtype=int)
        sel = np.nonzero((frame["week"].to_numpy() - lag < reveal_week)
                         & (frame["scenario"].to_numpy() != w0) & ~zero)[0]
        keys = frame.iloc[sel][lv].reset_index(drop=True)
        first = ctx.pos(var, keys.assign(scenario=w0), lv)
        k = len(sel)
        ctx.add_rows(SPECS[var], keys, lv, [
            (var, np.arange(k), sel, 1.0), (var, np.arange(k), first, -1.0)], 0.0)
