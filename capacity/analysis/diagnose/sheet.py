"""The diagnosis workbook's first sheet, ``read_me_first``: in sentences, that no plan
exists and why (which rule, where, when), the ranked remedies as a small table,
and what to do next; and the tidy ``remedies`` sheet with every lever tried.

Laid out with :mod:`capacity.output.report_blocks` (text is never a formula there).
"""

from __future__ import annotations

import pandas as pd

from capacity.io.inputs import Inputs
from capacity.model.registry import family
from capacity.output.report_blocks import BlockSheet, blank, bullet, heading, table, text, title

from .elastic import elastic_groups
from .presolve import FOUND_PRESOLVE, conflict_groups
from .remedies import FIXES, NOT_COMPUTED, NOT_ENOUGH, change_text, current_text, how_text, needed_text, value_text
from .text import compress_cells, names, number, pct, span, week_ranges

HOW = "how it was found"
MAX_WHY = 6   # sentences; the infeasibility sheet has every row

RANKING = ("Each row is one change that, on its own, makes a plan possible. Smallest change first: ranked by the "
           "change relative to the value it changes, |needed - now| / the larger of the two, summed over the "
           "cells changed (lowering a target from 80% to 66% is 17.5%; anything from or to 0 is 100%).")
TRIES = ("How it was found: the model was solved again with the value changed, halving the interval between a "
         "value with no plan and one with a plan at each try (bisection) down to the step shown; some tries are "
         "settled by the pre-solve checks without a solver. The value needed has a plan; the one next to it, "
         "towards the value now, has none.")
LEAVES_OUT = ("This list tries one change at a time. It leaves out changes of several inputs together (smaller "
              "changes of two inputs may also work), adding a skills row (a source trained for the work: its "
              "minutes_per_task and success_rate are not known here), and success rates, which describe staff "
              "rather than decisions.")


def _when(cs) -> str:
    scens = list(dict.fromkeys(c.scenario for c in cs))
    return f"{week_ranges(c.week for c in cs)} (scenario{'s' if len(scens) > 1 else ''} {names(scens)})"


def _conflict_sentence(inputs: Inputs, kind: str, k: str, r: str, cs: list) -> str:
    mcs = float(inputs.work_types.loc[k, "min_completion_share"])
    head = (f"In region {r}, {_when(cs)}, the completion target for {k} work, {pct(mcs)} "
            f"({inputs.origin.cell('work_types', k, 'min_completion_share')}), cannot be met: ")
    if kind == "completion_above_success_rate":
        return head + (f"the staff who can do {k} work then complete at most {pct(max(c.reachable for c in cs))} "
                       "of the tasks they attempt.")
    if not any(c.limits for c in cs):
        return head + f"no source has a skill row for {k} (sheet skills)."
    return head + (f"it needs {span([c.required for c in cs])} tasks a week completed, and the staff able to do "
                   f"{k} work can complete at most {span([c.reachable for c in cs])}.")


def why_sentences(inputs: Inputs, diagnosis) -> list[str]:
    """Which rule cannot be met, where and when: one sentence per pre-solve conflict group,
    or (none found) per group of the elastic model's slacks."""
    if diagnosis.conflicts:
        return [_conflict_sentence(inputs, kind, k, r, cs)
                for (kind, k, r), cs in conflict_groups(diagnosis.conflicts).items()]
    el = diagnosis.table[diagnosis.table["found_by"] != FOUND_PRESOLVE]
    out = []
    for g in elastic_groups(el):
        spec = family(g["family"])
        rule = f"the {spec.title} rule (eq {spec.eq})" if spec is not None else g["family"]
        when = f", {g['when']}" if g["when"] else ""
        out.append(f"The rules cannot all hold together. The model that lets every hard rule give (at a "
                   f"penalty) breaks {rule} for {g['who']}{when}: {g['meaning']} {g['amount']} ({g['cells']}).")
    return out


def _subject(r) -> str:
    lv = r.lever
    where = f", each of {lv.where}" if lv.where and len(lv.cells) > 1 else f", {lv.where}" if lv.where else ""
    return f"{lv.verb.capitalize()} {lv.subject}{where}"


_WEEK_COUNTS = ("lead_weeks", "min_term_weeks", "contract_lead")


def _tries(r) -> str:
    """'11 tries: 80% has a plan, 80.1% none' (short: the table's cells do not wrap)."""
    n = r.solves + r.presolved
    unitless = r.lever.unit in ("FTE", "FTE a week", "hours", "ratio") or r.lever.kind in _WEEK_COUNTS
    v = (lambda x: number(x, 3 if r.lever.step < 0.01 else 1)) if unitless else (lambda x: value_text(r.lever, x))
    return f"{n} tr{'ies' if n != 1 else 'y'}: {v(r.needed)} has a plan, {v(r.short)} none"


def remedy_table(remedies: list) -> pd.DataFrame:
    """The small table of read_me_first: the changes that make a plan possible, ranked (text
    only: each cell reads top-aligned, as a sentence does)."""
    fixes = [r for r in remedies if r.status == FIXES]
    return pd.DataFrame({
        "change (smallest first)": [f"{i}. {_subject(r)}" for i, r in enumerate(fixes, start=1)],
        "input cell(s) to edit": [compress_cells(r.lever.cells) for r in fixes],
        "value now": [current_text(r.lever) for r in fixes],
        "value needed": [needed_text(r, each=False) for r in fixes],
        HOW: [_tries(r) for r in fixes],
        "relative change": [pct(r.size) for r in fixes],
    })


def remedies_frame(remedies: list) -> pd.DataFrame:
    """Every lever tried (tidy, for the ``remedies`` sheet)."""
    rank = iter(range(1, len(remedies) + 1))
    recs = []
    for r in remedies:
        spec = family(r.lever.family)
        recs.append({"rank": next(rank) if r.status == FIXES else None, "status": r.status,
                     "change": change_text(r), "rule": f"eq {spec.eq} {spec.title}" if spec else r.lever.family,
                     "input_cells": "; ".join(r.lever.cells), "current": r.lever.start, "needed": r.needed,
                     "tried": r.tried, "unit": r.lever.unit,
                     "relative_change": r.size if r.needed is not None else None, "solves": r.solves,
                     "presolved": r.presolved, "how_found": how_text(r)})
    cols = ["rank", "status", "change", "rule", "input_cells", "current", "needed", "tried", "unit",
            "relative_change", "solves", "presolved", "how_found"]
    return pd.DataFrame(recs, columns=cols)


def read_me_first(diagnosis) -> BlockSheet:
    """The first sheet of the diagnosis workbook (:class:`~capacity.analysis.diagnose.Diagnosis`
    with its ``why`` sentences and ranked ``remedies``)."""
    src = diagnosis.source or "the input workbook"
    why = diagnosis.why
    blocks = [title("No plan: the input has no feasible staffing plan"),
              text(f"capacity plan found no staffing plan for {src} that meets every rule of the input, so it "
                   "wrote this diagnosis instead of a plan."),
              heading("Why")]
    blocks += [bullet(s) for s in why[:MAX_WHY]] or [text("No explanation was found (the elastic model did not "
                                                          "solve); check the completion targets first.")]
    if len(why) > MAX_WHY:
        blocks.append(bullet(f"... and {len(why) - MAX_WHY} more like these."))
    blocks += [text("Sheet infeasibility lists every rule row that cannot hold, with the input cells behind it; "
                    "sheet diagnosis has the explanation as capacity plan printed it."), blank(),
               heading("What would make a plan possible")]
    fixes = remedy_table(diagnosis.remedies)
    if len(fixes):
        blocks += [text(RANKING), table(fixes), text(TRIES)]
    else:
        blocks.append(text("No single change tried makes a plan possible: several inputs must change together. "
                           "Start from the rules and cells named above."))
    for status, words in ((NOT_ENOUGH, "Not enough on its own (each tried as far as it can go):"),
                          (NOT_COMPUTED, "Not computed:")):
        rest = [r for r in diagnosis.remedies if r.status == status]
        if rest:
            blocks += [blank(), text(words)] + [bullet(change_text(r)) for r in rest]
    blocks += [blank(), text(LEAVES_OUT), blank(), heading("What to do next"),
               bullet(f"Choose one change from the table and edit its input cell(s) in {src}: the value needed is "
                      "the least change that works, and any value beyond it works too."),
               bullet(f"Run capacity validate {src}, then capacity plan {src} again."),
               bullet("Sheet remedies lists every change tried, with the number of solves behind each.")]
    return BlockSheet("read_me_first", blocks, note="Why there is no plan and what would make one possible.")
