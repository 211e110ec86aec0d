"""Validated, typed inputs: what every stage after validation consumes.

Nothing downstream re-reads the workbook. Frames are indexed by their ids and
keep the row order of the workbook. Numbers are floats (ints where the schema
says int); a blank optional limit is ``NaN`` (= no limit); a blank optional id
is ``None``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

CONTRACTOR = "contractor"
REGIONAL_KINDS = ("eho", "redeployed", "hire")
KINDS = (CONTRACTOR,) + REGIONAL_KINDS
STATUSES = ("option", "signed")


@dataclass(frozen=True)
class Settings:
    start_date: dt.date
    weeks: int
    hours_per_fte_week: float = 37.5
    productive_share: float = 0.8
    reveal_week: int = 1
    currency: str = "GBP"
    mip_gap: float = 1e-4
    time_limit_s: float | None = None
    plan_from_week: int = 1   # v2 section 1: T, the first week the plan decides
    risk_weight: float = 0.0  # v2 section 4: lambda, the CVaR's weight in the objective
    cvar_alpha: float = 0.9   # v2 section 4: alpha, the CVaR's level

    @property
    def T(self) -> int:
        """plan_from_week: weeks < T are history (their costs sunk)."""
        return int(self.plan_from_week)

    @property
    def productive_hours(self) -> float:
        """H of formulation.md: productive hours per FTE-week."""
        return self.hours_per_fte_week * self.productive_share

    def week_start(self, week: int) -> dt.date:
        return self.start_date + dt.timedelta(weeks=week - 1)


@dataclass(frozen=True)
class Origin:
    """Where each row and column came from, to point back at input cells.

    ``rows[sheet][id]`` is the 1-based Excel row of that id's row (ids are
    tuples for sheets keyed by several columns, e.g. skills (source,
    work_type), demand (scenario, region)); ``columns[sheet][column]`` is the
    column letter of that column's header.
    """

    path: str = ""
    sha256: str = ""
    rows: dict = field(default_factory=dict)
    columns: dict = field(default_factory=dict)

    def cell(self, sheet: str, key, column: str | None = None) -> str:
        """'sheet!C7' for (row of key, column), or the best known cell."""
        row = self.rows.get(sheet, {}).get(key)
        letter = self.columns.get(sheet, {}).get(column) if column is not None else None
        if row is None:
            return f"{sheet}!{letter + '1' if letter else 'A1'}"
        if letter is None:
            letter = "A"
        return f"{sheet}!{letter}{row}"


HISTORY_COLUMNS = ("unit", "region", "week", "fte", "onboarded", "exits")


def empty_history() -> pd.DataFrame:
    """A history with no row (a version 1 workbook)."""
    return pd.DataFrame({"unit": pd.Series(dtype=object), "region": pd.Series(dtype=object),
                         "week": pd.Series(dtype=int), "fte": pd.Series(dtype=float),
                         "onboarded": pd.Series(dtype=float), "exits": pd.Series(dtype=float)})


@dataclass(frozen=True)
class Inputs:
    """The whole validated input.

    Frames (index -> columns):

    - ``regions``: region -> name, population (float, NaN if blank)
    - ``scenarios``: scenario -> probability, description
    - ``work_types``: work_type -> tasks_per_case, value_per_task,
      escalates_to (str or None), min_completion_share
    - ``sources``: source -> kind, cost_per_fte_week, onboarding_cost,
      lead_weeks, notice_weeks, min_term_weeks (int), max_increase_per_week
      (NaN = no limit), trainer (str or None), training_hours, supervisor
      (str or None), supervision_ratio. Contractor rows carry defaults only.
    - ``skills``: (source, work_type) -> minutes_per_task, success_rate,
      escalation_share (0 where the work type does not escalate),
      handoff_minutes
    - ``contracts``: contract -> source, status, start_week, end_week,
      min_term_weeks (int), min_fte, max_fte, committed_fte (NaN = chosen),
      fixed_cost, cost_per_fte_week, lead_weeks, notice_weeks (int),
      max_increase_per_week, max_decrease_per_week (NaN = no limit)
    - ``availability``: long, columns source, region, week (int), fte; only
      the rows of the workbook (a missing (source, region) means 0)
    - ``demand``: long, columns scenario, region, week (int), cases; one row
      per scenario x region x week 1..weeks
    - ``history`` (v2 section 1): long, columns unit, region ('' for a
      contract), week (int), fte, onboarded, exits (0 where blank); the rows of
      the workbook's optional history sheet (none: an empty frame)
    """

    settings: Settings
    regions: pd.DataFrame
    scenarios: pd.DataFrame
    work_types: pd.DataFrame
    sources: pd.DataFrame
    skills: pd.DataFrame
    contracts: pd.DataFrame
    availability: pd.DataFrame
    demand: pd.DataFrame
    origin: Origin = field(default_factory=Origin)
    history: pd.DataFrame = field(default_factory=lambda: empty_history())

    @property
    def weeks(self) -> list[int]:
        return list(range(1, self.settings.weeks + 1))

    @property
    def regional_sources(self) -> pd.DataFrame:
        return self.sources[self.sources["kind"] != CONTRACTOR]

    @property
    def contractor_sources(self) -> pd.DataFrame:
        return self.sources[self.sources["kind"] == CONTRACTOR]
