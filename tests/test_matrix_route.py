"""The matrix route to HiGHS (capacity/model/highs_route.py).

The matrix passed to HiGHS is assembled from core.py's own arrays, not from
Pyomo: these tests assert that it is exactly the Pyomo model's standard form
(Pyomo's linear representation of every active row and of the objective, the
bounds and domains of every variable, in Pyomo's order) on the examples, on
random instances, on the elastic model, with a fixed first stage and with
rows deactivated; and they check the solve paths (LP relaxation first) and
the progress lines.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.repn.standard_repn import generate_standard_repn

from capacity.io.examples import write_example
from capacity.io.reader import read_workbook
from capacity.io.validate import validate_raw
from capacity.model import build_model, first_stage_values
from capacity.model.highs_route import INF, compile_matrix
from capacity.model.solve import PATH_INTEGRAL, PATH_LP, PATH_MIP, solve
from factory import make_inputs, synthetic

ROOT = Path(__file__).resolve().parents[1]


def _read(path):
    inputs, _ = validate_raw(read_workbook(path))
    assert inputs is not None
    return inputs


def _pyomo_standard_form(model):
    """Columns, bounds, integrality, cost, offset and rows as Pyomo itself states them.

    A fixed variable is a constant of Pyomo's linear representation (its terms
    go to the constant); its column stays, with lower = upper = its value, as
    Pyomo's own HiGHS interface passes it."""
    cols = list(model.component_data_objects(pyo.Var, descend_into=True))
    where = {id(v): j for j, v in enumerate(cols)}
    lo = np.array([v.value if v.fixed else (-INF if v.lb is None else v.lb) for v in cols], dtype=float)
    up = np.array([v.value if v.fixed else (INF if v.ub is None else v.ub) for v in cols], dtype=float)
    integer = np.array([v.is_integer() and not v.fixed for v in cols])
    (obj,) = list(model.component_data_objects(pyo.Objective, active=True))
    repn = generate_standard_repn(obj.expr, compute_values=True, quadratic=False)
    cost = np.zeros(len(cols))
    for v, c in zip(repn.linear_vars, repn.linear_coefs):
        cost[where[id(v)]] += c
    offset = repn.constant
    rows = []
    for con in model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        repn = generate_standard_repn(con.body, compute_values=True, quadratic=False)
        terms = {}
        for v, c in zip(repn.linear_vars, repn.linear_coefs):
            terms[where[id(v)]] = terms.get(where[id(v)], 0.0) + c
        terms = {j: c for j, c in terms.items() if c != 0}
        lb = -INF if con.lower is None else pyo.value(con.lower) - repn.constant
        ub = INF if con.upper is None else pyo.value(con.upper) - repn.constant
        rows.append((terms, lb, ub))
    return cols, lo, up, integer, cost, offset, rows


def assert_is_pyomo_standard_form(built):
    mat = compile_matrix(built, keep_objs=True)
    cols, lo, up, integer, cost, offset, rows = _pyomo_standard_form(built.model)
    assert mat.n_cols == len(cols) and [id(v) for v in mat.col_objs] == [id(v) for v in cols]
    assert np.array_equal(mat.col_lower, lo) and np.array_equal(mat.col_upper, up)
    assert np.array_equal(mat.integer, integer)
    assert np.array_equal(mat.cost, cost)
    assert mat.offset == pytest.approx(offset, rel=1e-15, abs=0)
    assert mat.n_rows == len(rows)
    # the matrix, row by row, from its column-wise arrays
    got = [dict() for _ in range(mat.n_rows)]
    for j in range(mat.n_cols):
        for k in range(mat.start[j], mat.start[j + 1]):
            got[mat.index[k]][j] = mat.value[k]
    for i, (terms, lb, ub) in enumerate(rows):
        assert got[i] == terms, f"row {i}"
        assert (mat.row_lower[i], mat.row_upper[i]) == (lb, ub), f"row {i}"
    # each family's rows are where the dual read-back looks for them
    con_rows = list(built.model.component_data_objects(pyo.Constraint, active=True, descend_into=True))
    for (block, name), pos in mat.rows.items():
        comp = built.model.component(block).component(name)
        for c, p in zip(comp.values(), pos):
            assert (p < 0) == (not c.active)
            if p >= 0:
                assert con_rows[p] is c
    return mat


def _small(tmp_path):
    path = tmp_path / "small.xlsx"
    write_example("small", path)
    return _read(path)


@pytest.mark.parametrize("name", ["small", "england-2020.xlsx", "infeasible-example.xlsx"])
def test_matrix_is_the_pyomo_standard_form_on_the_examples(name, tmp_path):
    if name == "small":
        inputs = _small(tmp_path)
    else:
        path = ROOT / "inputs" / name
        if not path.exists():
            pytest.skip(f"inputs/{name} not present")
        inputs = _read(path)
    mat = assert_is_pyomo_standard_form(build_model(inputs))
    assert mat.n_rows > 100 and mat.nnz > mat.n_rows


@pytest.mark.parametrize("seed", range(6))
def test_matrix_is_the_pyomo_standard_form_on_random_instances(seed):
    rng = np.random.default_rng(seed)
    inputs = synthetic(regions=int(rng.integers(1, 4)), weeks=int(rng.integers(3, 12)),
                       scenarios=int(rng.integers(1, 4)), contracts=int(rng.integers(1, 4)), seed=seed,
                       reveal_week=int(rng.integers(1, 4)))
    assert_is_pyomo_standard_form(build_model(inputs))


def test_matrix_of_the_elastic_model_has_its_slack_columns(tmp_path):
    built = build_model(_small(tmp_path), elastic=True)
    mat = assert_is_pyomo_standard_form(built)
    slack = [k for k in mat.columns if "_slack_" in k]
    assert slack and all(mat.cost[mat.columns[k]].min() > 0 for k in slack)


def test_matrix_with_a_fixed_first_stage_and_a_deactivated_row():
    inputs = synthetic(regions=2, weeks=8, scenarios=2, contracts=3, seed=3)
    first = build_model(inputs)
    res = solve(first, duals=False)
    assert res.status == "optimal"
    fixed = build_model(inputs, fixed=first_stage_values(first, res.values))
    mat = assert_is_pyomo_standard_form(fixed)
    assert len(mat.integer) and not mat.integer.any()        # every y fixed: an LP
    rows = first.model.component("contracts").component("committed")
    key = next(iter(rows))
    rows[key].deactivate()
    mat = assert_is_pyomo_standard_form(first)
    assert mat.rows[("contracts", "committed")][0] == -1
    rows[key].activate()


def _one_contract(fixed_cost):
    # 10 tasks/week for 4 weeks (value 100 each, 30 tasks per FTE-week), only the contract can work:
    # min_fte 3 at 20/FTE-week (240) + fixed cost, against 4000 of lost value
    c = dict(contract="C1", source="agency", min_fte=3, max_fte=10, cost_per_fte_week=20,
             fixed_cost=fixed_cost)
    return make_inputs(weeks=4, regions=["R1"],
                       work_types=[dict(work_type="case", tasks_per_case=1, value_per_task=100)],
                       sources=[dict(source="agency", kind="contractor")],
                       skills=[dict(source="agency", work_type="case", minutes_per_task=60, success_rate=1)],
                       demand={("base", "R1"): [10] * 4}, contracts=[c])


def test_fractional_relaxation_runs_the_mip_then_the_lp_with_y_fixed():
    # the relaxation needs N = 10/30 FTE and signs the fraction y = N/10 = 1/30 of the contract
    # (3 y <= N <= 10 y), paying 1/30 of the fixed cost: the MIP has to decide
    res = solve(build_model(_one_contract(500)))
    assert res.stats["solve_path"] == PATH_MIP
    assert res.stats["relaxation_y_off"] == pytest.approx(1 / 30)
    assert res.objective == pytest.approx(740) and res.values["y"]["C1"] == 1
    # the shadow prices are those of the LP with y fixed at 1, built as such (L free)
    lp = solve(build_model(_one_contract(500), fixed={"y": {"C1": 1}}))
    assert lp.stats["solve_path"] == PATH_LP and lp.objective == pytest.approx(740)
    assert set(res.duals) == set(lp.duals) == {"hours", "demand"}   # min_term_weeks 0: no lock-in rows
    for group in res.duals:
        a, b = res.duals[group], lp.duals[group]
        assert list(a.index) == list(b.index)
        assert np.allclose(a.to_numpy(), b.to_numpy(), rtol=1e-9, atol=1e-9), group
    # the contract works at its minimum, 3 FTE for 1/3 FTE of work: one more task or hour is free
    assert (res.duals["demand"] == 0).all() and (res.duals["hours"] == 0).all()


def _mip_on_the_same_matrix(built) -> float:
    import capacity.model.highs_route as route

    hm = route.HighsModel(compile_matrix(built))
    hm.set_integrality(True)
    hm.set_options(mip_rel_gap=0.0)
    return hm.run("MIP").objective


def test_integral_relaxation_needs_no_branching():
    """The relaxation leaves every option at y = 0 or 1: that is the MILP optimum (the MIP run
    on the same matrix finds the same objective), and its duals are the shadow prices."""
    built = build_model(synthetic(regions=2, weeks=8, scenarios=2, contracts=3, seed=0))
    res = solve(built)
    assert res.stats["solve_path"] == PATH_INTEGRAL and res.stats["binaries"] == 2
    assert res.stats["relaxation_y_off"] == 0 and res.stats["dual_s"] == 0
    assert res.gap == 0 and res.bound == res.objective
    assert set(res.duals) == {"hours", "demand", "lock_in"}
    assert _mip_on_the_same_matrix(built) == pytest.approx(res.objective, rel=1e-9)


def test_small_example_branches(tmp_path):
    """The small example's relaxation signs a fraction of an option: the MIP decides, at the
    optimum the README states."""
    built = build_model(_small(tmp_path))
    res = solve(built)
    assert res.stats["solve_path"] == PATH_MIP and res.stats["relaxation_y_off"] > 1e-3
    assert res.objective == pytest.approx(663205.9332017238, rel=1e-9)
    assert _mip_on_the_same_matrix(built) == pytest.approx(res.objective, rel=1e-9)
    assert "dual_error" not in res.stats and set(res.duals) == {"hours", "demand", "lock_in"}


def test_progress_lines_during_a_solve_and_silence_without(capfd, monkeypatch):
    import capacity.model.highs_route as route

    inputs = synthetic(regions=4, weeks=12, scenarios=3, contracts=3, seed=1)
    lines: list[str] = []
    monkeypatch.setattr(route, "PROGRESS_EVERY", 0.0)   # a line at every look (5 s in use)
    res = solve(build_model(inputs), duals=False, progress=lines.append)
    assert res.status == "optimal"
    pat = re.compile(r"^HiGHS (LP relaxation|MIP|LP with y fixed|LP): \d+s, "
                     r"(presolve|dual simplex|primal simplex|simplex|interior point|branch and bound)")
    assert lines and all(pat.match(s) for s in lines), lines[:5]
    quiet = solve(build_model(inputs), duals=False)
    assert quiet.objective == res.objective
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize("lam,alpha", [(0.5, 0.9), (1.0, 0.0), (0.25, 0.6)])
@pytest.mark.parametrize("seed", range(3))
def test_matrix_is_the_pyomo_standard_form_with_the_cvar_in_the_objective(seed, lam, alpha):
    """v2 section 4: the objective's parts weighted (1 - lambda), lambda and 1, the CVaR rows and eta's free
    column, exactly as Pyomo states them."""
    import dataclasses

    inputs = synthetic(regions=2, weeks=6, scenarios=3, contracts=2, seed=seed, reveal_week=2)
    inputs = dataclasses.replace(inputs, settings=dataclasses.replace(inputs.settings, risk_weight=lam,
                                                                       cvar_alpha=alpha))
    built = build_model(inputs)
    mat = assert_is_pyomo_standard_form(built)
    eta = mat.columns["eta"]
    assert len(eta) == 1 and mat.col_lower[eta[0]] == -INF and mat.cost[eta[0]] == lam
    assert len(mat.rows[("risk", "tail")]) == 3
