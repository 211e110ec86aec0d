"""Hours families, formulation.md eq 10-11 (block ``hours``).

See models/README.md#eq-10 and #eq-11. Eq 10 rows exist for every regional
unit (s, r) and for every (s, r) where s only trains or supervises a unit of
region r (then F[s,r] does not exist, so the dependants' training and
supervision hours must be 0 there). Rows with no hour-using term are omitted
(they would read -H*F <= 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.io.inputs import Inputs

from .core import Context
from .family import Dual, FamilySpec
from capacity.io.validate import is_blank

from .index import VAR_LEVELS
from .recheck import Check, Worst, eq, le, regional_attr, scenarios, work_with_terms, worst

BLOCK = "hours"


def _regional_cells(inputs, key) -> list:
    """Availability of the unit, its own training hours, and its dependants' training and supervision."""
    o, src, s, r = inputs.origin, inputs.sources, key["source"], key["region"]
    cells = [o.cell("availability", (s, r), key["week"])] if (s, r) in o.rows.get("availability", {}) else []
    if float(src.loc[s, "training_hours"] or 0) > 0:
        cells.append(o.cell("sources", s, "training_hours"))
    for col, amount in (("trainer", "training_hours"), ("supervisor", "supervision_ratio")):
        gives = src[amount].astype(float).to_numpy() > 0   # without a Series per test: read per short row
        cells += [o.cell("sources", dep, amount) for dep, giver, g in zip(src.index, src[col], gives)
                  if g and giver == s]
    return cells


# ---- audit checks: the rules re-checked from the result tables and the input alone
def check_hours(inputs: Inputs, t: dict) -> Worst:
    """eq 10/11: task + training + supervision hours <= productive hours x FTE."""
    plan = scenarios(t["plan"])
    H = inputs.settings.productive_hours
    wk = work_with_terms(inputs, t["work"])
    wk["region"] = np.where(wk["unit"].isin(inputs.contracts.index), "", wk["region"])
    keys = ["scenario", "week", "region", "unit"]
    idx = pd.MultiIndex.from_frame(plan[keys].fillna(""))
    task_hours = wk.groupby(keys)["task_hours"].sum().reindex(idx).fillna(0.0).to_numpy()
    training = regional_attr(inputs, plan, "training_hours").fillna(0.0) * plan["onboarded"]
    supervision = regional_attr(inputs, plan, "supervision_ratio").fillna(0.0) * H * plan["fte"]
    given = pd.Series(0.0, index=idx)
    for column, hours in (("trainer", training), ("supervisor", supervision)):
        d = plan.assign(unit=regional_attr(inputs, plan, column), hours=hours.to_numpy(float))
        given = given.add(d.dropna(subset=["unit"]).groupby(keys)["hours"].sum(), fill_value=0.0)
    lhs = task_hours + training.to_numpy(float) + given.reindex(idx).fillna(0.0).to_numpy()
    viol = np.maximum(le(lhs, H * plan["fte"].to_numpy(float)),
                      eq(plan["task_hours"], task_hours))  # the table's task_hours are also right
    return worst(viol, plan[keys])


HOURS_CHECK = Check("hours within capacity", "10/11", check_hours)


HOURS_LABEL = "hours (eq 10/11): value of one more productive hour"
HOURS_LEVELS = ("unit", "region", "week", "scenario")
REGIONAL = FamilySpec(
    BLOCK, "regional", "10", "<=", "regional hours",
    "sum_k a[s,k]*A[s,r,k,t] + training_hours[s]*O[s,r,t] + training given to trainees + supervision "
    "given <= H*F[s,r,t]",
    r"\sum_k a_{s,k} A_{s,r,k,t,w} + \tau_s O_{s,r,t,w} + \sum_{s': \mathrm{tr}(s') = s} \tau_{s'} O_{s',r,t,w}"
    r" + \sum_{s': \mathrm{sv}(s') = s} \sigma_{s'} H F_{s',r,t,w} \le H F_{s,r,t,w}",
    "A region's staff of a source have H productive hours each a week, shared between casework, their own "
    "training, training new colleagues and supervising others.",
    ("settings.hours_per_fte_week", "settings.productive_share", "skills.minutes_per_task",
     "skills.handoff_minutes", "sources.training_hours", "sources.trainer", "sources.supervisor",
     "sources.supervision_ratio"),
    slack_unit="hours", broken="more hours of work (casework, training, supervision) than its staff have",
    remedy="availability, training_hours or supervision_ratio",
    remedy_inputs="regional staff hours (availability, training_hours, supervision_ratio)",
    cells=_regional_cells, dual=Dual("hours", HOURS_LABEL, -1.0, unit="source", levels=HOURS_LEVELS), checks=(HOURS_CHECK,))
CONTRACT = FamilySpec(
    BLOCK, "contract", "11", "<=", "contract hours", "sum_{r,k} a[src(c),k]*A[c,r,k,t] <= H*N[c,t]",
    r"\sum_{r,k} a_{src(c),k} A_{c,r,k,t,w} \le H N_{c,t,w}",
    "A contract's staff have H productive hours each a week and can work for any region.",
    ("settings.hours_per_fte_week", "settings.productive_share", "skills.minutes_per_task",
     "skills.handoff_minutes"),
    slack_unit="hours", broken="more hours of work than the contract's staff have", remedy="max_fte",
    remedy_inputs="contract hours (contracts max_fte)",
    cells=lambda inputs, key: [inputs.origin.cell("contracts", key["contract"], "max_fte")],
    dual=Dual("hours", HOURS_LABEL, -1.0, unit="contract", region="", levels=HOURS_LEVELS), checks=(HOURS_CHECK,))

FAMILIES = (REGIONAL, CONTRACT)


def _rows_of(rowframe: pd.DataFrame, query: pd.DataFrame, on: list) -> np.ndarray:
    got = query[on].merge(rowframe[on + ["row"]], on=on, how="left")["row"]
    return got.fillna(-1).to_numpy(dtype=np.int64)


def _compact(ctx, spec, keys, levels, terms, rhs):
    """Keep only rows with at least one hour-using (positive) term."""
    n = len(keys)
    used = np.zeros(n, dtype=bool)
    for var, ri, vp, co in terms:
        ok = (ri >= 0) & (vp >= 0) & (np.broadcast_to(co, ri.shape) > 0)
        used[ri[ok]] = True
    new = np.cumsum(used) - 1
    out = []
    for var, ri, vp, co in terms:
        co = np.broadcast_to(np.asarray(co, dtype=float), ri.shape)
        ok = (ri >= 0)
        ok[ok] = used[ri[ok]]
        out.append((var, new[ri[ok]], vp[ok], co[ok]))
    return ctx.add_rows(spec, keys[used].reset_index(drop=True), levels, out, rhs)


def build(ctx: Context) -> None:
    """The rows of this module's families (see FAMILIES above)."""
    ix = ctx.ix
    H = ix.H
    src = ix.sources
    lvF = VAR_LEVELS["F"]
    rg = ix.regional
    work = ix.work

    # ---- eq 10 -----------------------------------------------------------------
    pairs = ix.hour_pairs[["source", "region"]]
    if len(pairs):
        weeks = pd.DataFrame({"week": np.arange(1, ix.weeks + 1)})
        base = pairs.merge(weeks, how="cross")
        rows = pd.concat([base.assign(scenario=w) for w in ix.scenarios], ignore_index=True)
        rows["row"] = np.arange(len(rows))
        terms = []
        # own casework: a[s,k]*A[s,r,k,t,w]
        ra = np.nonzero(~work["is_contract"].to_numpy())[0]
        wq = work.iloc[ra][["unit", "region", "week", "scenario", "a"]].rename(
            columns={"unit": "source"})
        terms.append(("A", _rows_of(rows, wq, lvF), ra, wq["a"].to_numpy()))
        rpos = np.arange(len(rg))
        # own training: training_hours[s]*O[s,r,t]
        th = rg["source"].map(src["training_hours"]).to_numpy(dtype=float)
        terms.append(("O", _rows_of(rows, rg, lvF), rpos, th))
        # dependants' training (trainer(s') = s) and supervision (supervisor(s') = s)
        trainer = rg["source"].map(src["trainer"])
        sup = rg["source"].map(src["supervisor"])
        ratio = rg["source"].map(src["supervision_ratio"]).to_numpy(dtype=float)
        for who, var, coef in ((trainer, "O", th), (sup, "F", ratio * H)):
            has = ~who.map(is_blank).to_numpy(dtype=bool)
            q = rg[lvF].copy()
            q["source"] = who.where(has, "\x00none")
            terms.append((var, _rows_of(rows, q, lvF), rpos, np.where(has, coef, 0.0)))
        # paid productive hours: -H*F[s,r,t]
        terms.append(("F", _rows_of(rows, rg, lvF), rpos, -H))
        _compact(ctx, REGIONAL, rows, lvF, terms, 0.0)

    # ---- eq 11 -----------------------------------------------------------------
    cw = ix.contract_weeks
    lvN = VAR_LEVELS["N"]
    if len(cw):
        rows = cw[lvN].copy()
        rows["row"] = np.arange(len(rows))
        ca = np.nonzero(work["is_contract"].to_numpy())[0]
        wq = work.iloc[ca][["unit", "week", "scenario", "a"]].rename(columns={"unit": "contract"})
        terms = [("A", _rows_of(rows, wq, lvN), ca, wq["a"].to_numpy()),
                 ("N", np.arange(len(cw)), np.arange(len(cw)), -H)]
        _compact(ctx, CONTRACT, rows, lvN, terms, 0.0)
