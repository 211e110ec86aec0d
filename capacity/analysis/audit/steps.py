"""The audit's steps other than reading (read.py), the derived figures
(derived.py) and the shadow prices (duals.py): the input, the constraint
checks, the checks sheet and the re-solve. Each step prints one line through
``step`` (a :class:`capacity.analysis.audit.diffs.Report`)."""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from capacity.analysis.audit.derived import check_derived
from capacity.analysis.audit.diffs import MAX_LINES_PER_STEP, Report, label
from capacity.analysis.audit.embedded import PREFIX, compare_copies, embedded_input, has_copies
from capacity.analysis.audit.read import Table, find_input, key_values, read_output

#: Slack on top of the gaps when comparing objectives (relative).
OBJ_TOL = 1e-6
#: A checks-sheet row's largest violation agrees with the recomputation within this share
#: of it (or CHECKS_ABS_TOL), or when both are below CHECKS_REL_TOL x the check's tolerance
#: (the violations are rounding noise printed with a few digits).
CHECKS_REL_TOL = 1e-3
CHECKS_ABS_TOL = 1e-9
#: the tables run_checks re-checks
CHECKED_TABLES = ("summary", "plan", "work", "coverage", "contracts", "risk")


# ---- 1. read ----------------------------------------------------------------
def read_step(step: Report, output: Path, progress: Callable[[str], None], raw=None):
    """The output workbook read back: (its raw sheets, its tables, its run sheet). ``raw``: the workbook
    already read (then it is not read again)."""
    if raw is None:
        progress(f"reading {output}")
    problems: list[str] = []
    raw_out, tables = read_output(output, problems, raw)
    run = key_values(tables["run"])
    sizes = ", ".join(f"{n} {len(tables[n].frame):,}" for n in ("plan", "work", "coverage", "contracts"))
    step(f"read {output}: tables rebuilt (rows: {sizes})", problems, f"reading {output}", name="read",
         figures={n: len(tables[n].frame) for n in ("plan", "work", "coverage", "contracts")})
    return raw_out, tables, run


# ---- 2. input ---------------------------------------------------------------
@dataclass
class InputSource:
    """Where the audit's input came from, and the digests it could compare.

    ``source`` is ``"file"`` (``path`` read; ``computed`` its SHA-256) or
    ``"input_ sheets"`` (no input file found: the copies inside the workbook
    were read back; ``computed`` is None, the original file's SHA-256 cannot
    be checked). ``recorded`` is the run sheet's ``input_sha256``."""

    source: str
    recorded: str
    path: Path | None = None
    computed: str | None = None
    input_file: str = ""
    why: str = ""  # why no input file was used (embedded input)
    recorded_cell: str = "run!input_sha256"  # the run sheet's cell holding ``recorded``

    @property
    def embedded(self) -> bool:
        return self.source == EMBEDDED


EMBEDDED = "input_ sheets"
NOT_CHECKED = "not checked: input taken from the input_ sheets"


def input_step(step: Report, output: Path, run: dict, input_path, progress: Callable[[str], None],
               raw_out=None):
    """The input and its SHA-256 compared with the run sheet's, and the workbook's input_
    copies compared with it: (an :class:`InputSource`, the inputs read).

    Without an input file (none given, none beside the output or in inputs/), a workbook
    that carries input_ copies is audited against them (validated like any input); one
    without copies is a file error, as before."""
    from capacity.io.errors import InputError

    recorded = str(run.get("input_sha256") or "").strip().lower()
    given = Path(input_path) if input_path is not None else None
    try:
        inp = find_input(output, run, given)
    except InputError as exc:
        if given is not None or raw_out is None or not has_copies(raw_out):
            raise
        return _embedded_step(step, raw_out, run, recorded, str(exc), progress)
    src, raw_in = input_file_step(step, inp, recorded, str(run.get("input_file") or ""), progress)
    inputs = validated(raw_in)
    if raw_out is not None:
        _copies_step(step, raw_out, raw_in, inp, same_bytes=src.computed == recorded)
    return src, inputs


def input_file_step(step: Report, inp: Path, recorded: str, input_file: str, progress: Callable[[str], None],
                    cell: str = "run!input_sha256", made: str = "the plan was made"):
    """The input file read, and the SHA-256 of that read against the run sheet's ``recorded`` (in ``cell``):
    (an :class:`InputSource`, the raw input workbook)."""
    from capacity.io.reader import read_workbook

    progress(f"reading {inp}")
    raw_in = read_workbook(inp)
    digest = raw_in.sha256
    src = InputSource("file", recorded, inp, digest, input_file, recorded_cell=cell)
    step(f"input {inp}: SHA-256 {recorded[:16]}... matches the run sheet",
         [] if digest == recorded else
         [f"{cell}: the run sheet records {recorded or 'nothing'}, but {inp} has SHA-256 "
          f"{digest}: the input changed since {made} (or it is another file)"],
         "input file", name="input", figures={"recorded": recorded, "computed": digest})
    return src, raw_in


def validated(raw, sheet_prefix: str = ""):
    """validate_raw, raising InputError with every issue (sheets renamed with ``sheet_prefix``)."""
    from capacity.io.errors import InputError, Issue
    from capacity.io.validate import validate_raw

    inputs, issues = validate_raw(raw)
    if inputs is None:
        if sheet_prefix:
            issues = [Issue("", "", f"{raw.path}: the input copied into the workbook is not a valid input "
                                    "(no input file was found to audit against; give it with --input)")] + \
                     [Issue(f"{sheet_prefix}{i.sheet}" if i.sheet else "", i.cell, i.message, i.level)
                      for i in issues]
        raise InputError(issues)
    return inputs


def _copies_step(step: Report, raw_out, raw_in, inp: Path, same_bytes: bool = True) -> None:
    """The input_ copies (the cells the workbook's formulas refer to) against the input file."""
    copies = [n for n in raw_out.sheets if n.startswith(PREFIX) and n[len(PREFIX):] in raw_in.sheets]
    if not has_copies(raw_out):
        step.note("input copies: none (a workbook written before plans carried input_ sheets); "
                  "its figures are checked against the input file only", "input copies")
        return
    problems = compare_copies(raw_out, raw_in)
    why = "" if same_bytes else (" (so its cells hold the values the plan used, though its bytes differ from the "
                                 "file the plan read: saved again, or another copy)")
    step(f"input copies: the {len(copies)} input_ sheets equal {inp.name} cell for cell{why}", problems,
         "input copies (input_ sheets against the input file)", name="input copies",
         figures={"sheets": len(copies)})


def _embedded_step(step: Report, raw_out, run: dict, recorded: str, why: str, progress):
    progress("no input file found: reading the input from the workbook's input_ sheets")
    raw = embedded_input(raw_out)
    inputs = validated(raw, PREFIX)
    name = str(run.get("input_file") or "").strip()
    where = (f"{name} is neither beside the output nor in inputs/" if name and Path(name).name == name
             else "the run sheet names no usable input file")
    src = InputSource(EMBEDDED, recorded, None, None, name, f"none given, and {where}")
    step.note(f"input: no input file found (none given, and {where}): the input was taken from the {len(raw.sheets)} input_ sheets (valid); the SHA-256 "
              f"of the original file cannot be checked (the run sheet records {recorded[:16] or 'nothing'}...)",
              "input", figures={"recorded": recorded, "computed": None, "sheets": len(raw.sheets)})
    return src, inputs


# ---- 3. derived figures -----------------------------------------------------
def derived_step(step: Report, inputs, tables: dict[str, Table], progress: Callable[[str], None]) -> None:
    progress("recomputing derived figures")
    d = check_derived(inputs, tables)
    step(f"derived figures: {d.cells:,} cells recomputed from the tables and the input, "
         f"largest relative difference {d.largest:.1e}", d.lines, "derived figures",
         figures={"cells": d.cells, "largest_relative_difference": d.largest})


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
        step("", [f"the tables cannot be re-checked ({type(exc).__name__}: {exc})"], "constraint checks",
             name="constraint checks")
        return None
    failed = checks[checks["result"] != "pass"]
    step(f"constraint checks: {len(checks)} of {len(checks)} pass against the input "
         f"(largest violation {checks['largest_violation'].max():.1e}, tolerance {checks['tolerance'].max():g})",
         [f"check '{r.check}' ({r.equation}) fails: largest violation {r.largest_violation:.3g}"
          + (f" at {r.where}" if r.where else "") for r in failed.itertuples()],
         f"constraint checks ({len(failed)} of {len(checks)} fail)", name="constraint checks",
         figures={"checks": len(checks), "failed": len(failed),
                  "largest_violation": float(checks["largest_violation"].max()) if len(checks) else 0.0,
                  "tolerance": float(checks["tolerance"].max()) if len(checks) else 0.0})
    return checks


# ---- 5. checks sheet --------------------------------------------------------
def checks_sheet_step(step: Report, tables: dict[str, Table], checks: pd.DataFrame) -> None:
    step(f"checks sheet: its {len(tables['checks'].frame)} rows match the recomputation",
         compare_checks(tables["checks"], checks), "checks sheet", figures={"rows": len(tables["checks"].frame)})


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
        if not (abs(g - v) <= max(CHECKS_ABS_TOL, CHECKS_REL_TOL * abs(v))
                or (g <= tol * CHECKS_REL_TOL and v <= tol * CHECKS_REL_TOL)):
            out.append(f"{sheet.cell(i, 'largest_violation')}: check '{name}' says largest violation {g:.3g}, "
                       f"the recomputation gives {v:.3g}")
    return out



# ---- 6. re-solve ------------------------------------------------------------
def _options(run: dict, settings) -> dict:
    """mip_gap and time limit of the original run (its command line, else the input's settings)."""
    opts = {"mip_gap": settings.mip_gap, "time_limit": settings.time_limit_s, "threads": None,
            "mip_gap_from": "the input's settings"}
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
                    if key == "mip_gap":
                        opts["mip_gap_from"] = "the run's command line"
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
    rep = float(reported)
    obj = ObjectiveGap(reported=rep, optimum=z, run_gap=gap, resolve_gap=float(result.gap or 0.0),
                       run_gap_cell=key_cell(tables["run"], "mip_gap"),
                       objective_cell=key_cell(tables["summary"], "objective"),
                       mip_gap=opts["mip_gap"], mip_gap_from=opts["mip_gap_from"])
    problems += _objective_problems(tables["summary"], rep, z, result.bound, obj)
    step(f"re-solve ({result.status}, mip_gap {opts['mip_gap']:g} from {opts['mip_gap_from']}): optimum {z:,.2f}, "
         f"reported {rep:,.2f}; difference {obj.difference:,.2f} within {obj.terms()}; "
         f"plan and coverage rows are the model's", problems, "re-solve",
         figures={"objective": obj, "status": result.status})
    return fresh


@dataclass
class ObjectiveGap:
    """The reported objective against the re-solved optimum, and the gap allowed between them:
    (the run's achieved gap + the re-solve's achieved gap + OBJ_TOL) x max(1, |reported|)."""

    reported: float
    optimum: float
    run_gap: float          # run!mip_gap: the relative gap the original solve achieved
    resolve_gap: float      # the relative gap the audit's re-solve achieved
    run_gap_cell: str = "run!mip_gap"
    objective_cell: str = "summary!objective"
    mip_gap: float = 0.0    # the mip_gap option both solves ran with
    mip_gap_from: str = ""
    obj_tol: float = OBJ_TOL

    @property
    def scale(self) -> float:
        return max(1.0, abs(self.reported))

    @property
    def allowed(self) -> float:
        return (self.run_gap + self.resolve_gap + self.obj_tol) * self.scale

    @property
    def difference(self) -> float:
        return self.reported - self.optimum

    def terms(self) -> str:
        """``229.53 = (run gap 0.00012 [run!B30] + re-solve gap 0 + OBJ_TOL 1e-06) x max(1, |objective|) ...``."""
        return (f"{self.allowed:,.2f} = (run gap {self.run_gap:.2g} [{self.run_gap_cell}] + re-solve gap "
                f"{self.resolve_gap:.2g} + OBJ_TOL {self.obj_tol:g}) x max(1, |objective|) {self.scale:,.2f}")


def key_cell(t: Table, key: str) -> str:
    keys = list(t.frame["key"])
    return t.cell(keys.index(key), "value") if key in keys else f"{t.name}!{key}"


def _objective_problems(summary: Table, reported: float, z: float, bound, obj: ObjectiveGap) -> list[str]:
    """The reported objective within the gaps of the re-solved optimum, and not below its bound."""
    out = []
    scale = max(1.0, abs(reported))
    obj_cell = f"summary!B{list(summary.frame['key']).index('objective') + 2}"
    if abs(obj.difference) > obj.allowed:
        out.append(f"{obj_cell}: reported {reported:,.2f}, but the re-solved optimum is "
                   f"{z:,.2f} (difference {obj.difference:,.2f}, more than the gaps allow: {obj.terms()})")
    if bound is not None and math.isfinite(bound) and reported < bound - OBJ_TOL * scale:
        out.append(f"{obj_cell}: reported {reported:,.2f} is below the re-solved bound "
                   f"{bound:,.2f}: no plan can cost that little")
    return out
