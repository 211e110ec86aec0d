"""Vectorised construction helpers shared by the family modules.

A constraint family is described by a frame of row keys and a list of
*term groups* (variable name, row numbers, variable positions, coefficients),
all NumPy arrays computed in pandas. :func:`add_rows` sorts the terms by row
once and hands Pyomo one ``LinearExpression`` per row, so no Pyomo rule ever
searches for its terms.

The same arrays are kept, by column position, as :class:`RowBlock` records
(``Context.row_blocks``) and the columns as :class:`ColumnBlock` records
(``Context.column_blocks``): :mod:`capacity.model.highs_route` assembles the
matrix HiGHS solves from them, and tests/test_matrix_route.py asserts that it
is exactly the Pyomo model's standard form.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from .family import FamilySpec
from .index import ModelIndex


@dataclass
class Family:
    """The rows one :class:`FamilySpec` built in one model (for duals,
    infeasibility reports): the declaration plus the row keys."""

    spec: FamilySpec
    levels: list        # index level names of the rows
    keys: pd.DataFrame  # row keys (only rows that exist), in Pyomo order
    slack: list = field(default_factory=list)   # names of slack vars on the block (elastic)

    block = property(lambda self: self.spec.block)
    name = property(lambda self: self.spec.name)
    eq = property(lambda self: self.spec.eq)
    sense = property(lambda self: self.spec.sense)


@dataclass
class ColumnBlock:
    """One Pyomo variable component's columns: ``objs`` in Pyomo order, from column ``start``."""

    key: str            # var name on the top model, or 'block.name' for an elastic slack
    block: str | None   # None: on the top model
    start: int
    objs: np.ndarray    # VarData objects (emptied when a solve releases the Pyomo model)
    n: int = 0          # number of columns


@dataclass
class RowBlock:
    """The rows of one family as arrays: local row numbers (0..n-1, Pyomo's order),
    global column positions, coefficients (one entry per term, duplicates not summed)
    and the right-hand side; ``sense`` is the family's."""

    family: Family
    rows: np.ndarray
    cols: np.ndarray
    coefs: np.ndarray
    rhs: np.ndarray

    @property
    def n(self) -> int:
        return len(self.rhs)


@dataclass
class Context:
    m: pyo.ConcreteModel
    ix: ModelIndex
    elastic: bool
    penalty: float
    reveal_week: int = 1
    inputs: object = None   # the Inputs the model is built from (v2 history: variables.py)
    frames: dict = field(default_factory=dict)    # var name -> key frame (with 'pos')
    objs: dict = field(default_factory=dict)      # var name -> np.ndarray of VarData
    families: list = field(default_factory=list)
    penalty_terms: list = field(default_factory=list)   # (obj array, coef array)
    trivially_infeasible: list = field(default_factory=list)  # (Family, key) pairs
    column_blocks: list = field(default_factory=list)   # ColumnBlock per variable component
    cost_terms: list = field(default_factory=list)      # objective.cost_terms, computed once per build
    row_blocks: list = field(default_factory=list)      # RowBlock per family with rows
    n_cols: int = 0

    def _columns(self, key, block, objs):
        self.column_blocks.append(ColumnBlock(key, block, self.n_cols, objs, len(objs)))
        self.n_cols += len(objs)
        return self.column_blocks[-1].start

    # -- variables -------------------------------------------------------------
    def add_var(self, name, frame, levels, *, lb=0.0, ub=None, domain=pyo.NonNegativeReals,
                doc=""):
        """Variable ``name`` indexed by the rows of ``frame[levels]``."""
        keys = _keys(frame, levels)
        var = pyo.Var(keys, domain=domain, dense=True, doc=doc)
        self.m.add_component(name, var)
        objs = _objarray(var.values())
        if ub is not None:
            ub = np.asarray(ub, dtype=float)
            for v, u in zip(objs, ub.tolist()):
                if u != np.inf:
                    v.setub(u)
        f = frame[levels].reset_index(drop=True).copy()
        f["pos"] = np.arange(len(f))
        self.frames[name] = f
        self.objs[name] = objs
        self._columns(name, None, objs)
        return var

    def pos(self, name, query: pd.DataFrame, on: list, rename: dict | None = None):
        """Positions in var ``name`` of each query row (-1 where absent)."""
        f = self.frames[name]
        if rename:
            f = f.rename(columns=rename)
        got = query[on].merge(f[on + ["pos"]], on=on, how="left")["pos"]
        return got.fillna(-1).to_numpy(dtype=np.int64)

    # -- constraints -----------------------------------------------------------
    def add_rows(self, spec: FamilySpec, keys: pd.DataFrame, levels, terms, rhs):
        """Rows ``sum(terms) <spec.sense> rhs`` of family ``spec`` for each row of ``keys``.

        ``terms``: list of (var name, row index array, var position array,
        coefficient array or scalar); entries with position < 0 or
        coefficient 0 are dropped. Rows with no term are not created (a
        constant row that cannot hold is recorded as trivially infeasible).
        In the elastic model (ctx.elastic) a family with a slack unit gets a
        penalised non-negative slack that makes every row satisfiable.
        """
        keys = keys.reset_index(drop=True)
        n = len(keys)
        rhs = np.broadcast_to(np.asarray(rhs, dtype=float), (n,)).copy()
        rows, objs, coefs, cols = self._gather(terms)
        fam = Family(spec, list(levels), keys[levels].reset_index(drop=True))
        use_slack = spec.elastic and self.elastic
        has = np.bincount(rows, minlength=n) > 0
        if not use_slack:
            for i in np.nonzero(~has & _violated(spec.sense, rhs))[0]:
                self.trivially_infeasible.append((fam, tuple(fam.keys.iloc[i])))
        exist = has | use_slack
        fam.keys = keys[levels][exist].reset_index(drop=True)
        self.families.append(fam)
        m_rows = int(exist.sum())
        if m_rows == 0:
            return fam
        rows = (np.cumsum(exist) - 1)[rows]   # renumber the rows that exist
        keylist = _keys(fam.keys, levels)
        blk = _block(self.m, spec.block)
        if use_slack:
            rows, objs, coefs, cols = self._add_slacks(spec, fam, blk, keylist, rows, objs, coefs, cols)
        body = _bodies(spec.sense, keylist, rows, objs, coefs, rhs[exist])
        self.row_blocks.append(RowBlock(fam, rows.astype(np.int32), cols, coefs, rhs[exist]))
        blk.add_component(spec.name, pyo.Constraint(keylist, rule=_lookup(body),
                                                    doc=f"formulation.md eq {spec.eq}: {spec.statement}"))
        return fam

    def _gather(self, terms):
        """Concatenate the term groups: row numbers, VarData objects, coefficients, column positions."""
        rows_l, objs_l, coefs_l = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=object)], [np.zeros(0)]
        cols_l = [np.zeros(0, dtype=np.int64)]
        start = {b.key: b.start for b in self.column_blocks if b.block is None}
        for var, ri, vp, co in terms:
            ri = np.asarray(ri, dtype=np.int64)
            vp = np.asarray(vp, dtype=np.int64)
            co = np.broadcast_to(np.asarray(co, dtype=float), ri.shape)
            keep = (vp >= 0) & (co != 0)
            rows_l.append(ri[keep])
            objs_l.append(self.objs[var][vp[keep]])
            coefs_l.append(co[keep])
            cols_l.append(vp[keep] + start[var])
        return np.concatenate(rows_l), np.concatenate(objs_l), np.concatenate(coefs_l), np.concatenate(cols_l)

    def _add_slacks(self, spec, fam, blk, keylist, rows, objs, coefs, cols):
        """Penalised slacks (elastic model): '<=' rows get -s (more room), '>=' rows +s, '==' both."""
        m_rows = len(keylist)
        senses = ["le", "ge"] if spec.sense == "==" else (["le"] if spec.sense == "<=" else ["ge"])
        for sname in senses:
            vname = f"{spec.name}_slack_{sname}"
            sv = pyo.Var(keylist, domain=pyo.NonNegativeReals, dense=True, doc=f"elastic slack for eq {spec.eq}")
            blk.add_component(vname, sv)
            so = _objarray(sv.values())
            start = self._columns(f"{spec.block}.{vname}", spec.block, so)
            cols = np.concatenate([cols, start + np.arange(m_rows)])
            rows = np.concatenate([rows, np.arange(m_rows)])
            objs = np.concatenate([objs, so])
            coefs = np.concatenate([coefs, np.full(m_rows, -1.0 if sname == "le" else 1.0)])
            self.penalty_terms.append(so)
            fam.slack.append(vname)
        return rows, objs, coefs, cols


def _bodies(sense: str, keylist, rows, objs, coefs, rhs) -> dict:
    """Row key -> (lower, LinearExpression, upper), one expression per row, terms sorted by row once."""
    order = np.argsort(rows, kind="stable")
    rows = rows[order]
    vl = objs[order].tolist()
    cl = coefs[order].tolist()
    starts = np.searchsorted(rows, np.arange(len(keylist) + 1)).tolist()
    rl = rhs.tolist()
    lo = [None] * len(rl) if sense == "<=" else rl
    hi = [None] * len(rl) if sense == ">=" else rl
    return {key: (lo[i], LinearExpression(constant=0, linear_coefs=cl[starts[i]:starts[i + 1]],
                                         linear_vars=vl[starts[i]:starts[i + 1]]), hi[i])
            for i, key in enumerate(keylist)}


def _lookup(body):
    def rule(b, *idx):
        return body[idx[0] if len(idx) == 1 else idx]
    return rule


def _violated(sense, rhs):
    if sense == "<=":
        return 0 > rhs + 1e-12
    if sense == ">=":
        return 0 < rhs - 1e-12
    return np.abs(rhs) > 1e-12


def _block(m, name):
    blk = m.component(name)
    if blk is None:
        blk = pyo.Block()
        m.add_component(name, blk)
    return blk


def _keys(frame, levels):
    if len(levels) == 1:
        return frame[levels[0]].tolist()
    return list(zip(*[frame[c].tolist() for c in levels]))


def _objarray(values):
    vals = list(values)
    arr = np.empty(len(vals), dtype=object)
    arr[:] = vals
    return arr
