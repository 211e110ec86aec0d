"""Contract families, formulation.md eq 1-5 (block ``contracts``).

See models/README.md#eq-1 .. #eq-5. Eq 2 (window and lead time) and eq 5
(ramps) are variable bounds set in variables.py; in the elastic model the
ramps are rows here. Each family is declared once, below, as a
:class:`~capacity.model.family.FamilySpec`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.io.inputs import Inputs

from .core import Context
from .family import Dual, FamilySpec
from .index import VAR_LEVELS
from .recheck import (Check, Worst, eq, history_fixed, is_contract, labels, le, limit, plan_from, scenarios,
                      stock_violation, worst)

BLOCK = "contracts"


def _cells(*columns):
    """The input cells of one contract row: the named columns of its contracts row."""
    def cells(inputs, key):
        c = key.get("contract")
        return [inputs.origin.cell("contracts", c, x) for x in columns] if c is not None else []
    return cells


# ---- audit checks: the rules re-checked from the result tables and the input alone
def _contract_plan(inputs: Inputs, t: dict) -> tuple[pd.DataFrame, dict]:
    """Scenario rows of the contracts in the plan, and per row the input's terms."""
    plan = scenarios(t["plan"])
    plan = plan[is_contract(inputs, plan)]
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


def check_contract_stock(inputs: Inputs, t: dict) -> Worst:
    """eq 1: N[t] = N[t-1] + added - removed, N[0] = 0 (the drop after end_week is free)."""
    plan = scenarios(t["plan"])
    plan = plan[is_contract(inputs, plan)].sort_values(["scenario", "unit", "region", "week"])
    viol = stock_violation(plan)
    after_end = plan["week"].to_numpy(float) > plan["unit"].map(inputs.contracts["end_week"]).to_numpy(float)
    viol[after_end] = eq(plan["fte"].to_numpy(float)[after_end], 0.0)
    return worst(viol, plan[["scenario", "week", "unit"]])


def check_contract_window(inputs: Inputs, t: dict) -> Worst:
    """eq 2: N = 0 outside start_week..end_week; nothing added (the plan's `onboarded`)
    before week plan_from_week + lead_weeks (week 1 + lead_weeks in version 1), except the
    pre-arranged committed level of a signed contract at its start_week and what the history
    fixes (v2 section 1)."""
    plan, c = _contract_plan(inputs, t)
    fte, added = plan["fte"].to_numpy(float), plan["onboarded"].to_numpy(float)
    window = np.where(~c["inside"], eq(fte, 0.0), 0.0)
    pre_arranged = c["status_signed"] & ~np.isnan(c["committed_fte"]) & (c["week"] == c["start_week"])
    blocked = (c["week"] < plan_from(inputs) + c["lead_weeks"]) & ~pre_arranged & ~history_fixed(inputs, plan)
    lead = np.where(blocked, eq(added, 0.0), 0.0)
    column = np.where(lead > window, "lead_weeks", np.where(c["week"] > c["end_week"], "end_week", "start_week"))
    return worst(np.maximum(window, lead), labels(plan, ["scenario", "week", "unit"], inputs, "contracts", column))


def check_contract_size(inputs: Inputs, t: dict) -> Worst:
    """eq 3: N <= max_fte*y; N >= min_fte*y inside the window; L <= max_fte*y."""
    plan, c = _contract_plan(inputs, t)
    y = _signed(inputs, t, plan["unit"])
    fte = plan["fte"].to_numpy(float)
    viol = np.maximum(np.where(c["inside"] & y, le(c["min_fte"], fte), 0.0),
                      le(fte, np.where(y, c["max_fte"], 0.0)))
    rows = worst(viol, plan[["scenario", "week", "unit"]])
    con = t["contracts"]
    y_c = _signed(inputs, t, con["contract"])
    level = worst(le(con["committed_fte"], np.where(y_c, con["contract"].map(inputs.contracts["max_fte"]), 0.0)),
                   con[["contract"]])
    return Worst(rows.rows + level.rows, max(rows.violation, level.violation),
                 rows.where if rows.violation >= level.violation else level.where)


def check_block_lock_in(inputs: Inputs, t: dict) -> Worst:
    """eq 4: N = L in every scenario through the initial term (start_week <= t <
    start_week + min_term_weeks, t <= end_week), with L = committed_fte*y from the
    input when it gives committed_fte (else the level the contracts table reports)."""
    plan, c = _contract_plan(inputs, t)
    y = _signed(inputs, t, plan["unit"])
    chosen = plan["unit"].map(t["contracts"].set_index("contract")["committed_fte"]).to_numpy(float)
    level = np.where(np.isnan(c["committed_fte"]), chosen, np.nan_to_num(c["committed_fte"]) * y)
    locked = c["inside"] & (c["week"] < c["start_week"] + c["min_term_weeks"])
    viol = np.where(locked, eq(plan["fte"], level), 0.0)
    return worst(viol, labels(plan, ["scenario", "week", "unit"], inputs, "contracts", "committed_fte"))


def check_contract_ramps(inputs: Inputs, t: dict) -> Worst:
    """eq 5: added <= max_increase_per_week for start_week < t <= end_week; removed
    (the plan's `exits`) <= max_decrease_per_week for start_week + min_term_weeks <= t
    <= end_week. Blank = no limit."""
    plan, c = _contract_plan(inputs, t)
    con = inputs.contracts
    decided = ~history_fixed(inputs, plan)   # the history's changes happened (v2 section 1)
    up = (c["week"] > c["start_week"]) & c["inside"] & decided
    down = (c["week"] >= c["start_week"] + c["min_term_weeks"]) & c["inside"] & decided
    v_up = np.where(up, le(plan["onboarded"], limit(plan["unit"].map(con["max_increase_per_week"]))), 0.0)
    v_down = np.where(down, le(plan["exits"], limit(plan["unit"].map(con["max_decrease_per_week"]))), 0.0)
    column = np.where(v_up >= v_down, "max_increase_per_week", "max_decrease_per_week")
    return worst(np.maximum(v_up, v_down), labels(plan, ["scenario", "week", "unit"], inputs, "contracts", column))


STOCK_CHECK = Check("contract stock", "1", check_contract_stock)
WINDOW_CHECK = Check("contract window and lead time", "2", check_contract_window)
SIZE_CHECK = Check("contract size", "3", check_contract_size)
LOCK_IN_CHECK = Check("block lock-in at the committed level", "4", check_block_lock_in)
RAMP_CHECK = Check("contract ramps", "5", check_contract_ramps)


STOCK = FamilySpec(
    BLOCK, "stock", "1", "==", "contract stock",
    "N[c,t] = N[c,t-1] + Ninc[c,t] - Ndec[c,t], N[c,0] = 0",
    r"N_{c,t,w} = N_{c,t-1,w} + N^{inc}_{c,t,w} - N^{dec}_{c,t,w}",
    "A contract's headcount carries over from week to week: it changes only by what is added or removed.",
    (), checks=(STOCK_CHECK,))
WINDOW = FamilySpec(
    BLOCK, "window", "2", "==", "window and lead time",
    "N[c,t] = 0 outside start_week..end_week; Ninc[c,t] = 0 for t < 1 + lead_weeks, except the "
    "pre-arranged committed level of a signed contract at its start_week",
    r"N_{c,t,w} = 0 \ (t \notin [s_c, e_c]); \quad N^{inc}_{c,t,w} = 0 \ (t < 1 + \ell_c)",
    "Nobody works on a contract outside its weeks, and nobody can be added before the supplier's lead time "
    "has passed.",
    ("contracts.start_week", "contracts.end_week", "contracts.lead_weeks", "contracts.status",
     "contracts.committed_fte"), bound=True, checks=(WINDOW_CHECK,))
SIZE_MAX = FamilySpec(
    BLOCK, "size_max", "3", "<=", "contract size (maximum)", "N[c,t] <= max_fte*y[c]",
    r"N_{c,t,w} \le \overline{N}_c\, y_c",
    "An unsigned contract has no staff; a signed one at most max_fte.",
    ("contracts.max_fte",), slack_unit="FTE", broken="above max_fte", remedy="max_fte",
    remedy_inputs="contract sizes (contracts max_fte)", cells=_cells("max_fte"), checks=(SIZE_CHECK,))
SIZE_MIN = FamilySpec(
    BLOCK, "size_min", "3", ">=", "contract size (minimum)", "N[c,t] >= min_fte*y[c] in the window",
    r"N_{c,t,w} \ge \underline{N}_c\, y_c \quad (s_c \le t \le e_c)",
    "A signed contract keeps at least min_fte staff in its weeks.",
    ("contracts.min_fte",), slack_unit="FTE", broken="below min_fte", remedy="min_fte",
    remedy_inputs="contract minimums (contracts min_fte)", cells=_cells("min_fte"), checks=(SIZE_CHECK,))
SIZE_L = FamilySpec(
    BLOCK, "size_L", "3", "<=", "committed level (maximum)", "L[c] <= max_fte*y[c]",
    r"L_c \le \overline{N}_c\, y_c",
    "Only a signed contract has a committed level, and it is at most max_fte.",
    ("contracts.max_fte",), slack_unit="FTE", broken="committed level above max_fte", remedy="max_fte",
    remedy_inputs="committed levels (contracts max_fte)", cells=_cells("max_fte"), checks=(SIZE_CHECK,))
LOCK_IN = FamilySpec(
    BLOCK, "lock_in", "4", "==", "block lock-in",
    "N[c,t,w] = L[c] for start_week <= t < start_week + min_term_weeks",
    r"N_{c,t,w} = L_c \quad (s_c \le t < s_c + m_c)",
    "During the initial term the buyer pays for the committed level every week, used or not, and can "
    "neither cut nor add. L is 0 when min_term_weeks = 0.",
    ("contracts.start_week", "contracts.min_term_weeks"), slack_unit="FTE",
    broken="level would have to change during the initial term", remedy="min_term_weeks or committed_fte",
    remedy_inputs="initial terms (contracts min_term_weeks, committed_fte)",
    cells=_cells("min_term_weeks", "committed_fte"),
    dual=Dual("lock_in", "lock_in (eq 4): cost of the block lock-in per FTE-week", 1.0), checks=(LOCK_IN_CHECK,))
COMMITTED = FamilySpec(
    BLOCK, "committed", "4", "==", "committed level given", "L[c] = committed_fte*y[c]",
    r"L_c = \hat{L}_c\, y_c",
    "Where the workbook gives committed_fte, that is the level locked in for the initial term.",
    ("contracts.committed_fte",), slack_unit="FTE", broken="committed level would have to change",
    remedy="committed_fte", remedy_inputs="committed levels (contracts committed_fte)",
    cells=_cells("committed_fte"), checks=(LOCK_IN_CHECK,))
RAMP_UP = FamilySpec(
    BLOCK, "ramp_up", "5", "<=", "contract ramp-up", "Ninc[c,t] <= max_increase_per_week, start_week < t <= end_week",
    r"N^{inc}_{c,t,w} \le \Delta^{+}_c \quad (s_c < t \le e_c)",
    "After the supplier's first mobilisation, at most max_increase_per_week staff can be added a week.",
    ("contracts.max_increase_per_week",), bound=True, slack_unit="FTE",
    broken="increase above max_increase_per_week", remedy="max_increase_per_week",
    remedy_inputs="contract ramps (contracts max_increase_per_week)", cells=_cells("max_increase_per_week"), checks=(RAMP_CHECK,))
RAMP_DOWN = FamilySpec(
    BLOCK, "ramp_down", "5", "<=", "contract ramp-down",
    "Ndec[c,t] <= max_decrease_per_week, start_week + min_term_weeks <= t <= end_week",
    r"N^{dec}_{c,t,w} \le \Delta^{-}_c \quad (s_c + m_c \le t \le e_c)",
    "After the initial term, at most max_decrease_per_week staff can be released a week.",
    ("contracts.max_decrease_per_week",), bound=True, slack_unit="FTE",
    broken="decrease above max_decrease_per_week", remedy="max_decrease_per_week",
    remedy_inputs="contract ramps (contracts max_decrease_per_week)", cells=_cells("max_decrease_per_week"), checks=(RAMP_CHECK,))

FAMILIES = (STOCK, WINDOW, SIZE_MAX, SIZE_MIN, SIZE_L, LOCK_IN, COMMITTED, RAMP_UP, RAMP_DOWN)


def build(ctx: Context) -> None:
    """The rows of this module's families (see FAMILIES above)."""
    ix = ctx.ix
    cw = ix.contract_weeks
    con = ix.contracts
    lv = VAR_LEVELS["N"]
    n = len(cw)
    if len(con) == 0:
        return
    rows = np.arange(n)
    npos = np.arange(n)       # N, Ninc, Ndec share the contract_weeks order
    prev = cw[lv].assign(week=cw["week"] - 1)
    prev_pos = ctx.pos("N", prev, lv)
    ypos = ctx.pos("y", cw, ["contract"])
    lpos = ctx.pos("L", cw, ["contract"])
    c_attr = con.set_index("contract")
    max_fte = cw["contract"].map(c_attr["max_fte"]).to_numpy(dtype=float)
    min_fte = cw["contract"].map(c_attr["min_fte"]).to_numpy(dtype=float)

    # eq 1: N[c,t] = N[c,t-1] + Ninc[c,t] - Ndec[c,t]  (N[c,start-1] = 0: outside the window)
    ctx.add_rows(STOCK, cw, lv, [
        ("N", rows, npos, 1.0), ("N", rows, prev_pos, -1.0),
        ("Ninc", rows, npos, -1.0), ("Ndec", rows, npos, 1.0)], 0.0)

    # eq 3: N <= max_fte*y ; N >= min_fte*y (window weeks) ; L <= max_fte*y
    ctx.add_rows(SIZE_MAX, cw, lv, [
        ("N", rows, npos, 1.0), ("y", rows, ypos, -max_fte)], 0.0)
    sel = np.nonzero(min_fte > 0)[0]
    ctx.add_rows(SIZE_MIN, cw.iloc[sel], lv, [
        ("N", np.arange(len(sel)), npos[sel], 1.0),
        ("y", np.arange(len(sel)), ypos[sel], -min_fte[sel])], 0.0)
    k = len(con)
    cpos = ctx.pos("y", con, ["contract"])
    ctx.add_rows(SIZE_L, con, ["contract"], [
        ("L", np.arange(k), cpos, 1.0),
        ("y", np.arange(k), cpos, -con["max_fte"].to_numpy(dtype=float))], 0.0)

    # eq 4: N[c,t,w] = L[c] during the initial term; L = committed_fte*y when given
    sel = np.nonzero(cw["lock"].to_numpy(dtype=bool))[0]
    ctx.add_rows(LOCK_IN, cw.iloc[sel], lv, [
        ("N", np.arange(len(sel)), npos[sel], 1.0),
        ("L", np.arange(len(sel)), lpos[sel], -1.0)], 0.0)
    committed = con["committed_fte"].to_numpy(dtype=float)
    csel = np.nonzero(~np.isnan(committed) & (con["min_term_weeks"].to_numpy() > 0))[0]
    ctx.add_rows(COMMITTED, con.iloc[csel], ["contract"], [
        ("L", np.arange(len(csel)), cpos[csel], 1.0),
        ("y", np.arange(len(csel)), cpos[csel], -committed[csel])], 0.0)

    if ctx.elastic:  # eq 5 ramps as rows (bounds otherwise)
        inc = cw["inc_ub"].to_numpy()
        sel = np.nonzero((inc > 0) & np.isfinite(inc))[0]
        ctx.add_rows(RAMP_UP, cw.iloc[sel], lv, [
            ("Ninc", np.arange(len(sel)), npos[sel], 1.0)], inc[sel])
        dec = cw["dec_ub"].to_numpy()
        sel = np.nonzero(np.isfinite(dec))[0]
        ctx.add_rows(RAMP_DOWN, cw.iloc[sel], lv, [
            ("Ndec", np.arange(len(sel)), npos[sel], 1.0)], dec[sel])
