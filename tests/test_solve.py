"""The solve step: statuses, naming of values and duals, limits."""

from __future__ import annotations

import os

import pytest
from pyomo.contrib.solver.common.results import TerminationCondition as TC

from capacity.model import build_model
from capacity.model.solve import _status, solve
from factory import make_inputs, simple, synthetic


@pytest.mark.parametrize("tc,has,expected", [
    (TC.convergenceCriteriaSatisfied, True, "optimal"),
    (TC.maxTimeLimit, True, "feasible"),
    (TC.maxTimeLimit, False, "no_solution"),
    (TC.iterationLimit, False, "no_solution"),
    (TC.provenInfeasible, False, "infeasible"),
    (TC.unbounded, False, "unbounded"),
    (TC.error, False, "error"),
])
def test_status_mapping(tc, has, expected):
    assert _status(tc, has) == expected


def test_value_and_dual_index_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inp = synthetic(regions=2, weeks=8, scenarios=2, contracts=2)
    built = build_model(inp)
    res = solve(built)
    assert res.status == "optimal"
    assert os.listdir(tmp_path) == []          # nothing written (in-memory solve)
    names = {k: list(v.index.names) for k, v in res.values.items()}
    assert names == {
        "y": ["contract"], "L": ["contract"],
        "N": ["contract", "week", "scenario"], "Ninc": ["contract", "week", "scenario"],
        "Ndec": ["contract", "week", "scenario"],
        "F": ["source", "region", "week", "scenario"], "O": ["source", "region", "week", "scenario"],
        "X": ["source", "region", "week", "scenario"],
        "A": ["unit", "region", "work_type", "week", "scenario"],
        "U": ["region", "work_type", "week", "scenario"],
    }
    assert list(res.duals["hours"].index.names) == ["unit", "region", "week", "scenario"]
    assert list(res.duals["demand"].index.names) == ["region", "work_type", "week", "scenario"]
    assert list(res.duals["lock_in"].index.names) == ["contract", "week", "scenario"]
    assert (res.duals["hours"] >= -1e-7).all()
    assert set(res.duals["hours"].xs("", level="region").index.get_level_values("unit")) <= {"C0", "C1"}
    for s in res.values.values():
        assert (s >= 0).all()
    assert res.stats["binaries"] == 1 and res.stats["nonzeros"] > 0
    assert {"build_s", "solve_s", "dual_s", "solver_version", "solve_path"} <= set(res.stats)
    # objective parts add up
    assert sum(res.objective_parts.values()) == pytest.approx(res.objective, rel=1e-9)
    # the model is left as found: the option contract's y is free again
    assert not built.model.y["C1"].fixed and built.model.y["C0"].fixed


def test_time_limit_zero_gives_no_solution_or_feasible():
    inp = synthetic(regions=3, weeks=10, scenarios=2, contracts=3)
    res = solve(build_model(inp), time_limit=0.0, threads=1)
    assert res.status in ("no_solution", "feasible")
    if res.status == "no_solution":
        assert res.objective is None and res.values == {}


def test_mip_gap_setting_is_honoured():
    inp = synthetic(regions=2, weeks=8, scenarios=2, contracts=3)
    res = solve(build_model(inp), mip_gap=0.0)
    assert res.status == "optimal" and res.gap == pytest.approx(0, abs=1e-9)


def test_release_drops_the_pyomo_model_and_keeps_the_solution():
    inp = synthetic(regions=2, weeks=8, scenarios=2, contracts=3)
    kept = solve(build_model(inp))
    built = build_model(inp)
    res = solve(built, release=True)
    assert built.model is None and built.var_objs == {} and built.row_blocks == []
    assert res.objective == kept.objective and res.stats["solve_path"] == kept.stats["solve_path"]
    for name, values in kept.values.items():
        assert res.values[name].equals(values), name
    for group, duals in kept.duals.items():
        assert res.duals[group].equals(duals), group
    assert "release_s" in res.stats


def test_elastic_violations_read_the_solution_after_release():
    from capacity.model import elastic_violations

    # demand the one EHO cannot meet under a completion target: the elastic model pays slack
    inp = simple(weeks=2, demand={("base", "R1"): [500, 500]}, availability={("eho", "R1"): 1},
                 work_types=[dict(work_type="case", tasks_per_case=1, value_per_task=100,
                                  min_completion_share=0.9)])
    assert solve(build_model(inp), duals=False).status == "infeasible"
    kept = build_model(inp, elastic=True)
    solve(kept, duals=False, _explain=False)
    el = build_model(inp, elastic=True)
    res = solve(el, duals=False, _explain=False, release=True)
    assert res.status == "optimal" and el.model is None
    viol = elastic_violations(el)
    # the one EHO's availability is what gives (cheaper than the completion target's slack)
    assert set(viol["family"]) == {"regional.availability"} and (viol["slack"] > 0).all()
    assert viol.equals(elastic_violations(kept))
