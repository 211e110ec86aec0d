"""Example input workbooks shipped with the package (``capacity template --example NAME``).

``small``: 3 regions, 8 weeks, 2 scenarios, a source of every kind, two
contract options (a flexible one and a cheaper block one with a lock-in), and
escalation from contact calls to local follow-up. Made-up numbers chosen to
exercise every feature while solving in about a second.

The small example's ``history`` sheet says who was in post at the start: the
EHOs of each region in week 1 (v2 section 1: with ``plan_from_week`` 1 a
week-1 row is a decision already taken), so nobody is onboarded for free in
week 1.

``england-2020`` is built from public data by ``inputs/build_examples.py``;
it is shipped as ``inputs/england-2020.xlsx`` rather than from the package.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from capacity.io.workbook import write_input_workbook

WEEKS = 8
REGIONS = ("north", "midlands", "south")


def _small_demand() -> pd.DataFrame:
    """Cases per week in each region: a wave that either fades (low) or grows (high)."""
    low = [300, 320, 280, 220, 170, 130, 100, 80]
    high = [300, 360, 450, 560, 680, 760, 800, 780]
    scale = {"north": 1.0, "midlands": 0.8, "south": 1.2}
    return pd.DataFrame([{"scenario": s, "region": r} | {w: round(series[w - 1] * scale[r])
                                                         for w in range(1, WEEKS + 1)}
                         for s, series in (("low", low), ("high", high)) for r in REGIONS])


def _small_availability() -> pd.DataFrame:
    weeks = range(1, WEEKS + 1)
    eho = {"north": 8, "midlands": 6, "south": 10}
    availability = []
    for r in REGIONS:
        availability.append({"source": "eho", "region": r} | {w: eho[r] for w in weeks})
        # redeployed staff are recalled from week 5 (their usual service reopens)
        availability.append({"source": "redeployed", "region": r} | {w: 15 if w <= 4 else 3 for w in weeks})
        availability.append({"source": "hire", "region": r} | {w: 40 for w in weeks})
    return pd.DataFrame(availability)


def _small_history() -> pd.DataFrame:
    """Staff in post at the start: every region's EHOs (its availability) in post in week 1."""
    eho = {"north": 8, "midlands": 6, "south": 10}
    return pd.DataFrame([{"unit": "eho", "region": r, "week": 1, "fte": eho[r], "onboarded": eho[r], "exits": 0}
                         for r in REGIONS])


def small_tables() -> dict:
    return {
        "settings": {
            "start_date": dt.date(2020, 5, 25),
            "weeks": WEEKS,
            "hours_per_fte_week": 37.5,
            "productive_share": 0.8,
            "reveal_week": 3,
            "currency": "GBP",
            "mip_gap": 1e-4,
        },
        "regions": pd.DataFrame({"region": REGIONS, "name": ["North", "Midlands", "South"],
                                 "population": [5_000_000, 4_000_000, 6_000_000]}),
        "scenarios": pd.DataFrame({"scenario": ["low", "high"], "probability": [0.5, 0.5],
                                   "description": ["the wave fades after week 2", "the wave keeps growing"]}),
        "work_types": pd.DataFrame([
            {"work_type": "complex", "tasks_per_case": 0.1, "value_per_task": 200, "escalates_to": None,
             "min_completion_share": 0.8},
            {"work_type": "contact_call", "tasks_per_case": 4, "value_per_task": 30,
             "escalates_to": "local_followup", "min_completion_share": 0},
            {"work_type": "local_followup", "tasks_per_case": 0, "value_per_task": 40, "escalates_to": None,
             "min_completion_share": 0},
        ]),
        "sources": pd.DataFrame([
            {"source": "callco", "kind": "contractor"},
            {"source": "eho", "kind": "eho", "cost_per_fte_week": 1400, "onboarding_cost": 0, "lead_weeks": 0,
             "notice_weeks": 0, "min_term_weeks": 0},
            {"source": "redeployed", "kind": "redeployed", "cost_per_fte_week": 600, "onboarding_cost": 100,
             "lead_weeks": 1, "notice_weeks": 0, "min_term_weeks": 2, "trainer": "eho", "training_hours": 8,
             "supervisor": "eho", "supervision_ratio": 0.05},
            {"source": "hire", "kind": "hire", "cost_per_fte_week": 900, "onboarding_cost": 500, "lead_weeks": 2,
             "notice_weeks": 1, "min_term_weeks": 4, "max_increase_per_week": 10, "trainer": "eho",
             "training_hours": 16},
        ]),
        "skills": pd.DataFrame([
            {"source": "callco", "work_type": "contact_call", "minutes_per_task": 12, "success_rate": 0.6,
             "escalation_share": 0.5, "handoff_minutes": 5},
            {"source": "eho", "work_type": "complex", "minutes_per_task": 90, "success_rate": 0.95},
            {"source": "eho", "work_type": "contact_call", "minutes_per_task": 15, "success_rate": 0.9},
            {"source": "eho", "work_type": "local_followup", "minutes_per_task": 30, "success_rate": 0.9},
            {"source": "redeployed", "work_type": "contact_call", "minutes_per_task": 15, "success_rate": 0.8,
             "escalation_share": 0.5, "handoff_minutes": 5},
            {"source": "redeployed", "work_type": "local_followup", "minutes_per_task": 30, "success_rate": 0.75},
            {"source": "hire", "work_type": "contact_call", "minutes_per_task": 14, "success_rate": 0.85,
             "escalation_share": 0.5, "handoff_minutes": 5},
            {"source": "hire", "work_type": "complex", "minutes_per_task": 120, "success_rate": 0.8},
        ]),
        "contracts": pd.DataFrame([
            {"contract": "callco_flex", "source": "callco", "status": "option", "start_week": 2, "end_week": 8,
             "min_term_weeks": 0, "min_fte": 0, "max_fte": 200, "fixed_cost": 5000, "cost_per_fte_week": 700,
             "lead_weeks": 1, "notice_weeks": 1, "max_increase_per_week": 50, "max_decrease_per_week": None},
            {"contract": "callco_block", "source": "callco", "status": "option", "start_week": 2, "end_week": 8,
             "min_term_weeks": 6, "min_fte": 0, "max_fte": 200, "fixed_cost": 0, "cost_per_fte_week": 550,
             "lead_weeks": 1, "notice_weeks": 2, "max_increase_per_week": None, "max_decrease_per_week": None},
        ]),
        "availability": _small_availability(),
        "demand": _small_demand(),
        "history": _small_history(),
    }


def write_example(name: str, path) -> None:
    if name not in EXAMPLES:
        raise KeyError(name)
    EXAMPLES[name](path)


def _write_small(path) -> None:
    write_input_workbook(path, small_tables(), weeks=WEEKS, title="capacity example: small",
                         notes=[("all numbers", "", "assumption: made-up figures to show every feature")])


EXAMPLES = {"small": _write_small}
