"""`capacity audit`: re-check an output workbook of `capacity plan` without trusting it.

Steps (one printed line each, with its figure):

1. **read** the output with :func:`capacity.io.reader.read_workbook` (the safety
   checks run first) and rebuild the tables ``summary``, ``plan``, ``work``,
   ``coverage``, ``contracts``, ``checks`` and ``run`` from its cells (text
   cells unescaped as :func:`capacity.output.report.unescape_text` does). A workbook
   that cannot be read, or is not a capacity plan, is a file error (exit 1).
2. **input**: the file given, or the ``run`` sheet's ``input_file`` beside the
   output or in ``inputs/``; its SHA-256 must equal the ``run`` sheet's
   ``input_sha256``, and the workbook's ``input_<sheet>`` copies (the cells its
   formulas refer to) must equal the file cell for cell (embedded.py). With
   no input file found (none given), a workbook that carries the copies is
   audited against them, validated like any input; the original file's
   SHA-256 then cannot be checked and the audit says so. A workbook without
   copies and no input file is a file error.
3. **derived figures**: every column that follows from others and the input
   (paid/productive hours, cost, utilisation, week_start, the probability-
   weighted ``expected`` rows, completion shares, the contracts table and the
   summary's figures) is recomputed and compared cell by cell.
4. **constraints**: :func:`capacity.analysis.checks.run_checks` on the tables read
   back; every check must pass.
5. **checks sheet**: its rows must match that recomputation (same checks,
   rows checked, results, largest violations).
6. **re-solve**: the input is solved again (``build_model`` + ``solve``, the
   mip_gap and time limit of the original run); the rows of ``plan`` and
   ``coverage`` must be the model's index, and the reported objective must lie
   within the reported gap of the re-solved optimum.
7. **shadow prices**: the ``shadow_prices`` sheet and the contracts'
   ``lock_in_shadow_price`` must equal the re-solve's duals, when the re-solve
   signed the same contracts at the same levels (else they are reported as not
   verified).

Exit 0 and "verified" when everything agrees; 5 with one plain line per
difference otherwise. The :class:`AuditResult` also holds every step as a
record, both SHA-256s and each tolerance with its origin, for
:mod:`capacity.analysis.audit.report_file` (``capacity audit --report``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from capacity.analysis.audit.derived import (SUMMARY_ABS_TOL, check_contracts, check_coverage, check_derived,
                                    check_expected, check_plan, check_summary)
from capacity.analysis.audit.diffs import MAX_LINES_PER_STEP, REL_TOL, Diffs, Report, Step
from capacity.analysis.audit.duals import DUAL_TOL, SHADOW_KEYS, check_shadow_prices, lock_in_from_shadow, shadow_step
from capacity.analysis.audit.embedded import COPY_REL_TOL, compare_copies, embedded_input, has_copies
from capacity.analysis.audit.read import COLUMNS, INT, SHEETS, TEXT, Table, find_input, read_output, read_table
from capacity.analysis.audit.steps import (CHECKS_ABS_TOL, CHECKS_REL_TOL, EMBEDDED, NOT_CHECKED, OBJ_TOL,
                                  InputSource, ObjectiveGap, checks_sheet_step, compare_checks, constraints_step,
                                  derived_step, input_step, key_cell, read_step, resolve_step)
from capacity.exitcodes import EXIT_MISMATCH, EXIT_OK

__all__ = [
    "AuditResult", "Tolerance", "Step", "InputSource", "ObjectiveGap", "audit",
    "SHEETS", "COLUMNS", "TEXT", "INT", "Table", "read_output", "read_table", "find_input",
    "REL_TOL", "SUMMARY_ABS_TOL", "OBJ_TOL", "DUAL_TOL", "COPY_REL_TOL", "CHECKS_REL_TOL", "CHECKS_ABS_TOL",
    "MAX_LINES_PER_STEP", "SHADOW_KEYS", "EMBEDDED", "NOT_CHECKED",
    "Diffs", "Report", "check_derived", "check_plan", "check_coverage", "check_contracts", "check_summary",
    "check_expected", "compare_checks", "check_shadow_prices", "lock_in_from_shadow",
    "has_copies", "compare_copies", "embedded_input",
]


@dataclass
class Tolerance:
    """A tolerance the audit used: its name, value, what it applies to and where it comes from."""

    name: str
    value: float
    applies_to: str
    origin: str


@dataclass
class AuditResult:
    """What the audit checked and found.

    ``lines`` are the printed lines, ``mismatches`` every difference; ``steps``
    the same as records (:class:`Step`: name, passed, line, differences,
    figures), ``source`` the input used and the two SHA-256s
    (:class:`InputSource`), ``tolerances`` each tolerance with its origin,
    ``objective`` the reported against the re-solved objective and the gap
    allowed (None when the re-solve found no plan)."""

    exit_code: int
    lines: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    input_path: Path | None = None
    output: Path | None = None
    steps: list[Step] = field(default_factory=list)
    source: InputSource | None = None
    tolerances: list[Tolerance] = field(default_factory=list)
    objective: ObjectiveGap | None = None
    output_sha256: str = ""  # of the audited workbook, as read
    report_path: Path | None = None  # the report written (audit(report=...))

    @property
    def verdict(self) -> str:
        return self.lines[-1] if self.lines else ""


def _quiet(_: str) -> None:
    pass


def audit(output: str | Path, input_path: str | Path | None = None, *,
          progress: Callable[[str], None] = _quiet, report: str | Path | None = None,
          all_runs: bool = False, workers: int | None = None) -> AuditResult:
    """Verify an output workbook of `capacity plan` against its input (see the module doc); a compare
    workbook (`capacity compare`) goes to :mod:`capacity.analysis.audit.compare_audit`, which re-solves a
    sample of its runs (every run with ``all_runs``; ``workers`` parallel solves).

    ``report``: also write what was checked and found to that file (.xlsx, .md or .txt;
    :mod:`capacity.analysis.audit.report_file`); its path is checked before the audit runs."""
    from capacity.analysis.audit.read import workbook_kind
    from capacity.analysis.audit.report_file import check_report_path, write_audit_report
    from capacity.io.reader import read_workbook

    output = Path(output)
    if report is not None:
        report = check_report_path(report, output, input_path)
    progress(f"reading {output}")
    raw_out = read_workbook(output)   # once: the kind of workbook is read from its sheet names
    kind = workbook_kind(raw_out)
    if kind == "backtest":
        from capacity.analysis.audit.backtest_audit import audit_backtest

        return audit_backtest(output, input_path, progress=progress, report=report, raw=raw_out)
    if kind == "compare":
        from capacity.analysis.audit.compare_audit import audit_compare

        return audit_compare(output, input_path, progress=progress, report=report, all_runs=all_runs,
                             workers=workers, raw=raw_out)
    res = AuditResult(EXIT_OK, output=output)
    step = Report(res.lines, res.mismatches, res.steps)
    raw_out, tables, run = read_step(step, output, progress, raw_out)
    res.source, inputs = input_step(step, output, run, input_path, progress, raw_out)
    res.input_path = res.source.path
    res.source.recorded_cell = key_cell(tables["run"], "input_sha256")
    res.output_sha256 = raw_out.sha256
    derived_step(step, inputs, tables, progress)
    checks = constraints_step(step, inputs, tables, progress)
    if checks is not None:
        checks_sheet_step(step, tables, checks)
    fresh = resolve_step(step, inputs, tables, run, progress)
    if fresh is not None:
        shadow_step(step, raw_out, inputs, tables, fresh)
    res.objective = next((s.figures["objective"] for s in res.steps if "objective" in s.figures), None)
    res.tolerances = _tolerances(res, tables, checks)
    _verdict(res, step)
    if report is not None:
        progress(f"writing the report {report}")
        res.report_path = write_audit_report(report, res)
    return res


def _tolerances(res: AuditResult, tables: dict[str, Table], checks) -> list[Tolerance]:
    """Every tolerance the steps used, with where its value comes from."""
    rel = "capacity/analysis/audit"
    out = []
    if res.source is not None and res.source.source == "file":
        out.append(Tolerance("COPY_REL_TOL", COPY_REL_TOL, "a number in an input_ sheet against the input "
                             "file's cell (relative)", f"{rel}/embedded.py"))
    out += [
        Tolerance("REL_TOL", REL_TOL, "a derived figure against its recomputation: |workbook - recomputed| <= "
                  "REL_TOL x max(1, |recomputed|)", f"{rel}/diffs.py"),
        Tolerance("SUMMARY_ABS_TOL", SUMMARY_ABS_TOL, "added to REL_TOL for the summary's figures (it rounds "
                  "values below 1 to 6 decimals)", f"{rel}/derived.py"),
    ]
    if checks is not None and len(checks):
        col = tables["checks"].cols.get("tolerance")
        sheet = tables["checks"].frame.get("tolerance")
        recorded = (f"; the checks sheet records {float(sheet.max()):g} in checks!{col}"
                    if col and sheet is not None and len(sheet) else "")
        out.append(Tolerance("TOLERANCE", float(checks["tolerance"].max()), "a constraint check passes when its "
                             "largest scaled violation (|lhs - rhs| / max(1, |rhs|)) is at most this",
                             f"TOLERANCE in capacity/model/recheck.py{recorded}"))
        out.append(Tolerance("CHECKS_REL_TOL", CHECKS_REL_TOL, "a checks-sheet row's largest violation against "
                             f"the recomputation (relative; or CHECKS_ABS_TOL {CHECKS_ABS_TOL:g} absolute)",
                             f"{rel}/steps.py"))
    obj = res.objective
    if obj is not None:
        out += [
            Tolerance("mip_gap (option)", obj.mip_gap, "the relative MIP gap the re-solve ran with",
                      obj.mip_gap_from),
            Tolerance("run gap", obj.run_gap, "the relative gap the original solve achieved (term 1 of the "
                      "objective's allowance)", f"the run sheet, {obj.run_gap_cell}"),
            Tolerance("re-solve gap", obj.resolve_gap, "the relative gap the audit's re-solve achieved (term 2)",
                      "the re-solve (HiGHS)"),
            Tolerance("OBJ_TOL", OBJ_TOL, "slack on top of the gaps (term 3, relative)", f"{rel}/steps.py"),
            Tolerance("objective allowance", obj.allowed, f"|reported - re-solved| allowed: (run gap + re-solve "
                      f"gap + OBJ_TOL) x max(1, |objective|) = ({obj.run_gap:.2g} + {obj.resolve_gap:.2g} + "
                      f"{OBJ_TOL:g}) x {obj.scale:,.2f}", f"the terms above; the objective from {obj.objective_cell}"),
        ]
    if any(s.name == "shadow prices" and s.passed is not None for s in res.steps):
        out.append(Tolerance("DUAL_TOL", DUAL_TOL, "a shadow price against the re-solve's dual: relative to "
                             "max(1, the values, 0.001 x the largest dual)", f"{rel}/duals.py"))
    return out


def _verdict(res: AuditResult, step: Report) -> AuditResult:
    """The closing lines and the exit code."""
    if not any(s.name == "shadow prices" for s in res.steps):
        step.note("shadow prices NOT verified: the re-solve found no plan to derive them from", "shadow prices")
    embedded = res.source is not None and res.source.source == EMBEDDED
    if res.mismatches:
        res.exit_code = EXIT_MISMATCH
        res.lines.append(f"not verified: {len(res.mismatches)} difference{'s' if len(res.mismatches) != 1 else ''} "
                         "(see above)" + ("; the input was taken from the workbook's own input_ sheets" if embedded
                                          else ""))
    elif embedded:
        res.lines.append("verified against the input copied into the workbook (its input_ sheets); the SHA-256 of "
                         "the original input file was not checked")
    else:
        res.lines.append("verified")
    return res
