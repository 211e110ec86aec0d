"""Version 2 section 4: risk (CVaR) in the objective (settings risk_weight, cvar_alpha; capacity/model/risk.py).

The hand-made case (``two_scenarios``): one region, one week of demand (week 2 has none), work type 'case'
(1 task per case, value 0.5 per task not done), one eho source at 10 per FTE-week doing 30 tasks per
FTE-week (H = 30, 60 minutes a task), staffed before the scenario is known (reveal_week 2: week 1's
onboarding is the same in both scenarios). Scenario low (p 0.5) has 30 cases (1 FTE's work), high (p 0.5)
90 (3 FTE's). With F FTE in week 1:

    cost_low(F)  = 10 F + 15 max(0, 1 - F)
    cost_high(F) = 10 F + 15 max(0, 3 - F)

An FTE beyond the first saves 15 only in high. With weight q on high the marginal FTE costs 10 - 15 q:
it pays when q > 2/3. The expected cost (q = 0.5) staffs F = 1: cost_low 10, cost_high 40, E = 25. With
cvar_alpha 0.5 the CVaR is high's cost, and (1 - lambda) E + lambda CVaR puts q = 0.5 + 0.5 lambda on
high, so F = 3 when lambda > 1/3: at lambda = 0.5, F = 3, both costs 30, objective 30 (F = 1 would give
0.5 x 25 + 0.5 x 40 = 32.5); at lambda = 0.25, F = 1, objective 0.75 x 25 + 0.25 x 40 = 28.75.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import openpyxl
import pytest

from capacity.analysis.checks import run_checks
from capacity.cli import main
from capacity.io.examples import write_example
from capacity.model import build_model
from capacity.model import risk
from capacity.model.solve import solve
from capacity.output.results import CONSTRAINT_NAMES, scenario_costs, tabulate
from click.testing import CliRunner
from factory import make_inputs, synthetic


def two_scenarios(**settings):
    return make_inputs(
        weeks=2, regions=["R1"], scenarios=[("low", 0.5), ("high", 0.5)],
        work_types=[dict(work_type="case", tasks_per_case=1, value_per_task=0.5)],
        sources=[dict(source="eho", kind="eho", cost_per_fte_week=10)],
        skills=[dict(source="eho", work_type="case", minutes_per_task=60, success_rate=1)],
        availability={("eho", "R1"): 100},
        demand={("low", "R1"): [30, 0], ("high", "R1"): [90, 0]},
        hours_per_fte_week=37.5, productive_share=0.8, reveal_week=2, **settings)


def run(inp):
    built = build_model(inp)
    res = solve(built)
    assert res.status == "optimal", (res.status, res.termination)
    t = tabulate(inp, built, res)
    checks = run_checks(inp, t.as_dict())
    assert (checks["result"] == "pass").all(), checks[checks["result"] != "pass"]
    s = dict(zip(t.summary["key"], t.summary["value"]))
    return built, res, t, s


def week1_fte(res) -> dict:
    f = res.values["F"]
    return {w: float(f[("eho", "R1", 1, w)]) for w in ("low", "high")}


def with_risk(inp, lam, a=None):
    kw = {"risk_weight": lam} if a is None else {"risk_weight": lam, "cvar_alpha": a}
    return dataclasses.replace(inp, settings=dataclasses.replace(inp.settings, **kw))


# ---- hand-computed optima -------------------------------------------------------------------------
def test_v2_4_hand_computed_two_scenario_optimum_at_half_risk_weight():
    built, res, t, s = run(two_scenarios(risk_weight=0.5, cvar_alpha=0.5))
    assert week1_fte(res) == pytest.approx({"low": 3.0, "high": 3.0}, abs=1e-6)
    assert res.objective == pytest.approx(30.0, abs=1e-6)
    assert s["expected_total_cost"] == pytest.approx(30.0, abs=1e-6)
    assert s["cvar"] == pytest.approx(30.0, abs=1e-6)
    # the model's eta and z: both scenarios cost 30, nothing above the value at risk
    assert s["value_at_risk"] == pytest.approx(30.0, abs=1e-6)
    assert t.risk["excess_over_var"].to_numpy() == pytest.approx([0.0, 0.0], abs=1e-6)
    # the weights: nu sums to lambda = 0.5; q sums to 1
    assert t.risk["risk_adjusted_probability"].sum() == pytest.approx(1.0, abs=1e-9)


def test_v2_4_below_the_switch_the_expected_plan_stays():
    built, res, t, s = run(two_scenarios(risk_weight=0.25, cvar_alpha=0.5))
    assert week1_fte(res) == pytest.approx({"low": 1.0, "high": 1.0}, abs=1e-6)
    assert res.objective == pytest.approx(28.75, abs=1e-6)
    assert s["expected_total_cost"] == pytest.approx(25.0, abs=1e-6)
    assert s["cvar"] == pytest.approx(40.0, abs=1e-6) and s["worst_scenario"] == "high"
    assert s["worst_scenario_cost"] == pytest.approx(40.0, abs=1e-6)
    r = t.risk.set_index("scenario")
    # eta is a value at risk: here any eta in [10, 40] is optimal; z = cost - eta above it
    eta = s["value_at_risk"]
    assert 10.0 - 1e-6 <= eta <= 40.0 + 1e-6
    assert r.loc["high", "excess_over_var"] == pytest.approx(40.0 - eta, abs=1e-6)
    # q: high carries (1 - 0.25) x 0.5 + nu_high; with eta below 40, nu_high = lambda pi / (1 - alpha) = 0.25
    assert r.loc["high", "risk_adjusted_probability"] == pytest.approx(0.625, abs=1e-9)
    assert r.loc["low", "risk_adjusted_probability"] == pytest.approx(0.375, abs=1e-9)


def test_v2_4_shadow_prices_are_divided_by_the_risk_adjusted_probability():
    """In high, short of staff at F = 1, a task more in week 1 is a task more lost: 0.5 if high happens,
    whatever lambda (the raw dual is q_high x 0.5, with q_high 0.5 at lambda 0 and 0.625 at 0.25): the
    demand shadow price stays conditional on the scenario."""
    for lam in (0.0, 0.25):
        built, res, t, s = run(two_scenarios(risk_weight=lam, cvar_alpha=0.5))
        assert float(res.duals["demand"][("R1", "case", 1, "high")]) == pytest.approx(0.5, abs=1e-9), lam
        sp = t.shadow_prices
        got = sp[(sp["scenario"] == "high") & (sp["week"] == 1) & (sp["constraint"] == CONSTRAINT_NAMES["demand"])]
        assert got["value"].tolist() == pytest.approx([0.5], abs=1e-9), lam


def test_v2_4_lambda_zero_is_version_1_exactly():
    base = two_scenarios()
    built0, res0, t0, s0 = run(base)
    assert built0.model.component("risk") is None and "eta" not in built0.var_frames
    for lam_zero in (0.0,):
        built, res, t, s = run(with_risk(base, lam_zero, 0.3))
        assert res.objective == res0.objective
        assert built.stats["variables"] == built0.stats["variables"]
        assert built.stats["constraints"] == built0.stats["constraints"]
    assert res0.objective == pytest.approx(25.0, abs=1e-9)
    assert s0["risk_weight"] == 0 and s0["cvar"] == pytest.approx(40.0, abs=1e-6)


def test_v2_4_lambda_one_alpha_zero_is_the_expectation():
    for inp in (two_scenarios(), synthetic(regions=3, weeks=6, scenarios=3, contracts=2, seed=4)):
        _, res0, _, s0 = run(inp)
        _, res1, _, s1 = run(with_risk(inp, 1.0, 0.0))
        assert res1.objective == pytest.approx(res0.objective, rel=1e-7)
        assert s1["cvar"] == pytest.approx(s1["expected_total_cost"], rel=1e-7)


def test_v2_4_lambda_one_alpha_near_one_is_the_worst_scenario():
    """CVaR at alpha -> 1 is the worst case: the plan minimises the worst scenario's cost, 30 at F = 3."""
    _, res, t, s = run(two_scenarios(risk_weight=1.0, cvar_alpha=0.999))
    assert res.objective == pytest.approx(30.0, abs=1e-6)
    assert s["worst_scenario_cost"] == pytest.approx(30.0, abs=1e-6)
    assert res.objective == pytest.approx(t.risk["scenario_cost"].max(), abs=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_v2_4_across_lambda_expected_cost_does_not_fall_and_cvar_does_not_rise(seed):
    inp = synthetic(regions=3, weeks=8, scenarios=4, contracts=2, seed=seed)
    got = []
    for lam in (0.0, 0.25, 0.5, 0.75, 1.0):
        _, res, t, s = run(with_risk(inp, lam, 0.75))
        got.append((s["expected_total_cost"], s["cvar"], res.objective))
    e = np.array([g[0] for g in got])
    c = np.array([g[1] for g in got])
    scale = max(1.0, float(np.abs(e).max()))
    assert (np.diff(e) >= -1e-6 * scale).all(), e
    assert (np.diff(c) <= 1e-6 * scale).all(), c


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_v2_4_the_plan_is_the_cvar_optimum_on_random_instances(seed):
    """On random instances: the objective is (1 - lambda) E + lambda CVaR of the plan's own scenario costs
    (the CVaR by the tail sum, not the model's eta), and no plan made for another lambda does better on it."""
    inp = synthetic(regions=3, weeks=8, scenarios=4, contracts=2, seed=seed)
    lam, a = 0.6, 0.7
    plans = {}
    for other in (0.0, 0.3, lam, 1.0):
        _, res, t, s = run(with_risk(inp, other, a))
        sc = scenario_costs(inp, t.plan, t.coverage, t.contracts)
        plans[other] = (res.objective, sc["total"].to_numpy(), sc["probability"].to_numpy())

    def measure(costs, p):
        return (1 - lam) * float(np.dot(costs, p)) + lam * tail_cvar(costs, p, a)

    obj, costs, p = plans[lam]
    assert obj == pytest.approx(measure(costs, p), rel=1e-7)
    for other, (_, c2, p2) in plans.items():
        assert measure(c2, p2) >= obj - 1e-7 * max(1.0, abs(obj)), other


def tail_cvar(costs, p, a):
    """CVaR as the mean of the worst 1 - a of probability (sorted tail sum): independent of risk.var_cvar."""
    order = np.argsort(-np.asarray(costs))
    left, total = 1.0 - a, 0.0
    for i in order:
        take = min(p[i], left)
        total += take * costs[i]
        left -= take
        if left <= 1e-15:
            break
    return total / (1.0 - a)


def test_var_cvar_matches_the_tail_sum():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(1, 7))
        c = rng.normal(100, 30, n)
        p = rng.dirichlet(np.ones(n))
        a = float(rng.uniform(0, 0.99))
        var, cvar = risk.var_cvar(c, p, a)
        assert cvar == pytest.approx(tail_cvar(c, p, a), rel=1e-9)
        assert float(p[c <= var + 1e-12].sum()) >= a - 1e-9   # the a-quantile


# ---- the checks fail on wrong figures -----------------------------------------------------------
def test_risk_check_fails_when_the_excess_or_the_weights_are_wrong():
    inp = two_scenarios(risk_weight=0.25, cvar_alpha=0.5)
    built, res, t, s = run(inp)
    tables = t.as_dict()
    bad = tables["risk"].copy()
    bad.loc[bad["scenario"] == "high", "excess_over_var"] += 5.0
    c = run_checks(inp, {**tables, "risk": bad}).set_index("check")
    row = c.loc[risk.CHECK.title]
    assert row["result"] == "fail" and "scenario=high" in row["where"]
    bad = tables["risk"].copy()
    bad["risk_adjusted_probability"] = [0.5, 0.5]   # as if the plan weighed by probability
    c = run_checks(inp, {**tables, "risk": bad}).set_index("check")
    assert c.loc[risk.CHECK.title, "result"] == "fail"
    # the objective check recomputes (1 - lambda) E + lambda CVaR: an objective of E alone fails
    summ = tables["summary"].copy()
    summ.loc[summ["key"] == "objective", "value"] = 25.0
    c = run_checks(inp, {**tables, "summary": summ}).set_index("check")
    assert c.loc["objective recomputed from the tables", "result"] == "fail"


# ---- from the command line -------------------------------------------------------------------------
def _set(path, out, **values):
    wb = openpyxl.load_workbook(path)
    ws = wb["settings"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value in values:
            row[1].value = values[row[0].value]
    wb.save(out)


def test_plan_and_audit_a_risk_averse_workbook_from_the_command_line(tmp_path):
    src = tmp_path / "small.xlsx"
    write_example("small", src)
    inp = tmp_path / "small-risk.xlsx"
    _set(src, inp, risk_weight=0.5, cvar_alpha=0.8)
    out = tmp_path / "plan.xlsx"
    r = CliRunner().invoke(main, ["plan", str(inp), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "0.5 x expected cost + 0.5 x CVaR 0.8" in r.output
    wb = openpyxl.load_workbook(out, read_only=True)
    assert "risk" in wb.sheetnames
    rows = list(wb["risk"].iter_rows(values_only=True))
    assert rows[0][:3] == ("scenario", "probability", "scenario_cost") and len(rows) == 3
    wb.close()
    a = CliRunner().invoke(main, ["audit", str(out), "--input", str(inp)])
    assert a.exit_code == 0, a.output
    assert "verified" in a.output and "shadow prices:" in a.output
    # a hand-edited excess over the value at risk is found
    wb = openpyxl.load_workbook(out)
    ws = wb["risk"]
    ws["D3"].value = float(ws["D3"].value or 0) + 1000.0
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    a = CliRunner().invoke(main, ["audit", str(edited), "--input", str(inp)])
    assert a.exit_code == 5, a.output
    assert "CVaR" in a.output


@pytest.mark.parametrize("key,value,message", [
    ("risk_weight", 1.5, "risk_weight"), ("risk_weight", -0.1, "risk_weight"),
    ("cvar_alpha", 1.0, "cvar_alpha"), ("cvar_alpha", "high", "cvar_alpha")])
def test_bad_risk_settings_are_refused_with_their_cell(tmp_path, key, value, message):
    src = tmp_path / "small.xlsx"
    write_example("small", src)
    inp = tmp_path / "bad.xlsx"
    _set(src, inp, **{key: value})
    out = tmp_path / "plan.xlsx"
    r = CliRunner().invoke(main, ["plan", str(inp), "-o", str(out)])
    assert r.exit_code == 1, r.output
    assert message in r.output and "settings!B" in r.output
    assert not out.exists()


@pytest.mark.parametrize("seed", [0, 1])
def test_v2_4_warm_start_from_the_scenario_lps_reaches_the_same_risk_averse_optimum(seed, monkeypatch):
    from capacity.model import warm_start as ws

    inp = with_risk(synthetic(regions=4, weeks=10, scenarios=3, contracts=2, seed=seed, reveal_week=3), 0.5, 0.6)
    plain = solve(build_model(inp))
    monkeypatch.setattr(ws, "MIN_COLUMNS", 0)
    warm = solve(build_model(inp))
    assert "from the basis of" in warm.stats["solve_path"], warm.stats
    assert warm.status == plain.status == "optimal"
    assert warm.objective == pytest.approx(plain.objective, rel=1e-9, abs=1e-6)


@pytest.mark.slow
def test_readme_protection_against_high_figures(tmp_path):
    """The README's cvar_alpha 0.7 paragraph (the worst 30%: high and observed) against a fresh compare."""
    from pathlib import Path

    from capacity.analysis import compare

    repo = Path(__file__).resolve().parents[1]
    res = compare.compare(repo / "inputs" / "england-2020.xlsx", tmp_path / "e.xlsx",
                          vary=["settings:{risk_weight,cvar_alpha}=0/0.7,0.25/0.7,0.5/0.7,0.75/0.7,0.99/0.7"],
                          workers=2, flex=False, stochastic=False)
    assert res.exit_code == 0, res.message
    f = res.frontier.set_index("variant")
    zero, top = f.loc["risk_weight 0, cvar_alpha 0.7"], f.loc["risk_weight 0.99, cvar_alpha 0.7"]
    text = (repo / "README.md").read_text(encoding="utf-8")
    section = text[text.index("Protecting against `high` as well"):text.index("## Reliability")]
    for figure in (zero["cvar"], top["cvar"], top["expected_cost"] - zero["expected_cost"],
                   zero["cvar"] - top["cvar"]):
        assert f"£{round(figure):,}" in section, figure
    ratio = (top["expected_cost"] - zero["expected_cost"]) / (zero["cvar"] - top["cvar"])
    assert f"{round(100 * ratio)}p per £" in section


def test_risk_weight_one_warns_that_the_expected_cost_is_left_to_chance(tmp_path):
    src = tmp_path / "small.xlsx"
    write_example("small", src)
    inp = tmp_path / "one.xlsx"
    _set(src, inp, risk_weight=1)
    r = CliRunner().invoke(main, ["validate", str(inp)])
    assert r.exit_code == 0 and "warning: settings!B11: risk_weight 1 minimises the CVaR alone" in r.output
    _set(src, inp, risk_weight=0.99)
    r = CliRunner().invoke(main, ["validate", str(inp)])
    assert r.exit_code == 0 and "minimises the CVaR alone" not in r.output and "0 warnings" in r.output


def test_compare_of_a_risk_averse_base_says_its_measures_are_expected_costs(tmp_path):
    from capacity.analysis import compare

    src = tmp_path / "small.xlsx"
    write_example("small", src)
    inp = tmp_path / "risk.xlsx"
    _set(src, inp, risk_weight=0.5)
    res = compare.compare(inp, tmp_path / "c.xlsx", workers=2, flex=False)
    assert res.exit_code == 0, res.message
    m = res.measures.set_index("key")
    base = res.comparison.set_index("variant").loc["base"]
    assert float(m.loc["rp", "value"]) == pytest.approx(float(base["expected_cost"]), rel=1e-12)
    assert "compare expected costs, not the objective those plans minimised" in m.loc["vss", "note"]
    _, _, _, s = run(with_risk(read_inputs_ok(inp), 0.5))
    assert float(m.loc["rp", "value"]) == pytest.approx(s["expected_total_cost"], rel=1e-9)


def read_inputs_ok(path):
    from capacity.io.validate import read_inputs

    inputs, _ = read_inputs(path)
    return inputs
