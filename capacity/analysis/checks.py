"""The audit checks, in formulation.md's order, and the objective recomputed.

Every constraint family declares its checks beside its rows
(``FamilySpec.checks`` in ``capacity/model/<block>.py``); this module collects
them from the registry (a check shared by several families once) and adds the
check that is not a family's: the objective recomputed from the tables'
quantities and the input prices (:func:`capacity.model.recheck.expected_costs`, the
audit's independent copy of the cost breakdown, beside the other helpers the checks
share; the reporting copy is :func:`capacity.output.results.scenario_costs`).
Nothing here touches solver objects: the same functions re-check a workbook
read back from disk (``capacity audit``). Conventions: :mod:`capacity.model.recheck`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.io.inputs import Inputs
from capacity.model.recheck import TOLERANCE, Check, Worst, eq, expected_costs, is_contract, plan_from, scenarios, worst
from capacity.model.registry import FAMILIES

CHECK_COLUMNS = ["check", "equation", "rows_checked", "largest_violation", "where", "tolerance", "result"]


def check_history(inputs: Inputs, t: dict) -> Worst:
    """v2 section 1: the plan keeps the history as fixed decisions, in every scenario. Weeks < plan_from_week:
    fte, onboarded and exits as the history's rows (a unit with no row: 0; a contract's onboarded and exits
    are its changes of fte); later weeks with a row: onboarded and exits (regional) or fte (contract). Every
    history row is a row of the plan, and a contract the history staffs is signed."""
    plan = scenarios(t["plan"])
    h = inputs.history.copy()
    if len(plan) == 0:
        return Worst(0, 0.0, "")
    T = plan_from(inputs)
    region = plan["region"].fillna("").astype(str)
    p = plan.assign(region=region)
    keys = ["unit", "region", "week"]
    h["region"] = h["region"].fillna("").astype(str)
    got = p.merge(h.rename(columns={"fte": "h_fte", "onboarded": "h_on", "exits": "h_ex"}), on=keys, how="left")
    has = got["h_fte"].notna().to_numpy()
    early = got["week"].to_numpy(int) < T
    contract = is_contract(inputs, got)
    h_fte = got["h_fte"].fillna(0.0).to_numpy(float)
    viol = np.where(early | (has & contract), eq(got["fte"], h_fte), 0.0)
    for col, hcol in (("onboarded", "h_on"), ("exits", "h_ex")):
        want = got[hcol].fillna(0.0).to_numpy(float)
        viol = np.maximum(viol, np.where((early | has) & ~contract, eq(got[col], want), 0.0))
    labels = got[["scenario", "week", "region", "unit"]].assign(
        input=[inputs.origin.cell("history", k, "fte") if k in inputs.origin.rows.get("history", {}) else "history"
               for k in zip(got["unit"], got["region"], got["week"].astype(int))])
    rows = worst(viol, labels)
    missing = h.merge(p[keys].drop_duplicates(), on=keys, how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"]
    if len(missing):
        k = tuple(missing.iloc[0][keys])
        return Worst(rows.rows + len(h), float("inf"),
                     f"unit={k[0]}, region={k[1]}, week={k[2]}: a history row with no plan row "
                     f"(input={inputs.origin.cell('history', k, 'unit')})")
    con = t["contracts"].set_index("contract")["signed"].astype(bool)
    staffed = sorted(set(h.loc[(h["region"] == "") & (h["fte"] > 1e-6) & h["unit"].isin(inputs.contracts.index),
                               "unit"]))
    unsigned = [c for c in staffed if not con.get(c, False)]
    if unsigned:
        return Worst(rows.rows + len(staffed), 1.0, f"contract={unsigned[0]}: staffed by the history but not signed")
    return rows


def check_objective(inputs: Inputs, t: dict) -> Worst:
    """Objective = fixed costs + expected staff and onboarding costs + expected lost
    value, recomputed from the tables' quantities and the input prices (:func:`expected_costs`):
    the cost to go (v2 section 1); the summary's sunk_cost is re-checked by ``capacity audit``.
    With settings risk_weight lambda > 0 (v2 section 4): (1 - lambda) x that + lambda x the CVaR at
    cvar_alpha of the recomputed scenario costs (by Rockafellar and Uryasev's minimum)."""
    from capacity.model import risk

    costs = expected_costs(inputs, t)
    total = costs["total"]
    lam = risk.weight(inputs)
    if lam > 0:
        by = costs["by_scenario"]
        scen = list(inputs.scenarios.index)
        _, cvar = risk.var_cvar([by[w] for w in scen], inputs.scenarios["probability"].to_numpy(float),
                                risk.alpha(inputs))
        total = (1 - lam) * total + lam * cvar
    summary = dict(zip(t["summary"]["key"], t["summary"]["value"]))
    objective = summary.get("objective")
    if objective is None or (isinstance(objective, float) and np.isnan(objective)):
        return Worst(1, float("inf"), "summary has no objective")
    return worst(eq([total], [float(objective)]), pd.DataFrame({"summary": ["objective"]}))


def _collect() -> tuple[Check, ...]:
    seen: dict[int, Check] = {}
    for family in FAMILIES:
        for check in family.checks:
            seen.setdefault(id(check), check)
    return tuple(seen.values()) + (HISTORY_CHECK,
                                   Check("objective recomputed from the tables", "objective", check_objective))


#: v2 section 1; it re-checks the stocks' fixed values (eq 1, 6), so it is named by them
HISTORY_CHECK = Check("history kept as fixed decisions", "1, 6 (history)", check_history)


#: every check, in the order of formulation.md (as the registry declares the families)
CHECKS: tuple[Check, ...] = _collect()


def run_checks(inputs: Inputs, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for check in CHECKS:
        w = check.fn(inputs, tables)
        equation = check.eq if check.eq == "objective" else f"eq {check.eq}"
        rows.append((check.title, equation, w.rows, w.violation, w.where, TOLERANCE,
                     "pass" if w.violation <= TOLERANCE else "fail"))
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)
