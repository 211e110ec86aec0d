"""What every part of a comparison shares: run statuses that count as solved, and the result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

Progress = Callable[[str], None]
OK = ("optimal", "feasible")
SHOWN_ERRORS = 3


def quiet(_: str) -> None:
    pass


@dataclass
class CompareResult:
    exit_code: int
    output: Path | None
    summary_text: str = ""
    message: str = ""
    comparison: pd.DataFrame | None = None
    scenario_costs: pd.DataFrame | None = None
    measures: pd.DataFrame | None = None
    inputs_changed: pd.DataFrame | None = None
    run_info: pd.DataFrame | None = None
    records: dict = field(default_factory=dict)
    negotiation: pd.DataFrame | None = None      # per variant: saving, per week removed, break-even, cost per use
    contract_use: pd.DataFrame | None = None     # per run and contract: cost against FTE-weeks paid and used
    break_even_runs: pd.DataFrame | None = None  # every re-solve of every break-even search
    notes: dict = field(default_factory=dict)    # measure/column -> a plain note (negotiation.NOTES)
    frontier: pd.DataFrame | None = None         # expected cost against CVaR per risk weight (frontier.py)

    def negotiation_row(self, variant: str) -> dict:
        n = self.negotiation
        hit = n[n["variant"] == variant]
        return hit.iloc[0].to_dict() if len(hit) else {}

    def measure(self, key: str):
        m = self.measures
        hit = m.loc[m["key"] == key, "value"]
        return hit.iloc[0] if len(hit) else None
