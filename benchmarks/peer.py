"""A peer route for the benchmarks: the same LP in linopy, solved by the same HiGHS.

Benchmark-only (``pip install -e .[bench]``). The peer takes the rows of every
constraint family as arrays, as the family code produces them
(``BuiltModel.row_blocks``/``column_blocks``; tests/test_matrix_route.py
asserts they are the Pyomo model's standard form), and the variables' bounds,
and builds its own model in linopy: one linopy variable per variable
component, one linopy constraint per family, the objective, then linopy's own
export to HiGHS (``io_api="direct"``, highspy) and solve, with the same MIP
gap and threads. It does not use Pyomo, our compiled matrix or our HiGHS
route.

It is not an independent formulation: it is given the rows, so its time
leaves out the work of deriving them from the input (part of our build).
The ratio ours/peer is therefore an upper bound of what an independent peer
would show.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd


def peer_solve(built, *, mip_gap: float = 1e-4, threads: int | None = None) -> dict:
    """Build the linopy model of ``built`` and solve it; seconds and objective."""
    import linopy
    import xarray as xr

    from capacity.model.highs_route import compile_matrix

    mat = compile_matrix(built)   # only for the variables' bounds (read from the Pyomo objects)
    core_of = np.argsort(mat.col_of)          # matrix column -> core column
    lower = mat.col_lower[mat.col_of]
    upper = mat.col_upper[mat.col_of]
    integer = mat.integer[mat.col_of]
    cost = np.zeros(len(lower))
    for name, (cols, co) in mat.parts.items():   # each part at its weight in the objective (v2 section 4)
        np.add.at(cost, core_of[cols], built.objective_weights.get(name, 1.0) * co)

    t0 = time.perf_counter()
    m = linopy.Model()
    labels = np.empty(len(lower), dtype=np.int64)
    for b in built.column_blocks:
        n = len(b.objs)
        sl = slice(b.start, b.start + n)
        dim = pd.RangeIndex(n, name=f"{b.key}_i".replace(".", "_"))
        if integer[sl].any():
            v = m.add_variables(lower=lower[sl], upper=upper[sl], coords=[dim], name=b.key, integer=True)
        else:
            lo = np.where(np.isinf(lower[sl]), -np.inf, lower[sl])
            up = np.where(np.isinf(upper[sl]), np.inf, upper[sl])
            v = m.add_variables(lower=lo, upper=up, coords=[dim], name=b.key)
        labels[sl] = v.labels.values
    for rb in built.row_blocks:
        fam = rb.family
        n = rb.n
        order = np.argsort(rb.rows, kind="stable")
        r, c, v = rb.rows[order], rb.cols[order], rb.coefs[order]
        counts = np.bincount(r, minlength=n)
        k = max(1, int(counts.max()) if len(counts) else 1)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        slot = np.arange(len(r)) - starts[r]
        V = np.full((n, k), -1, dtype=np.int64)
        C = np.zeros((n, k))
        V[r, slot] = labels[c]
        C[r, slot] = v
        dim = f"{fam.block}_{fam.name}_i"
        expr = linopy.LinearExpression(xr.Dataset({
            "coeffs": ((dim, "_term"), C), "vars": ((dim, "_term"), V),
            "const": ((dim,), np.zeros(n))}, coords={dim: np.arange(n)}), m)
        sign = {"<=": "<=", ">=": ">=", "==": "="}[fam.sense]
        m.add_constraints(expr, sign, xr.DataArray(rb.rhs, dims=[dim], coords={dim: np.arange(n)}),
                          name=f"{fam.block}.{fam.name}")
    nz = np.nonzero(cost)[0]
    m.add_objective(linopy.LinearExpression(xr.Dataset({
        "coeffs": (("_term",), cost[nz]), "vars": (("_term",), labels[nz]), "const": ((), 0.0)}), m))
    build_s = time.perf_counter() - t0
    opts = {"mip_rel_gap": float(mip_gap), "output_flag": False}
    if threads:
        opts["threads"] = int(threads)
    t1 = time.perf_counter()
    status, condition = m.solve(solver_name="highs", io_api="direct", progress=False, **opts)
    solve_s = time.perf_counter() - t1
    objective = float(m.objective.value) if status == "ok" else None
    return {"peer_build_s": build_s, "peer_solve_s": solve_s, "peer_total_s": build_s + solve_s,
            "peer_status": f"{status}: {condition}", "peer_objective": objective}
