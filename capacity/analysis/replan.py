"""`capacity replan`: roll an input workbook forward to week T (../shared/spec/v2.md section 2).

The new workbook is an *input*, never a plan: the planner reviews it, edits it
(headcounts from HR, new forecasts) and runs ``capacity plan`` on it.

From the input ``IN``, the plan workbook ``PLAN`` made from it (its ``run``
sheet's SHA-256 must be ``IN``'s) and a week ``T``:

- ``history`` (columns :data:`HISTORY_COLUMNS`): the plan's realised branch
  (scenario ``W``) for every week ``< T``: each contract's headcount ``N`` in
  its window, each regional unit's headcount ``F``, onboarded ``O`` and exits
  ``X``; and the decisions already taken when week ``T`` begins: a decision
  for week ``t`` with lag ``l`` is taken in week ``t - l`` (formulation.md
  eq 14: ``Ninc``/``O`` lead_weeks, ``Ndec``/``X`` notice_weeks), so
  :func:`decided_weeks` gives a unit's rows for weeks
  ``T .. T + max(lead, notice) - 1``. A contract row holds only the headcount,
  which fixes both the increase and the decrease of its week; where only one
  of them was taken, the row keeps the plan's own headcount (the plan's branch
  stays feasible; no staff arrive faster than the lead time nor leave faster
  than the notice allows). A regional row carries the plan's ``O`` and ``X``
  (both, so the stock adds up). Values are the model's, unrounded: the
  history must add up exactly.
- ``demand``: weeks ``< T`` of every scenario's row set to the realised cases,
  scenario ``W`` of ``IN`` or the ``demand`` sheet of an actuals workbook (one
  row per region, :func:`read_actuals`).
- ``settings``: ``plan_from_week = T``; ``reveal_week = max(reveal_week, T)``.
- everything else is copied (openpyxl: styles, validations, comments kept);
  every edited cell is listed in ``replan_changes`` (:data:`CHANGES_COLUMNS`).

The new workbook is read back and validated before it is moved into place
(:func:`capacity.api.replan`); a workbook that would not be valid input is
not written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capacity.io import schema as S
from capacity.io.errors import InputError, Issue, cell_ref, col_letter, file_error, number_ranges
from capacity.io.inputs import Inputs
from capacity.model.history import plan_from

HISTORY = "history"
CHANGES = "replan_changes"
HISTORY_COLUMNS = ("unit", "region", "week", "fte", "onboarded", "exits")
CHANGES_COLUMNS = ("cell", "old_value", "new_value", "reason")
#: a plan value below 0 by at most this is the solver's rounding, written as 0; below it the plan is refused
NEGATIVE_TOL = 1e-6
#: scenarios of a plan agree on a decision taken before reveal_week within this (relative to 1 + |value|)
AGREE_TOL = 1e-6


@dataclass(frozen=True)
class Change:
    """One edited cell of the new workbook."""

    sheet: str
    cell: str
    old: Any
    new: Any
    reason: str

    @property
    def ref(self) -> str:
        return f"{self.sheet}!{self.cell}"


@dataclass
class Rollforward:
    """What the new workbook holds beyond the copy of the input."""

    week: int
    branch: str                       # the plan's scenario the history is taken from
    history: pd.DataFrame             # HISTORY_COLUMNS, plus phase ('history' for weeks < T, 'decided')
    demand: dict[str, list[float]]    # region -> realised cases of weeks 1..T-1
    demand_source: str                # in words, for the reasons and the summary
    settings: dict[str, int]          # key -> new value
    changes: list[Change] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


# --------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------

def check_options(inputs: Inputs, week: int, scenario: str | None, actuals) -> None:
    """Bad options -> InputError (exit 1): the week outside 1..weeks, an unknown scenario, both or
    neither of --scenario / --actuals, --actuals when the plan's branches differ at T."""
    st = inputs.settings
    problems = []
    if (scenario is None) == (actuals is None):
        problems.append("give exactly one of --scenario W (the realised scenario of the input) and --actuals "
                        "ACT.xlsx (a workbook whose demand sheet holds the realised cases)")
    weeks_cell = inputs.origin.cell("settings", "weeks", "value")
    if not isinstance(week, (int, np.integer)) or isinstance(week, bool) or not 1 <= week <= st.weeks:
        problems.append(f"--week {week} is out of range: the workbook plans weeks 1 to {st.weeks} "
                        f"(settings weeks, {weeks_cell})")
    if scenario is not None and scenario not in inputs.scenarios.index:
        problems.append(f"--scenario {scenario!r}: no such scenario in the input (scenarios: "
                        f"{', '.join(map(str, inputs.scenarios.index))})")
    from_week = plan_from(inputs)
    if not problems and week < from_week:
        weeks = f"week {week}" if week == from_week - 1 else f"weeks {week} to {from_week - 1}"
        problems.append(f"--week {week} is before the input's plan_from_week {from_week}: re-planning from an "
                        f"earlier week would discard the history of {weeks}")
    if not problems and actuals is not None and week > st.reveal_week and len(inputs.scenarios) > 1:
        problems.append(f"--actuals with --week {week}: from reveal_week {st.reveal_week} "
                        f"({inputs.origin.cell('settings', 'reveal_week', 'value')}) on, the plan's decisions "
                        "differ by scenario, so the history needs the realised scenario: use --scenario W "
                        f"(or a week up to {st.reveal_week})")
    if problems:
        raise InputError([Issue("", "", p) for p in problems])


# --------------------------------------------------------------------------
# The plan workbook
# --------------------------------------------------------------------------

def read_plan(plan_path: Path, input_path: Path, input_sha256: str):
    """The plan sheet (an audit Table) of a plan workbook made from the input; refuses any other.

    The input is identified by the SHA-256 its ``run`` sheet records (``input_sha256``)."""
    from capacity.analysis.audit.read import key_values, read_table
    from capacity.io.reader import read_workbook

    raw = read_workbook(plan_path)
    if "plan" not in raw.sheets or "run" not in raw.sheets:
        what = ("records an infeasible input (sheet 'infeasibility'), not a plan"
                if "infeasibility" in raw.sheets else "is not a plan workbook of capacity plan (no sheet "
                + " and ".join(repr(s) for s in ("plan", "run") if s not in raw.sheets) + ")")
        raise file_error(f"{plan_path}: {what}; give the workbook that capacity plan {input_path} wrote")
    problems: list[str] = []
    run = read_table(raw, "run", problems)
    recorded = str(key_values(run).get("input_sha256") or "").strip().lower()
    where = _key_cell(run, "input_sha256")
    if recorded != input_sha256:
        raise file_error(
            f"{plan_path}: was not made from {input_path}: its run sheet ({where}) records the input SHA-256 "
            f"{recorded or '(none)'}, and {input_path} has SHA-256 {input_sha256}; re-plan with the plan "
            f"that capacity plan {input_path} writes")
    plan = read_table(raw, "plan", problems)
    if problems:
        raise InputError([Issue("", "", f"{plan_path}: {p}") for p in problems])
    return plan


def _key_cell(table, key: str) -> str:
    rows = np.flatnonzero(table.frame["key"].to_numpy() == key)
    return table.cell(int(rows[0]), "value") if len(rows) else f"{table.name}!A1"


# --------------------------------------------------------------------------
# The history
# --------------------------------------------------------------------------

def decided_weeks(lead: int, notice: int, week: int) -> range:
    """Weeks >= ``week`` holding a decision already taken when ``week`` begins: a decision for week t with
    lag l is taken in week t - l (formulation.md eq 14), so the increases of weeks < week + lead and the
    decreases of weeks < week + notice are taken."""
    return range(week, week + max(int(lead), int(notice)))


def history_rows(inputs: Inputs, plan, week: int, branch: str) -> pd.DataFrame:
    """The history sheet's rows from the plan's scenario ``branch`` (see the module doc).

    ``plan``: the plan sheet read back (:func:`read_plan`). Returns :data:`HISTORY_COLUMNS` plus
    ``phase`` (``history`` for weeks < ``week``, ``decided`` for decisions already taken) and
    ``plan_cell_<column>`` (the plan cell each value comes from), one row per unit-week, in unit, region, week order."""
    frame = plan.frame.assign(_row=np.arange(len(plan.frame)))
    rows = frame[frame["scenario"] == branch]
    weeks = inputs.settings.weeks
    con, src = inputs.contracts, inputs.regional_sources
    last = {}   # unit -> last week of its rows
    for c, r in con.iterrows():
        last[c] = int(decided_weeks(r["lead_weeks"], r["notice_weeks"], week).stop) - 1
    for s, r in src.iterrows():
        last[s] = int(decided_weeks(r["lead_weeks"], r["notice_weeks"], week).stop) - 1
    unit = rows["unit"].to_numpy()
    w = rows["week"].to_numpy(dtype=int)
    keep = w <= np.minimum(pd.Series(unit).map(last).fillna(week - 1).to_numpy(dtype=int), weeks)
    is_contract = rows["kind"].to_numpy() == S.CONTRACTOR
    if len(con):
        start = pd.Series(unit).map(con["start_week"]).to_numpy(dtype=float)
        end = pd.Series(unit).map(con["end_week"]).to_numpy(dtype=float)
        keep &= ~is_contract | ((w >= start) & (w <= end))
    out = rows[keep]
    contract = out["kind"].to_numpy() == S.CONTRACTOR
    hist = pd.DataFrame({
        "unit": out["unit"].to_numpy(),
        "region": np.where(contract, "", out["region"].to_numpy()),
        "week": out["week"].to_numpy(dtype=int),
        "fte": _nonnegative(out, "fte", plan),
        "onboarded": np.where(contract, np.nan, _nonnegative(out, "onboarded", plan)),
        "exits": np.where(contract, np.nan, _nonnegative(out, "exits", plan)),
    })
    hist["phase"] = np.where(hist["week"].to_numpy() < week, "history", "decided")
    for column in ("fte", "onboarded", "exits"):   # where each value comes from
        hist[f"plan_cell_{column}"] = [plan.cell(int(i), column) for i in out["_row"]]
    # which of a later row's values were decided before week T (the others are the plan's, kept so that the
    # row, which fixes them all, holds the plan's own trajectory)
    lags = pd.concat([con[["lead_weeks", "notice_weeks"]], src[["lead_weeks", "notice_weeks"]]])
    lead = hist["unit"].map(lags["lead_weeks"]).to_numpy(dtype=int)
    notice = hist["unit"].map(lags["notice_weeks"]).to_numpy(dtype=int)
    t = hist["week"].to_numpy()
    hist["taken_onboarded"] = t - lead < week
    hist["taken_exits"] = t - notice < week
    hist["taken_fte"] = hist["taken_onboarded"] & hist["taken_exits"]
    order = {u: i for i, u in enumerate(list(con.index) + list(src.index))}
    regions = {r: i for i, r in enumerate([""] + list(inputs.regions.index))}
    key = np.lexsort([hist["week"].to_numpy(), hist["region"].map(regions).to_numpy(),
                      hist["unit"].map(order).to_numpy()])
    return hist.iloc[key].reset_index(drop=True)


def _nonnegative(rows: pd.DataFrame, column: str, plan) -> np.ndarray:
    """A plan column's values, with the solver's rounding below 0 (at most NEGATIVE_TOL) written as 0; a
    value below that, or not a number, is a plan that cannot be a history: refused by cell."""
    v = rows[column].to_numpy(dtype=float)
    bad = ~np.isfinite(v) | (v < -NEGATIVE_TOL)
    if bad.any():
        i = int(rows["_row"].to_numpy()[np.flatnonzero(bad)[0]])
        raise file_error(f"{plan.cell(i, column)}: {column} {plan.frame[column].iat[i]!r} is not a headcount "
                         f"(a number >= 0); the plan workbook was changed after it was written")
    return np.where(v < 0, 0.0, v)


def check_branches_agree(inputs: Inputs, plan, hist: pd.DataFrame, week: int) -> None:
    """Before reveal_week every branch of a plan takes the same decisions (eq 14): with --actuals the
    history may come from any one of them, and the others must agree with it on every decision taken
    before ``week``: the headcounts of the weeks before it, and of later weeks whose increases and
    decreases were both taken (week < T + min(lead, notice)); a later week's onboarded (exits) when
    week - lead (notice) < T. A plan whose branches differ there is refused (the plan was changed)."""
    frame = plan.frame[plan.frame["scenario"] != "expected"]
    frame = frame.assign(region=np.where(frame["kind"].to_numpy() == S.CONTRACTOR, "", frame["region"]))
    lags = pd.concat([inputs.contracts[["lead_weeks", "notice_weeks"]],
                      inputs.regional_sources[["lead_weeks", "notice_weeks"]]])
    t = hist["week"].to_numpy()
    lead = hist["unit"].map(lags["lead_weeks"]).to_numpy(dtype=int)
    notice = hist["unit"].map(lags["notice_weeks"]).to_numpy(dtype=int)
    taken = {"fte": t < week + np.minimum(lead, notice), "onboarded": t - lead < week,
             "exits": t - notice < week}
    keys = ["unit", "region", "week"]
    for column, mask in taken.items():
        want = hist.loc[mask & hist[column].notna().to_numpy(), keys]
        if want.empty:
            continue
        spread = frame.groupby(keys)[column].agg(["min", "max"])
        got = spread.reindex(pd.MultiIndex.from_frame(want))
        scale = 1.0 + np.maximum(got["min"].abs(), got["max"].abs())
        off = np.flatnonzero((got["max"] - got["min"]).to_numpy() > AGREE_TOL * scale.to_numpy())
        if len(off):
            u, r, w = want.iloc[int(off[0])]
            lo, hi = got["min"].iat[int(off[0])], got["max"].iat[int(off[0])]
            raise file_error(
                f"the plan's scenarios differ on {column} of {u}{' in ' + r if r else ''} in week {w} (from "
                f"{lo:.6g} to {hi:.6g}), a decision taken before week {week} and reveal_week "
                f"{inputs.settings.reveal_week}: the plan workbook was changed after it was written; nothing "
                "can be re-planned from it")


def actuals_branch(inputs: Inputs) -> str:
    """The branch a history is taken from with --actuals (all branches agree before reveal_week): the
    most probable scenario, the first of equals."""
    p = inputs.scenarios["probability"].to_numpy(dtype=float)
    return str(inputs.scenarios.index[int(np.argmax(p))])


# --------------------------------------------------------------------------
# Realised demand
# --------------------------------------------------------------------------

def scenario_demand(inputs: Inputs, scenario: str, week: int) -> dict[str, list[float]]:
    """Region -> the cases of ``scenario`` in weeks 1..week-1, as the input holds them."""
    d = inputs.demand
    d = d[(d["scenario"] == scenario) & (d["week"] < week)].sort_values("week")
    return {r: [float(x) for x in g["cases"]] for r, g in d.groupby("region", sort=False)}


def actuals_sheet() -> S.Sheet:
    """The demand sheet of an actuals workbook: one row per region (no scenario), week columns; a blank
    week cell is allowed where it is not needed (weeks >= T)."""
    week_column = dataclasses.replace(S.DEMAND.week_column, required=False, default=None)
    return dataclasses.replace(S.DEMAND, columns=tuple(c for c in S.DEMAND.columns if c.name == "region"),
                               key=("region",), week_column=week_column)


def read_actuals(path: Path, inputs: Inputs, week: int) -> dict[str, list[float]]:
    """Region -> realised cases of weeks 1..week-1 from the ``demand`` sheet of ``path`` (columns
    ``region`` and the week numbers; one row per region of the input). Every problem by cell."""
    from capacity.io.reader import read_workbook
    from capacity.io.validate import Collector, parse_sheet

    raw = read_workbook(path)
    name = Path(path).name
    if "demand" not in raw.sheets:
        raise file_error(f"{path}: has no sheet 'demand' (columns region, 1, 2, ...: the realised cases, one "
                         "row per region)")
    sheet = raw.sheets["demand"]
    out = Collector()
    parsed = parse_sheet(sheet, actuals_sheet(), out, None)
    errors = [i for i in out.issues if i.level == "error"]
    needed = list(range(1, week))
    missing = [t for t in needed if t not in parsed.weeks]
    if missing:
        errors.append(Issue("demand", "A1", f"missing week column(s) {number_ranges(missing)} (the realised "
                            f"cases of weeks 1 to {week - 1} are needed)"))
    seen: dict[str, int] = {}
    result: dict[str, list[float]] = {}
    col = parsed.cols.get("region", 0)
    for i, (r0, rec) in enumerate(zip(parsed.rows, parsed.records)):
        region = rec.get("region")
        if region is None or (i, "region") in parsed.bad:
            continue
        region = str(region)
        where = cell_ref(r0, col)
        if region not in inputs.regions.index:
            errors.append(Issue("demand", where, f"region '{region}' is not a region of the input "
                                f"(regions: {', '.join(map(str, inputs.regions.index))})"))
            continue
        if region in seen:
            errors.append(Issue("demand", where, f"region '{region}' has a second row (first at row "
                                f"{seen[region] + 1}); the actuals hold one row per region"))
            continue
        seen[region] = r0
        values = []
        for t in needed:
            if t not in parsed.weeks:
                continue
            v = rec.get(t)
            if v is None and (i, t) not in parsed.bad:
                errors.append(Issue("demand", cell_ref(r0, parsed.weeks[t]), f"cases of week {t} are needed "
                                    f"(the realised cases of every week before {week})"))
            values.append(v)
        result[region] = values
    for region in inputs.regions.index:
        if region not in seen:
            errors.append(Issue("demand", "A1", f"no row for region '{region}' (the actuals hold one row per "
                                "region of the input)"))
    if errors:
        raise InputError([dataclasses.replace(e, message=e.message) for e in _in_file(errors, name)])
    return result


def _in_file(issues: list[Issue], name: str) -> list[Issue]:
    """Issues of another workbook than the input: its file name before the sheet (``act.xlsx: demand!C3``)."""
    return [Issue("", "", f"{name}: {i.sheet}!{i.cell}: {i.message}" if i.sheet else f"{name}: {i.message}",
                  i.level) for i in issues]


# --------------------------------------------------------------------------
# The new workbook
# --------------------------------------------------------------------------

def write_workbook(input_path: Path, target: str | Path, raw, inputs: Inputs, roll: Rollforward) -> None:
    """Copy the input to ``target`` with openpyxl and apply ``roll`` (settings, demand, history), listing
    every edited cell in ``roll.changes`` and in the sheet ``replan_changes``."""
    import warnings

    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # openpyxl's notes on extensions it does not read
        book = openpyxl.load_workbook(input_path)
    roll.changes = []
    _edit_settings(book, raw, roll)
    _edit_demand(book, raw, inputs, roll)
    _write_history(book, raw, roll)
    _write_changes(book, roll)
    book.save(target)
    keep_cached_values(target, raw)


def _set(book, ws, r0: int, c0: int, new, old, roll: Rollforward, reason: str) -> None:
    """Write ``new`` at (r0, c0) (0-based) of ``ws``; record a change when it differs from ``old``."""
    if _same(old, new):
        return
    cell = ws.cell(row=r0 + 1, column=c0 + 1)
    _put(cell, new)
    roll.changes.append(Change(ws.title, cell_ref(r0, c0), old, new, reason))


def _put(cell, value) -> None:
    """A value as a plain cell value: text is text (never a formula), a blank is empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        cell.value = None
        return
    if isinstance(value, (np.integer,)):
        value = int(value)
    elif isinstance(value, (np.floating,)):
        value = float(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"


def _same(old, new) -> bool:
    blank_old = old is None or old == "" or (isinstance(old, float) and math.isnan(old))
    blank_new = new is None or new == "" or (isinstance(new, float) and math.isnan(new))
    if blank_old or blank_new:
        return blank_old and blank_new
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new
    if isinstance(old, (int, float)) and isinstance(new, (int, float, np.integer, np.floating)):
        return float(old) == float(new)
    return type(old) is type(new) and old == new


def _old(raw, book, sheet: str, r0: int, c0: int):
    """A cell's content before the edit: its formula if it holds one, else its value as read."""
    if sheet in book.sheetnames:
        v = book[sheet].cell(row=r0 + 1, column=c0 + 1).value
        if isinstance(v, str) and v.startswith("="):
            return v
    return raw.sheets[sheet].value(r0, c0) if sheet in raw.sheets else None


def _edit_settings(book, raw, roll: Rollforward) -> None:
    from capacity.io.validate import id_text

    ws, sheet = book["settings"], raw.sheets["settings"]
    head = [id_text(v) for v in (sheet.cells[0] if sheet.cells else [])]
    kc, vc = head.index("key"), head.index("value")
    rows = {id_text(sheet.value(r0, kc)): r0 for r0 in range(1, len(sheet.cells))}
    last = max([r0 for r0 in range(1, len(sheet.cells))
                if any(str(v).strip() for v in sheet.cells[r0] if v is not None)], default=0)
    for key, value in roll.settings.items():
        r0 = rows.get(key)
        if r0 is None:
            last += 1
            r0 = last
            _copy_style(ws, r0 - 1, r0, (kc, vc))
            _set(book, ws, r0, kc, key, None, roll, f"setting {key} added")
            old = None
        else:
            old = _old(raw, book, "settings", r0, vc)
        why = ("the week the new plan starts from" if key == "plan_from_week"
               else f"max(reveal_week, {roll.week}): demand of the weeks before {roll.week} is known")
        _set(book, ws, r0, vc, value, old, roll, why)


def _copy_style(ws, from_r0: int, to_r0: int, cols) -> None:
    for c0 in cols:
        _copy_cell_style(ws.cell(row=from_r0 + 1, column=c0 + 1), ws.cell(row=to_r0 + 1, column=c0 + 1))


def _edit_demand(book, raw, inputs: Inputs, roll: Rollforward) -> None:
    """Weeks < T of every scenario's row: the realised cases. A cell already holding them (a formula
    whose value they are, too) is left as it is."""
    from capacity.io.errors import col_number

    ws = book["demand"]
    rows, cols = inputs.origin.rows["demand"], inputs.origin.columns["demand"]
    for scen in inputs.scenarios.index:
        for region in inputs.regions.index:
            r0 = rows[(scen, region)] - 1
            for t, cases in enumerate(roll.demand[region], start=1):
                c0 = col_number(cols[t]) - 1
                if _same(raw.sheets["demand"].value(r0, c0), cases):
                    continue
                _set(book, ws, r0, c0, cases, _old(raw, book, "demand", r0, c0), roll,
                     f"realised cases of week {t} ({roll.demand_source})")


def _write_history(book, raw, roll: Rollforward) -> None:
    """The history sheet: created after demand (header and input cells styled as demand's), or its rows
    rewritten; every cell that changes is recorded."""
    from copy import copy

    new_sheet = HISTORY not in book.sheetnames
    demand = book["demand"]
    if new_sheet:
        ws = book.create_sheet(HISTORY, book.sheetnames.index("demand") + 1)
        for c0, width in enumerate((0, 0, 7, 12, 12, 12)):
            _copy_cell_style(demand.cell(row=1, column=1), ws.cell(row=1, column=c0 + 1))
            ws.column_dimensions[col_letter(c0)].width = width or 10
        _header_comments(ws)
        _fit_to_width(ws)
    else:
        ws = book[HISTORY]
    for c0, name in enumerate(("unit", "region")):   # wide enough for the ids
        need = max([len(str(v)) for v in roll.history[name]] + [len(name)]) + 3
        dim = ws.column_dimensions[col_letter(c0)]
        dim.width = max(dim.width or 0, need)
    body = [ws.cell(row=2, column=c0 + 1) if ws.cell(row=2, column=c0 + 1).has_style else demand.cell(row=2, column=1)
            for c0 in range(len(HISTORY_COLUMNS))]
    body = [copy(b._style) if b.has_style else None for b in body]
    grid: list[list[Any]] = [list(HISTORY_COLUMNS)]
    for row in roll.history[list(HISTORY_COLUMNS)].itertuples(index=False):
        grid.append([None if (isinstance(v, float) and math.isnan(v)) or v == "" else v for v in row])
    old = raw.sheets[HISTORY].cells if (HISTORY in raw.sheets and not new_sheet) else []
    width = max(len(HISTORY_COLUMNS), max((len(r) for r in old), default=0))
    h = roll.history
    for r0 in range(max(len(grid), len(old))):
        for c0 in range(width):
            why = _history_reason(h, r0, c0, roll) if r0 < len(grid) else "row of the old history cleared"
            new = grid[r0][c0] if r0 < len(grid) and c0 < len(grid[r0]) else None
            cell = ws.cell(row=r0 + 1, column=c0 + 1)
            if r0 > 0 and c0 < len(body) and body[c0] is not None and not cell.has_style and r0 < len(grid):
                cell._style = copy(body[c0])
                if c0 >= 3:   # fte, onboarded, exits: the model's unrounded values, shown to 3 decimals
                    cell.number_format = "#,##0.0##"
            prev = None if new_sheet else _old(raw, book, HISTORY, r0, c0)
            _set(book, ws, r0, c0, new, prev, roll, why)


def _history_reason(h: pd.DataFrame, r0: int, c0: int, roll: Rollforward) -> str:
    if r0 == 0:
        return "history header"
    row = h.iloc[r0 - 1]
    what = (f"{row['unit']}{' in ' + row['region'] if row['region'] else ''}, week {row['week']}, plan scenario "
            f"{roll.branch}: " + ("a week before the re-plan" if row["phase"] == "history"
                                  else f"a decision already taken when week {roll.week} begins"))
    column = HISTORY_COLUMNS[c0] if c0 < len(HISTORY_COLUMNS) else None
    if column not in ("fte", "onboarded", "exits"):
        return what
    if row["phase"] != "history" and not row[f"taken_{column}"] and (column != "fte" or not row["region"]):
        lag = "notice" if column == "exits" else "lead time" if column == "onboarded" else "lead time or notice"
        what = (f"{row['unit']}{' in ' + row['region'] if row['region'] else ''}, week {row['week']}, plan "
                f"scenario {roll.branch}: NOT yet decided when week {roll.week} begins ({lag}); the plan's value, "
                "kept because the row fixes it too (the new plan cannot change it: edit it to what you decide)")
    return f"{row[f'plan_cell_{column}']} ({what})"


def _copy_cell_style(src, dst) -> None:
    from copy import copy

    if src.has_style:
        dst._style = copy(src._style)


def _header_comments(ws) -> None:
    """The schema's words for each history column as the header's comment, when the schema declares the
    sheet (as the template writes them)."""
    from openpyxl.comments import Comment

    from capacity.io.workbook import plain

    sheet = S.SHEETS_BY_NAME.get(HISTORY)
    if sheet is None:
        return
    for c0, name in enumerate(HISTORY_COLUMNS):
        try:
            col = sheet.column(name)
        except KeyError:
            continue
        ws.cell(row=1, column=c0 + 1).comment = Comment(
            plain(f"{col.describe()}; {col.default_text()}. {col.doc}")[:1000], "capacity")


def _write_changes(book, roll: Rollforward) -> None:
    """The sheet replan_changes: one row per edited cell (replacing any earlier one)."""
    from openpyxl.styles import Alignment

    if CHANGES in book.sheetnames:
        del book[CHANGES]
    ws = book.create_sheet(CHANGES)
    head = book["demand"].cell(row=1, column=1)
    for c0, name in enumerate(CHANGES_COLUMNS):
        cell = ws.cell(row=1, column=c0 + 1)
        _put(cell, name)
        _copy_cell_style(head, cell)
    for r0, ch in enumerate(roll.changes, start=1):
        for c0, v in enumerate((ch.ref, _shown(ch.old), _shown(ch.new), ch.reason)):
            _put(ws.cell(row=r0 + 1, column=c0 + 1), v)
    for c0, width in enumerate((16, 22, 22, 90)):
        ws.column_dimensions[col_letter(c0)].width = width
    left = Alignment(horizontal="left")
    for column in ("B", "C"):
        for cell in ws[column][1:]:
            cell.alignment = left
    _fit_to_width(ws)
    ws.auto_filter.ref = f"A1:{col_letter(len(CHANGES_COLUMNS) - 1)}{len(roll.changes) + 1}"


def _fit_to_width(ws) -> None:
    """Header row frozen; printed landscape, one page wide, the header on every page."""
    ws.freeze_panes = "A2"
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.print_title_rows = "1:1"


def _shown(v):
    if isinstance(v, (dt.date, dt.datetime)):
        return v
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


# --------------------------------------------------------------------------
# Formulas keep their values
# --------------------------------------------------------------------------

_FORMULA_CELL = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*)>(<f(?:\s[^>]*)?>.*?</f>|<f(?:\s[^>]*)?/>)<v\s*/></c>', re.S)


def keep_cached_values(path: str | Path, raw) -> int:
    """Give every formula cell of the copy its value as the input held it.

    openpyxl keeps a formula but writes it without its cached value, which the reader refuses ("a formula
    with no cached value is an error"); the copy would not be valid input until a spreadsheet recalculated
    it. The formulas are the input's own, in the same cells (edited cells hold numbers), so their values
    are the input's cached values (``raw``). Returns the number of cells given a value."""
    import zipfile

    from capacity.io.reader import _sheet_parts, cell_index

    with zipfile.ZipFile(path) as zf:
        parts = {part: name for name, part in _sheet_parts(zf).items() if name in raw.sheets}
        members = [(info, zf.read(info.filename)) for info in zf.infolist()]
    done = 0

    def fill(sheet, m):
        nonlocal done
        r0, c0 = cell_index(m.group(1).decode())
        value = sheet.value(r0, c0)
        typed = _cached(value)
        if typed is None:
            return m.group(0)
        kind, text = typed
        attrs = re.sub(rb'\st="[^"]*"', b"", m.group(2)) + (b' t="' + kind + b'"' if kind else b"")
        done += 1
        return b'<c r="' + m.group(1) + b'"' + attrs + b">" + m.group(3) + b"<v>" + text + b"</v></c>"

    out = []
    for info, data in members:
        name = parts.get(info.filename)
        if name is not None and b"<f" in data:
            data = _FORMULA_CELL.sub(lambda m: fill(raw.sheets[name], m), data)
        out.append((info, data))
    if done:
        with zipfile.ZipFile(path, "w") as zf:
            for info, data in out:
                zf.writestr(info, data)
    return done


def _cached(value) -> tuple[bytes, bytes] | None:
    """(cell type, value text) of a formula's cached value; None when there is none to give."""
    from xml.sax.saxutils import escape

    if value is None or value == "" or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, bool):
        return b"b", b"1" if value else b"0"
    if isinstance(value, (int, float)):
        return b"", repr(float(value)).encode() if isinstance(value, float) else str(value).encode()
    if isinstance(value, (dt.datetime, dt.date)):
        stamp = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        serial = (stamp - dt.datetime(1899, 12, 30)).total_seconds() / 86400.0
        return b"", repr(serial).encode()
    if isinstance(value, str):
        return b"str", escape(value).encode("utf-8")
    return None
