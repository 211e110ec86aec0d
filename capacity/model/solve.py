"""Solve a built model with HiGHS, in memory: the one entry point, :func:`solve`.

The Pyomo model (the model of record) is compiled to arrays and passed whole
to one HiGHS instance (:mod:`capacity.model.highs_route`); no file is
written. LP first: the LP relaxation is solved; when every binary ``y`` comes
out integral that is the MILP optimum, and its row duals are the shadow
prices (the same basis is optimal for the LP with ``y`` fixed). Otherwise the
MIP runs on the same instance, then the LP with ``y`` fixed at its optimum,
warm-started from the relaxation's basis. ``stats["solve_path"]`` says which
(the run sheet's ``solve_path``). Conventions: models/README.md#duals and
#solving. ``plan``, ``compare``'s runs, the audit re-solve and the
infeasibility diagnosis all solve through here.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pyomo.contrib.solver.common.results import TerminationCondition as TC

import highspy
from capacity.model import VAR_LEVELS, BuiltModel, build_model, elastic_violations
from capacity.model.highs_route import INF, HighsModel, Run, compile_matrix, highs_version
from capacity.model.registry import FAMILIES
from capacity.model.warm_start import warm_basis

STATUSES = ("optimal", "feasible", "infeasible", "unbounded", "no_solution", "error")
_CLEAN = 1e-9


@dataclass
class SolveResult:
    status: str          # one of STATUSES
    termination: str     # the solver's own termination message
    objective: float | None
    bound: float | None
    gap: float | None    # relative MIP gap achieved (0 for an LP)
    values: dict = field(default_factory=dict)   # var name -> Series (named (Multi)Index)
    duals: dict = field(default_factory=dict)    # 'hours', 'demand', 'lock_in' -> Series
    stats: dict = field(default_factory=dict)
    infeasible_families: list = field(default_factory=list)
    # addition: the elastic model's positive slacks when infeasible (family,
    # equation, index, levels, slack); None otherwise
    infeasibility: pd.DataFrame | None = None
    objective_parts: dict = field(default_factory=dict)   # addition: PARTS -> value
    # v2 section 4 (risk_weight > 0, with duals): q_w = (1 - lambda) pi_w + nu_w, the weight the plan gives
    # each scenario (nu_w: the dual of scenario w's CVaR row); the shadow prices are divided by it
    risk_adjusted_probability: pd.Series | None = None


def _status(tc, has_solution: bool) -> str:
    if tc == TC.convergenceCriteriaSatisfied:
        return "optimal" if has_solution else "error"
    if tc in (TC.provenInfeasible, TC.locallyInfeasible):
        return "infeasible"
    if tc == TC.infeasibleOrUnbounded:
        # every cost is >= 0 and every variable >= 0: the model is bounded below
        return "infeasible"
    if tc == TC.unbounded:
        return "unbounded"
    if tc in (TC.maxTimeLimit, TC.iterationLimit, TC.objectiveLimit, TC.minStepLength,
              TC.interrupted):
        return "feasible" if has_solution else "no_solution"
    return "feasible" if has_solution else "error"


def _series(frame: pd.DataFrame, levels: list, values: np.ndarray) -> pd.Series:
    if len(levels) == 1:
        idx = pd.Index(frame[levels[0]].to_numpy(), name=levels[0])
    else:
        idx = pd.MultiIndex.from_frame(frame[levels])
    return pd.Series(values, index=idx, dtype=float)



# HiGHS's model status -> the termination condition Pyomo's HiGHS interface reports (the words of
# ``SolveResult.termination`` and of "no solution: ..." messages stay those of that interface)
_MS = highspy.HighsModelStatus
_TC_OF = {
    _MS.kNotset: TC.unknown, _MS.kLoadError: TC.error, _MS.kModelError: TC.error,
    _MS.kPresolveError: TC.error, _MS.kSolveError: TC.error, _MS.kPostsolveError: TC.error,
    _MS.kModelEmpty: TC.unknown, _MS.kOptimal: TC.convergenceCriteriaSatisfied,
    _MS.kInfeasible: TC.provenInfeasible, _MS.kUnboundedOrInfeasible: TC.infeasibleOrUnbounded,
    _MS.kUnbounded: TC.unbounded, _MS.kObjectiveBound: TC.objectiveLimit,
    _MS.kObjectiveTarget: TC.objectiveLimit, _MS.kTimeLimit: TC.maxTimeLimit,
    _MS.kIterationLimit: TC.iterationLimit, _MS.kSolutionLimit: TC.iterationLimit,
    _MS.kUnknown: TC.unknown, _MS.kInterrupt: TC.interrupted,
}
#: a relaxation's y this close to 0 or 1 counts as integral (then the LP with y fixed decides)
INTEGRAL_TOL = 1e-6

PATH_LP = "LP: no binary decision left (every y fixed), one LP"
PATH_INTEGRAL = "LP relaxation integral: no branching"
PATH_NEAR = "LP relaxation integral within 1e-6: y rounded, the LP with y fixed warm-started; no branching"
PATH_MIP = "MIP (LP relaxation fractional), then the LP with y fixed, warm-started from the relaxation's basis"
PATH_RELAX_STOP = "LP relaxation did not finish: no MIP run"
PATH_RELAX_INFEASIBLE = "LP relaxation infeasible: no branching"


def _tc(run: Run):
    return _TC_OF.get(run.status, TC.unknown)


def _termination(run: Run) -> str:
    return f"{_tc(run).name}: {run.status_text}"


def _run_status(run: Run) -> str:
    return _status(_tc(run), run.has_solution)


def _values(built: BuiltModel, x: np.ndarray) -> dict:
    """Variable values by name, read by position from ``x`` (core.py's column numbering)."""
    out = {}
    starts = {b.key: b.start for b in built.column_blocks if b.block is None}
    for name, frame in built.var_frames.items():
        s0 = starts[name]
        vals = np.array(x[s0:s0 + len(frame)], dtype=float)
        vals[np.abs(vals) < _CLEAN] = 0.0
        out[name] = _series(built.var_frames[name], VAR_LEVELS[name], vals)
    return out


def risk_adjusted_probability(built: BuiltModel, mat, row_dual: np.ndarray) -> pd.Series | None:
    """v2 section 4: q_w = (1 - lambda) pi_w + nu_w, nu_w the dual of scenario w's CVaR row (>= 0,
    summing to lambda): how much scenario w weighs in the risk-adjusted objective (models/README.md#risk).
    None without the CVaR rows (lambda = 0: q = pi)."""
    from capacity.model import risk

    fam = built.family(risk.BLOCK, risk.TAIL.name)
    if fam is None or len(fam.keys) == 0:
        return None
    pos = mat.rows[(risk.BLOCK, risk.TAIL.name)]
    nu = _clean(np.where(pos >= 0, row_dual[np.maximum(pos, 0)], 0.0))
    lam = risk.weight(built.inputs)
    pi = fam.keys["scenario"].map(built.index.pi).to_numpy(dtype=float)
    q = _clean((1.0 - lam) * pi + nu)
    return pd.Series(q, index=pd.Index(fam.keys["scenario"].to_numpy(), name="scenario"), dtype=float)


def _duals(built: BuiltModel, mat, row_dual: np.ndarray, weights: pd.Series | None = None) -> dict:
    """Shadow prices of every family declared with a :class:`~capacity.model.family.Dual`,
    by dual group, per scenario conditional on the scenario (sign x raw dual / pi[w]; with the CVaR
    in the objective, v2 section 4, / q[w], the risk-adjusted probability ``weights``, and 0 where q[w]
    is 0: a scenario the plan gives no weight).

    Groups come from the registry (e.g. ``hours``: eq 10 and eq 11 rows with
    a ``unit`` level and region '' for contracts). Read by position: each
    family's rows are ``mat.rows[(block, name)]`` (a deactivated row has 0)."""
    pi = built.index.pi
    parts: dict[str, list] = {}
    for spec in FAMILIES:
        if spec.dual is None:
            continue
        parts.setdefault(spec.dual.group, [])
        fam = built.family(spec.block, spec.name)
        if fam is None or len(fam.keys) == 0:
            continue
        keys = fam.keys.rename(columns={spec.dual.unit: "unit"}) if spec.dual.unit else fam.keys.copy()
        if spec.dual.region is not None:
            keys = keys.assign(region=spec.dual.region)
        pos = mat.rows[(spec.block, spec.name)]
        raw = np.where(pos >= 0, row_dual[np.maximum(pos, 0)], 0.0)
        parts[spec.dual.group].append((keys, spec.dual.sign * raw))
    out = {}
    for group, got in parts.items():
        if not got:
            continue
        levels = list(_dual_levels(group) or got[0][0].columns)
        keys = pd.concat([k[levels] for k, _ in got], ignore_index=True)
        d = np.concatenate([v for _, v in got])
        # each scenario's weight in the objective: pi, or q with the CVaR (0 for a scenario q leaves out)
        den = keys["scenario"].map(pi if weights is None else weights).to_numpy(dtype=float)
        out[group] = _series(keys, levels, _clean(np.divide(d, den, out=np.zeros(len(d)), where=den > 0)))
    return out


def _objective_parts(mat, xm: np.ndarray) -> dict:
    """Each named part of the objective at ``xm`` (matrix order), summed term by term in Pyomo's
    order, as Pyomo evaluates the part's expression."""
    from capacity.model import PARTS

    return _part_values(mat, xm, PARTS)


def _part_values(mat, xm: np.ndarray, names) -> dict:
    out = {}
    for p in names:
        if p not in mat.parts:
            continue
        cols, co = mat.parts[p]
        out[p] = float(sum(map(float.__mul__, co.tolist(), xm[cols].tolist()), 0))
    return out


def _use_threads(h: HighsModel, threads: int | None) -> None:
    """Ask HiGHS for ``threads`` threads.

    HiGHS runs on one process-wide task scheduler, created by the first solve
    with that solve's thread count; a later solve asking for a different count
    fails with model status 'Not Set' (and the run ends with "no solution").
    Resetting the scheduler lets the next solve create it with the count asked
    for (tests/test_determinism.py: the same tables with and without
    --threads).
    """
    if threads is None:
        return
    highspy.Highs.resetGlobalScheduler(True)
    h.set_options(threads=int(threads))


class _Clock:
    """What is left of the time limit (HiGHS's time_limit applies to each run)."""

    def __init__(self, limit):
        ok = limit is not None and not (isinstance(limit, float) and math.isnan(limit))
        self.limit = float(limit) if ok else None
        self.t0 = time.perf_counter()

    def left(self) -> float | None:
        if self.limit is None:
            return None
        return max(0.0, self.limit - (time.perf_counter() - self.t0))

    def apply(self, h: HighsModel) -> None:
        left = self.left()
        h.set_options(time_limit=INF if left is None else left)


def _open(built: BuiltModel, stats: dict, threads, progress, mat=None):
    """Compile ``built`` (unless ``mat`` is its matrix already) and pass it to a new HiGHS instance."""
    t0 = time.perf_counter()
    if mat is None:
        mat = compile_matrix(built)
    stats["compile_s"] = time.perf_counter() - t0
    hm = HighsModel(mat, progress=progress)
    stats["load_s"] = time.perf_counter() - t0
    _use_threads(hm, threads)
    stats["nonzeros"] = int(hm.h.getNumNz())
    stats["constraints"] = int(hm.h.getNumRow())
    stats["variables"] = int(hm.h.getNumCol())
    return mat, hm


def _fix_y(hm: HighsModel, y: np.ndarray) -> None:
    """The LP with every free y fixed at ``y`` (rounded), integrality dropped."""
    hm.set_integrality(False)
    r = np.round(y)
    hm.set_bounds(hm.integer, r, r)


def _y_off(y: np.ndarray) -> float:
    """How far the y farthest from 0 or 1 is from it (0 when every y is integral)."""
    return float(np.max(np.abs(y - np.round(y)))) if len(y) else 0.0


def _free_y(hm: HighsModel) -> None:
    k = hm.integer
    hm.set_bounds(k, hm.mat.col_lower[k], hm.mat.col_upper[k])


def _lp_first(hm: HighsModel, clock: _Clock, mip_gap: float, want_duals: bool, stats: dict, warm=None):
    """LP relaxation, then (only when needed) the MIP and the LP with y fixed; one instance.

    ``warm``: a function giving a starting basis for the relaxation or None
    (:func:`capacity.model.warm_start.warm_basis`).
    Returns (status, termination, objective, bound, x in matrix order or None, row duals or None).
    """
    is_mip = len(hm.integer) > 0
    stats["dual_s"] = 0.0   # the seconds of a separate LP for the duals (none when they come with the LP)
    t0 = time.perf_counter()
    start = warm() if warm is not None else None
    if start is not None and not hm.set_basis(start):
        stats["warm_start"] = "not used: HiGHS refused the basis"
        start = None
    clock.apply(hm)
    relax = hm.run("LP relaxation" if is_mip else "LP")
    stats["relaxation_s"] = time.perf_counter() - t0
    stats["relaxation_iterations"] = relax.iterations
    status = _run_status(relax)
    if not is_mip:
        stats["solve_path"] = PATH_LP
        x = hm.col_values() if relax.has_solution else None
        duals = hm.row_duals() if (want_duals and status == "optimal") else None
        bound = relax.objective if status == "optimal" else None
        return status, _termination(relax), relax.objective, bound, x, duals
    if status == "infeasible":
        stats["solve_path"] = PATH_RELAX_INFEASIBLE
        return status, _termination(relax), None, None, None, None
    if status != "optimal":   # no relaxation optimum: no MILP solution to report
        stats["solve_path"] = PATH_RELAX_STOP
        st = "unbounded" if status == "unbounded" else ("error" if status == "error" else "no_solution")
        return st, _termination(relax), None, None, None, None
    x = hm.col_values()
    y = x[hm.integer]
    off = _y_off(y)
    stats["relaxation_y_off"] = off
    if off == 0.0:
        stats["solve_path"] = PATH_INTEGRAL
        duals = hm.row_duals() if want_duals else None
        return "optimal", _termination(relax), relax.objective, relax.objective, x, duals
    basis = hm.get_basis()
    if off <= INTEGRAL_TOL:
        # y rounded: the LP with y fixed from the relaxation's basis; optimal if within the gap
        _fix_y(hm, y)
        clock.apply(hm)
        fixed = hm.run("LP with y fixed")
        stats["dual_s"] = fixed.seconds
        if _run_status(fixed) == "optimal":
            gap = abs(fixed.objective - relax.objective) / max(abs(fixed.objective), 1e-10)
            if gap <= mip_gap:
                stats["solve_path"] = PATH_NEAR
                duals = hm.row_duals() if want_duals else None
                return "optimal", _termination(fixed), fixed.objective, relax.objective, hm.col_values(), duals
        _free_y(hm)
    # the MIP, on the same instance
    hm.set_integrality(True)
    hm.set_options(mip_rel_gap=float(mip_gap))
    clock.apply(hm)
    t0 = time.perf_counter()
    mip = hm.run("MIP")
    stats["mip_s"] = time.perf_counter() - t0
    stats["solve_path"] = PATH_MIP
    status = _run_status(mip)
    term = _termination(mip)
    if not mip.has_solution:
        return status, term, None, None, None, None
    x = hm.col_values()
    bound = mip.mip_dual_bound
    duals = None
    if want_duals:
        t1 = time.perf_counter()
        try:
            _fix_y(hm, x[hm.integer])
            hm.set_basis(basis)
            clock.apply(hm)
            lp = hm.run("LP with y fixed")
            if _tc(lp) != TC.convergenceCriteriaSatisfied:
                raise RuntimeError(f"LP with y fixed: {_tc(lp).name}")
            duals = hm.row_duals()
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # duals are a report; never lose the plan for them
            stats["dual_error"] = f"{type(exc).__name__}: {exc}"
        stats["dual_s"] = time.perf_counter() - t1
    return status, term, mip.objective, bound, x, duals


def solve(built: BuiltModel, *, mip_gap: float | None = None, time_limit: float | None = None,
          threads: int | None = None, duals: bool = True, _explain: bool = True,
          progress=None, release: bool = False, _matrix=None) -> SolveResult:
    """Solve ``built`` with HiGHS; defaults from ``inputs.settings``.

    ``progress``: a function of one line of text, called every few seconds
    during long HiGHS runs (elapsed time, phase, iterations, objective); None
    says nothing. ``release``: once HiGHS holds the model, drop the Pyomo
    objects (``built.model`` becomes None; the index frames, families and
    the solution stay), so that the peak is not Pyomo's objects and HiGHS's
    together (``plan`` does this; nothing after its solve reads the Pyomo
    model). ``_matrix``: ``built``'s matrix when the caller has compiled it already."""
    st = built.inputs.settings
    mip_gap = st.mip_gap if mip_gap is None else mip_gap
    stats = dict(built.stats)
    stats.update(binaries=sum(not v.fixed for v in built.var_objs["y"]), solver_version=highs_version())
    if built.trivially_infeasible:
        stats["solve_path"] = "no solve: rows that no variable can meet"
        return _trivially_infeasible(built, stats)
    clock = _Clock(st.time_limit_s if time_limit is None else time_limit)
    t0 = time.perf_counter()
    try:
        mat, hm = _open(built, stats, threads, progress, _matrix)
        if release:
            _release(built, stats)
        warm = (lambda: warm_basis(built, mat, time_left=clock.left, workers=threads, progress=progress,
                                   stats=stats))
        status, term, objective, bound, xm, row_dual = _lp_first(hm, clock, float(mip_gap), duals, stats, warm)
        if stats.get("warm_start", "").endswith("at a time"):
            stats["solve_path"] += f" (from the basis of {stats['warm_start']}: models/README.md#warm-start)"
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # solver failure: report, do not crash the pipeline
        stats["solve_s"] = time.perf_counter() - t0
        return SolveResult("error", f"{type(exc).__name__}: {exc}", None, None, None, stats=stats)
    stats["highs_s"] = hm.h.getRunTime()
    hm.clear()
    del hm
    stats["solve_s"] = time.perf_counter() - t0
    out = SolveResult(status, term, None, None, None, stats=stats)
    if status == "infeasible":
        if _explain:
            t1 = time.perf_counter()
            out.infeasible_families, out.infeasibility = explain_infeasibility(
                built, time_limit=time_limit, threads=threads)
            stats["explain_s"] = time.perf_counter() - t1
        return out
    if xm is None:
        return out
    is_mip = stats["binaries"] > 0
    _read_solution(built, mat, xm, objective, bound, out, is_mip)
    if out.status == "error":
        return out
    if duals and row_dual is not None:
        out.risk_adjusted_probability = risk_adjusted_probability(built, mat, row_dual)
        out.duals = _duals(built, mat, row_dual, out.risk_adjusted_probability)
    return out


def _release(built: BuiltModel, stats: dict) -> None:
    """Drop the Pyomo model and the arrays it was compiled from (HiGHS has its own copy)."""
    import gc

    t0 = time.perf_counter()
    built.model = None
    built.var_objs = {}
    for b in built.column_blocks:
        b.objs = np.zeros(0, dtype=object)
    built.row_blocks = []
    gc.collect()     # Pyomo's components refer to each other: only the collector frees them
    stats["release_s"] = time.perf_counter() - t0


def _read_solution(built: BuiltModel, mat, xm, objective, bound, out: SolveResult, is_mip: bool) -> None:
    """Objective, bound, gap, variable values and the objective's parts.

    The objective is the cost to go (v2 section 1): the history weeks' lost value, minimised with it
    (:mod:`capacity.model.objective`), is taken out of the solver's objective and bound."""
    from capacity.model.objective import SUNK_PARTS

    sunk = sum(_part_values(mat, xm, SUNK_PARTS).values())
    out.objective = float(objective) - sunk
    out.bound = None if bound is None else float(bound) - sunk
    if not is_mip:
        out.gap = 0.0 if out.status == "optimal" else None
        if out.bound is None and out.status == "optimal":
            out.bound = out.objective
    elif out.bound is not None and math.isfinite(out.bound):
        out.gap = abs(out.objective - out.bound) / max(abs(out.objective), 1e-10)
        if abs(out.objective - out.bound) <= 1e-9 * max(1.0, abs(out.objective)):
            out.gap = 0.0
    x = xm[mat.col_of]          # core.py's numbering
    built.x = x
    out.values = _values(built, x)
    leak = _unsigned_use(out.values) if is_mip else None
    if leak:
        out.status, out.termination = "error", leak
        return
    out.objective_parts = _objective_parts(mat, xm)


def _feasible(hm: HighsModel, clock: _Clock) -> str:
    """The status of the model as it stands: the relaxation, then the MIP only when needed."""
    hm.set_integrality(False)
    clock.apply(hm)
    relax = hm.run("LP relaxation")
    st = _run_status(relax)
    if st != "optimal" or len(hm.integer) == 0:
        return st
    if _y_off(hm.col_values()[hm.integer]) == 0.0:
        return st
    hm.set_integrality(True)
    clock.apply(hm)
    return _run_status(hm.run("MIP"))


def explain_infeasibility(built: BuiltModel, *, time_limit=None, threads=None,
                          max_solves: int = 30):
    """Which constraint families make ``built`` infeasible.

    Builds the elastic model (models/README.md#elastic) once, then runs a
    deletion filter over the elastic families on one HiGHS instance:
    starting with every family hard (slack fixed at 0, infeasible), each
    family is made elastic in turn; if the rest is still infeasible it stays
    elastic, otherwise it is needed and made hard again. The families left
    hard form a minimal infeasible set (an IIS at family level), always
    together with the families that have no slack (eq 1, 2, 6, 12, 14).

    Returns (["block.name (eq N)", ...], violations of the fully elastic
    optimum as from :func:`capacity.model.elastic_violations`).
    """
    el = build_model(built.inputs, fixed=built.fixed, elastic=True)
    try:   # once: the elastic solve and the deletion filter's instance
        mat = compile_matrix(el)
    except Exception:   # as a failed elastic solve: no explanation
        return [], None
    res = solve(el, time_limit=time_limit, threads=threads, duals=False, _explain=False, _matrix=mat)
    if res.objective is None:
        return [], None
    viol = elastic_violations(el)
    hm = HighsModel(mat)
    hm.set_options(mip_rel_gap=1e-4)
    _use_threads(hm, threads)
    clock = _Clock(time_limit)
    fams = [f for f in el.families if f.slack]
    slacks = {id(f): np.concatenate([mat.columns[f"{f.block}.{n}"] for n in f.slack]) for f in fams}

    def set_hard(f, hard):
        cols = slacks[id(f)]
        hm.set_bounds(cols, np.zeros(len(cols)), np.zeros(len(cols)) if hard else mat.col_upper[cols])

    for f in fams:
        set_hard(f, True)
    needed = []
    solves = 0
    for f in fams:
        if solves >= max_solves:
            needed.append(f)
            continue
        set_hard(f, False)
        st = _feasible(hm, clock)
        solves += 1
        if st != "infeasible":
            set_hard(f, True)
            needed.append(f)
    hm.clear()
    names = []
    for f in needed:
        n = f"{f.block}.{f.name} (eq {f.eq})"
        if n not in names:
            names.append(n)
    if not names and len(viol):
        names = [f"{fam} (eq {eq})" for fam, eq in
                 viol[["family", "equation"]].drop_duplicates().itertuples(index=False)]
    return names, viol


def _dual_levels(group: str):
    return next((f.dual.levels for f in FAMILIES if f.dual is not None and f.dual.group == group), None)


def _clean(a):
    a = np.asarray(a, dtype=float)
    a = a + 0.0
    a[np.abs(a) < _CLEAN] = 0.0
    return a


def _trivial_families(built):
    seen = {}
    for fam, key in built.trivially_infeasible:
        name = f"{fam.block}.{fam.name} (eq {fam.eq})"
        seen[name] = seen.get(name, 0) + 1
    return [f"{n}: {k} row(s) with no variable that can meet it" for n, k in seen.items()]


def _trivially_infeasible(built: BuiltModel, stats: dict) -> SolveResult:
    viol = pd.DataFrame([{"family": f"{f.block}.{f.name}", "equation": f.eq, "index": k,
                          "levels": tuple(f.levels), "slack": math.nan}
                         for f, k in built.trivially_infeasible])
    return SolveResult("infeasible", "rows that cannot hold (no variable can meet them)",
                       None, None, None, stats=stats,
                       infeasible_families=_trivial_families(built), infeasibility=viol)


def _unsigned_use(values: dict) -> str | None:
    """HiGHS accepts y within its integrality tolerance (1e-6) of 0 or 1, and
    N <= max_fte*y then lets up to max_fte*1e-6 FTE work for a contract that
    is not signed (and escape its fixed cost). Such a solution is not a plan:
    say so (models/README.md#numeric-range)."""
    y = values.get("y")
    if y is None or len(y) == 0:
        return None
    for name in ("N", "L"):
        level = values.get(name)
        if level is None or len(level) == 0:
            continue
        most = level.groupby(level="contract").max()
        for c, used in most.items():
            if y.get(c, 1.0) < 0.5 and used > 1e-6:
                return (f"unreliable solution: the solver's integrality tolerance let contract {c!r} staff "
                        f"{used:.3g} FTE while not signed (y = {y[c]:.2g}); lower its max_fte towards the most "
                        "it could supply")
    return None
