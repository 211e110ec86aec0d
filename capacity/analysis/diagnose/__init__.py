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
plain words, ``.table`` for the ``infeasibility`` sheet) and adds what would
make a plan possible: the levers a planner can pull (:mod:`.levers`: targets,
availability, lead times, terms, ramps, contracts), each with the value it
would take, found by re-solving the model with the value changed and ranked
by the relative change (:mod:`.remedies`). :func:`write_diagnosis` writes
the diagnostic workbook: ``read_me_first`` (:mod:`.sheet`), ``infeasibility``,
``remedies``, ``diagnosis`` and ``run``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from capacity.io.inputs import Inputs

from .elastic import FOUND_ELASTIC, TABLE_COLUMNS, elastic_lines, family_inputs, elastic_rows, elastic_violations_of
from .levers import Lever, candidate_levers
from .limits import contract_limits, regional_limits
from .presolve import (FOUND_PRESOLVE, Conflict, conflict_lines, completion_above_success_rate,
                       completion_unreachable, presolve_conflicts)
from .remedies import BUDGET_S, FIXES, NOT_COMPUTED, NOT_ENOUGH, Remedy, find_remedies, remedy_lines
from .sheet import why_sentences
from .text import compress_cells, week_ranges

__all__ = ["Conflict", "Diagnosis", "FIXES", "FOUND_ELASTIC", "FOUND_PRESOLVE", "Lever", "NOT_COMPUTED", "NOT_ENOUGH",
           "Remedy", "TABLE_COLUMNS", "candidate_levers", "completion_above_success_rate", "completion_unreachable",
           "compress_cells", "conflict_lines", "contract_limits", "diagnose", "elastic_rows", "find_remedies",
           "presolve_conflicts", "regional_limits", "week_ranges", "write_diagnosis"]
MAX_LINES = 12  # printed per part; the sheet has every row


@dataclass
class Diagnosis:
    lines: list
    table: pd.DataFrame
    conflicts: list = field(default_factory=list)
    families: list = field(default_factory=list)
    remedies: list = field(default_factory=list)   # Remedy, ranked
    why: list = field(default_factory=list)        # which rule cannot be met, where, when (sentences)
    source: str = ""                               # the input workbook's file name

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
             elastic: bool = True, remedies: bool = True, budget_s: float = BUDGET_S,
             threads: int | None = None) -> Diagnosis:
    """Explain why ``inputs`` give an infeasible model, and what would make a plan possible.

    ``result``: the infeasible :class:`capacity.model.solve.SolveResult` (its
    ``infeasibility`` slacks and ``infeasible_families`` are used); without
    one, the elastic model is solved here when ``elastic``. ``remedies``:
    find the ranked remedies (re-solves, within ``budget_s`` seconds in all);
    their lines come first.
    """
    conflicts = presolve_conflicts(inputs) if conflicts is None else conflicts
    viol = getattr(result, "infeasibility", None)
    if viol is None and elastic:
        viol = elastic_violations_of(inputs)
    families = list(getattr(result, "infeasible_families", None) or [])
    erows = elastic_rows(inputs, viol)
    lines = _explanation(inputs, conflicts, erows, families)
    parts = [t for t in (_conflict_table(conflicts), erows) if len(t)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TABLE_COLUMNS)
    found = find_remedies(inputs, candidate_levers(inputs, table), budget_s=budget_s, threads=threads,
                          presolve=bool(conflicts)) if remedies else []
    if found:
        lines = remedy_lines(found) + ["Why:"] + ["  " + x for x in lines]
    d = Diagnosis(lines=lines, table=table, conflicts=conflicts, families=families, remedies=found,
                  source=Path(inputs.origin.path).name if inputs.origin.path else "")
    d.why = why_sentences(inputs, d)
    return d


def _explanation(inputs: Inputs, conflicts: list[Conflict], erows: pd.DataFrame, families: list) -> list[str]:
    """Why there is no plan, in plain lines: the pre-solve conflicts, the elastic model's slacks and
    the rule families that cannot all hold."""
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
            lines.append("The elastic model (penalised slack on the hard rules) makes a plan possible by "
                         "relaxing:")
            lines += ["  " + x for x in el[:MAX_LINES]]
            if len(el) > MAX_LINES:
                lines.append(f"  ... and {len(el) - MAX_LINES} more (every row is in the infeasibility sheet)")
    if families:
        lines.append("Rule families that cannot all hold together: "
                     + "; ".join(family_inputs(inputs, f) for f in families) + ".")
    if not lines:
        lines.append("The model is infeasible but no explanation could be found (the elastic model did not "
                     "solve); check the completion targets (work_types min_completion_share) first.")
    return lines


def write_diagnosis(path, diagnosis: Diagnosis, run_info: pd.DataFrame | None = None,
                    currency: str = "GBP") -> None:
    """The diagnostic workbook: sheets ``read_me_first``, ``infeasibility``, ``remedies``,
    ``diagnosis`` (and ``run``)."""
    from capacity.output.report import SheetSpec, write_report

    from .sheet import read_me_first, remedies_frame

    summary = pd.DataFrame({"line": diagnosis.lines})
    sheets = [
        read_me_first(diagnosis),
        SheetSpec("infeasibility", diagnosis.table, {"week": "int", "slack": "number"},
                  note="Why the model is infeasible: each row is a rule (formulation.md equation) at one index "
                       "that the inputs make impossible, with the input cells that feed it. found_by: "
                       "'pre-solve check' (certain, from the inputs alone) or 'elastic model' (penalised slack; "
                       "slack = how far that rule must give)."),
        SheetSpec("remedies", remedies_frame(diagnosis.remedies),
                  {"rank": "int", "current": "number", "needed": "number", "tried": "number",
                   "relative_change": "share", "solves": "int", "presolved": "int"},
                  note="Every change tried, one input at a time: status 'fixes' (with the value needed: found by "
                       "re-solving the model with the value changed, exact to the step shown in how_found), 'not "
                       "enough alone' (no plan even at the value in column tried) or 'not computed'. Ranked by "
                       "relative_change = |needed - current| / the larger of the two, over the cells changed. "
                       "unit 'factor': the cells' values are multiplied by it."),
        SheetSpec("diagnosis", summary, note="The same explanation in plain words, as printed by capacity plan."),
    ]
    if run_info is not None:
        sheets.append(SheetSpec("run", run_info, note="Provenance of this run."))
    write_report(path, sheets, currency=currency)
