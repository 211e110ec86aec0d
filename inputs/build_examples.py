"""Build the England 2020-21 contact-tracing example workbook from public data.

    python inputs/build_examples.py                      # inputs/england-2020.xlsx (9 regions, 26 weeks)
    python inputs/build_examples.py --areas utla         # inputs/england-2020-utla.xlsx (149 authorities)
    python inputs/build_examples.py --weeks 45 -o FILE   # all 45 weeks of data
    python inputs/build_examples.py --from-week 5        # inputs/england-2020-from-week-5.xlsx: the example
                                                         # re-planned from week 5 in scenario observed

This script is the source of truth: the committed ``inputs/england-2020.xlsx``
is its output, and ``tests/test_england_example.py`` checks that it still
reproduces it. Every number it puts in the workbook is listed, with its
source or the word "assumption", in the workbook's README sheet (see
:func:`england_notes`) and in ``inputs/README.md``.

Data: ``inputs/data/england-2020/`` in this repository (weekly lab-confirmed cases by region
and by upper-tier local authority from 2020-05-25, ONS mid-2019 populations,
and the facts listed in its SOURCES.md). Override with ``--data DIR``.

The data-shaping functions are importable::

    from inputs.build_examples import england_tables, england_notes, june_utilisation
    tables = england_tables(areas="region", weeks=26)
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "inputs" / "data" / "england-2020"
DEFAULT_OUT = {"region": REPO / "inputs" / "england-2020.xlsx", "utla": REPO / "inputs" / "england-2020-utla.xlsx"}

START = dt.date(2020, 5, 25)  # Monday of the week NHS Test and Trace launched (28 May 2020)
MAX_WEEKS = 45  # weeks of case data: 2020-05-25 .. 2021-03-29
DEFAULT_WEEKS = 26

# ---------------------------------------------------------------------------
# Facts (SOURCES.md) and assumptions. Every constant here appears in the
# README sheet through england_notes(); keep the two in step.
# ---------------------------------------------------------------------------
# NAO HC 1070 (11 Dec 2020): 18,000 call handlers (Serco and Sitel), initial
# term late May to 23 Aug 2020, initial value about GBP 192m for both suppliers.
CONTRACT_FTE = 18_000
CONTRACT_VALUE = 192e6
CONTRACT_WEEKS = 13  # 28 May - 23 Aug 2020 is 12.6 weeks; the plan's weeks 1..13
CONTRACT_PRICE = round(CONTRACT_VALUE / (CONTRACT_FTE * CONTRACT_WEEKS), 2)  # GBP 820.51 per FTE-week
HOURS_PER_FTE_WEEK = 37.5  # assumption: a standard full-time week
PRODUCTIVE_SHARE = 0.8  # assumption: the rest is breaks, briefings, admin
PRODUCTIVE_HOURS_PER_DAY = HOURS_PER_FTE_WEEK * PRODUCTIVE_SHARE / 5  # 6 h

# GWU Fitzhugh Mullan Institute estimator: a tracer handles about 6 case
# interviews or 12 contact notifications a day -> minutes per task in
# productive time (a fully loaded tracer is 80% utilised).
GWU_INTERVIEWS_PER_DAY = 6
GWU_NOTIFICATIONS_PER_DAY = 12
MIN_INTERVIEW = PRODUCTIVE_HOURS_PER_DAY * 60 / GWU_INTERVIEWS_PER_DAY  # 60 min
MIN_NOTIFICATION = PRODUCTIVE_HOURS_PER_DAY * 60 / GWU_NOTIFICATIONS_PER_DAY  # 30 min

# Contacts per case. NHS Test and Trace weekly bulletin, 18-24 June 2020:
# 6,183 cases transferred to contact tracing, 23,028 close contacts identified.
NHSTT_CASES_18_24_JUNE = 6_183
NHSTT_CONTACTS_18_24_JUNE = 23_028
CONTACTS_PER_CASE = round(NHSTT_CONTACTS_18_24_JUNE / NHSTT_CASES_18_24_JUNE, 2)  # 3.72
GWU_CONTACTS_PER_CASE = 10  # the alternative a planner without English data would use

# National call handlers on contact calls (tier 3)
NATIONAL_SUCCESS = 0.6  # NAO: about 60% of contacts reached by the national call centres
NATIONAL_ESCALATION = 0.5  # assumption: half of the failed calls are passed to local follow-up
NATIONAL_HANDOFF_MIN = 10  # assumption: minutes to pass one failed contact to the local team
LOCAL_FOLLOWUP_MIN = 45  # assumption: repeat calls / doorstep visit, between a notification and an interview
LOCAL_SUCCESS = 0.9  # SOURCES.md: local tracing partnerships reached about 9 in 10

# EHOs (CIEH workforce survey 2021: about 3,300 EH practitioner posts in England)
EHO_POSTS_ENGLAND = 3_300
EHO_SHARE_FOR_TRACING = 0.25  # assumption (not published; 8 in 10 EHOs were on COVID-19 work of some kind)
EHO_COST = 950  # assumption: ~GBP 37k salary + 30% on-costs
# Redeployed council staff (library, day-service, registration)
REDEPLOYED_PER_100K = 10  # assumption: pool size
REDEPLOYED_RECALL_DATE = dt.date(2020, 7, 4)  # libraries in England could reopen (SOURCES.md)
REDEPLOYED_REMAIN = 0.2  # assumption: share still available after the recall
# Direct fixed-term hires
HOURLY_PAY = 10.0  # SOURCES.md: call handlers advertised at about GBP 8.72-10 an hour
ON_COSTS = 0.3  # assumption: employer on-costs
LOCAL_STAFF_COST = round(HOURLY_PAY * HOURS_PER_FTE_WEEK * (1 + ON_COSTS))  # GBP 488 per FTE-week
HIRE_POOL_PER_100K = 30  # NACCHO: 30 tracers per 100,000 people in an epidemic (used as the recruitable pool)
HIRE_ONBOARDING = 1_000  # assumption: recruitment, checks, laptop and phone
HIRE_LEAD, HIRE_NOTICE, HIRE_MIN_TERM = 3, 2, 12  # assumption: weeks
HIRE_RAMP = {"region": 200, "utla": 20}  # assumption: most hires onboarded per area per week
TRAINING_HOURS = 8  # SOURCES.md: training about one 8-hour shift
SUPERVISION_RATIO = 0.05  # assumption: one EHO per 20 redeployed or hired tracers

# Value of a task not completed (assumptions; they set how hard the plan tries)
VALUE_COMPLEX = 200
VALUE_CONTACT = 30
VALUE_FOLLOWUP = 30

# Flexible contract options: (id, min_term_weeks, price multiple, ramp per week, notice weeks, description)
OPTIONS = (
    ("flex_4wk", 4, 1.15, None, 2, "4-week initial term"),
    ("stepped", 4, 1.10, 2_000, 2, "4-week term, then steps of at most 2,000 FTE a week up or down"),
    ("no_lockin", 0, 1.30, None, 1, "no initial term: pay only for the FTE used each week"),
)
OPTION_LEAD = 2  # assumption: weeks to mobilise a new or increased contract
NATIONAL_NOTICE = 4  # assumption: weeks of notice to cut the signed contract after its term

# Scenarios as a planner could have drawn them at the start of June 2020, from
# each area's cases in the first observed week (25-31 May): weekly growth
# factors by phase.
SCENARIOS = (
    # id, probability, description, [(first_week, weekly factor), ...], floor (multiple of week 1)
    ("low", 0.3, "cases keep falling 12% a week as lockdown holds, to a floor of 15% of late May",
     [(2, 0.88)], 0.15),
    ("central", 0.4, "cases fall 5% a week over the summer, then a second wave grows 8% a week from "
     "week 14 (late August, schools back)", [(2, 0.95), (14, 1.08)], 0.0),
    ("high", 0.2, "the decline stalls at 2% a week as lockdown eases, then cases grow 12% a week from "
     "week 9 (late July)", [(2, 0.98), (9, 1.12)], 0.0),
)
OBSERVED_PROBABILITY = 0.1  # assumption: the real series, as one more possibility
REVEAL_WEEK = 5  # assumption: by the week of 22 June four weeks of Test and Trace data show the path
MIP_GAP = 1e-3  # assumption: 0.1% is ample for planning


def week_start(week: int) -> dt.date:
    return START + dt.timedelta(weeks=week - 1)


def recall_week() -> int:
    """First plan week after the week in which libraries reopened (4 July 2020)."""
    return (REDEPLOYED_RECALL_DATE - START).days // 7 + 2


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------
def _slug(name: str) -> str:
    return name.lower().replace(" and the ", "_").replace(" of ", "_").replace(" ", "_")


def load_areas(areas: str = "region", data_dir: Path = DATA_DIR) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(areas, cases): areas with columns region (id), name, population; cases
    long with columns region, week (1..45), cases."""
    data_dir = Path(data_dir)
    pop = pd.read_csv(data_dir / "england_population.csv")
    if areas == "region":
        raw = pd.read_csv(data_dir / "england_cases_weekly_region.csv")
        p = pop[pop["area_type"] == "region"]
        table = pd.DataFrame({"region": [_slug(n) for n in p["area_name"]], "name": p["area_name"].values,
                              "population": p["population"].astype(int).values})
        raw["region"] = raw["region"].map(_slug)
    elif areas == "utla":
        raw = pd.read_csv(data_dir / "england_cases_weekly_utla.csv").rename(columns={"region": "ons_region"})
        p = pop[pop["area_type"] == "utla"]
        table = pd.DataFrame({"region": p["area_code"].values, "name": p["area_name"].values,
                              "population": p["population"].astype(int).values})
        raw["region"] = raw["area_code"]
    else:
        raise ValueError(f"areas must be 'region' or 'utla', got {areas!r}")
    dates = pd.to_datetime(raw["week_start"]).dt.date
    raw["week"] = [(d - START).days // 7 + 1 for d in dates]
    cases = raw[["region", "week", "cases"]].astype({"week": int, "cases": float})
    missing = set(table["region"]) ^ set(cases["region"])
    if missing:
        raise ValueError(f"areas without both population and cases: {sorted(missing)[:5]}")
    return table.reset_index(drop=True), cases


def scenario_series(base: float, weeks: int, phases, floor: float) -> list[float]:
    """Cases in weeks 1..weeks from week-1 cases and the scenario's growth phases."""
    out, level = [], float(base)
    for t in range(1, weeks + 1):
        if t > 1:
            factor = [f for start, f in phases if t >= start][-1]
            level = max(level * factor, floor * base)
        out.append(round(level))
    return out


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------
def england_tables(areas: str = "region", weeks: int = DEFAULT_WEEKS, data_dir: Path = DATA_DIR,
                   national: str = "signed") -> dict:
    """The example's tables in the shapes :func:`capacity.io.workbook.write_input_workbook` takes.

    ``national="option"`` is the counterfactual: the 2020 block contract is
    only offered (same terms, but it can start no earlier than its lead time
    allows), beside the flexible options, and the model chooses.
    """
    if national not in ("signed", "option"):
        raise ValueError(f"national must be 'signed' or 'option', got {national!r}")
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be from 1 to {MAX_WEEKS} (the data run to 2021-03-29), got {weeks}")
    regions, cases = load_areas(areas, data_dir)
    W = range(1, weeks + 1)
    england_pop = float(regions["population"].sum())

    # demand: the observed series and three forecasts from week-1 cases
    obs = cases.pivot(index="region", columns="week", values="cases")
    demand = []
    for sid, _, _, phases, floor in SCENARIOS:
        for r in regions["region"]:
            demand.append({"scenario": sid, "region": r} | dict(zip(W, scenario_series(obs.at[r, 1], weeks,
                                                                                     phases, floor))))
    for r in regions["region"]:
        demand.append({"scenario": "observed", "region": r} | {t: float(obs.at[r, t]) for t in W})

    # availability: EHOs and pools by population share
    recall = recall_week()
    availability = []
    for r, pop in zip(regions["region"], regions["population"]):
        share = pop / england_pop
        eho = round(EHO_POSTS_ENGLAND * share * EHO_SHARE_FOR_TRACING, 1)
        redeployed = round(REDEPLOYED_PER_100K * pop / 1e5, 1)
        later = round(redeployed * REDEPLOYED_REMAIN, 1)
        hire = round(HIRE_POOL_PER_100K * pop / 1e5, 1)
        availability.append({"source": "eho", "region": r} | {t: eho for t in W})
        availability.append({"source": "redeployed", "region": r} | {t: redeployed if t < recall else later
                                                                     for t in W})
        availability.append({"source": "hire", "region": r} | {t: hire for t in W})

    contracts = [{
        "contract": "national_2020", "source": "national_callers", "status": national,
        "start_week": 1 if national == "signed" else 1 + OPTION_LEAD,
        "end_week": weeks, "min_term_weeks": min(CONTRACT_WEEKS, weeks), "min_fte": 0, "max_fte": CONTRACT_FTE,
        "committed_fte": CONTRACT_FTE, "fixed_cost": 0, "cost_per_fte_week": CONTRACT_PRICE,
        "lead_weeks": OPTION_LEAD, "notice_weeks": NATIONAL_NOTICE,
        "max_increase_per_week": None, "max_decrease_per_week": None,
    }]
    for cid, term, mult, ramp, notice, _ in OPTIONS:
        if 1 + OPTION_LEAD > weeks:
            break
        contracts.append({
            "contract": cid, "source": "national_callers", "status": "option", "start_week": 1 + OPTION_LEAD,
            "end_week": weeks, "min_term_weeks": min(term, weeks - OPTION_LEAD), "min_fte": 0,
            "max_fte": CONTRACT_FTE, "committed_fte": None, "fixed_cost": 0,
            "cost_per_fte_week": round(CONTRACT_PRICE * mult, 2), "lead_weeks": OPTION_LEAD,
            "notice_weeks": notice, "max_increase_per_week": ramp, "max_decrease_per_week": ramp,
        })

    regional = dict(cost_per_fte_week=LOCAL_STAFF_COST, trainer="eho", training_hours=TRAINING_HOURS,
                    supervisor="eho", supervision_ratio=SUPERVISION_RATIO)
    return {
        "settings": {
            "start_date": START,
            "weeks": weeks,
            "hours_per_fte_week": HOURS_PER_FTE_WEEK,
            "productive_share": PRODUCTIVE_SHARE,
            "reveal_week": min(REVEAL_WEEK, weeks),
            "currency": "GBP",
            "mip_gap": MIP_GAP,
        },
        "regions": regions,
        "scenarios": pd.DataFrame(
            [{"scenario": sid, "probability": p, "description": desc} for sid, p, desc, _, _ in SCENARIOS]
            + [{"scenario": "observed", "probability": OBSERVED_PROBABILITY,
                "description": "the real weekly series of lab-confirmed cases (UK coronavirus dashboard)"}]),
        "work_types": pd.DataFrame([
            {"work_type": "complex", "tasks_per_case": 1, "value_per_task": VALUE_COMPLEX,
             "escalates_to": None, "min_completion_share": 0},
            {"work_type": "contact_call", "tasks_per_case": CONTACTS_PER_CASE, "value_per_task": VALUE_CONTACT,
             "escalates_to": "local_followup", "min_completion_share": 0},
            {"work_type": "local_followup", "tasks_per_case": 0, "value_per_task": VALUE_FOLLOWUP,
             "escalates_to": None, "min_completion_share": 0},
        ]),
        "sources": pd.DataFrame([
            {"source": "national_callers", "kind": "contractor"},
            {"source": "eho", "kind": "eho", "cost_per_fte_week": EHO_COST, "onboarding_cost": 0,
             "lead_weeks": 0, "notice_weeks": 0, "min_term_weeks": 0},
            {"source": "redeployed", "kind": "redeployed", "onboarding_cost": 0, "lead_weeks": 1,
             "notice_weeks": 0, "min_term_weeks": 0} | regional,
            {"source": "hire", "kind": "hire", "onboarding_cost": HIRE_ONBOARDING, "lead_weeks": HIRE_LEAD,
             "notice_weeks": HIRE_NOTICE, "min_term_weeks": HIRE_MIN_TERM,
             "max_increase_per_week": HIRE_RAMP[areas]} | regional,
        ]),
        "skills": pd.DataFrame([
            {"source": "national_callers", "work_type": "contact_call", "minutes_per_task": MIN_NOTIFICATION,
             "success_rate": NATIONAL_SUCCESS, "escalation_share": NATIONAL_ESCALATION,
             "handoff_minutes": NATIONAL_HANDOFF_MIN},
            {"source": "eho", "work_type": "complex", "minutes_per_task": MIN_INTERVIEW, "success_rate": 0.95},
            {"source": "eho", "work_type": "contact_call", "minutes_per_task": MIN_NOTIFICATION,
             "success_rate": 0.9},
            {"source": "eho", "work_type": "local_followup", "minutes_per_task": LOCAL_FOLLOWUP_MIN,
             "success_rate": LOCAL_SUCCESS},
            {"source": "redeployed", "work_type": "contact_call", "minutes_per_task": MIN_NOTIFICATION,
             "success_rate": 0.8, "escalation_share": 1.0, "handoff_minutes": 5},
            {"source": "redeployed", "work_type": "local_followup", "minutes_per_task": LOCAL_FOLLOWUP_MIN,
             "success_rate": 0.85},
            {"source": "hire", "work_type": "complex", "minutes_per_task": 1.25 * MIN_INTERVIEW,
             "success_rate": 0.8},
            {"source": "hire", "work_type": "contact_call", "minutes_per_task": MIN_NOTIFICATION,
             "success_rate": 0.8, "escalation_share": 1.0, "handoff_minutes": 5},
            {"source": "hire", "work_type": "local_followup", "minutes_per_task": LOCAL_FOLLOWUP_MIN,
             "success_rate": 0.85},
        ]),
        "contracts": pd.DataFrame(contracts),
        "availability": pd.DataFrame(availability),
        "demand": pd.DataFrame(demand),
    }


# ---------------------------------------------------------------------------
# Hand arithmetic: the utilisation the data imply
# ---------------------------------------------------------------------------
def contract_hours_per_case(tables: dict, source: str = "national_callers") -> float:
    """Hours of contractor time per case if the contractor attempts every contact call
    (formulation.md: a = (m + h*(1-p)*e) / 60 per attempted task)."""
    wt = tables["work_types"].set_index("work_type")
    total = 0.0
    for rec in tables["skills"].to_dict("records"):
        if rec["source"] != source:
            continue
        m, p = rec["minutes_per_task"], rec["success_rate"]
        e, h = rec.get("escalation_share") or 0.0, rec.get("handoff_minutes") or 0.0
        total += wt.at[rec["work_type"], "tasks_per_case"] * (m + h * (1 - p) * e) / 60
    return total


def weekly_utilisation(tables: dict, scenario: str = "observed", contract: str = "national_2020") -> dict:
    """week -> hours on tasks / paid hours of the contract, if its handlers made
    every contact call of the scenario (an upper bound on what a plan can
    show: other staff can only take calls away from them)."""
    dem = tables["demand"]
    dem = dem[dem["scenario"] == scenario]
    c = tables["contracts"].set_index("contract").loc[contract]
    paid = tables["settings"]["hours_per_fte_week"] * c["committed_fte"]
    per_case = contract_hours_per_case(tables, c["source"])
    weeks = [k for k in dem.columns if isinstance(k, int)]
    return {t: float(dem[t].sum()) * per_case / paid for t in weeks}


def june_weeks(weeks: int) -> list[int]:
    """Plan weeks that start in June 2020 (weeks 2-6: 1, 8, 15, 22 and 29 June)."""
    return [t for t in range(1, weeks + 1) if week_start(t).month == 6 and week_start(t).year == 2020]


def june_utilisation(tables: dict) -> float:
    """Utilisation of national_2020 over the weeks starting in June 2020 under
    `observed`, by hand: observed cases x contacts per case x hours per call /
    (18,000 x 37.5 h)."""
    util = weekly_utilisation(tables)
    weeks = [t for t in june_weeks(tables["settings"]["weeks"]) if t in util]
    return sum(util[t] for t in weeks) / len(weeks)


# ---------------------------------------------------------------------------
# README notes: every number with its source
# ---------------------------------------------------------------------------
NAO = "NAO, The government's approach to test and trace in England - interim report, HC 1070, 11 Dec 2020"
CIEH = "CIEH workforce survey 2021 (via SOURCES.md)"
GWU = "GWU Fitzhugh Mullan Institute contact tracing workforce estimator (via SOURCES.md)"
NACCHO = "NACCHO staffing guidance (via SOURCES.md)"
DASH = ("UK coronavirus dashboard, new cases by specimen date, as of 2021-06-22, Open Government Licence v3.0 "
        "(SOURCES.md)")
ONS = "ONS mid-2019 population estimates via Nomis (SOURCES.md)"
NHSTT = ("NHS Test and Trace weekly bulletin, England, 18-24 June 2020 (gov.uk, published 2 July 2020): 6,183 "
         "cases transferred, 23,028 close contacts identified")


def england_notes(tables: dict, areas: str = "region") -> list[tuple[str, str, str]]:
    s = tables["settings"]
    weeks = s["weeks"]
    n_regions = len(tables["regions"])
    june = june_weeks(weeks)
    util = weekly_utilisation(tables)
    per_case = contract_hours_per_case(tables)
    obs = tables["demand"][tables["demand"]["scenario"] == "observed"]
    june_cases = [float(obs[t].sum()) for t in june if t in obs.columns]
    gwu_util = (june_utilisation(tables) * GWU_CONTACTS_PER_CASE / CONTACTS_PER_CASE) if june_cases else None
    area_text = ("the 9 English regions (ONS)" if areas == "region"
                 else f"{n_regions} upper-tier local authorities (2019 boundaries; Cornwall includes Scilly, "
                      "Hackney includes the City of London)")
    notes = [
        ("what", "England's contact-tracing workforce, 2020-21",
         "built by inputs/build_examples.py from inputs/data/england-2020 (see inputs/README.md)"),
        ("regions", area_text, ONS),
        ("population", f"{int(tables['regions']['population'].sum()):,} (England, mid-2019)", ONS),
        ("start_date", f"{START} (Monday of the week NHS Test and Trace launched, 28 May 2020)", NAO),
        ("weeks", f"{weeks} (of {MAX_WEEKS} weeks of data, to the week of {week_start(MAX_WEEKS)})",
         "assumption: planning horizon; choose with --weeks"),
        ("hours_per_fte_week", f"{HOURS_PER_FTE_WEEK}", "assumption: a standard full-time week"),
        ("productive_share", f"{PRODUCTIVE_SHARE}", "assumption: breaks, briefings, admin take the rest"),
        ("reveal_week", f"{s['reveal_week']} (week of {week_start(s['reveal_week'])})",
         "assumption: by then four weeks of Test and Trace figures show which path cases are on"),
        ("mip_gap", f"{MIP_GAP}", "assumption: 0.1% is ample for planning"),
        ("observed cases", f"weekly lab-confirmed cases by {'region' if areas == 'region' else 'UTLA'}, "
         f"weeks 1-{weeks}; about 1% of England's cases (never assigned to an area) are missing", DASH),
        ("low / central / high", "each area's week-1 cases (25-31 May 2020) grown week by week by the factors "
         "in the scenarios sheet: what a planner could draw at the start of June 2020 from the cases then known",
         "assumption"),
    ]
    for sid, p, desc, phases, floor in SCENARIOS:
        factors = ", ".join(f"x{f} a week from week {w}" for w, f in phases)
        notes.append((f"scenario {sid}", f"probability {p}; {factors}" + (f"; floor {floor} x week 1" if floor
                                                                         else ""), f"assumption: {desc}"))
    notes += [
        ("scenario observed", f"probability {OBSERVED_PROBABILITY}; the real series", f"assumption (probability); "
         f"cases: {DASH}"),
        ("complex: tasks_per_case", "1 (every case needs an interview or, in a complex setting such as a care "
         "home, school or prison, an investigation: tier 1/2 work)", f"assumption, after the tiers in {NAO}"),
        ("complex: minutes_per_task", f"{MIN_INTERVIEW:g} = {PRODUCTIVE_HOURS_PER_DAY:g} productive hours a day / "
         f"{GWU_INTERVIEWS_PER_DAY} case interviews a day", GWU),
        ("contact_call: tasks_per_case", f"{CONTACTS_PER_CASE} = {NHSTT_CONTACTS_18_24_JUNE:,} / "
         f"{NHSTT_CASES_18_24_JUNE:,} close contacts per case (the GWU planning figure of "
         f"{GWU_CONTACTS_PER_CASE} would give about {gwu_util:.1%} June utilisation)" if gwu_util is not None
         else f"{CONTACTS_PER_CASE}", NHSTT),
        ("contact_call: minutes_per_task", f"{MIN_NOTIFICATION:g} = {PRODUCTIVE_HOURS_PER_DAY:g} productive hours a "
         f"day ({HOURS_PER_FTE_WEEK} h x {PRODUCTIVE_SHARE} / 5) / {GWU_NOTIFICATIONS_PER_DAY} contact "
         "notifications a day, for every source", GWU),
        ("local_followup: minutes_per_task", f"{LOCAL_FOLLOWUP_MIN}", "assumption: repeat calls or a doorstep "
         "visit for a contact the national service failed to reach"),
        ("value_per_task", f"complex {VALUE_COMPLEX}, contact_call {VALUE_CONTACT}, local_followup "
         f"{VALUE_FOLLOWUP} GBP", "assumption: the cost of a task not done; sets how hard the plan tries"),
        ("min_completion_share", "0 for every work type", "assumption: no hard target, so every scenario is "
         "feasible; the values above drive completion"),
        ("national_callers: success_rate", f"{NATIONAL_SUCCESS}", f"{NAO}: about 60% of contacts reached by the "
         "national call centres (58.9% in the week to 11 Nov 2020)"),
        ("national_callers: escalation_share", f"{NATIONAL_ESCALATION}", "assumption: half the contacts the "
         "national service fails to reach are passed to a local team (local tracing partnerships existed in "
         "about 200 councils by late Nov 2020, SOURCES.md)"),
        ("national_callers: handoff_minutes", f"{NATIONAL_HANDOFF_MIN}", "assumption: minutes to pass one "
         "failed contact to the local team"),
        ("local success rates", f"eho local_followup {LOCAL_SUCCESS}, redeployed/hire local_followup 0.85",
         "SOURCES.md: local tracing partnerships reached about 9 in 10 cases passed to them (hire/redeployed "
         "0.85: assumption)"),
        ("local contact_call success", "eho 0.9, redeployed 0.8, hire 0.8; their failures go to local follow-up "
         "(escalation_share 1, handoff 5 min)", "assumption, below the 97-99% NAO reports for cases handled by "
         "local health protection teams"),
        ("complex success", "eho 0.95; hire 0.8 at 1.25 x the minutes", "assumption"),
        ("national_2020: status", "signed, start week 1 (arranged before the plan starts)"
         if tables["contracts"].iloc[0]["status"] == "signed" else
         f"option, start week {1 + OPTION_LEAD} (counterfactual: the block contract only offered)",
         f"{NAO}: contracts let in May 2020"),
        ("national_2020: committed_fte / max_fte", f"{CONTRACT_FTE:,}", f"{NAO}: contracts for 18,000 call "
         "handlers (Serco and Sitel); no flexibility to reduce numbers in the initial term"),
        ("national_2020: min_term_weeks", f"{CONTRACT_WEEKS} (late May to 23 August 2020)", NAO),
        ("national_2020: cost_per_fte_week", f"{CONTRACT_PRICE} = GBP 192m / ({CONTRACT_FTE:,} FTE x "
         f"{CONTRACT_WEEKS} weeks) = GBP {CONTRACT_PRICE / HOURS_PER_FTE_WEEK:.2f} an hour (cf. GBP 21.50 an hour "
         "one subcontractor charged)", f"{NAO}: initial value about GBP 192m for both suppliers"),
        ("national_2020: after the term", f"runs to week {weeks}; after week {CONTRACT_WEEKS} the level may be cut "
         f"at {NATIONAL_NOTICE} weeks' notice or raised at {OPTION_LEAD} weeks' lead, up to {CONTRACT_FTE:,}",
         f"{NAO}: renegotiated in August down to 12,000 (notice and lead weeks: assumption)"),
    ]
    for cid, term, mult, ramp, notice, desc in OPTIONS:
        notes.append((f"option {cid}", f"{desc}; GBP {round(CONTRACT_PRICE * mult, 2)} per FTE-week "
                      f"({mult} x the signed price); start week {1 + OPTION_LEAD} ({OPTION_LEAD} weeks' lead); "
                      f"notice {notice} weeks; up to {CONTRACT_FTE:,} FTE",
                      "assumption: flexible terms a procurement team could have asked for"))
    notes += [
        ("eho availability", f"{EHO_POSTS_ENGLAND:,} posts x population share x {EHO_SHARE_FOR_TRACING} free for "
         f"tracing = {EHO_POSTS_ENGLAND * EHO_SHARE_FOR_TRACING:g} FTE in England", f"{CIEH} (posts); "
         "assumption (share free for tracing; 8 in 10 EHOs were redeployed to COVID-19 work of some kind)"),
        ("eho cost_per_fte_week", f"{EHO_COST}", "assumption: about GBP 37k salary plus 30% on-costs"),
        ("redeployed availability", f"{REDEPLOYED_PER_100K} FTE per 100,000 people until the week of "
         f"{REDEPLOYED_RECALL_DATE} (weeks 1-{recall_week() - 1}), then {REDEPLOYED_REMAIN:.0%} of it",
         "SOURCES.md: libraries in England could reopen from 4 July 2020 and such staff were recalled; pool "
         "size and share remaining: assumption"),
        ("redeployed / hire cost_per_fte_week", f"{LOCAL_STAFF_COST} = GBP {HOURLY_PAY:g} an hour x "
         f"{HOURS_PER_FTE_WEEK} h x (1 + {ON_COSTS} on-costs)", "SOURCES.md (NAO reporting): call handlers "
         "advertised at about GBP 8.72-10 an hour; on-costs: assumption"),
        ("redeployed lead_weeks", "1", "assumption: a week to release and train them"),
        ("hire availability", f"{HIRE_POOL_PER_100K} FTE per 100,000 people "
         f"({HIRE_POOL_PER_100K * tables['regions']['population'].sum() / 1e5:,.0f} in England)",
         f"{NACCHO}: 30 tracers per 100,000 in an epidemic, used here as the recruitable pool (assumption)"),
        ("hire terms", f"onboarding GBP {HIRE_ONBOARDING:,}; lead {HIRE_LEAD} weeks; notice {HIRE_NOTICE} weeks; "
         f"fixed term {HIRE_MIN_TERM} weeks; at most {HIRE_RAMP[areas]} onboarded per area per week",
         "assumption"),
        ("training_hours", f"{TRAINING_HOURS} per new redeployed or hired tracer, given by EHOs",
         "SOURCES.md (NAO reporting): training about one 8-hour shift; EHOs as trainers: assumption"),
        ("supervision_ratio", f"{SUPERVISION_RATIO} EHO FTE per redeployed or hired FTE", "assumption"),
        ("check: hours per case", f"{per_case:.3f} contractor hours per case if it makes every contact call "
         f"= {CONTACTS_PER_CASE} x ({MIN_NOTIFICATION:g} + {NATIONAL_HANDOFF_MIN} x (1 - {NATIONAL_SUCCESS}) x "
         f"{NATIONAL_ESCALATION}) / 60", "derived from the rows above (formulation.md)"),
    ]
    if june_cases:
        notes.append((
            "check: June utilisation", f"{june_utilisation(tables):.1%} at most: observed cases in the weeks "
            f"starting in June ({', '.join(f'{c:,.0f}' for c in june_cases)}) x {per_case:.3f} h / "
            f"({CONTRACT_FTE:,} x {HOURS_PER_FTE_WEEK} h); mid-June (week of 15 June) "
            f"{util[4]:.1%}" if 4 in util else f"{june_utilisation(tables):.1%}",
            f"derived; compare {NAO}: utilisation of call handlers in mid-June 2020 was 1%"))
    return notes


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------
def write_england(path: Path, areas: str = "region", weeks: int = DEFAULT_WEEKS, data_dir: Path = DATA_DIR,
                  national: str = "signed") -> dict:
    from capacity.io.workbook import write_input_workbook

    tables = england_tables(areas, weeks, data_dir, national)
    title = ("capacity example: England contact tracing 2020-21, "
             + ("9 regions" if areas == "region" else f"{len(tables['regions'])} upper-tier authorities")
             + ("" if national == "signed" else " (counterfactual: national_2020 not yet signed)"))
    write_input_workbook(path, tables, weeks=weeks, notes=england_notes(tables, areas), title=title)
    return tables


def write_from_week(week: int, scenario: str = "observed", source: Path = DEFAULT_OUT["region"],
                    out: Path | None = None) -> Path:
    """The example rolled forward to ``week`` (``capacity replan``): ``source`` is planned (in a temporary
    folder), then re-planned from ``week`` with the plan's branch ``scenario`` as what happened. Written to
    ``out`` (default ``<source stem>-from-week-<week>.xlsx`` beside ``source``)."""
    import tempfile

    from capacity import api
    from capacity.io.errors import InputError

    out = out or source.with_name(f"{source.stem}-from-week-{week}.xlsx")
    with tempfile.TemporaryDirectory() as tmp:
        plan = Path(tmp) / f"{source.stem}-plan.xlsx"
        try:
            res = api.plan(source, plan)
            if res.exit_code != 0:
                raise ValueError(f"{source}: capacity plan exited {res.exit_code}: {res.message}")
            api.replan(source, plan, week, scenario=scenario, output=out)
        except InputError as exc:
            raise ValueError(str(exc)) from None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--areas", choices=("region", "utla"), default="region",
                    help="9 English regions (default) or 149 upper-tier local authorities")
    ap.add_argument("--weeks", type=int, default=DEFAULT_WEEKS, help=f"weeks from 2020-05-25 (1..{MAX_WEEKS})")
    ap.add_argument("-o", "--out", type=Path, help="output workbook (default inputs/england-2020[-utla].xlsx)")
    ap.add_argument("--data", type=Path, default=DATA_DIR, help="folder with the england-2020 CSVs")
    ap.add_argument("--national", choices=("signed", "option"), default="signed",
                    help="'option': counterfactual in which the 2020 block contract is not yet signed")
    ap.add_argument("--from-week", type=int, metavar="T",
                    help="instead: plan the example (inputs/england-2020.xlsx, or --out) and re-plan it from week T "
                         "(capacity replan) into <stem>-from-week-T.xlsx beside it")
    ap.add_argument("--scenario", default="observed",
                    help="with --from-week: the scenario that happened (default observed)")
    args = ap.parse_args(argv)
    out = args.out or DEFAULT_OUT[args.areas]
    if args.from_week is not None:
        try:
            written = write_from_week(args.from_week, args.scenario, out)
        except (ValueError, FileNotFoundError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {written} (re-planned from week {args.from_week}, scenario {args.scenario})")
        return 0
    try:
        tables = write_england(out, args.areas, args.weeks, args.data, args.national)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {out} ({len(tables['regions'])} areas, {args.weeks} weeks); national_2020 utilisation implied "
          f"by observed June cases: {june_utilisation(tables):.1%}" if june_weeks(args.weeks) else f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
