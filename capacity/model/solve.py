"""Solve a built model with HiGHS, in memory, through Pyomo.

Uses Pyomo's persistent HiGHS interface (``pyomo.contrib.solver`` "highs",
highspy underneath): the model is passed to HiGHS in memory, no LP file is
written. Shadow prices (formulation.md "Reported figures") come from the LP;
for a MILP, from the LP with ``y`` fixed at its optimum, re-solved on the same
persistent instance. Conventions: models/README.md#duals.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import TerminationCondition as TC
from pyomo.contrib.solver.solvers.highs import Highs, highspy

from capacity.model import VAR_LEVELS, BuiltModel, build_model, elastic_violations
from capacity.model.registry import FAMILIES

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


class _Highs(Highs):
    """Pyomo's persistent HiGHS, loading every variable in one batch.

    The stock ``set_instance`` registers variables constraint by constraint,
    which calls HiGHS once per constraint (quadratic in practice); adding all
    variables first makes loading linear. Behaviour is otherwise unchanged.
    """

    def set_instance(self, model):
        from pyomo.common.tee import TeeStream, capture_output

        with capture_output(TeeStream(*self._active_config.tee), capture_fd=True):
            self._reinit()
            self._model = model
            self._solver_model = highspy.Highs()
            allvars = list(model.component_data_objects(pyo.Var, descend_into=True))
            self.add_variables(allvars)
            self.add_block(model)
            if self._objective is None:
                self.set_objective(None)


def _no_updates(solver) -> None:
    au = solver.config.auto_updates
    for name in ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                 "check_for_new_or_removed_params", "check_for_new_objective",
                 "update_constraints", "update_vars", "update_parameters",
                 "update_named_expressions", "update_objective"):
        setattr(au, name, False)


def _use_threads(opts: dict, threads: int | None) -> None:
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
    opts["threads"] = int(threads)


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


def _values(built: BuiltModel) -> dict:
    out = {}
    for name, objs in built.var_objs.items():
        vals = np.fromiter((0.0 if v.value is None else v.value for v in objs), dtype=float,
                           count=len(objs))
        vals[np.abs(vals) < _CLEAN] = 0.0
        out[name] = _series(built.var_frames[name], VAR_LEVELS[name], vals)
    return out


def _family_duals(built, loader, fam) -> np.ndarray:
    con = built.model.component(fam.block).component(fam.name)
    cons = list(con.values())
    d = loader.get_duals(cons)
    return np.array([d[c] for c in cons], dtype=float)


def _duals(built: BuiltModel, loader) -> dict:
    """Shadow prices of every family declared with a :class:`~capacity.model.family.Dual`,
    by dual group, per scenario conditional on the scenario (sign x raw dual / pi[w]).

    Groups come from the registry (e.g. ``hours``: eq 10 and eq 11 rows with
    a ``unit`` level and region '' for contracts)."""
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
        parts[spec.dual.group].append((keys, spec.dual.sign * _family_duals(built, loader, fam)))
    out = {}
    for group, got in parts.items():
        if not got:
            continue
        levels = list(_dual_levels(group) or got[0][0].columns)
        keys = pd.concat([k[levels] for k, _ in got], ignore_index=True)
        d = np.concatenate([v for _, v in got])
        out[group] = _series(keys, levels, _clean(d / keys["scenario"].map(pi).to_numpy(dtype=float)))
    return out


def _dual_levels(group: str):
    return next((f.dual.levels for f in FAMILIES if f.dual is not None and f.dual.group == group), None)


def _clean(a):
    a = np.asarray(a, dtype=float)
    a = a + 0.0
    a[np.abs(a) < _CLEAN] = 0.0
    return a


def explain_infeasibility(built: BuiltModel, *, time_limit=None, threads=None,
                          max_solves: int = 30):
    """Which constraint families make ``built`` infeasible.

    Builds the elastic model (models/README.md#elastic) once, then runs a
    deletion filter over the elastic families on one persistent HiGHS
    instance: starting with every family hard (slack fixed at 0, infeasible),
    each family is made elastic in turn; if the rest is still infeasible it
    stays elastic, otherwise it is needed and made hard again. The families
    left hard form a minimal infeasible set (an IIS at family level), always
    together with the families that have no slack (eq 1, 2, 6, 12, 14).

    Returns (["block.name (eq N)", ...], violations of the fully elastic
    optimum as from :func:`capacity.model.elastic_violations`).
    """
    el = build_model(built.inputs, fixed=built.fixed, elastic=True)
    solver = _Highs()
    _no_updates(solver)
    opts = dict(load_solutions=False, raise_exception_on_nonoptimal_result=False)
    _use_threads(opts, threads)
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    res = solver.solve(el.model, **opts)
    if res.incumbent_objective is None:
        return [], None
    res.solution_loader.load_vars()
    viol = elastic_violations(el)
    fams = [f for f in el.families if f.slack]
    slacks = {id(f): [v for n in f.slack for v in el.model.component(f.block).component(n).values()]
              for f in fams}

    def set_hard(f, hard):
        vs = slacks[id(f)]
        for v in vs:
            if hard:
                v.fix(0.0)
            else:
                v.unfix()
        solver.update_variables(vs)

    for f in fams:
        set_hard(f, True)
    needed = []
    solves = 0
    for f in fams:
        if solves >= max_solves:
            needed.append(f)
            continue
        set_hard(f, False)
        r = solver.solve(el.model, **opts)
        solves += 1
        st = _status(r.termination_condition, r.incumbent_objective is not None)
        if st != "infeasible":
            set_hard(f, True)
            needed.append(f)
    names = []
    for f in needed:
        n = f"{f.block}.{f.name} (eq {f.eq})"
        if n not in names:
            names.append(n)
    if not names and len(viol):
        names = [f"{fam} (eq {eq})" for fam, eq in
                 viol[["family", "equation"]].drop_duplicates().itertuples(index=False)]
    return names, viol


def _trivial_families(built):
    seen = {}
    for fam, key in built.trivially_infeasible:
        name = f"{fam.block}.{fam.name} (eq {fam.eq})"
        seen[name] = seen.get(name, 0) + 1
    return [f"{n}: {k} row(s) with no variable that can meet it" for n, k in seen.items()]


def solve(built: BuiltModel, *, mip_gap: float | None = None, time_limit: float | None = None,
          threads: int | None = None, duals: bool = True, _explain: bool = True) -> SolveResult:
    """Solve ``built`` with HiGHS; defaults from ``inputs.settings``."""
    st = built.inputs.settings
    mip_gap = st.mip_gap if mip_gap is None else mip_gap
    time_limit = st.time_limit_s if time_limit is None else time_limit
    ys = list(built.var_objs["y"])
    is_mip = any(not v.fixed for v in ys)
    stats = dict(built.stats)
    stats.update(binaries=sum(not v.fixed for v in ys), solver_version=".".join(map(str, _Highs().version())))
    if built.trivially_infeasible:
        return _trivially_infeasible(built, stats)
    solver = _Highs()
    _no_updates(solver)
    opts = _options(threads, time_limit, mip_gap if is_mip else None)
    t0 = time.perf_counter()
    # y fixed everywhere (signed contracts only): give HiGHS an LP, not a MIP
    # with fixed integer columns, so that duals exist; restored below
    saved = [(v, v.domain) for v in ys] if not is_mip else []
    try:
        for v, _ in saved:
            v.domain = pyo.UnitInterval
        res = solver.solve(built.model, **opts)
    except Exception as exc:  # solver failure: report, do not crash the pipeline
        stats["solve_s"] = time.perf_counter() - t0
        return SolveResult("error", f"{type(exc).__name__}: {exc}", None, None, None, stats=stats)
    finally:
        for v, dom in saved:
            v.domain = dom
    stats["solve_s"] = time.perf_counter() - t0
    _highs_stats(stats, res, solver._solver_model)
    out = _outcome(res, solver._solver_model, stats)
    if out.status == "infeasible":
        if _explain:
            t1 = time.perf_counter()
            out.infeasible_families, out.infeasibility = explain_infeasibility(
                built, time_limit=time_limit, threads=threads)
            stats["explain_s"] = time.perf_counter() - t1
        return out
    if res.incumbent_objective is None:
        return out
    _read_solution(built, res, out, is_mip)
    if out.status == "error":
        return out
    if duals:
        t1 = time.perf_counter()
        try:
            out.duals = _lp_duals(built, solver, ys if is_mip else [], opts, res)
        except Exception as exc:  # duals are a report; never lose the plan for them
            stats["dual_error"] = f"{type(exc).__name__}: {exc}"
        stats["dual_s"] = time.perf_counter() - t1
    return out


def _trivially_infeasible(built: BuiltModel, stats: dict) -> SolveResult:
    viol = pd.DataFrame([{"family": f"{f.block}.{f.name}", "equation": f.eq, "index": k,
                          "levels": tuple(f.levels), "slack": math.nan}
                         for f, k in built.trivially_infeasible])
    return SolveResult("infeasible", "rows that cannot hold (no variable can meet them)",
                       None, None, None, stats=stats,
                       infeasible_families=_trivial_families(built), infeasibility=viol)


def _options(threads, time_limit, mip_gap) -> dict:
    opts = dict(load_solutions=False, raise_exception_on_nonoptimal_result=False)
    _use_threads(opts, threads)
    if time_limit is not None and not (isinstance(time_limit, float) and math.isnan(time_limit)):
        opts["time_limit"] = float(time_limit)
    if mip_gap is not None:
        opts["rel_gap"] = float(mip_gap)
    return opts


def _highs_stats(stats: dict, res, h) -> None:
    timers = res.timing_info.timer.timers
    stats["load_s"] = timers["set_instance"].total_time if "set_instance" in timers else None
    stats["highs_s"] = res.timing_info.highs_time
    try:
        stats["nonzeros"] = int(h.getNumNz())
        stats["constraints"] = int(h.getNumRow())
        stats["variables"] = int(h.getNumCol())
    except Exception:  # pragma: no cover - older highspy
        pass


def _outcome(res, h, stats: dict) -> SolveResult:
    tc = res.termination_condition
    status = _status(tc, res.incumbent_objective is not None)
    termination = f"{tc.name}: {h.modelStatusToString(h.getModelStatus())}"
    return SolveResult(status, termination, None, None, None, stats=stats)


def _read_solution(built: BuiltModel, res, out: SolveResult, is_mip: bool) -> None:
    """Objective, bound, gap, variable values and the objective's parts."""
    from capacity.model import PARTS

    res.solution_loader.load_vars()
    out.objective = float(res.incumbent_objective)
    out.bound = None if res.objective_bound is None else float(res.objective_bound)
    if not is_mip:
        out.gap = 0.0 if out.status == "optimal" else None
        if out.bound is None and out.status == "optimal":
            out.bound = out.objective
    elif out.bound is not None and math.isfinite(out.bound):
        out.gap = abs(out.objective - out.bound) / max(abs(out.objective), 1e-10)
        if abs(out.objective - out.bound) <= 1e-9 * max(1.0, abs(out.objective)):
            out.gap = 0.0
    out.values = _values(built)
    leak = _unsigned_use(out.values) if is_mip else None
    if leak:
        out.status, out.termination = "error", leak
        return
    out.objective_parts = {p: float(pyo.value(built.model.component(p))) for p in PARTS}


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


def _lp_duals(built, solver, ys, opts, res):
    """Duals of the LP; for a MILP (``ys`` given) of the LP with every y fixed
    at its optimum (integrality dropped), re-solved on the same instance."""
    if not ys:
        return _duals(built, res.solution_loader)
    saved = [(v, v.domain, v.value, v.fixed) for v in ys]
    try:
        for v in ys:
            v.domain = pyo.UnitInterval
            v.fix(float(round(v.value or 0.0)))
        solver.update_variables(ys)
        opts = {k: v for k, v in opts.items() if k != "rel_gap"}
        lp = solver.solve(built.model, **opts)
        if lp.termination_condition != TC.convergenceCriteriaSatisfied:
            raise RuntimeError(f"LP with y fixed: {lp.termination_condition.name}")
        return _duals(built, lp.solution_loader)
    finally:
        for v, dom, val, was_fixed in saved:
            if not was_fixed:
                v.unfix()
            v.domain = dom
            v.set_value(val)
