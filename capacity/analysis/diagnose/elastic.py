"""After the solver: the positive slacks of the elastic model
(``build_model(..., elastic=True)``) in input terms. Each family's slack unit,
meaning, remedy and input cells are declared with the family
(:mod:`capacity.model.registry`)."""

from __future__ import annotations

import math

import pandas as pd

from capacity.io.inputs import Inputs
from capacity.model.registry import family

from .text import number, pct, names, week_ranges, compress_cells

FOUND_ELASTIC = "elastic model"
TABLE_COLUMNS = ["found_by", "family", "equation", "scenario", "week", "region", "unit", "work_type",
                 "slack", "input_cells", "explanation"]


def _row_cells(inputs: Inputs, fam: str, key: dict) -> list:
    """The input cells feeding one row of an elastic family (declared with the family)."""
    spec = family(fam)
    return spec.cells(inputs, key) if spec is not None and spec.cells is not None else []


def _texts(fam: str) -> tuple[str, str, str]:
    """(slack unit, what a positive slack means, what to change) of a family."""
    spec = family(fam)
    return (spec.slack_unit, spec.broken, spec.remedy) if spec is not None and spec.elastic else \
        ("", "rule broken", "the inputs named")


def elastic_rows(inputs: Inputs, viol: pd.DataFrame | None) -> pd.DataFrame:
    """Map the elastic model's positive slacks (``elastic_violations``) to
    tidy rows (TABLE_COLUMNS) with the input cells of each row."""
    recs = []
    if viol is None or not len(viol):
        return pd.DataFrame(columns=TABLE_COLUMNS)
    for row in viol.itertuples(index=False):
        key = dict(zip(row.levels, row.index))
        fam = row.family
        unit = key.get("source", key.get("contract", ""))
        slack = float(row.slack) if row.slack == row.slack else math.nan
        cells = _row_cells(inputs, fam, key)
        what_unit, meaning, change = _texts(fam)
        where = ", ".join(f"{lv} {key[lv]}" for lv in ("work_type", "region", "source", "contract", "week",
                                                          "scenario") if lv in key)
        amount = (f"by {number(slack)} {what_unit}" if slack == slack else "with no staff who can meet it")
        recs.append({"found_by": FOUND_ELASTIC, "family": fam, "equation": str(row.equation),
                     "scenario": key.get("scenario", ""), "week": key.get("week"), "region": key.get("region", ""),
                     "unit": unit, "work_type": key.get("work_type", ""), "slack": slack,
                     "input_cells": "; ".join(cells),
                     "explanation": f"eq {row.equation} {fam} ({where}): {meaning} {amount}; change {change} "
                                    f"({compress_cells(cells)})"})
    return pd.DataFrame(recs, columns=TABLE_COLUMNS)


def elastic_groups(rows: pd.DataFrame) -> list[dict]:
    """The elastic rows collapsed per (family, unit, region, work type): who, when (weeks and
    scenarios), the largest slack in words, the equation, the row count and the cells."""
    out = []
    if not len(rows):
        return out
    r = rows.assign(_u=rows["unit"].fillna(""), _r=rows["region"].fillna(""), _k=rows["work_type"].fillna(""))
    for (fam, u, reg, k), g in r.groupby(["family", "_u", "_r", "_k"], sort=False):
        what_unit, meaning, change = _texts(fam)
        who = " ".join(x for x in (f"{k} work" if k else "", f"contract {u}" if fam.startswith(("contracts.",
                       "hours.contract")) else u, f"in region {reg}" if reg else "") if x)
        weeks = week_ranges(w for w in g["week"] if w == w and w is not None)
        scen = sorted({s for s in g["scenario"] if s})
        when = ", ".join(x for x in (weeks, (f"scenario{'s' if len(scen) > 1 else ''} {names(scen)}"
                                              if scen else "")) if x)
        sl = g["slack"].astype(float)
        amount = (f"by up to {number(sl.max())} {what_unit}" if sl.notna().any() else "with no staff who can meet it")
        out.append({"family": fam, "who": who, "when": when, "meaning": meaning, "amount": amount,
                    "change": change, "eq": g["equation"].iloc[0], "rows": len(g),
                    "cells": compress_cells([c for cs in g["input_cells"] for c in cs.split("; ") if c])})
    return out


def elastic_lines(inputs: Inputs, rows: pd.DataFrame) -> list[str]:
    """One line per (family, unit, region, work type)."""
    return [f"{g['who']}{' (' + g['when'] + ')' if g['when'] else ''}: {g['meaning']} {g['amount']} "
            f"[eq {g['eq']}, {g['rows']} row{'s' if g['rows'] != 1 else ''}]; change {g['change']} ({g['cells']})."
            for g in elastic_groups(rows)]


def family_inputs(inputs: Inputs, name: str) -> str:
    """'demand.completion (eq 13)' -> with the inputs it stands for."""
    fam = name.split(" ", 1)[0]
    spec = family(fam)
    if spec is None or not spec.remedy_inputs:
        return name
    words = spec.remedy_inputs
    if fam == "demand.completion":
        mcs = inputs.work_types["min_completion_share"].fillna(0)
        cells = [f"{k} {pct(v)} {inputs.origin.cell('work_types', k, 'min_completion_share')}"
                 for k, v in mcs[mcs > 0].items()]
        words += " (min_completion_share: " + ", ".join(cells) + ")"
    return f"{name}: {words}"


def elastic_violations_of(inputs: Inputs, *, time_limit: float | None = None, threads: int | None = None):
    """Build and solve the elastic model; its positive slacks (or None)."""
    from capacity.model import build_model, elastic_violations
    from capacity.model.solve import solve

    el = build_model(inputs, elastic=True)
    res = solve(el, time_limit=time_limit, threads=threads, duals=False, _explain=False)
    if res.status not in ("optimal", "feasible"):
        return None
    return elastic_violations(el)
