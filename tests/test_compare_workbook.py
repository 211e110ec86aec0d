"""The compare workbook for people (capacity/analysis/compare/workbook.py, glossary.py): read_me_first in
sentences generated from the tables, the comparison sheet's headers in words with units and comments,
Yes/No, the frozen variant column, the measures' plain notes, charts in millions, and LibreOffice opening
it on read_me_first.

The hand-made case (known answers): one region, one work type, one contractor source; contract k signed
at a committed 10 FTE for a 2-week term at 50 per FTE-week, contract j an option at 500; no demand. The
base pays 10 x 2 x 50 = 1,000 for nothing; not signing k, or signing it with nothing committed, costs 0;
j is never needed, so its flexibility value is 0.
"""

from __future__ import annotations

import math
import shutil
import subprocess

import openpyxl
import pytest

from capacity.analysis import compare as C
from capacity.analysis.compare import glossary as G
from capacity.analysis.compare.tables import _cvar_reading
from capacity.analysis.compare.workbook import read_comparison
from conftest import compare_small_example, write_inputs as _write
from factory import make_inputs

SMALL_VARY = "contracts:callco_block:min_term_weeks=2,4"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return compare_small_example(tmp_path_factory.mktemp("cw"), SMALL_VARY)[2]


@pytest.fixture(scope="module")
def idle(tmp_path_factory):
    k = dict(contract="k", source="agency", status="signed", start_week=1, min_term_weeks=2, max_fte=10,
             committed_fte=10, cost_per_fte_week=50, lead_weeks=0, notice_weeks=0)
    j = dict(contract="j", source="agency", status="option", start_week=1, min_term_weeks=0, max_fte=10,
             cost_per_fte_week=500, lead_weeks=0, notice_weeks=1)
    inp = make_inputs(weeks=2, regions=["R1"], work_types=[dict(work_type="case", tasks_per_case=1,
                                                                value_per_task=100)],
                      sources=[dict(source="agency", kind="contractor")],
                      skills=[dict(source="agency", work_type="case", minutes_per_task=60, success_rate=1)],
                      demand={("base", "R1"): [0, 0]}, contracts=[k, j])
    folder = tmp_path_factory.mktemp("idle")
    path = _write(inp, folder / "idle.xlsx")
    res = C.compare(path, folder / "idle-compare.xlsx", vary=["contracts:k:min_fte=500"], workers=1, builtin=True,
                    break_even=True)
    assert res.exit_code == 0, res.message
    return res


def _blocks(path) -> list[str]:
    ws = openpyxl.load_workbook(path)["read_me_first"]
    return [str(r[0]) for r in ws.iter_rows(values_only=True) if r[0] is not None]


# ------------------------------------------------------------------ the hand-made case's sentences
def test_read_me_first_states_the_known_answers(idle):
    comp = idle.comparison.set_index("variant")
    assert comp.loc["base", "expected_cost"] == pytest.approx(1000, abs=1e-6)          # 10 x 2 x 50
    assert comp.loc["not signed:k", "saving"] == pytest.approx(1000, abs=1e-6)
    assert comp.loc["optimum level:k", "committed_fte:k"] == pytest.approx(0, abs=1e-9)
    lines = _blocks(idle.output)
    assert lines[0] == "Read me first: what the comparison shows"
    assert ("Worth most: not signed:k. It is expected to cost £0 against the base's £1,000: a saving of £1,000 "
            "(100% of the base's expected cost).") in lines
    assert ("\u2022 Signing k cost £1,000 against leaving it an option (variant not signed:k: k:status=option; "
            "free to choose, the model does not sign it).") in lines
    assert ("\u2022 Signing k with nothing committed (the level the model would choose, instead of 10 FTE) saves "
            "£1,000 against the base (variant optimum level:k).") in lines
    # the largest saving first: the four 1,000 savings before anything else, in table order
    worth = lines.index("What each change is worth against the base, largest saving first")
    assert lines[worth + 1].startswith("\u2022 Signing k cost £1,000")
    assert lines[worth + 3].startswith("\u2022 Removing k's lock-in (initial term, notice and ramp limits) would save "
                                       "£1,000: its flexibility value (variant flex:k:")
    # the base, in sentences
    assert any(s.startswith("The base is expected to cost £1,000: £1,000 in cash") for s in lines)
    assert "\u2022 k: signed, committed level 10 FTE, expected utilisation 0.0%." in lines
    assert "\u2022 j: not signed." in lines


def test_invalid_variant_and_zero_flex_value_explained(idle):
    lines = _blocks(idle.output)
    bad = [s for s in lines if s.startswith("\u2022 min 500 FTE: invalid: ")]
    assert len(bad) == 1 and "contracts!" in bad[0] and "min_fte" in bad[0], lines
    assert "invalid: invalid" not in bad[0]
    assert ("\u2022 The flexibility value of j is £0: never needed: the base does not sign it, and without its "
            "lock-in it is still not signed, so its lock-in costs nothing.") in lines
    why = next(s for s in lines if s.startswith("A flexibility value is what removing a contract's lock-in saves"))
    assert "variant not signed:k" in why
    # one scenario: knowing the future is worth nothing, and the sheet says what that means
    assert ("\u2022 Knowing the future from week 1 would have been worth £0, 0.00% of the base's expected cost "
            "(EVPI).") in lines
    assert any("knowing the future is worth nothing: the contract terms, not the forecast, drive the cost" in s
               for s in lines)


# ------------------------------------------------------------------ the comparison sheet
def test_comparison_headers_in_words_business_first(small):
    book = openpyxl.load_workbook(small.output)
    assert book.sheetnames[:4] == ["read_me_first", "comparison", "negotiation", "measures"]
    ws = book["comparison"]
    head = [c.value for c in ws[1]]
    per_contract = [f"{c} {w}" for c in ("callco_flex", "callco_block") for w in ("signed", "level (FTE)",
                                                                                  "utilisation")]
    assert head == (["Variant", "Expected cost (£)", "Saving vs base (£; + = cheaper)", "Cash cost (£)",
                     "Worst case (£)", "Worst scenario", "CVaR 90% (£)", "Work completed"] + per_contract
                    + ["Fixed costs (£)", "Contract staff (£)", "Regional staff (£)", "Onboarding (£)",
                       "Lost value (£)", "Kind", "Edits", "Status", "Message", "MIP gap", "Seconds"])
    assert ws.freeze_panes == "B2"                           # the variant column and the header stay in view
    # every header but the first (whose cell holds the sheet's note) explains itself in a comment
    assert all(ws.cell(1, j).comment is not None for j in range(2, len(head) + 1))
    assert "positive = cheaper than the base" in ws.cell(1, 3).comment.text
    rows = {r[0]: dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    base = rows["base"]["Expected cost (£)"]
    for name, r in rows.items():
        assert r["Saving vs base (£; + = cheaper)"] == pytest.approx(base - r["Expected cost (£)"], abs=1e-6)
        assert r["callco_block signed"] in ("Yes", "No")
        assert r["Cash cost (£)"] == pytest.approx(r["Expected cost (£)"] - r["Lost value (£)"], rel=1e-12)
    assert rows["term 2 wk"]["Kind"] == "asked (--vary)" and rows["flex:all"]["Kind"] == "flexibility"
    assert rows["term 2 wk"]["Edits"] == "callco_block:min_term_weeks=2"
    assert ws.cell(2, 3).number_format == '"£"#,##0'             # money in pounds, whole


def test_read_comparison_gives_back_the_tables_names(small):
    back = read_comparison(small.output).set_index("variant")
    comp = small.comparison.set_index("variant")
    for col in ("expected_cost", "saving", "cash_cost", "cvar", "committed_fte:callco_block", "mip_gap"):
        assert back[col].to_numpy(dtype=float) == pytest.approx(comp[col].to_numpy(dtype=float), nan_ok=True), col
    assert list(back["signed:callco_block"]) == list(comp["signed:callco_block"])
    assert list(back["kind"]) == list(comp["kind"])
    assert list(back["status"]) == list(comp["status"])


@pytest.mark.parametrize("contract", ["national_2020", "a b", "x:y", "signed"])
def test_every_header_reads_back_to_its_name(contract):
    for name, col, c in G.columns_for([contract]):
        head = G.header_of(col, "GBP", 0.9, c)
        assert G.name_of_header(head) == name, (head, name)
    assert G.name_of_header("Expected cost (CHF)") == "expected_cost"
    assert G.name_of_header("CVaR 95% (£)") == "cvar"
    assert G.name_of_header("nonsense") is None


def test_measures_in_plain_words(small):
    m = small.measures.set_index("key")
    assert m.loc["evpi", "measure"] == "Value of knowing the future (EVPI)"
    assert m.loc["evpi", "note"].startswith("What knowing the future from week 1 would have been worth")
    assert "(EVPI = RP - WS" in m.loc["evpi", "note"]
    assert m.loc["eev", "note"].startswith("What the plan made for average demand really costs")
    assert "(EEV: the stochastic problem with the expected-value problem's first stage fixed" in m.loc["eev", "note"]
    assert "eq 14 decisions" not in " ".join(m["note"])          # the old jargon note is gone
    for key in m.index:
        assert m.loc[key, "note"], key                           # every measure has a note
    # small example: two scenarios at 50%; the worst alone fills the 10% tail, so CVaR = worst case
    assert ("In the base the worst scenario, high, has probability 50% on its own, at least 10%: the worst 10% "
            "lies inside it, so CVaR equals the worst scenario cost.") in m.loc["cvar_alpha", "note"]
    comp = small.comparison
    assert (comp["cvar"] - comp["worst_scenario_cost"]).abs().max() < 1e-6
    lines = _blocks(small.output)
    assert any("The worst scenario (high, probability 50%) has on its own a probability of at least 10%, so the "
               "worst 10% lies inside it and CVaR equals the worst scenario cost: that is why columns Worst case and "
               "CVaR are equal in every row." in s for s in lines)


def test_cvar_reading_when_the_worst_scenario_is_rarer_than_the_tail():
    base = make_inputs(weeks=1, regions=["R1"], work_types=[dict(work_type="case", tasks_per_case=1)],
                       sources=[dict(source="agency", kind="contractor")], skills=[], demand={},
                       scenarios=[("low", 0.95), ("high", 0.05)])
    rec = {"scenario_costs": [{"scenario": "low", "probability": 0.95, "total": 10.0},
                              {"scenario": "high", "probability": 0.05, "total": 30.0}]}
    text = _cvar_reading(base, rec, 0.9)
    assert text == ("In the base the worst scenario, high, has probability 5%, less than 10%: CVaR also averages "
                    "in the next worst scenarios, so it is below the worst scenario cost.")
    assert C.cvar([10.0, 30.0], [0.95, 0.05], 0.9) == pytest.approx((0.05 * 30 + 0.05 * 10) / 0.1)


def test_term_sentence_and_break_even_from_the_tables(small):
    n = small.negotiation.set_index("variant").loc["term 2 wk"]
    lines = _blocks(small.output)
    s = next(x for x in lines if x.startswith("\u2022 A 2-week term for callco_block"))
    saving = small.comparison.set_index("variant").loc["term 2 wk", "saving"]
    assert s.startswith(f"\u2022 A 2-week term for callco_block at £550.00 per FTE-week (variant 'term 2 wk') saves "
                        f"£{saving:,.0f} against the base; £{n['saving_per_week_removed']:,.0f} per week of term "
                        f"removed (4 weeks); break-even price £{n['break_even_price']:,.2f} per FTE-week of "
                        "callco_block, found by re-solving")
    # largest saving first: flex:callco_block (14,825) before term 2 wk (13,032)
    worth = lines.index("What each change is worth against the base, largest saving first")
    assert lines[worth + 1].startswith("\u2022 Removing callco_block's lock-in (initial term, notice and ramp "
                                       "limits) would save £14,825")
    assert lines.index(s) > worth + 1


def test_at_a_glance_table(small):
    """The small example's costs are below a million: the table is in whole pounds, sorted by saving."""
    ws = openpyxl.load_workbook(small.output)["read_me_first"]
    cells = [[c for c in r] for r in ws.iter_rows()]
    top = next(i for i, r in enumerate(cells) if r[0].value == "At a glance (saving: positive = cheaper than the base)")
    assert [c.value for c in cells[top + 1]] == ["Variant", "Expected cost (£)", "Saving vs base (£)", "Cash cost (£)",
                                                 "Worst case (£)", "CVaR 90% (£)", "Work completed", "Status"]
    names = [r[0].value for r in cells[top + 2: top + 8]]
    assert names == ["base", "flex:callco_block", "flex:all", "term 2 wk", "term 4 wk", "flex:callco_flex"]
    assert cells[top + 3][2].value == pytest.approx(small.comparison.set_index("variant").loc["flex:callco_block",
                                                                                               "saving"])
    assert cells[top + 3][2].number_format == '"£"#,##0'


def test_charts_in_millions(small):
    book = openpyxl.load_workbook(small.output)
    charts = book["measures"]._charts
    assert len(charts) == 3
    axes = [ch.y_axis.number_format.formatCode for ch in charts]
    assert axes[:2] == ['"£"#,##0.0,,"m"'] * 2                           # £229.5m, not 229525386
    assert axes[2] == "0%"


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed (no `soffice` on PATH)")
def test_libreoffice_opens_it_on_read_me_first(small, tmp_path):
    profile = tmp_path / "lo_profile"
    proc = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                           "--outdir", str(tmp_path), str(small.output)], capture_output=True, text=True, timeout=300)
    pdf = tmp_path / (small.output.stem + ".pdf")
    assert proc.returncode == 0 and pdf.exists(), proc.stdout + proc.stderr
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True).stdout
    assert text.lstrip().startswith("Read me first: what the comparison shows")
    proc = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "xlsx",
                           "--outdir", str(tmp_path / "lo"), str(small.output)], capture_output=True, text=True,
                          timeout=300)
    book = openpyxl.load_workbook(tmp_path / "lo" / small.output.name)
    assert book.sheetnames[0] == "read_me_first" and book.active.title == "read_me_first"
    assert not math.isnan(read_comparison(tmp_path / "lo" / small.output.name)["expected_cost"].iloc[0])
    # saved again by LibreOffice (15 significant digits), it still passes the audit
    from capacity.analysis.audit import audit

    a = audit(tmp_path / "lo" / small.output.name, small.output.parent / "s.xlsx", workers=2)
    assert a.exit_code == 0 and a.lines[-1] == "verified", "\n".join(a.lines)
