"""Objective, formulation.md "Objective" (expected cost).

See models/README.md#objective. Kept as named parts (Pyomo Expressions on
the top model) so reports can split it:
``cost_fixed`` + ``cost_contract_staff`` + ``cost_regional_staff`` +
``cost_onboarding`` + ``cost_lost`` (+ ``cost_elastic_penalty`` in the
elastic model only).

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

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from . import history as hist
from .core import Context

PARTS = ("cost_fixed", "cost_contract_staff", "cost_regional_staff", "cost_onboarding",
         "cost_lost")
#: minimised with PARTS but not part of the reported objective (v2: the history weeks' lost value)
SUNK_PARTS = ("sunk_lost",)
#: every named part of the solver's objective, in its order (capacity.model.highs_route reads them)
OBJECTIVE_TERMS = PARTS + SUNK_PARTS


def _lin(objs, coefs):
    coefs = np.asarray(coefs, dtype=float)
    keep = coefs != 0
    return LinearExpression(constant=0, linear_coefs=coefs[keep].tolist(),
                            linear_vars=np.asarray(objs, dtype=object)[keep].tolist())


def add_objective(ctx: Context) -> None:
    ix, m = ctx.ix, ctx.m
    pi = ix.pi
    con = ix.contracts
    src = ix.sources
    T = ix.T
    parts = {}
    sunk = con["contract"].isin(hist.sunk_fixed_contracts(ctx.inputs)).to_numpy() if ctx.inputs is not None \
        else np.zeros(len(con), dtype=bool)
    parts["cost_fixed"] = _lin(ctx.objs["y"], np.where(sunk, 0.0, con["fixed_cost"].to_numpy(dtype=float)))
    cw = ix.contract_weeks
    go_c = cw["week"].to_numpy() >= T
    cost_c = cw["contract"].map(con.set_index("contract")["cost_per_fte_week"]).to_numpy(dtype=float)
    parts["cost_contract_staff"] = _lin(ctx.objs["N"], go_c * cw["scenario"].map(pi).to_numpy(dtype=float) * cost_c)
    rg = ix.regional
    prg = rg["scenario"].map(pi).to_numpy(dtype=float) * (rg["week"].to_numpy() >= T)
    parts["cost_regional_staff"] = _lin(
        ctx.objs["F"], prg * rg["source"].map(src["cost_per_fte_week"]).to_numpy(dtype=float))
    parts["cost_onboarding"] = _lin(
        ctx.objs["O"], prg * rg["source"].map(src["onboarding_cost"]).to_numpy(dtype=float))
    val = ix.work_types["value_per_task"]
    un, work = ix.unserved, ix.work
    cu = un["scenario"].map(pi).to_numpy(dtype=float) * un["work_type"].map(val).to_numpy(
        dtype=float)
    ca = (work["scenario"].map(pi).to_numpy(dtype=float)
          * work["work_type"].map(val).to_numpy(dtype=float) * work["loss"].to_numpy(dtype=float))
    objs = np.concatenate([ctx.objs["U"], ctx.objs["A"]])
    coefs = np.concatenate([cu, ca])
    go = np.concatenate([un["week"].to_numpy(), work["week"].to_numpy()]) >= T
    parts["cost_lost"] = _lin(objs, np.where(go, coefs, 0.0))
    parts["sunk_lost"] = _lin(objs, np.where(go, 0.0, coefs))
    for name, expr in parts.items():
        m.add_component(name, pyo.Expression(expr=expr))
    total = sum(m.component(n) for n in OBJECTIVE_TERMS)
    if ctx.elastic and ctx.penalty_terms:
        objs = np.concatenate(ctx.penalty_terms)
        m.cost_elastic_penalty = pyo.Expression(
            expr=_lin(objs, np.full(len(objs), ctx.penalty)))
        total = total + m.cost_elastic_penalty
    m.obj = pyo.Objective(expr=total, sense=pyo.minimize)
