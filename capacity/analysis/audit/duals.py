"""Step 7 of the audit: the shadow prices against the re-solve's duals.

The shadow_prices sheet and the contracts' lock_in_shadow_price are compared
with the duals of the audit's re-solve (the LP with the contract decisions
fixed), when that re-solve signed the same contracts at the same levels.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from capacity.analysis.audit.diffs import label
from capacity.analysis.audit.read import Table, read_table

SHADOW_KEYS = ["constraint", "scenario", "week", "region", "unit", "work_type"]
#: Relative tolerance for a shadow price re-derived from the re-solve's LP.
DUAL_TOL = 1e-6


def _shadow_series(frame: pd.DataFrame) -> pd.Series:
    df = frame.copy()
    df["week"] = pd.to_numeric(df["week"], errors="coerce").fillna(0).astype(int)
    for c in ("region", "unit", "work_type", "scenario", "constraint"):
        df[c] = df[c].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    return pd.Series(pd.to_numeric(df["value"], errors="coerce").to_numpy(dtype=float),
                     index=pd.MultiIndex.from_frame(df[SHADOW_KEYS])).groupby(level=list(range(6))).sum()


def _close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= DUAL_TOL * max(1.0, abs(a), abs(b), scale)


def lock_in_from_shadow(inputs, shadow: pd.DataFrame, risk: pd.DataFrame | None = None) -> pd.Series:
    """contracts.lock_in_shadow_price recomputed from the shadow_prices rows:
    the probability-weighted sum of the contract's lock_in duals over its term; weighted by the risk
    sheet's risk_adjusted_probability when the workbook has one (v2 section 4; = probability when
    risk_weight is 0)."""
    from capacity.output.results import CONSTRAINT_NAMES

    lock = shadow[shadow["constraint"] == CONSTRAINT_NAMES["lock_in"]]
    pi = inputs.scenarios["probability"]
    if risk is not None and len(risk):
        pi = pd.to_numeric(risk.set_index("scenario")["risk_adjusted_probability"], errors="coerce")
    weighted = pd.to_numeric(lock["value"], errors="coerce").fillna(0.0) * lock["scenario"].map(pi).fillna(0.0)
    total = weighted.groupby(lock["unit"]).sum().reindex(inputs.contracts.index).fillna(0.0)
    return total / inputs.contracts["min_term_weeks"].clip(lower=1)


def check_shadow_prices(inputs, tables: dict[str, Table], shadow: Table, fresh) -> tuple[list[str], str]:
    """Compare the reported shadow prices with those of the audit's re-solve.

    The duals are those of the LP with the contract decisions fixed; they are
    unique for that LP when it is not degenerate. They are compared only when
    the re-solve signs the same contracts at the same committed levels (else
    it solved another LP: an equally good plan), and then every reported
    value must equal the re-derived one. Returns (problems, how it went)."""
    problems = []
    con = tables["contracts"]
    want = lock_in_from_shadow(inputs, shadow.frame, tables["risk"].frame if "risk" in tables else None)
    for i, c in enumerate(con.frame["contract"]):
        got = float(con.frame["lock_in_shadow_price"].iat[i]) if "lock_in_shadow_price" in con.frame else 0.0
        if c in want.index and not _close(got, float(want[c]), 0.0):
            problems.append(f"{con.cell(i, 'lock_in_shadow_price')}: lock_in_shadow_price of {c!r} is {got:,.6g}, "
                            f"but the shadow_prices sheet gives {float(want[c]):,.6g}")
    rep = con.frame.set_index("contract")
    new = fresh.contracts.set_index("contract")
    same = (rep["signed"].reindex(new.index).astype(bool).equals(new["signed"].astype(bool))
            and np.allclose(rep["committed_fte"].reindex(new.index).astype(float), new["committed_fte"], atol=1e-6))
    if not same:
        return problems, ("shadow prices NOT verified: the re-solve signed other contracts or levels (an "
                          "equally good plan), so its duals belong to another LP")
    got, ref = _shadow_series(shadow.frame), _shadow_series(fresh.shadow_prices)
    scale = float(ref.abs().max()) if len(ref) else 1.0
    keys = got.index.union(ref.index)
    rows = _shadow_series(shadow.frame.assign(value=np.arange(len(shadow.frame), dtype=float)))
    where = {k: int(v) for k, v in rows.items()}  # (a duplicated key sums: its cell is then approximate)
    for k in keys:
        a, b = float(got.get(k, 0.0)), float(ref.get(k, 0.0))
        if not _close(a, b, scale * 1e-3):
            at = f"{shadow.cell(where[k], 'value')}: " if k in where and where[k] < len(shadow.where) else ""
            problems.append(f"{at}shadow price {label(SHADOW_KEYS, k)} is {a:,.6g}, but the re-solve's LP "
                            f"gives {b:,.6g}")
    for c, v in new["lock_in_shadow_price"].items():
        i = list(con.frame["contract"]).index(c) if c in set(con.frame["contract"]) else None
        g = float(rep["lock_in_shadow_price"].get(c, 0.0)) if "lock_in_shadow_price" in rep else 0.0
        if i is not None and not _close(g, float(v), 0.0):
            problems.append(f"{con.cell(i, 'lock_in_shadow_price')}: lock_in_shadow_price of {c!r} is {g:,.6g}, "
                            f"but the re-solve's LP gives {float(v):,.6g}")
    return problems, f"shadow prices: {len(got):,} values and the contracts' lock-in prices equal the re-solve's duals"


def shadow_step(step, raw_out, inputs, tables: dict[str, Table], fresh) -> None:
    """Step 7: the shadow_prices sheet and the contracts' lock-in prices against the re-solve."""
    problems: list[str] = []
    if "shadow_prices" not in raw_out.sheets:
        step("", ["shadow_prices: sheet missing"], "shadow prices")
        return
    shadow = read_table(raw_out, "shadow_prices", problems)
    if problems:
        step("", problems, "shadow prices")
        return
    found, verdict = check_shadow_prices(inputs, tables, shadow, fresh)
    if not found and "NOT verified" in verdict:
        step.note(verdict, "shadow prices")
        return
    step(verdict, found, "shadow prices", figures={"values": len(shadow.frame)})
