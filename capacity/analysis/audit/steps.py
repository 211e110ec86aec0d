"""The audit's steps other than reading (read.py), the derived figures
(derived.py) and the shadow prices (duals.py): the input, the constraint
checks, the checks sheet and the re-solve. Each step prints one line through
``step`` (a :class:`capacity.analysis.audit.diffs.Report`)."""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import Callable

import pandas as pd

from capacity.analysis.audit.derived import check_derived
from capacity.analysis.audit.diffs import MAX_LINES_PER_STEP, Report, label
from capacity.analysis.audit.read import Table, find_input, key_values, read_output

#: Slack on top of the gaps when comparing objectives (relative).
OBJ_TOL = 1e-6
#: the tables run_checks re-checks
CHECKED_TABLES = ("summary", "plan", "work", "coverage", "contracts")


# ---- 1. read ----------------------------------------------------------------
def read_step(step: Report, output: Path, progress: Callable[[str], None]):
    """The output workbook read back: (its raw sheets, its tables, its run sheet)."""
    progress(f"reading {output}")
    problems: list[str] = []
    raw_out, tables = read_output(output, problems)
    run = key_values(tables["run"])
    sizes = ", ".join(f"{n} {len(tables[n].frame):,}" for n in ("plan", "work", "coverage", "contracts"))
    step(f"read {output}: tables rebuilt (rows: {sizes})", problems, f"reading {output}")
    return raw_out, tables, run


# ---- 2. input ---------------------------------------------------------------
def input_step(step: Report, output: Path, run: dict, input_path, progress: Callable[[str], None]):
    """The input found and its SHA-256 compared with the run sheet's: (its path, the inputs read)."""
    from capacity.io.reader import sha256_of
    from capacity.io.validate import read_inputs

    inp = find_input(output, run, Path(input_path) if input_path is not None else None)
    progress(f"reading {inp}")
    digest = sha256_of(inp) if inp.is_file() else None
    recorded = str(run.get("input_sha256") or "").strip().lower()
    step(f"input {inp}: SHA-256 {recorded[:16]}... matches the run sheet",
         [] if digest == recorded else
         [f"run!input_sha256: the run sheet records {recorded or 'nothing'}, but {inp} has SHA-256 "
          f"{digest}: the input changed since the plan was made (or it is another file)"],
         "input file")
    inputs, _ = read_inputs(inp)
    return inp, inputs


# ---- 3. derived figures -----------------------------------------------------
def derived_step(step: Report, inputs, tables: dict[str, Table], progress: Callable[[str], None]) -> None:
    progress("recomputing derived figures")
    d = check_derived(inputs, tables)
    step(f"derived figures: {d.cells:,} cells recomputed from the tables and the input, "
         f"largest relative difference {d.largest:.1e}", d.lines, "derived figures")


# ---- 4. constraints ---------------------------------------------------------
def constraints_step(step: Report, inputs, tables: dict[str, Table],
                     progress: Callable[[str], None]) -> pd.DataFrame | None:
    """run_checks on the tables read back; the checks, or None when they cannot be re-checked."""
    from capacity.analysis.checks import run_checks

    progress("re-checking every constraint")
    frames = {k: t.frame for k, t in tables.items() if k in CHECKED_TABLES}
    try:
        checks = run_checks(inputs, frames)
    except Exception as exc:  # a table too damaged to check is a mismatch, not a crash
        step("", [f"the tables cannot be re-checked ({type(exc).__name__}: {exc})"], "constraint checks")
        return None
    failed = checks[checks["result"] != "pass"]
    step(f"constraint checks: {len(checks)} of {len(checks)} pass against the input "
         f"(largest violation {checks['largest_violation'].max():.1e}, tolerance {checks['tolerance'].max():g})",
         [f"check '{r.check}' ({r.equation}) fails: largest violation {r.largest_violation:.3g}"
          + (f" at {r.where}" if r.where else "") for r in failed.itertuples()],
         f"constraint checks ({len(failed)} of {len(checks)} fail)")
    return checks


# ---- 5. checks sheet --------------------------------------------------------
def checks_sheet_step(step: Report, tables: dict[str, Table], checks: pd.DataFrame) -> None:
    step(f"checks sheet: its {len(tables['checks'].frame)} rows match the recomputation",
         compare_checks(tables["checks"], checks), "checks sheet")


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



# ---- 6. re-solve ------------------------------------------------------------
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
        out.append(f"{name}: the row for {label(keys, k)} is missing")
    for k in list(g.difference(w))[:MAX_LINES_PER_STEP]:
        out.append(f"{name}: the row for {label(keys, k)} is not in the model")
    if g.has_duplicates:
        dup = g[g.duplicated()][0]
        out.append(f"{name}: more than one row for {label(keys, dup)}")
    return out



def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def resolve_step(step: Report, inputs, tables: dict[str, Table], run: dict, progress: Callable[[str], None]):
    """The input solved again; the fresh tables (for the shadow prices), or None without a plan."""
    from capacity.model import build_model
    from capacity.output.results import tabulate
    from capacity.model.solve import solve

    opts = _options(run, inputs.settings)
    progress(f"re-solving the input (mip_gap {opts['mip_gap']:g})")
    built = build_model(inputs)
    result = solve(built, mip_gap=opts["mip_gap"], time_limit=opts["time_limit"], threads=opts["threads"])
    reported = key_values(tables["summary"]).get("objective")
    gap = float(run.get("mip_gap")) if _number(run.get("mip_gap")) else 0.0
    if result.status not in ("optimal", "feasible"):
        step("", [f"re-solving the input gives status {result.status} ({result.termination})"], "re-solve")
        return None
    if not _number(reported):
        step("", [f"summary: objective must be a number, got {reported!r}"], "re-solve")
        return None
    fresh = tabulate(inputs, built, result)
    problems = _keys_match("plan", tables["plan"].frame, fresh.plan, ["scenario", "week", "region", "unit"])
    problems += _keys_match("coverage", tables["coverage"].frame, fresh.coverage,
                            ["scenario", "week", "region", "work_type"])
    z = float(result.objective)
    diff, allowed = float(reported) - z, (gap + float(result.gap or 0.0) + OBJ_TOL) * max(1.0, abs(float(reported)))
    problems += _objective_problems(tables["summary"], float(reported), z, result.bound, diff, allowed)
    step(f"re-solve ({result.status}, mip_gap {opts['mip_gap']:g}): optimum {z:,.2f}, reported "
         f"{float(reported):,.2f} (gap {gap:.1e}); difference {diff:,.2f} within {allowed:,.2f}; "
         f"plan and coverage rows are the model's", problems, "re-solve")
    return fresh


def _objective_problems(summary: Table, reported: float, z: float, bound, diff: float, allowed: float) -> list[str]:
    """The reported objective within the gaps of the re-solved optimum, and not below its bound."""
    out = []
    scale = max(1.0, abs(reported))
    obj_cell = f"summary!B{list(summary.frame['key']).index('objective') + 2}"
    if abs(diff) > allowed:
        out.append(f"{obj_cell}: reported {reported:,.2f}, but the re-solved optimum is "
                   f"{z:,.2f} (difference {diff:,.2f}, more than the gaps allow: {allowed:,.2f})")
    if bound is not None and math.isfinite(bound) and reported < bound - OBJ_TOL * scale:
        out.append(f"{obj_cell}: reported {reported:,.2f} is below the re-solved bound "
                   f"{bound:,.2f}: no plan can cost that little")
    return out
