"""The auditor's trail inside the plan workbook (capacity/output/trail.py).

Input copies at the input's own addresses, live formulas whose cached values
LibreOffice's own recalculation reproduces, a formula chain from a utilisation
figure to settings and skills cells, and the tie-break for simultaneous
increases and decreases.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from capacity import api
from capacity.io.examples import small_tables
from capacity.io.workbook import write_input_workbook
from capacity.output.results import (NOT_SIGNED, SIGNED_BEFORE, SIGNED_BY_PLAN, net_changes, status_words)

needs_soffice = pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed "
                                   "(no `soffice` on PATH): `sudo apt-get install -y libreoffice-calc`")

#: A LibreOffice profile that recalculates every formula of an .xlsx on load. Without it LibreOffice
#: keeps the cached values it finds ("never recalculate" is its default for Excel files), which would
#: make a recalculation test pass whatever the formulas say.
RECALC_PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
</oor:items>
"""


def recalculated(path: Path, folder: Path) -> Path:
    """``path`` opened by LibreOffice with a full recalculation, and saved as .xlsx in ``folder``."""
    profile = folder / "lo_recalc"
    (profile / "user").mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALC_PROFILE)
    out_dir = folder / "recalculated"
    proc = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to",
                           "xlsx", "--outdir", str(out_dir), str(path)], capture_output=True, text=True, timeout=300)
    out = out_dir / path.name
    assert proc.returncode == 0 and out.exists(), proc.stdout + proc.stderr
    return out


@pytest.fixture(scope="module")
def planned(small_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("trail") / "small-plan.xlsx"
    res = api.plan(small_path, out)
    assert res.exit_code == 0, res.message
    return res, out


def _formula_cells(book, sheets=("plan", "work", "coverage", "contracts", "risk")):
    for name in sheets:
        for row in book[name].iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    yield name, c


def _header(ws) -> dict[str, str]:
    return {c.value: c.column_letter for c in ws[1]}


# --------------------------------------------------------------------------- input copies
def test_every_input_sheet_is_copied_cell_for_cell(planned, small_path):
    _, out = planned
    given = openpyxl.load_workbook(small_path, data_only=True)
    book = openpyxl.load_workbook(out, data_only=True)
    for name in ("settings", "regions", "scenarios", "work_types", "sources", "skills", "contracts",
                 "availability", "demand"):
        copy, original = book[f"input_{name}"], given[name]
        cells = [(c.coordinate, c.value) for row in original.iter_rows() for c in row if c.value is not None]
        assert cells, name
        for ref, value in cells:
            got = copy[ref].value
            if isinstance(value, (int, float)):
                assert got == pytest.approx(value), (name, ref)
            elif hasattr(value, "date"):
                assert got.date() == value.date(), (name, ref)
            else:
                assert got == value, (name, ref)


def test_input_copies_are_never_formulas(tmp_path):
    tables = small_tables()
    tables["regions"].loc[0, "name"] = "=HYPERLINK(\"http://x\")"
    inp, out = tmp_path / "evil.xlsx", tmp_path / "evil-plan.xlsx"
    write_input_workbook(inp, tables, weeks=8)
    assert api.plan(inp, out).exit_code == 0
    ws = openpyxl.load_workbook(out)["input_regions"]
    texts = [c.value for row in ws.iter_rows() for c in row]
    assert "'=HYPERLINK(\"http://x\")" in texts  # escaped text, shown as written
    assert not any(isinstance(v, str) and v.startswith("=") for v in texts)


# --------------------------------------------------------------------------- formulas
def test_derived_columns_are_formulas(planned):
    _, out = planned
    book = openpyxl.load_workbook(out)
    for sheet, columns in {"plan": ["paid_hours", "productive_hours", "task_hours", "utilisation", "cost"],
                           "work": ["hours_per_task", "task_hours", "completed", "escalated", "lost"],
                           "coverage": ["demand", "completed", "lost", "completion_share"],
                           "contracts": ["fixed_cost", "expected_cost", "expected_paid_hours"],
                           "risk": ["probability", "scenario_cost", "risk_adjusted_probability"]}.items():
        ws = book[sheet]
        head = _header(ws)
        for col in columns:
            values = [ws[f"{head[col]}{r}"].value for r in range(2, ws.max_row + 1)]
            formulas = [v for v in values if isinstance(v, str) and v.startswith("=")]
            assert len(formulas) >= 0.5 * len(values) > 0, (sheet, col)
    plan = book["plan"]
    head = _header(plan)
    assert isinstance(plan[f"{head['fte']}2"].value, (int, float))  # a decision stays a number


def test_utilisation_formula_reaches_settings_and_skills_cells(planned):
    """paid_hours -> input_settings!B (hours_per_fte_week); task_hours -> work rows -> input_skills!C."""
    res, out = planned
    book = openpyxl.load_workbook(out)
    plan, work = book["plan"], book["work"]
    ph, wh = _header(plan), _header(work)
    hours_row = res.inputs.origin.rows["settings"]["hours_per_fte_week"]
    r = next(i for i in range(2, plan.max_row + 1)
             if plan[f"A{i}"].value == "low" and plan[f"{ph['unit']}{i}"].value == "callco_flex"
             and isinstance(plan[f"{ph['task_hours']}{i}"].value, str))
    assert plan[f"{ph['utilisation']}{r}"].value == (
        f'=IF({ph["paid_hours"]}{r}>1E-9,{ph["task_hours"]}{r}/{ph["paid_hours"]}{r},"")')
    assert plan[f"{ph['paid_hours']}{r}"].value == f"={ph['fte']}{r}*input_settings!$B${hours_row}"
    total = plan[f"{ph['task_hours']}{r}"].value
    m = re.fullmatch(rf"=SUM\(work!{wh['task_hours']}(\d+):{wh['task_hours']}(\d+)\)|=work!{wh['task_hours']}(\d+)",
                     total)
    assert m, total
    first = int(m.group(1) or m.group(3))
    assert work[f"{wh['unit']}{first}"].value == "callco_flex" and work[f"A{first}"].value == "low"
    per_task = work[f"{wh['hours_per_task']}{first}"].value
    skill_row = res.inputs.origin.rows["skills"][("callco", work[f"{wh['work_type']}{first}"].value)]
    assert f"input_skills!$C${skill_row}" in per_task  # minutes_per_task of callco's skill row


def test_task_hour_sums_cover_exactly_the_units_work_rows(planned):
    """Each plan row's SUM spans its own work rows, and the sums equal the tables' task hours."""
    res, out = planned
    book = openpyxl.load_workbook(out)
    plan, work = book["plan"], book["work"]
    ph, wh = _header(plan), _header(work)
    checked = 0
    for r in range(2, plan.max_row + 1):
        f = plan[f"{ph['task_hours']}{r}"].value
        if not (isinstance(f, str) and f.startswith("=SUM(")):
            continue
        lo, hi = map(int, re.findall(r"(\d+)", f.split("!")[1]))
        key = [plan[f"{ph[c]}{r}"].value for c in ("scenario", "week", "unit")]
        for i in range(lo, hi + 1):
            assert [work[f"{wh[c]}{i}"].value for c in ("scenario", "week", "unit")] == key
        for i in (lo - 1, hi + 1):  # the neighbours belong to another unit-week
            if 2 <= i <= work.max_row:
                assert [work[f"{wh[c]}{i}"].value for c in ("scenario", "week", "unit")] != key or \
                    plan[f"{ph['region']}{r}"].value != work[f"{wh['region']}{i}"].value
        checked += 1
    assert checked > 10


def test_a_blank_default_is_the_number_used(tmp_path):
    """productive_share left blank takes 0.8: the formula says 0.8, not a reference to a blank cell."""
    inp, out = tmp_path / "default.xlsx", tmp_path / "default-plan.xlsx"
    write_input_workbook(inp, small_tables(), weeks=8)
    book = openpyxl.load_workbook(inp)
    row = next(r for r in book["settings"].iter_rows(min_row=2) if r[0].value == "productive_share")
    row[1].value = None
    book.save(inp)
    res = api.plan(inp, out)
    assert res.exit_code == 0 and res.inputs.settings.productive_share == 0.8
    ws = openpyxl.load_workbook(out)["plan"]
    ph = _header(ws)
    assert ws[f"{ph['productive_hours']}2"].value.endswith("*0.8")


@needs_soffice
def test_libreoffice_recalculation_agrees_with_every_cached_value(planned, tmp_path):
    _, out = planned
    re_out = recalculated(out, tmp_path)
    cached = openpyxl.load_workbook(out, data_only=True)
    again = openpyxl.load_workbook(re_out, data_only=True)
    n = 0
    for sheet, cell in _formula_cells(openpyxl.load_workbook(out)):
        a, b = cached[sheet][cell.coordinate].value, again[sheet][cell.coordinate].value
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), (sheet, cell.coordinate, a, b)
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-7), (sheet, cell.coordinate, cell.value, a, b)
        n += 1
    assert n > 1000


@needs_soffice
def test_the_formulas_are_live_an_edited_input_copy_changes_the_figures(planned, tmp_path):
    """Hours per FTE-week 37.5 -> 75 in input_settings: paid hours double on recalculation."""
    res, out = planned
    book = openpyxl.load_workbook(out)
    row = res.inputs.origin.rows["settings"]["hours_per_fte_week"]
    book["input_settings"][f"B{row}"].value = 75
    edited = tmp_path / "edited.xlsx"
    book.save(edited)
    again = openpyxl.load_workbook(recalculated(edited, tmp_path), data_only=True)["plan"]
    ph = _header(again)
    plan = res.tables.plan
    i = int(np.flatnonzero(plan["paid_hours"].to_numpy() > 1)[0])
    assert again[f"{ph['paid_hours']}{i + 2}"].value == pytest.approx(2 * plan["paid_hours"].iat[i])


# --------------------------------------------------------------------------- tie-break
def test_net_changes_by_hand():
    frame = pd.DataFrame({"unit": ["u"] * 4, "week": [3, 3, 5, 5], "scenario": ["a", "b", "a", "b"]})
    inc = np.array([50.0, 50.0, 50.0, 10.0])
    dec = np.array([35.0, 20.0, 70.5, 0.0])
    lag = np.zeros(4, dtype=int)
    # reveal week 4: week 3 is decided before the reveal (same m in both scenarios: min(35, 20) = 20)
    i, d = net_changes(frame, ["unit", "week"], inc, dec, lag, lag, reveal_week=4)
    assert list(i) == [30.0, 30.0, 0.0, 10.0] and list(d) == [15.0, 0.0, 20.5, 0.0]
    # not cost-neutral: nothing changes
    i, d = net_changes(frame, ["unit", "week"], inc, dec, lag, lag, 4, where=np.zeros(4, dtype=bool))
    assert list(i) == list(inc) and list(d) == list(dec)


def test_no_unit_week_reports_both_starters_and_leavers_unless_a_firm_decision_ties_it(planned, tmp_path):
    res, _ = planned
    signed = small_tables()
    signed["contracts"].loc[1, ["status", "committed_fte", "min_term_weeks"]] = ["signed", 20, 2]
    inp = tmp_path / "signed.xlsx"
    write_input_workbook(inp, signed, weeks=8)
    other = api.plan(inp, tmp_path / "signed-plan.xlsx")
    for r in (res, other):
        assert r.exit_code == 0, r.message
        p = r.tables.plan[r.tables.plan["scenario"] != "expected"]
        both = p[(p["onboarded"] > 1e-9) & (p["exits"] > 1e-9)]
        reveal = r.inputs.settings.reveal_week
        for row in both.itertuples():
            lags = r.inputs.contracts.loc[row.unit] if row.kind == "contractor" else r.inputs.sources.loc[row.unit]
            firm = (row.week - lags["lead_weeks"] < reveal) or (row.week - lags["notice_weeks"] < reveal)
            assert firm, row  # only a decision taken before the reveal week keeps both
    p = res.tables.plan[res.tables.plan["scenario"] != "expected"]
    assert not ((p["onboarded"] > 1e-9) & (p["exits"] > 1e-9)).any()


# --------------------------------------------------------------------------- contracts
def test_status_words():
    assert list(status_words(["signed", "option", "option", "signed"], [True, True, False, True])) == [
        SIGNED_BEFORE, SIGNED_BY_PLAN, NOT_SIGNED, SIGNED_BEFORE]


def test_contracts_sheet_says_yes_or_no_and_one_status_word(planned):
    res, out = planned
    ws = openpyxl.load_workbook(out, data_only=True)["contracts"]
    head = _header(ws)
    rows = range(2, ws.max_row + 1)
    assert {ws[f"{head['signed']}{r}"].value for r in rows} <= {"Yes", "No"}
    for r in rows:
        cid = ws[f"A{r}"].value
        want = status_words([res.inputs.contracts.at[cid, "status"]], [ws[f"{head['signed']}{r}"].value == "Yes"])
        assert ws[f"{head['status']}{r}"].value == want[0]
