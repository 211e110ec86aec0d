"""The runs of a comparison: one independent solve each, returning a small record
(numbers and short tables, never Pyomo objects), and the stochastic measures' runs
(wait-and-see, expected value, EEV)."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from capacity.io.inputs import Inputs
from capacity.model.risk import tail_cvar as cvar  # noqa: F401  (compare's CVaR: the reporting route)

from .common import OK

# ============================================================ the jobs
@dataclass
class Job:
    """One solve, sent to a worker process (picklable: Inputs are plain frames)."""

    key: str                 # unique: 'base', 'variant:<name>', 'builtin:<name>', 'ws:<w>', 'ev', 'eev',
                             # 'flex:<c>', 'level:<c>', 'break_even:<row key>:<step>'
    kind: str                # base | variant | experiment | variants_file | builtin | flex | ws | ev | eev
                             # | level | break_even
    name: str
    inputs: Inputs
    fixed: dict | None = None
    measures: bool = True    # full measures (tables) or the optimum only
    first_stage: bool = False
    explain: bool = False    # name the infeasible constraint families
    cvar: float = 0.9
    mip_gap: float = 0.0
    free_level: tuple = ()   # contracts whose committed level is left to the model (its rows L = committed_fte*y
                             # dropped), keeping the pre-arranged start: the 'optimum level' search
    tag: Any = None          # the caller's (e.g. which break-even search a step belongs to)


def run_job(job: Job) -> dict:
    """Build, solve and measure one run; never raises (a failure is a record)."""
    from capacity.model import build_model, first_stage_values, risk
    from capacity.model.solve import solve

    t0 = time.perf_counter()
    rec: dict[str, Any] = {"key": job.key, "kind": job.kind, "name": job.name, "pid": os.getpid(),
                           "host": socket.gethostname(), "status": "error", "objective": None, "message": ""}
    try:
        built = build_model(job.inputs, fixed=job.fixed)
        _free_levels(built, job.free_level)
        res = solve(built, mip_gap=job.mip_gap, threads=1, duals=False, _explain=job.explain)
        rec.update(status=res.status, termination=res.termination, objective=expected_cost(job.inputs, res),
                   gap=res.gap, parts=dict(res.objective_parts), risk_weight=risk.weight(job.inputs),
                   risk_alpha=risk.alpha(job.inputs),
                   stats={k: res.stats.get(k) for k in ("variables", "constraints", "nonzeros", "binaries",
                                                        "solve_s", "solver_version")})
        if rec["risk_weight"] > 0:   # the optimum is (1 - lambda) E + lambda CVaR; "objective" stays E
            rec["risk_objective"] = res.objective
        if res.status == "infeasible":
            fams = ", ".join(res.infeasible_families or [])
            rec["message"] = "infeasible" + (f"; constraint families involved: {fams}" if fams else "")
        elif res.status not in OK:
            rec["message"] = f"no solution: {res.termination}"
        else:
            rec["paid_fte_weeks"] = paid_fte_weeks(job.inputs, res.values)
            rec["levels"] = {str(k): float(v) for k, v in res.values["L"].items()}
            if job.measures:
                rec.update(measures(job.inputs, built, res, job.cvar))
            if job.first_stage:
                rec["first_stage"] = first_stage_values(built, res.values)
    except Exception as exc:  # reported with the run; the other runs go on
        rec.update(status="error", message=f"{type(exc).__name__}: {exc}")
    rec["seconds"] = time.perf_counter() - t0
    return rec


def expected_cost(inputs: Inputs, res):
    """The run's expected cost, the figure every comparison, saving and break-even uses: the solver's
    optimum when ``settings.risk_weight`` is 0 (version 1, exactly as solved), else the sum of the
    objective's expected parts (the optimum is then (1 - lambda) E + lambda CVaR, v2 section 4)."""
    from capacity.model import risk

    if res.objective is None or risk.weight(inputs) == 0 or not res.objective_parts:
        return res.objective
    return float(sum(res.objective_parts.values()))


def _free_levels(built, contracts) -> None:
    """Drop the rows L[c] = committed_fte*y[c] (eq 4) of ``contracts``: the model chooses L, while the
    pre-arranged start (eq 2's exemption, keyed on the input's committed_fte) stays."""
    if not contracts:
        return
    block = built.model.component("contracts")
    rows = block.component("committed") if block is not None else None
    for c in contracts:
        if rows is None or c not in rows:
            raise ValueError(f"contract {c} has no committed level to free")
        rows[c].deactivate()


def paid_fte_weeks(inputs: Inputs, values: dict) -> dict:
    """Per contract: expected FTE-weeks paid, sum over scenarios and weeks of pi[w]*N[c,t,w] (the
    derivative of the expected cost with respect to the contract's cost_per_fte_week)."""
    out = {str(c): 0.0 for c in inputs.contracts.index}
    n = values.get("N")
    if n is None or not len(n):
        return out
    pi = inputs.scenarios["probability"]
    w = n.index.get_level_values("scenario").map(pi).to_numpy(dtype=float)
    weighted = pd.Series(n.to_numpy(dtype=float) * w, index=n.index.get_level_values("contract"))
    for c, v in weighted.groupby(level=0).sum().items():
        out[str(c)] = float(v)
    return out


def measures(inputs: Inputs, built, res, alpha: float) -> dict:
    """Expected cost parts, scenario costs, worst, CVaR (at ``alpha``, and at the input's own
    ``cvar_alpha`` with its value at risk: ``model_cvar``, ``value_at_risk``), completion, contracts.
    ``scenario_check``: |probability-weighted scenario totals - expected cost|; ``risk_check``, when
    risk_weight > 0: |(1 - lambda) E + lambda model_cvar - the solver's optimum|."""
    from capacity.model import risk
    from capacity.output.results import tabulate

    tables = tabulate(inputs, built, res)
    sc = scenario_costs(inputs, tables)
    worst = int(np.argmax(sc["total"].to_numpy())) if len(sc) else None
    summary = dict(zip(tables.summary["key"], tables.summary["value"]))
    con = tables.contracts
    expected = float((sc["total"] * sc["probability"]).sum())
    var, _ = risk.var_cvar(sc["total"], sc["probability"], risk.alpha(inputs))
    own = risk.tail_cvar(sc["total"], sc["probability"], risk.alpha(inputs))
    lam = risk.weight(inputs)
    checks = {"scenario_check": abs(expected - float(expected_cost(inputs, res)))}
    if lam > 0:
        checks["risk_check"] = abs((1 - lam) * expected + lam * own - float(res.objective))
    return {
        "scenario_costs": sc.to_dict("records"),
        "worst": float(sc["total"].iloc[worst]) if worst is not None else None,
        "worst_scenario": sc["scenario"].iloc[worst] if worst is not None else None,
        "cvar": cvar(sc["total"], sc["probability"], alpha),
        "model_cvar": own,
        "value_at_risk": var,
        "completion_share": float(summary["expected_completion_share"]),
        "contracts": [{"contract": r.contract, "signed": bool(r.signed), "committed_fte": float(r.committed_fte),
                       "utilisation": None if pd.isna(r.expected_utilisation) else float(r.expected_utilisation),
                       "expected_cost": float(r.expected_cost),
                       "paid_fte_weeks": float(r.expected_paid_hours) / inputs.settings.hours_per_fte_week,
                       "used_fte_weeks": float(r.expected_task_hours) / inputs.settings.productive_hours}
                      for r in con.itertuples(index=False)],
        **checks,
    }


def scenario_costs(inputs: Inputs, tables) -> pd.DataFrame:
    """Per scenario: the cost if it happens (:func:`capacity.output.results.scenario_costs`, the reporting copy)."""
    from capacity.output.results import scenario_costs as costs

    return costs(inputs, tables.plan, tables.coverage, tables.contracts)


# ------------------------------------------------- problems derived from the base
def single_scenario(inputs: Inputs, scenario) -> Inputs:
    """The input with only ``scenario``, at probability 1 (a wait-and-see problem)."""
    sc = inputs.scenarios.loc[[scenario]].copy()
    sc["probability"] = 1.0
    dm = inputs.demand[inputs.demand["scenario"] == scenario].reset_index(drop=True)
    return replace(inputs, scenarios=sc, demand=dm)


def expected_value_problem(inputs: Inputs, name: str = "mean") -> Inputs:
    """One scenario ``mean`` whose cases are the probability-weighted cases."""
    pi = inputs.scenarios["probability"]
    dm = inputs.demand.assign(cases=inputs.demand["cases"].to_numpy(dtype=float)
                              * inputs.demand["scenario"].map(pi).to_numpy(dtype=float))
    mean = dm.groupby(["region", "week"], sort=False)["cases"].sum().reset_index()
    mean.insert(0, "scenario", name)
    sc = pd.DataFrame({"probability": [1.0], "description": ["probability-weighted demand"]},
                      index=pd.Index([name], name=inputs.scenarios.index.name))
    return replace(inputs, scenarios=sc, demand=mean[["scenario", "region", "week", "cases"]])


def stochastic_jobs(base: Inputs) -> list[Job]:
    """The expected-value problem (``ev``) and one wait-and-see run per scenario (``ws:<w>``)."""
    jobs = [Job("ev", "ev", "expected-value problem", expected_value_problem(base), measures=False,
                first_stage=True)]
    jobs += [Job(f"ws:{w}", "ws", f"scenario {w} alone", single_scenario(base, w), measures=False)
             for w in base.scenarios.index]
    return jobs


def eev_job(base: Inputs, ev: dict) -> Job | None:
    """The stochastic problem with the ``ev`` record's first stage fixed (None if EV did not solve)."""
    if ev.get("status") not in OK or "first_stage" not in ev:
        return None
    return Job("eev", "eev", "expected-value first stage in the stochastic problem", base,
               fixed=ev["first_stage"], measures=False)
