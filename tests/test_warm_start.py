"""The warm start from one LP per scenario (capacity/model/warm_start.py).

It only changes where HiGHS starts: on the small example and seeded random
instances (the size threshold lowered so that it runs), the optimum equals
the one found from HiGHS's own start, every row of a scenario touches only
that scenario's or the shared columns, the basis is the one the module says,
and any scenario LP that is not optimal (here: no time left) means no basis.
"""

from __future__ import annotations

import numpy as np
import pytest

import highspy
from capacity.io.examples import write_example
from capacity.io.validate import read_inputs
from capacity.model import build_model
from capacity.model import warm_start as ws
from capacity.model.highs_route import compile_matrix
from capacity.model.solve import solve
from factory import synthetic


def _small(tmp_path_factory=None):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "small.xlsx"
    write_example("small", path)
    inputs, issues = read_inputs(path)
    assert inputs is not None, issues
    return inputs


@pytest.fixture
def always(monkeypatch):
    monkeypatch.setattr(ws, "MIN_COLUMNS", 0)


def _instances():
    yield "small", _small()
    for seed in (0, 1, 2):
        yield f"random {seed}", synthetic(regions=4, weeks=12, scenarios=3, contracts=3, seed=seed, reveal_week=3)


@pytest.mark.parametrize("name,inputs", list(_instances()), ids=lambda x: x if isinstance(x, str) else "")
def test_same_optimum_as_from_highs_own_start(name, inputs, monkeypatch):
    plain = solve(build_model(inputs))
    assert "scenario LPs" not in plain.stats["solve_path"]   # below the threshold: HiGHS's own start
    monkeypatch.setattr(ws, "MIN_COLUMNS", 0)
    warm = solve(build_model(inputs))
    assert warm.stats.get("warm_start", "").endswith("at a time"), warm.stats
    assert "from the basis of" in warm.stats["solve_path"]
    assert warm.status == plain.status == "optimal"
    assert warm.objective == pytest.approx(plain.objective, rel=1e-9, abs=1e-6)


def test_blocks_separate_the_scenarios():
    inputs = synthetic(regions=3, weeks=10, scenarios=3, contracts=2, seed=4, reveal_week=3)
    built = build_model(inputs)
    mat = compile_matrix(built)
    blocks = ws.scenario_blocks(built, mat)
    assert blocks is not None and blocks.n_scenarios == 3
    col = np.repeat(np.arange(mat.n_cols), np.diff(mat.start))
    rw, cw = blocks.row_w[mat.index], blocks.col_w[col]
    # a scenario's row touches only its own columns or shared ones; a first-stage row only shared ones
    assert np.all((rw < 0) | (cw == -1) | (cw == rw))
    assert np.all(cw[rw == -1] == -1)
    # the shared columns are exactly the contracts' y and L
    shared = set(np.nonzero(blocks.col_w == -1)[0].tolist())
    yl = set(mat.columns["y"].tolist()) | set(mat.columns["L"].tolist())
    assert shared == yl
    # every scenario has its own rows and columns; the rows of eq 14 are marked -2
    assert set(np.unique(blocks.col_w).tolist()) == {-1, 0, 1, 2}
    na = [pos for (b, _), pos in mat.rows.items() if b == "nonanticipativity"]
    assert all((blocks.row_w[p[p >= 0]] == -2).all() for p in na) and sum(len(p) for p in na) > 0


def test_one_scenario_has_no_blocks():
    inputs = synthetic(regions=2, weeks=8, scenarios=1, contracts=2, seed=3, reveal_week=2)
    built = build_model(inputs)
    assert ws.scenario_blocks(built, compile_matrix(built)) is None


def test_basis_is_each_scenario_lp_put_together(always):
    inputs = synthetic(regions=3, weeks=10, scenarios=3, contracts=2, seed=4, reveal_week=3)
    built = build_model(inputs)
    mat = compile_matrix(built)
    stats = {}
    basis = ws.warm_basis(built, mat, workers=1, stats=stats)
    assert basis is not None and basis.alien
    blocks = ws.scenario_blocks(built, mat)
    rows_na = blocks.row_w == -2
    st = np.array([int(s) for s in basis.row_status])
    assert (st[rows_na] == int(highspy.HighsBasisStatus.kBasic)).all()
    # scenario 1's own LP, solved here on its own, gives its columns' statuses
    shared = np.nonzero(blocks.col_w == -1)[0]
    cols = np.union1d(shared, np.nonzero(blocks.col_w == 1)[0])
    rows = np.union1d(np.nonzero(blocks.row_w == -1)[0], np.nonzero(blocks.row_w == 1)[0])
    prob = inputs.scenarios["probability"].to_numpy(dtype=float)
    cost = mat.cost[cols].copy()
    cost[np.isin(cols, shared)] *= prob[1]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(ws._sub_lp(mat, cols, rows, cost))
    for k, v in ws.LP_OPTIONS.items():
        h.setOptionValue(k, v)
    h.run()
    own = np.array([int(s) for s in h.getBasis().col_status])
    mine = blocks.col_w[cols] == 1
    cs = np.array([int(s) for s in basis.col_status])
    assert (cs[cols[mine]] == own[mine]).all()
    # the scenario LP's matrix is the whole matrix's restriction
    full = np.zeros((mat.n_rows, mat.n_cols))
    full[mat.index, np.repeat(np.arange(mat.n_cols), np.diff(mat.start))] = mat.value
    lp = ws._sub_lp(mat, cols, rows, cost)
    sub = np.zeros((len(rows), len(cols)))
    a = lp.a_matrix_
    sub[np.asarray(a.index_), np.repeat(np.arange(len(cols)), np.diff(np.asarray(a.start_)))] = a.value_
    assert np.array_equal(sub, full[np.ix_(rows, cols)])


def test_no_time_left_means_no_basis(always):
    inputs = synthetic(regions=3, weeks=10, scenarios=3, contracts=2, seed=4, reveal_week=3)
    built = build_model(inputs)
    stats = {}
    assert ws.warm_basis(built, compile_matrix(built), time_left=lambda: 0.0, stats=stats) is None
    assert stats["warm_start"].startswith("not used")
