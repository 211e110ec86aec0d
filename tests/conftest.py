"""Shared fixtures: the small example as a file and as a raw workbook, and a plan of it."""

from __future__ import annotations

import re

import pytest

from capacity.io.examples import write_example
from capacity.io.reader import RawWorkbook, read_workbook

_REF = re.compile(r"^(?P<sheet>[a-z_A-Z]+)!(?P<col>[A-Z]+)(?P<row>\d+)$")


@pytest.fixture(scope="session")
def small_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "small.xlsx"
    write_example("small", path)
    return path


@pytest.fixture(scope="session")
def _small_raw(small_path) -> RawWorkbook:
    return read_workbook(small_path)


@pytest.fixture
def small_raw(_small_raw) -> RawWorkbook:
    """A fresh, editable copy of the small example's raw workbook."""
    return _small_raw.copy()


def plan_small_example(folder):
    """The small example and a fresh plan of it, side by side in ``folder``: (input, output)."""
    from capacity import api

    inp = folder / "small.xlsx"
    write_example("small", inp)
    out = folder / "small-plan.xlsx"
    res = api.plan(inp, out)
    assert res.exit_code == 0, res.message
    return inp, out


def compare_small_example(folder, vary: str = "contracts:callco_block:min_term_weeks=2,4"):
    """The small example compared as the command does (built-in variants, break-even prices) with one
    --vary, in ``folder``: (input, output, CompareResult)."""
    from capacity.analysis import compare

    inp = folder / "s.xlsx"
    write_example("small", inp)
    out = folder / "c.xlsx"
    res = compare.compare(inp, out, vary=[vary], workers=2, builtin=True, break_even=True)
    assert res.exit_code == 0, res.message
    return inp, out, res


def write_inputs(inp, path):
    """The factory's Inputs as an input workbook at ``path`` (the compare command reads files)."""
    import pandas as pd

    from capacity.io.workbook import write_input_workbook

    st = inp.settings
    tables = {"settings": {k: getattr(st, k) for k in ("start_date", "weeks", "hours_per_fte_week",
                                                       "productive_share", "reveal_week", "currency", "mip_gap")}}
    for name in ("regions", "scenarios", "work_types", "skills", "contracts"):
        tables[name] = getattr(inp, name).reset_index()
    src = inp.sources.reset_index()
    tables["sources"] = [{"source": r.source, "kind": r.kind} if r.kind == "contractor" else r._asdict()
                         for r in src.itertuples(index=False)]

    def wide(frame, keys, value):
        return (frame.pivot(index=keys, columns="week", values=value).reset_index() if len(frame)
                else pd.DataFrame(columns=keys))

    tables["availability"] = wide(inp.availability, ["source", "region"], "fte")
    tables["demand"] = wide(inp.demand, ["scenario", "region"], "cases")
    write_input_workbook(path, tables, weeks=st.weeks)
    return path


def locate(ref: str) -> tuple[str, int, int]:
    m = _REF.match(ref)
    assert m, ref
    col = 0
    for ch in m["col"]:
        col = col * 26 + ord(ch) - 64
    return m["sheet"], int(m["row"]) - 1, col - 1


def edit(raw: RawWorkbook, ref: str, value) -> RawWorkbook:
    """Set cell 'sheet!B7' of a raw workbook."""
    sheet, r0, c0 = locate(ref)
    raw.sheets[sheet].set_value(r0, c0, value)
    return raw


def delete_row(raw: RawWorkbook, sheet: str, row: int) -> RawWorkbook:
    del raw.sheets[sheet].cells[row - 1]
    return raw


def delete_column(raw: RawWorkbook, sheet: str, col: str) -> RawWorkbook:
    _, _, c0 = locate(f"{sheet}!{col}1")
    for row in raw.sheets[sheet].cells:
        if c0 < len(row):
            del row[c0]
    return raw
