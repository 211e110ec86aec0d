"""Regional families, formulation.md eq 6-9 (block ``regional``).

See models/README.md#eq-6 .. #eq-9. Eq 6's lead time, eq 7 (availability)
and eq 9 (regional ramp) are variable bounds (variables.py); in the elastic
model eq 7 and eq 9 are rows here.
"""

from __future__ import annotations

import numpy as np

from .core import Context
from .index import VAR_LEVELS

BLOCK = "regional"


def add_regional(ctx: Context) -> None:
    ix = ctx.ix
    rg = ix.regional
    lv = VAR_LEVELS["F"]
    n = len(rg)
    if n == 0:
        return
    rows = np.arange(n)
    fpos = np.arange(n)
    prev_pos = ctx.pos("F", rg[lv].assign(week=rg["week"] - 1), lv)

    # eq 6: F[t] = F[t-1] + O[t] - X[t], F[0] = 0
    ctx.add_rows(BLOCK, "stock", "6", "==", rg, lv, [
        ("F", rows, fpos, 1.0), ("F", rows, prev_pos, -1.0),
        ("O", rows, fpos, -1.0), ("X", rows, fpos, 1.0)], 0.0, doc="eq 6 regional stock")

    # eq 8: F[t] >= sum O[tau], tau = t-min_term+1..t
    mt = rg["source"].map(ix.sources["min_term_weeks"]).to_numpy(dtype=int)
    sel = np.nonzero(mt >= 1)[0]
    if len(sel):
        sub = rg.iloc[sel].reset_index(drop=True)
        msub = mt[sel]
        rep = np.repeat(np.arange(len(sub)), msub)
        lag = np.arange(len(rep)) - np.repeat(np.cumsum(msub) - msub, msub)
        q = sub.iloc[rep][lv].reset_index(drop=True)
        q["week"] = q["week"].to_numpy() - lag
        opos = ctx.pos("O", q, lv)
        ctx.add_rows(BLOCK, "cohort", "8", ">=", sub, lv, [
            ("F", np.arange(len(sub)), fpos[sel], 1.0), ("O", rep, opos, -1.0)], 0.0,
            elastic=True, doc="eq 8 cohort lock-in")

    if ctx.elastic:
        av = rg["avail"].to_numpy(dtype=float)
        ctx.add_rows(BLOCK, "availability", "7", "<=", rg, lv, [("F", rows, fpos, 1.0)], av,
                     elastic=True, doc="eq 7 F <= availability")
        oub = rg["o_ub"].to_numpy()
        sel = np.nonzero((oub > 0) & np.isfinite(oub))[0]
        ctx.add_rows(BLOCK, "ramp", "9", "<=", rg.iloc[sel], lv,
                     [("O", np.arange(len(sel)), fpos[sel], 1.0)], oub[sel], elastic=True,
                     doc="eq 9 O <= max_increase_per_week")
