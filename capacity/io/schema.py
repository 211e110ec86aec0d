"""The one declarative schema of the input workbook (spec: workbook.md).

Every sheet, column, type, default, range, id reference and enumeration is
stated here once. It drives:

- :mod:`capacity.io.validate` (reading and checking each cell),
- :mod:`capacity.io.workbook` (the blank template, its drop-down lists and the
  README sheet),
- ``docs/workbook.md`` (the generated column reference, ``python -m capacity.docs``).

A column's rule is phrased once, by :meth:`Column.describe`, and the same words
appear in error messages, in the README sheet and in the docs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from capacity.io.inputs import CONTRACTOR, KINDS, REGIONAL_KINDS, STATUSES

# Column types
ID = "id"  # text identifier, trimmed, case-sensitive
TEXT = "text"
INT = "int"
NUMBER = "number"
DATE = "date"
ENUM = "enum"
REF = "ref"  # an id of another sheet

# Text of this many characters or more is refused: Excel's cell limit is
# 32,767, and a writer may cut longer text there silently.
MAX_TEXT = 32_767

# Numeric limits: what HiGHS solves reliably (models/README.md#numeric-range).
# A value outside them is refused by cell, never clipped. FTE levels are capped
# because the contract indicator row N <= max_fte*y holds only to HiGHS's
# integrality tolerance (1e-6): max_fte * 1e-6 FTE could be staffed unsigned.
MAX_FTE = 1e6  # any FTE level, cap or ramp
MAX_CASES = 1e8  # new cases per region, scenario and week
MAX_TASKS_PER_CASE = 1e4
MAX_RATE = 1e7  # money per FTE-week, per FTE onboarded, per lost task
MAX_FIXED_COST = 1e12
MAX_WEEKS = 520  # any count of weeks
MAX_MINUTES = 1e5  # minutes per task or handoff
MIN_MINUTES = 0.01  # below this, HiGHS would drop the hours coefficient as zero
# The expected cost of losing all demand, plus forced contract costs, may not
# exceed this: objective values beyond it leave too few significant digits
# against HiGHS's tolerances (its infinity is 1e20).
MAX_OBJECTIVE = 1e13
# Above these a value is solvable but unusual: validation warns, by cell.
UNUSUAL_FTE = 1e5
UNUSUAL_RATE = 1e6
UNUSUAL_CASES = 1e7

# Sheet layouts
TABLE = "table"  # header row, one row per record
SETTINGS = "settings"  # two columns key, value
WIDE = "wide"  # key columns, then one column per week 1..weeks

# Reference filters: which rows of the referenced sheet qualify
REGIONAL = "regional"
CONTRACTOR_ONLY = "contractor"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str
    required: bool = False
    default: Any = None  # value for a blank cell in an optional column
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[str, ...] = ()
    ref: str | None = None  # sheet whose key this column references
    ref_filter: str | None = None  # REGIONAL | CONTRACTOR_ONLY
    blank: str = ""  # what a blank cell means, in words, if not the default
    default_doc: str = ""  # default in words when it is not a constant
    max_chars: int | None = None  # TEXT: at most this many printable characters
    # limits of what is solved reliably (models/README.md#numeric-range), beyond the rule's own bounds
    max_value: float | None = None
    min_value: float | None = None
    warn_above: float | None = None  # merely unusual above this: a warning, by cell

    # -- words -------------------------------------------------------------
    def describe(self) -> str:
        """The rule in words: 'a number >= 0', 'a whole number from 1 to 520'."""
        if self.type in (ID, TEXT):
            return f"text of at most {self.max_chars} printable characters" if self.max_chars else "text"
        if self.type == DATE:
            return "a date"
        if self.type == ENUM:
            return "one of " + ", ".join(self.choices)
        if self.type == REF:
            what = {REGIONAL: "a regional source id", CONTRACTOR_ONLY: "a contractor source id"}
            return what.get(self.ref_filter, f"an id from sheet {self.ref}")
        noun = "a whole number" if self.type == INT else "a number"
        lo = (">=", self.ge) if self.ge is not None else (">", self.gt) if self.gt is not None else None
        hi = ("<=", self.le) if self.le is not None else ("<", self.lt) if self.lt is not None else None
        if lo and hi and lo[0] == ">=" and hi[0] == "<=":
            return f"{noun} from {_fmt(lo[1])} to {_fmt(hi[1])}"
        parts = [f"{bound[0]} {_fmt(bound[1])}" for bound in (lo, hi) if bound]
        return f"{noun} " + " and ".join(parts) if parts else noun

    def limits_text(self) -> str:
        """The reliability limits in words: 'at most 1,000,000'; '' if none."""
        parts = []
        if self.min_value is not None:
            parts.append(f"at least {_fmt(self.min_value)}")
        if self.max_value is not None:
            parts.append(f"at most {_fmt(self.max_value)}")
        return " and ".join(parts)

    def rule_text(self) -> str:
        """describe() plus the reliability limits (README sheet and docs)."""
        limits = self.limits_text()
        text = f"{self.describe()}, {limits}" if limits else self.describe()
        return text + (f" (unusual above {_fmt(self.warn_above)})" if self.warn_above is not None else "")

    def within_limits(self, value: float) -> bool:
        return not ((self.max_value is not None and value > self.max_value)
                    or (self.min_value is not None and 0 < value < self.min_value))

    def default_text(self) -> str:
        if self.required:
            return "required"
        if self.default_doc:
            return self.default_doc
        if self.blank:
            return f"blank = {self.blank}"
        if self.default is None:
            return "blank"
        return _fmt(self.default)

    # -- checks --------------------------------------------------------------
    def in_range(self, value: float) -> bool:
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.ge is not None and value < self.ge:
            return False
        if self.gt is not None and value <= self.gt:
            return False
        if self.le is not None and value > self.le:
            return False
        if self.lt is not None and value >= self.lt:
            return False
        return True


@dataclass(frozen=True)
class Sheet:
    name: str
    layout: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # columns that identify a row
    min_rows: int = 0
    # WIDE sheets: the rule for each week cell
    week_column: Column | None = None
    # What a planner does on this sheet, in one line (the README sheet's numbered steps; the columns
    # to fill are listed from ``columns``, never restated here)
    step: str = ""
    # an optional sheet may be left out of the workbook (a version 1 workbook has no history)
    optional: bool = False

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


fmt_number = _fmt  # the schema's way of writing a number in words (1,000,000)


def _limit(name: str, doc: str) -> Column:
    return Column(name, NUMBER, doc, ge=0, max_value=MAX_FTE, blank="no limit")


SETTINGS_SHEET = Sheet(
    "settings",
    SETTINGS,
    "Run-wide settings, one per row: column `key` names the setting, column `value` holds it.",
    (
        Column("start_date", DATE, "Monday of week 1 (used for labels only).", required=True),
        Column("weeks", INT, "Planning horizon in weeks.", required=True, ge=1, le=MAX_WEEKS),
        Column("hours_per_fte_week", NUMBER, "Paid hours per FTE-week.", default=37.5, gt=0, max_value=168),
        Column(
            "productive_share",
            NUMBER,
            "Share of paid hours available for casework (the rest: breaks, admin).",
            default=0.8,
            gt=0,
            min_value=0.01,
            le=1,
        ),
        Column(
            "reveal_week",
            INT,
            "First week in which the realised demand scenario is known.",
            default=1,
            ge=1,
            max_value=MAX_WEEKS,
        ),
        Column("currency", TEXT, "Currency label for money columns (a code such as GBP, or a symbol such as £).",
               default="GBP", max_chars=12),
        Column("mip_gap", NUMBER, "Relative MIP gap at which the solver stops.", default=1e-4, ge=0, lt=1),
        Column("time_limit_s", NUMBER, "Solver time limit in seconds.", gt=0, max_value=1e7, blank="none"),
        Column(
            "plan_from_week",
            INT,
            "First week the plan decides (T). Weeks before it are history: sheet `history` says who was in "
            "post, and their costs are sunk (reported, not part of the objective). At most weeks.",
            default=1,
            ge=1,
            max_value=MAX_WEEKS,
        ),
        Column(
            "risk_weight",
            NUMBER,
            "How much the plan weighs its bad scenarios (lambda, v2 section 4): it minimises "
            "(1 - risk_weight) x expected cost + risk_weight x CVaR at cvar_alpha. 0 = the expected cost only; "
            "1 = the CVaR only.",
            default=0.0,
            ge=0,
            le=1,
        ),
        Column(
            "cvar_alpha",
            NUMBER,
            "The CVaR's level (alpha, v2 section 4): CVaR is the expected cost over the worst 1 - cvar_alpha "
            "of probability (0.9: the worst 10%). 0 <= cvar_alpha < 1.",
            default=0.9,
            ge=0,
            lt=1,
        ),
    ),
    key=("key",),
    step="the run as a whole: type each value in column value, beside its key (start_date is the Monday of week 1)",
)

REGIONS = Sheet(
    "regions",
    TABLE,
    "Regions (e.g. local authorities) where casework arises and regional staff work.",
    (
        Column("region", ID, "Region id.", required=True),
        Column("name", TEXT, "Display name.", default=""),
        Column("population", INT, "Population (for reference).", ge=0, max_value=1e10, blank="unknown"),
    ),
    key=("region",),
    min_rows=1,
    step="one row per region where casework arises and regional staff work",
)

SCENARIOS = Sheet(
    "scenarios",
    TABLE,
    "Demand scenarios and their probabilities (must sum to 1).",
    (
        Column("scenario", ID, "Scenario id.", required=True),
        Column(
            "probability",
            NUMBER,
            "Probability of the scenario; all rows sum to 1 within 1e-6.",
            required=True,
            gt=0,
            le=1,
            min_value=1e-6,
        ),
        Column("description", TEXT, "How the scenario was drawn.", default=""),
    ),
    key=("scenario",),
    min_rows=1,
    step="one row per demand scenario, with its probability",
)

WORK_TYPES = Sheet(
    "work_types",
    TABLE,
    "Kinds of task a case generates (e.g. complex case work, contact calls).",
    (
        Column("work_type", ID, "Work type id.", required=True),
        Column("tasks_per_case", NUMBER, "Tasks of this type per new case.", required=True, ge=0,
               max_value=MAX_TASKS_PER_CASE),
        Column(
            "value_per_task",
            NUMBER,
            "Cost of one task not completed (lost value), in currency.",
            required=True,
            ge=0,
            max_value=MAX_RATE,
            warn_above=UNUSUAL_RATE,
        ),
        Column(
            "escalates_to",
            REF,
            "Work type that failed tasks escalate to (blank: failures are lost). Links must not form a cycle.",
            ref="work_types",
            blank="no escalation",
        ),
        Column(
            "min_completion_share",
            NUMBER,
            "Least share of this work's demand that must be completed, per region and week.",
            default=0.0,
            ge=0,
            le=1,
        ),
    ),
    key=("work_type",),
    min_rows=1,
    step="one row per kind of task a case generates, with the value of a task not done and any completion target",
)

_REGIONAL_ONLY = " Regional sources only; ignored for contractors (their terms are in `contracts`)."

SOURCES = Sheet(
    "sources",
    TABLE,
    "Staff sources. `contractor` sources are national and have capacity only through contracts; "
    "`eho`, `redeployed` and `hire` sources are regional.",
    (
        Column("source", ID, "Source id.", required=True),
        Column("kind", ENUM, "Kind of source.", required=True, choices=KINDS),
        Column("cost_per_fte_week", NUMBER, "Cost per FTE-week on the books." + _REGIONAL_ONLY, default=0.0, ge=0,
               max_value=MAX_RATE),
        Column("onboarding_cost", NUMBER, "Cost per FTE onboarded." + _REGIONAL_ONLY, default=0.0, ge=0,
               max_value=MAX_RATE),
        Column("lead_weeks", INT, "Weeks from deciding to onboard to being in post." + _REGIONAL_ONLY, default=0, ge=0,
               max_value=MAX_WEEKS),
        Column("notice_weeks", INT, "Weeks of notice to release staff." + _REGIONAL_ONLY, default=0, ge=0,
               max_value=MAX_WEEKS),
        Column("min_term_weeks", INT, "Weeks each onboarded cohort must stay." + _REGIONAL_ONLY, default=0, ge=0,
               max_value=MAX_WEEKS),
        _limit("max_increase_per_week", "Most FTE onboarded per week in one region." + _REGIONAL_ONLY),
        Column(
            "trainer",
            REF,
            "Regional source whose staff train this source's new starters." + _REGIONAL_ONLY,
            ref="sources",
            ref_filter=REGIONAL,
            blank="none",
        ),
        Column(
            "training_hours",
            NUMBER,
            "Training hours per FTE onboarded, taken from the trainee and from the trainer." + _REGIONAL_ONLY,
            default=0.0,
            ge=0,
            max_value=10_000,
        ),
        Column(
            "supervisor",
            REF,
            "Regional source whose staff supervise this source." + _REGIONAL_ONLY,
            ref="sources",
            ref_filter=REGIONAL,
            blank="none",
        ),
        Column(
            "supervision_ratio",
            NUMBER,
            "Supervisor FTE needed per FTE of this source." + _REGIONAL_ONLY,
            default=0.0,
            ge=0,
            max_value=100,
        ),
    ),
    key=("source",),
    min_rows=1,
    step=("one row per staff source: national contractors, and regional EHOs, redeployed staff and hires with "
          "their costs and lead times"),
)

SKILLS = Sheet(
    "skills",
    TABLE,
    "What each source can do. A missing (source, work_type) row means that source cannot do that work.",
    (
        Column("source", REF, "Source id.", required=True, ref="sources"),
        Column("work_type", REF, "Work type id.", required=True, ref="work_types"),
        Column("minutes_per_task", NUMBER, "Minutes per attempted task.", required=True, gt=0, min_value=MIN_MINUTES,
               max_value=MAX_MINUTES),
        Column("success_rate", NUMBER, "Share of attempted tasks completed.", required=True, ge=0, le=1),
        Column(
            "escalation_share",
            NUMBER,
            "Share of failed tasks escalated to the work type's `escalates_to` (> 0 needs one).",
            default=0.0,
            ge=0,
            le=1,
        ),
        Column(
            "handoff_minutes",
            NUMBER,
            "Minutes the sender spends handing over each escalated task.",
            default=0.0,
            ge=0,
            max_value=MAX_MINUTES,
        ),
    ),
    key=("source", "work_type"),
    step="one row per work type a source can do, with its minutes per task and success rate",
)

CONTRACTS = Sheet(
    "contracts",
    TABLE,
    "Contracts for contractor capacity: options the model may sign, or contracts already signed.",
    (
        Column("contract", ID, "Contract id (distinct from regional source ids).", required=True),
        Column("source", REF, "The contractor source supplying the staff.", required=True, ref="sources",
               ref_filter=CONTRACTOR_ONLY),
        Column("status", ENUM, "`option` (the model decides) or `signed` (already committed).",
               default="option", choices=STATUSES),
        Column("start_week", INT, "First week the contract can staff.", default=1, ge=1, max_value=MAX_WEEKS),
        Column("end_week", INT, "Last week of the contract.", ge=1, max_value=MAX_WEEKS, default_doc="weeks"),
        Column("min_term_weeks", INT, "Initial term in weeks, during which the level is locked.", default=0, ge=0,
               max_value=MAX_WEEKS),
        Column("min_fte", NUMBER, "Least FTE while the contract runs.", default=0.0, ge=0, max_value=MAX_FTE),
        Column("max_fte", NUMBER, "Most FTE the supplier provides.", required=True, gt=0,
               max_value=MAX_FTE, warn_above=UNUSUAL_FTE),
        Column("committed_fte", NUMBER, "Level committed for the initial term.", ge=0, max_value=MAX_FTE,
               blank="chosen by the model"),
        Column("fixed_cost", NUMBER, "One-off cost of signing.", default=0.0, ge=0, max_value=MAX_FIXED_COST),
        Column("cost_per_fte_week", NUMBER, "Price per FTE-week.", default=0.0, ge=0, max_value=MAX_RATE,
               warn_above=UNUSUAL_RATE),
        Column("lead_weeks", INT, "Weeks from ordering an increase to staff in post.", default=0, ge=0,
               max_value=MAX_WEEKS),
        Column("notice_weeks", INT, "Weeks of notice for a decrease.", default=0, ge=0, max_value=MAX_WEEKS),
        _limit("max_increase_per_week", "Most FTE added per week after the start."),
        _limit("max_decrease_per_week", "Most FTE released per week after the initial term."),
    ),
    key=("contract",),
    step="one row per contract for contractor staff, offered (option) or already signed; none is fine",
)

_AVAIL_WEEK = Column(
    "fte", NUMBER, "Most FTE of that source the region can field that week.", default=0.0, ge=0, max_value=MAX_FTE,
    warn_above=UNUSUAL_FTE, blank="0"
)
_DEMAND_WEEK = Column("cases", NUMBER, "New cases needing tracing that week.", required=True, ge=0,
                      max_value=MAX_CASES, warn_above=UNUSUAL_CASES)

AVAILABILITY = Sheet(
    "availability",
    WIDE,
    "Most FTE each regional source can field in each region, by week (columns headed 1..weeks). "
    "A missing (source, region) row means none.",
    (
        Column("source", REF, "Regional source id.", required=True, ref="sources", ref_filter=REGIONAL),
        Column("region", REF, "Region id.", required=True, ref="regions"),
    ),
    key=("source", "region"),
    week_column=_AVAIL_WEEK,
    step="one row per regional source and region: the most FTE it can field in each week column",
)

DEMAND = Sheet(
    "demand",
    WIDE,
    "New cases needing tracing, by scenario and region (exactly one row per pair), by week "
    "(columns headed 1..weeks, all present).",
    (
        Column("scenario", REF, "Scenario id.", required=True, ref="scenarios"),
        Column("region", REF, "Region id.", required=True, ref="regions"),
    ),
    key=("scenario", "region"),
    min_rows=1,
    week_column=_DEMAND_WEEK,
    step="one row per scenario and region: the new cases in each week column",
)

_REGIONAL_HISTORY = " Regional sources only (blank = 0); a contract row leaves it blank."

HISTORY = Sheet(
    "history",
    TABLE,
    "What has happened (v2): who was in post in the weeks before settings plan_from_week, and decisions already "
    "taken for later weeks (inside a lead time or a notice period). One row per unit, region and week. For a "
    "week before plan_from_week a unit with no row had nobody in post; a row for a later week fixes its "
    "onboarded and exits (regional) or its fte (contract) and nothing else. Optional: a workbook without it "
    "plans from an empty start.",
    (
        Column("unit", ID, "A contract id, or a regional source id.", required=True),
        Column("region", REF, "Region id for a regional source; blank for a contract (contract capacity is "
               "national).", ref="regions", blank="a contract row"),
        Column("week", INT, "Week of the row, 1..weeks.", required=True, ge=1, max_value=MAX_WEEKS),
        Column("fte", NUMBER, "Headcount in post that week (a contract's N, a regional source's F).",
               required=True, ge=0, max_value=MAX_FTE, warn_above=UNUSUAL_FTE),
        Column("onboarded", NUMBER, "FTE who joined that week (O)." + _REGIONAL_HISTORY, default=0.0, ge=0,
               max_value=MAX_FTE, blank="0"),
        Column("exits", NUMBER, "FTE who left that week (X)." + _REGIONAL_HISTORY, default=0.0, ge=0,
               max_value=MAX_FTE, blank="0"),
    ),
    key=("unit", "region", "week"),
    step=("optional: who was in post in each week before settings plan_from_week (staff in post at the start), "
          "and decisions already taken for later weeks; the regional stock must add up (fte = last week's fte "
          "+ onboarded - exits)"),
    optional=True,
)

SHEETS: tuple[Sheet, ...] = (
    SETTINGS_SHEET,
    REGIONS,
    SCENARIOS,
    WORK_TYPES,
    SOURCES,
    SKILLS,
    CONTRACTS,
    AVAILABILITY,
    DEMAND,
    HISTORY,
)
SHEETS_BY_NAME = {s.name: s for s in SHEETS}
SHEET_ORDER = {s.name: i for i, s in enumerate(SHEETS)}

# The sheets the tool itself writes, or reads for another command (workbook.md): not unknown, so no
# warning (README: the template's instructions; experiments: compare; replan_changes: replan). history is
# a declared sheet (HISTORY).
EXTRA_SHEETS = ("README", "experiments", "replan_changes")

# Rules that involve more than one cell, in words (for the README sheet and docs).
CROSS_RULES: tuple[str, ...] = (
    "Identifiers are text, trimmed, case-sensitive and unique within their sheet.",
    "Every referenced id exists: regions, scenarios, sources and work types.",
    "`trainer` and `supervisor` are regional sources; a contract's `source` is a contractor; "
    "availability names regional sources only.",
    "Scenario probabilities sum to 1 (within 1e-6).",
    "`escalates_to` links form no cycle; a skill's `escalation_share` > 0 needs its work type's `escalates_to`.",
    "demand has exactly one row per scenario x region and every week column 1..weeks.",
    "Contracts: start_week <= end_week <= weeks; min_fte <= max_fte; a given committed_fte lies in "
    "[min_fte, max_fte] and needs min_term_weeks >= 1; unless signed with a committed_fte, "
    "start_week >= 1 + lead_weeks.",
    "A contract id must differ from every regional source id (both name capacity units in the outputs).",
    "A cell holding a formula is read through its cached value; a formula with no cached value is an error.",
    "No cell may hold an Excel error value (#N/A, #DIV/0!, #VALUE!, #REF!, ...) or NaN, required or optional "
    "alike; text must be shorter than 32,767 characters.",
    "start_date and every week of the horizon lie within Excel's dates (1900-01-01 to 9999-12-31).",
    "The expected cost of losing all demand, plus signed contracts' forced costs, is at most 1e13 "
    "(larger objectives cannot be solved reliably).",
    "plan_from_week <= weeks; reveal_week >= plan_from_week unless there is one scenario; demand of the weeks "
    "before plan_from_week is what happened: the same cases in every scenario.",
    "history: a unit is a contract (region blank, fte only) or a regional source (region given); one row per "
    "unit, region and week, week <= weeks. A regional source's stock adds up: fte = the previous week's fte "
    "(0 before week 1, and for a week before plan_from_week with no row) + onboarded - exits.",
    "history of a contract: fte <= max_fte, 0 outside start_week..end_week, at least min_fte in the weeks "
    "before plan_from_week of its window once it is signed (by its status or by a row with fte > 0), and one "
    "level (= committed_fte when given) through its initial term.",
)

__all__ = [
    "Column",
    "Sheet",
    "SHEETS",
    "SHEETS_BY_NAME",
    "SHEET_ORDER",
    "CROSS_RULES",
    "CONTRACTOR",
    "REGIONAL_KINDS",
]
