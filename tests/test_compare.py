"""capacity compare: variants, measures (RP, WS, EVPI, EEV, VSS, flex values), output, executors."""

from __future__ import annotations

import math
from dataclasses import replace

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from capacity.analysis import compare as C
from capacity.analysis import variants as V
from capacity.analysis.compare.workbook import read_comparison
from capacity.cli import main
from capacity.io.errors import InputError
from capacity.io.validate import validate_raw
from factory import synthetic

VARY = "contracts:callco_block:min_term_weeks=0,2,4,6"
REL = 1e-6


def _rel(a, b):
    return abs(a - b) / max(1.0, abs(a), abs(b))


@pytest.fixture(scope="module")
def small_compare(small_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("compare") / "small-compare.xlsx"
    res = C.compare(small_path, out, vary=[VARY, "settings:reveal_week=3,5"], workers=2)
    return res


# ------------------------------------------------------------------ CVaR
def test_cvar_hand_example():
    costs, p = [10.0, 20.0, 30.0], [0.5, 0.3, 0.2]
    assert C.cvar(costs, p, 0.9) == pytest.approx(30.0)          # tail 0.1 inside the worst atom
    assert C.cvar(costs, p, 0.7) == pytest.approx((0.2 * 30 + 0.1 * 20) / 0.3)  # fractional atom
    assert C.cvar(costs, p, 0.5) == pytest.approx((0.2 * 30 + 0.3 * 20) / 0.5)
    assert C.cvar(costs, p, 0.0) == pytest.approx(0.5 * 10 + 0.3 * 20 + 0.2 * 30)  # the expectation
    # Rockafellar-Uryasev: min over eta of eta + E[(X - eta)+] / (1 - alpha)
    for alpha in (0.0, 0.3, 0.55, 0.7, 0.85, 0.95):
        ru = min(eta + sum(pi * max(x - eta, 0) for x, pi in zip(costs, p)) / (1 - alpha)
                 for eta in [i / 100 for i in range(0, 4001)])
        assert C.cvar(costs, p, alpha) == pytest.approx(ru, abs=1e-6)


# ------------------------------------------------------------ --vary parsing
def test_parse_vary_values():
    sheet, rid, col, values = V.parse_vary("contracts:national_2020:min_term_weeks=0,4,13")
    assert (sheet, rid, col, values) == ("contracts", "national_2020", "min_term_weeks", [0, 4, 13])
    assert V.parse_vary("settings:reveal_week=2,4") == ("settings", "reveal_week", "value", [2, 4])
    assert V.parse_vary("contracts:c:max_increase_per_week=,2.5,1e3")[3] == ["", 2.5, 1000.0]
    assert V.parse_vary("contracts:c:status=signed,option")[3] == ["signed", "option"]
    variants = V.vary_variants(["contracts:c:min_fte=1,2", "settings:reveal_week=3,4"])
    assert [v.name for v in variants] == ["min 1 FTE, reveal wk 3", "min 1 FTE, reveal wk 4",
                                          "min 2 FTE, reveal wk 3", "min 2 FTE, reveal wk 4"]
    assert [V.full_label(v.edits) for v in variants] == [
        "c:min_fte=1 & reveal_week=3", "c:min_fte=1 & reveal_week=4",
        "c:min_fte=2 & reveal_week=3", "c:min_fte=2 & reveal_week=4"]


@pytest.mark.parametrize("spec", ["contracts:x:min_term_weeks", "contracts:min_term_weeks=1", "a:b:c:d=1",
                                  "contracts:x:min_fte=", "contracts:x:min_fte=1,1", ":x:min_fte=1"])
def test_vary_syntax_error_is_one_line_exit_1(small_path, tmp_path, spec):
    out = tmp_path / "o.xlsx"
    r = CliRunner().invoke(main, ["compare", str(small_path), "-o", str(out), "--vary", spec])
    assert r.exit_code == 1, r.output
    assert "Error: --vary" in r.output and len(r.output.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("spec, what", [("contract:callco_block:min_fte=1", "unknown sheet 'contract'"),
                                        ("contracts:nope:min_fte=1", "no row 'nope'"),
                                        ("contracts:callco_block:min_fee=1", "no column 'min_fee'"),
                                        ("settings:reveal=2", "unknown setting 'reveal'")])
def test_vary_unknown_target_named_before_solving(small_path, tmp_path, spec, what):
    out = tmp_path / "o.xlsx"
    r = CliRunner().invoke(main, ["compare", str(small_path), "-o", str(out), "--vary", spec])
    assert r.exit_code == 1 and what in r.output and "variant" in r.output
    assert not out.exists()


def test_edits_land_in_the_keyed_cell(small_raw):
    raw = small_raw
    variant = V.Variant("v", [V.Edit("contracts", "callco_block", "min_term_weeks", 3),
                              V.Edit("skills", "eho/complex", "minutes_per_task", 75),
                              V.Edit("demand", "high/north", "5", 999),
                              V.Edit("settings", "reveal_week", "value", 4),
                              V.Edit("contracts", "callco_flex", "max_increase_per_week", "")])
    edited, changes = V.apply_edits(raw, variant)
    assert raw.sheets["contracts"].cells != edited.sheets["contracts"].cells  # the base is not touched
    inputs, issues = validate_raw(edited)
    assert inputs is not None
    assert inputs.contracts.loc["callco_block", "min_term_weeks"] == 3
    assert inputs.skills.loc[("eho", "complex"), "minutes_per_task"] == 75
    d = inputs.demand
    assert d[(d.scenario == "high") & (d.region == "north") & (d.week == 5)]["cases"].item() == 999
    assert inputs.settings.reveal_week == 4
    assert math.isnan(inputs.contracts.loc["callco_flex", "max_increase_per_week"])
    assert [c.new_value for c in changes] == [3, 75, 999, 4, None]
    assert [V.read_back(inputs, c) for c in changes] == [3, 75, 999, 4, None]
    assert changes[0].cell.startswith("contracts!") and changes[3].cell.startswith("settings!B")


def test_flex_edits():
    inp = synthetic(regions=2, weeks=10, scenarios=2, contracts=3, seed=0)
    con = inp.contracts
    # C0: signed, committed 50 from week 1 with lead 0 -> committed cleared, no term
    e0 = {e.column: e for e in V.flex_edits(con, "C0")}
    assert e0["committed_fte"].value == "" and "committed" in e0["committed_fte"].note
    assert e0["min_term_weeks"].value == 0 and e0["notice_weeks"].value == 0
    assert e0["max_increase_per_week"].value == "" and e0["max_decrease_per_week"].value == ""
    # a committed level arranged before the plan (start inside the lead time) stays for one week
    con2 = con.copy()
    con2.loc["C0", "lead_weeks"] = 2
    e0 = {e.column: e for e in V.flex_edits(con2, "C0")}
    assert "committed_fte" not in e0 and e0["min_term_weeks"].value == 1
    names = [v.name for v in V.flex_variants(con)]
    assert names == ["flex:C0", "flex:C1", "flex:C2", "flex:all"]


# --------------------------------------------------- the small example, end to end
def test_longer_lock_in_never_lowers_expected_cost(small_compare):
    comp = small_compare.comparison.set_index("variant")
    assert comp.loc["term 4 wk, reveal wk 5", "edits"] == "callco_block:min_term_weeks=4 & reveal_week=5"
    costs = [comp.loc[f"term {m} wk, reveal wk {r}", "expected_cost"]
             for r in (3, 5) for m in (0, 2, 4, 6)]
    for r in range(2):
        series = costs[4 * r: 4 * r + 4]
        assert all(b >= a - REL * abs(a) for a, b in zip(series, series[1:])), series
    # min term 6 with reveal week 3 is the base itself
    assert _rel(costs[3], comp.loc["base", "expected_cost"]) < REL
    # a later reveal never helps
    assert all(late >= early - REL * abs(early) for early, late in zip(costs[:4], costs[4:]))


def test_measures_and_sheets(small_compare):
    res = small_compare
    assert res.exit_code == 0 and res.output.exists()
    rp, ws, eev = res.measure("rp"), res.measure("ws"), res.measure("eev")
    assert res.measure("evpi") == pytest.approx(rp - ws) and res.measure("evpi") >= -REL * rp
    assert res.measure("vss") == pytest.approx(eev - rp) and res.measure("vss") >= -REL * rp
    for c in ("callco_flex", "callco_block", "all"):
        assert res.measure(f"flex_value:{c}") >= -REL * rp
    assert res.measure("flex_value:all") >= res.measure("flex_value:callco_block") - REL * rp
    comp = res.comparison
    assert (comp["status"] == "optimal").all()
    ok = comp.set_index("variant")
    for name, sc in res.scenario_costs.groupby("variant"):
        expected = float((sc["total"] * sc["probability"]).sum())
        assert _rel(expected, ok.loc[name, "expected_cost"]) < REL
        assert _rel(sc["total"].max(), ok.loc[name, "worst_scenario_cost"]) < REL
        assert ok.loc[name, "cvar"] <= ok.loc[name, "worst_scenario_cost"] + 1e-6
        assert ok.loc[name, "cvar"] >= ok.loc[name, "expected_cost"] - 1e-6
    parts = [c for c in comp.columns if c.startswith("cost_")]
    assert ((comp[parts].sum(axis=1) - comp["expected_cost"]).abs() <= REL * comp["expected_cost"]).all()
    assert {"utilisation:callco_flex", "signed:callco_block", "committed_fte:callco_block"} <= set(comp.columns)
    book = openpyxl.load_workbook(res.output)
    assert book.sheetnames[:9] == ["read_me_first", "comparison", "negotiation", "measures", "scenario_costs",
                                   "contract_use", "break_even_runs", "inputs_changed", "run"]
    keys = [r[0] for r in book["measures"].iter_rows(min_row=2, values_only=True)]
    assert {"rp", "ws", "evpi", "eev", "vss", "flex_value:callco_flex", "flex_value:callco_block",
            "flex_value:all"} <= set(keys)
    assert len(book["measures"]._charts) == 3   # cost, saving and utilisation by variant
    run = dict(book["run"].iter_rows(min_row=2, values_only=True))
    assert run["worker_processes_used"] == 2 and run["input_sha256"] and isinstance(run["seconds_write"], float)
    assert "flex value: all" in res.summary_text and "EVPI" in res.summary_text


def _optimum(inputs) -> float:
    from capacity.model import build_model
    from capacity.model.solve import solve

    result = solve(build_model(inputs), mip_gap=1e-9)
    assert result.status == "optimal", result.termination
    return float(result.objective)


def test_evpi_against_wait_and_see_solved_here(small_compare, small_path):
    """RP, WS and EVPI of the measures table against solves made here: each
    scenario alone at probability 1 (wait-and-see), weighted by its probability."""
    from capacity.io.validate import read_inputs

    inputs, _ = read_inputs(small_path)
    pi = inputs.scenarios["probability"]
    alone = {}
    for w in inputs.scenarios.index:
        scen = inputs.scenarios.loc[[w]].assign(probability=1.0)
        demand = inputs.demand[inputs.demand["scenario"] == w].reset_index(drop=True)
        alone[w] = _optimum(replace(inputs, scenarios=scen, demand=demand))
    ws = sum(pi[w] * alone[w] for w in alone)
    rp = _optimum(inputs)
    res = small_compare
    tol = 1e-4 * rp  # the measures come from solves at the input's mip_gap (1e-4)
    assert res.measure("rp") == pytest.approx(rp, abs=tol)
    assert res.measure("ws") == pytest.approx(ws, abs=tol)
    assert res.measure("evpi") == pytest.approx(rp - ws, abs=2 * tol)
    assert rp - ws > 2 * tol  # knowing which wave comes is worth something here: the test can tell
    for w in alone:
        assert res.measure(f"ws:{w}") == pytest.approx(alone[w], abs=tol)


def test_inputs_changed_lists_exactly_the_edits(small_compare):
    ch = small_compare.inputs_changed
    asked = ch[~ch["variant"].str.startswith("flex:")]
    expected = set()
    for m in (0, 2, 4, 6):
        for r in (3, 5):
            name = f"term {m} wk, reveal wk {r}"
            expected |= {(name, "contracts!F3", "min_term_weeks", 6, m), (name, "settings!B6", "value", 3, r)}
    got = {(r.variant, r.cell, r.column, r.old_value, r.new_value) for r in asked.itertuples()}
    assert got == expected
    assert (asked["value_read"] == asked["new_value"]).all()
    flex = ch[ch["variant"] == "flex:callco_block"]
    assert set(flex["column"]) == {"min_term_weeks", "notice_weeks"}


# --------------------------------------------------- stochastic measures on random instances
def _sp(inputs):
    records = {j.key: C.run_job(j) for j in C.stochastic_jobs(inputs) + [C.Job("base", "base", "base", inputs)]}
    records["eev"] = C.run_job(C.eev_job(inputs, records["ev"]))
    table, _ = C.measures_table(inputs, records, 0.9)
    return dict(zip(table["key"], table["value"])), records


@pytest.mark.parametrize("seed, reveal", [(1, 1), (2, 3), (3, 5), (4, 8)])
def test_evpi_and_vss_nonnegative_on_random_instances(seed, reveal):
    inp = synthetic(regions=3, weeks=12, scenarios=3, contracts=2, seed=seed, reveal_week=reveal)
    m, recs = _sp(inp)
    assert all(r["status"] == "optimal" for r in recs.values()), {k: r["status"] for k, r in recs.items()}
    assert m["evpi"] >= -REL * m["rp"], m
    assert m["vss"] >= -REL * m["rp"], m
    # and a longer lock-in on the option contract never lowers expected cost
    costs = []
    for term in (0, 3, 6):
        con = inp.contracts.copy()
        con.loc["C1", "min_term_weeks"] = term
        costs.append(C.run_job(C.Job(f"t{term}", "variant", "", replace(inp, contracts=con),
                                     measures=False))["objective"])
    assert all(b >= a - REL * abs(a) for a, b in zip(costs, costs[1:])), costs


def test_single_scenario_has_no_value_of_information():
    inp = synthetic(regions=3, weeks=12, scenarios=1, contracts=2, seed=5, reveal_week=4)
    m, _ = _sp(inp)
    assert abs(m["evpi"]) <= REL * m["rp"] and abs(m["vss"]) <= REL * m["rp"], m


# --------------------------------------------------- experiments sheet, CLI, default output
def test_experiments_sheet_via_cli(small_path, tmp_path, monkeypatch):
    book = openpyxl.load_workbook(small_path)
    ws = book.create_sheet("experiments")
    for row in [("variant", "sheet", "id", "column", "value"),
                ("cheap block", "contracts", "callco_block", "cost_per_fte_week", 450),
                ("cheap block", "contracts", "callco_block", "notice_weeks", 1),
                ("typo", "contracts", "callco_blok", "fixed_cost", 1),
                ("late reveal", "settings", "reveal_week", None, 6),
                ("bad value", "contracts", "callco_flex", "min_fte", 500)]:
        ws.append(row)
    path = tmp_path / "exp.xlsx"
    book.save(path)
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["compare", str(path), "--workers", "2"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    out = tmp_path / "outputs" / "exp-compare.xlsx"
    assert out.exists()
    comp = read_comparison(out).set_index("variant")
    assert comp.loc["cheap block", "status"] == "optimal" and comp.loc["late reveal", "status"] == "optimal"
    assert comp.loc["cheap block", "expected_cost"] <= comp.loc["base", "expected_cost"] + 1e-6
    assert comp.loc["late reveal", "expected_cost"] >= comp.loc["base", "expected_cost"] - 1e-6
    assert comp.loc["typo", "status"] == "invalid" and "no row 'callco_blok'" in comp.loc["typo", "message"]
    assert comp.loc["bad value", "status"] == "invalid" and "min_fte" in comp.loc["bad value", "message"]
    assert "typo" in r.output and "bad value" in r.output   # listed on stderr too
    ch = pd.read_excel(out, sheet_name="inputs_changed", engine="openpyxl")
    ch = ch[~ch["variant"].str.startswith("flex:")]
    assert sorted(zip(ch["variant"], ch["column"])) == [("bad value", "min_fte"), ("cheap block", "cost_per_fte_week"),
                                                        ("cheap block", "notice_weeks"), ("late reveal", "value")]


def test_invalid_base_and_bad_output(small_path, tmp_path):
    with pytest.raises(InputError):
        C.compare(small_path, small_path)                   # would overwrite the input
    bad = tmp_path / "bad.xlsx"
    book = openpyxl.load_workbook(small_path)
    book["scenarios"]["B2"] = 0.9                            # probabilities no longer sum to 1
    book.save(bad)
    r = CliRunner().invoke(main, ["compare", str(bad), "-o", str(tmp_path / "o.xlsx")])
    assert r.exit_code == 1 and "nothing written" in r.output and not (tmp_path / "o.xlsx").exists()


# --------------------------------------------------- Dask
def test_dask_gives_the_same_numbers(small_path, tmp_path):
    distributed = pytest.importorskip("distributed")
    local = C.compare(small_path, tmp_path / "local.xlsx", vary=["contracts:callco_block:min_term_weeks=0,4"],
                      workers=2, flex=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        remote = C.compare(small_path, tmp_path / "dask.xlsx", vary=["contracts:callco_block:min_term_weeks=0,4"],
                           scheduler=lc.scheduler_address, flex=False)
    assert remote.exit_code == 0
    run = dict(zip(remote.run_info["key"], remote.run_info["value"]))
    assert run["executor"].startswith("dask:")
    a = local.comparison.set_index("variant")["expected_cost"]
    b = remote.comparison.set_index("variant")["expected_cost"]
    assert list(a.index) == list(b.index)
    assert ((a - b).abs() <= 1e-7 * a.abs()).all()
    ma = dict(zip(local.measures["key"], local.measures["value"]))
    mb = dict(zip(remote.measures["key"], remote.measures["value"]))
    for k, v in ma.items():
        assert mb[k] == pytest.approx(v, rel=1e-7, abs=1e-6), k


def test_eev_infinite_when_the_mean_plan_cannot_serve_a_scenario():
    from factory import simple

    # all of the work must be done (min_completion_share 1); staff are fixed before the reveal in
    # week 3, so the plan for the mean demand (5) is too small for the high scenario (10)
    inp = simple(weeks=4, scenarios=[("low", 0.5), ("high", 0.5)], reveal_week=3,
                 work_types=[dict(work_type="case", tasks_per_case=1, value_per_task=100,
                                  min_completion_share=1.0)],
                 demand={("low", "R1"): [0, 0, 0, 0], ("high", "R1"): [400, 400, 400, 400]})
    m, recs = _sp(inp)
    assert recs["base"]["status"] == "optimal" and recs["eev"]["status"] == "infeasible"
    assert m["eev"] == "inf" and m["vss"] == "inf"
    table, notes = C.measures_table(inp, recs, 0.9)
    assert "infeasible" in table.set_index("key").loc["eev", "note"] and notes
