"""Turn a clean parsed workbook into typed :class:`~capacity.io.inputs.Inputs`.

Only called once validation found no error: blanks take their schema
defaults, wide week sheets become long tables, and :class:`Origin` records
where every row and column came from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.io import schema as S
from capacity.io.errors import col_letter
from capacity.io.inputs import HISTORY_COLUMNS, Inputs, Origin, Settings, empty_history
from capacity.io.reader import RawWorkbook
from capacity.io.validate.cells import Book, Parsed, is_blank


def no_escalation_without_target(skills: pd.DataFrame, work_types: pd.DataFrame) -> pd.DataFrame:
    """escalation_share is 0 where the work type has no escalates_to (formulation.md: e = 0
    when esc(k) is blank). The one place this rule is applied; the model relies on it."""
    escalates = work_types["escalates_to"].map(lambda v: None if is_blank(v) else v)
    blank = escalates.reindex(skills["work_type"]).isna().to_numpy()
    return skills.assign(escalation_share=np.where(blank, 0.0, skills["escalation_share"].to_numpy(dtype=float)))


def _frame(p: Parsed) -> pd.DataFrame:
    cols = p.sheet.column_names
    df = pd.DataFrame.from_records(p.records, columns=cols) if p.records else pd.DataFrame(columns=cols)
    for col in p.sheet.columns:
        if col.name not in df:
            continue
        default = col.default
        if col.type in (S.NUMBER, S.INT):
            series = pd.to_numeric(df[col.name], errors="coerce").astype(float)
            if default is not None:
                series = series.fillna(float(default))
            df[col.name] = series.astype(int) if col.type == S.INT and not series.isna().any() else series
        elif default is not None:
            df[col.name] = df[col.name].where(df[col.name].notna(), default).astype(object)
        else:
            df[col.name] = df[col.name].astype(object).where(df[col.name].notna(), None)
    return df


def assemble(raw: RawWorkbook, book: Book, weeks: int) -> Inputs:
    rec = book["settings"].records[0]
    settings = Settings(**{c.name: c.default if rec.get(c.name) is None else rec[c.name]
                           for c in S.SETTINGS_SHEET.columns})
    regions = _frame(book["regions"]).set_index("region")
    scenarios = _frame(book["scenarios"]).set_index("scenario")
    work_types = _frame(book["work_types"]).set_index("work_type")
    sources = _frame(book["sources"]).set_index("source")
    skills = _frame(book["skills"])
    skills = no_escalation_without_target(skills, work_types).set_index(["source", "work_type"])
    contracts = _frame(book["contracts"])
    contracts["end_week"] = contracts["end_week"].fillna(weeks).astype(int)
    contracts = contracts.set_index("contract")
    availability = _long(book["availability"], "fte", weeks)
    demand = _long(book["demand"], "cases", weeks)
    origin = Origin(
        path=raw.path,
        sha256=raw.sha256,
        rows={name: {p.key_of(i): p.rows[i] + 1 for i in range(len(p.records))} if name != "settings"
              else {k: None for k in p.records[0]} for name, p in book.items()},
        columns={name: {k: col_letter(c0) for k, c0 in p.cols.items()} for name, p in book.items()},
    )
    settings_rows = {}
    sp = raw.sheets["settings"]
    kc = book["settings"].cols["key"]
    for r0 in range(1, len(sp.cells)):
        key = sp.value(r0, kc)
        if isinstance(key, str) and key.strip():
            settings_rows.setdefault(key.strip(), r0 + 1)
    origin.rows["settings"] = settings_rows
    if "history" in origin.rows:   # keyed (unit, region, week) with region '' for a contract, as Inputs.history
        origin.rows["history"] = {(u, "" if r is None else r, w): row
                                  for (u, r, w), row in origin.rows["history"].items()}
    history = _history(book.get("history"))
    return Inputs(settings, regions, scenarios, work_types, sources, skills, contracts, availability, demand, origin,
                  history)


def _history(p: Parsed | None) -> pd.DataFrame:
    """The history sheet's rows (workbook order): region '' for a contract, blanks 0."""
    if p is None or not p.records:
        return empty_history()
    df = _frame(p)[list(HISTORY_COLUMNS)]
    df["region"] = df["region"].map(lambda v: "" if v is None or is_blank(v) else v).astype(object)
    df["week"] = df["week"].astype(int)
    for c in ("fte", "onboarded", "exits"):
        df[c] = df[c].astype(float).fillna(0.0)
    return df.reset_index(drop=True)


def _long(p: Parsed, value_name: str, weeks: int) -> pd.DataFrame:
    keys = list(p.sheet.key)
    if not p.records:
        return pd.DataFrame({k: pd.Series(dtype=object) for k in keys}
                            | {"week": pd.Series(dtype=int), value_name: pd.Series(dtype=float)})
    df = pd.DataFrame.from_records(p.records)
    df["_row"] = range(len(df))  # keep the workbook's row order
    week_cols = [w for w in range(1, weeks + 1) if w in df.columns]
    long = df.melt(id_vars=keys + ["_row"], value_vars=week_cols, var_name="week", value_name=value_name)
    long["week"] = long["week"].astype(int)
    long[value_name] = long[value_name].astype(float).fillna(0.0)
    return long.sort_values(["_row", "week"]).drop(columns="_row").reset_index(drop=True)
