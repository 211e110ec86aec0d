"""`capacity audit`: re-check an output workbook of `capacity plan` without trusting it.

Steps (one printed line each, with its figure):

1. **read** the output with :func:`capacity.reader.read_workbook` (the safety
   checks run first) and rebuild the tables ``summary``, ``plan``, ``work``,
   ``coverage``, ``contracts``, ``checks`` and ``run`` from its cells (text
   cells unescaped as :func:`capacity.report.unescape_text` does). A workbook
   that cannot be read, or is not a capacity plan, is a file error (exit 1).
2. **input**: the file given, or the ``run`` sheet's ``input_file`` beside the
   output or in ``inputs/``; its SHA-256 must equal the ``run`` sheet's
   ``input_sha256``.
3. **derived figures**: every column that follows from others and the input
   (paid/productive hours, cost, utilisation, week_start, the probability-
   weighted ``expected`` rows, completion shares, the contracts table and the
   summary's figures) is recomputed and compared cell by cell.
4. **constraints**: :func:`capacity.checks.run_checks` on the tables read
   back; every check must pass.
5. **checks sheet**: its rows must match that recomputation (same checks,
   rows checked, results, largest violations).
6. **re-solve**: the input is solved again (``build_model`` + ``solve``, the
   mip_gap and time limit of the original run); the rows of ``plan`` and
   ``coverage`` must be the model's index, and the reported objective must lie
   within the reported gap of the re-solved optimum.

Exit 0 and "verified" when everything agrees; 5 with one plain line per
difference otherwise.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from capacity.errors import col_letter, file_error
from capacity.exitcodes import EXIT_MISMATCH, EXIT_OK
from capacity.report import unescape_text
from capacity.results import EXPECTED

SHEETS = ("summary", "plan", "work", "coverage", "contracts", "checks", "run")
COLUMNS = {
    "summary": ["key", "value"],
    "plan": ["scenario", "week", "week_start", "region", "unit", "kind", "fte", "onboarded", "exits", "paid_hours",
             "task_hours", "utilisation", "cost"],
    "work": ["scenario", "week", "region", "work_type", "unit", "attempted", "completed", "escalated", "lost"],
    "coverage": ["scenario", "week", "region", "work_type", "demand", "completed", "lost", "completion_share"],
    "contracts": ["contract", "source", "status", "signed", "committed_fte", "fixed_cost", "expected_cost",
                  "expected_paid_hours", "expected_task_hours", "expected_utilisation"],
    "checks": ["check", "equation", "rows_checked", "largest_violation", "result"],
    "run": ["key", "value"],
    "shadow_prices": ["constraint", "scenario", "week", "region", "unit", "work_type", "value"],
}
TEXT = {"scenario", "region", "unit", "kind", "work_type", "contract", "source", "status", "key", "check",
        "equation", "where", "result", "constraint"}
INT = {"week", "rows_checked"}
#: Relative tolerance for a figure recomputed from other cells (numbers are
#: stored with 16 significant digits).
REL_TOL = 1e-9
#: The summary rounds values below 1 to 6 decimals.
SUMMARY_ABS_TOL = 1e-6
#: Slack on top of the gaps when comparing objectives (relative).
OBJ_TOL = 1e-6
MAX_LINES_PER_STEP = 20


@dataclass
class AuditResult:
    exit_code: int
    lines: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    input_path: Path | None = None


def _quiet(_: str) -> None:
    pass


# ---------------------------------------------------------------------------
# Reading the output workbook back into tables
# ---------------------------------------------------------------------------
@dataclass
class Table:
    """A table read back: the frame, and for each row its sheet and Excel row."""

    name: str
    frame: pd.DataFrame
    where: list[tuple[str, int]]  # (sheet part, 1-based row) per frame row
    cols: dict[str, str]  # column -> letter

    def cell(self, i: int, column: str) -> str:
        sheet, row = self.where[i]
        return f"{sheet}!{self.cols.get(column, 'A')}{row}"


def _parts(raw, name: str) -> list[str]:
    out = [name]
    k = 2
    while f"{name}_{k}"[-31:] in raw.sheets or f"{name[: 31 - len(str(k)) - 1]}_{k}" in raw.sheets:
        out.append(f"{name[: 31 - len(str(k)) - 1]}_{k}")
        k += 1
    return out


def _read_table(raw, name: str, problems: list[str]) -> Table:
    header: list | None = None
    rows, where = [], []
    for part in _parts(raw, name):
        cells = raw.sheets[part].cells
        if not cells:
            raise file_error(f"{raw.path}: sheet '{part}' is empty; not an output workbook of capacity plan")
        head = [unescape_text(h.strip()) if isinstance(h, str) else h for h in cells[0]]
        while head and head[-1] in ("", None):
            head.pop()
        if header is None:
            header = head
        elif head != header:
            problems.append(f"{part}!A1: the header row differs from sheet '{name}'")
        for r0 in range(1, len(cells)):
            row = list(cells[r0][: len(head)]) + [""] * max(0, len(head) - len(cells[r0]))
            if all(v in ("", None) for v in row):
                continue
            rows.append(row)
            where.append((part, r0 + 1))
    missing = [c for c in COLUMNS[name] if c not in header]
    if missing:
        raise file_error(f"{raw.path}: sheet '{name}' has no column {', '.join(repr(c) for c in missing)}; "
                         "not an output workbook of capacity plan")
    dup = sorted({c for c in header if header.count(c) > 1 and c not in ("", None)})
    if dup:
        problems.append(f"{name}!A1: duplicate column(s) {', '.join(map(str, dup))}")
    cols = {h: col_letter(j) for j, h in reversed(list(enumerate(header))) if isinstance(h, str) and h}
    frame = pd.DataFrame([[_cell_value(v) for v in r] for r in rows], columns=[str(h) for h in header])
    frame = frame.loc[:, ~frame.columns.duplicated()]
    table = Table(name, frame, where, cols)
    _type_columns(table, problems)
    return table


def _cell_value(v):
    if isinstance(v, str):
        return unescape_text(v)
    return v


def _type_columns(t: Table, problems: list[str]) -> None:
    df = t.frame
    key_value = t.name in ("summary", "run")
    for c in df.columns:
        if key_value or c in TEXT:
            df[c] = df[c].map(lambda v: "" if v is None else v)
            if not key_value:  # ids are text; a number here was typed over the written text
                df[c] = df[c].map(lambda v: v if isinstance(v, str) else _text_of(v))
            continue
        if c == "week_start":
            continue
        if c == "signed":
            vals = df[c].tolist()
            for i, v in enumerate(vals):
                if not isinstance(v, bool):
                    problems.append(f"{t.cell(i, c)}: signed must be TRUE or FALSE, got {v!r}")
            df[c] = [bool(v) if isinstance(v, bool) else False for v in vals]
            continue
        numbers = np.full(len(df), np.nan)
        for i, v in enumerate(df[c].tolist()):
            if isinstance(v, bool) or not (v in ("", None) or isinstance(v, (int, float))):
                problems.append(f"{t.cell(i, c)}: {c} must be a number, got {v!r}")
            elif isinstance(v, (int, float)):
                numbers[i] = float(v)
        df[c] = numbers
        if c in INT:
            ok = np.isfinite(numbers)
            if (ok & (numbers != np.round(numbers))).any() or not ok.all():
                i = int(np.flatnonzero(~ok | (numbers != np.round(numbers)))[0])
                problems.append(f"{t.cell(i, c)}: {c} must be a whole number, got {df[c].iat[i]!r}")
            df[c] = np.where(ok, np.round(numbers), 0).astype(int)


def _text_of(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _key_values(t: Table) -> dict:
    return dict(zip(t.frame["key"], t.frame["value"]))


def read_output(path: Path, problems: list[str]) -> tuple[object, dict[str, Table]]:
    from capacity.reader import read_workbook

    raw = read_workbook(path)
    if "infeasibility" in raw.sheets and "plan" not in raw.sheets:
        raise file_error(f"{path}: records an infeasible input (sheet 'infeasibility'), not a plan; "
                         "there is nothing to verify")
    missing = [s for s in SHEETS if s not in raw.sheets]
    if missing:
        raise file_error(f"{path}: not an output workbook of capacity plan (no sheet "
                         f"{', '.join(repr(s) for s in missing)})")
    tables = {name: _read_table(raw, name, problems) for name in SHEETS}
    run = _key_values(tables["run"])
    if "input_sha256" not in run or "input_file" not in run:
        raise file_error(f"{path}: the run sheet has no input_file / input_sha256; "
                         "not an output workbook of capacity plan")
    return raw, tables


def find_input(output: Path, run: dict, given: Path | None) -> Path:
    if given is not None:
        return Path(given)
    name = str(run.get("input_file") or "").strip()
    if not name or Path(name).name != name:
        raise file_error(f"{output}: the run sheet names no usable input_file ({name!r}); give the input with --input")
    candidates = [output.parent / name, Path("inputs") / name, output.parent.parent / "inputs" / name]
    for c in candidates:
        if c.is_file():
            return c
    raise file_error(f"{output}: cannot find the input '{name}' beside the output or in inputs/; "
                     "give it with --input")


# ---------------------------------------------------------------------------
# Derived figures
# ---------------------------------------------------------------------------
class Diffs:
    """Collects cell-by-cell differences of one step."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.cells = 0
        self.largest = 0.0

    def compare(self, t: Table, column: str, rows: np.ndarray, got, want, what: str,
                rel: float = REL_TOL, absolute: float = 0.0) -> None:
        got = np.asarray(got, dtype=float)
        want = np.asarray(want, dtype=float)
        both_nan = np.isnan(got) & np.isnan(want)
        diff = np.where(both_nan, 0.0, np.abs(got - want))
        diff = np.nan_to_num(diff, nan=np.inf)
        scale = np.maximum(1.0, np.abs(np.nan_to_num(want)))
        self.cells += len(diff)
        if len(diff):
            self.largest = max(self.largest, float(np.max(np.where(np.isfinite(diff), diff / scale, 0.0))))
        bad = np.flatnonzero(diff > rel * scale + absolute)
        for j in bad:
            self.add(f"{t.cell(int(rows[j]), column)}: {column} is {_fmt(got[j])}, but {what} gives {_fmt(want[j])}")

    def add(self, line: str) -> None:
        self.lines.append(line)


def _fmt(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "blank"
    if isinstance(x, (int, float, np.floating)):
        x = float(x)
        return f"{x:,.6g}" if abs(x) < 1e6 else f"{x:,.2f}"
    return repr(x)


def _scenario_rows(df: pd.DataFrame) -> np.ndarray:
    return (df["scenario"] != EXPECTED).to_numpy()


def _check_expected(d: Diffs, t: Table, inputs, keys: list[str], cols: list[str]) -> None:
    """Rows with scenario 'expected' are the probability-weighted sums of the scenario rows."""
    df = t.frame
    pi = inputs.scenarios["probability"]
    scen = df[_scenario_rows(df)]
    unknown = sorted(set(scen["scenario"]) - set(pi.index))
    for s in unknown:
        i = int(np.flatnonzero((df["scenario"] == s).to_numpy())[0])
        d.add(f"{t.cell(i, 'scenario')}: scenario '{s}' is not in the input")
    w = scen["scenario"].map(pi).fillna(0.0).to_numpy(float)
    weighted = scen[keys].copy()
    for c in cols:
        weighted[c] = scen[c].to_numpy(float) * w
    want = weighted.groupby(keys, sort=False)[cols].sum()
    exp = df[~_scenario_rows(df)]
    idx = pd.MultiIndex.from_frame(exp[keys])
    missing = want.index.difference(idx)
    for k in list(missing)[:MAX_LINES_PER_STEP]:
        d.add(f"{t.name}: no '{EXPECTED}' row for {_label(keys, k)}")
    extra = idx.difference(want.index)
    for k in list(extra)[:MAX_LINES_PER_STEP]:
        d.add(f"{t.name}: an '{EXPECTED}' row for {_label(keys, k)} has no scenario rows")
    aligned = want.reindex(idx)
    rows = np.flatnonzero(~_scenario_rows(df))
    for c in cols:
        d.compare(t, c, rows, exp[c].to_numpy(float), aligned[c].to_numpy(float),
                  "the probability-weighted mean of the scenario rows")


def _label(keys, k) -> str:
    k = k if isinstance(k, tuple) else (k,)
    return ", ".join(f"{a}={b}" for a, b in zip(keys, k))


def check_derived(inputs, tables: dict[str, Table]) -> Diffs:
    d = Diffs()
    st = inputs.settings
    H = st.productive_hours
    src, con = inputs.sources, inputs.contracts

    # ---- plan -------------------------------------------------------------
    t = tables["plan"]
    p = t.frame
    allrows = np.arange(len(p))
    d.compare(t, "paid_hours", allrows, p["paid_hours"], st.hours_per_fte_week * p["fte"].to_numpy(float),
              f"hours_per_fte_week ({_fmt(st.hours_per_fte_week)}) x fte")
    if "productive_hours" in p:
        d.compare(t, "productive_hours", allrows, p["productive_hours"], H * p["fte"].to_numpy(float),
                  "productive hours per FTE x fte")
    util = np.where(p["paid_hours"].to_numpy(float) > 1e-9,
                    p["task_hours"].to_numpy(float) / np.where(p["paid_hours"] > 1e-9, p["paid_hours"], 1.0), np.nan)
    d.compare(t, "utilisation", allrows, p["utilisation"], util, "task_hours / paid_hours")
    for i, (w, ws) in enumerate(zip(p["week"], p["week_start"])):
        want = st.week_start(int(w))
        got = ws.date() if hasattr(ws, "date") and callable(ws.date) else ws
        d.cells += 1
        if got != want:
            d.add(f"{t.cell(i, 'week_start')}: week_start is {got!r}, but week {w} starts on {want.isoformat()}")
    s_rows = np.flatnonzero(_scenario_rows(p))
    sp = p.iloc[s_rows]
    contract = (sp["kind"] == "contractor").to_numpy()
    price = np.where(contract, sp["unit"].map(con["cost_per_fte_week"]),
                     sp["unit"].map(src["cost_per_fte_week"])).astype(float)
    onboard = np.where(contract, 0.0, sp["unit"].map(src["onboarding_cost"])).astype(float)
    d.compare(t, "cost", s_rows, sp["cost"], price * sp["fte"].to_numpy(float) + onboard * sp["onboarded"].to_numpy(float),
              "the input's cost_per_fte_week x fte + onboarding_cost x onboarded")
    kind = np.where(contract, "contractor", sp["unit"].map(src["kind"]).fillna("").astype(str))
    want_kind = np.where(sp["unit"].isin(con.index), "contractor", sp["unit"].map(src["kind"]).fillna("?"))
    for j in np.flatnonzero(kind != want_kind)[:MAX_LINES_PER_STEP]:
        d.add(f"{t.cell(int(s_rows[j]), 'kind')}: kind is {sp['kind'].iat[j]!r}, but unit "
              f"{sp['unit'].iat[j]!r} is {want_kind[j]!r} in the input")
    num = [c for c in ("fte", "onboarded", "exits", "paid_hours", "productive_hours", "task_hours",
                       "training_hours", "supervision_hours", "cost") if c in p]
    _check_expected(d, t, inputs, ["week", "region", "unit", "kind"], num)

    # ---- coverage ---------------------------------------------------------
    t = tables["coverage"]
    cv = t.frame
    share = np.where(cv["demand"].to_numpy(float) > 1e-9,
                     cv["completed"].to_numpy(float) / np.where(cv["demand"] > 1e-9, cv["demand"], 1.0), 1.0)
    d.compare(t, "completion_share", np.arange(len(cv)), cv["completion_share"], share, "completed / demand")
    _check_expected(d, t, inputs, ["week", "region", "work_type"], ["demand", "completed", "lost"])

    # ---- contracts --------------------------------------------------------
    t = tables["contracts"]
    c = t.frame
    rows = np.arange(len(c))
    for i, (cid, source, status) in enumerate(zip(c["contract"], c["source"], c["status"])):
        if cid not in con.index:
            d.add(f"{t.cell(i, 'contract')}: contract '{cid}' is not in the input")
            continue
        for col, want in (("source", con.at[cid, "source"]), ("status", con.at[cid, "status"])):
            got = source if col == "source" else status
            if got != want:
                d.add(f"{t.cell(i, col)}: {col} is {got!r}, but the input says {want!r}")
    for cid in sorted(set(con.index) - set(c["contract"])):
        d.add(f"contracts: no row for contract '{cid}'")
    fixed = c["contract"].map(con["fixed_cost"]).fillna(0.0).to_numpy(float) * c["signed"].to_numpy(float)
    d.compare(t, "fixed_cost", rows, c["fixed_cost"], fixed, "the input's fixed_cost x signed")
    pe = p[(p["scenario"] == EXPECTED) & (p["kind"] == "contractor")].groupby("unit")[
        ["cost", "paid_hours", "task_hours"]].sum().reindex(c["contract"]).fillna(0.0)
    d.compare(t, "expected_cost", rows, c["expected_cost"],
              c["fixed_cost"].to_numpy(float) + pe["cost"].to_numpy(), "fixed_cost + the plan's expected cost")
    d.compare(t, "expected_paid_hours", rows, c["expected_paid_hours"], pe["paid_hours"], "the plan's expected rows")
    d.compare(t, "expected_task_hours", rows, c["expected_task_hours"], pe["task_hours"], "the plan's expected rows")
    util = np.where(pe["paid_hours"].to_numpy() > 1e-9,
                    pe["task_hours"].to_numpy() / np.where(pe["paid_hours"] > 1e-9, pe["paid_hours"], 1.0), np.nan)
    d.compare(t, "expected_utilisation", rows, c["expected_utilisation"], util,
              "expected_task_hours / expected_paid_hours")
    locked = c["contract"].map(con["min_term_weeks"]).fillna(0).to_numpy(float) >= 1
    d.compare(t, "committed_fte", rows[~locked], c["committed_fte"].to_numpy(float)[~locked],
              np.zeros(int((~locked).sum())), "a contract without a minimum term (no block)")

    # ---- summary ----------------------------------------------------------
    t = tables["summary"]
    s = _key_values(t)
    pos = {k: i for i, k in enumerate(t.frame["key"])}
    exp = p[p["scenario"] == EXPECTED]
    regional = (exp["kind"] != "contractor").to_numpy()
    onboarding = float((exp["onboarded"].to_numpy(float)[regional]
                        * exp["unit"].map(src["onboarding_cost"]).to_numpy(float)[regional]).sum())
    staff = float(exp["cost"].sum()) - onboarding
    fixed_total = float(c["fixed_cost"].sum())
    ce = cv[cv["scenario"] == EXPECTED]
    lost_value = float((ce["lost"].to_numpy(float)
                        * ce["work_type"].map(inputs.work_types["value_per_task"]).to_numpy(float)).sum())
    demand = float(ce["demand"].sum())
    want = {
        "expected_staff_cost": staff,
        "expected_onboarding_cost": onboarding,
        "fixed_cost": fixed_total,
        "expected_lost_value": lost_value,
        "expected_total_cost": fixed_total + staff + onboarding + lost_value,
        "expected_completion_share": float(ce["completed"].sum()) / demand if demand > 1e-9 else 1.0,
    }
    for kind_name, cost in exp.groupby("kind", sort=False)["cost"].sum().items():
        want[f"expected_cost:{kind_name}"] = float(cost)
    for key, value in want.items():
        if key not in s:
            d.add(f"summary: no row '{key}'")
            continue
        got = s[key]
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            d.add(f"summary!B{pos[key] + 2}: {key} must be a number, got {got!r}")
            continue
        d.compare(t, "value", np.array([pos[key]]), [got], [value], "the tables", absolute=SUMMARY_ABS_TOL)
    run = _key_values(tables["run"])
    for key, run_key in (("objective", "objective"), ("status", "solver_status"), ("best_bound", "best_bound"),
                         ("mip_gap", "mip_gap")):
        a, b = s.get(key), run.get(run_key)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            d.compare(t, "value", np.array([pos[key]]), [a], [b], f"the run sheet's {run_key}",
                      absolute=SUMMARY_ABS_TOL)
        elif a != b and not (a in ("", None) and b in ("", None)):
            where = f"summary!B{pos[key] + 2}" if key in pos else "summary"
            d.add(f"{where}: {key} is {a!r}, but the run sheet's {run_key} is {b!r}")
    if s.get("currency") != inputs.settings.currency:
        d.add(f"summary: currency is {s.get('currency')!r}, but the input says {inputs.settings.currency!r}")
    return d


# ---------------------------------------------------------------------------
# The checks sheet against the recomputation
# ---------------------------------------------------------------------------
def compare_checks(sheet: Table, recomputed: pd.DataFrame) -> list[str]:
    out = []
    got = sheet.frame
    want = recomputed.reset_index(drop=True)
    names_got, names_want = list(got["check"]), list(want["check"])
    for name in names_want:
        if name not in names_got:
            out.append(f"checks: no row for check '{name}'")
    for i, name in enumerate(names_got):
        if name not in names_want:
            out.append(f"{sheet.cell(i, 'check')}: unknown check '{name}'")
            continue
        w = want.iloc[names_want.index(name)]
        if got["result"].iat[i] != w["result"]:
            out.append(f"{sheet.cell(i, 'result')}: check '{name}' says {got['result'].iat[i]!r}, "
                       f"the recomputation gives {w['result']!r}")
        if int(got["rows_checked"].iat[i]) != int(w["rows_checked"]):
            out.append(f"{sheet.cell(i, 'rows_checked')}: check '{name}' says {int(got['rows_checked'].iat[i])} "
                       f"rows checked, the recomputation checks {int(w['rows_checked'])}")
        g, v = float(got["largest_violation"].iat[i]), float(w["largest_violation"])
        tol = float(w["tolerance"]) if "tolerance" in w else 1e-6
        if not (abs(g - v) <= max(1e-9, 1e-3 * abs(v)) or (g <= tol * 1e-3 and v <= tol * 1e-3)):
            out.append(f"{sheet.cell(i, 'largest_violation')}: check '{name}' says largest violation {g:.3g}, "
                       f"the recomputation gives {v:.3g}")
    return out


# ---------------------------------------------------------------------------
# Re-solve
# ---------------------------------------------------------------------------
def _options(run: dict, settings) -> dict:
    """mip_gap and time limit of the original run (its command line, else the input's settings)."""
    opts = {"mip_gap": settings.mip_gap, "time_limit": settings.time_limit_s, "threads": None}
    try:
        argv = shlex.split(str(run.get("command_line") or ""))
    except ValueError:
        argv = str(run.get("command_line") or "").split()
    flags = {"--mip-gap": "mip_gap", "--time-limit": "time_limit", "--threads": "threads"}
    for i, a in enumerate(argv):
        for flag, key in flags.items():
            value = None
            if a == flag and i + 1 < len(argv):
                value = argv[i + 1]
            elif a.startswith(flag + "="):
                value = a.split("=", 1)[1]
            if value is not None:
                try:
                    opts[key] = int(value) if key == "threads" else float(value)
                except ValueError:
                    pass
    return opts


def _keys_match(name: str, got: pd.DataFrame, want: pd.DataFrame, keys: list[str]) -> list[str]:
    g = pd.MultiIndex.from_frame(got[keys].astype({"week": int}))
    w = pd.MultiIndex.from_frame(want[keys].astype({"week": int}))
    out = []
    for k in list(w.difference(g))[:MAX_LINES_PER_STEP]:
        out.append(f"{name}: the row for {_label(keys, k)} is missing")
    for k in list(g.difference(w))[:MAX_LINES_PER_STEP]:
        out.append(f"{name}: the row for {_label(keys, k)} is not in the model")
    if g.has_duplicates:
        dup = g[g.duplicated()][0]
        out.append(f"{name}: more than one row for {_label(keys, dup)}")
    return out


# ---------------------------------------------------------------------------
# Shadow prices (step 7)
# ---------------------------------------------------------------------------
SHADOW_KEYS = ["constraint", "scenario", "week", "region", "unit", "work_type"]
#: Relative tolerance for a shadow price re-derived from the re-solve's LP.
DUAL_TOL = 1e-6


def _shadow_series(frame: pd.DataFrame) -> pd.Series:
    df = frame.copy()
    df["week"] = pd.to_numeric(df["week"], errors="coerce").fillna(0).astype(int)
    for c in ("region", "unit", "work_type", "scenario", "constraint"):
        df[c] = df[c].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    return pd.Series(pd.to_numeric(df["value"], errors="coerce").to_numpy(dtype=float),
                     index=pd.MultiIndex.from_frame(df[SHADOW_KEYS])).groupby(level=list(range(6))).sum()


def _close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= DUAL_TOL * max(1.0, abs(a), abs(b), scale)


def lock_in_from_shadow(inputs, shadow: pd.DataFrame) -> pd.Series:
    """contracts.lock_in_shadow_price recomputed from the shadow_prices rows:
    the probability-weighted sum of the contract's lock_in duals over its term."""
    from capacity.results import CONSTRAINT_NAMES

    lock = shadow[shadow["constraint"] == CONSTRAINT_NAMES["lock_in"]]
    pi = inputs.scenarios["probability"]
    weighted = pd.to_numeric(lock["value"], errors="coerce").fillna(0.0) * lock["scenario"].map(pi).fillna(0.0)
    total = weighted.groupby(lock["unit"]).sum().reindex(inputs.contracts.index).fillna(0.0)
    return total / inputs.contracts["min_term_weeks"].clip(lower=1)


def check_shadow_prices(inputs, tables: dict[str, Table], shadow: Table, fresh) -> tuple[list[str], str]:
    """Compare the reported shadow prices with those of the audit's re-solve.

    The duals are those of the LP with the contract decisions fixed; they are
    unique for that LP when it is not degenerate. They are compared only when
    the re-solve signs the same contracts at the same committed levels (else
    it solved another LP: an equally good plan), and then every reported
    value must equal the re-derived one. Returns (problems, how it went)."""
    problems = []
    con = tables["contracts"]
    want = lock_in_from_shadow(inputs, shadow.frame)
    for i, c in enumerate(con.frame["contract"]):
        got = float(con.frame["lock_in_shadow_price"].iat[i]) if "lock_in_shadow_price" in con.frame else 0.0
        if c in want.index and not _close(got, float(want[c]), 0.0):
            problems.append(f"{con.cell(i, 'lock_in_shadow_price')}: lock_in_shadow_price of {c!r} is {got:,.6g}, "
                            f"but the shadow_prices sheet gives {float(want[c]):,.6g}")
    rep = con.frame.set_index("contract")
    new = fresh.contracts.set_index("contract")
    same = (rep["signed"].reindex(new.index).astype(bool).equals(new["signed"].astype(bool))
            and np.allclose(rep["committed_fte"].reindex(new.index).astype(float), new["committed_fte"], atol=1e-6))
    if not same:
        return problems, ("shadow prices NOT verified: the re-solve signed other contracts or levels (an "
                          "equally good plan), so its duals belong to another LP")
    got, ref = _shadow_series(shadow.frame), _shadow_series(fresh.shadow_prices)
    scale = float(ref.abs().max()) if len(ref) else 1.0
    keys = got.index.union(ref.index)
    rows = _shadow_series(shadow.frame.assign(value=np.arange(len(shadow.frame), dtype=float)))
    where = {k: int(v) for k, v in rows.items()}  # (a duplicated key sums: its cell is then approximate)
    for k in keys:
        a, b = float(got.get(k, 0.0)), float(ref.get(k, 0.0))
        if not _close(a, b, scale * 1e-3):
            at = f"{shadow.cell(where[k], 'value')}: " if k in where and where[k] < len(shadow.where) else ""
            problems.append(f"{at}shadow price {_label(SHADOW_KEYS, k)} is {a:,.6g}, but the re-solve's LP "
                            f"gives {b:,.6g}")
    for c, v in new["lock_in_shadow_price"].items():
        i = list(con.frame["contract"]).index(c) if c in set(con.frame["contract"]) else None
        g = float(rep["lock_in_shadow_price"].get(c, 0.0)) if "lock_in_shadow_price" in rep else 0.0
        if i is not None and not _close(g, float(v), 0.0):
            problems.append(f"{con.cell(i, 'lock_in_shadow_price')}: lock_in_shadow_price of {c!r} is {g:,.6g}, "
                            f"but the re-solve's LP gives {float(v):,.6g}")
    return problems, f"shadow prices: {len(got):,} values and the contracts' lock-in prices equal the re-solve's duals"


def _shadow_step(step, raw_out, inputs, tables: dict[str, Table], fresh) -> None:
    """Step 7: the shadow_prices sheet and the contracts' lock-in prices against the re-solve."""
    problems: list[str] = []
    if "shadow_prices" not in raw_out.sheets:
        step("", ["shadow_prices: sheet missing"], "shadow prices")
        return
    shadow = _read_table(raw_out, "shadow_prices", problems)
    if problems:
        step("", problems, "shadow prices")
        return
    found, verdict = check_shadow_prices(inputs, tables, shadow, fresh)
    step(verdict, found, "shadow prices")


# ---------------------------------------------------------------------------
def audit(output: str | Path, input_path: str | Path | None = None, *,
          progress: Callable[[str], None] = _quiet) -> AuditResult:
    """Verify an output workbook of `capacity plan` against its input (see the module doc)."""
    from capacity.checks import run_checks
    from capacity.model import build_model
    from capacity.reader import sha256_of
    from capacity.results import tabulate
    from capacity.solve import solve
    from capacity.validate import read_inputs

    output = Path(output)
    res = AuditResult(EXIT_OK)
    lines, mism = res.lines, res.mismatches

    def step(ok_line: str, problems: list[str], what: str) -> None:
        if problems:
            lines.append(f"MISMATCH {what}: {len(problems)} difference{'s' if len(problems) != 1 else ''}")
            lines.extend(f"  {p}" for p in problems[:MAX_LINES_PER_STEP])
            if len(problems) > MAX_LINES_PER_STEP:
                lines.append(f"  ... and {len(problems) - MAX_LINES_PER_STEP} more")
            mism.extend(problems)
        else:
            lines.append(ok_line)

    # 1. read
    progress(f"reading {output}")
    problems: list[str] = []
    raw_out, tables = read_output(output, problems)
    run = _key_values(tables["run"])
    sizes = ", ".join(f"{n} {len(tables[n].frame):,}" for n in ("plan", "work", "coverage", "contracts"))
    step(f"read {output}: tables rebuilt (rows: {sizes})", problems, f"reading {output}")

    # 2. input and its SHA-256
    inp = find_input(output, run, Path(input_path) if input_path is not None else None)
    res.input_path = inp
    progress(f"reading {inp}")
    digest = sha256_of(inp) if inp.is_file() else None
    recorded = str(run.get("input_sha256") or "").strip().lower()
    step(f"input {inp}: SHA-256 {recorded[:16]}... matches the run sheet",
         [] if digest == recorded else
         [f"run!input_sha256: the run sheet records {recorded or 'nothing'}, but {inp} has SHA-256 "
          f"{digest}: the input changed since the plan was made (or it is another file)"],
         "input file")
    inputs, _ = read_inputs(inp)

    # 3. derived figures
    progress("recomputing derived figures")
    d = check_derived(inputs, tables)
    step(f"derived figures: {d.cells:,} cells recomputed from the tables and the input, "
         f"largest relative difference {d.largest:.1e}", d.lines, "derived figures")

    # 4. constraints
    progress("re-checking every constraint")
    frames = {k: t.frame for k, t in tables.items() if k in ("summary", "plan", "work", "coverage", "contracts")}
    try:
        checks = run_checks(inputs, frames)
    except Exception as exc:  # a table too damaged to check is a mismatch, not a crash
        checks = None
        step("", [f"the tables cannot be re-checked ({type(exc).__name__}: {exc})"], "constraint checks")
    if checks is not None:
        failed = checks[checks["result"] != "pass"]
        step(f"constraint checks: {len(checks)} of {len(checks)} pass against the input "
             f"(largest violation {checks['largest_violation'].max():.1e}, tolerance {checks['tolerance'].max():g})",
             [f"check '{r.check}' ({r.equation}) fails: largest violation {r.largest_violation:.3g}"
              + (f" at {r.where}" if r.where else "") for r in failed.itertuples()],
             f"constraint checks ({len(failed)} of {len(checks)} fail)")
        # 5. the checks sheet
        step(f"checks sheet: its {len(tables['checks'].frame)} rows match the recomputation",
             compare_checks(tables["checks"], checks), "checks sheet")

    # 6. re-solve
    opts = _options(run, inputs.settings)
    progress(f"re-solving the input (mip_gap {opts['mip_gap']:g})")
    built = build_model(inputs)
    result = solve(built, mip_gap=opts["mip_gap"], time_limit=opts["time_limit"], threads=opts["threads"])
    summary = _key_values(tables["summary"])
    reported = summary.get("objective")
    gap = run.get("mip_gap")
    gap = float(gap) if isinstance(gap, (int, float)) and not isinstance(gap, bool) else 0.0
    if result.status not in ("optimal", "feasible"):
        step("", [f"re-solving the input gives status {result.status} ({result.termination})"], "re-solve")
    elif not isinstance(reported, (int, float)) or isinstance(reported, bool):
        step("", [f"summary: objective must be a number, got {reported!r}"], "re-solve")
    else:
        fresh = tabulate(inputs, built, result)
        rows = _keys_match("plan", tables["plan"].frame, fresh.plan, ["scenario", "week", "region", "unit"])
        rows += _keys_match("coverage", tables["coverage"].frame, fresh.coverage,
                            ["scenario", "week", "region", "work_type"])
        z, b = float(result.objective), result.bound
        g2 = float(result.gap or 0.0)
        scale = max(1.0, abs(float(reported)))
        diff = float(reported) - z
        allowed = (gap + g2 + OBJ_TOL) * scale
        problems = list(rows)
        obj_cell = f"summary!B{list(tables['summary'].frame['key']).index('objective') + 2}"
        if abs(diff) > allowed:
            problems.append(f"{obj_cell}: reported {float(reported):,.2f}, but the re-solved optimum is "
                            f"{z:,.2f} (difference {diff:,.2f}, more than the gaps allow: {allowed:,.2f})")
        if b is not None and math.isfinite(b) and float(reported) < b - OBJ_TOL * scale:
            problems.append(f"{obj_cell}: reported {float(reported):,.2f} is below the re-solved bound "
                            f"{b:,.2f}: no plan can cost that little")
        step(f"re-solve ({result.status}, mip_gap {opts['mip_gap']:g}): optimum {z:,.2f}, reported "
             f"{float(reported):,.2f} (gap {gap:.1e}); difference {diff:,.2f} within {allowed:,.2f}; "
             f"plan and coverage rows are the model's", problems, "re-solve")
        _shadow_step(step, raw_out, inputs, tables, fresh)

    if not any(line.startswith(("shadow prices", "MISMATCH shadow")) for line in lines):
        lines.append("shadow prices NOT verified: the re-solve found no plan to derive them from")
    if mism:
        res.exit_code = EXIT_MISMATCH
        lines.append(f"not verified: {len(mism)} difference{'s' if len(mism) != 1 else ''} (see above)")
    else:
        lines.append("verified")
    return res
