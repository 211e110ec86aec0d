"""Build the corpus of bad (and a few deliberately valid) input files.

    python tests/badfiles/make_corpus.py            # (re)write the files beside this script
    python tests/badfiles/make_corpus.py --out DIR  # somewhere else

Most files are the small example (``capacity template --example small``) with
one edit, made with openpyxl; the rest are written as raw zip/XML (entity
bomb, zip bomb, a million-row dimension claim, formulas with or without a
cached value). The output is byte-for-byte deterministic: zip members get a
fixed timestamp and the document properties a fixed date, so
``tests/test_corpus.py`` can check the committed files are current.

Each :class:`Case` states what ``capacity validate`` must answer: its exit
status (1 invalid, 0 for the deliberately valid files) and message
substrings, with the exact ``sheet!CELL`` where there is one. Files whose
point is their size (a bomb declaring over 512 MiB) are not committed: the
test builds them in a temporary folder with :data:`BIG_CASES`.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
FIXED_TIME = (2020, 5, 25, 0, 0, 0)
FIXED_STAMP = "2020-05-25T00:00:00Z"
# openpyxl writes the sheets in workbook order as sheet1.xml ...: the small
# example's order (README removed) is settings, regions, scenarios, work_types,
# sources, skills, contracts, availability, demand.
SHEET_PART = {name: f"xl/worksheets/sheet{i}.xml" for i, name in enumerate(
    ["settings", "regions", "scenarios", "work_types", "sources", "skills", "contracts",
     "availability", "demand"], 1)}


@dataclass
class Case:
    name: str           # file name (without .xlsx)
    exit_code: int      # what `capacity validate` must return
    expect: tuple       # substrings its output must contain
    build: Callable[[Path], None]
    note: str = ""


CASES: list[Case] = []
BIG_CASES: list[Case] = []


def case(name: str, exit_code: int, *expect: str, big: bool = False, note: str = ""):
    def register(build):
        (BIG_CASES if big else CASES).append(Case(name, exit_code, tuple(expect), build, note))
        return build
    return register


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def _example_bytes() -> bytes:
    from capacity.io.examples import write_example

    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "small.xlsx"
        write_example("small", p)
        return p.read_bytes()


_EXAMPLE: bytes | None = None


def example_book():
    """The small example, loaded by openpyxl for one edit."""
    import openpyxl

    global _EXAMPLE
    if _EXAMPLE is None:
        _EXAMPLE = _example_bytes()
    book = openpyxl.load_workbook(io.BytesIO(_EXAMPLE))
    book.remove(book["README"])  # the column guide: not needed here, and half the file's size
    return book


def save(book, path: Path) -> None:
    import datetime as dt

    book.properties.creator = "capacity tests/badfiles/make_corpus.py"
    book.properties.lastModifiedBy = None
    book.properties.created = dt.datetime(*FIXED_TIME)
    buf = io.BytesIO()
    book.save(buf)
    write_zip(path, read_zip(buf.getvalue()))


def read_zip(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def write_zip(path: Path, members: list[tuple[str, bytes]], compress=zipfile.ZIP_DEFLATED) -> None:
    """Members with a fixed timestamp and fixed document dates (deterministic bytes)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + FIXED_STAMP.encode(), data)
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = compress
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)


def edited(edit: Callable) -> Callable[[Path], None]:
    """A builder: the small example with ``edit(book)`` applied."""
    def build(path: Path) -> None:
        book = example_book()
        edit(book)
        save(book, path)
    return build


def patched(edit: Callable | None, part_edits: dict[str, Callable[[str], str]]) -> Callable[[Path], None]:
    """A builder: the example (optionally edited by openpyxl), then raw edits of XML parts."""
    def build(path: Path) -> None:
        book = example_book()
        if edit:
            edit(book)
        buf = io.BytesIO()
        save(book, buf)
        members = []
        for name, data in read_zip(buf.getvalue()):
            if name in part_edits:
                data = part_edits[name](data.decode("utf-8")).encode("utf-8")
            members.append((name, data))
        write_zip(path, members)
    return build


def set_cell(sheet: str, ref: str, value) -> Callable:
    def edit(book):
        book[sheet][ref].value = value
    return edit


def replace_everywhere(old: str, new: str) -> Callable:
    """Rename an id in every cell of every table sheet."""
    def edit(book):
        for ws in book.worksheets:
            if ws.title == "README":
                continue
            for row in ws.iter_rows():
                for c in row:
                    if c.value == old:
                        c.value = new
    return edit


def both(*edits: Callable) -> Callable:
    def edit(book):
        for e in edits:
            e(book)
    return edit


def cell_xml(ref: str, xml: str) -> Callable[[str], str]:
    """Replace the <c r="REF" ...>...</c> element of a sheet part."""
    def patch(text: str) -> str:
        pattern = re.compile(rf'<c r="{ref}"(?: [^>]*)?(?:/>|>.*?</c>)', re.S)
        assert pattern.search(text), ref
        return pattern.sub(xml, text, count=1)
    return patch


def minimal_xlsx(sheet_xml: str, name: str = "settings", extra: list[tuple[str, bytes]] = ()) -> list:
    """A one-sheet workbook from hand-written XML parts."""
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          '<Override PartName="/xl/worksheets/sheet1.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
          '</Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>')
    wb = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
          '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
          f'<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>')
    wb_rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
               '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
               'worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    return [("[Content_Types].xml", ct.encode()), ("_rels/.rels", rels.encode()),
            ("xl/workbook.xml", wb.encode()), ("xl/_rels/workbook.xml.rels", wb_rels.encode()),
            ("xl/worksheets/sheet1.xml", sheet_xml.encode())] + list(extra)


SHEET_OPEN = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
              '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


# ---------------------------------------------------------------------------
# Deliberately valid files
# ---------------------------------------------------------------------------
case("valid_example", 0, "valid (3 regions, 8 weeks, 2 scenarios")(edited(lambda b: None))
case("valid_non_ascii_ids", 0, "valid (3 regions",
     note="region 'Île-de-France', contractor 'société_appel', contract 'flexibilité' (used consistently)")(
    edited(both(replace_everywhere("north", "Île-de-France"), replace_everywhere("callco", "société_appel"),
                replace_everywhere("callco_flex", "flexibilité"), set_cell("regions", "B2", "Île-de-France (région)"))))
case("valid_ids_with_stray_spaces", 0, "valid (3 regions",
     note="' north ' and 'south  ' in some sheets: ids are trimmed")(
    edited(both(set_cell("regions", "A2", " north "), set_cell("demand", "B4", "south  "),
                set_cell("availability", "A3", "  redeployed"))))
case("valid_id_with_nbsp", 0, "valid (3 regions", note="'north' + a trailing non-breaking space: trimmed")(
    edited(set_cell("demand", "B2", "north\u00a0")))
case("valid_hidden_required_sheet", 0, "warning: skills!A1: sheet is hidden; it is read all the same",
     note="a hidden required sheet is read, with a warning")(
    edited(lambda b: setattr(b["skills"], "sheet_state", "hidden")))
case("valid_unknown_sheet_and_column", 0, "warning: notes!A1: unknown sheet 'notes' ignored",
     "warning: regions!D1: unknown column 'comment' ignored")(
    edited(both(lambda b: b.create_sheet("notes").append(["anything"]), set_cell("regions", "D1", "comment"))))
case("valid_week_headers_as_text", 0, "valid (3 regions", note="week headers '1'..'8' typed as text")(
    edited(lambda b: [setattr(b["demand"].cell(1, 3 + w), "value", str(w + 1)) for w in range(8)]))
case("valid_formula_with_cached_value", 0, "valid (3 regions", note="demand!C2 = 100+200 with cached value 300")(
    patched(None, {SHEET_PART["demand"]: cell_xml("C2", '<c r="C2"><f>100+200</f><v>300</v></c>')}))

# ---------------------------------------------------------------------------
# settings
# ---------------------------------------------------------------------------
case("settings_missing_weeks", 1, "settings!A1: missing setting 'weeks'")(
    edited(lambda b: b["settings"].delete_rows(3)))
case("settings_weeks_zero", 1, "settings!B3: weeks must be")(edited(set_cell("settings", "B3", 0)))
case("settings_start_date_as_text", 1, "settings!B2: start_date must be", "a date stored as text")(
    edited(set_cell("settings", "B2", "2020-05-25")))
case("settings_productive_share_above_1", 1, "settings!B5: productive_share must be")(
    edited(set_cell("settings", "B5", 1.5)))
case("settings_duplicate_key", 1, "settings!A10: duplicate setting 'weeks' (first at A3)")(
    edited(both(set_cell("settings", "A10", "weeks"), set_cell("settings", "B10", 9))))
case("settings_mip_gap_text", 1, "settings!B8: mip_gap must be", "got 'small'")(
    edited(set_cell("settings", "B8", "small")))
# v2 section 4: settings!B11 is risk_weight, B12 cvar_alpha
case("settings_risk_weight_above_1", 1, "settings!B11: risk_weight must be")(
    edited(set_cell("settings", "B11", 1.5)))
case("settings_cvar_alpha_one", 1, "settings!B12: cvar_alpha must be")(
    edited(set_cell("settings", "B12", 1)))

# ---------------------------------------------------------------------------
# plan_from_week and history (v2 section 1). The example's history rows 2-4 are eho in north, midlands,
# south in week 1 (A unit, B region, C week, D fte, E onboarded, F exits); settings!B10 is plan_from_week.
# ---------------------------------------------------------------------------
def append_row(sheet: str, *values) -> Callable:
    def edit(book):
        book[sheet].append(list(values))
    return edit


case("valid_history_plan_from_week_2", 0, "valid (3 regions", note="plan from week 2: week 1 is history")(
    edited(set_cell("settings", "B10", 2)))
case("history_stock_does_not_add_up", 1, "history!D2: eho/north week 1: fte 9 does not add up")(
    edited(set_cell("history", "D2", 9)))
case("history_unknown_unit", 1, "history!A3: unknown unit 'ehoo'")(edited(set_cell("history", "A3", "ehoo")))
case("history_unknown_region", 1, "history!B3: unknown region 'wales' (not in sheet regions)")(
    edited(set_cell("history", "B3", "wales")))
case("history_contract_with_region", 1, "history!B5: 'callco_flex' is a contract: a contract row has no region")(
    edited(append_row("history", "callco_flex", "north", 2, 5)))
case("history_week_beyond_horizon", 1, "history!C4: week 9 is beyond the horizon (weeks = 8)")(
    edited(set_cell("history", "C4", 9)))
case("history_negative_onboarded", 1, "history!E2: onboarded must be a number >= 0")(
    edited(set_cell("history", "E2", -8)))
case("history_past_demand_differs", 1, "demand!C5: cases of week 1 (before plan_from_week 2) are what happened")(
    edited(both(set_cell("settings", "B10", 2), set_cell("demand", "C5", 301))))
case("history_reveal_before_plan_from_week", 1, "settings!B6: reveal_week 3 is before plan_from_week 4")(
    edited(set_cell("settings", "B10", 4)))
case("history_plan_from_week_beyond_horizon", 1, "settings!B10: plan_from_week 9 is beyond the horizon")(
    edited(set_cell("settings", "B10", 9)))
case("history_contract_outside_its_weeks", 1, "history!D5: contract 'callco_flex' runs weeks 2..8")(
    edited(append_row("history", "callco_flex", None, 1, 5)))
case("history_two_levels_in_initial_term", 1, "history!D6: contract 'callco_block' week 3 lies in its initial term")(
    edited(both(append_row("history", "callco_block", None, 2, 20), append_row("history", "callco_block", None, 3, 25))))
case("history_week_missing_before_plan_from_week", 1,
     "history!D2: eho/north: 8 in post in week 1, but no row for week 2")(
    edited(set_cell("settings", "B10", 3)))

# ---------------------------------------------------------------------------
# regions, scenarios, work_types
# ---------------------------------------------------------------------------
case("regions_duplicate_id", 1, "regions!A4: duplicate region 'north' (first at A2)")(
    edited(set_cell("regions", "A4", "north")))
case("regions_population_negative", 1, "regions!C3: population must be")(
    edited(set_cell("regions", "C3", -5)))
case("regions_duplicate_header", 1, "regions!D1: duplicate column 'name' (first at B1)")(
    edited(set_cell("regions", "D1", "name")))
case("regions_header_upper_case", 1, "regions!A1: column 'Region' must be written 'region'")(
    edited(set_cell("regions", "A1", "Region")))
case("regions_merged_cells", 1, "regions!A2: merged cells A2:B2 inside a table")(
    edited(lambda b: b["regions"].merge_cells("A2:B2")))
case("regions_id_differs_by_inner_nbsp", 1,
     "demand!B2: unknown region 'north\\u00a0east' (not in sheet regions): it differs from 'north east' only in "
     "its spaces", note="'north east' in regions, 'north<NBSP>east' in demand")(
    edited(both(replace_everywhere("north", "north east"), set_cell("demand", "B2", "north\u00a0east"))))
case("scenarios_probabilities_sum", 1, "scenarios!B1: probabilities must sum to 1, got 0.9")(
    edited(set_cell("scenarios", "B3", 0.4)))
case("scenarios_probability_zero", 1, "scenarios!B2: probability must be")(
    edited(set_cell("scenarios", "B2", 0)))
case("work_types_escalation_cycle", 1, "work_types!D", "escalation links form a cycle")(
    edited(set_cell("work_types", "D4", "contact_call")))
case("work_types_unknown_escalates_to", 1, "work_types!D2: unknown work type 'triage'")(
    edited(set_cell("work_types", "D2", "triage")))
case("work_types_share_above_1", 1, "work_types!E2: min_completion_share must be")(
    edited(set_cell("work_types", "E2", 1.2)))

# ---------------------------------------------------------------------------
# sources, skills
# ---------------------------------------------------------------------------
case("sources_kind_capitalised", 1, "sources!B3: kind must be", "(values are lower-case)")(
    edited(set_cell("sources", "B3", "EHO")))
case("sources_trainer_is_contractor", 1, "sources!I4: trainer must be a regional source")(
    edited(set_cell("sources", "I4", "callco")))
case("sources_lead_weeks_fraction", 1, "sources!E4: lead_weeks must be")(edited(set_cell("sources", "E4", 1.5)))
case("skills_minutes_zero", 1, "skills!C3: minutes_per_task must be")(edited(set_cell("skills", "C3", 0)))
case("skills_escalation_without_target", 1,
     "skills!E3: escalation_share > 0 needs work type 'complex' to have escalates_to")(
    edited(set_cell("skills", "E3", 0.5)))
case("skills_unknown_source", 1, "skills!A3: unknown source 'ehos'")(edited(set_cell("skills", "A3", "ehos")))
case("skills_bool_in_number", 1, "skills!D3: success_rate must be", "(a true/false value)")(
    edited(set_cell("skills", "D3", True)))

# ---------------------------------------------------------------------------
# contracts
# ---------------------------------------------------------------------------
case("contracts_start_after_end", 1, "contracts!D2: start_week 7 is after end_week 5")(
    edited(both(set_cell("contracts", "D2", 7), set_cell("contracts", "E2", 5))))
case("contracts_min_above_max", 1, "contracts!G2: min_fte 300 is above max_fte 200")(
    edited(set_cell("contracts", "G2", 300)))
case("contracts_committed_outside_range", 1, "contracts!I3: committed_fte 250 must lie in [min_fte, max_fte]")(
    edited(set_cell("contracts", "I3", 250)))
case("contracts_committed_without_term", 1, "contracts!I2: committed_fte needs min_term_weeks >= 1")(
    edited(set_cell("contracts", "I2", 10)))
case("contracts_inside_lead_time", 1, "contracts!D2: start_week 1 is inside the lead time")(
    edited(set_cell("contracts", "D2", 1)))
case("contracts_source_not_contractor", 1, "contracts!B2: source must be a contractor source; 'eho' is eho")(
    edited(set_cell("contracts", "B2", "eho")))
case("contracts_max_fte_blank", 1, "contracts!H2: max_fte is required")(edited(set_cell("contracts", "H2", None)))
case("contracts_end_beyond_horizon", 1, "contracts!E3: end_week 9 is beyond the horizon (weeks = 8)")(
    edited(set_cell("contracts", "E3", 9)))
case("contracts_id_is_a_source", 1, "contracts!A2: contract id 'hire' is also a regional source id")(
    edited(set_cell("contracts", "A2", "hire")))

# ---------------------------------------------------------------------------
# availability, demand
# ---------------------------------------------------------------------------
case("availability_negative", 1, "availability!E3: ")(edited(set_cell("availability", "E3", -1)))
case("availability_unknown_region", 1, "availability!B2: unknown region 'nort'")(
    edited(set_cell("availability", "B2", "nort")))
case("availability_thousands_separator_text", 1, "availability!C4: ", "text '1,200'",
     "(a number stored as text: re-enter it as a number)")(edited(set_cell("availability", "C4", "1,200")))
case("demand_na_text", 1, "demand!F7: cases must be a number >= 0, got 'n/a'")(
    edited(set_cell("demand", "F7", "n/a")))
case("demand_missing_week_column", 1, "demand!A1: missing week column(s) 8 (need 1..8)")(
    edited(lambda b: b["demand"].delete_cols(10)))
case("demand_missing_row", 1, "demand!A1: missing row for scenario 'high', region 'south'")(
    edited(lambda b: b["demand"].delete_rows(7)))
case("demand_duplicate_week_column", 1, "demand!K1: duplicate week column 8 (first at J1)")(
    edited(both(set_cell("demand", "K1", 8), set_cell("demand", "K2", 1))))
case("demand_formula_without_value", 1, "demand!C2: formula with no cached value")(
    edited(set_cell("demand", "C2", "=100+200")))
case("demand_sheet_upper_case", 1, "Demand!A1: sheet 'Demand' must be named 'demand'")(
    patched(None, {"xl/workbook.xml": lambda x: x.replace('name="demand"', 'name="Demand"')}))
case("skills_sheet_missing", 1, "skills!A1: missing sheet 'skills'")(edited(lambda b: b.remove(b["skills"])))
case("regions_required_column_missing", 1, "regions!A1: missing required column 'region'")(
    edited(lambda b: b["regions"].delete_cols(1)))


# ---------------------------------------------------------------------------
# Error values, NaN, odd labels and values beyond the solvable range: each is
# refused by cell (or, where valid, plans), never read as a blank or a default
# ---------------------------------------------------------------------------
case("availability_error_na", 1, "availability!E3: fte must be", "got #N/A (an Excel error value)",
     note="#N/A in an optional cell must not become 0 FTE")(edited(set_cell("availability", "E3", "#N/A")))
case("sources_error_div0", 1, "sources!H5: max_increase_per_week must be", "got #DIV/0! (an Excel error value)",
     note="#DIV/0! must not become 'no limit'")(edited(set_cell("sources", "H5", "#DIV/0!")))
case("contracts_error_value_end_week", 1, "contracts!E2: end_week must be", "got #VALUE! (an Excel error value)",
     note="#VALUE! must not fall back to weeks")(edited(set_cell("contracts", "E2", "#VALUE!")))
case("contracts_nan_limit", 1, "contracts!N2: max_increase_per_week must be", "got NaN (not a number)",
     note="<v>NaN</v> must not become 'no limit'")(
    patched(None, {SHEET_PART["contracts"]: cell_xml("N2", '<c r="N2" t="n"><v>NaN</v></c>')}))
case("contracts_empty_numeric_value", 1, "contracts!N2: max_increase_per_week must be", "got NaN (not a number)",
     note="a numeric cell with an empty <v/> (how openpyxl writes NaN)")(
    patched(None, {SHEET_PART["contracts"]: cell_xml("N2", '<c r="N2" t="n"><v/></c>')}))
case("demand_error_ref_required", 1, "demand!D3: cases must be", "got #REF! (an Excel error value)",
     note="#REF! in a required cell is named, not reported as 'cases is required'")(
    edited(set_cell("demand", "D3", "#REF!")))
case("demand_error_spill_as_text", 1, "demand!E3: cases must be", "got #SPILL! (an Excel error value)",
     note="#SPILL! stored as text (as openpyxl writes error codes it does not know)")(
    edited(set_cell("demand", "E3", "#SPILL!")))
case("demand_formula_error_cached", 1, "demand!C2: cases must be", "got #DIV/0! (an Excel error value)",
     note="a formula whose cached value is an error")(
    patched(None, {SHEET_PART["demand"]: cell_xml("C2", '<c r="C2" t="e"><f>1/0</f><v>#DIV/0!</v></c>')}))
case("demand_superscript_week_header", 1, "demand!K1: week column heading '²' must be a week number",
     note="'²'.isdigit() is True in Python, int('²') fails")(edited(set_cell("demand", "K1", "\u00b2")))
case("settings_start_date_9999", 1, "settings!B2: start_date 9999-12-20: the 8 weeks from it must lie within "
     "Excel's dates")(edited(set_cell("settings", "B2", __import__("datetime").datetime(9999, 12, 20))))
case("settings_currency_too_long", 1, "settings!B7: currency must be text of at most 12 printable characters")(
    edited(set_cell("settings", "B7", "pounds sterling")))
case("valid_currency_pound", 0, "valid (3 regions", note="currency '£': a label, used as is in number formats")(
    edited(set_cell("settings", "B7", "\u00a3")))
case("valid_zero_demand", 0, "valid (3 regions", note="no cases anywhere: plans to 'staff nobody'")(
    edited(lambda b: [setattr(c, "value", 0) for row in b["demand"].iter_rows(min_row=2, min_col=3) for c in row]))
case("contracts_max_fte_1e8", 1, "contracts!H2: max_fte must be at most 1,000,000, got 100000000: values "
     "beyond these limits cannot be solved reliably")(edited(set_cell("contracts", "H2", 1e8)))
case("contracts_max_fte_1e15", 1, "contracts!H2: max_fte must be at most 1,000,000")(
    edited(set_cell("contracts", "H2", 1e15)))
case("work_types_value_1e25", 1, "work_types!C2: value_per_task must be at most 10,000,000, got 1e+25")(
    edited(set_cell("work_types", "C2", 1e25)))
case("work_types_cost_magnitude", 1, "work_types!C2: costs too large to solve reliably")(
    edited(both(set_cell("work_types", "C2", 1e7), set_cell("work_types", "B2", 1e4))))
case("regions_text_too_long", 1, "regions!B2: name must be text, got text of 40,000 characters",
     note="Excel holds at most 32,767 characters in a cell")(
    patched(None, {SHEET_PART["regions"]: cell_xml("B2", '<c r="B2" t="inlineStr"><is><t>' + "x" * 40000
                                                   + "</t></is></c>")}))


# ---------------------------------------------------------------------------
# Files that are not safe workbooks
# ---------------------------------------------------------------------------
def _billion_laughs() -> str:
    ents = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    return ('<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE worksheet [' + "".join(ents) + ']>'
            + SHEET_OPEN[SHEET_OPEN.index("<worksheet"):]
            + '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData>'
              '</worksheet>')


@case("xml_entity_bomb", 1, "refusing to parse part 'xl/worksheets/sheet1.xml'", "DOCTYPE/ENTITY")
def _entity_bomb(path: Path) -> None:
    write_zip(path, minimal_xlsx(_billion_laughs()))


@case("xml_external_entity", 1, "DOCTYPE/ENTITY")
def _xxe(path: Path) -> None:
    xml = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           + SHEET_OPEN[SHEET_OPEN.index("<worksheet"):]
           + '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row></sheetData></worksheet>')
    write_zip(path, minimal_xlsx(xml))


def _ratio_bomb_members(size: int) -> list:
    sheet = (SHEET_OPEN + '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>key</t></is></c></row>'
             '</sheetData></worksheet>')
    padding = " " * size  # whitespace before the end tag: valid XML, compresses ~1000:1
    sheet = sheet.replace("</worksheet>", padding + "</worksheet>")
    return minimal_xlsx(sheet)


@case("zip_bomb_ratio", 1, "expands", "a possible zip bomb")
def _ratio_bomb(path: Path) -> None:
    write_zip(path, _ratio_bomb_members(8 * 1024 * 1024))  # 8 MiB of spaces, ~8 KiB on disk


@case("zip_bomb_declared_total", 1, "of uncompressed content, over the 512 MiB limit", big=True)
def _declared_bomb(path: Path) -> None:
    """Members declaring 600 MiB in all, each under the ratio threshold's radar (stored, so honest)."""
    # many 1 MiB members of zeros, deflated at a ratio of ~1000:1 would trip the
    # ratio check; instead 1 MiB members each just at the 1 MiB threshold
    members = minimal_xlsx(SHEET_OPEN + "<sheetData/></worksheet>")
    block = b"\0" * (1024 * 1024)  # exactly 1 MiB: not "over" RATIO_MIN_BYTES
    members += [(f"xl/media/pad{i}.bin", block) for i in range(600)]
    write_zip(path, members)


@case("zip_bomb_lying_sizes", 1, "zip_bomb_lying_sizes.xlsx: ", big=True,
      note="a worksheet whose local and central headers declare 1 KiB but which inflates to 1 GiB")
def _lying_bomb(path: Path) -> None:
    write_lying_bomb(path, 1024 ** 3)


def write_lying_bomb(path: Path, real_size: int) -> None:
    members = minimal_xlsx(SHEET_OPEN + "<sheetData/></worksheet>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            if name != "xl/worksheets/sheet1.xml":
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
    # the sheet: deflate stream of the real (huge) content, streamed in chunks
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = (SHEET_OPEN + "<sheetData>").encode()
    chunks = [comp.compress(head)]
    block = b" " * (1 << 20)
    for _ in range(real_size // len(block)):
        chunks.append(comp.compress(block))
    chunks.append(comp.compress(b"</sheetData></worksheet>"))
    chunks.append(comp.flush())
    data = b"".join(chunks)
    declared = 1024
    # the CRC of the first `declared` bytes: a reader that trusts the declared size
    # sees a consistent (truncated) part; one that inflates the whole stream does not
    first = head + b" " * max(0, declared - len(head))
    crc = zlib.crc32(first[:declared])
    name = b"xl/worksheets/sheet1.xml"
    body = buf.getvalue()
    # rebuild: existing local entries, then our member, then a central directory for all
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        infos = zf.infolist()
    cd_start = min(len(body), *(_central_offset(body),))
    local = body[:cd_start]
    offset = len(local)
    import struct
    lh = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data), declared, len(name), 0)
    out = local + lh + name + data
    central = b""
    for info in infos:
        fn = info.filename.encode()
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, info.CRC, info.compress_size,
                               info.file_size, len(fn), 0, 0, 0, 0, 0o644 << 16, info.header_offset) + fn
    central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(data), declared,
                           len(name), 0, 0, 0, 0, 0o644 << 16, offset) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(infos) + 1, len(infos) + 1, len(central),
                      len(out), 0)
    path.write_bytes(out + central + end)


def _central_offset(body: bytes) -> int:
    import struct

    pos = body.rfind(b"PK\x05\x06")
    return struct.unpack_from("<L", body, pos + 16)[0]


@case("million_row_dimension_claim", 0, "valid (3 regions",
      note="demand's <dimension> claims A1:Z1048576 but the sheet holds its usual few cells")
def _dimension_claim(path: Path) -> None:
    def patch(text: str) -> str:
        new, n = re.subn(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:Z1048576"/>', text)
        assert n == 1
        return new
    patched(None, {SHEET_PART["demand"]: patch})(path)


@case("million_row_real_cells", 1, "claims 1,048,576 rows", note="a cell really sits in row 1,048,576")
def _far_cell(path: Path) -> None:
    patched(set_cell("regions", "A1048576", "far away"), {})(path)


@case("not_a_zip_csv", 1, "not an Excel workbook (it looks like a CSV/text file)")
def _csv(path: Path) -> None:
    path.write_bytes(b"region,name\nnorth,North\n")


@case("empty_file", 1, "the file is empty (0 bytes)")
def _empty(path: Path) -> None:
    path.write_bytes(b"")


@case("truncated_zip", 1, "the workbook is damaged or incomplete")
def _truncated(path: Path) -> None:
    buf = io.BytesIO()
    edited(lambda b: None)(buf)
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])


@case("legacy_xls_magic", 1, "legacy Excel 97-2003 (.xls) format")
def _xls(path: Path) -> None:
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1024)


# ---------------------------------------------------------------------------
def build_all(out: Path, cases: list[Case] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for c in CASES if cases is None else cases:
        p = out / f"{c.name}.xlsx"
        c.build(p)
        written.append(p)
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    for p in build_all(args.out):
        print(f"{p.stat().st_size:>8,}  {p.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
