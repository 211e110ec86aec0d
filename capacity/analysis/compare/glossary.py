"""The compare workbook's vocabulary, declared once: every column of the ``comparison``
sheet (its header in words with its unit, its number format and a plain note), every
measure of the ``measures`` sheet in words, and the notes of the tidy tables' columns.

The header of a column is a template: ``{cur}`` is the currency as the reader sees it
(``£`` for GBP), ``{c}`` a contract, ``{alpha}`` the CVaR level as a percentage.
:func:`header_of` writes a header, :func:`name_of_header` reads one back (the audit and
:func:`capacity.analysis.compare.workbook.read_comparison` use it), so the sheet can be
written for people and still read by a program.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from capacity.output.report_cells import _CURRENCY_SYMBOLS, _check_currency


@dataclass(frozen=True)
class Column:
    """One column of the comparison sheet: its name in the tables, header, format and note."""

    name: str          # as in CompareResult.comparison; '<c>' stands for a contract
    header: str        # words with the unit: placeholders {cur}, {c}, {alpha}
    fmt: str | None    # a NUMBER_FORMATS name, or None for text
    note: str          # plain words; a formal definition, if any, in brackets at the end
    group: str         # business | contract | parts | run


def _col(name, header, fmt, note, group="business") -> Column:
    return Column(name, header, fmt, note, group)


#: The comparison sheet's columns, left to right (the per-contract ones repeat for each contract).
COLUMNS: tuple[Column, ...] = (
    _col("variant", "Variant", None,
         "The run's short name: base (the input as it is), a variant asked for (its short label; every cell "
         "it changes is in column 'Edits' and sheet inputs_changed), a built-in variant of a signed contract "
         "(not signed:<contract>: offered but not signed, the model decides whether to sign it; optimum "
         "level:<contract>: signed at the level the model would choose), or flex:<contract> (the base with "
         "that contract's lock-in removed)."),
    _col("expected_cost", "Expected cost ({cur})", "money",
         "The cost to expect, averaged over the demand scenarios by their probabilities: cash paid out plus "
         "the notional value of the work left undone (the model's objective)."),
    _col("saving", "Saving vs base ({cur}; + = cheaper)", "money",
         "Saving vs base (positive = cheaper than the base): the base's expected cost minus this row's. "
         "Positive: this variant costs less than the base (it saves); negative: it costs more."),
    _col("cash_cost", "Cash cost ({cur})", "money",
         "Expected cash cost: what is paid out, averaged over the scenarios: fixed contract costs + staff + onboarding. It leaves "
         "out the notional value of work left undone."),
    _col("worst_scenario_cost", "Worst case ({cur})", "money",
         "Worst scenario cost: the total cost (cash and lost value) in the scenario where it is highest "
         "(column 'Worst scenario' names it)."),
    _col("worst_scenario", "Worst scenario", None, "The scenario in which this row costs the most."),
    _col("cvar", "CVaR {alpha} ({cur})", "money",
         "The average cost over the worst {tail} of probability (the bad outcomes). When the worst scenario "
         "alone has a probability of at least {tail}, that tail lies inside it and CVaR equals the worst "
         "scenario cost. (Conditional value at risk at level {level}: scenario costs taken from the highest "
         "down until {tail} of probability is filled, the last one in part.)"),
    _col("expected_completion_share", "Work completed", "share",
         "Expected share of work completed: of all the tasks demanded over the weeks, regions and work types, the share completed, averaged "
         "over the scenarios."),
    _col("signed:<c>", "{c} signed", None,
         "Yes if the contract is signed in this row's plan (a signed contract in the input is always Yes; an "
         "option is Yes when the plan signs it)."),
    _col("committed_fte:<c>", "{c} level (FTE)", "fte",
         "Committed level: the FTE paid for every week of the contract's initial term, used or not (0 when it has none).",
         "contract"),
    _col("utilisation:<c>", "{c} utilisation", "share",
         "Expected utilisation: hours spent on tasks / hours paid for, over the whole contract, averaged over the scenarios (blank "
         "when never staffed).", "contract"),
    _col("cost_fixed", "Fixed costs ({cur})", "money", "Fixed costs of the contracts signed.", "parts"),
    _col("cost_contract_staff", "Contract staff ({cur})", "money",
         "Expected cost of contract staff: price per FTE-week x FTE-weeks paid.", "parts"),
    _col("cost_regional_staff", "Regional staff ({cur})", "money",
         "Expected cost of the regional sources' staff (EHOs, redeployed staff, new hires).", "parts"),
    _col("cost_onboarding", "Onboarding ({cur})", "money", "Expected cost of onboarding new starters.", "parts"),
    _col("cost_lost", "Lost value ({cur})", "money",
         "Notional lost value: what the tasks left undone are worth (value per task x tasks lost), averaged over the scenarios: "
         "not money spent.", "parts"),
    _col("kind", "Kind", None,
         "Kind of run: where the row comes from: base; asked (by --vary, the input's experiments sheet or a "
         "--variants file); built-in (of a signed contract); flexibility (a contract's lock-in removed).", "run"),
    _col("edits", "Edits", None,
         "Every input cell this row changes (its full edit), as contract:column=value (settings: key=value), joined by '&'; "
         "sheet inputs_changed has each cell's address, old and new value.", "run"),
    _col("status", "Status", None,
         "The solver's status. optimal: solved exactly; feasible: a plan within the time limit, maybe not the best; infeasible: no "
         "plan meets every constraint; invalid: the edited input does not pass validation; not built: the "
         "variant does not apply; error: the run failed. Column 'Message' says why.", "run"),
    _col("message", "Message", None, "Why a run did not solve, in words.", "run"),
    _col("mip_gap", "MIP gap", "number",
         "How far from proven best the solution may be (0 = proven optimal; every comparison run asks for 0).",
         "run"),
    _col("seconds", "Seconds", "number", "Solve time: seconds the run took (build and solve).", "run"),
)
BY_NAME = {c.name: c for c in COLUMNS}

#: Kinds of run in words (comparison sheet) and back.
KIND_WORDS = {"base": "base", "variant": "asked (--vary)", "experiment": "asked (experiments sheet)",
              "variants_file": "asked (--variants file)", "builtin": "built-in", "flex": "flexibility"}
KIND_OF_WORDS = {v: k for k, v in KIND_WORDS.items()}


def currency_text(currency: str) -> str:
    """The currency as a reader sees it: GBP -> £, EUR -> €, USD -> $, else the label."""
    label = _check_currency(currency)
    return _CURRENCY_SYMBOLS.get(label, label)


def alpha_text(alpha: float) -> str:
    """0.9 -> '90%'."""
    return f"{alpha * 100:g}%"


def tail_text(alpha: float) -> str:
    """0.9 -> '10%' (the probability in the tail)."""
    return f"{round((1 - alpha) * 100, 6):g}%"


def columns_for(contracts: list[str]) -> list[tuple[str, Column, str | None]]:
    """(name, column, contract) for every column of the comparison sheet, in order: the per-contract
    columns grouped contract by contract."""
    out = []
    for col in COLUMNS:
        if col.name == "signed:<c>":
            for c in contracts:
                for per in ("signed:<c>", "committed_fte:<c>", "utilisation:<c>"):
                    out.append((per.replace("<c>", c), BY_NAME[per], c))
        elif "<c>" in col.name:
            continue
        else:
            out.append((col.name, col, None))
    return out


def header_of(col: Column, currency: str, alpha: float, contract: str | None = None) -> str:
    return col.header.format(cur=currency_text(currency), alpha=alpha_text(alpha), c=contract or "")


def note_of(col: Column, alpha: float, contract: str | None = None) -> str:
    text = col.note.format(tail=tail_text(alpha), level=f"{alpha:g}")
    return f"{contract}: {text}" if contract else text


def _pattern(col: Column) -> re.Pattern:
    parts = re.split(r"(\{cur\}|\{alpha\}|\{c\})", col.header)
    rx = "".join({"{cur}": r".+?", "{alpha}": r"[0-9.]+%", "{c}": r"(?P<c>.+)"}.get(p, re.escape(p)) for p in parts)
    return re.compile(f"^{rx}$")


_PATTERNS = [(col, _pattern(col)) for col in COLUMNS]


def name_of_header(header: str) -> str | None:
    """The column name of a comparison header (``'national_2020 signed'`` -> ``signed:national_2020``);
    None when it is not one of :data:`COLUMNS`."""
    text = str(header).strip()
    for col, rx in _PATTERNS:
        m = rx.match(text)
        if m:
            return col.name.replace("<c>", m.group("c")) if "<c>" in col.name else col.name
    return None


# ------------------------------------------------------------------ the measures in words
#: key -> (the measure in words, a plain note; the formal definition in brackets)
MEASURES = {
    "rp": ("Expected cost of the base (RP)",
           "What the base is expected to cost with one plan made for every scenario at once: contracts and early "
           "decisions the same in all, later ones adapted once the scenario is known. (RP: the optimum of the "
           "stochastic problem, the recourse problem.)"),
    "ws": ("Expected cost if the future were known (WS)",
           "What the base would cost on average if the scenario were known from week 1 and planned for alone. "
           "(WS, wait-and-see: each scenario solved alone, weighted by its probability.)"),
    "evpi": ("Value of knowing the future (EVPI)",
             "What knowing the future from week 1 would have been worth: the base's expected cost minus the "
             "cost if the future were known. (EVPI = RP - WS, the expected value of perfect information.)"),
    "ev": ("Cost of a plan for average demand, as it expects (EV)",
           "What a plan made for the average demand expects to cost if demand were that average every week; "
           "no scenario is the average, so this cost does not happen. (EV: the optimum of the expected-value "
           "problem, one scenario with the probability-weighted demand.)"),
    "eev": ("Cost of the average-demand plan under real uncertainty (EEV)",
            "What the plan made for average demand really costs when demand turns out as the scenarios say: its "
            "contracts, committed levels and the decisions taken before the scenario is known are kept, the rest "
            "adapts to each scenario. (EEV: the stochastic problem with the expected-value problem's first stage "
            "fixed: contracts signed y, committed levels L and the non-anticipative decisions of formulation.md "
            "eq 14.)"),
    "vss": ("Value of planning for uncertainty (VSS)",
            "How much planning for the scenarios saves against planning for the average demand. (VSS = EEV - RP, "
            "the value of the stochastic solution.)"),
    "flex_value:<c>": ("Value of {c}'s flexibility",
                       "How much the base would save if {c} had no lock-in (no initial term, no notice, no ramp "
                       "limits): the base's expected cost minus that of run flex:{c} (its edits in inputs_changed). "
                       "0 when the option is never needed or its lock-in does not bind: column reason says which."),
    "flex_value:all": ("Value of every contract's flexibility",
                       "How much the base would save if no contract had a lock-in: the base's expected cost minus "
                       "that of run flex:all."),
    "cvar_alpha": ("CVaR level",
                   "The level of the CVaR column of sheet comparison: CVaR {level} is the average cost over the "
                   "worst {tail} of probability."),
    "ws:<w>": ("Cost if scenario {w} were known in advance",
               "The optimum if scenario {w} were certain from week 1 (probability {p} in the base)."),
}


def measure_words(key: str) -> tuple[str, str]:
    """(the measure in words, its plain note) for a measures key; placeholders filled."""
    if key in MEASURES:
        return MEASURES[key]
    stem, _, arg = key.partition(":")
    words, note = MEASURES.get(f"{stem}:<c>") or MEASURES.get(f"{stem}:<w>") or (key, "")
    return words.format(c=arg, w=arg), note.replace("{c}", arg).replace("{w}", arg)


# ------------------------------------------------------------------ the tidy tables' other columns
#: Notes for columns of negotiation, contract_use, break_even_runs, scenario_costs and inputs_changed
#: that capacity.analysis.compare.negotiation.NOTES does not explain.
TABLE_NOTES = {
    "variant": "The run's short name, as in sheet comparison.",
    "kind": "Where the row comes from (base, variant, experiment, variants_file, builtin, flex).",
    "contract": "The contract the row is about (for a variant: the one whose price the break-even varies).",
    "status": "The solver's status of the variant's run (optimal = solved exactly).",
    "expected_cost": "Expected cost of the run (money; cash plus notional lost value).",
    "base_expected_cost": "Expected cost of the base (money).",
    "term_weeks_base": "The contract's initial term (min_term_weeks) in the base, weeks.",
    "term_weeks_variant": "The contract's initial term in the variant, weeks.",
    "break_even_status": "found: a break-even price was found by re-solving; none: there is none (notes say "
                         "why); not converged; not computed.",
    "break_even_solves": "How many re-solves the break-even search took (sheet break_even_runs lists them).",
    "break_even_method": "How the break-even price was found, with its tolerance.",
    "base_cost_per_fte_week_used": "The same contract's cost per FTE-week used in the base.",
    "notes": "Why a figure is blank, and anything else to know about the row.",
    "signed": "Yes if the contract is signed in this run.",
    "committed_fte": "The committed level (FTE) paid for every week of the initial term.",
    "expected_utilisation": "Hours on tasks / hours paid, over the contract, averaged over the scenarios.",
    "step": "0: the variant's own run; 1, 2, ...: each re-solve at a trial price.",
    "role": "What the point is: the variant's own run, or a re-solve.",
    "price": "The contract price per FTE-week tried (money).",
    "cost_minus_base": "The re-solved expected cost minus the base's (negative: still cheaper than the base).",
    "scenario": "A demand scenario of the input.",
    "probability": "The scenario's probability.",
    "fixed": "Fixed contract costs (money).",
    "contract_staff": "Contract staff cost in the scenario (money).",
    "regional_staff": "Regional staff cost in the scenario (money).",
    "onboarding": "Onboarding cost in the scenario (money).",
    "lost_value": "Notional value of the tasks left undone in the scenario (money).",
    "total": "Total cost if the scenario happens (money).",
    "completion_share": "Share of the tasks demanded that are completed in the scenario.",
    "sheet": "The input sheet edited.",
    "cell": "The input cell edited (sheet!cell).",
    "id": "The row edited (its id; settings: the key).",
    "column": "The column edited.",
    "old_value": "The cell's value in the input (blank: empty).",
    "new_value": "The value the variant writes (blank: cleared).",
    "value_read": "The value the validated variant holds for the cell (confirms the edit took).",
    "note": "Why the edit is made (built-in and flexibility variants).",
}


# ------------------------------------------------------------------ the frontier sheet
#: The frontier sheet's columns (capacity.analysis.compare.frontier.COLUMNS), left to right.
FRONTIER: tuple[Column, ...] = (
    _col("variant", "Variant", None, "The run, as in sheet comparison (base: the input as it is)."),
    _col("risk_weight", "Risk weight (0 to 1)", "number",
         "settings risk_weight of the run: what its plan minimises, (1 - weight) x expected cost + weight x CVaR: "
         "0 = the expected cost alone (the plain plan), 1 = the CVaR alone."),
    _col("cvar_alpha", "CVaR level", "share",
         "settings cvar_alpha of the run: its CVaR is the average cost over the worst (1 - level) of probability. "
         "The level the plan was made for, not --cvar."),
    _col("expected_cost", "Expected cost ({cur})", "money",
         "The cost to expect, averaged over the scenarios by their probabilities (cash plus the notional value of "
         "work left undone), as in sheet comparison."),
    _col("cvar", "CVaR at its level ({cur})", "money",
         "The average cost over the worst (1 - level) of probability: the bad outcomes this plan protects against "
         "(from its scenario costs, sheet scenario_costs)."),
    _col("worst_scenario", "Worst scenario", None, "The scenario in which this plan costs the most."),
    _col("worst_scenario_cost", "Worst scenario cost ({cur})", "money",
         "The plan's total cost (cash and lost value) in its worst scenario."),
    _col("extra_expected_cost", "Extra expected cost vs weight 0 ({cur})", "money",
         "What the protection costs: this plan's expected cost minus the risk weight 0 plan's (the sheet's note "
         "names that run)."),
    _col("cvar_reduction", "CVaR removed vs weight 0 ({cur})", "money",
         "The risk weight 0 plan's CVaR (at this row's level) minus this plan's: how much less the bad outcomes "
         "cost (positive: less exposed)."),
    _col("cost_per_cvar_removed", "Expected {cur} paid per {cur} of CVaR removed", "number",
         "Extra expected cost / CVaR removed: the average price of each unit of protection (blank when no CVaR "
         "is removed)."),
    _col("risk_objective", "Risk-adjusted cost minimised ({cur})", "money",
         "(1 - weight) x expected cost + weight x CVaR: the optimum the solver found for this plan's objective; "
         "the expected cost at risk weight 0."),
)
FRONTIER_BY_NAME = {c.name: c for c in FRONTIER}
_FRONTIER_PATTERNS = [(col, _pattern(col)) for col in FRONTIER]


def name_of_frontier_header(header: str) -> str | None:
    """The column name of a frontier header; None when it is not one of :data:`FRONTIER`."""
    text = str(header).strip()
    return next((col.name for col, rx in _FRONTIER_PATTERNS if rx.match(text)), None)
