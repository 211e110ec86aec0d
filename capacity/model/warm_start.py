"""A starting basis for a large stochastic LP, from one LP per scenario (an addition to the spec).

The model is a two-stage stochastic programme: apart from the few first-stage
columns shared by every scenario (a contract's ``y`` and ``L``) and the rows of
eq 14 (nonanticipativity), each scenario's rows and columns form their own
block. Dual simplex on the whole LP of the national benchmark instance
(149 regions x 52 weeks x 10 scenarios) takes about 240 s of CPU; ten LPs of
one scenario each take about 95 s together, and from the basis they give
together the whole LP needs about a tenth of the iterations
(benchmarks/README.md, "The warm start").

How it works (models/README.md#warm-start):

1. Every row is given its scenario from its family's ``scenario`` key; the
   rows of eq 14 and the rows without a scenario (first stage) have none.
   A column belongs to scenario ``w`` when every row it appears in belongs to
   ``w``; any other column is *shared* (``y``, ``L``, and anything that
   appears in two scenarios' rows or in a first-stage row).
2. LP ``w``: the shared columns and scenario ``w``'s columns, the first-stage
   rows and scenario ``w``'s rows, the shared columns' costs weighted by
   ``w``'s probability (the scenario columns already carry it). A few run at
   once (each in HiGHS's own thread).
3. The basis of the whole LP: each scenario's columns and rows take their
   status in their own LP, the shared columns and first-stage rows theirs in
   the most probable scenario's LP (the first on ties), and the rows of eq 14
   are basic. HiGHS repairs the count if it is not the number of rows (an
   "alien" basis) and solves the whole LP from there.

It changes where HiGHS starts, not what it solves: the optimum is that of the
whole LP, solved by HiGHS as before, and the whole run is deterministic. When
any scenario LP is not optimal (or the time limit runs out, or the blocks are
not what this expects) no basis is given and HiGHS starts from its own.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import numpy as np

import highspy

from .highs_route import LP_OPTIONS, Matrix, new_highs

#: below this many columns the whole LP from HiGHS's own start is as fast: on the 50 x 26 x 5 benchmark
#: instance (144k columns) both take 3.5 s of CPU; on the England UTLA example (369k) 10 s against 17 s
MIN_COLUMNS = 250_000
#: the share of shared columns above which the blocks are too entangled to be worth it
MAX_SHARED = 0.05
_TICK = 0.2


@dataclass
class Blocks:
    """Scenario of each matrix row and column (-1: first stage or shared; -2: a row of eq 14)."""

    row_w: np.ndarray
    col_w: np.ndarray
    n_scenarios: int


def scenario_blocks(built, mat: Matrix) -> Blocks | None:
    """The block of every row and column of ``mat`` (None when there is no block structure)."""
    scen = list(built.index.scenarios)
    if len(scen) < 2:
        return None
    code = {w: k for k, w in enumerate(scen)}
    row_w = np.full(mat.n_rows, -1, dtype=np.int64)
    for fam in built.families:
        pos = mat.rows.get((fam.spec.block, fam.spec.name))
        if pos is None or len(pos) == 0:
            continue
        on = pos >= 0
        if fam.spec.block == "nonanticipativity":
            row_w[pos[on]] = -2
        elif "scenario" in fam.keys.columns:
            row_w[pos[on]] = fam.keys["scenario"].map(code).to_numpy(dtype=np.int64)[on]
    col_of_nz = np.repeat(np.arange(mat.n_cols), np.diff(mat.start))
    rw = row_w[mat.index]
    big = np.iinfo(np.int64).max
    in_s = rw >= 0
    lo = np.full(mat.n_cols, big)
    hi = np.full(mat.n_cols, -1)
    np.minimum.at(lo, col_of_nz[in_s], rw[in_s])
    np.maximum.at(hi, col_of_nz[in_s], rw[in_s])
    first_stage = np.zeros(mat.n_cols, dtype=bool)
    first_stage[col_of_nz[rw == -1]] = True
    col_w = np.where((lo == hi) & ~first_stage, hi, -1)
    if (col_w == -1).mean() > MAX_SHARED or len(np.unique(col_w[col_w >= 0])) < 2:
        return None
    return Blocks(row_w=row_w, col_w=col_w, n_scenarios=len(scen))


def _sub_lp(mat: Matrix, cols: np.ndarray, rows: np.ndarray, cost: np.ndarray) -> highspy.HighsLp:
    """The LP of columns ``cols`` and rows ``rows`` (both ascending) of ``mat``, with ``cost``."""
    lens = mat.start[cols + 1] - mat.start[cols]
    total = int(lens.sum())
    begin = np.repeat(mat.start[cols] - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    nz = begin + np.arange(total)
    row_map = np.full(mat.n_rows, -1, dtype=np.int64)
    row_map[rows] = np.arange(len(rows))
    r = row_map[mat.index[nz]]
    keep = r >= 0
    newc = np.repeat(np.arange(len(cols)), lens)[keep]
    start = np.zeros(len(cols) + 1, dtype=np.int32)
    np.cumsum(np.bincount(newc, minlength=len(cols)), out=start[1:])
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(cols), len(rows)
    lp.col_cost_ = cost
    lp.col_lower_, lp.col_upper_ = mat.col_lower[cols], mat.col_upper[cols]
    lp.row_lower_, lp.row_upper_ = mat.row_lower[rows], mat.row_upper[rows]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = len(cols), len(rows)
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = r[keep].astype(np.int32)
    lp.a_matrix_.value_ = mat.value[nz][keep]
    return lp


def warm_basis(built, mat: Matrix, *, time_left=None, workers: int | None = None, progress=None,
               stats: dict | None = None) -> highspy.HighsBasis | None:
    """The starting basis of the module docstring, or None (then HiGHS starts from its own).

    ``time_left``: a function giving the seconds left of the time limit (None: no limit).
    ``workers``: scenario LPs run at once (default: the machine's cores, at most 2)."""
    stats = {} if stats is None else stats
    if mat.n_cols < MIN_COLUMNS:
        return None
    t0 = time.perf_counter()
    blocks = scenario_blocks(built, mat)
    if blocks is None:
        return None
    scen = list(built.index.scenarios)
    prob = built.inputs.scenarios["probability"].reindex(scen).to_numpy(dtype=float)
    shared_c = np.nonzero(blocks.col_w == -1)[0]
    first_r = np.nonzero(blocks.row_w == -1)[0]
    best = int(np.argmax(prob))
    jobs = []
    for k in range(len(scen)):
        cols = np.union1d(shared_c, np.nonzero(blocks.col_w == k)[0])
        rows = np.union1d(first_r, np.nonzero(blocks.row_w == k)[0])
        jobs.append((k, cols, rows))
    workers = workers or min(2, os.cpu_count() or 1)
    col_status = np.full(mat.n_cols, int(highspy.HighsBasisStatus.kLower), dtype=np.int64)
    row_status = np.full(mat.n_rows, int(highspy.HighsBasisStatus.kBasic), dtype=np.int64)
    results = _run_all(mat, jobs, prob, shared_c, workers, time_left, progress, t0)
    if results is None:
        stats["warm_start"] = "not used: a scenario LP was not solved to optimality"
        stats["warm_start_s"] = time.perf_counter() - t0
        return None
    for k, cols, rows in jobs:
        cs, rs = results[k]
        mine_c = blocks.col_w[cols] == k
        mine_r = blocks.row_w[rows] == k
        col_status[cols[mine_c]] = cs[mine_c]
        row_status[rows[mine_r]] = rs[mine_r]
        if k == best:
            col_status[cols[~mine_c]] = cs[~mine_c]
            row_status[rows[~mine_r]] = rs[~mine_r]
    basis = highspy.HighsBasis()
    status = {int(v): v for v in highspy.HighsBasisStatus.__members__.values()}
    basis.col_status = [status[s] for s in col_status.tolist()]
    basis.row_status = [status[s] for s in row_status.tolist()]
    basis.alien = True
    basis.valid = True
    stats["warm_start"] = f"{len(scen)} scenario LPs, {workers} at a time"
    stats["warm_start_s"] = time.perf_counter() - t0
    return basis


def _run_all(mat, jobs, prob, shared_c, workers, time_left, progress, t0):
    """Solve the scenario LPs, ``workers`` at a time; their basis statuses by scenario, or None.

    Each runs HiGHS's ``run`` in a thread of its own (HiGHS releases the GIL while it
    solves). highspy's ``startSolve`` is not used: its locks are shared by every
    instance, so two instances cannot run at once through it."""
    pending = list(jobs)
    running: dict[int, tuple] = {}
    done: dict[int, tuple] = {}
    last = time.perf_counter()
    code = {v: int(v) for v in highspy.HighsBasisStatus.__members__.values()}
    try:
        while pending or running:
            while pending and len(running) < workers:
                k, cols, rows = pending.pop(0)
                cost = mat.cost[cols].copy()
                cost[np.isin(cols, shared_c)] *= prob[k]
                h = new_highs()
                if h.passModel(_sub_lp(mat, cols, rows, cost)) == highspy.HighsStatus.kError:
                    return None
                for opt, v in LP_OPTIONS.items():
                    h.setOptionValue(opt, v)
                left = None if time_left is None else time_left()
                if left is not None:
                    if left <= 0:
                        return None
                    h.setOptionValue("time_limit", float(left))
                h.HandleUserInterrupt = True
                thread = threading.Thread(target=h.run, daemon=True)
                thread.start()
                running[k] = (h, thread)
            for k in list(running):
                h, thread = running[k]
                thread.join(_TICK / max(1, len(running)))
                if thread.is_alive():
                    continue
                del running[k]
                if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                    return None
                b = h.getBasis()
                done[k] = (np.array([code[s] for s in b.col_status], dtype=np.int64),
                           np.array([code[s] for s in b.row_status], dtype=np.int64))
                h.clear()
            if progress is not None and time.perf_counter() - last >= 5.0:
                last = time.perf_counter()
                progress(f"HiGHS warm start: {time.perf_counter() - t0:.0f}s, scenario LPs "
                         f"{len(done)} of {len(jobs)} solved")
    finally:   # on an early return or Ctrl-C, stop what still runs
        for h, thread in running.values():
            h.cancelSolve()
            thread.join()
    return done
