"""capacity compare's negotiation figures on hand-made cases whose answers are known:
the saving (sign), the saving per week of term removed, the break-even price found by
re-solving, the cost per FTE-week used; the built-in 'not signed' and 'optimum level'
variants; several cells per --vary and --variants FILE.xlsx, and their errors.

The cases: one region, one work type 'case' (1 task per case, value 100 per task lost),
one contractor source 'agency' (60 minutes per task, always succeeds), one contract 'k'
(max 10 FTE, price 50 per FTE-week), one scenario, 2 weeks. H = 37.5 x 0.8 = 30
productive hours per FTE-week, so one FTE-week does 30 tasks.
"""

from __future__ import annotations

import math

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from capacity.analysis import compare as C
from capacity.analysis import variants as V
from capacity.analysis.compare import negotiation as N
from capacity.analysis.compare.workbook import read_comparison
from capacity.cli import main
from conftest import write_inputs as _write
from factory import make_inputs

H = 30.0


def _case(demand, **contract):
    k = dict(contract="k", source="agency", status="signed", start_week=1, min_term_weeks=2, max_fte=10,
             committed_fte=10, cost_per_fte_week=50, lead_weeks=0, notice_weeks=0)
    k.update(contract)
    return make_inputs(weeks=2, regions=["R1"],
                       work_types=[dict(work_type="case", tasks_per_case=1, value_per_task=100)],
                       sources=[dict(source="agency", kind="contractor")],
                       skills=[dict(source="agency", work_type="case", minutes_per_task=60, success_rate=1)],
                       demand={("base", "R1"): demand}, contracts=[k])


def _run(inp, tmp_path, *, vary=(), builtin=False, name="case", **kw):
    path = _write(inp, tmp_path / f"{name}.xlsx")
    res = C.compare(path, tmp_path / f"{name}-compare.xlsx", vary=list(vary), workers=1, flex=False,
                    stochastic=False, builtin=builtin, break_even=True, **kw)
    assert res.exit_code == 0, res.message
    return res


# ============================================================ saving and per week of term removed
def test_shorter_term_saving_per_week_and_break_even_in_closed_form(tmp_path):
    """300 cases in week 1, none in week 2: 10 FTE needed in week 1 only.
    Base (term 2): 10 FTE x 2 weeks x 50 = 1000. Term 1: 10 x 1 x 50 = 500, so the
    saving is 500 (positive: the variant is cheaper), 1 week removed: 500 per week.
    The variant's cost is 10 p at price p, so it costs the base's 1000 at p = 100."""
    res = _run(_case([300, 0]), tmp_path, vary=["contracts:k:min_term_weeks=1"])
    row = res.negotiation_row("term 1 wk")
    assert row["base_expected_cost"] == pytest.approx(1000, abs=1e-6)
    assert row["expected_cost"] == pytest.approx(500, abs=1e-6)
    assert row["saving"] == pytest.approx(500, abs=1e-6)
    assert (row["term_weeks_base"], row["term_weeks_variant"], row["term_weeks_removed"]) == (2, 1, 1)
    assert row["saving_per_week_removed"] == pytest.approx(500, abs=1e-6)
    assert row["break_even_status"] == "found"
    assert row["break_even_price"] == pytest.approx(100, abs=1e-6)
    assert row["break_even_headroom"] == pytest.approx(50, abs=1e-6)
    assert row["break_even_cost"] == pytest.approx(1000, abs=1e-6)
    assert row["break_even_solves"] == 1          # the cost is linear in the price: one Newton step is exact
    assert row["break_even_method"].startswith("found by re-solving")
    # cost per FTE-week used: 10 FTE-weeks paid, 300 task hours = 10 productive FTE-weeks used
    assert row["paid_fte_weeks"] == pytest.approx(10) and row["used_fte_weeks"] == pytest.approx(10)
    assert row["cost_per_fte_week_used"] == pytest.approx(50) and row["price_paid_per_fte_week"] == pytest.approx(50)
    assert row["base_cost_per_fte_week_used"] == pytest.approx(1000 / 10)   # the base pays 20, uses 10
    runs = res.break_even_runs
    assert list(runs["role"]) == ["the variant's own run", "re-solve"]
    assert list(runs["price"]) == pytest.approx([50, 100])
    assert list(runs["cost_minus_base"]) == pytest.approx([-500, 0], abs=1e-6)
    assert res.negotiation.loc[0, "notes"] == ""  # nothing blank to explain


def test_a_variant_that_costs_more_breaks_even_below_its_price(tmp_path):
    """Base term 1 (cost 500); the variant lengthens it to 2 (cost 20 p = 1000): saving -500,
    no term removed; break-even where 20 p = 500, p = 25 (from price 0, then one step)."""
    res = _run(_case([300, 0], min_term_weeks=1), tmp_path, vary=["contracts:k:min_term_weeks=2"])
    row = res.negotiation_row("term 2 wk")
    assert row["saving"] == pytest.approx(-500, abs=1e-6)
    assert row["term_weeks_removed"] is None and pd.isna(row["saving_per_week_removed"])
    assert "does not shorten a term" in row["notes"]
    assert row["break_even_price"] == pytest.approx(25, abs=1e-6)
    assert list(res.break_even_runs["price"]) == pytest.approx([50, 0, 25])


def test_no_break_even_when_the_variant_costs_more_even_at_price_0(tmp_path):
    """A fixed cost of 5000 on the signed contract: the variant costs 5000 + 20 p > 1000 at any p >= 0."""
    res = _run(_case([300, 0]), tmp_path, vary=["contracts:k:fixed_cost=5000"])
    row = res.negotiation_row("fixed cost 5000")
    assert row["saving"] == pytest.approx(-5000, abs=1e-6)
    assert row["break_even_status"] == "none" and pd.isna(row["break_even_price"])
    assert "even with k at price 0" in row["notes"]
    assert row["break_even_solves"] == 1


def test_variant_editing_no_contract_has_no_break_even(tmp_path):
    res = _run(_case([300, 0]), tmp_path, vary=["settings:productive_share=0.5"])
    row = res.negotiation_row("productive share 0.5")
    assert row["break_even_status"] == "not computed"
    assert "edits no contract" in row["notes"]
    # 300 tasks need 300 / (37.5 x 0.5) = 16 FTE-weeks but 10 FTE x 2 weeks are paid: 120 tasks lost
    assert row["expected_cost"] == pytest.approx(1000 + (300 - 10 * 18.75) * 100, abs=1e-6)


# ============================================================ the built-in variants
def test_not_signed_with_the_lead_time_exemption_and_optimum_level(tmp_path):
    """Signed, committed 10 for 2 weeks, arranged before the plan (lead 1, start week 1).
    Demand 3 cases in week 1, 90 in week 2. Base: 10 x 2 x 50 = 1000, nothing lost.

    not signed: status option and start week 2 (the first week a 1-week lead allows).
    Signing then costs 10 x 50 = 500 for week 2 plus 3 x 100 lost in week 1 = 800;
    not signing loses 93 x 100 = 9300. So 800: signing cost 200 against the option.
    Break-even: 300 + 10 p = 1000, p = 70.

    optimum level: 3 FTE (90 tasks in week 2 at 30 a week; the term keeps the level in
    week 1 too): 3 x 2 x 50 = 300, saving 700; break-even 6 p = 1000, p = 166.67."""
    res = _run(_case([3, 90], lead_weeks=1), tmp_path, builtin=True)
    comp = res.comparison.set_index("variant")
    assert comp.loc["base", "expected_cost"] == pytest.approx(1000, abs=1e-6)
    ns = res.negotiation_row("not signed:k")
    assert ns["kind"] == "builtin" and ns["expected_cost"] == pytest.approx(800, abs=1e-6)
    assert ns["saving"] == pytest.approx(200, abs=1e-6)
    assert ns["break_even_price"] == pytest.approx(70, abs=1e-6)
    ch = res.inputs_changed[res.inputs_changed["variant"] == "not signed:k"].set_index("column")
    assert set(ch.index) == {"status", "start_week"}
    assert (ch.loc["status", "old_value"], ch.loc["status", "new_value"]) == ("signed", "option")
    assert (ch.loc["start_week", "old_value"], ch.loc["start_week", "new_value"]) == (1, 2)
    assert ch.loc["start_week", "cell"] == "contracts!D2" and ch.loc["start_week", "value_read"] == 2
    assert "lead time" in ch.loc["start_week", "note"]
    assert comp.loc["not signed:k", "edits"] == "k:status=option & k:start_week=2"

    ol = res.negotiation_row("optimum level:k")
    assert ol["expected_cost"] == pytest.approx(300, abs=1e-6) and ol["saving"] == pytest.approx(700, abs=1e-6)
    assert comp.loc["optimum level:k", "committed_fte:k"] == pytest.approx(3, abs=1e-6)
    assert bool(comp.loc["optimum level:k", "signed:k"])
    ch = res.inputs_changed[res.inputs_changed["variant"] == "optimum level:k"]
    assert list(ch["column"]) == ["committed_fte"] and ch["new_value"].iloc[0] == pytest.approx(3, abs=1e-3)
    assert "start" in ch["note"].iloc[0]       # the pre-arranged start kept
    assert ol["break_even_price"] == pytest.approx(1000 / 6, abs=1e-4)
    # cost per FTE-week used: 93 task hours = 3.1 productive FTE-weeks
    assert ol["cost_per_fte_week_used"] == pytest.approx(300 / 3.1)
    assert ol["base_cost_per_fte_week_used"] == pytest.approx(1000 / 3.1)


def test_not_signed_never_used_has_no_break_even_and_flex_value_reason(tmp_path):
    """No demand: the base pays 1000 for nothing; offered, the contract is never signed (cost 0),
    so no price makes the variant cost the base's 1000."""
    inp = _case([0, 0], lead_weeks=1)
    path = _write(inp, tmp_path / "idle.xlsx")
    res = C.compare(path, tmp_path / "idle-compare.xlsx", workers=1, stochastic=False, builtin=True,
                    break_even=True)
    row = res.negotiation_row("not signed:k")
    assert row["saving"] == pytest.approx(1000, abs=1e-6)
    assert row["break_even_status"] == "none"
    assert "pays for no FTE-week of k" in row["notes"] and "k is not signed in this variant" in row["notes"]
    assert pd.isna(row["cost_per_fte_week_used"])        # nothing used
    ol = res.negotiation_row("optimum level:k")
    assert ol["expected_cost"] == pytest.approx(0, abs=1e-6)   # level 0
    assert res.measures.set_index("key").loc["flex_value:k", "reason"] == ""


def test_flex_value_zero_reason_for_an_option_never_needed(tmp_path):
    inp = _case([0, 0], status="option", committed_fte=math.nan, min_term_weeks=1)
    path = _write(inp, tmp_path / "opt.xlsx")
    res = C.compare(path, tmp_path / "opt-compare.xlsx", workers=1, stochastic=False)
    m = res.measures.set_index("key")
    assert m.loc["flex_value:k", "value"] == pytest.approx(0, abs=1e-9)
    assert m.loc["flex_value:k", "reason"].startswith("never needed: the base does not sign it")


def test_builtin_variants_that_cannot_be_built_say_why_by_cell(tmp_path):
    """end week 1 with a 1-week lead: unsigned it could start no earlier than week 2, after its end."""
    inp = _case([3, 90], lead_weeks=1, end_week=1, min_term_weeks=1)
    res = _run(inp, tmp_path, builtin=True)
    comp = res.comparison.set_index("variant")
    assert comp.loc["not signed:k", "status"] == "invalid"
    msg = comp.loc["not signed:k", "message"]
    assert "week 2" in msg and "contracts!L2" in msg and "contracts!E2" in msg, msg
    # a signed contract with no committed level: the base already leaves the level to the model
    free = _case([300, 0], committed_fte=math.nan)
    res = _run(free, tmp_path, builtin=True, name="free")
    comp = res.comparison.set_index("variant")
    assert comp.loc["optimum level:k", "status"] == "not built"
    assert "contracts!I2 committed_fte is blank" in comp.loc["optimum level:k", "message"]
    assert "did not solve" not in res.message


# ============================================================ the search itself, on known curves
def _drive(curve, price0, base, max_solves=N.MAX_SOLVES):
    """Run a BreakEven search against ``curve(p) -> (cost, paid FTE-weeks)`` without a solver."""
    inp = _case([300, 0], cost_per_fte_week=price0)
    s = N.BreakEven("variant:v", "v", "k", inp, max_solves=max_solves)
    cost, slope = curve(price0)
    jobs = s.start(base, {"status": "optimal", "objective": cost, "paid_fte_weeks": {"k": slope}})
    while jobs:
        (job,) = jobs
        p = float(job.inputs.contracts.loc["k", "cost_per_fte_week"])
        cost, slope = curve(p)
        jobs = s.step(job, {"status": "optimal", "objective": cost, "paid_fte_weeks": {"k": slope}})
    return s


def _concave(pieces):
    """min over (intercept, slope) lines: a concave piecewise-linear cost and its slope."""
    def f(p):
        a, b = min(pieces, key=lambda ab: ab[0] + ab[1] * p)
        return a + b * p, b
    return f


def test_newton_steps_on_a_piecewise_linear_curve():
    # three plans: 100 + 40 p, 600 + 20 p, 1500 + 5 p; base 2000: on the last piece, 1500 + 5 p = 2000 -> p = 100
    s = _drive(_concave([(100, 40), (600, 20), (1500, 5)]), 20.0, 2000.0)
    assert s.status == "found" and s.price == pytest.approx(100)
    assert s.solves == 3          # 20 (piece 1) -> 47.5 (piece 2) -> 70 (piece 3) -> 100, exact
    assert [round(p.price, 6) for p in s.points] == [20, 47.5, 70, 100]
    assert s.method().startswith("found by re-solving: 3 re-solves")


def test_plateau_gives_no_break_even_with_the_reason():
    # the contract stops being used above price 20: cost 300 + 10 p, then flat at 500 < base 800
    s = _drive(_concave([(300, 10), (500, 0)]), 5.0, 800.0)
    assert s.status == "none" and s.price is None
    assert "pays for no FTE-week" in s.reason and s.solves == 1


def test_break_even_beyond_the_bracket_is_blank():
    # 10 p = 1e6 needs p = 100,000, far above 10 x the price 50
    s = _drive(_concave([(0, 10)]), 50.0, 1e6)
    assert s.status == "none" and s.solves == 0 and "no break-even up to 500.00" in s.reason
    assert s.at_least == pytest.approx(50 + (1e6 - 500) / 10)   # a proven lower bound: f(p) <= 500 + 10 (p - 50)
    assert s.method().startswith("searched by re-solving: 0 re-solves")


def test_many_pieces_and_the_re_solve_limit():
    # f(p) = min over i of i^2 + (100 - 2i) p, i = 0..39: near 100 p - p^2; base 2400 is met on the
    # piece i = 39: 1521 + 22 p = 2400, p = 879 / 22
    curve = _concave([(i * i * 1.0, 100.0 - 2 * i) for i in range(40)])
    s = _drive(curve, 0.0, 2400.0)
    assert s.status == "found" and s.price == pytest.approx(879 / 22) and s.solves <= N.MAX_SOLVES
    short = _drive(curve, 0.0, 2400.0, max_solves=2)
    assert short.status == "not converged" and short.solves == 2 and "between" in short.reason


# ============================================================ several cells per --vary, --variants files
def test_vary_several_cells_of_one_row():
    vs = V.vary_variants(["contracts:national_2020:{min_term_weeks,cost_per_fte_week}=4/943.59,8/880"])
    assert [v.name for v in vs] == ["term 4 wk, price 943.59", "term 8 wk, price 880"]
    assert [(e.column, e.value) for e in vs[0].edits] == [("min_term_weeks", 4), ("cost_per_fte_week", 943.59)]
    assert V.full_label(vs[1].edits) == "national_2020:min_term_weeks=8 & national_2020:cost_per_fte_week=880"
    # with a second --vary: the product, and each group stays together
    vs = V.vary_variants(["contracts:a:{status,start_week}=option/3", "contracts:b:min_fte=1,2"])
    assert [v.name for v in vs] == ["a option, a start wk 3, b min 1 FTE", "a option, a start wk 3, b min 2 FTE"]
    vs = V.vary_variants(["settings:{reveal_week,productive_share}=2/0.5"])
    assert [(e.sheet, e.id, e.column, e.value) for e in vs[0].edits] == [
        ("settings", "reveal_week", "value", 2), ("settings", "productive_share", "value", 0.5)]


@pytest.mark.parametrize("spec, message", [
    ("contracts:k:{min_term_weeks,cost_per_fte_week}=4/900,8",
     "value group '8' has 1 value for 2 columns (min_term_weeks, cost_per_fte_week)"),
    ("contracts:k:{min_term_weeks,min_term_weeks}=4/4", "column 'min_term_weeks' named twice"),
    ("contracts:k:{min_term_weeks,}=4/4", "an empty column name between the braces"),
    ("contracts:k:{min_term_weeks,cost_per_fte_week=4/900", "braces must enclose the column names"),
    ("contracts:{k}:min_term_weeks=4", "braces must enclose the column names"),
    ("contracts:k:{min_term_weeks,cost_per_fte_week}=4/900,4/900", "values 4/900 given twice"),
    ("contracts:k:{min_term_weeks,min_fee}=4/1", "no column 'min_fee'"),
])
def test_bad_several_cells_vary_is_one_line_exit_1(tmp_path, spec, message):
    path = _write(_case([300, 0]), tmp_path / "in.xlsx")
    out = tmp_path / "o.xlsx"
    r = CliRunner().invoke(main, ["compare", str(path), "-o", str(out), "--vary", spec])
    assert r.exit_code == 1, r.output
    errors = [line for line in r.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith(f"Error: --vary {spec!r}") and message in errors[0], r.output
    assert not out.exists()


def _variants_book(path, rows, sheet="experiments"):
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


def test_variants_file_one_variant_per_name(tmp_path):
    path = _write(_case([300, 0]), tmp_path / "in.xlsx")
    vfile = _variants_book(tmp_path / "v.xlsx", [
        ("variant", "sheet", "id", "column", "value"),
        ("short and dear", "contracts", "k", "min_term_weeks", 1),
        ("short and dear", "contracts", "k", "cost_per_fte_week", 60),
        ("later reveal", "settings", "reveal_week", None, 2)])
    r = CliRunner().invoke(main, ["compare", str(path), "-o", str(tmp_path / "o.xlsx"), "--variants", str(vfile),
                                  "--workers", "1"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    comp = read_comparison(tmp_path / "o.xlsx").set_index("variant")
    assert comp.loc["short and dear", "kind"] == "variants_file"
    assert comp.loc["short and dear", "expected_cost"] == pytest.approx(600, abs=1e-6)   # 10 x 1 x 60
    assert comp.loc["short and dear", "edits"] == "k:min_term_weeks=1 & k:cost_per_fte_week=60"
    neg = pd.read_excel(tmp_path / "o.xlsx", sheet_name="negotiation", engine="openpyxl").set_index("variant")
    assert neg.loc["short and dear", "saving"] == pytest.approx(400, abs=1e-6)
    assert neg.loc["short and dear", "break_even_price"] == pytest.approx(100, abs=1e-6)  # 10 p = 1000
    ch = pd.read_excel(tmp_path / "o.xlsx", sheet_name="inputs_changed", engine="openpyxl")
    assert sorted(ch.loc[ch["variant"] == "short and dear", "column"]) == ["cost_per_fte_week", "min_term_weeks"]


@pytest.mark.parametrize("rows, sheet, message", [
    ([("variant", "sheet", "id", "column")], "experiments", "experiments!A1: missing column 'value'"),
    ([("variant", "sheet", "id", "column", "value"), ("v", "contracts", None, "min_fte", 1)], "experiments",
     "experiments!C2: id is required"),
    ([("variant", "sheet", "id", "column", "value"), ("v", "contracts", "nope", "min_fte", 1)], "experiments",
     "experiments!E2 (variant 'v'): sheet 'contracts' has no row 'nope'"),
    ([("variant", "sheet", "id", "column", "value")], "experiments", "sheet 'experiments' has no variant rows"),
    ([("variant", "sheet", "id", "column", "value")], "other", "no sheet 'experiments'"),
])
def test_bad_variants_file_is_one_line_exit_1(tmp_path, rows, sheet, message):
    path = _write(_case([300, 0]), tmp_path / "in.xlsx")
    vfile = _variants_book(tmp_path / "v.xlsx", rows, sheet)
    out = tmp_path / "o.xlsx"
    r = CliRunner().invoke(main, ["compare", str(path), "-o", str(out), "--variants", str(vfile)])
    assert r.exit_code == 1, r.output
    errors = [line for line in r.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and errors[0].startswith("Error: --variants ") and message in errors[0], r.output
    assert not out.exists()


def test_variants_file_missing_or_not_a_workbook(tmp_path):
    path = _write(_case([300, 0]), tmp_path / "in.xlsx")
    junk = tmp_path / "junk.xlsx"
    junk.write_text("not a workbook")
    for vfile, message in ((tmp_path / "none.xlsx", "no such file"), (junk, "junk.xlsx: not an Excel workbook")):
        r = CliRunner().invoke(main, ["compare", str(path), "-o", str(tmp_path / "o.xlsx"), "--variants", str(vfile)])
        assert r.exit_code == 1 and message in r.output, r.output
        assert not (tmp_path / "o.xlsx").exists()
