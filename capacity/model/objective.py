"""Objective, formulation.md "Objective" (expected cost).

See models/README.md#objective. Kept as named parts (Pyomo Expressions on
the top model) so reports can split it:
``cost_fixed`` + ``cost_contract_staff`` + ``cost_regional_staff`` +
``cost_onboarding`` + ``cost_lost`` (+ ``cost_elastic_penalty`` in the
elastic model only).
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from .core import Context

PARTS = ("cost_fixed", "cost_contract_staff", "cost_regional_staff", "cost_onboarding",
         "cost_lost")


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
    parts = {}
    parts["cost_fixed"] = _lin(ctx.objs["y"], con["fixed_cost"].to_numpy(dtype=float))
    cw = ix.contract_weeks
    cost_c = cw["contract"].map(con.set_index("contract")["cost_per_fte_week"])
    parts["cost_contract_staff"] = _lin(ctx.objs["N"], cw["scenario"].map(pi) * cost_c)
    rg = ix.regional
    prg = rg["scenario"].map(pi).to_numpy(dtype=float)
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
    parts["cost_lost"] = _lin(np.concatenate([ctx.objs["U"], ctx.objs["A"]]),
                              np.concatenate([cu, ca]))
    for name, expr in parts.items():
        m.add_component(name, pyo.Expression(expr=expr))
    total = sum(m.component(n) for n in PARTS)
    if ctx.elastic and ctx.penalty_terms:
        objs = np.concatenate(ctx.penalty_terms)
        m.cost_elastic_penalty = pyo.Expression(
            expr=_lin(objs, np.full(len(objs), ctx.penalty)))
        total = total + m.cost_elastic_penalty
    m.obj = pyo.Objective(expr=total, sense=pyo.minimize)
