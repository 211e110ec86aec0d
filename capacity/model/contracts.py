"""Contract families, formulation.md eq 1-5 (block ``contracts``).

See models/README.md#eq-1 .. #eq-5. Eq 2 (window and lead time) and eq 5
(ramps) are variable bounds set in variables.py; in the elastic model the
ramps are rows here. Each family is declared once, below, as a
:class:`~capacity.model.family.FamilySpec`.
"""

from __future__ import annotations

import numpy as np

from .core import Context
from .family import Dual, FamilySpec
from .index import VAR_LEVELS

BLOCK = "contracts"


def _cells(*columns):
    """The input cells of one contract row: the named columns of its contracts row."""
    def cells(inputs, key):
        c = key.get("contract")
        return [inputs.origin.cell("contracts", c, x) for x in columns] if c is not None else []
    return cells


STOCK = FamilySpec(
    BLOCK, "stock", "1", "==", "contract stock",
    "N[c,t] = N[c,t-1] + Ninc[c,t] - Ndec[c,t], N[c,0] = 0",
    r"N_{c,t,w} = N_{c,t-1,w} + N^{inc}_{c,t,w} - N^{dec}_{c,t,w}",
    "A contract's headcount carries over from week to week: it changes only by what is added or removed.",
    ())
WINDOW = FamilySpec(
    BLOCK, "window", "2", "==", "window and lead time",
    "N[c,t] = 0 outside start_week..end_week; Ninc[c,t] = 0 for t < 1 + lead_weeks, except the "
    "pre-arranged committed level of a signed contract at its start_week",
    r"N_{c,t,w} = 0 \ (t \notin [s_c, e_c]); \quad N^{inc}_{c,t,w} = 0 \ (t < 1 + \ell_c)",
    "Nobody works on a contract outside its weeks, and nobody can be added before the supplier's lead time "
    "has passed.",
    ("contracts.start_week", "contracts.end_week", "contracts.lead_weeks", "contracts.status",
     "contracts.committed_fte"), bound=True)
SIZE_MAX = FamilySpec(
    BLOCK, "size_max", "3", "<=", "contract size (maximum)", "N[c,t] <= max_fte*y[c]",
    r"N_{c,t,w} \le \overline{N}_c\, y_c",
    "An unsigned contract has no staff; a signed one at most max_fte.",
    ("contracts.max_fte",), slack_unit="FTE", broken="above max_fte", remedy="max_fte",
    remedy_inputs="contract sizes (contracts max_fte)", cells=_cells("max_fte"))
SIZE_MIN = FamilySpec(
    BLOCK, "size_min", "3", ">=", "contract size (minimum)", "N[c,t] >= min_fte*y[c] in the window",
    r"N_{c,t,w} \ge \underline{N}_c\, y_c \quad (s_c \le t \le e_c)",
    "A signed contract keeps at least min_fte staff in its weeks.",
    ("contracts.min_fte",), slack_unit="FTE", broken="below min_fte", remedy="min_fte",
    remedy_inputs="contract minimums (contracts min_fte)", cells=_cells("min_fte"))
SIZE_L = FamilySpec(
    BLOCK, "size_L", "3", "<=", "committed level (maximum)", "L[c] <= max_fte*y[c]",
    r"L_c \le \overline{N}_c\, y_c",
    "Only a signed contract has a committed level, and it is at most max_fte.",
    ("contracts.max_fte",), slack_unit="FTE", broken="committed level above max_fte", remedy="max_fte",
    remedy_inputs="committed levels (contracts max_fte)", cells=_cells("max_fte"))
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
    dual=Dual("lock_in", "lock_in (eq 4): cost of the block lock-in per FTE-week", 1.0))
COMMITTED = FamilySpec(
    BLOCK, "committed", "4", "==", "committed level given", "L[c] = committed_fte*y[c]",
    r"L_c = \hat{L}_c\, y_c",
    "Where the workbook gives committed_fte, that is the level locked in for the initial term.",
    ("contracts.committed_fte",), slack_unit="FTE", broken="committed level would have to change",
    remedy="committed_fte", remedy_inputs="committed levels (contracts committed_fte)",
    cells=_cells("committed_fte"))
RAMP_UP = FamilySpec(
    BLOCK, "ramp_up", "5", "<=", "contract ramp-up", "Ninc[c,t] <= max_increase_per_week, start_week < t <= end_week",
    r"N^{inc}_{c,t,w} \le \Delta^{+}_c \quad (s_c < t \le e_c)",
    "After the supplier's first mobilisation, at most max_increase_per_week staff can be added a week.",
    ("contracts.max_increase_per_week",), bound=True, slack_unit="FTE",
    broken="increase above max_increase_per_week", remedy="max_increase_per_week",
    remedy_inputs="contract ramps (contracts max_increase_per_week)", cells=_cells("max_increase_per_week"))
RAMP_DOWN = FamilySpec(
    BLOCK, "ramp_down", "5", "<=", "contract ramp-down",
    "Ndec[c,t] <= max_decrease_per_week, start_week + min_term_weeks <= t <= end_week",
    r"N^{dec}_{c,t,w} \le \Delta^{-}_c \quad (s_c + m_c \le t \le e_c)",
    "After the initial term, at most max_decrease_per_week staff can be released a week.",
    ("contracts.max_decrease_per_week",), bound=True, slack_unit="FTE",
    broken="decrease above max_decrease_per_week", remedy="max_decrease_per_week",
    remedy_inputs="contract ramps (contracts max_decrease_per_week)", cells=_cells("max_decrease_per_week"))

FAMILIES = (STOCK, WINDOW, SIZE_MAX, SIZE_MIN, SIZE_L, LOCK_IN, COMMITTED, RAMP_UP, RAMP_DOWN)


def add_contracts(ctx: Context) -> None:
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
