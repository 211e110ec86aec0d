"""Objective, formulation.md "Objective" (expected cost), and v2 section 4 (risk).

See models/README.md#objective. Kept as named parts (Pyomo Expressions on
the top model) so reports can split it:
``cost_fixed`` + ``cost_contract_staff`` + ``cost_regional_staff`` +
``cost_onboarding`` + ``cost_lost`` (+ ``cost_elastic_penalty`` in the
elastic model only).

Every part is built from :func:`cost_terms`, the one statement of what each
decision costs: per part, the variable, the cost of each of its columns if
its scenario happens (not weighted by the probability) and that scenario
(none for a first-stage column). The expected parts weight them by ``pi``; the
CVaR rows of :mod:`capacity.model.risk` sum them per scenario.

Version 2 section 4 (models/README.md#risk): with ``settings.risk_weight``
lambda > 0 the objective is ``(1 - lambda) x`` the expected parts ``+ lambda
x cost_cvar`` (``eta + 1/(1 - alpha) sum_w pi_w z_w``). The parts stay the
expected cost (``SolveResult.objective_parts``); each part's weight in the
objective is :func:`objective_weights`, which the matrix route
(:mod:`capacity.model.highs_route`) reads. With lambda = 0 there is no
``cost_cvar`` and every weight is 1: version 1's objective.

Version 2 section 1 (models/README.md#history): the parts are the cost to go,
weeks >= ``plan_from_week`` T (a contract's fixed cost unless it is sunk,
:func:`capacity.model.history.sunk_fixed_contracts`). Every cost of weeks < T
is sunk. The staff of those weeks is fixed (a constant), but their work (A, U)
is still chosen, so the solver also minimises ``sunk_lost``, the expected
value lost in the history weeks: it shares no row with the weeks >= T (the
staff of a history week is fixed), so it changes no decision of the plan, and
:mod:`capacity.model.solve` reports the objective without it (the cost to go).
With T = 1 ``sunk_lost`` is empty and the objective is version 1's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from . import history as hist
from . import risk
from .core import Context

PARTS = ("cost_fixed", "cost_contract_staff", "cost_regional_staff", "cost_onboarding",
         "cost_lost")
#: minimised with PARTS but not part of the reported objective (v2: the history weeks' lost value)
SUNK_PARTS = ("sunk_lost",)
#: the CVaR part of a risk-averse objective (v2 section 4; only when risk_weight > 0)
RISK_PART = "cost_cvar"
#: every named part the solver's objective may have, in its order (capacity.model.highs_route reads them)
OBJECTIVE_TERMS = PARTS + SUNK_PARTS + (RISK_PART,)


@dataclass
class CostTerm:
    """The cost of one variable's columns in one part: ``coef[i]`` is the cost of column ``i`` of
    ``var`` if scenario ``ix.scenarios[scenario[i]]`` happens (``scenario``: positions in the scenario
    list; None for a first-stage column, the same in every scenario)."""

    part: str
    var: str
    coef: np.ndarray
    scenario: np.ndarray | None


def cost_terms(ctx: Context) -> list[CostTerm]:
    """What each decision costs, per objective part (formulation.md's objective, unweighted)."""
    ix = ctx.ix
    con = ix.contracts
    src = ix.sources
    T = ix.T
    scenario_list = pd.Index(ix.scenarios)

    def code(frame):   # each row's scenario as its position in the scenario list
        return scenario_list.get_indexer(frame["scenario"])

    sunk = con["contract"].isin(hist.sunk_fixed_contracts(ctx.inputs)).to_numpy() if ctx.inputs is not None \
        else np.zeros(len(con), dtype=bool)
    out = [CostTerm("cost_fixed", "y", np.where(sunk, 0.0, con["fixed_cost"].to_numpy(dtype=float)), None)]
    cw = ix.contract_weeks
    go_c = cw["week"].to_numpy() >= T
    cost_c = cw["contract"].map(con.set_index("contract")["cost_per_fte_week"]).to_numpy(dtype=float)
    out.append(CostTerm("cost_contract_staff", "N", go_c * cost_c, code(cw)))
    rg = ix.regional
    go_r = rg["week"].to_numpy() >= T
    rs = code(rg)
    out.append(CostTerm("cost_regional_staff", "F",
                        go_r * rg["source"].map(src["cost_per_fte_week"]).to_numpy(dtype=float), rs))
    out.append(CostTerm("cost_onboarding", "O",
                        go_r * rg["source"].map(src["onboarding_cost"]).to_numpy(dtype=float), rs))
    val = ix.work_types["value_per_task"]
    un, work = ix.unserved, ix.work
    cu = un["work_type"].map(val).to_numpy(dtype=float)
    ca = work["work_type"].map(val).to_numpy(dtype=float) * work["loss"].to_numpy(dtype=float)
    go_u = un["week"].to_numpy() >= T
    go_a = work["week"].to_numpy() >= T
    us, ws = code(un), code(work)
    out += [CostTerm("cost_lost", "U", np.where(go_u, cu, 0.0), us),
            CostTerm("cost_lost", "A", np.where(go_a, ca, 0.0), ws),
            CostTerm("sunk_lost", "U", np.where(go_u, 0.0, cu), us),
            CostTerm("sunk_lost", "A", np.where(go_a, 0.0, ca), ws)]
    return out


def objective_weights(inputs) -> dict[str, float]:
    """Each named part's weight in the objective (v2 section 4): ``1 - lambda`` for the expected
    parts, ``lambda`` for ``cost_cvar`` (only when lambda > 0), 1 for the sunk part."""
    lam = risk.weight(inputs)
    w = {p: 1.0 - lam for p in PARTS}
    w.update({p: 1.0 for p in SUNK_PARTS})
    if lam > 0:
        w[RISK_PART] = lam
    return w


def _lin(objs, coefs):
    coefs = np.asarray(coefs, dtype=float)
    keep = coefs != 0
    return LinearExpression(constant=0, linear_coefs=coefs[keep].tolist(),
                            linear_vars=np.asarray(objs, dtype=object)[keep].tolist())


def add_objective(ctx: Context) -> dict[str, float]:
    """The named parts and the objective, from ``ctx.cost_terms``; returns the parts' weights
    (:func:`objective_weights`)."""
    m = ctx.m
    pi = np.array([ctx.ix.pi[w] for w in ctx.ix.scenarios], dtype=float)
    grouped: dict[str, tuple[list, list]] = {p: ([], []) for p in PARTS + SUNK_PARTS}
    for t in ctx.cost_terms:
        weighted = t.coef if t.scenario is None else pi[t.scenario] * t.coef
        grouped[t.part][0].append(ctx.objs[t.var])
        grouped[t.part][1].append(weighted)
    for name, (objs, coefs) in grouped.items():
        m.add_component(name, pyo.Expression(expr=_lin(np.concatenate(objs), np.concatenate(coefs))))
    weights = objective_weights(ctx.inputs)
    if RISK_PART in weights:
        m.add_component(RISK_PART, pyo.Expression(expr=risk.cvar_expression(ctx)))
    total = sum((m.component(n) if weights[n] == 1.0 else weights[n] * m.component(n))
                for n in OBJECTIVE_TERMS if n in weights)
    if ctx.elastic and ctx.penalty_terms:
        objs = np.concatenate(ctx.penalty_terms)
        m.cost_elastic_penalty = pyo.Expression(
            expr=_lin(objs, np.full(len(objs), ctx.penalty)))
        total = total + m.cost_elastic_penalty
    m.obj = pyo.Objective(expr=total, sense=pyo.minimize)
    return weights
