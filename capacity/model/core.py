"""Vectorised construction helpers shared by the family modules.

A constraint family is described by a frame of row keys and a list of
*term groups* (variable name, row numbers, variable positions, coefficients),
all NumPy arrays computed in pandas. :func:`add_rows` sorts the terms by row
once and hands Pyomo one ``LinearExpression`` per row, so no Pyomo rule ever
searches for its terms.
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
class Context:
    m: pyo.ConcreteModel
    ix: ModelIndex
    elastic: bool
    penalty: float
    reveal_week: int = 1
    frames: dict = field(default_factory=dict)    # var name -> key frame (with 'pos')
    objs: dict = field(default_factory=dict)      # var name -> np.ndarray of VarData
    families: list = field(default_factory=list)
    penalty_terms: list = field(default_factory=list)   # (obj array, coef array)
    trivially_infeasible: list = field(default_factory=list)  # (Family, key) pairs

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
        rows, objs, coefs = self._gather(terms)
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
            rows, objs, coefs = self._add_slacks(spec, fam, blk, keylist, rows, objs, coefs)
        body = _bodies(spec.sense, keylist, rows, objs, coefs, rhs[exist])
        blk.add_component(spec.name, pyo.Constraint(keylist, rule=_lookup(body),
                                                    doc=f"formulation.md eq {spec.eq}: {spec.statement}"))
        return fam

    def _gather(self, terms):
        """Concatenate the term groups: row numbers, VarData objects, coefficients."""
        rows_l, objs_l, coefs_l = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=object)], [np.zeros(0)]
        for var, ri, vp, co in terms:
            ri = np.asarray(ri, dtype=np.int64)
            vp = np.asarray(vp, dtype=np.int64)
            co = np.broadcast_to(np.asarray(co, dtype=float), ri.shape)
            keep = (vp >= 0) & (co != 0)
            rows_l.append(ri[keep])
            objs_l.append(self.objs[var][vp[keep]])
            coefs_l.append(co[keep])
        return np.concatenate(rows_l), np.concatenate(objs_l), np.concatenate(coefs_l)

    def _add_slacks(self, spec, fam, blk, keylist, rows, objs, coefs):
        """Penalised slacks (elastic model): '<=' rows get -s (more room), '>=' rows +s, '==' both."""
        m_rows = len(keylist)
        senses = ["le", "ge"] if spec.sense == "==" else (["le"] if spec.sense == "<=" else ["ge"])
        for sname in senses:
            vname = f"{spec.name}_slack_{sname}"
            sv = pyo.Var(keylist, domain=pyo.NonNegativeReals, dense=True, doc=f"elastic slack for eq {spec.eq}")
            blk.add_component(vname, sv)
            so = _objarray(sv.values())
            rows = np.concatenate([rows, np.arange(m_rows)])
            objs = np.concatenate([objs, so])
            coefs = np.concatenate([coefs, np.full(m_rows, -1.0 if sname == "le" else 1.0)])
            self.penalty_terms.append(so)
            fam.slack.append(vname)
        return rows, objs, coefs


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
