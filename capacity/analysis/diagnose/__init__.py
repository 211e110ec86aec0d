"""Infeasibility explained in input terms (modules: :mod:`.text`, :mod:`.limits`,
:mod:`.presolve`, :mod:`.elastic`).

Two layers (models/README.md#elastic):

1. **Pre-solve checks** (:func:`presolve_conflicts`): conflicts that need no
   solver, found from the inputs alone and *certain* (each one proves the
   model infeasible). One small function per kind, vectorised with NumPy and
   pandas:

   - :func:`completion_above_success_rate`: a completion target (eq 13)
     above the success rate of every unit that can have staff in that
     region-week: completed <= best success rate x attempted <= best rate x
     demand, whatever the staffing.
   - :func:`completion_unreachable`: a completion target above what the able
     units can complete at most in that region-week (regional sources: the
     most staff the rules allow there, x H / a x p; contracts: their
     max_fte, or committed_fte during the initial term, pooled nationally).

   The most staff a regional source can have (:func:`regional_limits`) is a
   relaxation of eq 6-10: availability (eq 7), nothing onboarded before
   ``1 + lead_weeks`` (eq 6), at most ``max_increase_per_week`` a week (eq 9),
   a cohort onboarded in week tau stays ``min_term_weeks`` and so can be no
   larger than the smallest availability in that term (eq 7 + eq 8), trainees
   need their trainer's hours (eq 10: ``training_hours x O <= H x trainer's
   availability``), supervised staff their supervisor (eq 10: ``ratio x F <=
   supervisor's availability``). So a cohort term against an availability
   drop, a lead time, a ramp limit or a missing trainer is reported when --
   and only when -- it makes a completion target impossible: by itself
   (onboard fewer, or none) it never is.

   Why there is no contract-only check: once the validator has accepted a
   workbook (capacity/io/validate/rules.py: start <= end <= weeks, min_fte <= max_fte,
   committed_fte in [min_fte, max_fte] with min_term_weeks >= 1, start_week
   >= 1 + lead_weeks unless signed with a committed_fte), the contract
   families (eq 1-5) always have a solution: the mobilisation at start_week
   has no ramp limit, a locked level is constant (no increase or decrease
   needed), the drop after end_week is free. Regional families alone are
   met by F = O = X = 0, and eq 12 by unattempted work. Hence, in a
   validated workbook, every infeasibility runs through a completion target
   (eq 13); the two checks above find the ones visible region-week by
   region-week, and the elastic model the rest (several work types or
   regions competing for the same staff, hours spent training, ...).

2. **After the solver** (:func:`elastic_rows`): the positive slacks of the
   elastic model (``build_model(..., elastic=True)``; the solve already
   computes them in ``SolveResult.infeasibility``) mapped to the constraint
   family, the index and the input cells that feed each row, collapsed into
   plain lines.

:func:`diagnose` puts both together in a :class:`Diagnosis` (``.lines`` in
plain words, ``.table`` for the ``infeasibility`` sheet);
:func:`write_diagnosis` writes the diagnostic workbook.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from capacity.io.inputs import Inputs

from .elastic import FOUND_ELASTIC, TABLE_COLUMNS, elastic_lines, family_inputs, elastic_rows, elastic_violations_of
from .limits import contract_limits, regional_limits
from .presolve import (FOUND_PRESOLVE, Conflict, conflict_lines, completion_above_success_rate,
                       completion_unreachable, presolve_conflicts)
from .text import compress_cells, week_ranges

__all__ = ["Conflict", "Diagnosis", "FOUND_ELASTIC", "FOUND_PRESOLVE", "TABLE_COLUMNS", "completion_above_success_rate",
           "completion_unreachable", "compress_cells", "conflict_lines", "contract_limits", "diagnose", "elastic_rows",
           "presolve_conflicts", "regional_limits", "week_ranges", "write_diagnosis"]
MAX_LINES = 12  # printed per part; the sheet has every row


@dataclass
class Diagnosis:
    lines: list
    table: pd.DataFrame
    conflicts: list = field(default_factory=list)
    families: list = field(default_factory=list)

    @property
    def certain(self) -> bool:
        """Pre-solve conflicts were found: the inputs alone prove infeasibility."""
        return bool(self.conflicts)


def _conflict_table(conflicts: list[Conflict]) -> pd.DataFrame:
    recs = [{"found_by": FOUND_PRESOLVE, "family": c.family, "equation": c.equation, "scenario": c.scenario,
             "week": c.week, "region": c.region, "unit": c.unit, "work_type": c.work_type, "slack": c.slack,
             "input_cells": "; ".join(dict.fromkeys(c.input_cells)), "explanation": c.explanation}
            for c in conflicts]
    return pd.DataFrame(recs, columns=TABLE_COLUMNS)


def diagnose(inputs: Inputs, result=None, *, conflicts: list[Conflict] | None = None,
             elastic: bool = True) -> Diagnosis:
    """Explain why ``inputs`` give an infeasible model.

    ``result``: the infeasible :class:`capacity.model.solve.SolveResult` (its
    ``infeasibility`` slacks and ``infeasible_families`` are used); without
    one, the elastic model is solved here when ``elastic``.
    """
    conflicts = presolve_conflicts(inputs) if conflicts is None else conflicts
    viol = getattr(result, "infeasibility", None)
    if viol is None and elastic:
        viol = elastic_violations_of(inputs)
    families = list(getattr(result, "infeasible_families", None) or [])
    erows = elastic_rows(inputs, viol)
    lines = []
    if conflicts:
        lines.append(f"The inputs conflict ({len(conflicts)} region-week-scenario row"
                     f"{'s' if len(conflicts) != 1 else ''} of eq 13, found from the inputs alone):")
        cl = conflict_lines(inputs, conflicts)
        lines += ["  " + x for x in cl[:MAX_LINES]]
        if len(cl) > MAX_LINES:
            lines.append(f"  ... and {len(cl) - MAX_LINES} more like these (every row is in the infeasibility sheet)")
    if len(erows):
        el = elastic_lines(inputs, erows)
        if conflicts:
            lines.append(f"The elastic model (penalised slack on the hard rules) relaxes {len(erows)} row"
                         f"{'s' if len(erows) != 1 else ''} to make the plan possible; see the infeasibility "
                         "sheet" + (":" if len(el) <= 5 else "."))
            if len(el) <= 5:
                lines += ["  " + x for x in el]
        else:
            lines.append("The smallest changes that make a plan possible (elastic model: penalised slack on "
                         "the hard rules):")
            lines += ["  " + x for x in el[:MAX_LINES]]
            if len(el) > MAX_LINES:
                lines.append(f"  ... and {len(el) - MAX_LINES} more (every row is in the infeasibility sheet)")
    if families:
        lines.append("Rule families that cannot all hold together: "
                     + "; ".join(family_inputs(inputs, f) for f in families) + ".")
    if not lines:
        lines.append("The model is infeasible but no explanation could be found (the elastic model did not "
                     "solve); check the completion targets (work_types min_completion_share) first.")
    parts = [t for t in (_conflict_table(conflicts), erows) if len(t)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TABLE_COLUMNS)
    return Diagnosis(lines=lines, table=table, conflicts=conflicts, families=families)


def write_diagnosis(path, diagnosis: Diagnosis, run_info: pd.DataFrame | None = None,
                    currency: str = "GBP") -> None:
    """The diagnostic workbook: sheets ``infeasibility`` (and ``run``)."""
    from capacity.output.report import SheetSpec, write_report

    summary = pd.DataFrame({"line": diagnosis.lines})
    sheets = [
        SheetSpec("infeasibility", diagnosis.table, {"week": "int", "slack": "number"},
                  note="Why the model is infeasible: each row is a rule (formulation.md equation) at one index "
                       "that the inputs make impossible, with the input cells that feed it. found_by: "
                       "'pre-solve check' (certain, from the inputs alone) or 'elastic model' (penalised slack; "
                       "slack = how far that rule must give)."),
        SheetSpec("diagnosis", summary, note="The same explanation in plain words, as printed by capacity plan."),
    ]
    if run_info is not None:
        sheets.append(SheetSpec("run", run_info, note="Provenance of this run."))
    write_report(path, sheets, currency=currency)
