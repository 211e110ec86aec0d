"""Contract families, formulation.md eq 1-5 (block ``contracts``).

See models/README.md#eq-1 .. #eq-5. Eq 2 (lead time) and eq 5 (ramps) are
variable bounds set in variables.py; in the elastic model the ramps are rows
here.
"""

from __future__ import annotations

import numpy as np

from .core import Context
from .index import VAR_LEVELS

BLOCK = "contracts"


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
    ctx.add_rows(BLOCK, "stock", "1", "==", cw, lv, [
        ("N", rows, npos, 1.0), ("N", rows, prev_pos, -1.0),
        ("Ninc", rows, npos, -1.0), ("Ndec", rows, npos, 1.0)], 0.0,
        doc="eq 1 contract stock")

    # eq 3: N <= max_fte*y ; N >= min_fte*y (window weeks) ; L <= max_fte*y
    ctx.add_rows(BLOCK, "size_max", "3", "<=", cw, lv, [
        ("N", rows, npos, 1.0), ("y", rows, ypos, -max_fte)], 0.0, elastic=True,
        doc="eq 3 N <= max_fte*y")
    sel = np.nonzero(min_fte > 0)[0]
    ctx.add_rows(BLOCK, "size_min", "3", ">=", cw.iloc[sel], lv, [
        ("N", np.arange(len(sel)), npos[sel], 1.0),
        ("y", np.arange(len(sel)), ypos[sel], -min_fte[sel])], 0.0, elastic=True,
        doc="eq 3 N >= min_fte*y")
    k = len(con)
    cpos = ctx.pos("y", con, ["contract"])
    ctx.add_rows(BLOCK, "size_L", "3", "<=", con, ["contract"], [
        ("L", np.arange(k), cpos, 1.0),
        ("y", np.arange(k), cpos, -con["max_fte"].to_numpy(dtype=float))], 0.0, elastic=True,
        doc="eq 3 L <= max_fte*y")

    # eq 4: N[c,t,w] = L[c] during the initial term; L = committed_fte*y when given
    sel = np.nonzero(cw["lock"].to_numpy(dtype=bool))[0]
    ctx.add_rows(BLOCK, "lock_in", "4", "==", cw.iloc[sel], lv, [
        ("N", np.arange(len(sel)), npos[sel], 1.0),
        ("L", np.arange(len(sel)), lpos[sel], -1.0)], 0.0, elastic=True,
        doc="eq 4 block lock-in N = L")
    committed = con["committed_fte"].to_numpy(dtype=float)
    csel = np.nonzero(~np.isnan(committed) & (con["min_term_weeks"].to_numpy() > 0))[0]
    ctx.add_rows(BLOCK, "committed", "4", "==", con.iloc[csel], ["contract"], [
        ("L", np.arange(len(csel)), cpos[csel], 1.0),
        ("y", np.arange(len(csel)), cpos[csel], -committed[csel])], 0.0, elastic=True,
        doc="eq 4 L = committed_fte*y")

    if ctx.elastic:  # eq 5 ramps as rows (bounds otherwise)
        inc = cw["inc_ub"].to_numpy()
        sel = np.nonzero((inc > 0) & np.isfinite(inc))[0]
        ctx.add_rows(BLOCK, "ramp_up", "5", "<=", cw.iloc[sel], lv, [
            ("Ninc", np.arange(len(sel)), npos[sel], 1.0)], inc[sel], elastic=True,
            doc="eq 5 Ninc <= max_increase_per_week")
        dec = cw["dec_ub"].to_numpy()
        sel = np.nonzero(np.isfinite(dec))[0]
        ctx.add_rows(BLOCK, "ramp_down", "5", "<=", cw.iloc[sel], lv, [
            ("Ndec", np.arange(len(sel)), npos[sel], 1.0)], dec[sel], elastic=True,
            doc="eq 5 Ndec <= max_decrease_per_week")
