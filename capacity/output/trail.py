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

import itertools
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
        """:meth:`ref` for many rows, computed once per distinct (key, value). ``keys``: one key per row, or
        a tuple of aligned arrays whose rows are the keys (a compound key such as (source, work_type))."""
        parts = [np.asarray(k, dtype=object) for k in keys] if isinstance(keys, tuple) else \
            [np.asarray(keys, dtype=object)]
        used = np.asarray(used, dtype=float)
        if not len(used):
            return np.array([], dtype=object)
        codes, first = _distinct(*parts, used)
        texts = np.array([self.ref(sheet, tuple(p[i] for p in parts) if isinstance(keys, tuple) else parts[0][i],
                                   column, used[i]) for i in first], dtype=object)
        return texts[codes]


def _distinct(*columns) -> tuple[np.ndarray, np.ndarray]:
    """(code of each row, first row of each code) for the distinct rows of aligned columns; codes number the
    distinct rows in order of first appearance."""
    codes = _joint_codes([list(columns)])[0]
    return codes, np.unique(codes, return_index=True)[1]


def _joint_codes(tables: list[list]) -> list[np.ndarray]:
    """One integer per row of each table (a list of aligned key columns; every table has as many columns),
    equal where two rows' keys are equal, in any of the tables (NaN equals NaN)."""
    sizes = [len(t[0]) for t in tables]
    code = np.zeros(sum(sizes), dtype=np.int64)
    for j in range(len(tables[0])):
        col = np.concatenate([np.asarray(t[j], dtype=object) for t in tables])
        c, u = pd.factorize(col, use_na_sentinel=False)
        code, _ = pd.factorize(code * (len(u) + 1) + c)
    return np.split(code, np.cumsum(sizes)[:-1])


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
        self.row_text = row.astype(str).astype(object)
        self.sheet_text = np.array([part_name(name, int(p)) + "!" for p in np.unique(part)], dtype=object)[
            part - 1] if self.n else np.array([], dtype=object)

    def own(self, column: str) -> np.ndarray:
        """Same-row references, e.g. ``G2``, one per row (formulas on their own sheet part)."""
        return self.letters[column] + self.row_text

    def cells(self, column: str, idx) -> list[str]:
        """Sheet-qualified references to rows ``idx`` of ``column``."""
        letter = self.letters[column]
        return [f"{part_name(self.name, int(self.part[i]))}!{letter}{int(self.row[i])}" for i in idx]

    def all_cells(self, column: str) -> np.ndarray:
        """:meth:`cells` of every row, as an array."""
        return self.sheet_text + (self.letters[column] + self.row_text)

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
    """Element-wise concatenation of string arrays / scalars into formula text (one join per row)."""
    lists = [None if isinstance(p, str) else np.asarray(p, dtype=object).tolist() for p in parts]
    n = max((len(x) for x in lists if x is not None), default=1)
    cols = [itertools.repeat(p, n) if x is None else x for p, x in zip(parts, lists)]
    return np.array(list(map("".join, zip(*cols))), dtype=object)


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
    if "phase" in w:   # v2's phase last, so that the columns before it keep their letters
        w = w[[c for c in w.columns if c != "phase"] + ["phase"]]
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
             contracts: pd.DataFrame, risk: pd.DataFrame | None = None) -> dict[str, dict[str, np.ndarray]]:
    """{sheet: {column: formula text per row (None = keep the value)}} for the written frames."""
    cells = InputCells(inputs, raw)
    lay = {n: Layout(n, f) for n, f in (("plan", plan), ("work", work), ("coverage", coverage),
                                       ("contracts", contracts))}
    if risk is not None:
        lay["risk"] = Layout("risk", risk)
    out = {"work": _work_formulas(inputs, cells, work, lay["work"]),
           "plan": _plan_formulas(inputs, cells, plan, work, lay),
           "coverage": _coverage_formulas(inputs, cells, coverage, work, lay)}
    if lay["plan"].single:
        out["contracts"] = _contract_formulas(inputs, cells, contracts, lay)
        if risk is not None and lay["coverage"].single:
            out["risk"] = _risk_formulas(inputs, cells, risk, contracts, lay)
    return out


def _risk_formulas(inputs, cells, risk: pd.DataFrame, contracts: pd.DataFrame, lay) -> dict[str, np.ndarray]:
    """The risk sheet (v2 section 4): probability from input_scenarios; scenario_cost = the non-sunk fixed
    costs of the contracts sheet + the scenario's plan costs and lost value (coverage lost x value_per_task)
    from plan_from_week on; with risk_weight 0 also the risk-adjusted probability (= probability). The excess
    over the value at risk (and, with risk_weight > 0, the risk-adjusted probability: the CVaR rows' duals)
    stay values; the audit re-derives them."""
    from capacity.model import history as hist
    from capacity.model import risk as rk

    rl, pl, cv, cl = lay["risk"], lay["plan"], lay["coverage"], lay["contracts"]
    if not rl.n:
        return {}
    scen = rl.own("scenario")
    T = _settings_ref(inputs, cells, "plan_from_week")
    n, m = pl.n + 1, cv.n + 1
    pa, pw, pc = pl.letters["scenario"], pl.letters["week"], pl.letters["cost"]
    staff = _join(f"SUMPRODUCT(EXACT(plan!${pa}$2:${pa}${n},", scen, f")*(plan!${pw}$2:${pw}${n}>={T})"
                  f"*plan!${pc}$2:${pc}${n})") if pl.n else np.full(rl.n, "0", dtype=object)
    ca, cw, ck, cl_lost = (cv.letters[c] for c in ("scenario", "week", "work_type", "lost"))
    lost = np.full(rl.n, "", dtype=object)
    for k, value in inputs.work_types["value_per_task"].items():
        if not cv.n or float(value) == 0:
            continue
        v = cells.ref("work_types", k, "value_per_task", float(value))
        lost = _join(lost, f'+{v}*SUMPRODUCT(EXACT(coverage!${ca}$2:${ca}${m},', scen,
                     f')*EXACT(coverage!${ck}$2:${ck}${m},"{_quoted(k)}")*(coverage!${cw}$2:${cw}${m}>={T})'
                     f'*coverage!${cl_lost}$2:${cl_lost}${m})')
    sunk = set(hist.sunk_fixed_contracts(inputs))
    keep = [i for i, c in enumerate(contracts["contract"]) if c not in sunk]
    fixed = "+".join(f"contracts!${cl.letters['fixed_cost']}${int(cl.row[i])}" for i in keep) or "0"
    probs = cells.refs("scenarios", risk["scenario"], "probability", risk["probability"].to_numpy(float))
    out = {"probability": _join("=", probs), "scenario_cost": _join(f"={fixed}+", staff, lost)}
    if rk.weight(inputs) == 0:
        out["risk_adjusted_probability"] = _join("=", rl.own("probability"))
    return out


def _quoted(text: str) -> str:
    """A text for a formula's string literal ("" doubles a quote)."""
    return str(text).replace('"', '""')


def _skill_refs(inputs, cells: InputCells, work: pd.DataFrame) -> dict[str, np.ndarray]:
    src = _source_of_unit(inputs, work["unit"])
    keys = (src, work["work_type"].to_numpy(dtype=object))
    sk = inputs.skills.reindex(pd.MultiIndex.from_arrays(keys, names=["source", "work_type"])) if len(src) else \
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
    # a regional unit's rows are its region's; a contract's, every region's ('' never names a region here)
    is_reg = work["unit"].isin(plan.loc[plan["kind"] != "contractor", "unit"].unique()).to_numpy()
    reg_w = np.where(is_reg, work["region"].astype(str).to_numpy(dtype=object), "\x1f")
    reg_p = np.where(plan["kind"].to_numpy() == "contractor", "\x1f", plan["region"].astype(str).to_numpy(dtype=object))
    code_w, code_p = _joint_codes([[work["scenario"].astype(str), work["week"].astype(str), work["unit"].astype(str),
                                    reg_w],
                                   [plan["scenario"].astype(str), plan["week"].astype(str), plan["unit"].astype(str),
                                    reg_p]])
    pos = np.arange(len(work))
    first = pd.Series(pos).groupby(code_w).min()
    last = pd.Series(pos).groupby(code_w).max() + 1
    lo = first.reindex(code_p).to_numpy()
    hi = last.reindex(code_p).to_numpy()
    rows = np.flatnonzero(~np.isnan(lo) & (plan["scenario"].to_numpy() != EXPECTED))
    lo, hi = lo[rows].astype(np.int64), hi[rows].astype(np.int64)
    if not len(rows):
        return out
    # one sheet part: a reference or a range; across parts, every cell (Layout.span)
    one = wl.part[lo] == wl.part[hi - 1]
    sheet, letter = wl.sheet_text, wl.letters["task_hours"]
    top, bottom = letter + wl.row_text[lo], letter + wl.row_text[hi - 1]
    text = np.where(hi - lo == 1, "=" + sheet[lo] + top, "=SUM(" + sheet[lo] + top + ":" + bottom + ")")
    out[rows[one]] = text[one]
    for i, a, b in zip(rows[~one], lo[~one], hi[~one]):
        out[i] = "=" + wl.span("task_hours", int(a), int(b))
    return out


def _expected_formulas(inputs, cells, frame: pd.DataFrame, lay: Layout, keys: list[str],
                       columns: list[str]) -> dict[str, np.ndarray]:
    """``expected`` rows: sum over scenarios of probability x the scenario row with the same keys."""
    scen = list(inputs.scenarios.index)
    probs = {w: cells.ref("scenarios", w, "probability", float(inputs.scenarios.at[w, "probability"]))
             for w in scen}
    out = {c: np.full(len(frame), None, dtype=object) for c in columns}
    scenario = frame["scenario"].to_numpy()
    exp_rows = np.flatnonzero(scenario == EXPECTED)
    if not len(exp_rows):
        return out
    k = _joint_codes([[frame[c].astype(str) for c in keys]])[0]
    # per scenario, the row of each expected row's keys (the last such row, -1: none)
    at = {}
    for w in scen:
        rows = np.flatnonzero(scenario == w)
        by_key = pd.Series(rows, index=k[rows])
        by_key = by_key[~by_key.index.duplicated(keep="last")]
        at[w] = by_key.reindex(k[exp_rows]).fillna(-1).to_numpy(np.int64)
    part = lay.part
    for c in columns:
        letter = lay.letters[c]
        acc = np.full(len(exp_rows), "", dtype=object)
        for w in scen:
            j = at[w]
            has = j >= 0
            jj, ii = j[has], exp_rows[has]
            ref = letter + lay.row_text[jj]
            other = part[jj] != part[ii]
            ref[other] = lay.sheet_text[jj[other]] + ref[other]
            term = probs[w] + "*" + ref
            before = acc[has]
            acc[has] = np.where(before == "", term, before + "+" + term)
        out[c][exp_rows] = "=" + np.where(acc == "", "0", acc)
    return out


def _concat_by(item_codes: np.ndarray, items: np.ndarray, row_codes: np.ndarray) -> np.ndarray:
    """Per row, the concatenation of the items whose code is the row's code, in the items' order ('': none)."""
    out = np.full(len(row_codes), "", dtype=object)
    if not len(items):
        return out
    order = np.argsort(item_codes, kind="stable")
    sc = item_codes[order]
    starts = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]])
    joined = np.add.reduceat(items[order], starts)
    uniq = sc[starts]
    at = np.minimum(np.searchsorted(uniq, row_codes), len(uniq) - 1)
    hit = uniq[at] == row_codes
    out[hit] = joined[at[hit]]
    return out


def _coverage_formulas(inputs, cells, cov, work, lay) -> dict[str, np.ndarray]:
    cl, wl = lay["coverage"], lay["work"]
    if not len(cov):
        return {}
    esc_to = work["work_type"].map(inputs.work_types["escalates_to"]).to_numpy(dtype=object)
    escalates = np.array([isinstance(kt, str) for kt in esc_to], dtype=bool)
    ids = [cov["scenario"], cov["week"], cov["region"], cov["work_type"]]
    own_w = [work["scenario"], work["week"], work["region"], work["work_type"]]
    into_w = [work["scenario"].to_numpy()[escalates], work["week"].to_numpy()[escalates],
              work["region"].to_numpy()[escalates], esc_to[escalates]]
    code_c, code_own, code_into = _joint_codes([ids, own_w, into_w])
    completed_ref, escalated_ref = wl.all_cells("completed"), wl.all_cells("escalated")
    own = _concat_by(code_own, "+" + completed_ref, code_c)        # '+work!F2+work!F9'
    onwards = _concat_by(code_own, "-" + escalated_ref, code_c)
    arriving = _concat_by(code_into, "+" + escalated_ref[escalates], code_c)
    tpc = {k: cells.ref("work_types", k, "tasks_per_case", float(v))
           for k, v in inputs.work_types["tasks_per_case"].items()}
    d_letters = inputs.origin.columns.get("demand", {})
    d = inputs.demand
    cases = dict(zip(zip(d["scenario"], d["region"], d["week"].astype(int)), d["cases"].astype(float)))
    E, F = cl.own("demand"), cl.own("completed")
    rows = np.flatnonzero(cov["scenario"].to_numpy() != EXPECTED)
    demand, completed, lost = (np.full(len(cov), None, dtype=object) for _ in range(3))
    if len(rows):
        s, r, t = (cov[c].to_numpy(dtype=object)[rows] for c in ("scenario", "region", "week"))
        codes, first = _distinct(s, r, t)
        case = np.array([_cases_ref(cells, cases, s[i], r[i], t[i], d_letters) for i in first], dtype=object)[codes]
        k = cov["work_type"].to_numpy(dtype=object)[rows]
        per_case = np.array([tpc[x] for x in k], dtype=object)
        demand[rows] = "=" + case + "*" + per_case + arriving[rows]
        mine = own[rows]
        completed[rows] = "=" + np.array([x[1:] if x else "0" for x in mine], dtype=object)
        lost[rows] = "=" + E[rows] + "-" + F[rows] + onwards[rows]
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
