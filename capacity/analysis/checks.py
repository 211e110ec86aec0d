"""The audit checks, in formulation.md's order, and the objective recomputed.

Every constraint family declares its checks beside its rows
(``FamilySpec.checks`` in ``capacity/model/<block>.py``); this module collects
them from the registry (a check shared by several families once) and adds the
check that is not a family's: the objective recomputed from the tables'
quantities and the input prices. That is the audit's independent copy of the
cost breakdown; the reporting copy is :func:`capacity.output.results.scenario_costs`.
Nothing here touches solver objects: the same functions re-check a workbook
read back from disk (``capacity audit``). Conventions: :mod:`capacity.model.recheck`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.io.inputs import Inputs
from capacity.model.recheck import TOLERANCE, Check, Worst, eq, is_contract, scenarios, worst
from capacity.model.registry import FAMILIES

CHECK_COLUMNS = ["check", "equation", "rows_checked", "largest_violation", "where", "tolerance", "result"]


def expected_costs(inputs: Inputs, t: dict) -> dict[str, float]:
    """The audit's independent cost breakdown (the reporting copy is
    :func:`capacity.output.results.scenario_costs`): probability-weighted staff and
    onboarding costs, fixed costs, lost value and their total, from the tables'
    quantities (the scenario rows' fte, onboarded and lost, the contracts'
    signed) and the input prices, never from the tables' cost columns. Used by
    :func:`check_objective` and by the summary step of ``capacity audit``."""
    plan = scenarios(t["plan"])
    pi = plan["scenario"].map(inputs.scenarios["probability"]).to_numpy(float)
    contract = is_contract(inputs, plan)
    price = np.where(contract, plan["unit"].map(inputs.contracts["cost_per_fte_week"]),
                     plan["unit"].map(inputs.sources["cost_per_fte_week"])).astype(float)
    onboard = np.where(contract, 0.0, plan["unit"].map(inputs.sources["onboarding_cost"]).fillna(0.0)).astype(float)
    staff_rows = price * plan["fte"].to_numpy(float)
    onboarding_rows = onboard * plan["onboarded"].to_numpy(float)
    fixed = float((t["contracts"]["signed"].astype(bool).to_numpy()
                   * t["contracts"]["contract"].map(inputs.contracts["fixed_cost"]).to_numpy(float)).sum())
    cov = scenarios(t["coverage"])
    lost = float((cov["scenario"].map(inputs.scenarios["probability"]).to_numpy(float) * cov["lost"].to_numpy(float)
                  * cov["work_type"].map(inputs.work_types["value_per_task"]).to_numpy(float)).sum())
    return {"staff": float((pi * staff_rows).sum()), "onboarding": float((pi * onboarding_rows).sum()),
            "fixed": fixed, "lost_value": lost,
            "total": float((pi * (staff_rows + onboarding_rows)).sum()) + fixed + lost}


def check_objective(inputs: Inputs, t: dict) -> Worst:
    """Objective = fixed costs + expected staff and onboarding costs + expected lost
    value, recomputed from the tables' quantities and the input prices (:func:`expected_costs`)."""
    total = expected_costs(inputs, t)["total"]
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
    return tuple(seen.values()) + (Check("objective recomputed from the tables", "objective", check_objective),)


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
