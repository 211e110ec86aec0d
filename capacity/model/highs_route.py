"""The matrix route to HiGHS: a built model's arrays, passed whole with ``passModel``.

Pyomo is the model of record (:func:`capacity.model.build_model`); what HiGHS
solves is assembled here from the row/column/coefficient arrays that
:mod:`capacity.model.core` keeps for every family while it builds the Pyomo
rows (``BuiltModel.row_blocks``/``column_blocks``), in Pyomo's own order
(variables: the top model's, then each block's; rows: block by block, each in
declaration order), with each variable's bounds, fixing and domain and each
row's active flag read from the Pyomo objects at compile time. A fixed
variable is a constant, as Pyomo's HiGHS interface treats it: its terms are
moved to the row bounds, its cost to the objective's offset, and its column
stays with lower = upper = its value.
tests/test_matrix_route.py asserts that the result is exactly the Pyomo
model's standard form (Pyomo's own linear representation of every active
row and of the objective) on the examples and random instances.

:class:`HighsModel` holds one HiGHS instance for the whole solve: bounds and
integrality are changed on it (the LP relaxation, the MIP, the LP with ``y``
fixed warm-started from the relaxation's basis), and values and duals are
read back by position as arrays. Solves run in HiGHS's own thread (highspy's
``startSolve``); the calling thread waits, turns Ctrl-C into a clean
interrupt of HiGHS (then re-raises ``KeyboardInterrupt``) and reports
progress every few seconds through the caller's progress function.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

import numpy as np
from pyomo.common.tee import capture_output

import highspy

INF = highspy.kHighsInf
#: seconds between two progress lines during a HiGHS run
PROGRESS_EVERY = 5.0
#: HiGHS options of every run. Devex dual edge weights: on the England UTLA example's LP
#: relaxation 14 s against 39 s with the default (dual steepest edge), the same optimum
#: (benchmarks/README.md)
LP_OPTIONS = {"simplex_dual_edge_weight_strategy": 1}
_BANNER_SHOWN = False


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance (the version banner of the first one is swallowed)."""
    global _BANNER_SHOWN
    if not _BANNER_SHOWN:
        with capture_output(capture_fd=True):
            h = highspy.Highs()
        _BANNER_SHOWN = True
    else:
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


def highs_version() -> str:
    h = new_highs()
    return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"


@dataclass
class Matrix:
    """min cost @ x + offset  s.t.  row_lower <= A x <= row_upper, col_lower <= x <= col_upper.

    ``A`` is column-wise (``start``, ``index``, ``value``). Column ``j`` of the
    matrix is the ``order[j]``-th column of :mod:`core`'s numbering (``col_of``
    is the inverse); ``integer`` marks columns of an integer domain that are
    not fixed (``y``). ``rows``: per family (block, name) the matrix row of each
    of its Pyomo rows (-1 where deactivated)."""

    n_rows: int
    n_cols: int
    cost: np.ndarray
    offset: float
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_of: np.ndarray            # core column -> matrix column
    columns: dict                 # ColumnBlock key -> matrix columns (array, Pyomo order)
    rows: dict                    # (block, name) -> matrix row per Pyomo row (-1: inactive)
    parts: dict = field(default_factory=dict)   # objective part -> (matrix columns, coefs), Pyomo order
    col_objs: list = field(default_factory=list)  # VarData per matrix column (for tests), if kept

    @property
    def nnz(self) -> int:
        return int(len(self.value))

    def lp(self) -> highspy.HighsLp:
        """The LP (integrality is set on the instance: :meth:`HighsModel.set_integrality`)."""
        lp = highspy.HighsLp()
        lp.num_col_ = self.n_cols
        lp.num_row_ = self.n_rows
        lp.col_cost_ = self.cost
        lp.offset_ = self.offset
        lp.col_lower_ = self.col_lower
        lp.col_upper_ = self.col_upper
        lp.row_lower_ = self.row_lower
        lp.row_upper_ = self.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = self.n_cols
        lp.a_matrix_.num_row_ = self.n_rows
        lp.a_matrix_.start_ = self.start
        lp.a_matrix_.index_ = self.index
        lp.a_matrix_.value_ = self.value
        return lp


def _bounds(objs: np.ndarray):
    """(lower, upper, integer) of VarData objects, as Pyomo's HiGHS interface passes them:
    the domain's interval intersected with the variable's bounds; a fixed variable at its value."""
    n = len(objs)
    lo, up = np.zeros(n), np.full(n, INF)
    integer = np.zeros(n, dtype=bool)
    fixed = np.zeros(n, dtype=bool)
    if n == 0:
        return lo, up, integer, fixed
    dom = objs[0]._domain
    same = all(v._domain is dom for v in objs)
    raw_lb = [v._lb for v in objs]
    raw_ub = [v._ub for v in objs]
    plain = all(b is None or type(b) in (int, float) for b in raw_lb) and \
        all(b is None or type(b) in (int, float) for b in raw_ub)
    if same and plain:
        dlb, dub, step = dom.get_interval()
        lo = np.array([-INF if b is None else b for b in raw_lb], dtype=float)
        up = np.array([INF if b is None else b for b in raw_ub], dtype=float)
        lo = np.maximum(lo, -INF if dlb is None else dlb)
        up = np.minimum(up, INF if dub is None else dub)
        integer[:] = step == 1
    else:  # general case: Pyomo's own properties, one variable at a time
        for i, v in enumerate(objs.tolist()):
            lb, ub = v.lb, v.ub
            lo[i] = -INF if lb is None else lb
            up[i] = INF if ub is None else ub
            integer[i] = v.is_integer()
    fixed = np.fromiter((v._fixed for v in objs), dtype=bool, count=n)
    if fixed.any():
        at = np.array([0.0 if v._value is None else v._value for v in objs[fixed]], dtype=float)
        lo[fixed] = at
        up[fixed] = at
    return lo, up, integer, fixed


def _active(model, fam) -> np.ndarray | None:
    """Active flag of each Pyomo row of ``fam`` (None: all active)."""
    blk = model.component(fam.block)
    con = blk.component(fam.name)
    if not blk.active or not con.active:
        return np.zeros(len(con), dtype=bool)
    act = np.fromiter((c._active for c in con.values()), dtype=bool, count=len(con))
    return None if act.all() else act


def compile_matrix(built, keep_objs: bool = False) -> Matrix:
    """The matrix of ``built`` in Pyomo's order (see the module docstring)."""
    from capacity.model.objective import OBJECTIVE_TERMS

    model = built.model
    block_rank = {b.local_name: k for k, b in enumerate(model.block_data_objects()) if b is not model}
    # columns: the top model's variables, then each block's, each in declaration order
    cblocks = sorted(built.column_blocks, key=lambda b: (-1 if b.block is None else block_rank[b.block]))
    n_cols = sum(len(b.objs) for b in cblocks)
    col_of = np.empty(n_cols, dtype=np.int64)
    lo_l, up_l, int_l, fix_l, columns = [], [], [], [], {}
    j = 0
    for b in cblocks:
        k = len(b.objs)
        col_of[b.start:b.start + k] = np.arange(j, j + k)
        columns[b.key] = np.arange(j, j + k)
        lo, up, integer, fixed = _bounds(b.objs)
        lo_l.append(lo), up_l.append(up), int_l.append(integer & ~fixed), fix_l.append(fixed)
        j += k
    identity = bool((col_of == np.arange(n_cols)).all())
    # rows, block by block
    rblocks = sorted(built.row_blocks, key=lambda r: block_rank[r.family.block])
    r_l, c_l, v_l, lo_r, up_r, rows = [], [], [], [], [], {}
    n_rows = 0
    for rb in rblocks:
        act = _active(model, rb.family)
        if act is None:
            pos = np.arange(n_rows, n_rows + rb.n)
        else:
            pos = np.where(act, np.cumsum(act) - 1 + n_rows, -1)
        rows[(rb.family.block, rb.family.name)] = pos
        rr, cc, vv, rhs = rb.rows, rb.cols, rb.coefs, rb.rhs
        if act is not None:
            keep = act[rr]
            rr, cc, vv = rr[keep], cc[keep], vv[keep]
            rhs = rhs[act]
        r_l.append(pos[rr] if act is not None else rr.astype(np.int64) + n_rows)
        c_l.append(cc if identity else col_of[cc])
        v_l.append(vv)
        sense = rb.family.sense
        lo_r.append(np.full(len(rhs), -INF) if sense == "<=" else rhs)
        up_r.append(np.full(len(rhs), INF) if sense == ">=" else rhs)
        n_rows += len(rhs)
    r = np.concatenate(r_l) if r_l else np.zeros(0, dtype=np.int64)
    c = np.concatenate(c_l) if c_l else np.zeros(0, dtype=np.int64)
    v = np.concatenate(v_l) if v_l else np.zeros(0)
    col_lower = np.concatenate(lo_l) if lo_l else np.zeros(0)
    col_upper = np.concatenate(up_l) if up_l else np.zeros(0)
    row_lower = np.concatenate(lo_r) if lo_r else np.zeros(0)
    row_upper = np.concatenate(up_r) if up_r else np.zeros(0)
    fixed = np.concatenate(fix_l) if fix_l else np.zeros(0, dtype=bool)
    cost, parts = _objective(built, cblocks, n_cols, [n for n in OBJECTIVE_TERMS
                                                      if built.model.component(n) is not None])
    offset = 0.0
    if fixed.any():
        # a fixed variable is a constant, as Pyomo's HiGHS interface treats it: its terms move to
        # the row bounds (in each row's term order) and its cost to the objective's offset; its
        # column stays, with lower = upper = its value
        fx = fixed[c]
        shift = np.zeros(n_rows)
        np.add.at(shift, r[fx], v[fx] * col_lower[c[fx]])
        row_lower = np.where(np.isinf(row_lower), row_lower, row_lower - shift)
        row_upper = np.where(np.isinf(row_upper), row_upper, row_upper - shift)
        r, c, v = r[~fx], c[~fx], v[~fx]
        offset = float(sum((cost[fixed] * col_lower[fixed]).tolist(), 0.0))
        cost = np.where(fixed, 0.0, cost)
    start, index, value = _csc(r, c, v, n_cols)
    mat = Matrix(
        n_rows=n_rows, n_cols=n_cols, cost=cost, offset=offset,
        col_lower=col_lower, col_upper=col_upper,
        integer=np.concatenate(int_l) if int_l else np.zeros(0, dtype=bool),
        start=start, index=index, value=value, row_lower=row_lower, row_upper=row_upper,
        col_of=col_of, columns=columns, rows=rows, parts=parts)
    if keep_objs:
        mat.col_objs = [o for b in cblocks for o in b.objs]
    return mat


def _csc(r, c, v, n_cols):
    """Column-wise arrays, rows ascending within each column, duplicate entries summed, zeros dropped."""
    order = np.lexsort((r, c))
    r, c, v = r[order], c[order], v[order]
    if len(r):
        new = np.ones(len(r), dtype=bool)
        new[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
        if not new.all():
            first = np.nonzero(new)[0]
            v = np.add.reduceat(v, first)
            r, c = r[first], c[first]
        nz = v != 0
        if not nz.all():
            r, c, v = r[nz], c[nz], v[nz]
    start = np.zeros(n_cols + 1, dtype=np.int32)
    np.cumsum(np.bincount(c, minlength=n_cols), out=start[1:])
    return start, r.astype(np.int32), v.astype(float)


def _linear_terms(expr):
    """(VarData list, coefficient list) of a Pyomo ``LinearExpression``."""
    return list(expr.linear_vars), [float(a) for a in expr.linear_coefs]


def _objective(built, cblocks, n_cols, part_names):
    """Cost vector and, per named part (an ``Expression`` on the model), its columns and
    coefficients (unweighted: the part's own); columns found by object identity. The cost vector
    weights each part by ``built.objective_weights`` (1 unless settings.risk_weight > 0)."""
    from pyomo.core.expr.numeric_expr import LinearExpression

    model = built.model
    all_objs = np.concatenate([b.objs for b in cblocks]) if cblocks else np.zeros(0, dtype=object)
    ids = np.fromiter(map(id, all_objs), dtype=np.uint64, count=len(all_objs))
    order = np.argsort(ids)
    sorted_ids = ids[order]
    names = list(part_names) + (["cost_elastic_penalty"] if model.component("cost_elastic_penalty") is not None
                                else [])
    cost = np.zeros(n_cols)
    parts = {}
    for name in names:
        expr = model.component(name).expr
        if not isinstance(expr, LinearExpression):
            raise TypeError(f"objective part {name} is not a LinearExpression")
        objs, coefs = _linear_terms(expr)
        oid = np.fromiter(map(id, objs), dtype=np.uint64, count=len(objs))
        k = np.searchsorted(sorted_ids, oid)
        if len(k) and (k.max() >= len(sorted_ids) or (sorted_ids[np.minimum(k, len(sorted_ids) - 1)] != oid).any()):
            raise ValueError(f"objective part {name} uses a variable outside the model's columns")
        cols = order[k]
        co = np.asarray(coefs, dtype=float)
        w = built.objective_weights.get(name, 1.0)   # v2 section 4: (1 - lambda), lambda (objective.py)
        np.add.at(cost, cols, co if w == 1.0 else w * co)
        parts[name] = (cols, co)
    return cost, parts


# -- solving ---------------------------------------------------------------------------------

_SIMPLEX_LINE = re.compile(r"^\s*(\d+)\s+([-+]?[0-9.]+(?:[eE][-+]?\d+)?)\s+(?:Pr|Ph)")
_METHOD = re.compile(r"Using (\w+) simplex solver")

_PHASE = {
    int(highspy.cb.HighsCallbackType.kCallbackSimplexInterrupt): "simplex",
    int(highspy.cb.HighsCallbackType.kCallbackIpmInterrupt): "interior point",
    int(highspy.cb.HighsCallbackType.kCallbackMipInterrupt): "branch and bound",
}


@dataclass
class Run:
    """What one HiGHS run returned."""

    status: object           # highspy.HighsModelStatus
    status_text: str
    has_solution: bool
    objective: float | None
    mip_dual_bound: float | None
    seconds: float
    iterations: int


class HighsModel:
    """One HiGHS instance holding a :class:`Matrix` (see the module docstring)."""

    def __init__(self, mat: Matrix, *, progress=None, every: float | None = None):
        self.mat = mat
        self.h = new_highs()
        self.progress = progress
        self.every = PROGRESS_EVERY if every is None else every
        self._latest: dict = {}
        self._log: dict = {}
        st = self.h.passModel(mat.lp())
        if st == highspy.HighsStatus.kError:
            raise RuntimeError("HiGHS refused the model (passModel)")
        for k, v in LP_OPTIONS.items():
            self.h.setOptionValue(k, v)
        self.h.HandleUserInterrupt = True
        if progress is not None:
            for cbt in (self.h.cbSimplexInterrupt, self.h.cbIpmInterrupt, self.h.cbMipInterrupt):
                cbt.subscribe(self._record)
            # HiGHS's log reaches us (never the console): the simplex objective and the method
            self.h.setOptionValue("output_flag", True)
            self.h.setOptionValue("log_to_console", False)
            self.h.cbLogging.subscribe(self._logged)
        self.integer = np.nonzero(mat.integer)[0].astype(np.int32)

    # options
    def set_options(self, **opts) -> None:
        for k, v in opts.items():
            if v is not None:
                self.h.setOptionValue(k, v)

    def _record(self, e) -> None:
        """Callback (HiGHS's thread): keep the latest figures; the waiting thread prints them."""
        d = e.data_out
        self._latest = {"phase": _PHASE.get(int(e.callback_type), "?"), "time": d.running_time,
                        "simplex": d.simplex_iteration_count, "ipm": d.ipm_iteration_count,
                        "objective": d.objective_function_value, "nodes": d.mip_node_count,
                        "primal": d.mip_primal_bound, "dual": d.mip_dual_bound}

    def _logged(self, e) -> None:
        """Logging callback (HiGHS's thread): the method in use and the last simplex objective."""
        msg = e.message
        m = _SIMPLEX_LINE.match(msg)
        if m:
            self._log["objective"] = float(m.group(2))
            self._log["iterations"] = int(m.group(1))
            return
        m = _METHOD.search(msg)
        if m:
            self._log["method"] = m.group(1) + " simplex"
        elif "Running IPX" in msg or "interior point" in msg.lower():
            self._log["method"] = "interior point"
        elif "Presolving model" in msg:
            self._log["method"] = "presolve"
        elif "Solving MIP model" in msg:
            self._log["method"] = "branch and bound"

    def _say(self, stage: str, t0: float) -> None:
        if self.progress is None:
            return
        d, log = self._latest, self._log
        elapsed = time.perf_counter() - t0
        if d.get("phase") == "branch and bound":
            text = (f"HiGHS {stage}: {elapsed:.0f}s, branch and bound, {d['nodes']:,} nodes, "
                    f"best {_num(d['primal'])}, bound {_num(d['dual'])}")
        else:
            method = log.get("method") or d.get("phase") or "presolve"
            if d.get("phase") == "interior point":
                method, its = "interior point", d["ipm"]
            else:
                its = max(d.get("simplex", 0) or 0, log.get("iterations", 0))
            text = f"HiGHS {stage}: {elapsed:.0f}s, {method}"
            if its:
                text += f", {its:,} iterations"
            if "objective" in log:
                text += f", objective {_num(log['objective'])}"
        self.progress(text)

    def run(self, stage: str) -> Run:
        """Run HiGHS on the model as it stands; Ctrl-C interrupts HiGHS, then raises KeyboardInterrupt."""
        self._latest, self._log = {}, {}
        t0 = time.perf_counter()
        last = t0
        interrupted = False
        tick = min(0.2, max(self.every, 0.001))
        thread = self.h.startSolve()
        while True:
            try:
                done, _ = self.h.wait(tick)
            except KeyboardInterrupt:
                interrupted = True
                self.h.cancelSolve()
                continue
            if done:
                break
            if time.perf_counter() - last >= self.every:
                last = time.perf_counter()
                self._say(stage, t0)
        thread.join()
        if interrupted:
            raise KeyboardInterrupt
        return self._run_result(time.perf_counter() - t0)

    def _run_result(self, seconds: float) -> Run:
        h = self.h
        ms = h.getModelStatus()
        info = h.getInfo()
        has = info.primal_solution_status == 2
        obj = float(info.objective_function_value) if has else None
        bound = None if int(info.mip_node_count) == -1 else float(info.mip_dual_bound)
        return Run(ms, h.modelStatusToString(ms), has, obj, bound, seconds,
                   int(info.simplex_iteration_count))

    # solution by position
    def col_values(self) -> np.ndarray:
        return np.asarray(self.h.getSolution().col_value, dtype=float)

    def row_duals(self) -> np.ndarray:
        return np.asarray(self.h.getSolution().row_dual, dtype=float)

    # changes on the same instance
    def set_integrality(self, integer: bool) -> None:
        k = self.integer
        if len(k) == 0:
            return
        t = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
        self.h.changeColsIntegrality(len(k), k, np.array([t] * len(k)))

    def set_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        cols = np.asarray(cols, dtype=np.int32)
        if len(cols):
            self.h.changeColsBounds(len(cols), cols, np.asarray(lower, dtype=float),
                                    np.asarray(upper, dtype=float))

    def get_basis(self):
        return self.h.getBasis()

    def set_basis(self, basis) -> bool:
        return self.h.setBasis(basis) == highspy.HighsStatus.kOk

    def clear(self) -> None:
        self.h.clear()


def _num(x) -> str:
    if x is None or not math.isfinite(x) or abs(x) >= 1e20:
        return "none yet"
    return f"{x:,.0f}"
