"""Risk: the CVaR of the scenario costs in the objective, version 2 section 4 (block ``risk``).

See models/README.md#risk. With ``settings.risk_weight`` lambda > 0 the plan
minimises ``(1 - lambda) E[cost] + lambda CVaR_alpha(cost)`` (alpha:
``settings.cvar_alpha``), where ``cost_w`` is the cost to go if scenario ``w``
happens: the fixed contract costs plus scenario ``w``'s costs of the
objective (:func:`capacity.model.objective.cost_terms`, unweighted). The
CVaR is Rockafellar and Uryasev's: ``CVaR = eta + 1/(1 - alpha) sum_w pi_w
z_w`` with ``z_w >= cost_w - eta`` (the rows of this block, one per
scenario), ``z_w >= 0`` and ``eta`` free. At the optimum ``eta`` is a value at
risk (the alpha-quantile of the scenario costs) and ``z_w`` the excess of
scenario ``w``'s cost over it.

With lambda = 0 nothing here is built: the model is version 1's.

The dual of scenario ``w``'s row, ``nu_w`` (0 <= nu_w <= lambda pi_w /
(1 - alpha), sum nu_w = lambda), makes ``q_w = (1 - lambda) pi_w + nu_w`` the
weight the plan gives scenario ``w`` (its *risk-adjusted probability*);
:mod:`capacity.model.solve` divides the shadow prices by ``q_w`` instead of
``pi_w``, so that they stay conditional on the scenario.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from capacity.io.inputs import Inputs

from .core import Context
from .family import FamilySpec
from .recheck import EXPECTED, Check, Worst, expected_costs, worst

BLOCK = "risk"
#: the index of eta (one value)
ETA_KEY = "var"


def weight(inputs: Inputs | None) -> float:
    """lambda: ``settings.risk_weight`` (0 without inputs or for a workbook without it)."""
    if inputs is None:
        return 0.0
    return float(getattr(inputs.settings, "risk_weight", 0.0) or 0.0)


def alpha(inputs: Inputs | None) -> float:
    """alpha: ``settings.cvar_alpha`` (0.9 when absent)."""
    a = getattr(inputs.settings, "cvar_alpha", 0.9) if inputs is not None else 0.9
    return 0.9 if a is None else float(a)


def active(inputs: Inputs | None) -> bool:
    """Whether the model has the CVaR variables and rows (lambda > 0)."""
    return weight(inputs) > 0


# ---- the CVaR of a discrete distribution, from the costs alone, by two routes: the reports use the tail
# sum (tail_cvar), the checks and the audits the minimum (var_cvar), so that each re-checks the other
def tail_cvar(costs, probabilities, a: float) -> float:
    """CVaR at level ``a`` of a discrete cost distribution: the expected cost in the worst ``1 - a`` of
    probability, costs taken from the highest down until that mass is filled, the last atom only in
    part. ``a = 0`` gives the expectation; ``a`` -> 1 the worst cost. The reporting route."""
    x = np.asarray(costs, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    if len(x) == 0:
        return float("nan")
    if not 0 <= a < 1:
        raise ValueError("alpha must lie in [0, 1)")
    tail = 1.0 - a
    taken, total = 0.0, 0.0
    for i in np.argsort(-x, kind="stable"):
        take = min(p[i], tail - taken)
        if take <= 0:
            break
        total += take * x[i]
        taken += take
    return total / taken if taken > 0 else float(x.max())


def var_cvar(costs, probabilities, a: float) -> tuple[float, float]:
    """(VaR, CVaR) at level ``a`` of a discrete cost distribution, by Rockafellar and Uryasev's
    minimum: ``CVaR = min_eta eta + E[(cost - eta)+] / (1 - a)``; the minimum is reached at a
    scenario's cost, and VaR is the smallest such minimiser (the a-quantile). The checking route
    (and the value at risk of a plan made without the CVaR)."""
    c = np.asarray(costs, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    if len(c) == 0:
        return float("nan"), float("nan")
    vals = c + (np.maximum(c[None, :] - c[:, None], 0.0) @ p) / (1.0 - a)   # at eta = each cost
    best = float(vals.min())
    tol = 1e-12 * max(1.0, abs(best))
    eta = float(np.min(c[vals <= best + tol]))
    return eta, best


def in_tail(costs, probabilities, eta: float, a: float) -> np.ndarray:
    """Whether each scenario's cost counts in the CVaR: 'yes' above the value at risk ``eta``; 'partly' at
    it when only part of its probability lies in the worst ``1 - a``; 'no' otherwise."""
    c = np.asarray(costs, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    tol = 1e-9 * max(1.0, abs(eta)) if np.isfinite(eta) else 0.0
    above = c > eta + tol
    room = (1 - a) - float(p[above].sum())   # the tail's probability left for the scenarios at eta
    return np.where(above, "yes", np.where((np.abs(c - eta) <= tol) & (room > 1e-12), "partly", "no"))


def tail_weights(costs, probabilities, eta: float, lam: float, a: float) -> np.ndarray:
    """nu_w from the costs (when no dual is at hand): lambda pi_w / (1 - a) for a cost above ``eta``,
    0 below it, and what is left of lambda shared by the scenarios at ``eta``, by probability."""
    c = np.asarray(costs, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    tol = 1e-9 * max(1.0, abs(eta))
    above, at = c > eta + tol, np.abs(c - eta) <= tol
    nu = np.where(above, lam * p / (1.0 - a), 0.0)
    left = max(0.0, lam - float(nu.sum()))
    if at.any() and p[at].sum() > 0:
        nu[at] = left * p[at] / p[at].sum()
    return nu


# ---- audit check: the rows re-checked from the result tables and the input alone
def check_tail(inputs: Inputs, t: dict) -> Worst:
    """v2 section 4: with lambda > 0, z_w = max(0, cost_w - eta) for each scenario (cost_w recomputed
    from the tables' quantities and the input's prices), and eta + sum pi z / (1 - alpha) is the CVaR of
    those costs; the risk-adjusted probabilities q_w = (1 - lambda) pi_w + nu_w have nu_w within
    [0, lambda pi_w / (1 - alpha)], 0 below eta, at the top above it, and sum to 1."""
    risk = t.get("risk")
    lam, a = weight(inputs), alpha(inputs)
    if risk is None or len(risk) == 0:
        return Worst(0, 0.0, "") if lam == 0 else Worst(1, float("inf"), "no risk sheet")
    costs = expected_costs(inputs, t)["by_scenario"]
    r = risk.set_index("scenario")
    scen = list(inputs.scenarios.index)
    pi = inputs.scenarios["probability"].to_numpy(dtype=float)
    c = np.array([costs[w] for w in scen])
    z = pd.to_numeric(r["excess_over_var"].reindex(scen), errors="coerce").to_numpy(dtype=float)
    q = pd.to_numeric(r["risk_adjusted_probability"].reindex(scen), errors="coerce").to_numpy(dtype=float)
    summary = dict(zip(t["summary"]["key"], t["summary"]["value"]))
    eta = float(summary.get("value_at_risk", np.nan))
    cvar = float(summary.get("cvar", np.nan))
    scale = max(1.0, float(np.max(np.abs(c))) if len(c) else 1.0)
    viol = np.abs(z - np.maximum(c - eta, 0.0)) / scale
    _, want = var_cvar(c, pi, a)
    viol_cvar = abs(eta + float(np.sum(pi * z)) / (1 - a) - want) / scale
    viol_reported = abs(cvar - want) / scale
    nu = q - (1 - lam) * pi
    top = lam * pi / (1 - a)
    tol = 1e-9 * scale
    bad_nu = np.maximum.reduce([np.maximum(-nu, 0.0), np.maximum(nu - top, 0.0),
                                np.where(c < eta - tol, np.abs(nu), 0.0),
                                np.where(c > eta + tol, np.abs(nu - top), 0.0)])
    all_viol = np.concatenate([viol, bad_nu, [viol_cvar, viol_reported, abs(float(np.sum(q)) - 1.0)]])
    labels = pd.DataFrame({"scenario": scen * 2 + [EXPECTED] * 3,
                           "figure": ["excess_over_var"] * len(scen) + ["risk_adjusted_probability"] * len(scen)
                           + ["value_at_risk + sum pi x excess / (1 - alpha)", "summary cvar",
                              "sum of risk_adjusted_probability"]})
    return worst(all_viol, labels)


CHECK = Check("CVaR: excess over the value at risk, and the risk-adjusted probabilities", "v2.4", check_tail)

TAIL = FamilySpec(
    BLOCK, "tail", "v2.4", ">=", "CVaR tail excess",
    "z[w] + eta - cost[w] >= 0 for each scenario w, where cost[w] = sum_c fixed_cost[c] y[c] + the scenario's "
    "staff, onboarding and lost-value costs from plan_from_week on",
    r"z_w \ge \mathrm{cost}_w - \eta,\quad z_w \ge 0",
    "With risk_weight > 0: z[w] is how far scenario w's cost is above eta, the value at risk; the CVaR, eta + "
    "sum_w pi[w] z[w] / (1 - cvar_alpha), is the expected cost of the worst 1 - cvar_alpha of probability.",
    ("settings.risk_weight", "settings.cvar_alpha", "scenarios.probability"), checks=(CHECK,))

FAMILIES = (TAIL,)


def add_variables(ctx: Context) -> None:
    """``eta`` (free, one value) and ``z`` (>= 0, one per scenario), when lambda > 0."""
    if not active(ctx.inputs):
        return
    ctx.add_var("eta", pd.DataFrame({"risk": [ETA_KEY]}), ["risk"], domain=pyo.Reals,
                doc="value at risk (v2 section 4)")
    ctx.add_var("z", pd.DataFrame({"scenario": list(ctx.ix.scenarios)}), ["scenario"],
                doc="excess of a scenario's cost over eta (v2 section 4)")


def cvar_expression(ctx: Context) -> LinearExpression:
    """``eta + 1/(1 - alpha) sum_w pi_w z_w``."""
    pi = ctx.ix.pi
    a = alpha(ctx.inputs)
    zc = [pi[w] / (1.0 - a) for w in ctx.ix.scenarios]
    return LinearExpression(constant=0, linear_coefs=[1.0] + zc,
                            linear_vars=[ctx.objs["eta"][0]] + ctx.objs["z"].tolist())


def build(ctx: Context) -> None:
    """The rows ``z_w + eta - cost_w >= 0`` (see TAIL above), when lambda > 0."""
    if not active(ctx.inputs):
        return
    from .objective import PARTS

    scen = list(ctx.ix.scenarios)
    S = len(scen)
    terms = [("z", np.arange(S), np.arange(S), 1.0), ("eta", np.arange(S), np.zeros(S, dtype=np.int64), 1.0)]
    for t in ctx.cost_terms:
        if t.part not in PARTS:
            continue
        n = len(t.coef)
        if t.scenario is None:   # first stage: in every scenario's cost
            terms.append((t.var, np.repeat(np.arange(S), n), np.tile(np.arange(n), S), np.tile(-t.coef, S)))
        else:   # scenario w's cost is in row w
            terms.append((t.var, t.scenario, np.arange(n), -t.coef))
    ctx.add_rows(TAIL, pd.DataFrame({"scenario": scen}), ["scenario"], terms, 0.0)
