"""What every audit check shares: re-checking a rule from the result tables and the input.

A family's check is declared with the family (``FamilySpec.checks``, in the
family's module), and collected in formulation.md's order by
:mod:`capacity.analysis.checks`. A check never touches solver objects or the
model's coefficients: it reads the tidy tables (as written, or read back from
a workbook by ``capacity audit``) and recomputes what it needs from the input
alone, so a bug in the model cannot hide in its own audit.

Each check returns the largest violation of its rule, relative to the size of
the quantities involved: ``|lhs - rhs| / max(1, |rhs|)`` for an equation,
``max(0, lhs - rhs) / max(1, |rhs|)`` for an inequality. It passes when that
is at most :data:`TOLERANCE` (the solver works to 1e-7 absolute on scaled rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from capacity.io.inputs import Inputs
from capacity.model.history import plan_from  # noqa: F401  (the checks import it from here)

TOLERANCE = 1e-6
#: the scenario label of the result tables' probability-weighted rows
EXPECTED = "expected"


@dataclass
class Worst:
    rows: int
    violation: float
    where: str


@dataclass(frozen=True)
class Check:
    """An audit check: its title (the ``checks`` sheet's row), equation and function."""

    title: str
    eq: str
    fn: Callable[[Inputs, dict], Worst]


def worst(viol: np.ndarray, labels: pd.DataFrame | None) -> Worst:
    """The largest violation and where it is (the labels of its row)."""
    viol = np.nan_to_num(np.asarray(viol, dtype=float), nan=np.inf)
    if viol.size == 0:
        return Worst(0, 0.0, "")
    i = int(np.argmax(viol))
    where = "" if labels is None or viol[i] <= 0 else ", ".join(f"{k}={v}" for k, v in labels.iloc[i].items())
    return Worst(int(viol.size), float(max(viol[i], 0.0)), where)


def eq(lhs, rhs) -> np.ndarray:
    """Violation of lhs = rhs, relative."""
    lhs, rhs = np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)
    return np.abs(lhs - rhs) / np.maximum(1.0, np.abs(rhs))


def le(lhs, rhs) -> np.ndarray:
    """Violation of lhs <= rhs, relative."""
    lhs, rhs = np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)
    return np.maximum(0.0, lhs - rhs) / np.maximum(1.0, np.abs(rhs))


def scenarios(df: pd.DataFrame) -> pd.DataFrame:
    """The scenario rows of a table (not the probability-weighted ``expected`` rows)."""
    return df[df["scenario"] != EXPECTED]


def skill_terms(inputs: Inputs) -> pd.DataFrame:
    """Per (source, work_type): hours per attempted task a, p, e (formulation.md).

    Computed again here on purpose, from the input alone: the audit must not
    trust the coefficients the model was built with."""
    sk = inputs.skills.reset_index()
    p, e = sk["success_rate"].to_numpy(float), sk["escalation_share"].to_numpy(float)
    sk["a"] = (sk["minutes_per_task"].to_numpy(float) + sk["handoff_minutes"].to_numpy(float) * (1 - p) * e) / 60
    return sk.set_index(["source", "work_type"])


def work_with_terms(inputs: Inputs, work: pd.DataFrame) -> pd.DataFrame:
    """The work table's scenario rows with each unit's source, a, p, e and task hours."""
    wk = scenarios(work).copy()
    unit_source = pd.concat([inputs.contracts["source"],
                             pd.Series(inputs.regional_sources.index, index=inputs.regional_sources.index)])
    wk["source"] = wk["unit"].map(unit_source)
    terms = skill_terms(inputs).reindex(pd.MultiIndex.from_frame(wk[["source", "work_type"]]))
    for c in ("a", "success_rate", "escalation_share"):
        wk[c] = terms[c].to_numpy()
    wk["task_hours"] = wk["a"] * wk["attempted"]
    return wk


def is_contract(inputs: Inputs, plan: pd.DataFrame) -> np.ndarray:
    """Contract rows of the plan, told apart by the input (a contract of the input, no
    region), not by the table's `kind` column (which only restates the input)."""
    region = plan["region"].fillna("").astype(str).to_numpy()
    return plan["unit"].isin(inputs.contracts.index).to_numpy() & (region == "")


def regional_attr(inputs: Inputs, plan: pd.DataFrame, column: str) -> pd.Series:
    """A sources column for each plan row; NaN on contract rows (a contract named like
    its contractor source never takes that source row's terms)."""
    return plan["unit"].where(~is_contract(inputs, plan)).map(inputs.sources[column])


def regional_plan(inputs: Inputs, t: dict) -> pd.DataFrame:
    """The plan's scenario rows of regional units."""
    plan = scenarios(t["plan"])
    return plan[~is_contract(inputs, plan)]


def limit(series: pd.Series) -> np.ndarray:
    """A limit column of the input per row; blank (NaN) = no limit."""
    return series.astype(float).fillna(np.inf).to_numpy(float)


def labels(plan: pd.DataFrame, cols: list[str], inputs: Inputs, sheet: str, column) -> pd.DataFrame:
    """Row labels plus the input cell holding the rule's figure (e.g. contracts!N2);
    `column` is one column name or one per row."""
    columns = np.broadcast_to(np.asarray(column, dtype=object), (len(plan),))
    pairs = list(zip(plan["unit"], columns))
    cells = {pair: inputs.origin.cell(sheet, *pair) for pair in set(pairs)}
    return plan[cols].assign(input=[cells[pair] for pair in pairs])


def stock_violation(plan: pd.DataFrame) -> np.ndarray:
    """FTE[t] = FTE[t-1] + onboarded - exits, FTE[0] = 0, per (scenario, unit, region); plan sorted by week."""
    prev = plan.groupby(["scenario", "unit", "region"])["fte"].shift(1).fillna(0.0).to_numpy()
    return eq(plan["fte"], prev + plan["onboarded"].to_numpy(float) - plan["exits"].to_numpy(float))


# ---- v2 section 1: the history's rows are fixed decisions, not the model's
def past(inputs: Inputs, frame: pd.DataFrame) -> np.ndarray:
    """Rows of a history week (week < plan_from_week)."""
    return frame["week"].to_numpy(dtype=int) < plan_from(inputs)


def history_fixed(inputs: Inputs, plan: pd.DataFrame) -> np.ndarray:
    """Plan rows the history fixes (read from the input alone): every row of a week < plan_from_week,
    and the rows of later weeks the history sheet gives (unit, region, week; region '' for a contract).
    Rules that bind the model's decisions (lead times, ramps) do not bind them: they happened."""
    h = inputs.history
    keys = set(zip(h["unit"], h["region"].fillna(""), h["week"].astype(int)))
    region = plan["region"].fillna("").astype(str)
    given = np.fromiter((k in keys for k in zip(plan["unit"], region, plan["week"].astype(int))),
                        dtype=bool, count=len(plan)) if keys else np.zeros(len(plan), dtype=bool)
    return past(inputs, plan) | given


def expected_costs(inputs: Inputs, t: dict) -> dict[str, float]:
    """The audit's independent cost breakdown (the reporting copy is
    :func:`capacity.output.results.scenario_costs`): probability-weighted staff and
    onboarding costs, fixed costs, lost value and their total, from the tables'
    quantities (the scenario rows' fte, onboarded and lost, the contracts'
    signed) and the input prices, never from the tables' cost columns. Used by
    :func:`check_objective` and by the summary step of ``capacity audit``.

    Version 2 section 1: these are the costs to go (weeks >= plan_from_week; a
    contract's fixed cost unless it started before plan_from_week and is signed
    by its status or by the history); ``sunk`` is the rest, every cost of the
    history (the whole cost when plan_from_week is 1: 0)."""
    T = plan_from(inputs)
    plan = scenarios(t["plan"])
    pi = plan["scenario"].map(inputs.scenarios["probability"]).to_numpy(float)
    contract = is_contract(inputs, plan)
    price = np.where(contract, plan["unit"].map(inputs.contracts["cost_per_fte_week"]),
                     plan["unit"].map(inputs.sources["cost_per_fte_week"])).astype(float)
    onboard = np.where(contract, 0.0, plan["unit"].map(inputs.sources["onboarding_cost"]).fillna(0.0)).astype(float)
    staff_rows = price * plan["fte"].to_numpy(float)
    onboarding_rows = onboard * plan["onboarded"].to_numpy(float)
    go = ~past(inputs, plan)
    con = t["contracts"]
    signed = con["signed"].astype(bool).to_numpy() | (con["contract"].map(inputs.contracts["status"]) == "signed").to_numpy()
    fixed_each = (con["signed"].astype(bool).to_numpy() * con["contract"].map(inputs.contracts["fixed_cost"]).to_numpy(float))
    sunk_fixed = signed & (con["contract"].map(inputs.contracts["start_week"]).to_numpy(float) < T)
    cov = scenarios(t["coverage"])
    lost_each = cov["lost"].to_numpy(float) * cov["work_type"].map(inputs.work_types["value_per_task"]).to_numpy(float)
    lost_rows = cov["scenario"].map(inputs.scenarios["probability"]).to_numpy(float) * lost_each
    cgo = ~past(inputs, cov)
    out = {"staff": float((pi * staff_rows)[go].sum()), "onboarding": float((pi * onboarding_rows)[go].sum()),
           "fixed": float(fixed_each[~sunk_fixed].sum()), "lost_value": float(lost_rows[cgo].sum())}
    out["total"] = out["staff"] + out["onboarding"] + out["fixed"] + out["lost_value"]
    out["sunk"] = (float((pi * (staff_rows + onboarding_rows))[~go].sum()) + float(fixed_each[sunk_fixed].sum())
                   + float(lost_rows[~cgo].sum()))
    # v2 section 4: the cost to go if each scenario happens (unweighted), for the CVaR checks
    scen = list(inputs.scenarios.index)
    per = pd.Series((staff_rows + onboarding_rows)[go], index=plan["scenario"].to_numpy()[go]).groupby(level=0).sum()
    per = per.add(pd.Series(lost_each[cgo], index=cov["scenario"].to_numpy()[cgo]).groupby(level=0).sum(),
                  fill_value=0.0)
    out["by_scenario"] = {w: out["fixed"] + float(per.get(w, 0.0)) for w in scen}
    return out
