"""`capacity explain OUT.xlsx SHEET!CELL` (capacity/analysis/explain.py): a figure's derivation,
back to the input cells, on a plan workbook of the small example."""

from __future__ import annotations

import openpyxl
import pytest
from click.testing import CliRunner

from capacity.analysis.explain import DECISION, explain, parse_ref, references
from capacity.cli import main
from capacity.io.errors import InputError
from conftest import plan_small_example


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """The small example and a fresh plan of it, side by side in one folder."""
    return plan_small_example(tmp_path_factory.mktemp("explain"))


@pytest.fixture(scope="module")
def cells(planned):
    """Where things are in this plan: the header letters of the plan sheet, and row 4 (low, week 1,
    north, eho: 8 FTE, 300 paid hours, 240 task hours from work rows 2 and 3)."""
    _, out = planned
    book = openpyxl.load_workbook(out, data_only=True)
    plan, work = book["plan"], book["work"]
    head = {c.value: c.column_letter for c in plan[1]}
    row = [plan[f"{head[k]}4"].value for k in ("scenario", "week", "region", "unit", "fte", "paid_hours",
                                                "task_hours")]
    assert row == ["low", 1, "north", "eho", 8, 300, 240]
    assert [work[f"{x}2"].value for x in "ACDEF"] == ["low", "north", "complex", "eho", 30]
    return head


def test_utilisation_reaches_settings_and_skills_cells(planned, cells):
    _, out = planned
    ref = f"plan!{cells['utilisation']}4"
    e = explain(out, ref)
    assert e.root.ref == ref and e.root.kind == "formula" and e.root.value == pytest.approx(0.8)
    assert e.root.header == "utilisation"
    assert e.root.ids == "scenario low, week 1 (from 2020-05-25), region north, unit eho"
    sources = {n.source: n for n in e.inputs()}
    assert set(sources) == {"settings!B4", "skills!C3", "skills!D3", "skills!C4", "skills!D4"}
    assert (sources["settings!B4"].header, sources["settings!B4"].value) == ("hours_per_fte_week", 37.5)
    assert (sources["skills!C3"].header, sources["skills!C3"].value) == ("minutes_per_task of eho / complex", 90)
    text = e.text()
    assert ("input_settings!B4 = hours_per_fte_week 37.5 (from the input's settings!B4): input cell") in text
    assert "input_skills!C4 = minutes_per_task of eho / contact_call 15 (from the input's skills!C4)" in text
    # the decisions are leaves, the tree is indented by level
    fte = next(n for n in e.root.walk() if n.ref == f"plan!{cells['fte']}4")
    assert fte.kind == "decision" and fte.note == DECISION and not fte.children
    assert f"    plan!{cells['fte']}4 = 8  [fte]: decision of the model" in e.lines()
    assert "        work!F2 = 30  [attempted]: decision of the model" in e.lines()
    # task hours: the SUM range of its two work rows, each expanded
    rng = next(n for n in e.root.walk() if n.kind == "range")
    assert rng.ref == "work!K2:K3" and [c.ref for c in rng.children] == ["work!K2", "work!K3"]
    assert rng.note == "2 cells; 2 numbers, sum 240"


def test_productive_hours_reach_productive_share(planned, cells):
    _, out = planned
    e = explain(out, f"plan!{cells['productive_hours']}4")
    assert {n.source: n.header for n in e.inputs()} == {"settings!B4": "hours_per_fte_week",
                                                       "settings!B5": "productive_share"}


def test_long_range_is_summarised(planned):
    """contracts!G2 (expected cost) is a SUMPRODUCT over the 264 plan rows: summarised, three cells shown."""
    _, out = planned
    e = explain(out, "contracts!G2")
    ranges = [n for n in e.root.walk() if n.kind == "range"]
    assert [r.ref for r in ranges] == ["plan!A2:A265", "plan!E2:E265", "plan!P2:P265"]
    scen, _, cost = ranges
    assert scen.note.startswith("264 cells; 264 texts ('low', 'high', 'expected'); no formulas")
    assert not scen.children
    expanded = [c for c in cost.children if c.kind != "limit"]
    assert len(expanded) == 3 and all(c.value != 0 for c in expanded)
    assert cost.children[-1].note == "261 more cells of plan!P2:P265 not shown"
    assert len(e.lines()) < 60


def test_constant_and_decision_cells(planned, cells):
    _, out = planned
    e = explain(out, "summary!B3")
    assert e.root.kind == "constant" and e.root.header == "objective"
    assert e.lines()[2] == f"summary!B3 = {e.root.value:,.6g}  [objective]: a constant (no formula)"
    e = explain(out, f"plan!{cells['fte']}4")
    assert e.root.kind == "decision"
    e = explain(out, "input_settings!B5")
    assert e.root.kind == "input" and e.root.header == "productive_share" and e.root.source == "settings!B5"


def test_references_and_parse_ref():
    f = "=SUMPRODUCT((plan!$A$2:$A$9=\"expected\")*EXACT(plan!$E$2:$E$9,A2)*'my sheet'!B$3)+A2"
    assert references(f) == ["plan!$A$2:$A$9", "plan!$E$2:$E$9", "A2", "'my sheet'!B$3"]
    assert parse_ref("'my sheet'!B$3") == ("my sheet", (2, 3, 2, 3))
    assert parse_ref("$C$4", "work") == ("work", (3, 4, 3, 4))
    assert parse_ref("plan!A2:B9") == ("plan", (1, 2, 2, 9))
    for bad in ("plan!", "plan!ZZ", "plan!A:A", "foo"):
        with pytest.raises(ValueError):
            parse_ref(bad)


@pytest.mark.parametrize("ref, message", [
    ("nosuch!A1", "no sheet 'nosuch'; its sheets: read_me_first, "),
    ("Plan!A1", "no sheet 'Plan' (did you mean 'plan'?)"),
    ("plan!ZZ", "'plan!ZZ': not a cell reference; give the cell as SHEET!CELL, e.g. plan!O2"),
    ("O4", "'O4': give the cell as SHEET!CELL, e.g. plan!O2"),
    ("plan!A1:B2", "'plan!A1:B2': a range; give one cell, e.g. plan!A1"),
    ("plan!Z999", "plan!Z999: the cell is empty; nothing to explain"),
])
def test_bad_references(planned, ref, message):
    _, out = planned
    with pytest.raises(InputError) as err:
        explain(out, ref)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_cli(planned, cells):
    _, out = planned
    runner = CliRunner()
    r = runner.invoke(main, ["explain", str(out), f"plan!{cells['utilisation']}4"])
    assert r.exit_code == 0, r.output
    assert "input_settings!B4 = hours_per_fte_week 37.5 (from the input's settings!B4)" in r.stdout
    assert "input_skills!C3 = minutes_per_task of eho / complex 90" in r.stdout
    r = runner.invoke(main, ["explain", str(out), "plan!Z999"])
    assert r.exit_code == 1
    assert r.stderr == "plan!Z999: the cell is empty; nothing to explain\n"
    r = runner.invoke(main, ["explain", str(out.parent / "nope.xlsx"), "plan!A1"])
    assert r.exit_code == 1 and "file not found" in r.stderr and "Traceback" not in r.output
    r = runner.invoke(main, ["explain", str(out), f"plan!{cells['utilisation']}4", "--depth", "1"])
    assert r.exit_code == 0 and "input_skills" not in r.stdout and "not followed further: --depth 1 reached" in r.stdout
