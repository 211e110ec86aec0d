"""Demand families, formulation.md eq 12-13 (block ``demand``).

See models/README.md#eq-12 and #eq-13. Rows exist only where demand
D[r,k,t,w] can be positive (the ``unserved`` index, closed along escalation
links); elsewhere D = 0 and no A or U variable exists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.io.inputs import Inputs

from .core import Context
from .family import Dual, FamilySpec
from .index import VAR_LEVELS
from .recheck import Check, Worst, eq, le, past, scenarios, work_with_terms, worst

BLOCK = "demand"


def _able_cells(inputs, k: str, r: str, t: int) -> list:
    """The cells that bound the staff able to do work type ``k`` in region ``r``, week ``t``."""
    o = inputs.origin
    cells = []
    sk = inputs.skills.reset_index()
    kinds = inputs.sources["kind"]
    for s in sk.loc[sk["work_type"] == k, "source"]:
        if kinds.get(s) == "contractor":
            cells += [o.cell("contracts", c, "max_fte") for c in inputs.contracts.index[inputs.contracts["source"] == s]]
        elif (s, r) in o.rows.get("availability", {}):
            cells.append(o.cell("availability", (s, r), t))
    return cells


def _completion_cells(inputs, key) -> list:
    o, k, r, w, t = inputs.origin, key["work_type"], key["region"], key["scenario"], key["week"]
    return ([o.cell("work_types", k, "min_completion_share"), o.cell("demand", (w, r), t)]
            + _able_cells(inputs, k, r, t))


# ---- audit checks: the rules re-checked from the result tables and the input alone
def check_demand_recomputed(inputs: Inputs, t: dict) -> Worst:
    """eq 12: D = cases x tasks_per_case + escalated failures arriving."""
    cov = scenarios(t["coverage"])
    wk = work_with_terms(inputs, t["work"])
    wk["esc_to"] = wk["work_type"].map(inputs.work_types["escalates_to"])
    keys = ["scenario", "region", "week"]
    cases = inputs.demand.set_index(keys)["cases"]
    base = (cases.reindex(pd.MultiIndex.from_frame(cov[keys])).fillna(0.0).to_numpy()
            * cov["work_type"].map(inputs.work_types["tasks_per_case"]).to_numpy(float))
    arriving = wk.dropna(subset=["esc_to"]).groupby(["scenario", "region", "esc_to", "week"])["escalated"].sum()
    idx = pd.MultiIndex.from_frame(cov[["scenario", "region", "work_type", "week"]])
    rhs = base + arriving.reindex(idx).fillna(0.0).to_numpy()
    return worst(eq(cov["demand"], rhs), cov[["scenario", "week", "region", "work_type"]])


def check_demand_balance(inputs: Inputs, t: dict) -> Worst:
    """eq 12: demand = completed + escalated onward + lost (attempted + unattempted)."""
    cov = scenarios(t["coverage"])
    keys = ["scenario", "week", "region", "work_type"]
    esc = scenarios(t["work"]).groupby(keys)["escalated"].sum()
    out = esc.reindex(pd.MultiIndex.from_frame(cov[keys])).fillna(0.0).to_numpy()
    return worst(eq(cov["completed"].to_numpy(float) + out + cov["lost"].to_numpy(float), cov["demand"]),
                  cov[keys])


def check_work_consistent(inputs: Inputs, t: dict) -> Worst:
    """completed / escalated / lost of each work row follow from attempted, p and e."""
    wk = work_with_terms(inputs, t["work"])
    p, e, a = wk["success_rate"].to_numpy(float), wk["escalation_share"].to_numpy(float), wk["attempted"].to_numpy(float)
    viol = np.maximum.reduce([eq(wk["completed"], p * a), eq(wk["escalated"], (1 - p) * e * a),
                              eq(wk["lost"], (1 - p) * (1 - e) * a)]) if len(wk) else np.zeros(0)
    return worst(viol, wk[["scenario", "week", "region", "work_type", "unit"]])


def check_completion_target(inputs: Inputs, t: dict) -> Worst:
    """eq 13: completed >= min_completion_share x demand, from week plan_from_week on (a history
    week's staff was what it was)."""
    cov = scenarios(t["coverage"])
    mcs = cov["work_type"].map(inputs.work_types["min_completion_share"]).to_numpy(float)
    mcs = np.where(past(inputs, cov), 0.0, mcs)
    return worst(le(mcs * cov["demand"].to_numpy(float), cov["completed"]),
                  cov[["scenario", "week", "region", "work_type"]])


DEMAND_CHECKS = (Check("demand recomputed from cases and escalations", "12", check_demand_recomputed),
                 Check("demand balance", "12", check_demand_balance),
                 Check("work rows: completed/escalated/lost from attempted", "12", check_work_consistent))
COMPLETION_CHECK = Check("completion targets", "13", check_completion_target)


BALANCE = FamilySpec(
    BLOCK, "balance", "12", "==", "demand balance",
    "sum_u A[u,r,k,t] + U[r,k,t] = cases[r,t]*tasks_per_case[k] + escalated failures arriving at k",
    r"\sum_u A_{u,r,k,t,w} + U_{r,k,t,w} = c_{w,r,t}\, q_k + \sum_u \sum_{k': esc(k') = k} (1-p)\, e\, A_{u,r,k',t,w}",
    "Every task of the week is either attempted by someone or left unattempted; failed tasks that escalate "
    "arrive the same week at the next tier.",
    ("demand.<week>", "work_types.tasks_per_case", "work_types.escalates_to", "skills.success_rate",
     "skills.escalation_share"),
    dual=Dual("demand", "demand (eq 12): marginal cost of one more task", 1.0), checks=DEMAND_CHECKS)
COMPLETION = FamilySpec(
    BLOCK, "completion", "13", ">=", "completion target",
    "sum_u p[src(u),k]*A[u,r,k,t] >= min_completion_share[k]*D[r,k,t] where min_completion_share > 0",
    r"\sum_u p_{src(u),k} A_{u,r,k,t,w} \ge \mu_k D_{r,k,t,w}",
    "In every region and week, at least the target share of the work type's tasks must be completed.",
    ("work_types.min_completion_share", "skills.success_rate"),
    slack_unit="tasks", broken="completion target missed",
    remedy="min_completion_share, or the able staff's availability", remedy_inputs="completion targets",
    cells=_completion_cells, checks=(COMPLETION_CHECK,))

FAMILIES = (BALANCE, COMPLETION)


def build(ctx: Context) -> None:
    """The rows of this module's families (see FAMILIES above)."""
    ix = ctx.ix
    un = ix.unserved
    work = ix.work
    lv = VAR_LEVELS["U"]
    n = len(un)
    if n == 0:
        return
    rows = un[lv].copy()
    rows["row"] = np.arange(n)
    q = work[["region", "work_type", "week", "scenario"]]
    own_row = q.merge(rows, on=lv, how="left")["row"].to_numpy(dtype=np.int64)
    apos = np.arange(len(work))
    esc = work["esc"].to_numpy(dtype=float)
    has_esc = np.nonzero(esc > 0)[0]
    qe = work.iloc[has_esc][["region", "esc_to", "week", "scenario"]].rename(
        columns={"esc_to": "work_type"})
    esc_row = qe.merge(rows, on=lv, how="left")["row"].fillna(-1).to_numpy(dtype=np.int64)
    d0 = un["d0"].to_numpy(dtype=float)

    # eq 12: sum_u A[u,r,k,t] + U[r,k,t] = D[r,k,t]
    #        with D = cases*tpc + sum (1-p)*e*A[u,r,k',t] over esc(k') = k
    ctx.add_rows(BALANCE, un, lv, [
        ("U", np.arange(n), np.arange(n), 1.0),
        ("A", own_row, apos, 1.0),
        ("A", esc_row, has_esc, -esc[has_esc])], d0)

    # eq 13: sum_u p*A[u,r,k,t] >= mcs[k]*D[r,k,t] where mcs[k] > 0
    mcs = un["work_type"].map(ix.work_types["min_completion_share"]).fillna(0).to_numpy(
        dtype=float)
    # from week T on: a history week's work is still chosen, but its target cannot bind what happened
    sel = np.nonzero((mcs > 0) & (un["week"].to_numpy() >= ix.T))[0]
    if len(sel) == 0:
        return
    new = np.full(n, -1, dtype=np.int64)
    new[sel] = np.arange(len(sel))
    r_own = new[own_row]
    r_esc = new[np.maximum(esc_row, 0)]
    r_esc = np.where(esc_row >= 0, r_esc, -1)
    p = work["p"].to_numpy(dtype=float)
    mcs_esc = np.where(r_esc >= 0, mcs[np.maximum(esc_row, 0)], 0.0)
    ok_own = r_own >= 0
    ok_esc = r_esc >= 0
    ctx.add_rows(COMPLETION, un.iloc[sel], lv, [
        ("A", r_own[ok_own], apos[ok_own], p[ok_own]),
        ("A", r_esc[ok_esc], has_esc[ok_esc], -(mcs_esc * esc[has_esc])[ok_esc])],
        mcs[sel] * d0[sel])
