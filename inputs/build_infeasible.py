"""Build ``inputs/infeasible-example.xlsx``: a small planning workbook that has no feasible plan.

    python inputs/build_infeasible.py            # inputs/infeasible-example.xlsx
    capacity plan inputs/infeasible-example.xlsx -o outputs/infeasible-diagnosis.xlsx   # exit 3

It is the small example (``capacity.io.examples.small_tables()``) with two
realistic changes a planner might make:

1. The service standard for complex cases is raised to 90% completed within
   the week (``work_types`` complex ``min_completion_share`` 0.8 -> 0.9).
2. North's environmental health officers are called back to the council's
   statutory food-hygiene inspections in weeks 5 and 6 (``availability``
   eho/north weeks 5-6: 8 -> 0 FTE).

Each change on its own still has a plan. Together they do not: in weeks 5-6
the only staff in the north who can do complex work are the new hires, who
complete 80% of the complex cases they attempt (``skills`` hire/complex
``success_rate`` 0.8), and no staffing level turns an 80% success rate into
90% completed. ``capacity plan`` exits with status 3, prints that conflict
with the cells involved, and writes the diagnostic workbook (sheet
``infeasibility``). The fix is one of: a target of at most 80% in those
weeks, keeping some EHOs on casework, or another source with a success rate
above 90% for complex work in the north.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from capacity.io.examples import WEEKS, small_tables
from capacity.io.workbook import write_input_workbook

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "inputs" / "infeasible-example.xlsx"

TARGET = 0.9            # complex cases: share completed within the week
RECALL_WEEKS = (5, 6)   # north's EHOs back on food-hygiene inspections


def infeasible_tables() -> dict:
    tables = small_tables()
    wt = tables["work_types"]
    wt.loc[wt["work_type"] == "complex", "min_completion_share"] = TARGET
    av = tables["availability"]
    north_eho = (av["source"] == "eho") & (av["region"] == "north")
    for w in RECALL_WEEKS:
        av.loc[north_eho, w] = 0
    return tables


def infeasible_notes() -> list[tuple[str, str, str]]:
    weeks = "-".join(str(w) for w in (RECALL_WEEKS[0], RECALL_WEEKS[-1]))
    return [
        ("all numbers", "", "assumption: made-up figures (the small example, capacity template --example small)"),
        ("purpose", "a workbook with NO feasible plan",
         "capacity plan exits 3 and explains the conflict in input terms (sheet infeasibility of the output)"),
        ("change 1", f"work_types complex min_completion_share {TARGET:g} (small example: 0.8)",
         "assumption: a stricter service standard for complex cases"),
        ("change 2", f"availability eho north weeks {weeks}: 0 FTE (small example: 8)",
         "assumption: north's EHOs recalled to statutory food-hygiene inspections"),
        ("the conflict", f"north, weeks {weeks}: only hires can do complex work, and they complete 80% "
                         f"(skills hire/complex success_rate 0.8) < {TARGET:.0%} required",
         "no staffing level turns an 80% success rate into 90% completed"),
        ("fixes", f"min_completion_share <= 0.8, or some eho availability in north weeks {weeks}, "
                  "or a source with success_rate > 0.9 for complex work there", ""),
    ]


def write_infeasible(path) -> None:
    write_input_workbook(path, infeasible_tables(), weeks=WEEKS,
                         title="capacity example: infeasible (a plan is impossible; see README)",
                         notes=infeasible_notes())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT)
    a = ap.parse_args()
    write_infeasible(a.output)
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
