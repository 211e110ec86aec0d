"""Infeasibility explained in input terms: pre-solve checks, the elastic
mapping, `capacity plan` on the infeasible example (exit 3, diagnostic workbook)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from capacity.analysis import diagnose as D
from capacity.cli import main
from capacity.io.examples import WEEKS, small_tables
from capacity.io.validate import read_inputs
from capacity.io.workbook import write_input_workbook

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "inputs" / "infeasible-example.xlsx"
# small example cells: work_types!E2 complex min_completion_share; availability rows eho/north 2,
# hire/north 4; demand rows low/north 2, high/north 5; week w in column chr(ord('B') + w);
# skills!D3 eho/complex and D9 hire/complex success_rate; sources row 5 = hire (E lead_weeks,
# G min_term_weeks); contracts!H2/H3 max_fte.


def _build():
    spec = importlib.util.spec_from_file_location("build_infeasible", REPO / "inputs" / "build_infeasible.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _inputs(tmp_path, tables, name="in.xlsx"):
    path = tmp_path / name
    write_input_workbook(path, tables, weeks=WEEKS)
    return read_inputs(path)[0]


def _complex_target(tables, share):
    tables["work_types"].loc[tables["work_types"]["work_type"] == "complex", "min_completion_share"] = share
    return tables


def _set_avail(tables, source, region, weeks, value):
    av = tables["availability"]
    av.loc[(av["source"] == source) & (av["region"] == region), list(weeks)] = value
    return tables


def _at(conflicts, scenario, week, region="north"):
    got = [c for c in conflicts if (c.scenario, c.week, c.region) == (scenario, week, region)]
    assert len(got) == 1, [(c.scenario, c.week, c.region) for c in conflicts]
    return got[0]


# --------------------------------------------------------------------------- pre-solve checks
def test_completion_above_success_rate_names_the_cells(tmp_path):
    inp = _inputs(tmp_path, _build().infeasible_tables())
    conflicts = D.completion_above_success_rate(inp)
    assert {(c.scenario, c.week, c.region, c.work_type) for c in conflicts} == {
        (w, t, "north", "complex") for w in ("low", "high") for t in (5, 6)}
    c = _at(conflicts, "high", 5)
    assert c.family == "demand.completion" and c.equation == "13"
    assert c.input_cells == ["work_types!E2", "demand!G5", "skills!D3", "availability!G2", "skills!D9"]
    assert "90%" in c.explanation and "80%" in c.explanation
    # 90% of 68 tasks required, at most 80% can be completed
    assert c.slack == pytest.approx((0.9 - 0.8) * 68)


def test_completion_unreachable_names_the_cells(tmp_path):
    t = _complex_target(small_tables(), 0.5)
    _set_avail(t, "eho", "north", [5, 6], 0)
    _set_avail(t, "hire", "north", range(1, 9), 0)
    inp = _inputs(tmp_path, t)
    assert D.completion_above_success_rate(inp) == []  # nobody staffed: a capacity conflict
    conflicts = D.completion_unreachable(inp)
    assert {(c.scenario, c.week) for c in conflicts} == {(w, t) for w in ("low", "high") for t in (5, 6)}
    c = _at(conflicts, "low", 6)
    assert c.input_cells == ["work_types!E2", "demand!H2", "availability!H2", "availability!H4"]
    assert c.slack == pytest.approx(0.5 * 13)


def test_cohort_term_against_availability_drop_only_with_a_target(tmp_path):
    """A min term over an availability drop is not infeasible by itself (onboard fewer); it is
    named when it leaves a completion target with nobody able to work."""
    t = small_tables()
    _set_avail(t, "eho", "north", range(1, 9), 0)
    _set_avail(t, "hire", "north", [6], 0)
    src = t["sources"]
    src.loc[src["source"] == "hire", ["trainer", "training_hours"]] = [None, 0]
    t = _complex_target(t, 0)
    assert D.presolve_conflicts(_inputs(tmp_path, t, "no-target.xlsx")) == []
    inp = _inputs(tmp_path, _complex_target(t, 0.5))
    conflicts = D.presolve_conflicts(inp)
    # weeks 1-2 lead time, 3-5 a 4-week term would cover the week-6 drop, 6 no availability;
    # from week 7 hires can be onboarded again (10 a week)
    assert {c.week for c in conflicts} == {1, 2, 3, 4, 5, 6}
    assert "sources!E5" in _at(conflicts, "high", 2).input_cells          # lead_weeks
    c = _at(conflicts, "high", 4)
    assert {"sources!G5", "availability!H4"} <= set(c.input_cells)       # min_term_weeks, the drop
    assert "min_term_weeks 4" in c.explanation
    line = D.conflict_lines(inp, conflicts)[0]
    assert "weeks 1–6" in line and "sources!E5, G5" in line


def test_contract_capacity_is_pooled_over_regions(tmp_path):
    t = _complex_target(small_tables(), 0.5)
    t["skills"].loc[len(t["skills"])] = {"source": "callco", "work_type": "complex", "minutes_per_task": 60,
                                         "success_rate": 0.9, "escalation_share": 0, "handoff_minutes": 0}
    _set_avail(t, "eho", "north", range(2, 9), 0)
    _set_avail(t, "hire", "north", range(2, 9), 0)
    t["contracts"]["max_fte"] = [0.2, 0.2]
    inp = _inputs(tmp_path, t)
    conflicts = D.presolve_conflicts(inp)
    c = _at(conflicts, "low", 2)
    assert c.input_cells == ["work_types!E2", "demand!D2", "availability!D2", "availability!D4",
                             "contracts!H2", "contracts!H3"]
    assert "for all regions together" in c.explanation
    # the elastic model relaxes the contracts' max_fte
    rows = D.elastic_rows(inp, D.elastic_violations_of(inp))
    assert set(rows["family"]) == {"contracts.size_max"}
    assert set(rows["input_cells"]) <= {"contracts!H2", "contracts!H3"}


@pytest.mark.parametrize("source", ["small", "england"])
def test_feasible_inputs_have_no_conflicts(small_path, source):
    path = small_path if source == "small" else REPO / "inputs" / "england-2020.xlsx"
    inp = read_inputs(path)[0]
    assert D.presolve_conflicts(inp) == []


# --------------------------------------------------------------------------- elastic mapping
def test_elastic_mapping_of_the_example(tmp_path):
    inp = _inputs(tmp_path, _build().infeasible_tables())
    d = D.diagnose(inp, remedies=False)
    el = d.table[d.table["found_by"] == D.FOUND_ELASTIC]
    assert set(el["family"]) == {"demand.completion"} and set(el["equation"]) == {"13"}
    row = el[(el["scenario"] == "high") & (el["week"] == 5)].iloc[0]
    assert row["region"] == "north" and row["work_type"] == "complex"
    assert row["input_cells"].split("; ")[:2] == ["work_types!E2", "demand!G5"]
    assert "availability!G2" in row["input_cells"] and "availability!G4" in row["input_cells"]


def test_elastic_mapping_when_no_presolve_check_sees_it(tmp_path):
    """One EHO left in the north in weeks 5-6: 90% is reachable in principle (EHOs succeed 95%),
    but not with 1 EHO beside 80%-successful hires. Only the solver sees it."""
    t = _set_avail(_complex_target(small_tables(), 0.9), "eho", "north", [5, 6], 1)
    inp = _inputs(tmp_path, t)
    assert D.presolve_conflicts(inp) == []
    d = D.diagnose(inp)
    assert not d.certain
    assert set(d.table["family"]) == {"regional.availability"}
    assert set(d.table["input_cells"]) <= {"availability!G2", "availability!H2"}
    assert set(d.table["unit"]) == {"eho"} and set(d.table["region"]) == {"north"}
    assert any("eho in region north" in x and "availability!G2:H2" in x for x in d.lines)
    # remedies: week 6, scenario high, needs 0.9 x 76 = 68.4 complex tasks completed; EHOs (95%) must
    # attempt x with 0.95x + 0.8(76 - x) >= 68.4, x >= 50.67 tasks x 1.5 h = 76 h = 2.53 FTE: 2.6 at
    # 0.1 FTE steps. The target: the 1 EHO does 30 h / 1.5 h = 20 tasks, 19 completed; hires the other
    # 56 at 80%, 44.8: 63.8 / 76 = 83.95% -> at most 83.9% at 0.1-point steps (84% has no plan).
    eho = [r for r in d.remedies if r.lever.kind == "availability" and "eho" in r.lever.subject]
    assert len(eho) == 1 and eho[0].needed == pytest.approx(2.6) and eho[0].short == pytest.approx(2.5)
    assert eho[0].lever.cells == ["availability!G2", "availability!H2"] and eho[0].lever.current == [1, 1]
    target = [r for r in d.remedies if r.lever.kind == "target"][0]
    assert (target.needed, target.short) == (pytest.approx(0.839), pytest.approx(0.84))
    assert target.lever.cells == ["work_types!E2"]
    assert d.lines[0].startswith("No plan is possible.") and "Why:" in d.lines


def test_table_columns_and_cell_ranges():
    assert D.compress_cells(["demand!G5", "demand!H5", "demand!I5", "demand!G2", "work_types!E2"]) == \
        "demand!G2, G5:I5; work_types!E2"
    assert D.week_ranges([5, 6, 8]) == "weeks 5–6, 8"
    d = D.Diagnosis(lines=[], table=pd.DataFrame(columns=D.TABLE_COLUMNS))
    assert not d.certain


# --------------------------------------------------------------------------- capacity plan
def test_example_is_what_the_script_builds(tmp_path):
    out = tmp_path / "rebuilt.xlsx"
    _build().write_infeasible(out)
    a, b = read_inputs(EXAMPLE)[0], read_inputs(out)[0]
    for name in ("work_types", "sources", "skills", "contracts", "availability", "demand"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


@pytest.fixture(scope="module")
def example_plan(tmp_path_factory):
    """`capacity plan` on the infeasible example: (click result, diagnosis workbook path)."""
    out = tmp_path_factory.mktemp("diagnosis") / "diagnosis.xlsx"
    return CliRunner().invoke(main, ["plan", str(EXAMPLE), "-o", str(out)]), out


def test_plan_on_the_infeasible_example_explains_and_exits_3(example_plan):
    r, out = example_plan
    assert r.exit_code == 3, r.output
    err = r.stderr
    assert "infeasible" in err and "eq 13" in err
    assert "complex work in region north, weeks 5–6" in err
    for cell in ("work_types!E2", "skills!D9", "skills!D3", "availability!G2:H2"):
        assert cell in err, cell
    assert "Traceback" not in err
    book = openpyxl.load_workbook(out, read_only=True)
    assert "infeasibility" in book.sheetnames and "run" in book.sheetnames
    rows = list(book["infeasibility"].values)
    head = rows[0]
    table = pd.DataFrame(rows[1:], columns=head)
    pre = table[table["found_by"] == D.FOUND_PRESOLVE]
    assert len(pre) == 4
    assert set(pre["region"]) == {"north"} and set(pre["week"]) == {5, 6}
    assert all("work_types!E2" in c and "skills!D9" in c for c in pre["input_cells"])
    run = dict(r[:2] for r in list(book["run"].values)[1:])
    assert run["solver_status"] == "infeasible"
    assert not list(out.parent.glob("*.tmp*"))


# the example's two remedies, by hand: with no EHO in the north in weeks 5-6 only hires (80%) can do
# complex work, so a target of at most 80% has a plan (80.1% none); or EHOs: week 6, scenario high,
# 0.9 x 76 = 68.4 completed needs 0.95x + 0.8(76 - x) >= 68.4, x >= 50.67 tasks x 1.5 h = 76 h
# = 2.53 FTE -> 2.6 FTE at 0.1 FTE steps.
TARGET_LINE = "  1. Lower the completion target for complex work (work_types!E2) from 90% to at most 80% "
EHO_LINE = ("  2. Raise the availability of eho in region north in weeks 5–6 (availability!G2:H2) from 0 FTE to "
            "at least 2.6 FTE each week ")


def test_plan_stderr_puts_the_ranked_remedies_first(example_plan):
    lines = example_plan[0].stderr.splitlines()
    first = lines.index(next(x for x in lines if x.startswith("the model is infeasible")))
    assert lines[first + 1].startswith("No plan is possible. Each of these changes alone")
    assert lines[first + 2].startswith(TARGET_LINE) and "[relative change 11.1%]" in lines[first + 2]
    assert lines[first + 3].startswith(EHO_LINE) and "[relative change 100%]" in lines[first + 3]
    assert lines[first + 4].startswith("Not enough alone") and "the availability of hire" in lines[first + 4]
    assert lines.index("Why:") > first + 4


def _cells(ws) -> list:
    return [tuple(c for c in row if c is not None) for row in ws.values]


def test_diagnosis_workbook_opens_on_read_me_first(example_plan):
    book = openpyxl.load_workbook(example_plan[1], read_only=True)
    assert book.sheetnames == ["read_me_first", "infeasibility", "remedies", "diagnosis", "run"]
    rows = [r for r in _cells(book["read_me_first"]) if r]
    text = "\n".join(" | ".join(map(str, r)) for r in rows)
    assert rows[0] == ("No plan: the input has no feasible staffing plan",)
    assert ("\u2022 In region north, weeks 5–6 (scenarios low and high), the completion target for complex work, "
            "90% (work_types!E2), cannot be met: the staff who can do complex work then complete at most 80% of "
            "the tasks they attempt.") in text
    head = rows.index(next(r for r in rows if r[0] == "change (smallest first)"))
    assert rows[head][1:6] == ("input cell(s) to edit", "value now", "value needed", "how it was found",
                               "relative change")
    assert rows[head + 1][:4] == ("1. Lower the completion target for complex work", "work_types!E2", "90%",
                                  "at most 80%")
    assert rows[head + 1][4].endswith("80% has a plan, 80.1% none")
    assert rows[head + 1][5] == "11.1%"  # (90 - 80) / 90
    assert rows[head + 2][:4] == ("2. Raise the availability of eho in region north, each of weeks 5–6",
                                  "availability!G2:H2", "0 FTE", "at least 2.6 FTE")
    assert "Run capacity validate infeasible-example.xlsx, then capacity plan infeasible-example.xlsx again." in text
    remedies = pd.DataFrame(list(book["remedies"].values)[1:], columns=next(book["remedies"].values))
    assert list(remedies["rank"][:2]) == [1, 2] and remedies["rank"][2:].isna().all()
    assert list(remedies["needed"][:2]) == [pytest.approx(0.8), pytest.approx(2.6)]
    assert set(remedies["status"][2:]) == {D.NOT_ENOUGH}


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_opens_the_diagnosis(example_plan, tmp_path):
    profile = tmp_path / "lo_profile"
    proc = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
                           "pdf", "--outdir", str(tmp_path), str(example_plan[1])],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "diagnosis.pdf").stat().st_size > 10_000
