"""The England 2020-21 worked example (inputs/build_examples.py -> inputs/england-2020.xlsx)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pandas as pd
import pytest

from capacity import api
from capacity.analysis import compare as C
from capacity.io.errors import ERROR
from capacity.io.reader import read_workbook
from capacity.io.validate import read_inputs

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
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


def test_public_data_ship_with_the_project():
    """The CSVs the examples are built from are in the repository, with their sources
    and the OGL v3.0 attribution: a clone has everything the tests need."""
    assert DATA.resolve().is_relative_to(REPO)
    for name in ("england_cases_weekly_region.csv", "england_cases_weekly_utla.csv", "england_population.csv"):
        assert (DATA / name).stat().st_size > 1000, name
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    assert "Open Government Licence v3.0" in sources
    assert "shared" not in SCRIPT.read_text(encoding="utf-8")


def test_script_reproduces_committed_workbook(tmp_path):
    built = tmp_path / "england-2020.xlsx"
    assert be.main(["-o", str(built)]) == 0
    assert _cells(built) == _cells(COMMITTED)


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


# ---------------------------------------------------------------------------
# Solved: the plan, and the figures README.md states about it
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def signed_plan(tmp_path_factory):
    res = api.plan(COMMITTED, tmp_path_factory.mktemp("england") / "england-2020-plan.xlsx")
    assert res.exit_code == 0 and res.status == "optimal", res.message
    return res


@pytest.fixture(scope="module")
def option_plan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("england-option")
    built = folder / "england-2020-option.xlsx"
    assert be.main(["--national", "option", "-o", str(built)]) == 0
    res = api.plan(built, folder / "england-2020-option-plan.xlsx")
    assert res.exit_code == 0 and res.status == "optimal", res.message
    return res


def _readme(pattern: str) -> re.Match:
    m = re.search(pattern, README.read_text(encoding="utf-8"))
    assert m, f"README.md no longer states {pattern!r}"
    return m


def _summary(res) -> dict:
    return dict(zip(res.tables.summary["key"], res.tables.summary["value"]))


def _millions(x: float) -> str:
    return f"{x / 1e6:.1f}"


def test_plan_shows_single_digit_june_utilisation(signed_plan):
    """Done-criterion of the example: solved, the plan's national_2020
    utilisation under `observed` in the weeks starting in June 2020 is in the
    single-digit percent range the NAO reported (1% in mid-June)."""
    inputs, plan = signed_plan.inputs, signed_plan.tables.plan
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
    # README's June row, to the 0.1% it prints
    row = _readme(r"\| `national_2020` utilisation \|(.*)\|")
    assert [f"{u:.1%}" for u in util] == [c.strip() for c in row.group(1).split("|")]
    assert (signed_plan.checks["result"] == "pass").all()


def test_readme_headline_figures_as_signed(signed_plan):
    s = _summary(signed_plan)
    printed = _readme(r"objective \(expected cost\)\s+GBP ([\d,]+)")
    assert float(printed.group(1).replace(",", "")) == pytest.approx(s["objective"], rel=2e-4)
    lock = _readme(r"expected\s+cost\s+of\s+\*\*£([\d.]+)m\*\*\s+against\s+\*\*£([\d.]+)m\*\*")
    assert lock.group(2) == _millions(s["objective"])
    shares = _readme(r"completion\s+share\s+\(([\d.]+)%\s+against\s+([\d.]+)%\)")
    assert shares.group(2) == f"{100 * s['expected_completion_share']:.1f}"
    assert _readme(r"expected completion share\s+([\d.]+)%").group(1) == shares.group(2)


def test_readme_cash_figure_and_the_cell_it_names_for_june(signed_plan):
    """README's cash figure is the summary's, and the cell it names for the 1.1% of 15 June is that
    figure, as a live formula over the paid hours (settings copy) and the work rows' task hours."""
    import openpyxl

    s = _summary(signed_plan)
    cash = _readme(r"expected cash cost\s+GBP ([\d,]+)").group(1)
    assert float(cash.replace(",", "")) == pytest.approx(s["expected_cash_cost"], rel=2e-4)
    ref = _readme(r"the 1\.1% of 15 June is `plan!(O\d+)`").group(1)
    row = int(ref[1:])
    ws = openpyxl.load_workbook(signed_plan.output)["plan"]
    values = openpyxl.load_workbook(signed_plan.output, data_only=True)["plan"]
    head = [c.value for c in ws[1]]
    assert (ws.cell(row, head.index("scenario") + 1).value, ws.cell(row, head.index("week") + 1).value,
            ws.cell(row, head.index("unit") + 1).value) == ("observed", 4, "national_2020")
    assert head[openpyxl.utils.column_index_from_string("O") - 1] == "utilisation"
    assert ws[ref].value == f'=IF(J{row}>1E-9,L{row}/J{row},"")'
    assert ws[f"J{row}"].value == f"=G{row}*input_settings!$B$4"
    assert ws[f"L{row}"].value.startswith("=SUM(work!K")
    assert f"{values[ref].value:.1%}" == "1.1%"


def test_readme_headline_figures_with_national_2020_only_offered(option_plan, signed_plan):
    s = _summary(option_plan)
    lock = _readme(r"expected\s+cost\s+of\s+\*\*£([\d.]+)m\*\*\s+against\s+\*\*£([\d.]+)m\*\*")
    assert lock.group(1) == _millions(s["objective"])
    shares = _readme(r"completion\s+share\s+\(([\d.]+)%\s+against\s+([\d.]+)%\)")
    assert shares.group(1) == f"{100 * s['expected_completion_share']:.1f}"
    assert s["objective"] < _summary(signed_plan)["objective"]


@pytest.fixture(scope="module")
def england_compare(tmp_path_factory):
    """The README's compare command: a 4-week term at the 2020 price and at +15%, the built-in variants
    of the signed contract and the break-even prices, with the flexibility values."""
    folder = tmp_path_factory.mktemp("england-compare")
    res = C.compare(COMMITTED, folder / "england-compare.xlsx", stochastic=False, workers=2, builtin=True,
                    break_even=True,
                    vary=["contracts:national_2020:{min_term_weeks,cost_per_fte_week}=4/820.51,4/943.59"])
    assert res.exit_code == 0, res.message
    return res


@pytest.mark.slow
def test_readme_flex_value_of_national_2020(england_compare, signed_plan):
    """`capacity compare`'s flex_value:national_2020 (RP minus the optimum with its
    lock-in removed) is the figure README.md prints."""
    res = england_compare
    assert res.measure("rp") == pytest.approx(_summary(signed_plan)["objective"], rel=2e-4)
    flex = res.measure("flex_value:national_2020")
    assert _readme(r"`flex_value:national_2020`\s+is\s+£([\d.]+)m").group(1) == _millions(flex)


@pytest.mark.slow
def test_readme_negotiation_figures(england_compare):
    """What signing cost, the 4-week term's saving and its break-even price, as README.md states them."""
    res = england_compare
    n = res.negotiation.set_index("variant")
    not_signed = n.loc["not signed:national_2020", "saving"]
    assert _readme(r"signing it cost\s+\*\*£([\d.]+)m\*\*").group(1) == _millions(not_signed)
    term4 = n[n.index.str.startswith("term 4 wk, price 820.51")].iloc[0]
    m = _readme(r"A 4-week term\*\*\s+saves\s+\*\*£([\d.]+)m\*\*\s+\(£([\d.]+)m\),\s+£([\d.]+)m for each of the (\d+)")
    assert m.group(1) == _millions(term4["saving"])
    assert m.group(3) == _millions(term4["saving_per_week_removed"]) and int(m.group(4)) == 9
    price = _readme(r"break-even price is £([\d,.]+) per FTE-week").group(1)
    assert float(price.replace(",", "")) == pytest.approx(term4["break_even_price"], abs=0.01)