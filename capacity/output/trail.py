"""The auditor's trail inside the plan workbook (models/README.md#trail).

* Every input table is copied into the output as ``input_<sheet>``, cell for
  cell at the input's own addresses (``input_skills!C5`` is the input's
  ``skills!C5``), values only: the workbook is self-contained.
* Derived columns are written as live formulas over those cells and over the
  decision cells (fte, onboarded, exits, attempted), each with the value the
  tool computed as its cached result, so Excel or LibreOffice recomputes them
  and a reader clicks from a figure to the input cells it comes from:

  ========================  ====================================================
  sheet.column              formula
  ========================  ====================================================
  work.hours_per_task       (minutes_per_task + handoff_minutes x (1 - success_rate) x escalation_share) / 60
  work.task_hours           attempted x hours_per_task
  work.completed            attempted x success_rate
  work.escalated            attempted x (1 - success_rate) x escalation_share
  work.lost                 attempted x (1 - success_rate) x (1 - escalation_share)
  plan.paid_hours           fte x hours_per_fte_week
  plan.productive_hours     fte x hours_per_fte_week x productive_share
  plan.task_hours           sum of the unit-week's work.task_hours
  plan.utilisation          task_hours / paid_hours
  plan.cost                 fte x cost_per_fte_week (+ onboarded x onboarding_cost)
  coverage.demand           cases x tasks_per_case + escalated work arriving
  coverage.completed        sum of the region-week-work type's work.completed
  coverage.lost             demand - completed - escalated onwards
  coverage.completion_share completed / demand (1 when there is no demand)
  contracts.fixed_cost      fixed_cost if signed
  contracts.expected_*      sums of the contract's ``expected`` plan rows
  ``expected`` rows         probability-weighted sums of the scenario rows
  ========================  ====================================================

An input cell is referenced only when it holds the value the model used; a
blank cell that took its default, or any cell whose value the validator
changed, appears in the formula as the number used (so a formula always
equals its cached value).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from capacity.io import schema as S
from capacity.io.errors import col_letter
from capacity.io.validate import is_blank
from capacity.model.recheck import EXPECTED
from capacity.output.report import GridSheet, locate, part_name

#: Below this a share's denominator counts as zero (results.EPS).
ZERO = "1E-9"


def input_copies(raw) -> list[GridSheet]:
    """``input_<sheet>`` for every sheet of the schema, in the schema's order."""
    out = []
    for sheet in S.SHEETS:
        if sheet.name in raw.sheets:
            cells = [[_copy_value(v) for v in row] for row in raw.sheets[sheet.name].cells]
            out.append(GridSheet(f"input_{sheet.name}", cells,
                                 note=f"A copy of sheet '{sheet.name}' of the input workbook, cell for cell "
                                      f"(input_{sheet.name}!C5 is the input's {sheet.name}!C5); values only. "
                                      "The formulas of this workbook refer to these cells."))
    return out


def _copy_value(v):
    return "" if v is None else v


class InputCells:
    """References to input cells that hold the values the model used."""

    def __init__(self, inputs, raw):
        self.origin = inputs.origin
        self.raw = raw

    def ref(self, sheet: str, key, column, used: float) -> str:
        """``input_<sheet>!$C$5`` when that input cell holds ``used``, else ``used`` as a number."""
        row = self.origin.rows.get(sheet, {}).get(key)
        letter = self.origin.columns.get(sheet, {}).get(column)
        if row and letter and sheet in self.raw.sheets:
            v = self.raw.sheets[sheet].value(row - 1, _col_index(letter))
            if (not is_blank(v) and isinstance(v, (int, float)) and not isinstance(v, bool)
                    and math.isclose(float(v), float(used), rel_tol=0, abs_tol=0)):
                return f"input_{sheet}!${letter}${row}"
        return number(used)

    def refs(self, sheet: str, keys, column, used) -> np.ndarray:
        """:meth:`ref` for many rows, computed once per distinct key."""
        keys = list(keys)
        used = list(used)
        memo: dict = {}
        out = []
        for k, u in zip(keys, used):
            if (k, u) not in memo:
                memo[(k, u)] = self.ref(sheet, k, column, u)
            out.append(memo[(k, u)])
        return np.array(out, dtype=object)


def number(x: float) -> str:
    """A number as formula text (repr keeps every digit)."""
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def _col_index(letter: str) -> int:
    n = 0
    for ch in letter:
        n = n * 26 + ord(ch) - 64
    return n - 1


class Layout:
    """Where each row of a written table lands: its sheet part and Excel row; column letters."""

    def __init__(self, name: str, frame: pd.DataFrame):
        self.name = name
        self.n = len(frame)
        self.letters = {str(c): col_letter(j) for j, c in enumerate(frame.columns)}
        part, row = locate(self.n, np.arange(self.n))
        self.part = part
        self.row = row
        self.single = self.n == 0 or int(part.max()) == 1

    def own(self, column: str) -> np.ndarray:
        """Same-row references, e.g. ``G2``, one per row (formulas on their own sheet part)."""
        return np.char.add(self.letters[column], self.row.astype(str)).astype(object)

    def cells(self, column: str, idx) -> list[str]:
        """Sheet-qualified references to rows ``idx`` of ``column``."""
        letter = self.letters[column]
        return [f"{part_name(self.name, int(self.part[i]))}!{letter}{int(self.row[i])}" for i in idx]

    def span(self, column: str, lo: int, hi: int) -> str:
        """The rows lo..hi-1 of ``column`` as one SUM argument (a range when on one sheet part)."""
        if hi <= lo:
            return "0"
        if self.part[lo] == self.part[hi - 1]:
            sheet, letter = part_name(self.name, int(self.part[lo])), self.letters[column]
            if hi - lo == 1:
                return f"{sheet}!{letter}{int(self.row[lo])}"
            return f"SUM({sheet}!{letter}{int(self.row[lo])}:{letter}{int(self.row[hi - 1])})"
        return "+".join(self.cells(column, range(lo, hi)))


def _join(*parts) -> np.ndarray:
    """Element-wise concatenation of string arrays / scalars into formula text."""
    out = np.array([""], dtype=object)
    for p in parts:
        out = out + (np.asarray(p, dtype=object) if not isinstance(p, str) else p)
    return out


def work_frame(inputs, work: pd.DataFrame) -> pd.DataFrame:
    """The work sheet as written: sorted so that each plan row's work rows are contiguous
    (scenario, week, unit, region, work type), with ``hours_per_task`` and ``task_hours``."""
    order = _orders(inputs)
    keys = ["scenario", "week", "unit", "region", "work_type"]
    sort = pd.DataFrame({c: work[c].map(order[c]) if c in order else work[c] for c in keys})
    w = work.iloc[np.lexsort([sort[c].to_numpy() for c in reversed(keys)])].reset_index(drop=True)
    src = _source_of_unit(inputs, w["unit"])
    sk = inputs.skills.reindex(pd.MultiIndex.from_arrays([src, w["work_type"]]))
    a = (sk["minutes_per_task"].to_numpy(float) + sk["handoff_minutes"].to_numpy(float)
         * (1 - sk["success_rate"].to_numpy(float)) * sk["escalation_share"].to_numpy(float)) / 60
    w["hours_per_task"] = a
    w["task_hours"] = a * w["attempted"].to_numpy(float)
    return w


def _orders(inputs) -> dict:
    return {
        "scenario": {s: i for i, s in enumerate(list(inputs.scenarios.index) + [EXPECTED])},
        "region": {r: i for i, r in enumerate([""] + list(inputs.regions.index))},
        "work_type": {k: i for i, k in enumerate(inputs.work_types.index)},
        "unit": {u: i for i, u in enumerate(list(inputs.contracts.index) + list(inputs.regional_sources.index))},
    }


def _source_of_unit(inputs, units: pd.Series) -> np.ndarray:
    src = units.map(inputs.contracts["source"])
    return src.where(src.notna(), units).to_numpy(dtype=object)


# ----------------------------------------------------------------- formulas
def formulas(inputs, raw, plan: pd.DataFrame, work: pd.DataFrame, coverage: pd.DataFrame,
             contracts: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """{sheet: {column: formula text per row (None = keep the value)}} for the written frames."""
    cells = InputCells(inputs, raw)
    lay = {n: Layout(n, f) for n, f in (("plan", plan), ("work", work), ("coverage", coverage),
                                       ("contracts", contracts))}
    out = {"work": _work_formulas(inputs, cells, work, lay["work"]),
           "plan": _plan_formulas(inputs, cells, plan, work, lay),
           "coverage": _coverage_formulas(inputs, cells, coverage, work, lay)}
    if lay["plan"].single:
        out["contracts"] = _contract_formulas(inputs, cells, contracts, lay)
    return out


def _skill_refs(inputs, cells: InputCells, work: pd.DataFrame) -> dict[str, np.ndarray]:
    src = _source_of_unit(inputs, work["unit"])
    keys = list(zip(src, work["work_type"]))
    sk = inputs.skills.reindex(pd.MultiIndex.from_tuples(keys, names=["source", "work_type"])) if keys else \
        inputs.skills.iloc[:0]
    return {c: cells.refs("skills", keys, c, sk[c].to_numpy(float))
            for c in ("minutes_per_task", "success_rate", "escalation_share", "handoff_minutes")}


def _work_formulas(inputs, cells, work, lay: Layout) -> dict[str, np.ndarray]:
    if not len(work):
        return {}
    r = _skill_refs(inputs, cells, work)
    m, p, e, h = r["minutes_per_task"], r["success_rate"], r["escalation_share"], r["handoff_minutes"]
    att = lay.own("attempted")
    return {
        "hours_per_task": _join("=(", m, "+", h, "*(1-", p, ")*", e, ")/60"),
        "task_hours": _join("=", att, "*", lay.own("hours_per_task")),
        "completed": _join("=", att, "*", p),
        "escalated": _join("=", att, "*(1-", p, ")*", e),
        "lost": _join("=", att, "*(1-", p, ")*(1-", e, ")"),
    }


def _settings_ref(inputs, cells: InputCells, key: str) -> str:
    return cells.ref("settings", key, "value", getattr(inputs.settings, key))


def _plan_formulas(inputs, cells, plan, work, lay) -> dict[str, np.ndarray]:
    pl = lay["plan"]
    if not len(plan):
        return {}
    hours = _settings_ref(inputs, cells, "hours_per_fte_week")
    share = _settings_ref(inputs, cells, "productive_share")
    fte, paid, task = pl.own("fte"), pl.own("paid_hours"), pl.own("task_hours")
    out = {
        "paid_hours": _join("=", fte, "*", hours),
        "productive_hours": _join("=", fte, "*", hours, "*", share),
        "utilisation": _join("=IF(", paid, ">", ZERO, ",", task, "/", paid, ',"")'),
        "cost": _cost_formulas(inputs, cells, plan, pl),
    }
    out["task_hours"] = _task_hour_sums(plan, work, lay)
    weighted = _expected_formulas(inputs, cells, plan, pl, ["week", "region", "unit"],
                                  ["fte", "onboarded", "exits", "task_hours", "training_hours", "supervision_hours"])
    for col, f in weighted.items():
        out[col] = np.where(f != None, f, out.get(col, f))  # noqa: E711 (element-wise)
    return out


def _cost_formulas(inputs, cells, plan, pl: Layout) -> np.ndarray:
    units = plan["unit"]
    is_contract = plan["kind"].to_numpy() == "contractor"
    fte, onb = pl.own("fte"), pl.own("onboarded")
    con_price = cells.refs("contracts", units, "cost_per_fte_week",
                           units.map(inputs.contracts["cost_per_fte_week"]).fillna(0).to_numpy(float))
    src_price = cells.refs("sources", units, "cost_per_fte_week",
                           units.map(inputs.sources["cost_per_fte_week"]).fillna(0).to_numpy(float))
    src_onb = cells.refs("sources", units, "onboarding_cost",
                         units.map(inputs.sources["onboarding_cost"]).fillna(0).to_numpy(float))
    return np.where(is_contract, _join("=", fte, "*", con_price),
                    _join("=", fte, "*", src_price, "+", onb, "*", src_onb))


def _task_hour_sums(plan, work, lay) -> np.ndarray:
    """Each scenario plan row's task hours: the SUM of its contiguous block of work rows."""
    pl, wl = lay["plan"], lay["work"]
    out = np.full(len(plan), None, dtype=object)
    if not len(work):
        return out
    key_w = work[["scenario", "week", "unit"]].astype(str).agg("\x1f".join, axis=1)
    is_reg = work["unit"].isin(plan.loc[plan["kind"] != "contractor", "unit"].unique())
    key_w = key_w.where(~is_reg, key_w + "\x1f" + work["region"].astype(str))
    key_p = plan[["scenario", "week", "unit"]].astype(str).agg("\x1f".join, axis=1)
    key_p = key_p.where(plan["kind"] == "contractor", key_p + "\x1f" + plan["region"].astype(str))
    starts = pd.Series(np.arange(len(work)), index=key_w.to_numpy())
    first = starts.groupby(level=0).min()
    last = starts.groupby(level=0).max() + 1
    for i, k in enumerate(key_p.to_numpy()):
        if k in first.index and plan["scenario"].iat[i] != EXPECTED:
            lo, hi = int(first[k]), int(last[k])
            out[i] = "=" + wl.span("task_hours", lo, hi)
    return out


def _expected_formulas(inputs, cells, frame: pd.DataFrame, lay: Layout, keys: list[str],
                       columns: list[str]) -> dict[str, np.ndarray]:
    """``expected`` rows: sum over scenarios of probability x the scenario row with the same keys."""
    scen = list(inputs.scenarios.index)
    probs = {w: cells.ref("scenarios", w, "probability", float(inputs.scenarios.at[w, "probability"]))
             for w in scen}
    k = frame[keys].astype(str).agg("\x1f".join, axis=1).to_numpy()
    pos = {(s, kk): i for i, (s, kk) in enumerate(zip(frame["scenario"].to_numpy(), k))}
    exp_rows = np.flatnonzero(frame["scenario"].to_numpy() == EXPECTED)
    out = {c: np.full(len(frame), None, dtype=object) for c in columns}
    for c in columns:
        letter = lay.letters[c]
        for i in exp_rows:
            terms = []
            for w in scen:
                j = pos.get((w, k[i]))
                if j is not None:
                    ref = f"{letter}{int(lay.row[j])}" if lay.part[j] == lay.part[i] else \
                        lay.cells(c, [j])[0]
                    terms.append(f"{probs[w]}*{ref}")
            out[c][i] = "=" + ("+".join(terms) or "0")
    return out


def _coverage_formulas(inputs, cells, cov, work, lay) -> dict[str, np.ndarray]:
    cl, wl = lay["coverage"], lay["work"]
    if not len(cov):
        return {}
    key_c = list(zip(cov["scenario"], cov["week"], cov["region"], cov["work_type"]))
    by_key: dict = {}
    esc_in: dict = {}
    esc_to = work["work_type"].map(inputs.work_types["escalates_to"])
    for j, (s, t, r, k, kt) in enumerate(zip(work["scenario"], work["week"], work["region"], work["work_type"],
                                             esc_to)):
        by_key.setdefault((s, t, r, k), []).append(j)
        if isinstance(kt, str):
            esc_in.setdefault((s, t, r, kt), []).append(j)
    demand, completed, lost = (np.full(len(cov), None, dtype=object) for _ in range(3))
    tpc = {k: cells.ref("work_types", k, "tasks_per_case", float(v))
           for k, v in inputs.work_types["tasks_per_case"].items()}
    d_letters = inputs.origin.columns.get("demand", {})
    d = inputs.demand
    cases = dict(zip(zip(d["scenario"], d["region"], d["week"].astype(int)), d["cases"].astype(float)))
    E, F = cl.own("demand"), cl.own("completed")
    for i, (s, t, r, k) in enumerate(key_c):
        if s == EXPECTED:
            continue
        case = _cases_ref(cells, cases, s, r, t, d_letters)
        arriving = "".join("+" + c for c in wl.cells("escalated", esc_in.get((s, t, r, k), [])))
        demand[i] = f"={case}*{tpc[k]}{arriving}"
        own = by_key.get((s, t, r, k), [])
        completed[i] = "=" + ("+".join(wl.cells("completed", own)) or "0")
        onwards = "".join("-" + c for c in wl.cells("escalated", own))
        lost[i] = f"={E[i]}-{F[i]}{onwards}"
    out = {"demand": demand, "completed": completed, "lost": lost,
           "completion_share": _join("=IF(", E, ">", ZERO, ",", F, "/", E, ",1)")}
    for c, f in _expected_formulas(inputs, cells, cov, cl, ["week", "region", "work_type"],
                                   ["demand", "completed", "lost"]).items():
        out[c] = np.where(f != None, f, out[c])  # noqa: E711
    return out


def _cases_ref(cells, cases: dict, s, r, t, letters) -> str:
    """The demand cell of (scenario s, region r, week t), or the number used when it holds another."""
    row = cells.origin.rows.get("demand", {}).get((s, r))
    used = cases.get((s, r, int(t)), 0.0)
    letter = letters.get(int(t))
    if row and letter:
        v = cells.raw.sheets["demand"].value(row - 1, _col_index(letter))
        if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v) == used:
            return f"input_demand!${letter}${row}"
    return number(used)


def _contract_formulas(inputs, cells, contracts, lay) -> dict[str, np.ndarray]:
    pl, cl = lay["plan"], lay["contracts"]
    if not len(contracts) or not pl.n:
        return {}
    n = pl.n + 1
    a, e = pl.letters["scenario"], pl.letters["unit"]
    ids = cl.own("contract")

    def total(col: str) -> np.ndarray:
        c = pl.letters[col]
        return _join(f'SUMPRODUCT((plan!${a}$2:${a}${n}="{EXPECTED}")*EXACT(plan!${e}$2:${e}${n},', ids,
                     f")*plan!${c}$2:${c}${n})")

    fixed = cells.refs("contracts", contracts["contract"], "fixed_cost",
                       contracts["contract"].map(inputs.contracts["fixed_cost"]).fillna(0).to_numpy(float))
    signed, fx = cl.own("signed"), cl.own("fixed_cost")
    paid, task = cl.own("expected_paid_hours"), cl.own("expected_task_hours")
    return {
        "fixed_cost": _join('=IF(', signed, '="Yes",', fixed, ",0)"),
        "expected_cost": _join("=", fx, "+", total("cost")),
        "expected_paid_hours": _join("=", total("paid_hours")),
        "expected_task_hours": _join("=", total("task_hours")),
        "expected_utilisation": _join("=IF(", paid, ">", ZERO, ",", task, "/", paid, ',"")'),
    }
