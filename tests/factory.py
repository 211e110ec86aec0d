"""Build :class:`capacity.io.inputs.Inputs` directly in Python for tests.

Defaults are the schema's (``capacity/io/schema.py``: numbers 0, limits blank =
NaN, contract start_week 1 and end_week = weeks, status option), plus a few
values for required columns so that a test states only what it is about. Each helper takes plain
dicts/lists so a test reads like the workbook it stands for::

    inp = make_inputs(
        weeks=4,
        regions=["R1"],
        work_types=[dict(work_type="case", tasks_per_case=1, value_per_task=100)],
        sources=[dict(source="eho", kind="eho", cost_per_fte_week=10)],
        skills=[dict(source="eho", work_type="case", minutes_per_task=60,
                     success_rate=1)],
        availability={("eho", "R1"): [2, 2, 2, 2]},
        demand={("base", "R1"): [10, 10, 10, 10]},
    )
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from capacity.io import schema as S
from capacity.io.inputs import Inputs, Settings
from capacity.io.validate.assemble import no_escalation_without_target

NAN = math.nan

def _schema_defaults(sheet: S.Sheet, **conveniences) -> dict:
    """The schema's value for a blank cell of each optional column (numbers with
    no default, i.e. limits, are NaN = no limit), plus values this factory
    fills in for required columns so that tests stay short."""
    out = {}
    for col in sheet.columns:
        if col.name in sheet.key or col.required:
            continue
        out[col.name] = NAN if col.default is None and col.type in (S.NUMBER, S.INT) else col.default
    out.update(conveniences)
    return out


WORK_TYPE_DEFAULTS = _schema_defaults(S.WORK_TYPES, tasks_per_case=0.0, value_per_task=0.0)
SOURCE_DEFAULTS = _schema_defaults(S.SOURCES, kind="eho")
SKILL_DEFAULTS = _schema_defaults(S.SKILLS, success_rate=1.0)
CONTRACT_DEFAULTS = _schema_defaults(S.CONTRACTS, end_week=None)   # None: the horizon's last week


def _frame(rows, key, defaults, columns):
    recs = []
    for r in rows:
        rec = dict(defaults)
        rec.update(r)
        recs.append(rec)
    df = pd.DataFrame(recs, columns=[key] + columns)
    return df.set_index(key)


def make_inputs(
    *,
    weeks: int,
    regions,
    work_types,
    sources,
    skills,
    demand,
    availability=None,
    contracts=(),
    scenarios=None,
    **settings,
) -> Inputs:
    """Inputs from plain Python.

    ``scenarios``: list of (id, probability) or None for one scenario 'base'.
    ``demand``: {(scenario, region): [cases week 1..weeks]}; a missing pair
    is all zeros. ``availability``: {(source, region): [fte per week]} or a
    scalar for every week.
    """
    if scenarios is None:
        scenarios = [("base", 1.0)]
    sett = Settings(start_date=dt.date(2024, 1, 1), weeks=weeks, **settings)
    reg = pd.DataFrame(
        {"region": list(regions), "name": list(regions), "population": NAN}
    ).set_index("region")
    scen = pd.DataFrame(
        {
            "scenario": [s for s, _ in scenarios],
            "probability": [float(p) for _, p in scenarios],
            "description": "",
        }
    ).set_index("scenario")
    wt = _frame(work_types, "work_type", WORK_TYPE_DEFAULTS, list(WORK_TYPE_DEFAULTS))
    for col in ("tasks_per_case", "value_per_task", "min_completion_share"):
        wt[col] = wt[col].astype(float)
    src = _frame(sources, "source", SOURCE_DEFAULTS, list(SOURCE_DEFAULTS))
    for col in ("cost_per_fte_week", "onboarding_cost", "max_increase_per_week",
                "training_hours", "supervision_ratio"):
        src[col] = src[col].astype(float)
    for col in ("lead_weeks", "notice_weeks", "min_term_weeks"):
        src[col] = src[col].astype(int)
    sk_recs = []
    for r in skills:
        rec = dict(SKILL_DEFAULTS)
        rec.update(r)
        sk_recs.append(rec)
    sk = pd.DataFrame(
        sk_recs,
        columns=["source", "work_type", "minutes_per_task", "success_rate",
                 "escalation_share", "handoff_minutes"],
    ).set_index(["source", "work_type"])
    sk = sk.astype(float)
    sk = no_escalation_without_target(sk.reset_index(), wt).set_index(["source", "work_type"])
    con_recs = []
    for r in contracts:
        rec = dict(CONTRACT_DEFAULTS)
        rec.update(r)
        if rec["end_week"] is None:
            rec["end_week"] = weeks
        con_recs.append(rec)
    con_cols = ["source"] + list(CONTRACT_DEFAULTS) + ["max_fte"]
    con = pd.DataFrame(con_recs, columns=["contract"] + con_cols).set_index("contract")
    for col in ("min_fte", "max_fte", "committed_fte", "fixed_cost", "cost_per_fte_week",
                "max_increase_per_week", "max_decrease_per_week"):
        con[col] = con[col].astype(float)
    for col in ("start_week", "end_week", "min_term_weeks", "lead_weeks", "notice_weeks"):
        con[col] = con[col].astype(int)
    av_recs = []
    for (s, r), vals in (availability or {}).items():
        if not hasattr(vals, "__len__"):
            vals = [vals] * weeks
        assert len(vals) == weeks
        for t, v in enumerate(vals, start=1):
            av_recs.append((s, r, t, float(v)))
    av = pd.DataFrame(av_recs, columns=["source", "region", "week", "fte"])
    av["week"] = av["week"].astype(int)
    dm_recs = []
    for w, _ in scenarios:
        for r in regions:
            vals = demand.get((w, r), [0.0] * weeks)
            if not hasattr(vals, "__len__"):
                vals = [vals] * weeks
            assert len(vals) == weeks
            for t, v in enumerate(vals, start=1):
                dm_recs.append((w, r, t, float(v)))
    dm = pd.DataFrame(dm_recs, columns=["scenario", "region", "week", "cases"])
    dm["week"] = dm["week"].astype(int)
    return Inputs(
        settings=sett,
        regions=reg,
        scenarios=scen,
        work_types=wt,
        sources=src,
        skills=sk,
        contracts=con,
        availability=av,
        demand=dm,
    )


def simple(**overrides) -> Inputs:
    """One region, one work type 'case' (value 100/task), one eho source
    (cost 10/FTE-week, 60 min/task, always succeeds), one scenario."""
    weeks = overrides.pop("weeks", 4)
    kw = dict(
        weeks=weeks,
        regions=["R1"],
        work_types=[dict(work_type="case", tasks_per_case=1, value_per_task=100)],
        sources=[dict(source="eho", kind="eho", cost_per_fte_week=10)],
        skills=[dict(source="eho", work_type="case", minutes_per_task=60, success_rate=1)],
        availability={("eho", "R1"): 100},
        demand={("base", "R1"): [0] * weeks},
    )
    kw.update(overrides)
    return make_inputs(**kw)


def synthetic(regions: int = 149, weeks: int = 52, scenarios: int = 10, contracts: int = 3,
              seed: int = 0, reveal_week: int = 4) -> Inputs:
    """A random instance of national shape (defaults: 149 regions x 52 weeks
    x 10 scenarios, 3 work types with one escalation link, 3 regional sources
    plus 1 contractor source, ``contracts`` option contracts)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    regs = [f"R{i:03d}" for i in range(regions)]
    scen = [(f"S{j}", 1.0 / scenarios) for j in range(scenarios)]
    wts = [
        dict(work_type="contact_call", tasks_per_case=3, value_per_task=20,
             escalates_to="complex"),
        dict(work_type="complex", tasks_per_case=0.2, value_per_task=200,
             min_completion_share=0.0),
        dict(work_type="case_admin", tasks_per_case=1, value_per_task=10),
    ]
    srcs = [
        dict(source="agency", kind="contractor"),
        dict(source="eho", kind="eho", cost_per_fte_week=1200, min_term_weeks=0,
             supervision_ratio=0.0),
        dict(source="redeployed", kind="redeployed", cost_per_fte_week=700,
             onboarding_cost=300, lead_weeks=1, notice_weeks=1, min_term_weeks=4,
             trainer="eho", training_hours=6, supervisor="eho", supervision_ratio=0.05),
        dict(source="hire", kind="hire", cost_per_fte_week=900, onboarding_cost=2000,
             lead_weeks=3, notice_weeks=2, min_term_weeks=12, max_increase_per_week=5,
             trainer="eho", training_hours=12),
    ]
    sk = [
        dict(source="agency", work_type="contact_call", minutes_per_task=15, success_rate=0.7,
             escalation_share=0.5, handoff_minutes=5),
        dict(source="agency", work_type="case_admin", minutes_per_task=20, success_rate=0.95),
        dict(source="eho", work_type="complex", minutes_per_task=90, success_rate=0.95),
        dict(source="eho", work_type="contact_call", minutes_per_task=12, success_rate=0.9,
             escalation_share=0.5),
        dict(source="redeployed", work_type="contact_call", minutes_per_task=14,
             success_rate=0.85, escalation_share=0.6, handoff_minutes=5),
        dict(source="redeployed", work_type="case_admin", minutes_per_task=18, success_rate=0.9),
        dict(source="hire", work_type="contact_call", minutes_per_task=13, success_rate=0.85,
             escalation_share=0.5),
        dict(source="hire", work_type="complex", minutes_per_task=120, success_rate=0.85),
        dict(source="hire", work_type="case_admin", minutes_per_task=15, success_rate=0.95),
    ]
    cons = []
    for i in range(contracts):
        cons.append(dict(contract=f"C{i}", source="agency", status="signed" if i == 0 else "option",
                         start_week=1 if i == 0 else 3 + 2 * i, min_term_weeks=8, min_fte=10,
                         max_fte=400, committed_fte=50 if i == 0 else NAN,
                         fixed_cost=50000 * i, cost_per_fte_week=1000 + 50 * i,
                         lead_weeks=0 if i == 0 else 2 + i, notice_weeks=2,
                         max_increase_per_week=50, max_decrease_per_week=50))
    t = np.arange(weeks)
    av = {}
    dm = {}
    for r in regs:
        size = rng.uniform(0.3, 3)
        av[("eho", r)] = list(np.round(size * rng.uniform(2, 6) * np.ones(weeks), 1))
        if rng.random() < 0.8:
            av[("redeployed", r)] = list(np.round(size * rng.uniform(3, 10) * np.ones(weeks), 1))
        av[("hire", r)] = list(np.round(size * 20 * np.ones(weeks), 1))
        peak = rng.uniform(10, 40)
        for j, (w, _) in enumerate(scen):
            mult = 0.5 + j / max(1, scenarios - 1)
            curve = size * 40 * mult * np.exp(-((t - peak) / 10.0) ** 2)
            dm[(w, r)] = list(np.round(curve * rng.uniform(0.9, 1.1, weeks), 1))
    return make_inputs(weeks=weeks, regions=regs, work_types=wts, sources=srcs, skills=sk,
                       demand=dm, availability=av, contracts=cons, scenarios=scen,
                       reveal_week=reveal_week)
