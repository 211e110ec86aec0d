"""The optimisation model of formulation.md, built with Pyomo.

Entry point :func:`build_model`. One module per constraint family group, each
a Pyomo ``Block`` of the same name (see models/README.md):

- :mod:`.index` sparse index sets (pandas/NumPy), :mod:`.variables`
- the family modules, listed by :mod:`.registry`: :mod:`.contracts` eq 1-5,
  :mod:`.regional` eq 6-9, :mod:`.hours` eq 10-11, :mod:`.demand` eq 12-13,
  :mod:`.nonanticipativity` eq 14, :mod:`.risk` (v2 section 4, the CVaR); each declares its families
  (:mod:`.family`) beside the code that builds their rows
- :mod:`.objective`
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from capacity.gcpause import paused_gc
from capacity.io.inputs import Inputs

from .core import Context, Family
from .index import VAR_LEVELS, ModelIndex, build_index
from .objective import PARTS, add_objective, cost_terms
from .registry import MODULES
from .variables import add_variables

__all__ = ["BuiltModel", "ModelIndex", "Family", "build_model", "elastic_violations",
           "VAR_LEVELS", "PARTS", "first_stage_values"]


@dataclass
class BuiltModel:
    """A built model and what is needed to read it back.

    - ``model``: the ``pyo.ConcreteModel``
    - ``index``: the sparse index frames (:class:`ModelIndex`)
    - ``inputs``: the Inputs it was built from; ``fixed``: the fixed first stage
    - ``families``: every constraint family (block, name, eq, row keys)
    - ``var_frames``/``var_objs``: per variable, its key frame and VarData array
      in the same order
    - ``stats``: ``build_s``, ``index_s``, variables, constraints, binaries
    - ``trivially_infeasible``: rows with no variable that cannot hold
      (e.g. a completion target where no unit can work); solve() reports these
      as infeasible without calling the solver
    - ``column_blocks``/``row_blocks``: every variable component's columns and
      every family's rows as arrays (:mod:`.core`), from which
      :mod:`.highs_route` assembles the matrix HiGHS solves; ``x``: the column
      values of the last solve
    """

    model: pyo.ConcreteModel
    index: ModelIndex
    inputs: Inputs
    families: list
    var_frames: dict
    var_objs: dict
    stats: dict = field(default_factory=dict)
    elastic: bool = False
    fixed: dict | None = None
    trivially_infeasible: list = field(default_factory=list)
    # the matrix route (capacity.model.highs_route): the arrays core.py kept while building
    column_blocks: list = field(default_factory=list, repr=False)
    row_blocks: list = field(default_factory=list, repr=False)
    # each named objective part's weight in the objective (capacity.model.objective.objective_weights)
    objective_weights: dict = field(default_factory=dict, repr=False)
    # after a solve: the column values in core.py's numbering (read by elastic_violations)
    x: np.ndarray | None = field(default=None, repr=False)

    def family(self, block: str, name: str) -> Family | None:
        for f in self.families:
            if f.block == block and f.name == name:
                return f
        return None


def _penalty(inputs: Inputs, ix: ModelIndex) -> float:
    coefs = [1.0]
    for frame, col in ((inputs.contracts, "cost_per_fte_week"), (inputs.contracts, "fixed_cost"),
                       (inputs.sources, "cost_per_fte_week"), (inputs.sources, "onboarding_cost"),
                       (inputs.work_types, "value_per_task")):
        if len(frame):
            coefs.append(float(np.nanmax(frame[col].to_numpy(dtype=float))))
    a_min = float(ix.work["a"].min()) if len(ix.work) else 1.0
    return 1e3 * max(coefs) * max(1.0, 1.0 / max(a_min, 1e-6)) * max(1.0, ix.H)


def build_model(inputs: Inputs, *, fixed: dict | None = None, elastic: bool = False) -> BuiltModel:
    """Build the Pyomo model of formulation.md.

    ``fixed``: ``{"y": {contract: 0/1}, "L": {contract: value}}`` fixes first
    stage decisions (EEV, shadow prices of a MILP). It may also hold
    ``"Ninc"``/``"Ndec"`` (keys ``(contract, week)``) and ``"O"``/``"X"``
    (keys ``(source, region, week)``): each value is fixed in every scenario
    (the non-anticipative decisions of eq 14, see :func:`first_stage_values`). ``elastic``: add
    penalised slack to the hard families (eq 3, 4, 5, 7, 8, 9, 10, 11, 13) so
    the model is always feasible; see :func:`elastic_violations` and
    models/README.md#elastic (an addition to the spec).
    """
    t0 = time.perf_counter()
    with paused_gc():   # millions of objects, almost no cycles: see capacity/gcpause.py
        ix = build_index(inputs)
        t1 = time.perf_counter()
        m = pyo.ConcreteModel(name="capacity")
        ctx = Context(m=m, ix=ix, elastic=elastic, penalty=0.0, reveal_week=int(inputs.settings.reveal_week),
                  inputs=inputs)
        if elastic:
            ctx.penalty = _penalty(inputs, ix)
        add_variables(ctx, fixed)
        ctx.cost_terms = cost_terms(ctx)   # what each decision costs: the objective's parts and the CVaR rows
        for module in MODULES:   # every constraint family, in formulation.md's order (registry.py)
            module.build(ctx)
        weights = add_objective(ctx)
    t2 = time.perf_counter()
    n_rows = sum(len(f.keys) for f in ctx.families)
    n_vars = sum(len(o) for o in ctx.objs.values())
    stats = {
        "index_s": t1 - t0,
        "build_s": t2 - t0,
        "variables": n_vars,
        "constraints": n_rows,
        "binaries": int(len(ctx.objs["y"])) - int(sum(v.fixed for v in ctx.objs["y"])),
    }
    return BuiltModel(model=m, index=ix, inputs=inputs, families=ctx.families,
                      var_frames=ctx.frames, var_objs=ctx.objs, stats=stats, elastic=elastic,
                      fixed=fixed, trivially_infeasible=ctx.trivially_infeasible,
                      column_blocks=ctx.column_blocks, row_blocks=ctx.row_blocks, objective_weights=weights)


def first_stage_values(built: BuiltModel, values: dict, reveal_week: int | None = None) -> dict:
    """The first-stage decisions of a solved model, as ``build_model(fixed=...)`` takes them.

    ``values``: ``SolveResult.values``. Returns ``y`` and ``L`` for every
    contract and, for the decisions that eq 14 makes equal in every scenario
    (``t - lag < reveal_week``), ``Ninc``/``Ndec`` by ``(contract, week)`` and
    ``O``/``X`` by ``(source, region, week)``, read from the first scenario.
    Used for the EEV: the expected-value problem's first stage fixed in the
    stochastic problem (whose scenarios differ).
    """
    ix = built.index
    reveal = int(built.inputs.settings.reveal_week if reveal_week is None else reveal_week)
    w0 = ix.scenarios[0]
    con = ix.contracts.set_index("contract")
    out = {name: {k: float(v) for k, v in values[name].items()} for name in ("y", "L")}
    specs = (("Ninc", ix.contract_weeks, "contract", con["lead_weeks"]),
             ("Ndec", ix.contract_weeks, "contract", con["notice_weeks"]),
             ("O", ix.regional, "source", ix.sources["lead_weeks"]),
             ("X", ix.regional, "source", ix.sources["notice_weeks"]))
    for name, frame, unit, lag in specs:
        levels = VAR_LEVELS[name]
        sel = frame[(frame["scenario"] == w0)
                    & (frame["week"].to_numpy() - frame[unit].map(lag).to_numpy(dtype=int) < reveal)]
        series = values[name]
        idx = pd.MultiIndex.from_frame(sel[levels])
        vals = series.reindex(idx).fillna(0.0).to_numpy(dtype=float)
        keys = [k[:-1] for k in idx]  # drop the scenario (last level)
        out[name] = dict(zip(keys, np.maximum(vals, 0.0).tolist()))
    return out


def elastic_violations(built: BuiltModel, tol: float = 1e-6) -> pd.DataFrame:
    """After solving an elastic model: rows with positive slack.

    Columns: family ('block.name'), equation, index (tuple of the row's key),
    levels (names of the key), slack (> tol; for an equality, |le - ge|).
    """
    recs = []
    start = {b.key: (b.start, b.n) for b in built.column_blocks}
    # the last solve's column values; none before a solve (solve() sets them, nothing loads values
    # into the Pyomo variables): no positive slack then
    fams = built.families if built.x is not None else []
    for fam in fams:
        if not fam.slack:
            continue
        tot = None
        for sname in fam.slack:
            s0, n = start[f"{fam.block}.{sname}"]
            vals = built.x[s0:s0 + n]
            tot = vals if tot is None else tot + vals
        for i in np.nonzero(tot > tol)[0]:
            recs.append({"family": f"{fam.block}.{fam.name}", "equation": fam.eq,
                         "index": tuple(fam.keys.iloc[i]), "levels": tuple(fam.levels),
                         "slack": float(tot[i])})
    return pd.DataFrame(recs, columns=["family", "equation", "index", "levels", "slack"])
