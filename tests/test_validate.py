"""One case per rule of workbook.md: exact sheet!CELL and message substance.

Each case edits the small example (valid as shipped) in memory and checks the
issue the validator reports. Layout of the small example (schema order):
sources A..L = source kind cost_per_fte_week onboarding_cost lead_weeks
notice_weeks min_term_weeks max_increase_per_week trainer training_hours
supervisor supervision_ratio (rows 2 callco, 3 eho, 4 redeployed, 5 hire);
contracts A..O = contract source status start_week end_week min_term_weeks
min_fte max_fte committed_fte fixed_cost cost_per_fte_week lead_weeks
notice_weeks max_increase_per_week max_decrease_per_week (rows 2 callco_flex,
3 callco_block); demand rows 2-4 low north/midlands/south, 5-7 high ...,
week w in column C + w - 1.
"""

from __future__ import annotations

import datetime as dt

import pytest

from capacity.io.errors import ERROR, WARNING
from capacity.io.validate import validate_raw
from conftest import delete_column, delete_row, edit


def _issues(raw):
    inputs, issues = validate_raw(raw)
    return inputs, [str(i) for i in issues if i.level == ERROR], [str(i) for i in issues if i.level == WARNING]


def test_small_example_is_valid(small_raw):
    inputs, errors, warnings = _issues(small_raw)
    assert errors == []
    assert inputs is not None
    assert list(inputs.regions.index) == ["north", "midlands", "south"]
    assert inputs.settings.weeks == 8 and inputs.settings.reveal_week == 3
    assert inputs.settings.start_date == dt.date(2020, 5, 25)
    # long demand: one row per scenario x region x week, in workbook order
    assert len(inputs.demand) == 2 * 3 * 8
    first = inputs.demand.iloc[0]
    assert (first["scenario"], first["region"], first["week"], first["cases"]) == ("low", "north", 1, 300.0)
    # defaults from the schema: blank escalation_share -> 0, blank limit -> NaN
    assert inputs.skills.loc[("eho", "complex"), "escalation_share"] == 0.0
    assert inputs.contracts.loc["callco_flex", "max_decrease_per_week"] != inputs.contracts.loc[
        "callco_flex", "max_decrease_per_week"]  # NaN = no limit
    assert inputs.contracts.loc["callco_block", "end_week"] == 8
    assert inputs.origin.cell("contracts", "callco_block", "max_fte") == "contracts!H3"


# (edits, expected error line). Edits are (cell, value) pairs or callables.
CASES = {
    "spec example: text in a demand cell": (
        [("demand!F7", "n/a")], "demand!F7: cases must be a number >= 0, got 'n/a'"),
    "negative demand": ([("demand!C2", -5)], "demand!C2: cases must be a number >= 0, got -5"),
    "blank demand": ([("demand!D3", "")], "demand!D3: cases is required (a number >= 0)"),
    "weeks out of range": (
        [("settings!B3", 0)], "settings!B3: weeks must be a whole number from 1 to 520, got 0"),
    "weeks not whole": ([("settings!B3", 7.5)], "settings!B3: weeks must be a whole number from 1 to 520, got 7.5"),
    "productive share above 1": (
        [("settings!B5", 1.5)], "settings!B5: productive_share must be a number > 0 and <= 1, got 1.5"),
    "date stored as text": (
        [("settings!B2", "2020-05-25")],
        "settings!B2: start_date must be a date, got text '2020-05-25' (a date stored as text: re-enter it as a date)"),
    "mip gap of 1": ([("settings!B8", 1)], "settings!B8: mip_gap must be a number >= 0 and < 1, got 1"),
    "unknown kind": (
        [("sources!B5", "agency")],
        "sources!B5: kind must be one of contractor, eho, redeployed, hire, got 'agency'"),
    "kind in capitals": (
        [("sources!B5", "Hire")],
        "sources!B5: kind must be one of contractor, eho, redeployed, hire, got 'Hire' (values are lower-case)"),
    "number with thousands separator as text": (
        [("contracts!H2", "1,000")],
        "contracts!H2: max_fte must be a number > 0, got text '1,000' (a number stored as text: re-enter it as a "
        "number)"),
    "required cell blank": ([("contracts!H3", "")], "contracts!H3: max_fte is required (a number > 0)"),
    "probability zero": ([("scenarios!B3", 0)], "scenarios!B3: probability must be a number > 0 and <= 1, got 0"),
    "probabilities do not sum to 1": (
        [("scenarios!B3", 0.4)], "scenarios!B1: probabilities must sum to 1, got 0.9"),
    "completion share above 1": (
        [("work_types!E2", 1.2)], "work_types!E2: min_completion_share must be a number from 0 to 1, got 1.2"),
    "duplicate region": ([("regions!A4", "north")], "regions!A4: duplicate region 'north' (first at A2)"),
    "duplicate skill row": (
        [("skills!B4", "complex")], "skills!A4: duplicate source/work_type 'eho' x 'complex' (first at A3)"),
    "unknown escalation target": (
        [("work_types!D3", "tier1")], "work_types!D3: unknown work type 'tier1' (not in sheet work_types)"),
    "escalation cycle": (
        [("work_types!D4", "contact_call")],
        "work_types!D3: escalation links form a cycle: contact_call -> local_followup -> contact_call"),
    "escalation share without target": (
        [("skills!E3", 0.5)], "skills!E3: escalation_share > 0 needs work type 'complex' to have escalates_to"),
    "trainer is a contractor": (
        [("sources!I5", "callco")],
        "sources!I5: trainer must be a regional source (eho, redeployed or hire); 'callco' is a contractor"),
    "unknown supervisor": ([("sources!K4", "boss")], "sources!K4: unknown source 'boss' (not in sheet sources)"),
    "skill of unknown source": ([("skills!A9", "agency")], "skills!A9: unknown source 'agency' (not in sheet sources)"),
    "skill of unknown work type": (
        [("skills!B9", "tier1")], "skills!B9: unknown work type 'tier1' (not in sheet work_types)"),
    "contract source is regional": (
        [("contracts!B2", "hire")], "contracts!B2: source must be a contractor source; 'hire' is hire"),
    "contract start after end": ([("contracts!D2", 8), ("contracts!E2", 5)],
                                 "contracts!D2: start_week 8 is after end_week 5"),
    "contract end beyond horizon": (
        [("contracts!E3", 9)], "contracts!E3: end_week 9 is beyond the horizon (weeks = 8)"),
    "min fte above max fte": ([("contracts!G2", 300)], "contracts!G2: min_fte 300 is above max_fte 200"),
    "committed outside range": (
        [("contracts!I3", 250)], "contracts!I3: committed_fte 250 must lie in [min_fte, max_fte] = [0, 200]"),
    "committed without a term": (
        [("contracts!I2", 50)],
        "contracts!I2: committed_fte needs min_term_weeks >= 1 (the term it is committed for)"),
    "start inside the lead time": (
        [("contracts!D2", 1)],
        "contracts!D2: start_week 1 is inside the lead time (lead_weeks 1): it must be >= 2, unless the contract is "
        "signed with a committed_fte"),
    "contract id equals a regional source": (
        [("contracts!A2", "hire")],
        "contracts!A2: contract id 'hire' is also a regional source id; give it a distinct name"),
    "availability of a contractor": (
        [("availability!A2", "callco")],
        "availability!A2: source must be a regional source (eho, redeployed or hire); 'callco' is a contractor"),
    "availability of unknown region": (
        [("availability!B4", "east")], "availability!B4: unknown region 'east' (not in sheet regions)"),
    "demand of unknown scenario": (
        [("demand!A5", "worst")], "demand!A5: unknown scenario 'worst' (not in sheet scenarios)"),
    "duplicate demand row": (
        [("demand!B7", "north")], "demand!A7: duplicate scenario/region 'high' x 'north' (first at A5)"),
    "demand row missing": (
        [lambda raw: delete_row(raw, "demand", 7)], "demand!A1: missing row for scenario 'high', region 'south'"),
    "demand week column missing": (
        [lambda raw: delete_column(raw, "demand", "H")], "demand!A1: missing week column(s) 6 (need 1..8)"),
    "duplicate week column": ([("demand!K1", 3)], "demand!K1: duplicate week column 3 (first at E1)"),
    "missing required column": (
        [lambda raw: delete_column(raw, "skills", "C")], "skills!A1: missing required column 'minutes_per_task'"),
    "capitalised column name": (
        [("regions!A1", "Region")], "regions!A1: column 'Region' must be written 'region' (column names are lower-case)"),
    "duplicate column": ([("regions!D1", "name")], "regions!D1: duplicate column 'name' (first at B1)"),
    "missing setting": ([("settings!A3", "")], "settings!A1: missing setting 'weeks' (a whole number from 1 to 520)"),
    "duplicate setting": ([("settings!A10", "currency"), ("settings!B10", "EUR")],
                          "settings!A10: duplicate setting 'currency' (first at A7)"),
    "missing sheet": ([lambda raw: raw.sheets.pop("skills")], "skills!A1: missing sheet 'skills'"),
    "sheet name in capitals": (
        [lambda raw: raw.sheets.__setitem__("Regions", raw.sheets.pop("regions"))],
        "Regions!A1: sheet 'Regions' must be named 'regions' (sheet names are lower-case)"),
    "empty required sheet": (
        [lambda raw: raw.sheets["scenarios"].cells.__delitem__(slice(1, None))],
        "scenarios!A2: needs at least 1 row(s) of data"),
    "merged cells in a table": (
        [lambda raw: raw.sheets["regions"].merged.append((1, 1, 2, 1))],
        "regions!B2: merged cells B2:B3 inside a table; unmerge them"),
    "true/false in a number column": (
        [("sources!C3", True)], "sources!C3: cost_per_fte_week must be a number >= 0, got True (a true/false value)"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_rule(small_raw, name):
    edits, expected = CASES[name]
    for change in edits:
        if callable(change):
            change(small_raw)
        else:
            edit(small_raw, *change)
    inputs, errors, _ = _issues(small_raw)
    assert inputs is None
    assert expected in errors, "\n".join(errors)


WARNING_CASES = {
    "unknown sheet": ([lambda raw: raw.sheets.__setitem__("notes", raw.sheets["regions"])],
                      "warning: notes!A1: unknown sheet 'notes' ignored"),
    "unknown column": ([("regions!D1", "comment")], "warning: regions!D1: unknown column 'comment' ignored"),
    "week beyond horizon": ([("demand!K1", 9)],
                            "warning: demand!K1: week column 9 is outside 1..8 (settings weeks); ignored"),
    "unknown setting": ([("settings!A10", "colour"), ("settings!B10", "red")],
                        "warning: settings!A10: unknown setting 'colour' ignored"),
    "hidden sheet": ([lambda raw: setattr(raw.sheets["regions"], "hidden", True)],
                     "warning: regions!A1: sheet is hidden; it is read all the same"),
    "contractor terms ignored": ([("sources!C2", 900)],
                                 "warning: sources!C2: cost_per_fte_week is ignored for contractor sources "
                                 "(their terms are in sheet contracts)"),
    "work nobody can do": ([lambda raw: delete_row(raw, "skills", 9) and delete_row(raw, "skills", 3)],
                           "warning: work_types!A2: work type 'complex' has demand but no source has a skill for "
                           "it: all of it will be lost"),
}


@pytest.mark.parametrize("name", list(WARNING_CASES))
def test_warning_only(small_raw, name):
    edits, expected = WARNING_CASES[name]
    for change in edits:
        change(small_raw) if callable(change) else edit(small_raw, *change)
    inputs, errors, warnings = _issues(small_raw)
    assert errors == [], errors
    assert inputs is not None
    assert expected in warnings, "\n".join(warnings)


def test_every_problem_reported_and_sorted(small_raw):
    """A dozen different mistakes give a dozen messages, sorted by sheet then cell."""
    for cell, value in [("settings!B5", 2), ("regions!C3", -5), ("scenarios!B3", 0.4),
                        ("work_types!E2", 1.2), ("sources!B5", "agency"), ("skills!A9", "agency"),
                        ("contracts!G2", 300), ("contracts!I2", 50), ("availability!B4", "east"),
                        ("demand!F7", "n/a"), ("demand!C2", -1), ("sources!I4", "callco")]:
        edit(small_raw, cell, value)
    _, errors, _ = _issues(small_raw)
    where = [e.split(":")[0] for e in errors]
    assert where == [
        "settings!B5", "regions!C3", "scenarios!B1", "work_types!E2", "sources!I4", "sources!B5", "skills!A9",
        "contracts!G2", "contracts!I2", "availability!B4", "demand!C2", "demand!F7",
    ]


def test_formula_without_cached_value(tmp_path, small_path):
    """openpyxl saves formulas without cached values: that cell is an error."""
    import openpyxl

    from capacity.io.reader import read_workbook

    book = openpyxl.load_workbook(small_path)
    book["demand"]["D4"] = "=C4*2"
    path = tmp_path / "formula.xlsx"
    book.save(path)
    _, errors, _ = _issues(read_workbook(path))
    assert errors == ["demand!D4: formula with no cached value; open the workbook in Excel or LibreOffice, "
                      "let it calculate, and save it"]


def test_schema_defaults_match_settings_dataclass():
    """Settings' Python defaults and the schema's defaults are the same facts."""
    import dataclasses

    from capacity.io import schema as S
    from capacity.io.inputs import Settings

    for f in dataclasses.fields(Settings):
        col = S.SETTINGS_SHEET.column(f.name)
        if f.default is not dataclasses.MISSING:
            assert f.default == col.default, f.name
        else:
            assert col.required, f.name


def test_committed_column_reference_is_generated_from_the_schema():
    from pathlib import Path

    from capacity.docs import workbook_reference

    committed = (Path(__file__).resolve().parents[1] / "docs" / "workbook.md").read_text()
    assert committed == workbook_reference(), "run: python -m capacity.docs > docs/workbook.md"
    assert ("| `max_fte` | a number > 0, at most 1,000,000 (unusual above 100,000) | required | "
            "Most FTE the supplier provides. |") in committed
