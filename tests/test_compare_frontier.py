"""The risk frontier of `capacity compare` (v2 section 4; capacity/analysis/compare/frontier.py): on the small
example (two scenarios, low and high, 50% each; settings risk_weight 0 and cvar_alpha 0.9), with
--vary settings:risk_weight=0,0.5,1.

- Expected cost never falls and CVaR never rises along the risk weight (an exact property of the optima of
  (1 - lambda) E + lambda CVaR); the weight-0 point is the plain plan's expected cost.
- A run's objective in compare's records is its expected cost (the solver's optimum at weight 0, bit for bit;
  the sum of the expected parts above it), the risk-adjusted optimum kept as risk_objective.
- Sheet frontier: figures by hand from the scenario costs; the chart is a native scatter chart that openpyxl
  reads back, and LibreOffice keeps when it saves the workbook again.
- capacity audit re-checks the frontier; a hand-edited frontier cell is a difference naming it (exit 5).
- --cvar defaults to the input's settings cvar_alpha; the frontier is at each run's own level.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from capacity.analysis import compare
from capacity.analysis.audit import audit
from capacity.analysis.compare import glossary as G
from capacity.cli import main
from capacity.io.examples import write_example

VARY = "settings:risk_weight=0,0.5,1"
TOL = 1e-6   # relative: the solver's tolerances on a 10^5..10^6 cost


@pytest.fixture(scope="module")
def frontier(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frontier")
    inp = folder / "s.xlsx"
    write_example("small", inp)
    out = folder / "c.xlsx"
    res = compare.compare(inp, out, vary=[VARY], workers=2)
    assert res.exit_code == 0, res.message
    return inp, out, res


def _scenarios(res, variant):
    sc = res.scenario_costs
    rows = sc[sc["variant"] == variant].set_index("scenario")
    return rows["total"], rows["probability"]


def test_expected_cost_rises_and_cvar_falls_along_the_risk_weight(frontier):
    _, _, res = frontier
    f = res.frontier
    assert list(f["variant"]) == ["base", "risk_weight 0", "risk_weight 0.5", "risk_weight 1"]
    assert list(f["risk_weight"]) == [0, 0, 0.5, 1] and set(f["cvar_alpha"]) == {0.9}
    e, cv = f["expected_cost"].to_numpy(), f["cvar"].to_numpy()
    assert all(b >= a - TOL * a for a, b in zip(e, e[1:]))
    assert all(b <= a + TOL * a for a, b in zip(cv, cv[1:]))
    # and the trade is real on this example: weight 1 removes CVaR, for more expected cost
    assert cv[-1] < cv[0] - 10_000 and e[-1] > e[0] + 10_000


def test_cvar_and_the_cost_minimised_by_hand(frontier):
    """Two scenarios at 50%: the worst 10% of probability lies inside the high scenario, so CVaR 90% is its
    cost; at weight 0.5 the plan minimised 0.5 E + 0.5 CVaR."""
    _, _, res = frontier
    f = res.frontier.set_index("variant")
    for v in f.index:
        total, p = _scenarios(res, v)
        assert list(p) == [0.5, 0.5]
        assert f.loc[v, "expected_cost"] == pytest.approx(0.5 * total["low"] + 0.5 * total["high"], rel=1e-9)
        assert f.loc[v, "cvar"] == pytest.approx(total["high"], rel=1e-12)
        assert f.loc[v, "worst_scenario"] == "high" and f.loc[v, "worst_scenario_cost"] == total["high"]
    half = f.loc["risk_weight 0.5"]
    assert half["risk_objective"] == pytest.approx(0.5 * half["expected_cost"] + 0.5 * half["cvar"], rel=1e-9)
    assert half["risk_objective"] > half["expected_cost"] + 1000   # the optimum is not the expected cost
    assert f.loc["base", "risk_objective"] == f.loc["base", "expected_cost"]


def test_differences_against_the_weight_0_plan_by_hand(frontier):
    _, _, res = frontier
    f = res.frontier.set_index("variant")
    assert res.frontier.attrs["reference"] == "base"
    b = f.loc["base"]
    for v in ("risk_weight 0.5", "risk_weight 1"):
        r = f.loc[v]
        extra, removed = r["expected_cost"] - b["expected_cost"], b["cvar"] - r["cvar"]
        assert r["extra_expected_cost"] == pytest.approx(extra, rel=1e-12)
        assert r["cvar_reduction"] == pytest.approx(removed, rel=1e-12)
        assert r["cost_per_cvar_removed"] == pytest.approx(extra / removed, rel=1e-12)
    for v in ("base", "risk_weight 0"):   # nothing removed: no ratio
        assert f.loc[v, "extra_expected_cost"] == 0 and f.loc[v, "cvar_reduction"] == 0
        assert pd.isna(f.loc[v, "cost_per_cvar_removed"])


def test_weight_0_point_is_the_plain_plans_expected_cost(frontier, tmp_path):
    from capacity import api

    inp, _, res = frontier
    plan = api.plan(inp, tmp_path / "plan.xlsx", mip_gap=0.0)   # compare solves every run at MIP gap 0
    assert plan.exit_code == 0
    f = res.frontier.set_index("variant")
    assert f.loc["base", "expected_cost"] == pytest.approx(plan.solve.objective, rel=1e-9)
    assert f.loc["risk_weight 0", "expected_cost"] == f.loc["base", "expected_cost"]
    summary = dict(zip(plan.tables.summary["key"], plan.tables.summary["value"]))
    assert f.loc["base", "cvar"] == pytest.approx(float(summary["cvar"]), rel=1e-9)   # the plan reports the same CVaR


def test_objective_is_the_expected_cost_and_bit_for_bit_at_weight_0(frontier):
    from capacity.model import build_model
    from capacity.model.solve import solve

    _, _, res = frontier
    from capacity.io.validate import read_inputs

    base = res.records["base"]

    inp = read_inputs(frontier[0])[0]
    again = solve(build_model(inp), mip_gap=0.0, threads=1, duals=False)
    assert base["objective"] == again.objective            # version 1: the solver's optimum, exactly
    assert "risk_objective" not in base
    for key in ("variant:risk_weight 0.5", "variant:risk_weight 1"):
        rec = res.records[key]
        assert rec["objective"] == pytest.approx(sum(rec["parts"].values()), rel=1e-12)
        assert rec["scenario_check"] <= 1e-6 * rec["objective"]
        assert rec["risk_check"] <= 1e-6 * rec["risk_objective"]
        assert rec["risk_objective"] > rec["objective"]
    comp = res.comparison.set_index("variant")
    assert comp.loc["risk_weight 0.5", "expected_cost"] == res.records["variant:risk_weight 0.5"]["objective"]
    # the saving is on expected costs
    assert comp.loc["risk_weight 1", "saving"] == pytest.approx(
        comp.loc["base", "expected_cost"] - comp.loc["risk_weight 1", "expected_cost"], rel=1e-12)


def test_frontier_sheet_and_its_chart_in_the_saved_workbook(frontier):
    from openpyxl.chart import ScatterChart

    _, out, res = frontier
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[:3] == ["read_me_first", "comparison", "frontier"]
    ws = book["frontier"]
    head = [c.value for c in ws[1]]
    assert head == [G.header_of(G.FRONTIER_BY_NAME[n], "GBP", 0.9) for n in compare.frontier.COLUMNS]
    assert head[3] == "Expected cost (£)" and head[9] == "Expected £ paid per £ of CVaR removed"
    assert [G.name_of_frontier_header(h) for h in head] == list(compare.frontier.COLUMNS)
    assert ws["D2"].number_format == '"£"#,##0' and ws["C2"].number_format == "0.0%"
    assert "What protection against a bad scenario costs" in ws["A1"].comment.text
    assert ws["J4"].value == pytest.approx(res.frontier["cost_per_cvar_removed"].iloc[2])
    charts = ws._charts
    assert len(charts) == 1 and isinstance(charts[0], ScatterChart)
    ch = charts[0]
    line = ch.series[0]
    assert line.xVal.numRef.f == "'frontier'!$E$2:$E$5" and line.yVal.numRef.f == "'frontier'!$D$2:$D$5"
    assert line.marker.symbol == "circle"
    labels = [s.tx.v for s in ch.series[1:]]
    assert labels == ["weight 0", "weight 0.5", "weight 1"]   # base and 'risk_weight 0' are one point
    titles = ["".join(r.t for p in ax.title.tx.rich.p for r in (p.r or [])) for ax in (ch.x_axis, ch.y_axis)]
    assert titles == ["CVaR 90%, £: the average cost over the worst 10% of probability", "Expected cost, £"]
    assert ch.x_axis.number_format.formatCode == '"£"#,##0'
    # the other charts are still there, and read_me_first has the risk section
    assert len(book["measures"]._charts) == 3
    texts = [c.value for row in book["read_me_first"].iter_rows() for c in row if isinstance(c.value, str)]
    assert "Risk: what protection against a bad scenario costs (sheet frontier)" in texts


def test_no_frontier_without_a_risk_variant(tmp_path):
    inp = tmp_path / "s.xlsx"
    write_example("small", inp)
    res = compare.compare(inp, tmp_path / "c.xlsx", vary=["contracts:callco_block:min_term_weeks=2"], workers=2,
                          flex=False, stochastic=False)
    assert res.exit_code == 0 and res.frontier is None
    assert "frontier" not in openpyxl.load_workbook(tmp_path / "c.xlsx").sheetnames
    assert "frontier" not in res.summary_text


def test_audit_verifies_the_frontier(frontier):
    inp, out, _ = frontier
    a = audit(out, inp, workers=2)
    assert a.exit_code == 0, "\n".join(a.lines)
    step = next(s for s in a.steps if s.name == "frontier")
    assert step.passed and step.figures["rows"] == 4
    # the highest risk weight is re-solved with the sample: its risk-adjusted optimum checked too
    assert "risk_weight 1" in next(s for s in a.steps if s.name == "re-solve").figures["runs"]


@pytest.mark.parametrize("header,row,delta", [("CVaR removed vs weight 0 (£)", "risk_weight 0.5", 1000.0),
                                              ("Expected £ paid per £ of CVaR removed", "risk_weight 1", 0.01),
                                              ("CVaR at its level (£)", "risk_weight 0.5", -5.0)])
def test_hand_edited_frontier_cell_is_a_mismatch(frontier, tmp_path, header, row, delta):
    inp, out, _ = frontier
    book = openpyxl.load_workbook(out)
    ws = book["frontier"]
    col = [c.value for c in ws[1]].index(header) + 1
    r = next(i for i in range(2, ws.max_row + 1) if ws.cell(i, 1).value == row)
    cell = ws.cell(r, col)
    cell.value += delta
    bad = tmp_path / out.name
    book.save(bad)
    where = f"frontier!{cell.coordinate}"
    res = CliRunner().invoke(main, ["audit", str(bad), "--input", str(inp)])
    assert res.exit_code == 5, res.output
    assert f"  {where}: {G.name_of_frontier_header(header)} of '{row}' is " in res.stdout
    assert res.stdout.strip().splitlines()[-1].startswith("not verified")


def test_cvar_level_defaults_to_the_inputs_setting_and_the_frontier_keeps_its_own(tmp_path):
    """settings cvar_alpha 0.25 (the worst 75%: all of high and half of low): compare's CVaR column is at
    0.25 unless --cvar says otherwise; sheet frontier always at each run's own level. --vary cvar_alpha=0.5
    at weight 0 is the same plan: no CVaR removed, no ratio."""
    inp = tmp_path / "s.xlsx"
    write_example("small", inp)
    book = openpyxl.load_workbook(inp)
    ws = book["settings"]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "cvar_alpha")
    ws.cell(row, 2).value = 0.25
    book.save(inp)
    res = compare.compare(inp, tmp_path / "c.xlsx", vary=["settings:cvar_alpha=0.5"], workers=2, flex=False,
                          stochastic=False)
    assert res.measure("cvar_alpha") == 0.25
    run = dict(zip(res.run_info["key"], res.run_info["value"]))
    assert run["cvar_alpha"] == 0.25 and run["cvar_alpha_from"] == "the input's settings cvar_alpha"
    total, p = _scenarios(res, "base")
    cvar25 = (0.5 * total["high"] + 0.25 * total["low"]) / 0.75
    comp = res.comparison.set_index("variant")
    assert comp.loc["base", "cvar"] == pytest.approx(cvar25, rel=1e-12)
    f = res.frontier.set_index("variant")
    assert list(f.index) == ["base", "cvar_alpha 0.5"] and list(f["cvar_alpha"]) == [0.25, 0.5]
    assert f.loc["cvar_alpha 0.5", "cvar"] == pytest.approx(total["high"], rel=1e-12)   # worst 50%: high alone
    assert f.loc["cvar_alpha 0.5", "cvar_reduction"] == pytest.approx(0.0, abs=1e-6)
    assert pd.isna(f.loc["cvar_alpha 0.5", "cost_per_cvar_removed"])
    assert "CVaR level" in G.header_of(G.FRONTIER_BY_NAME["cvar_alpha"], "GBP", 0.9)
    assert audit(tmp_path / "c.xlsx", inp, workers=2).exit_code == 0
    # an explicit --cvar wins for the comparison, not for the frontier
    res9 = compare.compare(inp, tmp_path / "c9.xlsx", vary=["settings:risk_weight=1"], cvar=0.9, workers=2,
                           flex=False, stochastic=False)
    assert res9.measure("cvar_alpha") == 0.9
    c9 = res9.comparison.set_index("variant")
    t9, _ = _scenarios(res9, "risk_weight 1")
    assert c9.loc["risk_weight 1", "cvar"] == pytest.approx(t9["high"], rel=1e-12)
    f9 = res9.frontier.set_index("variant")
    assert f9.loc["risk_weight 1", "cvar_alpha"] == 0.25
    assert f9.loc["risk_weight 1", "cvar"] == pytest.approx((0.5 * t9["high"] + 0.25 * t9["low"]) / 0.75, rel=1e-12)
    heads = [c.value for c in openpyxl.load_workbook(tmp_path / "c9.xlsx")["comparison"][1]]
    assert "CVaR 90% (£)" in heads and "CVaR 25% (£)" not in heads


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed (no `soffice` on PATH)")
def test_libreoffice_keeps_the_frontier_chart(frontier, tmp_path):
    from openpyxl.chart import ScatterChart

    inp, out, res = frontier
    profile = tmp_path / "lo_profile"
    proc = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "xlsx",
                           "--outdir", str(tmp_path / "lo"), str(out)], capture_output=True, text=True, timeout=300)
    again = tmp_path / "lo" / out.name
    assert proc.returncode == 0 and again.exists(), proc.stdout + proc.stderr
    with zipfile.ZipFile(again) as z:
        assert b"LibreOffice" in z.read("docProps/app.xml")
    book = openpyxl.load_workbook(again)
    charts = book["frontier"]._charts
    assert len(charts) == 1 and isinstance(charts[0], ScatterChart)
    xs = charts[0].series[0].xVal.numRef.f.replace("'", "").replace("$", "")
    assert xs == "frontier!E2:E5"
    got = pd.read_excel(again, sheet_name="frontier", engine="openpyxl")
    assert got.iloc[:, 4].tolist() == pytest.approx(res.frontier["cvar"].tolist(), rel=1e-12)
    a = audit(again, inp, workers=2)
    assert a.exit_code == 0, "\n".join(a.lines)


def test_experiments_sheet_variants_and_a_risk_averse_base(tmp_path):
    """The input itself at risk weight 0.5, its experiments sheet asking for weight 0, a CVaR level of 50% and
    weight 1 with a cheaper block contract: the frontier sorts them by weight (then level), takes differences
    against the weight 0 variant (the base is not risk-neutral), says which row changes more than risk, and
    passes the audit."""
    inp = tmp_path / "s.xlsx"
    write_example("small", inp)
    book = openpyxl.load_workbook(inp)
    ws = book["settings"]
    ws.cell(next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "risk_weight"), 2).value = 0.5
    ex = book.create_sheet("experiments")
    for row in [("variant", "sheet", "id", "column", "value"),
                ("neutral", "settings", "risk_weight", None, 0),
                ("tail 50%", "settings", "cvar_alpha", None, 0.5),
                ("cautious, cheap block", "settings", "risk_weight", None, 1),
                ("cautious, cheap block", "contracts", "callco_block", "cost_per_fte_week", 450),
                ("cheap block", "contracts", "callco_block", "cost_per_fte_week", 450)]:
        ex.append(row)
    book.save(inp)
    res = compare.compare(inp, tmp_path / "c.xlsx", workers=2, flex=False, stochastic=False)
    assert res.exit_code == 0, res.message
    f = res.frontier
    assert list(f["variant"]) == ["neutral", "tail 50%", "base", "cautious, cheap block"]   # 'cheap block': no
    assert list(f["risk_weight"]) == [0, 0.5, 0.5, 1] and list(f["cvar_alpha"]) == [0.9, 0.5, 0.9, 0.9]
    assert f.attrs["reference"] == "neutral" and f.attrs["other_edits"] == ["cautious, cheap block"]
    g = f.set_index("variant")
    total, _ = _scenarios(res, "neutral")
    # 'tail 50%': the worst 50% is the high scenario alone; the reference's CVaR taken at that level too
    assert g.loc["tail 50%", "cvar_reduction"] == pytest.approx(total["high"] - g.loc["tail 50%", "cvar"], rel=1e-9)
    assert g.loc["base", "extra_expected_cost"] == pytest.approx(
        g.loc["base", "expected_cost"] - g.loc["neutral", "expected_cost"], rel=1e-12)
    assert g.loc["neutral", "risk_objective"] == g.loc["neutral", "expected_cost"]
    assert g.loc["base", "risk_objective"] == pytest.approx(
        0.5 * g.loc["base", "expected_cost"] + 0.5 * g.loc["base", "cvar"], rel=1e-9)
    note = openpyxl.load_workbook(tmp_path / "c.xlsx")["frontier"]["A1"].comment.text
    assert "Differences are against 'neutral' (risk weight 0)" in note
    assert "cautious, cheap block also changes other input cells" in note
    a = audit(tmp_path / "c.xlsx", inp, workers=2)
    assert a.exit_code == 0, "\n".join(a.lines)


def test_an_invalid_risk_weight_is_not_on_the_frontier_and_the_audit_passes(tmp_path):
    inp = tmp_path / "s.xlsx"
    write_example("small", inp)
    res = compare.compare(inp, tmp_path / "c.xlsx", vary=["settings:risk_weight=0.5,2"], workers=2, flex=False,
                          stochastic=False)
    assert res.exit_code == 0
    comp = res.comparison.set_index("variant")
    assert comp.loc["risk_weight 2", "status"] == "invalid" and "risk_weight" in comp.loc["risk_weight 2", "message"]
    assert list(res.frontier["variant"]) == ["base", "risk_weight 0.5"]
    a = audit(tmp_path / "c.xlsx", inp, workers=2)   # the invalid row's negotiation figures too
    assert a.exit_code == 0, "\n".join(a.lines)


@pytest.mark.slow
def test_readme_england_frontier(tmp_path):
    """The README's frontier table: capacity compare inputs/england-2020.xlsx --vary
    settings:risk_weight=0,0.25,0.5,0.75,1 (money to the pound, ratios to 2 decimals)."""
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    res = compare.compare(repo / "inputs" / "england-2020.xlsx", tmp_path / "e.xlsx",
                          vary=["settings:risk_weight=0,0.25,0.5,0.75,1"], workers=2, flex=False, stochastic=False)
    assert res.exit_code == 0, res.message
    f = res.frontier.set_index("variant")
    text = (repo / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Risk: what protection against a bad scenario costs"):]
    section = section[:section.index("\n## ", 3)]
    table = [line.strip("|").split("|") for line in section.splitlines() if re.match(r"^\| [0-9.]+ ", line)]
    rows = [[c.strip().replace("£", "") for c in cells] for cells in table]
    rows = [[r[0].split(" ")[0]] + r[1:] for r in rows]
    assert [r[0] for r in rows] == ["0", "0.25", "0.5", "0.75", "1"]
    money = lambda x: f"{round(x):,}"  # noqa: E731
    for weight, e, cv, extra, removed, ratio in rows:
        r = f.loc["base" if weight == "0" else f"risk_weight {weight}"]
        assert (e, cv) == (money(r["expected_cost"]), money(r["cvar"])), weight
        assert r["worst_scenario"] == "observed" and r["cvar"] == pytest.approx(r["worst_scenario_cost"], rel=1e-12)
        if weight != "0":
            assert (extra, removed) == (money(r["extra_expected_cost"]), money(r["cvar_reduction"])), weight
            assert ratio == f"{r['cost_per_cvar_removed']:.2f}", weight
