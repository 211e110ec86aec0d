"""The planning loop played through one realised scenario (../shared/spec/v2.md section 3).

A *policy* is (forecast scenarios, re-plan interval K). For T = 1, 1+K, ...:

1. the forecast at T (:func:`forecast_inputs`): the chosen scenarios of the input, each
   re-weighted by how well it matched the realised cases of weeks < T (:func:`forecast_weights`; a
   weight below :data:`MIN_WEIGHT` leaves its scenario out, :func:`kept`),
   their cases of weeks < T replaced by the realised ones, revealing their scenario
   ``reveal_week - 1`` weeks after T (capped to the horizon); ``plan_from_week = T`` and the
   history implemented so far;
2. a plan from T (build_model / solve / tabulate on the typed Inputs, in memory);
3. implementing weeks T..T+K-1: every staffing decision taken in those weeks is copied from the
   plan's branch of the forecast's most probable scenario. Which decisions are taken by a week is
   the rule of ``capacity replan`` (:func:`capacity.analysis.replan.history_rows`: a decision for
   week t with lag l is taken in week t - l), applied to the step's plan with week T + K: the rows
   of every week < T + K and of the later weeks whose changes were taken before T + K. Those rows
   are the next step's history.

When the loop is over, every week's staffing is fixed and :func:`evaluate` re-optimises the work
(A, U) of every week against the realised cases given the staff in post: the model of the input
with the realised scenario alone, ``plan_from_week = 1`` and the implemented history fixing every
decision. Its objective is the realised cost: staff, onboarding, fixed contract costs and the
value of the tasks lost under the realised demand. (Work in one week depends only on that week's
staff, so one solve over every week is the same as re-optimising each step's weeks on their own.)

The one-shot plan is the loop with K = weeks; hindsight is the loop with the realised scenario as
the only forecast (known from week 1) and K = weeks.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from capacity.io.inputs import HISTORY_COLUMNS, Inputs

Progress = Callable[[str], None]

#: statuses of a solve that give a plan
SOLVED = ("optimal", "feasible")


class BacktestFailure(Exception):
    """A step's plan or the evaluation has no solution, or a solution fails its own checks: the
    backtest stops and writes nothing. ``exit_code`` as for ``capacity plan``."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message, exit_code)   # both in args: the exception crosses a process pool
        self.message, self.exit_code = message, exit_code

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Policy:
    """One policy of the comparison: its forecast scenarios and how often it re-plans."""

    name: str            # 'rolling', 'one-shot', 'hindsight'
    label: str           # in words, for the workbook
    forecast: tuple      # scenario ids of the input making up the forecast
    every: int           # K: weeks implemented per plan


@dataclass
class Step:
    """One plan of a policy."""

    policy: str
    step: int
    week: int                     # T
    implemented_to: int           # last week implemented from this plan (T + K - 1, capped)
    reveal_week: int              # the step's reveal_week
    probabilities: dict           # forecast scenario -> probability at T
    branch: str                   # the forecast's most probable scenario (the implemented branch)
    status: str
    objective: float              # expected cost to go from T (the step's objective)
    sunk: float                   # cost of the weeks < T as the step's model reports it
    gap: float | None
    seconds: float


@dataclass
class Evaluation:
    """The implemented decisions under the realised demand."""

    inputs: Inputs                # the realised scenario alone, plan_from_week 1, the history fixing all
    tables: object                # capacity.output.results.Tables
    costs: dict                   # fixed, contract_staff, regional_staff, onboarding, lost_value, total, completion_share
    objective: float
    targets_met: bool             # the completion targets hold under the realised demand
    seconds: float


@dataclass
class PolicyRun:
    policy: Policy
    steps: list[Step] = field(default_factory=list)
    history: pd.DataFrame | None = None
    evaluation: Evaluation | None = None
    seconds: float = 0.0


# --------------------------------------------------------------------------
# The forecast
# --------------------------------------------------------------------------

def forecast_weights(inputs: Inputs, realised: str, week: int, scenarios, sd: float) -> pd.Series:
    """pi_w(T) for the scenarios ``scenarios`` at ``week`` (T):

    pi_w(T) ∝ pi_w * exp(-0.5 * sum over r, t < T of (ln(1 + real[r,t]) - ln(1 + cases_w[r,t]))^2 / S^2)

    with pi_w the input's probabilities and ``real`` the cases of scenario ``realised`` (computed in
    logarithms, so that a scenario far from the realised cases gets a tiny weight, not 0/0)."""
    scenarios = list(scenarios)
    prior = inputs.scenarios["probability"].reindex(scenarios).to_numpy(dtype=float)
    d = inputs.demand[inputs.demand["week"].to_numpy(dtype=int) < week]
    cases = d.pivot_table(index=["region", "week"], columns="scenario", values="cases", aggfunc="first")
    log_like = np.zeros(len(scenarios))
    if len(cases):
        real = np.log1p(cases[realised].to_numpy(dtype=float))
        for j, w in enumerate(scenarios):
            diff = real - np.log1p(cases[w].to_numpy(dtype=float))
            log_like[j] = -0.5 * float(np.sum(diff * diff)) / (sd * sd)
    with np.errstate(divide="ignore"):
        log_post = np.log(prior) + log_like
    log_post -= np.max(log_post)
    post = np.exp(log_post)
    return pd.Series(post / post.sum(), index=pd.Index(scenarios, name="scenario"), name="probability")


#: a forecast scenario whose weight falls below this is left out of the step's plan (the others re-normalised):
#: its share of the expected cost is below a millionth, and a weight of 1e-30 would leave the LP's costs of
#: that scenario below the solver's tolerances (its branch's decisions arbitrary)
MIN_WEIGHT = 1e-6


def kept(weights: pd.Series) -> pd.Series:
    """The weights the step plans with: those >= MIN_WEIGHT, re-normalised (the largest is always kept)."""
    keep = weights[weights.to_numpy() >= MIN_WEIGHT]
    return keep / keep.sum()


def most_probable(weights: pd.Series) -> str:
    """The forecast's most probable scenario, the first of equals (in the input's order)."""
    return str(weights.index[int(np.argmax(weights.to_numpy()))])


def forecast_inputs(inputs: Inputs, realised: str, week: int, weights: pd.Series,
                    history: pd.DataFrame) -> Inputs:
    """The input as planned at ``week``: the forecast's scenarios with ``weights``, their cases of weeks <
    ``week`` the realised ones, reveal_week moved ``reveal_week - 1`` weeks after ``week`` (capped to the
    horizon), plan_from_week = ``week`` and ``history``."""
    st = inputs.settings
    scen = list(weights.index)
    d = inputs.demand
    mine = d[d["scenario"].isin(scen)].copy()
    real = d[d["scenario"] == realised].set_index(["region", "week"])["cases"]
    past = mine["week"].to_numpy(dtype=int) < week
    if past.any():
        idx = pd.MultiIndex.from_frame(mine.loc[past, ["region", "week"]])
        mine.loc[past, "cases"] = real.reindex(idx).to_numpy(dtype=float)
    order = {w: i for i, w in enumerate(scen)}
    mine = mine.iloc[np.argsort(mine["scenario"].map(order).to_numpy(), kind="stable")].reset_index(drop=True)
    scenarios = inputs.scenarios.loc[scen].copy()
    scenarios["probability"] = weights.to_numpy(dtype=float)
    reveal = min(week + int(st.reveal_week) - 1, int(st.weeks))
    settings = dataclasses.replace(st, plan_from_week=int(week), reveal_week=int(reveal))
    return dataclasses.replace(inputs, scenarios=scenarios, demand=mine, settings=settings,
                               history=history.reset_index(drop=True))


# --------------------------------------------------------------------------
# One plan, one policy
# --------------------------------------------------------------------------

class _PlanView:
    """The tidy plan table as :func:`capacity.analysis.replan.history_rows` reads a plan sheet: ``frame``
    and ``cell(row, column)`` (here the table's row and column, named in its messages only)."""

    name = "plan"

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    def cell(self, i: int, column: str) -> str:
        return f"plan table row {int(i) + 1}, column {column}"


def taken_by(inputs: Inputs, plan: pd.DataFrame, week: int, branch: str) -> pd.DataFrame:
    """The history after implementing up to ``week - 1``: the plan's branch ``branch`` for every week <
    ``week`` and the decisions of later weeks already taken when ``week`` begins (the rule of
    ``capacity replan``), as an Inputs.history frame."""
    from capacity.analysis.replan import history_rows

    rows = history_rows(inputs, _PlanView(plan), int(week), branch)
    out = rows[list(HISTORY_COLUMNS)].copy()
    out["region"] = out["region"].fillna("").astype(object)
    out["week"] = out["week"].astype(int)
    for c in ("fte", "onboarded", "exits"):
        out[c] = out[c].astype(float).fillna(0.0)
    return out.reset_index(drop=True)


def solve_plan(inputs: Inputs, threads: int | None, what: str):
    """Build, solve and tabulate; a plan that is not solved or fails its own checks stops the backtest."""
    from capacity.analysis.checks import run_checks
    from capacity.exitcodes import EXIT_NO_SOLUTION, STATUS_EXIT
    from capacity.gcpause import paused_gc
    from capacity.model import build_model
    from capacity.model.solve import solve
    from capacity.output.results import tabulate

    with paused_gc():
        built = build_model(inputs)
        result = solve(built, threads=threads, duals=False, release=True)
        if result.status not in SOLVED:
            families = ", ".join(getattr(result, "infeasible_families", []) or [])
            extra = f" (constraint families involved: {families})" if families else ""
            raise BacktestFailure(f"{what}: no plan: {result.status}: {result.termination}{extra}; nothing written",
                                  STATUS_EXIT.get(result.status, EXIT_NO_SOLUTION))
        tables = tabulate(inputs, built, result)
        checks = run_checks(inputs, tables.as_dict())
    failed = checks[checks["result"] != "pass"]
    if len(failed):
        names = ", ".join(map(str, failed["check"]))
        raise BacktestFailure(f"{what}: the solution fails its own checks ({names}); it is not a reliable plan, "
                              "so nothing is written", EXIT_NO_SOLUTION)
    return built, result, tables


def run_policy(inputs: Inputs, realised: str, policy: Policy, sd: float, *, threads: int | None = None,
               progress: Progress | None = None) -> PolicyRun:
    """Play ``policy`` through the realised scenario: its steps, the implemented history and its evaluation."""
    t_start = time.perf_counter()
    weeks = int(inputs.settings.weeks)
    K = int(policy.every)
    run = PolicyRun(policy=policy)
    history = inputs.history[list(HISTORY_COLUMNS)].copy()   # decisions taken before week 1 (T = 1)
    starts = list(range(1, weeks + 1, K))
    for n, T in enumerate(starts, start=1):
        t0 = time.perf_counter()
        weights = forecast_weights(inputs, realised, T, policy.forecast, sd)
        used = kept(weights)
        branch = most_probable(used)
        step_in = forecast_inputs(inputs, realised, T, used, history)
        _, result, tables = solve_plan(step_in, threads, f"{policy.name} policy, plan from week {T}")
        last = min(T + K - 1, weeks)
        history = taken_by(step_in, tables.plan, last + 1, branch)
        summary = dict(zip(tables.summary["key"], tables.summary["value"]))
        step = Step(policy=policy.name, step=n, week=T, implemented_to=last,
                    reveal_week=int(step_in.settings.reveal_week),
                    probabilities={str(w): float(used.get(w, 0.0)) for w in weights.index}, branch=branch,
                    status=result.status, objective=float(result.objective), sunk=float(summary.get("sunk_cost", 0.0)),
                    gap=result.gap, seconds=time.perf_counter() - t0)
        run.steps.append(step)
        if progress is not None:
            progress(step_line(step, len(starts), inputs.settings.currency))
    run.history = history
    run.evaluation = evaluate(inputs, realised, history, threads=threads, what=f"{policy.name} policy")
    run.seconds = time.perf_counter() - t_start
    return run


def step_line(step: Step, steps: int, currency: str) -> str:
    """The progress line of one step: week, forecast probabilities, objective, seconds."""
    probs = ", ".join(f"{w} {p:.2f}" for w, p in step.probabilities.items())
    return (f"{step.policy} step {step.step}/{steps}: week {step.week}, forecast {probs} (implementing "
            f"{step.branch}), objective {currency} {step.objective:,.0f}, {step.seconds:.1f}s")


# --------------------------------------------------------------------------
# The realised cost
# --------------------------------------------------------------------------

def realised_inputs(inputs: Inputs, realised: str, history: pd.DataFrame, *, targets: bool = True) -> Inputs:
    """The input with the realised scenario alone, plan_from_week 1 and ``history`` fixing every decision;
    ``targets=False`` without the completion targets (min_completion_share 0)."""
    d = inputs.demand
    scen = inputs.scenarios.loc[[realised]].assign(probability=1.0)
    st = dataclasses.replace(inputs.settings, plan_from_week=1, reveal_week=1)
    wt = inputs.work_types if targets else inputs.work_types.assign(min_completion_share=0.0)
    return dataclasses.replace(inputs, scenarios=scen, demand=d[d["scenario"] == realised].reset_index(drop=True),
                               settings=st, history=history.reset_index(drop=True), work_types=wt)


def evaluate(inputs: Inputs, realised: str, history: pd.DataFrame, *, threads: int | None = None,
             what: str = "policy") -> Evaluation:
    """The implemented staffing of every week under the realised demand, its work re-optimised.

    Where the completion targets cannot be met with the staff in post under the realised demand, the work
    is re-optimised without them (``targets_met`` False): the staff are what they are."""
    from capacity.output.results import scenario_costs

    t0 = time.perf_counter()
    weeks = int(inputs.settings.weeks)
    have = set(history["week"].astype(int))
    if have and not set(range(1, weeks + 1)) <= have:
        missing = sorted(set(range(1, weeks + 1)) - have)
        raise BacktestFailure(f"{what}: the implemented history has no row for week(s) {missing}", 4)
    targets_met = True
    real = realised_inputs(inputs, realised, history)
    try:
        _, result, tables = solve_plan(real, threads, f"{what}, realised cost")
    except BacktestFailure:
        if not (inputs.work_types["min_completion_share"].to_numpy(dtype=float) > 0).any():
            raise
        targets_met = False
        real = realised_inputs(inputs, realised, history, targets=False)
        _, result, tables = solve_plan(real, threads, f"{what}, realised cost without the completion targets")
    sc = scenario_costs(real, tables.plan, tables.coverage, tables.contracts).iloc[0]
    costs = {k: float(sc[k]) for k in ("fixed", "contract_staff", "regional_staff", "onboarding", "lost_value",
                                       "total", "completion_share")}
    costs["cash"] = costs["total"] - costs["lost_value"]
    if not math.isclose(costs["total"], float(result.objective), rel_tol=1e-6, abs_tol=1e-3):
        raise BacktestFailure(f"{what}: the realised cost from the tables ({costs['total']:,.2f}) is not the "
                              f"evaluation's objective ({float(result.objective):,.2f}); nothing written", 4)
    return Evaluation(inputs=real, tables=tables, costs=costs, objective=float(result.objective),
                      targets_met=targets_met, seconds=time.perf_counter() - t0)


def weekly(evaluation: Evaluation) -> pd.DataFrame:
    """One row per week of an evaluated policy: FTE by kind, cash cost (staff, onboarding, the fixed cost of
    each signed contract in its start week), notional lost value, tasks demanded and completed."""
    from capacity.model.recheck import EXPECTED

    inp, t = evaluation.inputs, evaluation.tables
    weeks = pd.Index(inp.weeks, name="week")
    plan = t.plan[t.plan["scenario"] != EXPECTED]
    out = pd.DataFrame(index=weeks)
    out["week_start"] = [inp.settings.week_start(int(w)) for w in weeks]
    from capacity.io.inputs import KINDS

    fte = plan.groupby(["week", "kind"])["fte"].sum().unstack("kind").reindex(index=weeks, columns=list(KINDS))
    for k in KINDS:
        out[f"fte_{k}"] = fte[k].fillna(0.0).to_numpy()
    out["fte_total"] = out[[f"fte_{k}" for k in KINDS]].sum(axis=1)
    onb_rate = plan["unit"].map(inp.sources["onboarding_cost"]).fillna(0.0).to_numpy(dtype=float)
    onb = pd.Series(np.where(plan["kind"].to_numpy() == "contractor", 0.0, onb_rate * plan["onboarded"].to_numpy()),
                    index=plan.index)
    out["staff_cost"] = (plan["cost"] - onb).groupby(plan["week"]).sum().reindex(weeks).fillna(0.0).to_numpy()
    out["onboarding_cost"] = onb.groupby(plan["week"]).sum().reindex(weeks).fillna(0.0).to_numpy()
    con = t.contracts.set_index("contract")
    start = inp.contracts["start_week"].reindex(con.index)
    fixed = pd.Series(con["fixed_cost"].to_numpy(dtype=float), index=start.to_numpy(dtype=int)).groupby(level=0).sum()
    out["fixed_cost"] = fixed.reindex(weeks).fillna(0.0).to_numpy()
    out["cash_cost"] = out["staff_cost"] + out["onboarding_cost"] + out["fixed_cost"]
    cov = t.coverage[t.coverage["scenario"] != EXPECTED]
    val = cov["work_type"].map(inp.work_types["value_per_task"]).to_numpy(dtype=float)
    out["lost_value"] = pd.Series(cov["lost"].to_numpy() * val).groupby(cov["week"].to_numpy()).sum() \
        .reindex(weeks).fillna(0.0).to_numpy()
    out["demand_tasks"] = cov.groupby("week")["demand"].sum().reindex(weeks).fillna(0.0).to_numpy()
    out["completed_tasks"] = cov.groupby("week")["completed"].sum().reindex(weeks).fillna(0.0).to_numpy()
    d = out["demand_tasks"].to_numpy()
    out["completion_share"] = np.where(d > 1e-9, out["completed_tasks"].to_numpy() / np.maximum(d, 1e-300), 1.0)
    return out.reset_index()
