"""Synthetic input workbooks of a given size for benchmarks.

Same structure as the shipped examples (a contractor with a signed block
contract and two options, EHOs, redeployed staff recalled mid-horizon, hires
trained and supervised by EHOs, escalation from contact calls to local
follow-up), with seeded random demand waves per region and scenario.

    python benchmarks/generate.py --regions 149 --weeks 52 --scenarios 10 -o /tmp/national.xlsx
"""

from __future__ import annotations

import argparse
import datetime as dt

import numpy as np
import pandas as pd

from capacity.io.examples import small_tables
from capacity.io.workbook import write_input_workbook


def synthetic_tables(regions: int, weeks: int, scenarios: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    base = small_tables()
    base.pop("history", None)   # the same instances as before version 2: no staff in post at the start
    region_ids = [f"r{i:03d}" for i in range(1, regions + 1)]
    pop = rng.integers(150_000, 1_500_000, size=regions)
    scen_ids = [f"s{j:02d}" for j in range(1, scenarios + 1)]
    prob = np.full(scenarios, 1.0 / scenarios)
    prob[-1] = 1.0 - prob[:-1].sum()
    t = np.arange(1, weeks + 1)
    demand = []
    for j, s in enumerate(scen_ids):
        growth = 0.6 + 1.2 * j / max(1, scenarios - 1)  # low .. high scenarios
        peak = rng.uniform(0.3, 0.8) * weeks
        for i, r in enumerate(region_ids):
            rate = pop[i] / 100_000 * 8 * growth  # cases per 100k per week at the peak
            wave = rate * np.exp(-((t - peak * rng.uniform(0.8, 1.2)) / (weeks / 4)) ** 2) + rate * 0.1
            demand.append({"scenario": s, "region": r} | dict(zip(t.tolist(), np.round(wave).tolist())))
    availability = []
    for i, r in enumerate(region_ids):
        eho = max(2, round(pop[i] / 100_000 * 0.6))
        availability.append({"source": "eho", "region": r} | {w: eho for w in t.tolist()})
        recall = weeks // 3
        availability.append({"source": "redeployed", "region": r}
                            | {w: (eho * 2 if w <= recall else max(1, eho // 2)) for w in t.tolist()})
        availability.append({"source": "hire", "region": r} | {w: eho * 5 for w in t.tolist()})
    contracts = base["contracts"].copy()
    contracts["end_week"] = weeks
    contracts["max_fte"] = 20 * regions
    contracts["max_increase_per_week"] = [5.0 * regions, None]
    contracts["min_term_weeks"] = [0, min(13, weeks - 2)]
    signed = {"contract": "callco_signed", "source": "callco", "status": "signed", "start_week": 1,
              "end_week": weeks, "min_term_weeks": min(13, weeks), "min_fte": 0, "max_fte": 10 * regions,
              "committed_fte": 2 * regions, "fixed_cost": 0, "cost_per_fte_week": 500, "lead_weeks": 1,
              "notice_weeks": 2}
    contracts = pd.concat([pd.DataFrame([signed]), contracts], ignore_index=True)
    settings = dict(base["settings"], weeks=weeks, reveal_week=max(2, weeks // 6), start_date=dt.date(2020, 5, 25))
    return base | {
        "settings": settings,
        "regions": pd.DataFrame({"region": region_ids, "name": region_ids, "population": pop}),
        "scenarios": pd.DataFrame({"scenario": scen_ids, "probability": prob}),
        "contracts": contracts,
        "availability": pd.DataFrame(availability),
        "demand": pd.DataFrame(demand),
    }


def write_synthetic(path, regions: int, weeks: int, scenarios: int, seed: int = 0) -> None:
    write_input_workbook(path, synthetic_tables(regions, weeks, scenarios, seed), weeks=weeks,
                         title=f"synthetic benchmark {regions} x {weeks} x {scenarios}",
                         notes=[("all numbers", "", "assumption: synthetic, seeded random data")])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--regions", type=int, default=9)
    ap.add_argument("--weeks", type=int, default=26)
    ap.add_argument("--scenarios", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    write_synthetic(a.output, a.regions, a.weeks, a.scenarios, a.seed)


if __name__ == "__main__":
    main()
