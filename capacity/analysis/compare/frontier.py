"""The risk frontier of a comparison (v2.md section 4): expected cost against CVaR, one point per plan.

``capacity compare IN --vary settings:risk_weight=0,0.25,0.5,0.75,1`` solves one plan per risk
weight lambda; each minimises ``(1 - lambda) E[cost] + lambda CVaR_alpha(cost)`` at its own
``settings.cvar_alpha``. Sheet ``frontier`` (written whenever some run differs from the base in
``risk_weight`` or ``cvar_alpha``) has one row per such run and the base, sorted by risk weight:

- the risk weight and the CVaR level of the run (its own settings, the level its plan was made
  for: not ``--cvar``, which sets the comparison sheet's CVaR column);
- its expected cost (the record's ``objective``: always the expected cost, see
  :func:`capacity.analysis.compare.runs.expected_cost`), its CVaR at its own level
  (:func:`capacity.model.risk.var_cvar` of its scenario costs), its worst scenario and that cost;
- against the *reference*, the risk-neutral plan (risk weight 0: the base when it has weight 0,
  else the first weight-0 row; :func:`reference_index`): the extra expected cost (what the
  protection costs), the CVaR removed (the reference's CVaR taken at this row's level, minus this
  row's) and their ratio, the expected cost paid per unit of CVaR removed (blank when less than
  :data:`MIN_REDUCTION` is removed);
- the cost the plan minimised, ``(1 - lambda) E + lambda CVaR`` (the solver's optimum).

The chart (:func:`scatter_chart`) is a native scatter chart (points joined in order of risk
weight, each labelled with its weight) drawn from the sheet's own cells, written with the rest of
the workbook (:class:`capacity.output.report.ScatterSpec`).

``capacity audit`` re-checks every figure from sheet ``scenario_costs``
(:mod:`capacity.analysis.audit.compare_audit`).
"""

from __future__ import annotations

import math

import pandas as pd

from capacity.io.inputs import Inputs

from . import glossary as G
from .common import OK

SHEET = "frontier"
#: Settings whose edit puts a variant on the frontier.
RISK_KEYS = ("risk_weight", "cvar_alpha")
#: Less CVaR removed than this (currency units, or this share of the reference's CVaR, whichever is
#: larger) counts as none removed: the ratio is left blank (solver tolerances, not protection).
MIN_REDUCTION = 1.0
MIN_REDUCTION_REL = 1e-6
#: Columns of the frontier, left to right (their headers, formats and notes: glossary.FRONTIER).
COLUMNS = ("variant", "risk_weight", "cvar_alpha", "expected_cost", "cvar", "worst_scenario",
           "worst_scenario_cost", "extra_expected_cost", "cvar_reduction", "cost_per_cvar_removed",
           "risk_objective")


def risk_of(inputs: Inputs | None) -> tuple[float, float]:
    """(risk weight, CVaR level) of an input: its settings, 0 and 0.9 when absent."""
    from capacity.model import risk

    return risk.weight(inputs), risk.alpha(inputs)


def edits_risk(edits) -> bool:
    """Whether a variant's edits set ``settings.risk_weight`` or ``settings.cvar_alpha``."""
    return any(e.sheet == "settings" and str(e.id) in RISK_KEYS for e in edits or ())


def min_reduction(reference_cvar: float) -> float:
    return max(MIN_REDUCTION, MIN_REDUCTION_REL * abs(reference_cvar))


def reference_index(weights: list[float], names: list[str]) -> int | None:
    """The row the differences are taken against: the base if its risk weight is 0, else the first
    row (in the order given) with risk weight 0; None without one."""
    zero = [i for i, w in enumerate(weights) if w == 0]
    if not zero:
        return None
    base = [i for i in zero if names[i] == "base"]
    return base[0] if base else zero[0]


def differences(e: float, cvar: float, e_ref: float, cvar_ref_here: float) -> tuple[float, float, float | None]:
    """(extra expected cost, CVaR removed, expected cost per unit of CVaR removed) against the
    reference, whose CVaR ``cvar_ref_here`` is taken at this row's level."""
    extra, removed = e - e_ref, cvar_ref_here - cvar
    ratio = extra / removed if removed > min_reduction(cvar_ref_here) else None
    return extra, removed, ratio


def on_frontier(rows: list[dict], records: dict, meta: dict) -> list[dict]:
    """The comparison rows of the frontier (the base first, then in table order): the base and every
    solved run whose risk weight or CVaR level differs from the base's, or whose edits set one;
    empty when none differs."""
    base = records.get("base", {})
    if base.get("status") not in OK:
        return []
    key0 = (base.get("risk_weight", 0.0), base.get("risk_alpha", 0.9))
    chosen, differ = [rows[0]], False
    for row in rows[1:]:
        rec = records.get(row["key"], {})
        if rec.get("status") not in OK or "risk_weight" not in rec or rec.get("kind") not in (
                "variant", "experiment", "variants_file"):
            continue
        other = (rec["risk_weight"], rec["risk_alpha"]) != key0
        differ = differ or other
        if other or meta.get(row["key"], {}).get("risk_edit"):
            chosen.append(row)
    return chosen if differ else []


def frontier_table(rows: list[dict], records: dict, meta: dict) -> pd.DataFrame | None:
    """The frontier (see the module doc), or None when no run differs from the base in risk."""
    from capacity.model.risk import tail_cvar

    chosen = on_frontier(rows, records, meta)
    if not chosen:
        return None
    recs = [records[r["key"]] for r in chosen]
    order = sorted(range(len(chosen)), key=lambda i: (recs[i]["risk_weight"], recs[i]["risk_alpha"], i))
    chosen, recs = [chosen[i] for i in order], [recs[i] for i in order]
    names = [r["name"] for r in chosen]
    ref = reference_index([r["risk_weight"] for r in recs], names)
    out = []
    for row, rec in zip(chosen, recs):
        lam, a = rec["risk_weight"], rec["risk_alpha"]
        e = float(rec["objective"])
        cv = float(rec["model_cvar"])
        r = {"variant": row["name"], "risk_weight": lam, "cvar_alpha": a, "expected_cost": e, "cvar": cv,
             "worst_scenario": rec.get("worst_scenario"), "worst_scenario_cost": rec.get("worst"),
             "extra_expected_cost": None, "cvar_reduction": None, "cost_per_cvar_removed": None,
             "risk_objective": float(rec["risk_objective"]) if lam > 0 else e}
        if ref is not None:
            rr = recs[ref]
            sc = pd.DataFrame(rr["scenario_costs"])
            ref_here = tail_cvar(sc["total"], sc["probability"], a)
            r["extra_expected_cost"], r["cvar_reduction"], r["cost_per_cvar_removed"] = differences(
                e, cv, float(rr["objective"]), ref_here)
        out.append(r)
    df = pd.DataFrame(out, columns=list(COLUMNS))
    for c in ("extra_expected_cost", "cvar_reduction", "cost_per_cvar_removed"):
        df[c] = df[c].astype(object)
    df.attrs["reference"] = names[ref] if ref is not None else None
    df.attrs["other_edits"] = [r["name"] for r in chosen if r["name"] != "base"
                               and not meta.get(r["key"], {}).get("risk_only", True)]
    return df


# ============================================================ in words
def reading(frontier: pd.DataFrame, currency: str) -> str:
    """How to read the sheet, in words (its A1 note, and read_me_first's risk section)."""
    cur = G.currency_text(currency)
    ref = frontier.attrs.get("reference")
    levels = sorted(set(float(a) for a in frontier["cvar_alpha"]))
    level = (f"at the level each plan was made for ({', '.join(G.alpha_text(a) for a in levels)}; settings "
             "cvar_alpha)" if len(levels) > 1 else
             f"at {G.alpha_text(levels[0])} (settings cvar_alpha, the level the plans were made for): the average "
             f"cost over the worst {G.tail_text(levels[0])} of probability")
    text = (f"What protection against a bad scenario costs. Each row is one plan. Its risk weight says what the "
            "plan minimises: at 0 the expected cost alone (the plain plan), at 1 the CVaR alone, in between "
            f"(1 - weight) x expected cost + weight x CVaR. CVaR is {level}; the comparison sheet's CVaR column "
            "is at --cvar instead. Down the table, each plan pays more on average (extra expected cost) to cost "
            "less when demand turns out badly (CVaR removed); the last column divides one by the other: the "
            f"expected {cur} paid per {cur} of CVaR removed. A low ratio is cheap protection; where it climbs, more "
            "protection is dear.")
    if ref is not None:
        text += (f" Differences are against '{ref}' (risk weight 0), its CVaR taken at each row's level.")
    else:
        text += " No run has risk weight 0, so no difference is given."
    others = frontier.attrs.get("other_edits") or []
    if others:
        text += (f" {', '.join(others)} also change{'s' if len(others) == 1 else ''} other input cells (column "
                 "Edits of sheet comparison): their differences include those changes.")
    if (frontier["risk_weight"] == 1).any():
        text += (" At risk weight 1 the plan weighs the worst outcomes only: the other scenarios' costs count for "
                 "nothing while they stay below the value at risk, so its expected cost is that of one of many plans "
                 "with the same CVaR, not the cheapest of them; a weight just below 1 (0.99, 0.999) shows what that "
                 "protection costs at the least.")
    text += (" The chart below plots expected cost against CVaR, one point per plan, joined in order of risk "
             "weight.")
    return text


# ============================================================ the chart
def _nice(lo: float, hi: float) -> tuple[float, float, float]:
    """Axis bounds around [lo, hi] with a margin, and a round major unit (about 5 steps)."""
    span = hi - lo
    if span <= 0:
        span = max(abs(hi) * 0.02, 1.0)
    raw = span / 4
    mag = 10 ** math.floor(math.log10(raw))
    unit = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return math.floor((lo - 0.2 * span) / unit) * unit, math.ceil((hi + 0.2 * span) / unit) * unit, unit


def scatter_chart(frontier: pd.DataFrame, currency: str, anchor: str, sheet: str = SHEET):
    """The frontier as a native scatter chart (:class:`capacity.output.report.ScatterSpec`) over the
    sheet's cells: expected cost (y) against CVaR (x), one series through every point in order of risk
    weight, and per distinct point an unlined one labelled with its risk weight."""
    from capacity.output.report import ScatterSpec
    from capacity.output.report_cells import money_format

    cur = G.currency_text(currency)
    x = frontier["cvar"].astype(float)
    y = frontier["expected_cost"].astype(float)
    millions = max(x.abs().max(), y.abs().max()) >= 10e6
    money = money_format(currency)
    unit_words = f"{cur}m" if millions else cur
    levels = sorted(set(float(a) for a in frontier["cvar_alpha"]))
    at = (f"{G.alpha_text(levels[0])}, {unit_words}: the average cost over the worst {G.tail_text(levels[0])} of "
          "probability" if len(levels) == 1 else f"at each plan's own level, {unit_words}: the average cost of its "
          "worst outcomes")
    bounds = {}
    for name, vals in (("x", x), ("y", y)):
        lo, hi, unit = _nice(float(vals.min()), float(vals.max()))
        bounds[name] = (lo, hi, unit)
    labels, seen = [], set()
    for i in range(len(frontier)):
        point = (round(float(x.iat[i]), 2), round(float(y.iat[i]), 2))
        if point in seen:
            continue
        seen.add(point)
        labels.append((i, f"weight {frontier['risk_weight'].iat[i]:g}" + (
            f", CVaR {G.alpha_text(float(frontier['cvar_alpha'].iat[i]))}" if len(levels) > 1 else "")))
    head = {name: G.header_of(G.FRONTIER_BY_NAME[name], currency, 0.9) for name in ("cvar", "expected_cost")}
    return ScatterSpec(sheet, anchor, "Risk frontier: expected cost against CVaR", x=head["cvar"],
                       y=head["expected_cost"], x_title=f"CVaR {at}", y_title=f"Expected cost, {unit_words}",
                       x_format=_axis_format(money, bounds["x"][2], millions),
                       y_format=_axis_format(money, bounds["y"][2], millions),
                       x_bounds=bounds["x"], y_bounds=bounds["y"], labels=labels)


def _axis_format(money: str, unit: float, millions: bool) -> str:
    """The money format of an axis whose ticks are ``unit`` apart: in millions (as many decimals as the
    unit needs, at least one: £349.125m, not £349.1m twice) when ``millions``."""
    if not millions or "#,##0" not in money:
        return money
    u = unit / 1e6
    d = next((k for k in range(0, 7) if abs(round(u, k) - u) <= 1e-9 * max(1.0, u)), 6)
    return money.replace("#,##0", "#,##0." + "0" * max(1, d) + ',,"m"', 1)
