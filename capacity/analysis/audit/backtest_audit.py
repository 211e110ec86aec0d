"""`capacity audit` of a backtest workbook (``capacity backtest``): check every figure it gives
against the other sheets and the input, then re-run the backtest and compare, without trusting
the workbook.

Steps (one printed line each, with its figure; exit 0 "verified", 5 with one line per
difference naming the sheet and cell, 1 when the workbook or the input cannot be read):

1. **read** the workbook (:func:`capacity.io.reader.read_workbook`, the safety checks first) and
   rebuild the tables ``comparison``, ``steps``, ``weekly``, ``implemented`` and ``run`` from their
   cells (headers in words, as :mod:`capacity.analysis.backtest.workbook` writes them).
2. **input**: the file given (``--input``), or the run sheet's ``input_file`` beside the workbook or
   in ``inputs/``; its SHA-256 must equal the run sheet's ``input_sha256``.
3. **options**: the run sheet's ``realised_scenario``, ``every_weeks``, ``exclude_realised`` and
   ``forecast_sd`` must be what its ``command_line`` gave (``--realised``, ``--every``,
   ``--exclude-realised``, ``--forecast-sd``; their defaults when absent), valid options for the
   input, with the ``forecast_scenarios`` and ``mip_gap`` they and the input imply.
4. **figures**: every figure that follows from other cells and the input, recomputed independently:
   in ``implemented`` the week's start date and the cash cost (the input's cost_per_fte_week x FTE in
   post + onboarding_cost x starters), one completion share per region and week; in ``weekly`` the FTE
   by kind and in all (sums of ``implemented``), the staff cost and onboarding (from ``implemented``
   and the input's onboarding_cost), the fixed contract costs (the input's fixed_cost of contracts
   starting that week; every contract with FTE in post among them), the cash cost, the completion
   share; in ``comparison`` the plans made, each cost part and the totals (sums of ``weekly`` and
   ``implemented``), "more than hindsight", the completion share; in ``steps`` the forecast
   probabilities (the re-weighting of v2.md section 3 recomputed from the input's cases), the reveal
   week, the implemented branch (the most probable scenario) and the sunk cost (the policy's realised
   cost of the weeks before, from ``weekly``); the run sheet's per-policy figures.
5. **invariants**: hindsight costs no more than any policy that met the completion targets (within
   hindsight's MIP gap), and its realised cost is its plan's objective; the one-shot plan and
   hindsight have one step from week 1 to the last week; the rolling policy's steps are at the weeks
   1, 1 + K, 1 + 2K, ... that ``--every K`` implies; each step's probabilities lie in [0, 1] and sum to 1.
6. **re-run**: the backtest run again in this process with the options read back (nothing is
   written); every number and word of ``comparison``, ``steps`` (objective, sunk cost, probabilities,
   branch, status), ``weekly`` and ``implemented`` compared with the re-run's, objectives within the
   MIP gaps (RERUN_REL_TOL otherwise). Seconds are not compared.

The :class:`capacity.analysis.audit.AuditResult` records every step, both SHA-256s, hindsight's
realised cost against its re-run and each tolerance with its origin, so ``--report FILE`` works as
for the other workbooks.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import shlex
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from capacity.analysis.audit.diffs import REL_TOL, CellDiffs, Report, fmt
from capacity.analysis.audit.diffs import cell_number as _num, cell_value as _value
from capacity.analysis.audit.read import BACKTEST_SHEETS, Table, sheet_rows
from capacity.analysis.audit.steps import OBJ_TOL
from capacity.io.errors import col_letter, file_error

#: A figure recomputed from other cells and the input: relative to max(1, |value|, the sum of the
#: magnitudes of its terms) (16 digits are stored).
ARITH_REL_TOL = REL_TOL
#: A forecast probability recomputed from the input's cases (absolute; probabilities lie in [0, 1]).
PROB_TOL = 1e-9
#: A figure of the re-run against the workbook's, relative to max(1, |value|): the re-run solves the same
#: models with the same options on the same machine, so only the solver's own tolerances may differ.
RERUN_REL_TOL = 1e-6
POLICIES = ("rolling", "one-shot", "hindsight")
#: the 'policy' column's words per policy (capacity/analysis/backtest/workbook.py NAMES)
NAMES = {"rolling": "rolling policy", "one-shot": "one-shot plan", "hindsight": "hindsight"}
KEYS = {"comparison": ["policy"], "steps": ["policy", "step"], "weekly": ["policy", "week"],
        "implemented": ["policy", "week", "region", "unit"]}


# ============================================================ reading
def _table(raw, name: str, required: list[str]) -> Table:
    sheet = raw.sheets.get(name)
    if sheet is None or not sheet.cells:
        raise file_error(f"{raw.path}: sheet '{name}' is empty; not a backtest workbook of capacity")
    head, rows, where = sheet_rows(sheet.cells, name)
    names = [str(h) if h not in ("", None) else f"_column_{j + 1}" for j, h in enumerate(head)]
    rows = [[_value(v) for v in row] for row in rows]
    frame = pd.DataFrame(rows, columns=names, dtype=object) if rows else pd.DataFrame(columns=names, dtype=object)
    cols = {n: col_letter(j) for j, n in reversed(list(enumerate(names)))}
    missing = [c for c in required if c not in names]
    if missing:
        raise file_error(f"{raw.path}: sheet '{name}' has no column {', '.join(repr(c) for c in missing)}; not a "
                         "backtest workbook of capacity")
    return Table(name, frame, where, cols)


def read_backtest(path: Path, raw=None):
    """(raw workbook, {name: Table}, run sheet as a dict) of a backtest workbook."""
    from capacity.io.reader import read_workbook

    raw = read_workbook(path) if raw is None else raw
    missing = [s for s in BACKTEST_SHEETS if s not in raw.sheets]
    if missing:
        raise file_error(f"{path}: not a backtest workbook of capacity (no sheet "
                         f"{', '.join(repr(s) for s in missing)})")
    req = {"comparison": ["policy", "plans made", "completion share"],
           "steps": ["policy", "step", "plan from week", "implemented to week", "reveal week of the forecast",
                     "implemented branch", "solver status", "MIP gap"],
           "weekly": ["policy", "week", "week starting", "FTE: total", "tasks demanded", "tasks completed",
                      "completion share"],
           "implemented": ["policy", "week", "week starting", "region", "unit", "kind", "FTE in post", "starters",
                           "leavers"],
           "run": ["key", "value"]}
    tables = {n: _table(raw, n, req[n]) for n in BACKTEST_SHEETS}
    run = dict(zip(tables["run"].frame["key"], tables["run"].frame["value"]))
    for k in ("input_file", "input_sha256", "realised_scenario", "every_weeks"):
        if run.get(k) in (None, ""):
            raise file_error(f"{path}: the run sheet has no {k}; not a backtest workbook of capacity")
    return raw, tables, run


def _norm(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, dt.datetime):   # pd.Timestamp too
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _who(t: Table, i: int) -> str:
    f = t.frame
    parts = [f"{k} {_norm(f[k].iat[i])}" for k in KEYS.get(t.name, [])[1:] if k in f.columns]
    if "policy" in f.columns:
        return f" of {_the(f['policy'].iat[i])}" + (f" ({', '.join(parts)})" if parts else "")
    if "key" in f.columns:
        return f" ({f['key'].iat[i]})"
    return ""


def _the(policy) -> str:
    """'the rolling policy', 'the one-shot plan', 'hindsight'."""
    p = _norm(policy)
    return p if p == NAMES["hindsight"] else f"the {p}"


def _col(t: Table, start: str) -> str | None:
    """The first column whose header starts with ``start`` (headers carry the currency or the risk weight)."""
    return next((c for c in t.frame.columns if str(c).startswith(start)), None)


def _rows(t: Table, policy: str) -> list[int]:
    return [i for i, p in enumerate(t.frame["policy"]) if p == NAMES[policy]]


# ============================================================ the audit
def audit_backtest(output, input_path=None, *, progress: Callable[[str], None] = lambda _: None,
                   report=None, raw=None):
    """Verify a backtest workbook against its input (see the module doc); an AuditResult. ``raw``: the
    workbook already read by :func:`capacity.analysis.audit.audit`, which has checked ``report`` too."""
    from capacity.analysis.audit.report_file import begin, finish

    output, report, res, step = begin(output, input_path, report, raw, progress)
    raw_out, tables, run = read_backtest(output, raw)
    sizes = ", ".join(f"{n} {len(tables[n].frame):,}" for n in ("comparison", "steps", "weekly", "implemented"))
    step(f"read {output}: a backtest workbook, tables rebuilt (rows: {sizes})", [], f"reading {output}",
         name="read", figures={n: len(tables[n].frame) for n in tables})
    res.output_sha256 = raw_out.sha256
    res.source, inputs = _input_step(step, output, run, tables["run"], input_path, progress)
    res.input_path = res.source.path
    opts = _options_step(step, tables["run"], run, inputs)
    cur = inputs.settings.currency
    _implemented_step(step, tables, inputs)
    _weekly_step(step, tables, inputs, cur)
    _comparison_step(step, tables, cur)
    _steps_step(step, tables, inputs, opts, cur)
    _invariants_step(step, tables, inputs, opts, cur)
    fresh = _rerun_step(step, tables, inputs, opts, cur, progress) if opts is not None else None
    res.objective = _objective(tables, fresh, inputs, cur)
    res.tolerances = _tolerances(res)
    return finish(res, report, progress)


# ---- 2. input -----------------------------------------------------------------
def _input_step(step: Report, output: Path, run: dict, run_table: Table, input_path, progress):
    from capacity.analysis.audit.read import find_input
    from capacity.analysis.audit.steps import input_file_step, key_cell, validated

    recorded = str(run.get("input_sha256") or "").strip().lower()
    inp = find_input(output, run, Path(input_path) if input_path is not None else None)
    src, raw_in = input_file_step(step, inp, recorded, str(run.get("input_file") or ""), progress,
                                  cell=key_cell(run_table, "input_sha256"), made="the backtest was run")
    return src, validated(raw_in)


# ---- 3. options -----------------------------------------------------------------
def command_options(command_line: str) -> dict | None:
    """--realised, --every, --exclude-realised and --forecast-sd as a command line gives them (their
    defaults when absent); None when it is not a ``capacity backtest`` command line (the library called
    from another program records that program's); raises ValueError when it cannot be parsed."""
    from capacity.analysis.backtest import DEFAULT_SD

    words = shlex.split(command_line)
    if "backtest" not in words:
        return None
    words = words[words.index("backtest") + 1:]
    out = {"realised": None, "every": 1, "exclude_realised": False, "sd": DEFAULT_SD}
    flags = {"--realised": "realised", "--every": "every", "--forecast-sd": "sd"}
    i = 0
    while i < len(words):
        w = words[i]
        name, _, val = w.partition("=")
        if name in flags:
            if not _:
                i += 1
                if i >= len(words):
                    raise ValueError(f"{name} has no value")
                val = words[i]
            out[flags[name]] = val
        elif w == "--exclude-realised":
            out["exclude_realised"] = True
        i += 1
    out["every"] = int(out["every"])
    out["sd"] = float(out["sd"])
    return out


def _options_step(step: Report, rt: Table, run: dict, inputs) -> dict | None:
    """The options read back from the run sheet, checked against its command line and the input."""
    from capacity.analysis.backtest import DEFAULT_SD, check_options
    from capacity.analysis.audit.steps import key_cell
    from capacity.io.errors import InputError

    problems: list[str] = []
    cell = lambda k: key_cell(rt, k)  # noqa: E731
    realised = _norm(run.get("realised_scenario"))
    every_v, sd_v = _num(run.get("every_weeks")), _num(run.get("forecast_sd", DEFAULT_SD))
    excl = _norm(run.get("exclude_realised") or "No")
    if excl not in ("Yes", "No"):
        problems.append(f"{cell('exclude_realised')}: exclude_realised must be Yes or No, got {excl!r}")
    if math.isnan(every_v) or every_v != round(every_v):
        problems.append(f"{cell('every_weeks')}: every_weeks must be a whole number, got {run.get('every_weeks')!r}")
        every_v = 1.0
    if math.isnan(sd_v):
        problems.append(f"{cell('forecast_sd')}: forecast_sd must be a number, got {run.get('forecast_sd')!r}")
        sd_v = DEFAULT_SD
    opts = {"realised": realised, "every": int(every_v), "exclude_realised": excl == "Yes", "sd": float(sd_v)}
    w = _num(run.get("workers"))
    opts["workers"] = int(w) if math.isfinite(w) and w >= 1 else 2
    line = _norm(run.get("command_line"))
    how = "no command line recorded to check them against"
    if line:
        try:
            given = command_options(line)
        except ValueError as exc:
            problems.append(f"{cell('command_line')}: the command line cannot be read ({exc})")
            given = None
        if given is None and not problems:
            how = f"the command line recorded in {cell('command_line')} is not one of capacity backtest, so they " \
                  "were not checked against it"
        elif given is not None:
            how = "as its command line gives them"
            for k, key, flag in (("realised", "realised_scenario", "--realised"), ("every", "every_weeks", "--every"),
                                 ("exclude_realised", "exclude_realised", "--exclude-realised"),
                                 ("sd", "forecast_sd", "--forecast-sd")):
                a, b = given[k], opts[k]
                same = math.isclose(a, b, rel_tol=1e-12) if k == "sd" else a == b
                if not same:
                    problems.append(f"{cell(key)}: {key} is {_norm(b) if k != 'exclude_realised' else excl!r}, but "
                                    f"the command line ({cell('command_line')}) gives {flag} "
                                    f"{'Yes' if a is True else 'No' if a is False else a}")
    try:
        check_options(inputs, realised, opts["every"], opts["exclude_realised"], opts["sd"], None)
    except InputError as exc:
        problems += [f"{cell('realised_scenario')}: the options recorded are not valid for the input: {i.message}"
                     for i in exc.issues]
        step("", problems, "options (run sheet)", name="options")
        return None
    forecast = [str(s) for s in inputs.scenarios.index if not (opts["exclude_realised"] and s == realised)]
    opts["forecast"] = tuple(forecast)
    if "forecast_scenarios" in run and _norm(run["forecast_scenarios"]) != ", ".join(forecast):
        problems.append(f"{cell('forecast_scenarios')}: forecast_scenarios is {_norm(run['forecast_scenarios'])!r}, "
                        f"but the input's scenarios with these options give {', '.join(forecast)!r}")
    gap = _num(run.get("mip_gap"))
    if "mip_gap" in run and not math.isclose(gap, float(inputs.settings.mip_gap), rel_tol=1e-12, abs_tol=0.0):
        problems.append(f"{cell('mip_gap')}: mip_gap is {fmt(gap)}, but the input's settings give "
                        f"{fmt(float(inputs.settings.mip_gap))}")
    step(f"options: --realised {realised} --every {opts['every']}"
         f"{' --exclude-realised' if opts['exclude_realised'] else ''} --forecast-sd {opts['sd']:g} read back from "
         f"the run sheet ({how}); forecast {', '.join(forecast)}", problems, "options (run sheet)", name="options",
         figures={k: v for k, v in opts.items() if k != "forecast"})
    return opts


# ---- 4. figures from other cells and the input ----------------------------------------
def _week_start(inputs, w) -> str:
    return inputs.settings.week_start(int(w)).isoformat()


def _implemented_step(step: Report, tables: dict, inputs) -> None:
    d = CellDiffs(_who, _norm)
    t = tables["implemented"]
    f = t.frame
    cur = inputs.settings.currency
    cost = f"cash cost ({cur})"
    src, con = inputs.sources, inputs.contracts
    share = "completion share of the region, all work"
    seen: dict[tuple, tuple[int, float]] = {}
    for i in range(len(f)):
        unit, region = _norm(f["unit"].iat[i]), _norm(f["region"].iat[i])
        wk = _num(f["week"].iat[i])
        if math.isfinite(wk):
            d.text(t, i, "week starting", _week_start(inputs, wk), "the input's start_date and the week")
        if unit in con.index:
            d.text(t, i, "kind", "contractor", f"the input (contract {unit})")
            price, onb = float(con.at[unit, "cost_per_fte_week"]), 0.0
        elif unit in src.index:
            d.text(t, i, "kind", str(src.at[unit, "kind"]), f"the input (source {unit})")
            price, onb = float(src.at[unit, "cost_per_fte_week"]), float(src.at[unit, "onboarding_cost"])
        else:
            d.lines.append(f"{t.cell(i, 'unit')}: unit {unit!r} is neither a source nor a contract of the input")
            continue
        fte, starters = _num(f["FTE in post"].iat[i]), _num(f["starters"].iat[i])
        d.number(t, i, cost, price * fte + onb * starters,
                 "the input's cost_per_fte_week x FTE in post + onboarding_cost x starters",
                 of=(price * fte, onb * starters))
        if share in f.columns:
            s = _num(f[share].iat[i])
            if region == "(national)":
                if not math.isnan(s):
                    d.add(t, i, share, fmt(s), "blank", "a national unit (no region)")
                continue
            key = (_norm(f["policy"].iat[i]), wk, region)
            if key in seen:
                d.number(t, i, share, seen[key][1],
                         f"the region's other rows of that week ({t.cell(seen[key][0], share)})")
            else:
                seen[key] = (i, s)
    step(f"implemented: {d.cells:,} cells recomputed (cash cost from the input's prices x FTE in post and "
         f"starters, week start dates, one completion share per region and week; ARITH_REL_TOL {ARITH_REL_TOL:g} "
         "relative)", d.lines, "implemented", name="implemented",
         figures={"cells": d.cells, "largest_relative_difference": d.largest})


def _fixed_ok(recorded: float, required: list[float], optional: list[float]) -> float | None:
    """The fixed cost of the contracts starting in a week closest to ``recorded``: every contract with FTE in
    post in ``required``, any of those without in ``optional`` (signed but never staffed)."""
    base = float(sum(required))
    best = base
    if len(optional) <= 12:
        for n in range(1, len(optional) + 1):
            for sub in itertools.combinations(optional, n):
                v = base + float(sum(sub))
                if abs(v - recorded) < abs(best - recorded):
                    best = v
    return best


def _weekly_step(step: Report, tables: dict, inputs, cur: str) -> None:
    from capacity.io.inputs import KINDS

    d = CellDiffs(_who, _norm)
    t, imp = tables["weekly"], tables["implemented"]
    f, g = t.frame, imp.frame
    src = inputs.sources
    contracts = inputs.contracts
    c = f"({cur})"
    cost = f"cash cost {c}"
    staffed = {}
    gk = {}
    for j in range(len(g)):
        key = (_norm(g["policy"].iat[j]), _num(g["week"].iat[j]))
        gk.setdefault(key, []).append(j)
        if _num(g["FTE in post"].iat[j]) > 1e-9:
            staffed.setdefault(_norm(g["policy"].iat[j]), set()).add(_norm(g["unit"].iat[j]))
    for i in range(len(f)):
        pol, wk = _norm(f["policy"].iat[i]), _num(f["week"].iat[i])
        rows = gk.get((pol, wk), [])
        if math.isfinite(wk):
            d.text(t, i, "week starting", _week_start(inputs, wk), "the input's start_date and the week")
        if not rows:
            d.lines.append(f"{t.cell(i, 'week')}: week {fmt(wk)} of {_the(pol)} has no row in sheet implemented")
            continue
        kinds = [_norm(g["kind"].iat[j]) for j in rows]
        fte = [_num(g["FTE in post"].iat[j]) for j in rows]
        by_kind = {k: sum(v for kk, v in zip(kinds, fte) if kk == k) for k in KINDS}
        for k in KINDS:
            d.number(t, i, f"FTE: {k}", by_kind[k], f"the sum of sheet implemented's FTE in post of kind {k}",
                     of=[v for kk, v in zip(kinds, fte) if kk == k])
        d.number(t, i, "FTE: total", sum(fte), "the sum of sheet implemented's FTE in post", of=fte)
        onb_terms = [float(src.at[_norm(g["unit"].iat[j]), "onboarding_cost"]) * _num(g["starters"].iat[j])
                     for j in rows if _norm(g["unit"].iat[j]) in src.index and _norm(g["kind"].iat[j]) != "contractor"]
        onb = sum(onb_terms)
        d.number(t, i, f"onboarding {c}", onb, "the input's onboarding_cost x sheet implemented's starters",
                 of=onb_terms)
        costs = [_num(g[f"cash cost {c}"].iat[j]) for j in rows] if f"cash cost {c}" in g.columns else []
        if costs:
            d.number(t, i, f"staff cost {c}", sum(costs) - onb, "sheet implemented's cash cost minus onboarding",
                     of=costs + [onb])
        starting = contracts[contracts["start_week"].to_numpy(dtype=int) == int(wk)] if math.isfinite(wk) else \
            contracts.iloc[:0]
        req = [float(starting.at[k, "fixed_cost"]) for k in starting.index if k in staffed.get(pol, set())]
        opt = [float(starting.at[k, "fixed_cost"]) for k in starting.index if k not in staffed.get(pol, set())]
        fixed_col = f"fixed contract costs {c}"
        if fixed_col in f.columns:
            d.number(t, i, fixed_col, _fixed_ok(_num(f[fixed_col].iat[i]), req, opt),
                     "the input's fixed_cost of the contracts starting that week (each staffed one, in sheet "
                     "implemented, included)", of=req + opt)
        parts = [_num(f[x].iat[i]) for x in (f"staff cost {c}", f"onboarding {c}", fixed_col) if x in f.columns]
        d.number(t, i, cost, sum(parts), "staff cost + onboarding + fixed contract costs", of=parts)
        dem, done = _num(f["tasks demanded"].iat[i]), _num(f["tasks completed"].iat[i])
        d.number(t, i, "completion share", done / dem if dem > 1e-9 else 1.0, "tasks completed / tasks demanded")
    # each policy's weeks: 1..weeks, once each
    weeks = list(range(1, int(inputs.settings.weeks) + 1))
    for p in POLICIES:
        got = sorted(_num(f["week"].iat[i]) for i in _rows(t, p))
        if got != weeks:
            d.lines.append(f"weekly!B1: {_the(NAMES[p])}'s weeks are {', '.join(fmt(w) for w in got) or 'none'}, but "
                           f"the input has weeks 1 to {weeks[-1]}, one row each")
    step(f"weekly: {d.cells:,} cells recomputed from sheet implemented and the input (FTE by kind, staff cost, "
         f"onboarding, fixed contract costs, cash cost, completion share; ARITH_REL_TOL {ARITH_REL_TOL:g} relative)",
         d.lines, "weekly", name="weekly", figures={"cells": d.cells, "largest_relative_difference": d.largest})


def _comparison_step(step: Report, tables: dict, cur: str) -> None:
    d = CellDiffs(_who, _norm)
    t, wk, imp, st = (tables[n] for n in ("comparison", "weekly", "implemented", "steps"))
    f = t.frame
    c = f"({cur})"
    total_col, hind = f"realised cost incl. lost value {c}", None
    for i in range(len(f)):
        if f["policy"].iat[i] == NAMES["hindsight"]:
            hind = _num(f[total_col].iat[i]) if total_col in f.columns else None
    names = [_norm(p) for p in f["policy"]]
    for p in POLICIES:
        if NAMES[p] not in names:
            d.lines.append(f"comparison!A1: no row for {_the(NAMES[p])}")
    for i in range(len(f)):
        pol = names[i]
        p = next((k for k, v in NAMES.items() if v == pol), None)
        if p is None:
            d.lines.append(f"{t.cell(i, 'policy')}: policy {pol!r} is not one of the backtest's")
            continue
        w = wk.frame.iloc[_rows(wk, p)]
        g = imp.frame.iloc[_rows(imp, p)]
        s = lambda col: [_num(v) for v in w[col]] if col in w.columns else []  # noqa: E731
        d.number(t, i, "plans made", len(_rows(st, p)), "its rows in sheet steps")
        cash, onb, fixed, lost = s(f"cash cost {c}"), s(f"onboarding {c}"), s(f"fixed contract costs {c}"), \
            s(f"lost value, notional {c}")
        d.number(t, i, f"realised cash cost {c}", sum(cash), "the sum of its cash cost in sheet weekly", of=cash)
        d.number(t, i, f"onboarding {c}", sum(onb), "the sum of its onboarding in sheet weekly", of=onb)
        d.number(t, i, f"fixed contract costs {c}", sum(fixed), "the sum of its fixed contract costs in sheet weekly",
                 of=fixed)
        d.number(t, i, f"lost value, notional, not spent {c}", sum(lost), "the sum of its lost value in sheet weekly",
                 of=lost)
        if f"cash cost {c}" in g.columns:
            contr = [_num(v) for v, k in zip(g[f"cash cost {c}"], g["kind"]) if k == "contractor"]
            regional = [_num(v) for v, k in zip(g[f"cash cost {c}"], g["kind"]) if k != "contractor"]
            d.number(t, i, f"staff: contractors {c}", sum(contr), "the sum of its contractors' cash cost in sheet "
                     "implemented", of=contr)
            d.number(t, i, f"staff: regional {c}", sum(regional) - sum(onb), "the sum of its regional units' cash "
                     "cost in sheet implemented minus onboarding", of=regional + onb)
        parts = [_num(f[x].iat[i]) for x in (f"staff: contractors {c}", f"staff: regional {c}", f"onboarding {c}",
                                             f"fixed contract costs {c}") if x in f.columns]
        d.number(t, i, f"realised cash cost {c}", sum(parts), "contractors + regional + onboarding + fixed contract "
                 "costs", of=parts)
        cash_i = _num(f[f"realised cash cost {c}"].iat[i])
        lost_i = _num(f[f"lost value, notional, not spent {c}"].iat[i])
        d.number(t, i, total_col, cash_i + lost_i, "realised cash cost + lost value", of=(cash_i, lost_i))
        if hind is not None:
            tot = _num(f[total_col].iat[i])
            d.number(t, i, f"more than hindsight {c}", tot - hind, "its realised cost minus hindsight's",
                     of=(tot, hind))
        dem, done = s("tasks demanded"), s("tasks completed")
        d.number(t, i, "completion share", sum(done) / sum(dem) if sum(dem) > 1e-9 else 1.0,
                 "the sum of its tasks completed / tasks demanded in sheet weekly", rel=1e-9)
    # the run sheet's figures per policy
    rt = tables["run"]
    keys = {str(k): j for j, k in enumerate(rt.frame["key"])}
    for i, pol in enumerate(names):
        p = next((k for k, v in NAMES.items() if v == pol), None)
        if p is None:
            continue
        srows = _rows(st, p)
        for key, want, what in ((f"{p}:plans", len(srows), "its rows in sheet steps"),
                                (f"{p}:realised_cost", _num(f[total_col].iat[i]) if total_col in f.columns else
                                 math.nan, f"sheet comparison ({t.cell(i, total_col)})"),
                                (f"{p}:largest_mip_gap", max([_gap(st.frame["MIP gap"].iat[j]) for j in srows],
                                                             default=0.0), "the largest MIP gap of its steps")):
            if key in keys:
                d.number(rt, keys[key], "value", want, what)
        if f"{p}:solver_status" in keys:
            want = ", ".join(sorted({_norm(st.frame["solver status"].iat[j]) for j in srows}))
            d.text(rt, keys[f"{p}:solver_status"], "value", want, "the solver status of its steps")
    step(f"comparison: {d.cells:,} cells recomputed from sheets weekly, implemented and steps (each cost part, "
         "the totals, more than hindsight, the completion share, the plans made; the run sheet's figures per "
         f"policy; ARITH_REL_TOL {ARITH_REL_TOL:g} relative)", d.lines, "comparison", name="comparison",
         figures={"cells": d.cells, "largest_relative_difference": d.largest})


def _gap(v) -> float:
    x = _num(v)
    return 0.0 if math.isnan(x) else x


def forecast_probabilities(inputs, realised: str, week: int, scenarios, sd: float) -> dict:
    """pi_w(T) of v2.md section 3 from the input's cases, written out again: prior x exp(-0.5 x sum over
    regions and weeks < T of (ln(1 + realised) - ln(1 + cases_w))^2 / S^2), normalised; a weight below
    MIN_WEIGHT (capacity/analysis/backtest/loop.py) left out and the rest normalised again."""
    from capacity.analysis.backtest.loop import MIN_WEIGHT

    d = inputs.demand
    d = d[d["week"].to_numpy(dtype=int) < int(week)]
    real = {(r, w): float(c) for r, w, s, c in zip(d["region"], d["week"], d["scenario"], d["cases"]) if s == realised}
    logp = {}
    for s in scenarios:
        ss = 0.0
        for r, w, sc, c in zip(d["region"], d["week"], d["scenario"], d["cases"]):
            if sc == s:
                x = math.log1p(real[(r, w)]) - math.log1p(float(c))
                ss += x * x
        prior = float(inputs.scenarios.at[s, "probability"])
        logp[s] = (math.log(prior) if prior > 0 else -math.inf) - 0.5 * ss / (sd * sd)
    top = max(logp.values())
    p = {s: math.exp(v - top) for s, v in logp.items()}
    tot = sum(p.values())
    p = {s: v / tot for s, v in p.items()}
    keep = {s: v for s, v in p.items() if v >= MIN_WEIGHT}
    tot = sum(keep.values())
    return {s: keep.get(s, 0.0) / tot for s in scenarios}


def _prob_cols(t: Table) -> dict[str, str]:
    return {str(c)[len("probability: "):]: c for c in t.frame.columns if str(c).startswith("probability: ")}


def _steps_step(step: Report, tables: dict, inputs, opts: dict | None, cur: str) -> None:
    d = CellDiffs(_who, _norm)
    t, wk = tables["steps"], tables["weekly"]
    f = t.frame
    pcols = _prob_cols(t)
    weeks = int(inputs.settings.weeks)
    sunk_col = _col(t, "sunk cost of weeks before")
    c = f"({cur})"
    for i in range(len(f)):
        pol = _norm(f["policy"].iat[i])
        p = next((k for k, v in NAMES.items() if v == pol), None)
        T = _num(f["plan from week"].iat[i])
        if p is None or not math.isfinite(T):
            continue
        T = int(T)
        d.number(t, i, "reveal week of the forecast", min(T + int(inputs.settings.reveal_week) - 1, weeks),
                 "plan from week + the input's reveal_week - 1 (at most the last week)")
        if opts is not None:
            scen = [opts["realised"]] if p == "hindsight" else list(opts["forecast"])
            want = forecast_probabilities(inputs, opts["realised"], T, scen, opts["sd"])
            for s, col in pcols.items():
                d.number(t, i, col, want.get(s), f"the re-weighting of the input's cases before week {T} (S = "
                         f"{opts['sd']:g})" if s in want else "the policy's forecast (not a scenario of it)",
                         rel=0.0, absolute=PROB_TOL)
        probs = [(s, _num(f[col].iat[i])) for s, col in pcols.items() if math.isfinite(_num(f[col].iat[i]))]
        if probs:
            best = max(v for _, v in probs)
            d.text(t, i, "implemented branch", next(s for s, v in probs if v == best),
                   "the most probable scenario of its probabilities (the first of equals)")
        if sunk_col is not None:
            w = wk.frame.iloc[_rows(wk, p)]
            before = [(_num(a) + _num(b)) for a, b, x in zip(w[f"cash cost {c}"], w[f"lost value, notional {c}"],
                                                              w["week"]) if _num(x) < T] \
                if f"cash cost {c}" in w.columns and f"lost value, notional {c}" in w.columns else []
            obj_col = _col(t, "objective:")
            obj = _num(f[obj_col].iat[i]) if obj_col else 0.0
            allowed = (_gap(f["MIP gap"].iat[i]) * max(1.0, abs(obj) + sum(before)) + OBJ_TOL * max(1.0, sum(before)))
            d.number(t, i, sunk_col, sum(before), f"{_the(pol)}'s realised cash cost + lost value of the weeks before "
                     f"week {T} in sheet weekly", rel=0.0, absolute=allowed)
    step(f"steps: {d.cells:,} cells recomputed (forecast probabilities from the input's cases, reveal week, the "
         f"implemented branch, the sunk cost from sheet weekly; probabilities within PROB_TOL {PROB_TOL:g}, the sunk "
         f"cost within the step's MIP gap + OBJ_TOL {OBJ_TOL:g})", d.lines, "steps", name="steps",
         figures={"cells": d.cells, "largest_relative_difference": d.largest})


# ---- 5. invariants ------------------------------------------------------------------
def _invariants_step(step: Report, tables: dict, inputs, opts: dict | None, cur: str) -> None:
    t, comp = tables["steps"], tables["comparison"]
    f, cf = t.frame, comp.frame
    lines: list[str] = []
    weeks = int(inputs.settings.weeks)
    c = f"({cur})"
    total_col = f"realised cost incl. lost value {c}"
    pcols = _prob_cols(t)
    obj_col = _col(t, "objective:")
    # the steps of each policy
    K = min(opts["every"], weeks) if opts is not None else None
    for p in POLICIES:
        rows = _rows(t, p)
        starts = list(range(1, weeks + 1, K)) if p == "rolling" and K else [1]
        if p == "rolling" and K is None:
            continue
        got = [_num(f["plan from week"].iat[j]) for j in rows]
        if got != starts:
            where = t.cell(rows[0], "plan from week") if rows else "steps!A1"
            lines.append(f"{where}: {_the(NAMES[p])} plans from week{'s' if len(got) != 1 else ''} "
                         f"{', '.join(fmt(x) for x in got) or 'none'}, but "
                         + (f"--every {opts['every']} implies weeks {', '.join(map(str, starts))}" if p == "rolling"
                            else "it makes one plan, from week 1"))
        for n, j in enumerate(rows, start=1):
            T = _num(f["plan from week"].iat[j])
            k = K if p == "rolling" else weeks
            if _num(f["step"].iat[j]) != n:
                lines.append(f"{t.cell(j, 'step')}: step of {_the(NAMES[p])} is {fmt(_num(f['step'].iat[j]))}, but "
                             f"it is its plan number {n}")
            if math.isfinite(T) and _num(f["implemented to week"].iat[j]) != min(T + k - 1, weeks):
                lines.append(f"{t.cell(j, 'implemented to week')}: implemented to week of {_the(NAMES[p])} (step {n}) "
                             f"is {fmt(_num(f['implemented to week'].iat[j]))}, but a plan from week {fmt(T)} kept "
                             f"{k} week{'s' if k != 1 else ''} is implemented to week {int(min(T + k - 1, weeks))}")
    # probabilities
    for j in range(len(f)):
        ps = [_num(f[col].iat[j]) for col in pcols.values()]
        ps = [x for x in ps if math.isfinite(x)]
        for s, col in pcols.items():
            x = _num(f[col].iat[j])
            if math.isfinite(x) and not (-PROB_TOL <= x <= 1 + PROB_TOL):
                lines.append(f"{t.cell(j, col)}: {col} is {fmt(x)}, not a probability")
        if abs(sum(ps) - 1.0) > 1e-9 * max(1, len(ps)):
            first = next(iter(pcols.values()), "policy")
            lines.append(f"{t.cell(j, first)}: the forecast probabilities of {_the(f['policy'].iat[j])} "
                         f"(step {fmt(_num(f['step'].iat[j]))}) sum to {sum(ps):.12g}, not 1")
    # hindsight no more costly than any policy that met the completion targets
    names = [_norm(p) for p in cf["policy"]]
    if NAMES["hindsight"] in names and total_col in cf.columns:
        hi = names.index(NAMES["hindsight"])
        h = _num(cf[total_col].iat[hi])
        hrows = _rows(t, "hindsight")
        hgap = max([_gap(f["MIP gap"].iat[j]) for j in hrows], default=0.0)
        allowed = (hgap + OBJ_TOL) * max(1.0, abs(h))
        for i, n in enumerate(names):
            if n == NAMES["hindsight"]:
                continue
            met = _norm(cf["completion targets met"].iat[i]) if "completion targets met" in cf.columns else "Yes"
            v = _num(cf[total_col].iat[i])
            if met == "Yes" and v < h - allowed:
                lines.append(f"{comp.cell(i, total_col)}: {_the(n)} cost {fmt(v)}, less than hindsight's {fmt(h)} "
                             f"({comp.cell(hi, total_col)}) by more than hindsight's MIP gap allows ({fmt(allowed)}): "
                             "hindsight is the optimum with the realised demand known")
        if len(hrows) == 1 and obj_col is not None:
            z = _num(f[obj_col].iat[hrows[0]])
            if abs(z - h) > (hgap + OBJ_TOL) * max(1.0, abs(z)):
                lines.append(f"{comp.cell(hi, total_col)}: hindsight's realised cost {fmt(h)} is not its plan's "
                             f"objective {fmt(z)} ({t.cell(hrows[0], obj_col)}) within its MIP gap: with the "
                             "realised demand known, re-optimising the work cannot change the cost")
    # the one-shot plan is the rolling policy's first plan, kept
    r1, o1 = _rows(t, "rolling")[:1], _rows(t, "one-shot")[:1]
    if r1 and o1 and obj_col is not None:
        a, b = _num(f[obj_col].iat[r1[0]]), _num(f[obj_col].iat[o1[0]])
        allowed = (_gap(f["MIP gap"].iat[r1[0]]) + _gap(f["MIP gap"].iat[o1[0]]) + OBJ_TOL) * max(1.0, abs(a))
        if abs(a - b) > allowed:
            lines.append(f"{t.cell(o1[0], obj_col)}: the one-shot plan's objective {fmt(b)} is not the rolling "
                         f"policy's first plan's {fmt(a)} ({t.cell(r1[0], obj_col)}): both plan from week 1 with the "
                         "same forecast")
    step("invariants: hindsight costs no more than any policy that met the completion targets, and what its plan "
         "expected; the one-shot plan and hindsight plan once from week 1; the rolling policy's plans are at the "
         f"weeks --every {opts['every'] if opts else '?'} implies; each step's probabilities sum to 1 (costs within "
         f"hindsight's MIP gap + OBJ_TOL {OBJ_TOL:g}, relative)", lines,
         "invariants", name="invariants")


# ---- 6. re-run ------------------------------------------------------------------------
def _rerun_step(step: Report, tables: dict, inputs, opts: dict, cur: str, progress):
    from capacity.analysis.backtest import BacktestFailure, run_backtest
    from capacity.analysis.backtest import workbook as W

    progress(f"re-running the backtest (--realised {opts['realised']} --every {opts['every']}"
             f"{' --exclude-realised' if opts['exclude_realised'] else ''} --forecast-sd {opts['sd']:g}, "
             f"{opts['workers']} workers); nothing is written")
    try:
        bt = run_backtest(inputs, opts["realised"], every=opts["every"], exclude_realised=opts["exclude_realised"],
                          sd=opts["sd"], workers=opts["workers"], progress=progress)
    except BacktestFailure as exc:
        step("", [f"comparison!A1: the re-run of the backtest fails: {exc.message}"], "re-run", name="re-run")
        return None
    from capacity.model.risk import weight

    fresh = {"comparison": W.comparison_frame(bt, cur), "steps": W.steps_frame(bt, cur, weight(inputs)),
             "weekly": W.weekly_frame(bt, cur), "implemented": W.implemented_frame(bt, cur)}
    gaps = {NAMES[n]: max((s.gap or 0.0) for s in bt.runs[n].steps) for n in POLICIES}
    d = CellDiffs(_who, _norm)
    for name, want in fresh.items():
        _compare_frame(d, tables[name], want, name, gaps)
    step(f"re-run: the backtest run again with the options read back; {d.cells:,} cells of comparison, steps, "
         f"weekly and implemented equal to the re-run's (largest relative difference {d.largest:.2g}; "
         f"RERUN_REL_TOL {RERUN_REL_TOL:g}; an objective or sunk cost within (its MIP gap + the re-run's + OBJ_TOL "
         f"{OBJ_TOL:g}) x max(1, |value|); seconds not compared)", d.lines, "re-run", name="re-run",
         figures={"cells": d.cells, "largest_relative_difference": d.largest})
    return bt


#: columns of the re-run not compared: timings
_SKIP = ("seconds",)


def _compare_frame(d: CellDiffs, t: Table, want: pd.DataFrame, name: str, gaps: dict) -> None:
    f = t.frame
    keys = KEYS[name]
    if len(f) != len(want):
        d.lines.append(f"{name}!A1: sheet {name} has {len(f)} rows, but the re-run gives {len(want)}")
    for col in want.columns:
        if str(col) not in f.columns:
            d.lines.append(f"{name}!A1: sheet {name} has no column {str(col)!r}, which the re-run gives")
    for i in range(min(len(f), len(want))):
        w = want.iloc[i]
        for k in keys:
            if _norm(f[k].iat[i]) != _norm(w[k]):
                d.add(t, i, k, repr(_norm(f[k].iat[i])), repr(_norm(w[k])), "the re-run (its row in that place)")
                break
        else:
            pol = _norm(f["policy"].iat[i])
            gap_row = _gap(f["MIP gap"].iat[i]) if "MIP gap" in f.columns else gaps.get(pol, 0.0)
            for col in want.columns:
                col = str(col)
                if col in _SKIP or col in keys or col not in f.columns:
                    continue
                v = w[col]
                if col == "MIP gap":
                    # a gap is at most the option; 0 and a tiny gap are the same solve
                    d.number(t, i, col, v, "the re-run", rel=0.0, absolute=OBJ_TOL)
                elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) or v is None \
                        or (isinstance(v, float) and math.isnan(v)):
                    rel = RERUN_REL_TOL
                    if col.startswith("objective:") or col.startswith("sunk cost"):
                        rel = max(rel, gap_row + gaps.get(pol, 0.0) + OBJ_TOL)
                    d.number(t, i, col, v, "the re-run", rel=rel)
                else:
                    d.text(t, i, col, v, "the re-run")


# ---- the objective and the tolerances, for the report ------------------------------------------
def _objective(tables: dict, bt, inputs, cur: str):
    from capacity.analysis.audit.steps import ObjectiveGap, key_cell

    if bt is None:
        return None
    comp, st = tables["comparison"], tables["steps"]
    total_col = f"realised cost incl. lost value ({cur})"
    names = [_norm(p) for p in comp.frame["policy"]]
    if NAMES["hindsight"] not in names or total_col not in comp.frame.columns:
        return None
    hi = names.index(NAMES["hindsight"])
    rows = _rows(st, "hindsight")
    run_gap = max([_gap(st.frame["MIP gap"].iat[j]) for j in rows], default=0.0)
    return ObjectiveGap(reported=_num(comp.frame[total_col].iat[hi]),
                        optimum=float(bt.runs["hindsight"].evaluation.costs["total"]), run_gap=run_gap,
                        resolve_gap=max((s.gap or 0.0) for s in bt.runs["hindsight"].steps),
                        run_gap_cell=key_cell(tables["run"], "hindsight:largest_mip_gap"),
                        objective_cell=comp.cell(hi, total_col), mip_gap=float(inputs.settings.mip_gap),
                        mip_gap_from="the input's settings, as the backtest ran; the objective compared is hindsight's "
                                     "realised cost, the optimum with the realised demand known")


def _tolerances(res) -> list:
    from capacity.analysis.audit import Tolerance

    rel = "capacity/analysis/audit/backtest_audit.py"
    return [
        Tolerance("ARITH_REL_TOL", ARITH_REL_TOL, "a figure recomputed from other cells and the input's prices: "
                  "|workbook - recomputed| <= ARITH_REL_TOL x max(1, |recomputed|, |each term|)", rel),
        Tolerance("PROB_TOL", PROB_TOL, "a forecast probability against its recomputation from the input's cases "
                  "(absolute); also their sum against 1", rel),
        Tolerance("OBJ_TOL", OBJ_TOL, "slack on top of the MIP gaps: a step's sunk cost against the weeks before "
                  "in sheet weekly, hindsight against the other policies and its own plan, an objective against "
                  "the re-run ((gaps + OBJ_TOL) x max(1, |value|))", "capacity/analysis/audit/steps.py"),
        Tolerance("RERUN_REL_TOL", RERUN_REL_TOL, "every other number of comparison, steps, weekly and implemented "
                  "against the re-run, relative to max(1, |re-run|); words and dates equal; seconds not compared",
                  rel),
    ]
