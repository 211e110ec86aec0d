"""Audit checks recomputed from the result tables and the inputs only.

Nothing here touches solver objects: the same functions re-check a workbook
read back from disk (``capacity audit``). Each check is one function
returning the largest violation of one rule of formulation.md, measured
relative to the size of the quantities involved: ``|lhs - rhs| / max(1,
|rhs|)`` for an equation, ``max(0, lhs - rhs) / max(1, |rhs|)`` for an
inequality. A check passes when that is at most :data:`TOLERANCE` (the solver
works to 1e-7 absolute on scaled rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from capacity.inputs import Inputs
from capacity.results import EXPECTED

TOLERANCE = 1e-6
CHECK_COLUMNS = ["check", "equation", "rows_checked", "largest_violation", "where", "tolerance", "result"]


@dataclass
class Worst:
    rows: int
    violation: float
    where: str


def _worst(viol: np.ndarray, labels: pd.DataFrame | None) -> Worst:
    viol = np.nan_to_num(np.asarray(viol, dtype=float), nan=np.inf)
    if viol.size == 0:
        return Worst(0, 0.0, "")
    i = int(np.argmax(viol))
    where = "" if labels is None or viol[i] <= 0 else ", ".join(f"{k}={v}" for k, v in labels.iloc[i].items())
    return Worst(int(viol.size), float(max(viol[i], 0.0)), where)


def _eq(lhs, rhs) -> np.ndarray:
    lhs, rhs = np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)
    return np.abs(lhs - rhs) / np.maximum(1.0, np.abs(rhs))


def _le(lhs, rhs) -> np.ndarray:
    lhs, rhs = np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float)
    return np.maximum(0.0, lhs - rhs) / np.maximum(1.0, np.abs(rhs))


def _scen(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["scenario"] != EXPECTED]


def _skill_terms(inputs: Inputs) -> pd.DataFrame:
    """Per (source, work_type): hours per attempted task a, p, e (formulation.md).

    Computed again here on purpose, from the input alone: the audit must not
    trust the coefficients the model was built with."""
    sk = inputs.skills.reset_index()
    p, e = sk["success_rate"].to_numpy(float), sk["escalation_share"].to_numpy(float)
    sk["a"] = (sk["minutes_per_task"].to_numpy(float) + sk["handoff_minutes"].to_numpy(float) * (1 - p) * e) / 60
    return sk.set_index(["source", "work_type"])


def _work_with_terms(inputs: Inputs, work: pd.DataFrame) -> pd.DataFrame:
    wk = _scen(work).copy()
    unit_source = pd.concat([inputs.contracts["source"],
                             pd.Series(inputs.regional_sources.index, index=inputs.regional_sources.index)])
    wk["source"] = wk["unit"].map(unit_source)
    terms = _skill_terms(inputs).reindex(pd.MultiIndex.from_frame(wk[["source", "work_type"]]))
    for c in ("a", "success_rate", "escalation_share"):
        wk[c] = terms[c].to_numpy()
    wk["task_hours"] = wk["a"] * wk["attempted"]
    return wk


# ---------------------------------------------------------------------------
def check_demand_recomputed(inputs: Inputs, t: dict) -> Worst:
    """eq 12: D = cases x tasks_per_case + escalated failures arriving."""
    cov = _scen(t["coverage"])
    wk = _work_with_terms(inputs, t["work"])
    wk["esc_to"] = wk["work_type"].map(inputs.work_types["escalates_to"])
    keys = ["scenario", "region", "week"]
    cases = inputs.demand.set_index(keys)["cases"]
    base = (cases.reindex(pd.MultiIndex.from_frame(cov[keys])).fillna(0.0).to_numpy()
            * cov["work_type"].map(inputs.work_types["tasks_per_case"]).to_numpy(float))
    arriving = wk.dropna(subset=["esc_to"]).groupby(["scenario", "region", "esc_to", "week"])["escalated"].sum()
    idx = pd.MultiIndex.from_frame(cov[["scenario", "region", "work_type", "week"]])
    rhs = base + arriving.reindex(idx).fillna(0.0).to_numpy()
    return _worst(_eq(cov["demand"], rhs), cov[["scenario", "week", "region", "work_type"]])


def check_demand_balance(inputs: Inputs, t: dict) -> Worst:
    """eq 12: demand = completed + escalated onward + lost (attempted + unattempted)."""
    cov = _scen(t["coverage"])
    keys = ["scenario", "week", "region", "work_type"]
    esc = _scen(t["work"]).groupby(keys)["escalated"].sum()
    out = esc.reindex(pd.MultiIndex.from_frame(cov[keys])).fillna(0.0).to_numpy()
    return _worst(_eq(cov["completed"].to_numpy(float) + out + cov["lost"].to_numpy(float), cov["demand"]),
                  cov[keys])


def check_completion_target(inputs: Inputs, t: dict) -> Worst:
    """eq 13: completed >= min_completion_share x demand."""
    cov = _scen(t["coverage"])
    mcs = cov["work_type"].map(inputs.work_types["min_completion_share"]).to_numpy(float)
    return _worst(_le(mcs * cov["demand"].to_numpy(float), cov["completed"]),
                  cov[["scenario", "week", "region", "work_type"]])


def check_work_consistent(inputs: Inputs, t: dict) -> Worst:
    """completed / escalated / lost of each work row follow from attempted, p and e."""
    wk = _work_with_terms(inputs, t["work"])
    p, e, a = wk["success_rate"].to_numpy(float), wk["escalation_share"].to_numpy(float), wk["attempted"].to_numpy(float)
    viol = np.maximum.reduce([_eq(wk["completed"], p * a), _eq(wk["escalated"], (1 - p) * e * a),
                              _eq(wk["lost"], (1 - p) * (1 - e) * a)]) if len(wk) else np.zeros(0)
    return _worst(viol, wk[["scenario", "week", "region", "work_type", "unit"]])


def _is_contract(inputs: Inputs, plan: pd.DataFrame) -> np.ndarray:
    """Contract rows of the plan, told apart by the input (a contract of the input, no
    region), not by the table's `kind` column (which only restates the input)."""
    region = plan["region"].fillna("").astype(str).to_numpy()
    return plan["unit"].isin(inputs.contracts.index).to_numpy() & (region == "")


def _regional_attr(inputs: Inputs, plan: pd.DataFrame, column: str) -> pd.Series:
    """A sources column for each plan row; NaN on contract rows (a contract named like
    its contractor source never takes that source row's terms)."""
    return plan["unit"].where(~_is_contract(inputs, plan)).map(inputs.sources[column])


def _regional_plan(inputs: Inputs, t: dict) -> pd.DataFrame:
    plan = _scen(t["plan"])
    return plan[~_is_contract(inputs, plan)]


def check_hours(inputs: Inputs, t: dict) -> Worst:
    """eq 10/11: task + training + supervision hours <= productive hours x FTE."""
    plan = _scen(t["plan"])
    H = inputs.settings.productive_hours
    wk = _work_with_terms(inputs, t["work"])
    wk["region"] = np.where(wk["unit"].isin(inputs.contracts.index), "", wk["region"])
    keys = ["scenario", "week", "region", "unit"]
    idx = pd.MultiIndex.from_frame(plan[keys].fillna(""))
    task_hours = wk.groupby(keys)["task_hours"].sum().reindex(idx).fillna(0.0).to_numpy()
    training = _regional_attr(inputs, plan, "training_hours").fillna(0.0) * plan["onboarded"]
    supervision = _regional_attr(inputs, plan, "supervision_ratio").fillna(0.0) * H * plan["fte"]
    given = pd.Series(0.0, index=idx)
    for column, hours in (("trainer", training), ("supervisor", supervision)):
        d = plan.assign(unit=_regional_attr(inputs, plan, column), hours=hours.to_numpy(float))
        given = given.add(d.dropna(subset=["unit"]).groupby(keys)["hours"].sum(), fill_value=0.0)
    lhs = task_hours + training.to_numpy(float) + given.reindex(idx).fillna(0.0).to_numpy()
    viol = np.maximum(_le(lhs, H * plan["fte"].to_numpy(float)),
                      _eq(plan["task_hours"], task_hours))  # the table's task_hours are also right
    return _worst(viol, plan[keys])


def check_availability(inputs: Inputs, t: dict) -> Worst:
    """eq 7: regional FTE <= availability (a missing row = 0)."""
    plan = _regional_plan(inputs, t)
    avail = inputs.availability.set_index(["source", "region", "week"])["fte"]
    cap = avail.reindex(pd.MultiIndex.from_frame(plan[["unit", "region", "week"]])).fillna(0.0).to_numpy()
    return _worst(_le(plan["fte"], cap), plan[["scenario", "week", "region", "unit"]])


def check_stock(inputs: Inputs, t: dict) -> Worst:
    """eq 1/6: FTE[t] = FTE[t-1] + onboarded - exits, FTE[0] = 0 (the drop after a
    contract's end_week is free)."""
    plan = _scen(t["plan"]).sort_values(["scenario", "unit", "region", "week"])
    prev = plan.groupby(["scenario", "unit", "region"])["fte"].shift(1).fillna(0.0).to_numpy()
    end = plan["unit"].map(inputs.contracts["end_week"]).to_numpy(float)
    after_end = _is_contract(inputs, plan) & (plan["week"].to_numpy(float) > end)
    viol = _eq(plan["fte"], prev + plan["onboarded"].to_numpy(float) - plan["exits"].to_numpy(float))
    viol[after_end] = _eq(plan["fte"].to_numpy(float)[after_end], 0.0)
    return _worst(viol, plan[["scenario", "week", "region", "unit"]])


def _limit(series: pd.Series) -> np.ndarray:
    """A limit column of the input per row; blank (NaN) = no limit."""
    return series.astype(float).fillna(np.inf).to_numpy(float)


def _labels(plan: pd.DataFrame, cols: list[str], inputs: Inputs, sheet: str, column) -> pd.DataFrame:
    """Row labels plus the input cell holding the rule's figure (e.g. contracts!N2);
    `column` is one column name or one per row."""
    columns = np.broadcast_to(np.asarray(column, dtype=object), (len(plan),))
    pairs = list(zip(plan["unit"], columns))
    cells = {pair: inputs.origin.cell(sheet, *pair) for pair in set(pairs)}
    return plan[cols].assign(input=[cells[pair] for pair in pairs])


def _contract_plan(inputs: Inputs, t: dict) -> tuple[pd.DataFrame, dict]:
    """Scenario rows of the contracts in the plan, and per row the input's terms."""
    plan = _scen(t["plan"])
    plan = plan[_is_contract(inputs, plan)]
    u, con = plan["unit"], inputs.contracts
    terms = {c: u.map(con[c]).to_numpy(float) for c in ("start_week", "end_week", "min_term_weeks", "lead_weeks",
                                                         "min_fte", "max_fte", "committed_fte")}
    terms["week"] = plan["week"].to_numpy(float)
    terms["inside"] = (terms["week"] >= terms["start_week"]) & (terms["week"] <= terms["end_week"])
    terms["status_signed"] = (u.map(con["status"]) == "signed").to_numpy()
    return plan, terms


def _signed(inputs: Inputs, t: dict, units: pd.Series) -> np.ndarray:
    """y per row: 1 for a contract the input says is signed, else the contracts table's `signed`."""
    table = t["contracts"].set_index("contract")["signed"].astype(bool)
    status = units.map(inputs.contracts["status"]).to_numpy() == "signed"
    return status | units.map(table).fillna(False).astype(bool).to_numpy()


def check_contract_window(inputs: Inputs, t: dict) -> Worst:
    """eq 2: N = 0 outside start_week..end_week; nothing added (the plan's `onboarded`)
    before week 1 + lead_weeks, except the pre-arranged committed level of a signed
    contract at its start_week."""
    plan, c = _contract_plan(inputs, t)
    fte, added = plan["fte"].to_numpy(float), plan["onboarded"].to_numpy(float)
    window = np.where(~c["inside"], _eq(fte, 0.0), 0.0)
    pre_arranged = c["status_signed"] & ~np.isnan(c["committed_fte"]) & (c["week"] == c["start_week"])
    blocked = (c["week"] < 1 + c["lead_weeks"]) & ~pre_arranged
    lead = np.where(blocked, _eq(added, 0.0), 0.0)
    column = np.where(lead > window, "lead_weeks", np.where(c["week"] > c["end_week"], "end_week", "start_week"))
    return _worst(np.maximum(window, lead), _labels(plan, ["scenario", "week", "unit"], inputs, "contracts", column))


def check_contract_size(inputs: Inputs, t: dict) -> Worst:
    """eq 3: N <= max_fte*y; N >= min_fte*y inside the window; L <= max_fte*y."""
    plan, c = _contract_plan(inputs, t)
    y = _signed(inputs, t, plan["unit"])
    fte = plan["fte"].to_numpy(float)
    viol = np.maximum(np.where(c["inside"] & y, _le(c["min_fte"], fte), 0.0),
                      _le(fte, np.where(y, c["max_fte"], 0.0)))
    worst = _worst(viol, plan[["scenario", "week", "unit"]])
    con = t["contracts"]
    y_c = _signed(inputs, t, con["contract"])
    level = _worst(_le(con["committed_fte"], np.where(y_c, con["contract"].map(inputs.contracts["max_fte"]), 0.0)),
                   con[["contract"]])
    return Worst(worst.rows + level.rows, max(worst.violation, level.violation),
                 worst.where if worst.violation >= level.violation else level.where)


def check_block_lock_in(inputs: Inputs, t: dict) -> Worst:
    """eq 4: N = L in every scenario through the initial term (start_week <= t <
    start_week + min_term_weeks, t <= end_week), with L = committed_fte*y from the
    input when it gives committed_fte (else the level the contracts table reports)."""
    plan, c = _contract_plan(inputs, t)
    y = _signed(inputs, t, plan["unit"])
    chosen = plan["unit"].map(t["contracts"].set_index("contract")["committed_fte"]).to_numpy(float)
    level = np.where(np.isnan(c["committed_fte"]), chosen, np.nan_to_num(c["committed_fte"]) * y)
    locked = c["inside"] & (c["week"] < c["start_week"] + c["min_term_weeks"])
    viol = np.where(locked, _eq(plan["fte"], level), 0.0)
    return _worst(viol, _labels(plan, ["scenario", "week", "unit"], inputs, "contracts", "committed_fte"))


def check_contract_ramps(inputs: Inputs, t: dict) -> Worst:
    """eq 5: added <= max_increase_per_week for start_week < t <= end_week; removed
    (the plan's `exits`) <= max_decrease_per_week for start_week + min_term_weeks <= t
    <= end_week. Blank = no limit."""
    plan, c = _contract_plan(inputs, t)
    con = inputs.contracts
    up = (c["week"] > c["start_week"]) & c["inside"]
    down = (c["week"] >= c["start_week"] + c["min_term_weeks"]) & c["inside"]
    v_up = np.where(up, _le(plan["onboarded"], _limit(plan["unit"].map(con["max_increase_per_week"]))), 0.0)
    v_down = np.where(down, _le(plan["exits"], _limit(plan["unit"].map(con["max_decrease_per_week"]))), 0.0)
    column = np.where(v_up >= v_down, "max_increase_per_week", "max_decrease_per_week")
    return _worst(np.maximum(v_up, v_down), _labels(plan, ["scenario", "week", "unit"], inputs, "contracts", column))


def check_regional_lead(inputs: Inputs, t: dict) -> Worst:
    """eq 6: nobody onboarded before week 1 + lead_weeks of the source."""
    plan = _regional_plan(inputs, t)
    lead = plan["unit"].map(inputs.sources["lead_weeks"]).to_numpy(float)
    viol = np.where(plan["week"].to_numpy(float) < 1 + lead, _eq(plan["onboarded"], 0.0), 0.0)
    return _worst(viol, _labels(plan, ["scenario", "week", "region", "unit"], inputs, "sources", "lead_weeks"))


def check_regional_ramp(inputs: Inputs, t: dict) -> Worst:
    """eq 9: onboarded <= max_increase_per_week of the source, per region and week."""
    plan = _regional_plan(inputs, t)
    limit = _limit(plan["unit"].map(inputs.sources["max_increase_per_week"]))
    return _worst(_le(plan["onboarded"], limit),
                  _labels(plan, ["scenario", "week", "region", "unit"], inputs, "sources", "max_increase_per_week"))


def check_cohort_lock_in(inputs: Inputs, t: dict) -> Worst:
    """eq 8: FTE[t] >= onboarded in the last min_term_weeks weeks."""
    plan = _regional_plan(inputs, t).sort_values(["scenario", "unit", "region", "week"])
    term = plan["unit"].map(inputs.sources["min_term_weeks"]).to_numpy(int)
    g = plan.groupby(["scenario", "unit", "region"])["onboarded"]
    recent = np.zeros(len(plan))
    for m in np.unique(term[term > 0]):
        rolled = g.transform(lambda s, m=m: s.rolling(int(m), min_periods=1).sum()).to_numpy()
        recent = np.where(term == m, rolled, recent)
    return _worst(_le(recent, plan["fte"]), plan[["scenario", "week", "region", "unit"]])


def check_non_anticipativity(inputs: Inputs, t: dict) -> Worst:
    """eq 14: a decision taken before the reveal week is the same in every scenario."""
    plan = _scen(t["plan"])
    reveal = inputs.settings.reveal_week
    contract = _is_contract(inputs, plan)
    lead = np.where(contract, plan["unit"].map(inputs.contracts["lead_weeks"]),
                    plan["unit"].map(inputs.sources["lead_weeks"])).astype(float)
    notice = np.where(contract, plan["unit"].map(inputs.contracts["notice_weeks"]),
                      plan["unit"].map(inputs.sources["notice_weeks"])).astype(float)
    wk = plan["week"].to_numpy(float)
    viol = np.zeros(len(plan))
    for column, lag in (("onboarded", lead), ("exits", notice)):
        first_stage = wk - lag < reveal
        spread = plan.groupby(["unit", "region", "week"])[column].transform(lambda s: s.max() - s.min()).to_numpy()
        scale = np.maximum(1.0, plan.groupby(["unit", "region", "week"])[column].transform("max").abs().to_numpy())
        viol = np.maximum(viol, np.where(first_stage, spread / scale, 0.0))
    return _worst(viol, plan[["week", "region", "unit"]])


def check_objective(inputs: Inputs, t: dict) -> Worst:
    """Objective = fixed costs + expected staff and onboarding costs + expected lost
    value, recomputed from the tables' quantities and the input prices."""
    plan = _scen(t["plan"])
    pi = plan["scenario"].map(inputs.scenarios["probability"]).to_numpy(float)
    contract = _is_contract(inputs, plan)
    price = np.where(contract, plan["unit"].map(inputs.contracts["cost_per_fte_week"]),
                     plan["unit"].map(inputs.sources["cost_per_fte_week"])).astype(float)
    onboard = np.where(contract, 0.0, plan["unit"].map(inputs.sources["onboarding_cost"]).fillna(0.0)).astype(float)
    staff = float((pi * (price * plan["fte"].to_numpy(float) + onboard * plan["onboarded"].to_numpy(float))).sum())
    fixed = float((t["contracts"]["signed"].astype(bool).to_numpy()
                   * t["contracts"]["contract"].map(inputs.contracts["fixed_cost"]).to_numpy(float)).sum())
    cov = _scen(t["coverage"])
    lost = float((cov["scenario"].map(inputs.scenarios["probability"]).to_numpy(float) * cov["lost"].to_numpy(float)
                  * cov["work_type"].map(inputs.work_types["value_per_task"]).to_numpy(float)).sum())
    summary = dict(zip(t["summary"]["key"], t["summary"]["value"]))
    objective = summary.get("objective")
    if objective is None or (isinstance(objective, float) and np.isnan(objective)):
        return Worst(1, float("inf"), "summary has no objective")
    return _worst(_eq([staff + fixed + lost], [float(objective)]), pd.DataFrame({"summary": ["objective"]}))


CHECKS: tuple[tuple[str, str, Callable[[Inputs, dict], Worst]], ...] = (
    ("demand recomputed from cases and escalations", "eq 12", check_demand_recomputed),
    ("demand balance", "eq 12", check_demand_balance),
    ("completion targets", "eq 13", check_completion_target),
    ("work rows: completed/escalated/lost from attempted", "eq 12", check_work_consistent),
    ("hours within capacity", "eq 10/11", check_hours),
    ("availability", "eq 7", check_availability),
    ("headcount stock", "eq 1/6", check_stock),
    ("contract window and lead time", "eq 2", check_contract_window),
    ("contract size", "eq 3", check_contract_size),
    ("block lock-in at the committed level", "eq 4", check_block_lock_in),
    ("contract ramps", "eq 5", check_contract_ramps),
    ("regional lead time", "eq 6", check_regional_lead),
    ("cohort lock-in", "eq 8", check_cohort_lock_in),
    ("regional ramp", "eq 9", check_regional_ramp),
    ("non-anticipativity", "eq 14", check_non_anticipativity),
    ("objective recomputed from the tables", "objective", check_objective),
)


def run_checks(inputs: Inputs, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for name, equation, fn in CHECKS:
        worst = fn(inputs, tables)
        rows.append((name, equation, worst.rows, worst.violation, worst.where, TOLERANCE,
                     "pass" if worst.violation <= TOLERANCE else "fail"))
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)
