"""The England 2020-21 worked example (inputs/build_examples.py -> inputs/england-2020.xlsx)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pandas as pd
import pytest

from capacity.errors import ERROR
from capacity.reader import read_workbook
from capacity.validate import read_inputs

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "inputs" / "build_examples.py"
COMMITTED = REPO / "inputs" / "england-2020.xlsx"
COMMITTED_UTLA = REPO / "inputs" / "england-2020-utla.xlsx"


def _load_script():
    spec = importlib.util.spec_from_file_location("build_examples", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


be = _load_script()
DATA = be.DATA_DIR
needs_data = pytest.mark.skipif(not (DATA / "england_cases_weekly_region.csv").exists(),
                                reason=f"public data not found at {DATA}")

# A README note's source must name where the number came from, or say "assumption".
CITATION = re.compile(r"assumption|derived|NAO|CIEH|GWU|NACCHO|ONS|dashboard|NHS Test and Trace|SOURCES\.md|"
                      r"build_examples", re.I)


def _cells(path: Path) -> dict[str, list[list]]:
    raw = read_workbook(path)
    out = {}
    for name, sheet in raw.sheets.items():
        rows = [list(r) for r in sheet.cells]
        for r in rows:  # trailing blanks are not content
            while r and r[-1] == "":
                r.pop()
        while rows and not rows[-1]:
            rows.pop()
        out[name] = rows
    return out


def _errors(issues) -> list:
    return [i for i in issues if i.level == ERROR]


def _notes(path: Path) -> list[tuple[str, str, str]]:
    readme = read_workbook(path).sheets["README"].cells
    start = next(i for i, row in enumerate(readme) if list(row[:3]) == ["item", "value", "source"])
    notes = []
    for row in readme[start + 1:]:
        row = list(row) + ["", "", ""]
        if row[0] == "":
            break
        notes.append((str(row[0]), str(row[1]), str(row[2])))
    return notes


@needs_data
def test_script_reproduces_committed_workbook(tmp_path):
    built = tmp_path / "england-2020.xlsx"
    assert be.main(["-o", str(built)]) == 0
    assert _cells(built) == _cells(COMMITTED)


@needs_data
@pytest.mark.skipif(not COMMITTED_UTLA.exists(), reason="UTLA workbook not committed")
def test_script_reproduces_committed_utla_workbook(tmp_path):
    built = tmp_path / "england-2020-utla.xlsx"
    assert be.main(["--areas", "utla", "-o", str(built)]) == 0
    assert _cells(built) == _cells(COMMITTED_UTLA)


def test_committed_workbook_validates():
    inputs, issues = read_inputs(COMMITTED)
    assert not _errors(issues)
    assert len(inputs.regions) == 9
    assert inputs.settings.weeks == 26
    assert set(inputs.scenarios.index) == {"observed", "low", "central", "high"}
    assert inputs.settings.reveal_week > 1
    c = inputs.contracts.loc["national_2020"]
    assert (c["status"], c["committed_fte"], c["min_term_weeks"], c["start_week"]) == ("signed", 18000, 13, 1)
    assert c["cost_per_fte_week"] == pytest.approx(192e6 / (18000 * 13), abs=0.01)
    assert (inputs.contracts["status"] == "option").sum() >= 3
    assert set(inputs.sources["kind"]) == {"contractor", "eho", "redeployed", "hire"}
    skill = inputs.skills.loc[("national_callers", "contact_call")]
    assert skill["success_rate"] == 0.6 and skill["escalation_share"] > 0 and skill["handoff_minutes"] > 0


def test_readme_cites_every_note():
    notes = _notes(COMMITTED)
    assert len(notes) >= 30
    uncited = [n for n in notes if not CITATION.search(n[2])]
    assert not uncited, uncited
    items = {n[0] for n in notes}
    for must in ("national_2020: cost_per_fte_week", "national_callers: escalation_share", "eho availability",
                 "redeployed availability", "scenario observed", "check: June utilisation"):
        assert must in items


@needs_data
def test_june_utilisation_from_the_data_is_single_digit():
    """Hand arithmetic from the CSV and the workbook's own parameters:
    observed June cases x contacts per case x contractor hours per call
    / (18,000 x 37.5 h), for the weeks starting in June 2020."""
    inputs, _ = read_inputs(COMMITTED)
    cases = pd.read_csv(DATA / "england_cases_weekly_region.csv", parse_dates=["week_start"])
    june = cases[(cases["week_start"].dt.year == 2020) & (cases["week_start"].dt.month == 6)]
    weekly = june.groupby("week_start")["cases"].sum()
    assert len(weekly) == 5
    sk = inputs.skills.loc[("national_callers", "contact_call")]
    hours_per_call = (sk["minutes_per_task"]
                      + sk["handoff_minutes"] * (1 - sk["success_rate"]) * sk["escalation_share"]) / 60
    tpc = inputs.work_types.loc["contact_call", "tasks_per_case"]
    c = inputs.contracts.loc["national_2020"]
    paid = inputs.settings.hours_per_fte_week * c["committed_fte"]
    util = float((weekly * tpc * hours_per_call / paid).mean())
    assert 0.01 <= util <= 0.09, util
    assert util == pytest.approx(be.june_utilisation(be.england_tables()), rel=1e-9)


@needs_data
def test_utla_build_has_149_areas_and_validates(tmp_path):
    out = tmp_path / "utla.xlsx"
    assert be.main(["--areas", "utla", "-o", str(out)]) == 0
    inputs, issues = read_inputs(out)
    assert not _errors(issues)
    assert len(inputs.regions) == 149
    # EHOs and the redeployed pool are shared out by population: they add up to the regional build
    avail = inputs.availability
    eho_week1 = avail[(avail["source"] == "eho") & (avail["week"] == 1)]["fte"].sum()
    assert eho_week1 == pytest.approx(3300 * 0.25, rel=0.01)


@needs_data
def test_weeks_and_counterfactual_options(tmp_path):
    tables = be.england_tables(weeks=45)
    assert list(tables["demand"].columns[-1:]) == [45]
    with pytest.raises(ValueError):
        be.england_tables(weeks=46)
    out = tmp_path / "cf.xlsx"
    assert be.main(["--national", "option", "--weeks", "20", "-o", str(out)]) == 0
    inputs, issues = read_inputs(out)
    assert not _errors(issues)
    assert inputs.contracts.loc["national_2020", "status"] == "option"
    # the redeployed are recalled after the week libraries reopened (4 July 2020 is in week 6)
    red = tables["availability"]
    red = red[red["source"] == "redeployed"].iloc[0]
    assert red[6] > red[7] == pytest.approx(red[6] * 0.2, abs=0.1)


def test_plan_shows_single_digit_june_utilisation():
    """Done-criterion of the example: solved, the plan's national_2020
    utilisation under `observed` in the weeks starting in June 2020 is in the
    single-digit percent range the NAO reported (1% in mid-June)."""
    pytest.importorskip("capacity.model")
    solve_mod = pytest.importorskip("capacity.solve")
    results = pytest.importorskip("capacity.results")
    from capacity.model import build_model

    inputs, _ = read_inputs(COMMITTED)
    built = build_model(inputs)
    result = solve_mod.solve(built)
    assert result.status == "optimal"
    plan = results.tabulate(inputs, built, result).as_dict()["plan"]
    june = plan[(plan["unit"] == "national_2020") & (plan["scenario"] == "observed")
                & (plan["week"].isin(be.june_weeks(inputs.settings.weeks)))]
    assert len(june) == 5
    assert june["fte"].tolist() == pytest.approx([18000] * 5)
    util = june["utilisation"]
    assert ((util >= 0.005) & (util < 0.10)).all(), util.tolist()
    # a plan can only move calls away from the call handlers: never above the hand arithmetic
    hand = be.weekly_utilisation(be.england_tables())
    for week, u in zip(june["week"], util):
        assert u <= hand[week] + 1e-6
