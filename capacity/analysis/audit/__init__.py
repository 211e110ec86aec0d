"""`capacity audit`: re-check an output workbook of `capacity plan` without trusting it.

Steps (one printed line each, with its figure):

1. **read** the output with :func:`capacity.io.reader.read_workbook` (the safety
   checks run first) and rebuild the tables ``summary``, ``plan``, ``work``,
   ``coverage``, ``contracts``, ``checks`` and ``run`` from its cells (text
   cells unescaped as :func:`capacity.output.report.unescape_text` does). A workbook
   that cannot be read, or is not a capacity plan, is a file error (exit 1).
2. **input**: the file given, or the ``run`` sheet's ``input_file`` beside the
   output or in ``inputs/``; its SHA-256 must equal the ``run`` sheet's
   ``input_sha256``.
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
difference otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from capacity.analysis.audit.derived import (SUMMARY_ABS_TOL, check_contracts, check_coverage, check_derived,
                                    check_expected, check_plan, check_summary)
from capacity.analysis.audit.diffs import MAX_LINES_PER_STEP, REL_TOL, Diffs, Report
from capacity.analysis.audit.duals import DUAL_TOL, SHADOW_KEYS, check_shadow_prices, lock_in_from_shadow, shadow_step
from capacity.analysis.audit.read import COLUMNS, INT, SHEETS, TEXT, Table, find_input, read_output, read_table
from capacity.analysis.audit.steps import (OBJ_TOL, checks_sheet_step, compare_checks, constraints_step, derived_step,
                                  input_step, read_step, resolve_step)
from capacity.exitcodes import EXIT_MISMATCH, EXIT_OK

__all__ = [
    "AuditResult", "audit",
    "SHEETS", "COLUMNS", "TEXT", "INT", "Table", "read_output", "read_table", "find_input",
    "REL_TOL", "SUMMARY_ABS_TOL", "OBJ_TOL", "DUAL_TOL", "MAX_LINES_PER_STEP", "SHADOW_KEYS",
    "Diffs", "Report", "check_derived", "check_plan", "check_coverage", "check_contracts", "check_summary",
    "check_expected", "compare_checks", "check_shadow_prices", "lock_in_from_shadow",
]


@dataclass
class AuditResult:
    exit_code: int
    lines: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    input_path: Path | None = None


def _quiet(_: str) -> None:
    pass


def audit(output: str | Path, input_path: str | Path | None = None, *,
          progress: Callable[[str], None] = _quiet) -> AuditResult:
    """Verify an output workbook of `capacity plan` against its input (see the module doc)."""
    output = Path(output)
    res = AuditResult(EXIT_OK)
    step = Report(res.lines, res.mismatches)
    raw_out, tables, run = read_step(step, output, progress)
    res.input_path, inputs = input_step(step, output, run, input_path, progress)
    derived_step(step, inputs, tables, progress)
    checks = constraints_step(step, inputs, tables, progress)
    if checks is not None:
        checks_sheet_step(step, tables, checks)
    fresh = resolve_step(step, inputs, tables, run, progress)
    if fresh is not None:
        shadow_step(step, raw_out, inputs, tables, fresh)
    return _verdict(res)


def _verdict(res: AuditResult) -> AuditResult:
    """The closing lines and the exit code."""
    lines = res.lines
    if not any(line.startswith(("shadow prices", "MISMATCH shadow")) for line in lines):
        lines.append("shadow prices NOT verified: the re-solve found no plan to derive them from")
    if res.mismatches:
        res.exit_code = EXIT_MISMATCH
        lines.append(f"not verified: {len(res.mismatches)} difference{'s' if len(res.mismatches) != 1 else ''} "
                     "(see above)")
    else:
        lines.append("verified")
    return res
