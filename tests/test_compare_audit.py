"""`capacity audit` of a compare workbook (capacity/analysis/audit/compare_audit.py), on the small example:
a fresh workbook is verified (exit 0); a hand-edited measure, saving, re-solved figure, break-even price or
recorded edit is a difference naming its sheet and cell (exit 5); --all re-solves every run; --report works
as for a plan workbook."""

from __future__ import annotations

import shutil

import openpyxl
import pytest
from click.testing import CliRunner

from capacity.analysis.audit import audit
from capacity.analysis.audit.compare_audit import SAMPLE, sample
from capacity.analysis.audit.read import workbook_kind
from capacity.cli import main
from capacity.io.errors import InputError
from conftest import compare_small_example

VARY = "contracts:callco_block:min_term_weeks=2,4"


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    return compare_small_example(tmp_path_factory.mktemp("cmp_audit"), VARY)   # as the command does


def _edited(out, tmp_path, sheet, find, column_header, delta=None, value=None):
    """A copy of the compare workbook with one cell changed: the row whose first cell is ``find``,
    the column headed ``column_header``; returns (path, cell)."""
    book = openpyxl.load_workbook(out)
    ws = book[sheet]
    head = [c.value for c in ws[1]]
    col = head.index(column_header) + 1
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == find)
    cell = ws.cell(row, col)
    cell.value = cell.value + delta if delta is not None else value
    path = tmp_path / out.name
    book.save(path)
    return path, f"{sheet}!{cell.coordinate}"


def _mismatches(res, cell):
    return [m for m in res.mismatches if m.startswith(f"{cell}: ")]


def test_fresh_compare_workbook_is_verified(compared):
    inp, out, res = compared
    assert workbook_kind(out) == "compare"
    a = audit(out, inp, workers=2)
    assert a.exit_code == 0, "\n".join(a.lines)
    assert a.lines[-1] == "verified"
    assert [s.name for s in a.steps] == ["read", "input", "edits", "figures", "re-solve", "not re-solved",
                                         "break-even"]
    assert all(s.passed in (True, None) for s in a.steps)
    # the deterministic sample: the base; the largest saving (flex:callco_block, 14,825); the largest of the
    # kinds not yet chosen (asked for: term 2 wk); then the next largest saving (flex:all)
    resolved = next(s for s in a.steps if s.name == "re-solve").figures["runs"]
    assert resolved == ["base", "term 2 wk", "flex:callco_block", "flex:all"]
    assert "term 4 wk" in next(s.line for s in a.steps if s.name == "not re-solved")
    # the base's objective, as for a plan
    assert a.objective.reported == pytest.approx(res.measure("rp"), rel=1e-12)
    assert abs(a.objective.difference) <= a.objective.allowed
    assert a.objective.objective_cell == "comparison!B2"
    assert a.source.computed == a.source.recorded


def test_sample_is_deterministic_and_all_means_all(compared):
    comp = compared[2].comparison
    rows = sample(comp)
    assert rows[0] == 0 and len(rows) == 1 + SAMPLE and rows == sample(comp.copy())
    assert sample(comp, all_runs=True) == list(range(len(comp)))


@pytest.mark.parametrize("words", [False, True])
def test_sample_takes_one_of_each_kind_after_the_largest_saving(words):
    """England's shape: the largest savings are built-in and flexibility runs; the asked-for variant is still
    sampled (kinds as the library codes them, or in the comparison sheet's words)."""
    import pandas as pd

    from capacity.analysis.compare.glossary import KIND_WORDS

    rows = [("base", "base", 0.0), ("term 4 wk, price 820.51", "variant", 132.2), ("term 4 wk, price 943.59",
            "variant", 123.1), ("not signed:n", "builtin", 190.2), ("optimum level:n", "builtin", 190.4),
            ("flex:n", "flex", 176.1), ("flex:f", "flex", 0.0), ("flex:all", "flex", 176.1)]
    comp = pd.DataFrame([{"variant": v, "kind": KIND_WORDS[k] if words else k, "status": "optimal", "saving": s}
                         for v, k, s in rows])
    assert [rows[i][0] for i in sample(comp)] == ["base", "term 4 wk, price 820.51", "optimum level:n", "flex:n"]


def test_hand_edited_measure_is_a_difference_naming_its_cell(compared, tmp_path):
    inp, out, res = compared
    bad, cell = _edited(out, tmp_path, "measures", "evpi", "value", delta=1000.0)
    assert cell == "measures!C4"
    a = audit(bad, inp, workers=2)
    assert a.exit_code == 5 and a.lines[-1].startswith("not verified: ")
    evpi = res.measure("evpi")
    assert _mismatches(a, cell) == [f"{cell}: value (evpi) is {evpi + 1000:,.6g}, but rp - ws gives {evpi:,.6g}"]


def test_hand_edited_saving_is_a_difference(compared, tmp_path):
    inp, out, res = compared
    bad, cell = _edited(out, tmp_path, "comparison", "term 2 wk", "Saving vs base (£; + = cheaper)", delta=5000.0)
    assert cell == "comparison!C3"
    r = CliRunner().invoke(main, ["audit", str(bad), "--input", str(inp)])
    assert r.exit_code == 5, r.output
    assert r.stdout.strip().splitlines()[-1] == "not verified: 2 differences (see above)"
    a = audit(bad, inp, workers=2)
    lines = _mismatches(a, cell)
    assert len(lines) == 2    # against the other cells, and against the re-solves
    assert lines[0].startswith(f"{cell}: saving of 'term 2 wk' is ")
    assert lines[0].endswith("but the base's expected cost minus this row's gives 13,031.9")
    assert "the re-solved base's expected cost minus the re-solved row's gives 13,031.9" in lines[1]


def test_figure_consistent_with_the_other_cells_is_caught_by_the_re_solve(compared, tmp_path):
    """The base's callco_block utilisation changed in both sheets that hold it: no other cell contradicts
    it, only the re-solve does."""
    inp, out, res = compared
    bad, cell = _edited(out, tmp_path, "comparison", "base", "callco_block utilisation", value=0.5)
    book = openpyxl.load_workbook(bad)
    ws = book["contract_use"]
    head = [c.value for c in ws[1]]
    row = next(r for r in range(2, ws.max_row + 1)
               if ws.cell(r, 1).value == "base" and ws.cell(r, head.index("contract") + 1).value == "callco_block")
    ws.cell(row, head.index("expected_utilisation") + 1).value = 0.5
    cu_cell = f"contract_use!{ws.cell(row, head.index('expected_utilisation') + 1).coordinate}"
    book.save(bad)
    a = audit(bad, inp, workers=2)
    assert a.exit_code == 5
    assert next(s for s in a.steps if s.name == "figures").passed is True
    resolve = next(s for s in a.steps if s.name == "re-solve")
    assert resolve.passed is False
    assert [p.split(":")[0] for p in resolve.problems] == [cell.split(":")[0], cu_cell.split(":")[0]]
    assert resolve.problems[0] == f"{cell}: utilisation:callco_block of 'base' is 0.5, but the re-solve gives 0.8"


def test_hand_edited_break_even_price_is_re_solved(compared, tmp_path):
    """term 2 wk's break-even price lowered (and its headroom with it, so the other cells agree): re-solved at
    that price the variant costs less than the base."""
    inp, out, res = compared
    n = res.negotiation.set_index("variant").loc["term 2 wk"]
    bad, cell = _edited(out, tmp_path, "negotiation", "term 2 wk", "break_even_price", value=650.0)
    book = openpyxl.load_workbook(bad)
    ws = book["negotiation"]
    head = [c.value for c in ws[1]]
    row = int(cell.split("!")[1][1:])
    ws.cell(row, head.index("break_even_headroom") + 1).value = 650.0 - n["price_per_fte_week"]
    book.save(bad)
    a = audit(bad, inp, workers=2)
    assert a.exit_code == 5
    lines = _mismatches(a, cell)
    assert len(lines) == 1 and lines[0].startswith(f"{cell}: break_even_price of 'term 2 wk' is 650.0000, but "
                                                   "re-solved at that price it costs ")
    assert "the tolerance stated in negotiation!" in lines[0]


def test_hand_edited_recorded_edit_is_a_difference(compared, tmp_path):
    inp, out, res = compared
    bad, cell = _edited(out, tmp_path, "inputs_changed", "term 4 wk", "old_value", value=5)
    a = audit(bad, inp, workers=2)
    assert a.exit_code == 5
    assert _mismatches(a, cell) == [f"{cell}: old_value of 'term 4 wk' (contracts!F3) is 5, but the input's cell "
                                    "holds 6"]


def test_changed_input_is_a_sha_mismatch(compared, tmp_path):
    inp, out, res = compared
    other = tmp_path / "other.xlsx"
    shutil.copy(inp, other)
    with open(other, "ab") as fh:   # same cells, other bytes
        fh.write(b"\0")
    a = audit(out, other, workers=2)
    assert a.exit_code == 5
    assert [m for m in a.mismatches if m.startswith("run!B15: the run sheet records ")]


def test_missing_input_is_a_file_error(compared, tmp_path, monkeypatch):
    _, out, _ = compared
    alone = tmp_path / "alone.xlsx"
    shutil.copy(out, alone)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="cannot find the input 's.xlsx'.*--input"):
        audit(alone)


def test_all_and_report(compared, tmp_path):
    inp, out, res = compared
    report = tmp_path / "audit-report.xlsx"
    r = CliRunner().invoke(main, ["audit", str(out), "--input", str(inp), "--all", "--report", str(report)])
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert lines[-1] == "verified"
    resolve = next(x for x in lines if x.startswith("re-solve "))
    assert ("6 runs (base, term 2 wk, term 4 wk, flex:callco_flex, flex:callco_block, flex:all) and each scenario "
            "alone, the expected-value problem and the EEV") in resolve
    assert not any(x.startswith("not re-solved") for x in lines)
    book = openpyxl.load_workbook(report)
    assert book.sheetnames[0] == "read_me_first"
    steps = [r_[1] for r_ in book["steps"].iter_rows(min_row=2, values_only=True)]
    assert steps == ["read", "input", "edits", "figures", "re-solve", "break-even"]
    first = [r_[0] for r_ in book["read_me_first"].iter_rows(values_only=True) if r_[0]]
    assert any(str(x).startswith("VERIFIED against the input file") for x in first)
    tol = {r_[0] for r_ in book["tolerances"].iter_rows(min_row=2, values_only=True)}
    assert {"ARITH_REL_TOL", "FIGURE_REL_TOL", "OBJ_TOL", "PRICE_TOL"} <= tol


def test_the_audits_cvar_is_an_independent_formula_that_agrees():
    """The audit re-derives CVaR by Rockafellar-Uryasev's minimisation, not by the tail sum that wrote it."""
    import numpy as np

    from capacity.analysis.audit.compare_audit import cvar_by_minimum
    from capacity.analysis.compare.runs import cvar

    costs, p = [100.0, 200.0, 400.0], [0.5, 0.3, 0.2]
    assert cvar_by_minimum(costs, p, 0.9) == pytest.approx(400.0)  # the worst 10% lies inside the 400
    assert cvar_by_minimum(costs, p, 0.7) == pytest.approx((0.2 * 400 + 0.1 * 200) / 0.3)
    assert cvar_by_minimum(costs, p, 0.0) == pytest.approx(0.5 * 100 + 0.3 * 200 + 0.2 * 400)
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 6))
        x, q = rng.normal(size=n) * 1e5, rng.random(n)
        q /= q.sum()
        a = float(rng.random() * 0.99)
        assert cvar_by_minimum(x, q, a) == pytest.approx(cvar(x, q, a), rel=1e-9, abs=1e-6)
