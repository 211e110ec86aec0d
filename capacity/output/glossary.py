"""The output workbook's vocabulary, declared once: every column of every tidy
table (``plan``, ``work``, ``coverage``, ``contracts``, ``shadow_prices``,
``checks``) and every key of ``summary``, in words, with its unit and formula.

The ``read_me_first`` sheet prints it as its glossary (:func:`glossary_lines`);
sheet headers take their comments from :func:`header_note`. Formulas follow
formulation.md "Reported figures" and models/README.md "Reported tables";
symbols: ``H = hours_per_fte_week x productive_share`` (productive hours per
FTE-week), ``a = (minutes_per_task + handoff_minutes x (1 - success_rate) x
escalation_share) / 60`` (hours per attempted task), ``p`` success_rate,
``e`` escalation_share, ``pi`` a scenario's probability.

A name used by several tables with different meanings (``status``,
``completed``, ``lost``, ``fixed_cost``) has one :class:`Term` whose
``per_table`` says what it means in each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Units of measure (``money`` is written as the workbook's currency).
UNITS = ("", "week", "date", "FTE", "hours", "tasks", "share", "money", "money per hour", "money per task",
         "money per FTE-week", "number", "count", "text", "Yes/No")

#: What the scenario ``expected`` means, wherever it appears.
EXPECTED_MEANING = ("Rows with scenario 'expected' are probability-weighted: each quantity is the sum over the "
                    "scenarios of probability x its value; their shares (utilisation, completion share) are "
                    "ratios of the weighted sums, not weighted ratios. They are averages, not a rota: staff "
                    "to a scenario's own rows.")
#: How to read a shadow price.
SHADOW_MEANING = ("Shadow prices are conditional on the scenario: the value of one unit more if that scenario "
                  "happens (the LP's dual divided by the scenario's probability; for a plan with contracts to "
                  "sign, from the LP with the signing fixed at the plan's choice). Zeros are omitted.")


@dataclass(frozen=True)
class Term:
    """One column (or summary key): its header in words, unit and formula."""

    name: str
    words: str
    unit: str
    formula: str
    tables: tuple[str, ...]
    per_table: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"{self.name}: unknown unit {self.unit!r}")
        unknown = set(self.per_table) - set(self.tables)
        if unknown:
            raise ValueError(f"{self.name}: per_table names tables it is not in: {sorted(unknown)}")

    def meaning(self, table: str | None = None) -> str:
        """The formula, with what the name means in ``table`` when that differs."""
        extra = self.per_table.get(table) if table else None
        if extra:
            return f"{self.formula} {extra}".strip()
        if self.per_table and table is None:
            return " ".join([self.formula] + [f"{t}: {s}" for t, s in self.per_table.items()]).strip()
        return self.formula


_PLAN, _WORK, _COV, _CON, _SHADOW, _CHECKS, _SUM = ("plan", "work", "coverage", "contracts", "shadow_prices",
                                                      "checks", "summary")
_RISK = "risk"
_SCENARIO_TABLES = (_PLAN, _WORK, _COV, _SHADOW)

TERMS: tuple[Term, ...] = (
    # ---- keys shared by the tidy tables ------------------------------------------------------------
    Term("scenario", "Scenario", "text", "A demand scenario of the scenarios sheet, or 'expected' "
         "(probability-weighted over the scenarios).", _SCENARIO_TABLES + (_RISK,),
         per_table={_RISK: "One row per scenario of the scenarios sheet."}),
    Term("week", "Week", "week", "Planning week 1..weeks; week 1 starts on settings start_date.",
         _SCENARIO_TABLES),
    Term("week_start", "Week starting", "date", "start_date + 7 days x (week - 1).", (_PLAN,)),
    Term("region", "Region", "text", "A region of the regions sheet; blank for a contract (national capacity "
         "that serves every region).", _SCENARIO_TABLES),
    Term("unit", "Unit (contract or source)", "text", "A contract, or a regional source (eho, redeployed, "
         "hire) in its region.", (_PLAN, _WORK, _SHADOW)),
    Term("kind", "Kind of source", "text", "The source's kind: contractor, eho, redeployed or hire.", (_PLAN,)),
    Term("phase", "Phase (history or plan)", "text", "history for a week before settings plan_from_week (what "
         "happened: its staff are the history sheet's, its costs sunk), plan from plan_from_week on (the "
         "plan's decisions and the cost to go).", (_PLAN, _WORK, _COV)),
    Term("work_type", "Work type", "text", "A work type of the work_types sheet.", (_WORK, _COV, _SHADOW)),
    # ---- plan ---------------------------------------------------------------------------------------
    Term("fte", "Headcount (FTE)", "FTE", "Staff in post in the week, in full-time equivalents: N[c,t,w] for a "
         "contract, F[s,r,t,w] for a regional source.", (_PLAN,)),
    Term("onboarded", "Starters (FTE)", "FTE", "Staff added in the week: Ninc for a contract, O for a regional "
         "source. Where adding and removing in the same week cost the same, only the net change is shown "
         "(models/README.md#tie-break).", (_PLAN,)),
    Term("exits", "Leavers (FTE)", "FTE", "Staff removed in the week: Ndec for a contract, X for a regional "
         "source; fte[t] = fte[t-1] + onboarded - exits.", (_PLAN,)),
    Term("paid_hours", "Paid hours", "hours", "hours_per_fte_week x fte.", (_PLAN,)),
    Term("productive_hours", "Productive hours", "hours", "H x fte, H = hours_per_fte_week x productive_share.",
         (_PLAN,)),
    Term("task_hours", "Hours on tasks", "hours", "Sum over work types of a x attempted, "
         "a = (minutes_per_task + handoff_minutes x (1 - p) x e) / 60.", (_PLAN,)),
    Term("training_hours", "Training hours", "hours", "Own training (training_hours x onboarded) plus training "
         "given as trainer (trainees' training_hours x their onboarded).", (_PLAN,)),
    Term("supervision_hours", "Supervision hours", "hours", "Supervision given: sum over the sources it "
         "supervises of supervision_ratio x H x their fte. task + training + supervision <= productive hours "
         "(eq 10/11).", (_PLAN,)),
    Term("utilisation", "Utilisation", "share", "task_hours / paid_hours (blank where nobody is paid): the "
         "auditors' figure.", (_PLAN,)),
    Term("cost", "Staff cost", "money", "cost_per_fte_week x fte, plus onboarding_cost x onboarded for a "
         "regional source; a contract's fixed cost is on the contracts sheet.", (_PLAN,)),
    # ---- work and coverage --------------------------------------------------------------------------
    Term("attempted", "Tasks attempted", "tasks", "A[u,r,k,t,w]: tasks the unit attempts.", (_WORK,)),
    Term("completed", "Tasks completed", "tasks", "p x attempted.", (_WORK, _COV),
         per_table={_WORK: "By this unit.", _COV: "Summed over every unit."}),
    Term("escalated", "Tasks escalated", "tasks", "(1 - p) x e x attempted: failures passed on to the work type "
         "escalates_to, the same week.", (_WORK,)),
    Term("lost", "Tasks lost", "tasks", "Tasks that end undone.", (_WORK, _COV),
         per_table={_WORK: "(1 - p) x (1 - e) x attempted: failures not escalated.",
                    _COV: "Unattempted tasks plus failures not escalated: demand - completed - escalated "
                          "onward."}),
    Term("demand", "Tasks demanded", "tasks", "cases x tasks_per_case + escalated failures arriving from other "
         "work types (eq 12).", (_COV,)),
    Term("completion_share", "Share completed", "share", "completed / demand (1 where demand = 0).", (_COV,)),
    # ---- contracts ----------------------------------------------------------------------------------
    Term("contract", "Contract", "text", "A contract of the contracts sheet.", (_CON,)),
    Term("source", "Contractor source", "text", "The contractor source whose staff the contract provides.",
         (_CON,)),
    Term("status", "Status", "text", "", (_CON, _SUM),
         per_table={_CON: "signed before the plan (status signed in the input), signed by the plan (an option "
                          "the plan signs) or offered, not signed.",
                    _SUM: "The solver's status: optimal, or feasible (a plan within the MIP gap or time "
                          "limit)."}),
    Term("signed", "Signed", "Yes/No", "y[c] = 1: the contract is signed (a costless option never staffed is "
         "reported unsigned, models/README.md#signing).", (_CON,)),
    Term("committed_fte", "Committed level (FTE)", "FTE", "L[c]: the level paid for every week of the initial "
         "term (min_term_weeks), used or not; 0 when there is no initial term.", (_CON,)),
    Term("fixed_cost", "Fixed contract cost", "money", "fixed_cost x signed.", (_CON, _SUM),
         per_table={_CON: "Of this contract.", _SUM: "Summed over the contracts (cash, the same in every "
                    "scenario)."}),
    Term("expected_cost", "Expected contract cost", "money", "fixed_cost + sum over weeks of the expected rows' "
         "cost (cost_per_fte_week x fte).", (_CON,)),
    Term("expected_paid_hours", "Expected paid hours", "hours", "Sum over weeks of the expected rows' paid_hours.",
         (_CON,)),
    Term("expected_task_hours", "Expected hours on tasks", "hours", "Sum over weeks of the expected rows' "
         "task_hours.", (_CON,)),
    Term("expected_utilisation", "Expected utilisation", "share", "expected_task_hours / expected_paid_hours "
         "(blank when never staffed).", (_CON,)),
    Term("lock_in_shadow_price", "Cost of the lock-in per FTE-week", "money per FTE-week", "Sum of pi x the "
         "lock_in shadow prices over the initial term, / min_term_weeks: the expected saving per FTE-week if the "
         "committed level could be one FTE lower (negative: one FTE higher would save).", (_CON,)),
    # ---- shadow prices ------------------------------------------------------------------------------
    Term("constraint", "Constraint", "text", "The constraint family: hours (eq 10/11), demand (eq 12) or lock_in "
         "(eq 4).", (_SHADOW,)),
    Term("value", "Shadow price", "money", "hours: the saving from one more productive hour of the unit in the "
         "region-week (money per hour); demand: the marginal cost of one more task (money per task); lock_in: "
         "the saving if the locked level that week could be one FTE lower (money per FTE-week). Conditional "
         "on the scenario.", (_SHADOW,)),
    # ---- risk (v2 section 4) ------------------------------------------------------------------------
    Term("probability", "Probability", "share", "The scenario's probability (scenarios sheet).", (_RISK,)),
    Term("scenario_cost", "Cost if this scenario happens", "money", "The cost to go if the scenario happens: "
         "fixed contract costs + its staff, onboarding and lost-value costs from settings plan_from_week on "
         "(lost value is notional).", (_RISK,)),
    Term("excess_over_var", "Excess over the value at risk", "money", "max(0, scenario_cost - value_at_risk): "
         "z of the CVaR (v2 section 4); the model's z when risk_weight > 0.", (_RISK,)),
    Term("in_tail", "In the worst 1 - cvar_alpha", "text", "yes: the scenario's cost counts in the CVaR; partly: "
         "only part of its probability is in the worst 1 - cvar_alpha (its cost is the value at risk); no.",
         (_RISK,)),
    Term("risk_adjusted_probability", "Risk-adjusted probability", "share", "The weight the plan gives the "
         "scenario: (1 - risk_weight) x probability + the dual of its CVaR row; = probability when "
         "risk_weight is 0. The shadow prices are the LP's duals divided by it (conditional on the scenario).",
         (_RISK,)),
    # ---- checks -------------------------------------------------------------------------------------
    Term("check", "Check", "text", "A rule of the model recomputed from this workbook's tables and the input.",
         (_CHECKS,)),
    Term("equation", "Equation", "text", "The formulation's equation the check re-tests (or 'objective').",
         (_CHECKS,)),
    Term("rows_checked", "Rows checked", "count", "How many table rows the check tested.", (_CHECKS,)),
    Term("largest_violation", "Largest violation", "number", "max |lhs - rhs| / max(1, |rhs|) for an equation, "
         "max(0, lhs - rhs) / max(1, |rhs|) for an inequality.", (_CHECKS,)),
    Term("where", "Where", "text", "The row of the largest violation (scenario, week, region, unit and, for a "
         "limit, the input cell that sets it).", (_CHECKS,)),
    Term("tolerance", "Tolerance", "number", "A check passes when its largest violation is at most this.",
         (_CHECKS,)),
    Term("result", "Result", "text", "pass or fail.", (_CHECKS,)),
    # ---- summary keys -------------------------------------------------------------------------------
    Term("objective", "Objective (the cost minimised)", "money", "The optimum of formulation.md's objective: "
         "fixed costs + expected staff and onboarding costs + expected lost value, from settings plan_from_week "
         "on (the cost to go; the weeks before are sunk_cost). With risk_weight > 0 (v2 section 4): "
         "(1 - risk_weight) x expected_total_cost + risk_weight x cvar.", (_SUM,)),
    Term("expected_staff_cost", "Expected staff cost", "money", "Sum over scenarios of pi x the staff cost "
         "(cost_per_fte_week x fte) of contracts and regional sources.", (_SUM,)),
    Term("expected_onboarding_cost", "Expected onboarding cost", "money", "Sum over scenarios of pi x "
         "onboarding_cost x onboarded.", (_SUM,)),
    Term("expected_lost_value", "Expected lost value (notional)", "money", "Sum over scenarios of pi x "
         "value_per_task x lost tasks: what the work left undone is worth, not money spent.", (_SUM,)),
    Term("expected_cash_cost", "Expected cash cost", "money", "fixed_cost + expected_staff_cost + "
         "expected_onboarding_cost: what is paid out.", (_SUM,)),
    Term("expected_total_cost", "Expected total cost", "money", "expected_cash_cost + expected_lost_value "
         "(= objective when risk_weight is 0).", (_SUM,)),
    Term("expected_completion_share", "Expected share completed", "share", "Expected completed tasks / expected "
         "demand, over every region, work type and week.", (_SUM,)),
    Term("mip_gap", "MIP gap", "share", "(objective - best bound) / objective: how far from proven optimal the "
         "plan may be (0 = optimal).", (_SUM,)),
    Term("currency", "Currency", "text", "settings currency: the unit of every money figure.", (_SUM,)),
    Term("sunk_cost", "Sunk cost (history)", "money", "Every cost of the weeks before settings plan_from_week "
         "(staff, onboarding, expected lost value) and the fixed costs of contracts signed that started before "
         "it: reported, not part of the objective (0 without history).", (_SUM,)),
    Term("cost_to_go", "Cost to go", "money", "The expected cost from plan_from_week on (= "
         "expected_total_cost, = objective when risk_weight is 0); with the sunk cost, the cost of the whole "
         "horizon.", (_SUM,)),
    Term("risk_weight", "Risk weight (lambda)", "share", "settings risk_weight: the CVaR's weight in the "
         "objective (0: the expected cost only).", (_SUM,)),
    Term("cvar_alpha", "CVaR level (alpha)", "share", "settings cvar_alpha: the CVaR is the expected cost over the "
         "worst 1 - cvar_alpha of probability.", (_SUM,)),
    Term("cvar", "CVaR of the cost to go", "money", "The expected cost to go over the worst 1 - cvar_alpha of "
         "probability (sheet risk: min over v of v + sum probability x max(0, scenario_cost - v) / "
         "(1 - cvar_alpha)).", (_SUM,)),
    Term("value_at_risk", "Value at risk", "money", "eta: the cvar_alpha-quantile of the scenario costs (the "
         "model's eta when risk_weight > 0); the CVaR = value_at_risk + sum probability x excess_over_var / "
         "(1 - cvar_alpha).", (_SUM,)),
    Term("worst_scenario", "Worst scenario", "text", "The scenario with the largest scenario_cost.", (_SUM,)),
    Term("worst_scenario_cost", "Worst scenario's cost", "money", "Its scenario_cost (sheet risk).", (_SUM,)),
    Term("expected_cost:<kind>", "Expected cost of a kind of source", "money", "Sum of the expected rows' cost "
         "over the units of that kind (contractor, eho, redeployed, hire); fixed contract costs excluded.",
         (_SUM,)),
)

GLOSSARY: dict[str, Term] = {t.name: t for t in TERMS}
assert len(GLOSSARY) == len(TERMS), "one Term per name"


def term(name: str) -> Term | None:
    """The Term of a column or summary key (``expected_cost:eho`` -> ``expected_cost:<kind>``)."""
    if name in GLOSSARY:
        return GLOSSARY[name]
    if ":" in name:
        return GLOSSARY.get(name.split(":", 1)[0] + ":<kind>")
    return None


def unit_text(unit: str, currency: str = "") -> str:
    """A unit as a reader sees it: ``money`` becomes the currency (``GBP``), ``money per hour`` ``GBP per hour``."""
    if unit.startswith("money") and currency:
        return currency + unit[len("money"):]
    return unit


def header_note(column: str, table: str | None = None, currency: str = "") -> str:
    """One line for a header comment: ``Headcount (FTE) [FTE]: Staff in post ...``; '' if unknown."""
    t = term(column)
    if t is None:
        return ""
    unit = unit_text(t.unit, currency)
    return f"{t.words}" + (f" [{unit}]" if unit and unit != "text" else "") + f": {t.meaning(table)}"


def glossary_lines(currency: str = "") -> list[str]:
    """One line per Term, in declaration order: ``fte (plan): Headcount (FTE) [FTE]. Staff in post ...``."""
    out = []
    for t in TERMS:
        unit = unit_text(t.unit, currency)
        unit = f" [{unit}]" if unit and unit != "text" else ""
        out.append(f"{t.name} ({', '.join(t.tables)}): {t.words}{unit}. {t.meaning()}")
    return out
