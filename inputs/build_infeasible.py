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
90% completed. ``capacity plan`` exits with status 3 and writes the
diagnostic workbook instead of a plan. Its first sheet, ``read_me_first``
(and the first lines on stderr), ranks what would make a plan possible,
each found by solving the model again with the value changed:

1. lower the complex target (``work_types!E2``) from 90% to at most 80%
   (hires alone complete 80%);
2. keep at least 2.6 FTE of north's EHOs on casework in weeks 5-6
   (``availability!G2:H2``): in week 6 of scenario ``high``, 90% of 76
   complex tasks is 68.4, and EHOs (95% success) must attempt x tasks with
   0.95x + 0.8(76 - x) >= 68.4, x >= 50.7 tasks = 76 hours = 2.53 FTE.

More hires, shorter lead times or terms do not help alone (sheet
``remedies`` lists every change tried); the conflict itself, with the cells
involved, is in sheet ``infeasibility``.
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
        ("fixes", f"min_completion_share <= 0.8 (work_types!E2), or at least 2.6 FTE eho availability in "
                  f"north weeks {weeks} (availability!G2:H2)",
         "as computed by capacity plan (sheet read_me_first of the diagnosis): each alone makes a plan possible"),
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
