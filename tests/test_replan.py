"""`capacity replan` (v2.md section 2): the rolled-forward input workbook, and its refusals."""

from __future__ import annotations

import math

import openpyxl
import pytest
from click.testing import CliRunner

from capacity import api
from capacity.analysis import replan as rp
from capacity.analysis.audit.read import read_table
from capacity.cli import main
from capacity.io.errors import InputError
from capacity.io.reader import read_workbook
from capacity.io.validate import read_inputs

from conftest import plan_small_example

T = 4
W = "high"


def run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The small example, its plan, and the workbook replanned from week 4 in scenario high."""
    folder = tmp_path_factory.mktemp("replan")
    inp, plan = plan_small_example(folder)
    before = inp.read_bytes()
    out = folder / "from-4.xlsx"
    res = api.replan(inp, plan, T, scenario=W, output=out)
    return {"in": inp, "plan": plan, "out": out, "res": res, "before": before, "folder": folder}


def _plan_rows(plan_path, scenario):
    """(unit, region, week) -> plan row (fte, onboarded, exits, kind) of one scenario."""
    t = read_table(read_workbook(plan_path), "plan", [])
    f = t.frame[t.frame["scenario"] == scenario]
    return {(r.unit, r.region, int(r.week)): r for r in f.itertuples(index=False)}


def _history(out):
    ws = openpyxl.load_workbook(out)["history"]
    rows = list(ws.iter_rows(values_only=True))
    return rows[0], rows[1:]


def _cells(path):
    """Every non-blank cell of every sheet: {'sheet!A1': value}."""
    book = openpyxl.load_workbook(path)
    return {f"{ws.title}!{c.coordinate}": c.value for ws in book for row in ws.iter_rows() for c in row
            if c.value not in (None, "")}  # an empty text cell is a blank cell to every reader


def test_exit_and_summary(small):
    assert small["res"].exit_code == 0
    assert small["out"].is_file()


def test_input_unchanged_byte_for_byte(small):
    assert small["in"].read_bytes() == small["before"]


def test_history_rows_are_the_plans_branch(small):
    head, rows = _history(small["out"])
    assert head == rp.HISTORY_COLUMNS
    plan = _plan_rows(small["plan"], W)
    assert rows, "no history rows"
    for unit, region, week, fte, onboarded, exits in rows:
        p = plan[(unit, region or "", week)]
        assert fte == p.fte          # exactly the model's value, not rounded
        if p.kind == "contractor":
            assert region is None and onboarded is None and exits is None
        else:
            assert (onboarded, exits) == (p.onboarded, p.exits)


def test_history_weeks_before_T_and_decisions_taken(small):
    """Weeks 1..3 of every regional unit and of each contract in its window (start_week 2); then, when
    week 4 begins, the decisions already taken (small example: callco_flex lead 1 / notice 1 -> week 4;
    callco_block lead 1 / notice 2 -> weeks 4-5; eho lead 0 / notice 0 -> none; redeployed lead 1 /
    notice 0 -> week 4; hire lead 2 / notice 1 -> weeks 4-5)."""
    _, rows = _history(small["out"])
    got = {(u, r or "", w) for u, r, w, *_ in rows}
    regions = ("north", "midlands", "south")
    want = {("callco_flex", "", w) for w in (2, 3, 4)} | {("callco_block", "", w) for w in (2, 3, 4, 5)}
    want |= {("eho", r, w) for r in regions for w in (1, 2, 3)}
    want |= {("redeployed", r, w) for r in regions for w in (1, 2, 3, 4)}
    want |= {("hire", r, w) for r in regions for w in (1, 2, 3, 4, 5)}
    assert got == want
    assert len(rows) == len(want)   # one row each
    # the first rows, by hand: contracts first (workbook order), then regional sources by region and week
    assert rows[0][:3] == ("callco_flex", None, 2)
    assert rows[3][:3] == ("callco_block", None, 2)
    assert rows[7][:3] == ("eho", "north", 1)


def test_changes_say_which_later_values_were_not_yet_decided(small):
    """A later row fixes all its values; those decided in week 4 or later are marked (small example: hire lead
    2 / notice 1, so week 5's onboarded was decided in week 3 but its exits are week 4's decision;
    redeployed lead 1 / notice 0: week 4's exits; callco_block lead 1 / notice 2: week 5's headcount)."""
    ws = openpyxl.load_workbook(small["out"])[rp.CHANGES]
    reason = {r[0]: r[3] for r in ws.iter_rows(min_row=2, values_only=True)}
    _, rows = _history(small["out"])
    at = {(u, r or "", w): i + 2 for i, (u, r, w, *_) in enumerate(rows)}
    open_ = "NOT yet decided when week 4 begins"
    hire5, red4, block5 = at[("hire", "north", 5)], at[("redeployed", "south", 4)], at[("callco_block", "", 5)]
    assert open_ + " (notice)" in reason[f"history!F{hire5}"]
    assert open_ not in reason[f"history!E{hire5}"] and "decision already taken" in reason[f"history!E{hire5}"]
    assert open_ + " (notice)" in reason[f"history!F{red4}"]
    assert open_ + " (lead time or notice)" in reason[f"history!D{block5}"]
    assert open_ not in reason[f"history!D{at[('callco_block', '', 4)]}"]
    assert not any(open_ in reason[f"history!{c}{at[('eho', 'north', 3)]}"] for c in "DEF")


def test_history_stocks_add_up(small):
    """fte = previous fte + onboarded - exits for every regional unit (the model's values add up)."""
    _, rows = _history(small["out"])
    prev = {}
    for unit, region, week, fte, onboarded, exits in rows:
        if region is None:
            continue
        before = prev.get((unit, region), 0.0)
        assert math.isclose(fte, before + onboarded - exits, rel_tol=1e-12, abs_tol=1e-9), (unit, region, week)
        prev[(unit, region)] = fte


def test_demand_before_T_is_the_realised_scenario_in_every_scenario(small):
    new, _ = read_inputs(small["out"])
    old, _ = read_inputs(small["in"])
    d_old = old.demand.set_index(["scenario", "region", "week"])["cases"]
    d_new = new.demand.set_index(["scenario", "region", "week"])["cases"]
    for (s, r, t), cases in d_new.items():
        assert cases == (d_old[(W, r, t)] if t < T else d_old[(s, r, t)]), (s, r, t)
    # by hand: low / north, week 3 was 280; high's is 450
    ws = openpyxl.load_workbook(small["out"])["demand"]
    assert (ws["A2"].value, ws["B2"].value, ws["E1"].value, ws["E2"].value) == ("low", "north", 3, 450)


def test_settings(small):
    new, _ = read_inputs(small["out"])
    old, _ = read_inputs(small["in"])
    assert new.settings.plan_from_week == T
    assert old.settings.reveal_week == 3
    assert new.settings.reveal_week == max(3, T)
    assert new.settings.weeks == old.settings.weeks and new.settings.start_date == old.settings.start_date


def test_replan_changes_lists_exactly_the_edited_cells(small):
    before, after = _cells(small["in"]), _cells(small["out"])
    after = {k: v for k, v in after.items() if not k.startswith(rp.CHANGES + "!")}
    differ = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    ws = openpyxl.load_workbook(small["out"])[rp.CHANGES]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == rp.CHANGES_COLUMNS
    listed = {r[0]: (r[1], r[2]) for r in rows[1:]}
    assert len(listed) == len(rows) - 1            # each cell once
    assert set(listed) == differ
    for ref, (old, new) in listed.items():
        assert (old, new) == (before.get(ref), after.get(ref)), ref
    assert listed["settings!B6"] == (3, 4)           # reveal_week, by hand
    assert listed["demand!E2"] == (280, 450)         # low / north week 3 <- high's
    assert "demand!E5" not in listed                 # high's own row is not edited
    assert [c.ref for c in small["res"].roll.changes] == [r[0] for r in rows[1:]]


def test_everything_else_copied(small):
    """Styles, data validations and comments of the input survive the copy."""
    a, b = openpyxl.load_workbook(small["in"]), openpyxl.load_workbook(small["out"])
    for ws in a:
        other = b[ws.title]
        assert len(ws.data_validations.dataValidation) == len(other.data_validations.dataValidation), ws.title
        for row in ws.iter_rows():
            for c in row:
                d = other[c.coordinate]
                assert (c.fill.fgColor.rgb, c.font.b, c.number_format) == \
                       (d.fill.fgColor.rgb, d.font.b, d.number_format), f"{ws.title}!{c.coordinate}"
                assert (c.comment.text if c.comment else None) == (d.comment.text if d.comment else None)
    assert b.sheetnames[: len(a.sheetnames)] == a.sheetnames or "history" in a.sheetnames


def test_cli_default_output_path(small, monkeypatch):
    monkeypatch.chdir(small["folder"])
    r = run("replan", small["in"].name, "--plan", small["plan"].name, "--week", 2, "--scenario", "low")
    assert r.exit_code == 0, r.output
    assert (small["folder"] / "outputs" / "small-from-week-2.xlsx").is_file()
    assert "settings: plan_from_week = 2, reveal_week = 3" in r.stdout


def test_refuses_a_plan_not_made_from_the_input(small, tmp_path):
    other = tmp_path / "other.xlsx"
    book = openpyxl.load_workbook(small["in"])
    book["settings"]["B4"] = 40.0
    book.save(other)
    out = tmp_path / "o.xlsx"
    r = run("replan", other, "--plan", small["plan"], "--week", T, "--scenario", W, "-o", out)
    assert r.exit_code == 1
    sha = read_workbook(small["plan"]).sheets  # noqa: F841  (the plan was read, not changed)
    assert f"{small['plan']}: was not made from {other}: its run sheet (run!B" in r.stderr
    assert "nothing written" in r.stderr
    assert not out.exists()


def test_refuses_a_workbook_that_is_not_a_plan(small, tmp_path):
    out = tmp_path / "o.xlsx"
    with pytest.raises(InputError) as e:
        api.replan(small["in"], small["in"], T, scenario=W, output=out)
    assert "is not a plan workbook of capacity plan (no sheet 'plan' and 'run')" in str(e.value)
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    ([], "give exactly one of --scenario W"),
    (["--scenario", W, "--actuals", "act.xlsx"], "give exactly one of --scenario W"),
    (["--scenario", "nope"], "--scenario 'nope': no such scenario in the input (scenarios: low, high)"),
])
def test_bad_options(small, tmp_path, args, message):
    out = tmp_path / "o.xlsx"
    r = run("replan", small["in"], "--plan", small["plan"], "--week", T, "-o", out, *args)
    assert r.exit_code == 1
    assert message in r.stderr
    assert not out.exists()


@pytest.mark.parametrize("week", [0, 9, -1])
def test_week_out_of_range(small, tmp_path, week):
    out = tmp_path / "o.xlsx"
    r = run("replan", small["in"], "--plan", small["plan"], "--week", week, "--scenario", W, "-o", out)
    assert r.exit_code == 1
    assert f"--week {week} is out of range: the workbook plans weeks 1 to 8 (settings weeks, settings!B3)" in r.stderr
    assert not out.exists()


def _actuals(path, rows, weeks=(1, 2)):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "demand"
    ws.append(["region", *weeks])
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


def test_actuals_replace_demand_before_T(small, tmp_path):
    act = _actuals(tmp_path / "act.xlsx", [["north", 310, 330], ["midlands", 250, 260], ["south", 370, 400]])
    out = tmp_path / "o.xlsx"
    res = api.replan(small["in"], small["plan"], 3, actuals=act, output=out)
    new, _ = read_inputs(out)
    d = new.demand.set_index(["scenario", "region", "week"])["cases"]
    for s in ("low", "high"):
        assert (d[(s, "north", 1)], d[(s, "north", 2)], d[(s, "south", 2)]) == (310, 330, 400)
    assert new.settings.plan_from_week == 3 and new.settings.reveal_week == 3
    # before reveal_week every branch agrees: the history is the plan's (its most probable scenario, the first
    # of equals: low)
    assert res.roll.branch == "low"
    plan = _plan_rows(small["plan"], "high")
    for unit, region, week, fte, *_ in _history(out)[1]:
        if week < 3:
            assert fte == plan[(unit, region or "", week)].fte


def test_actuals_problems_by_cell(small, tmp_path):
    act = _actuals(tmp_path / "act.xlsx", [["north", 310, -1], ["mars", 1, 2], ["north", 1, 2]])
    with pytest.raises(InputError) as e:
        api.replan(small["in"], small["plan"], 3, actuals=act, output=tmp_path / "o.xlsx")
    text = str(e.value)
    assert "act.xlsx: demand!C2: cases must be a number >= 0, got -1" in text
    assert "act.xlsx: demand!A3: region 'mars' is not a region of the input (regions: north, midlands, south)" in text
    assert "act.xlsx: demand!A4: region 'north' has a second row (first at row 2)" in text
    assert "act.xlsx: demand!A1: no row for region 'midlands'" in text
    assert not (tmp_path / "o.xlsx").exists()


def test_actuals_need_every_week_before_T(small, tmp_path):
    act = _actuals(tmp_path / "act.xlsx", [["north", 1], ["midlands", 1], ["south", 1]], weeks=(1,))
    with pytest.raises(InputError) as e:
        api.replan(small["in"], small["plan"], 3, actuals=act, output=tmp_path / "o.xlsx")
    assert "act.xlsx: demand!A1: missing week column(s) 2 (the realised cases of weeks 1 to 2 are needed)" in str(e.value)


def test_actuals_after_reveal_week_refused(small, tmp_path):
    act = _actuals(tmp_path / "act.xlsx", [["north", 1, 2], ["midlands", 1, 2], ["south", 1, 2]])
    r = run("replan", small["in"], "--plan", small["plan"], "--week", 5, "--actuals", act, "-o", tmp_path / "o.xlsx")
    assert r.exit_code == 1
    assert ("--actuals with --week 5: from reveal_week 3 (settings!B6) on, the plan's decisions differ by scenario"
            in r.stderr)


def test_decided_weeks():
    assert list(rp.decided_weeks(2, 4, 5)) == [5, 6, 7, 8]
    assert list(rp.decided_weeks(3, 0, 5)) == [5, 6, 7]
    assert list(rp.decided_weeks(0, 0, 5)) == []


def test_formulas_of_the_input_keep_their_values(small, tmp_path):
    """A formula of the input stays a formula in the copy, with the value it had (openpyxl alone would
    drop the value, and the reader refuses a formula without one)."""
    import shutil
    import subprocess

    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not on the PATH: it saves the formulas' values")
    book = openpyxl.load_workbook(small["in"])
    ws = book["availability"]
    old = ws["D2"].value
    ws["D2"] = f"={old}/2*2"
    src = tmp_path / "src.xlsx"
    book.save(src)
    folder = tmp_path / "lo"
    subprocess.run(["soffice", "--headless", "--calc", "--convert-to", "xlsx", "--outdir", str(folder), str(src)],
                   check=True, capture_output=True, timeout=180)
    inp = folder / "src.xlsx"
    assert read_workbook(inp).sheets["availability"].value(1, 3) == old   # LibreOffice saved the value
    plan = tmp_path / "p.xlsx"
    assert api.plan(inp, plan).exit_code == 0
    out = tmp_path / "o.xlsx"
    api.replan(inp, plan, T, scenario=W, output=out)
    assert openpyxl.load_workbook(out)["availability"]["D2"].value == f"={old}/2*2"
    assert read_workbook(out).sheets["availability"].value(1, 3) == old
    read_inputs(out)   # no "formula without a value"


# --------------------------------------------------------------------------
# The loop: plan -> replan -> edit a headcount in history -> plan -> audit
# --------------------------------------------------------------------------

def _edit_headcount(path, source="eho"):
    """Fewer in post in the last history week of ``source``'s largest region (one fewer, or half when
    fewer than 2 are in post; as many more exits, so the stock adds up): (unit, region, week, new fte)."""
    book = openpyxl.load_workbook(path)
    ws = book["history"]
    head = [c.value for c in ws[1]]
    col = {name: head.index(name) + 1 for name in rp.HISTORY_COLUMNS}
    from_week = next(r[1] for r in book["settings"].iter_rows(values_only=True) if r[0] == "plan_from_week")
    rows = [r for r in range(2, ws.max_row + 1) if ws.cell(r, col["unit"]).value == source
            and ws.cell(r, col["week"]).value == from_week - 1]
    r = max(rows, key=lambda r: ws.cell(r, col["fte"]).value)
    fte = ws.cell(r, col["fte"]).value
    assert fte > 0.1, "nobody in post to edit"
    cut = min(1.0, fte / 2)
    ws.cell(r, col["fte"]).value = fte - cut
    ws.cell(r, col["exits"]).value = (ws.cell(r, col["exits"]).value or 0) + cut
    book.save(path)
    return source, ws.cell(r, col["region"]).value, from_week - 1, fte - cut


def _loop(inp, folder, week, scenario):
    from capacity.analysis.audit import audit

    p1 = folder / "p1.xlsx"
    assert api.plan(inp, p1).exit_code == 0
    new = folder / f"{inp.stem}-from-week-{week}.xlsx"
    api.replan(inp, p1, week, scenario=scenario, output=new)
    unit, region, t, fte = _edit_headcount(new)
    p2 = folder / "p2.xlsx"
    res = api.plan(new, p2)
    assert res.exit_code == 0, res.message
    # the history is what the new plan has, in every scenario: the edited headcount, the others as planned
    hist = {(u, r or "", w): (f, on, ex) for u, r, w, f, on, ex in _history(new)[1]}
    planned = read_table(read_workbook(p2), "plan", []).frame
    planned = planned[planned["scenario"] != "expected"]
    seen = 0
    for row in planned.itertuples(index=False):
        key = (row.unit, row.region, int(row.week))
        if key in hist and (row.week < week or row.kind == "contractor"):
            assert math.isclose(row.fte, hist[key][0], abs_tol=1e-6), (key, row.scenario)
            seen += 1
    assert seen >= len([k for k in hist if k[2] < week])     # every scenario holds every history week
    edited = planned[(planned["unit"] == unit) & (planned["region"] == region) & (planned["week"] == t)]
    assert len(edited) and (abs(edited["fte"] - fte) < 1e-6).all()
    verdict = audit(p2, new)
    assert verdict.exit_code == 0, verdict.lines
    return res


def test_loop_on_a_random_instance(tmp_path):
    from conftest import write_inputs
    from factory import synthetic

    inp = write_inputs(synthetic(regions=3, weeks=12, scenarios=3, contracts=2, seed=11, reveal_week=3),
                       tmp_path / "random.xlsx")
    res = _loop(inp, tmp_path, 5, "S1")
    assert res.inputs.settings.plan_from_week == 5


@pytest.mark.slow
def test_loop_on_the_england_example(tmp_path):
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "inputs" / "england-2020.xlsx"
    inp = tmp_path / src.name
    inp.write_bytes(src.read_bytes())
    res = _loop(inp, tmp_path, 5, "observed")
    assert res.inputs.settings.plan_from_week == 5 and res.inputs.settings.reveal_week == 5


def test_actuals_refuse_a_plan_whose_branches_differ_before_reveal(small, tmp_path):
    """Before reveal_week the branches agree (eq 14); a plan sheet edited so that they do not is refused."""
    book = openpyxl.load_workbook(small["plan"])
    ws = book["plan"]
    head = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(head)}
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, col["scenario"]).value == "high"
               and ws.cell(r, col["unit"]).value == "redeployed" and ws.cell(r, col["week"]).value == 2)
    region = ws.cell(row, col["region"]).value
    ws.cell(row, col["fte"]).value = ws.cell(row, col["fte"]).value + 1
    edited = tmp_path / "edited-plan.xlsx"
    book.save(edited)
    rp.keep_cached_values(edited, read_workbook(small["plan"]))   # as a spreadsheet would save it
    act = _actuals(tmp_path / "act.xlsx", [["north", 1, 2], ["midlands", 1, 2], ["south", 1, 2]])
    with pytest.raises(InputError) as e:
        api.replan(small["in"], edited, 3, actuals=act, output=tmp_path / "o.xlsx")
    assert f"the plan's scenarios differ on fte of redeployed in {region} in week 2" in str(e.value)
    assert not (tmp_path / "o.xlsx").exists()


def test_replan_a_replanned_workbook(small, tmp_path):
    """Round two: the week-4 workbook planned, then re-planned from week 6; an earlier week is refused."""
    p4 = tmp_path / "p4.xlsx"
    assert api.plan(small["out"], p4).exit_code == 0
    with pytest.raises(InputError) as e:
        api.replan(small["out"], p4, 3, scenario=W, output=tmp_path / "x.xlsx")
    assert ("--week 3 is before the input's plan_from_week 4: re-planning from an earlier week would discard the "
            "history of week 3") in str(e.value)
    out = tmp_path / "from-6.xlsx"
    res = api.replan(small["out"], p4, 6, scenario=W, output=out)
    plan = _plan_rows(p4, W)
    head, rows = _history(out)
    assert head == rp.HISTORY_COLUMNS
    assert {w for _, _, w, *_ in rows} == {1, 2, 3, 4, 5, 6, 7}
    for unit, region, week, fte, *_ in rows:
        assert fte == plan[(unit, region or "", week)].fte
    # (the sheet replan_changes of round one is replaced by round two's, not listed in it)
    before, after = (
        {k: v for k, v in _cells(p).items() if not k.startswith(rp.CHANGES + "!")} for p in (small["out"], out))
    differ = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert {c.ref for c in res.roll.changes} == differ
    assert "history!A1" not in differ                       # the header was already there
    assert read_inputs(out)[0].settings.plan_from_week == 6
