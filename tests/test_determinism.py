"""Same input, same options: the same numbers in every table.

Two runs' output workbooks, read back cell by cell, differ only in the run
sheet's time fields (start_time and seconds_*).
"""

from __future__ import annotations

import pytest

from capacity import api
from capacity.io.reader import read_workbook

TIME_KEYS = ("start_time",)


def _varying(key) -> bool:
    return isinstance(key, str) and (key in TIME_KEYS or key.startswith("seconds_"))


def _differences(a, b) -> list[str]:
    out = []
    if list(a.sheets) != list(b.sheets):
        return [f"sheets differ: {list(a.sheets)} vs {list(b.sheets)}"]
    for name in a.sheets:
        ca, cb = a.sheets[name].cells, b.sheets[name].cells
        if len(ca) != len(cb):
            out.append(f"{name}: {len(ca)} rows vs {len(cb)}")
            continue
        for r, (ra, rb) in enumerate(zip(ca, cb)):
            if name == "run" and ra and _varying(ra[0]) and ra[0] == rb[0]:
                continue
            if ra != rb:
                cols = [c for c in range(max(len(ra), len(rb)))
                        if (ra[c] if c < len(ra) else None) != (rb[c] if c < len(rb) else None)]
                out.append(f"{name} row {r + 1}, columns {cols}: {[ra[c] for c in cols if c < len(ra)]} vs "
                           f"{[rb[c] for c in cols if c < len(rb)]}")
    return out


def test_two_runs_give_identical_workbooks(small_path, tmp_path):
    """Twice with the default options, then with --threads 2 and --threads 1 (one process:
    HiGHS's shared thread scheduler must not make a later solve fail or differ)."""
    outs = []
    for k, threads in enumerate([None, None, 2, 1]):
        out = tmp_path / f"run{k}.xlsx"
        res = api.plan(small_path, out, threads=threads, command_line="capacity plan small.xlsx")
        assert res.exit_code == 0, res.message
        outs.append(read_workbook(out))
    for k, other in enumerate(outs[1:], 1):
        diff = _differences(outs[0], other)
        assert not diff, f"run {k}:\n" + "\n".join(diff[:20])
    # the time fields are there (and are the only ones skipped)
    keys = [row[0] for row in outs[0].sheets["run"].cells]
    assert "start_time" in keys and "seconds_solve" in keys


def test_determinism_on_a_larger_instance(tmp_path):
    """England example (more rows, a real MIP): identical plan, work and coverage tables."""
    from pathlib import Path

    inp = Path(__file__).resolve().parents[1] / "inputs" / "england-2020.xlsx"
    if not inp.exists():
        pytest.skip("inputs/england-2020.xlsx not present")
    books = []
    for k in range(2):
        out = tmp_path / f"eng{k}.xlsx"
        assert api.plan(inp, out, command_line="capacity plan england-2020.xlsx").exit_code == 0
        books.append(read_workbook(out))
    diff = _differences(*books)
    assert not diff, "\n".join(diff[:20])
