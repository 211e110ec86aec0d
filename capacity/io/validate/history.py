"""Pass 2 rules of version 2 section 1: ``settings.plan_from_week`` and the ``history`` sheet.

One function each, in the style of :mod:`capacity.io.validate.rules` (they
are listed in its :data:`~capacity.io.validate.rules.RULES`). Every problem is
reported by cell: a history that cannot have happened (a stock that does not
add up, staff on a contract outside its weeks or above its maximum, two
levels in one initial term), history rows naming what is not a unit, weeks out
of range, demand of a past week that differs between scenarios, and a
``reveal_week`` before ``plan_from_week`` with several scenarios.

Numbers of the history are compared within :data:`TOL` FTE (absolute): a
history written from a solved plan (``capacity replan``) carries the solver's
rounding, which is far below it.
"""

from __future__ import annotations

from typing import Any

from capacity.io.errors import cell_ref
from capacity.io.inputs import CONTRACTOR
from capacity.io.validate.cells import Book, Collector, Parsed

#: FTE within which two history figures count as equal (and a figure as within a bound)
TOL = 1e-6
#: at most this many problems of one rule are listed one by one
MAX_LISTED = 20


def _n(x: float) -> str:
    return f"{x:,.10g}"


def settings_value(book: Book, key: str, default: Any = None) -> Any:
    st = book.get("settings")
    if st is None or not st.records:
        return default
    value = st.records[0].get(key)
    return default if value is None else value


def settings_cell(book: Book, key: str) -> str | None:
    """The value cell of setting ``key`` ('B11'), None when the key has no row."""
    st = book.get("settings")
    if st is None or key not in st.key_rows or "value" not in st.cols:
        return None
    return cell_ref(st.key_rows[key], st.cols["value"])


def plan_from_week(book: Book) -> int:
    return int(settings_value(book, "plan_from_week", 1))


def check_plan_from_week(book: Book, out: Collector, weeks: int | None) -> None:
    """plan_from_week <= weeks; reveal_week >= plan_from_week unless there is one scenario."""
    st = book.get("settings")
    if st is None or any(k in ("plan_from_week", "reveal_week") for _, k in st.bad):
        return
    T = plan_from_week(book)
    where = settings_cell(book, "plan_from_week")
    if weeks is not None and T > weeks and where:
        out.error("settings", where, f"plan_from_week {T} is beyond the horizon (weeks = {weeks})")
        return
    sc = book.get("scenarios")
    n_scen = len([i for i in (sc.ids() if sc else []) if i is not None])
    reveal = int(settings_value(book, "reveal_week", 1))
    if n_scen > 1 and reveal < T:
        at = settings_cell(book, "reveal_week") or where
        out.error("settings", at, f"reveal_week {reveal} is before plan_from_week {T}: with {n_scen} scenarios "
                  "the realised one cannot be known before the weeks already past; set reveal_week >= "
                  f"{T} (or keep one scenario)")


def check_past_demand(book: Book, out: Collector, weeks: int | None) -> None:
    """Demand of the weeks before plan_from_week is what happened: the same cases in every scenario."""
    d = book.get("demand")
    T = plan_from_week(book)
    if d is None or T <= 1 or (weeks is not None and T > weeks):
        return
    first: dict = {}
    problems = []
    for i, rec in enumerate(d.records):
        s, r = rec.get("scenario"), rec.get("region")
        if s is None or r is None:
            continue
        if r not in first:
            first[r] = i
            continue
        j = first[r]
        for t in range(1, T):
            if t not in d.weeks or (i, t) in d.bad or (j, t) in d.bad:
                continue
            a, b = rec.get(t), d.records[j].get(t)
            if a is not None and b is not None and a != b:
                problems.append((d.cell(i, t), f"cases of week {t} (before plan_from_week {T}) are what happened "
                                 f"and must be the same in every scenario: {_n(a)} here, {_n(b)} for scenario "
                                 f"'{d.records[j].get('scenario')}' (demand!{d.cell(j, t)})"))
    for where, message in problems[:MAX_LISTED]:
        out.error("demand", where, message)
    if len(problems) > MAX_LISTED:
        out.error("demand", "A1", f"... and {len(problems) - MAX_LISTED} more cells of weeks before plan_from_week "
                  f"{T} that differ between scenarios")


def _kinds(book: Book) -> dict:
    src = book.get("sources")
    return {} if src is None else {r.get("source"): r.get("kind") for r in src.records}


def _contracts(book: Book) -> dict:
    c = book.get("contracts")
    return {} if c is None else {r.get("contract"): (i, r) for i, r in enumerate(c.records)
                                 if r.get("contract") is not None}


def _row_ok(h: Parsed, i: int) -> bool:
    return not any(b[0] == i for b in h.bad)


def history_rows(book: Book, weeks: int | None) -> tuple[list, list]:
    """The history's well-formed rows: (contract rows, regional rows), each (record index, record);
    a row with a bad cell, an unknown unit or a week beyond the horizon is in neither (it is reported)."""
    h = book.get("history")
    if h is None:
        return [], []
    cons, kinds = _contracts(book), _kinds(book)
    rg = book.get("regions")
    regions = set(rg.ids()) if rg is not None else set()
    c_rows, r_rows = [], []
    for i, rec in enumerate(h.records):
        unit, week = rec.get("unit"), rec.get("week")
        if unit is None or week is None or not _row_ok(h, i) or (weeks is not None and week > weeks):
            continue
        if unit in cons and rec.get("region") is None:
            c_rows.append((i, rec))
        elif kinds.get(unit) not in (None, CONTRACTOR) and rec.get("region") in regions:
            r_rows.append((i, rec))
    return c_rows, r_rows


def check_history_rows(book: Book, out: Collector, weeks: int | None) -> None:
    """Each history row names a unit (a contract with no region, or a regional source with one),
    a week of the horizon, and for a contract no onboarded or exits; one row per unit, region, week."""
    h = book.get("history")
    if h is None:
        return
    cons, kinds = _contracts(book), _kinds(book)
    seen: dict = {}
    for i, rec in enumerate(h.records):
        unit, region, week = rec.get("unit"), rec.get("region"), rec.get("week")
        if unit is None:
            continue
        if unit in cons:
            if region is not None:
                out.error("history", h.cell(i, "region"), f"'{unit}' is a contract: a contract row has no region "
                          "(contract capacity is national); leave region blank")
            for col in ("onboarded", "exits"):
                if rec.get(col) and (i, col) not in h.bad:
                    out.error("history", h.cell(i, col), f"{col} is for regional sources only; a contract row "
                              f"gives its fte (headcount in post), got {_n(rec[col])}")
        elif kinds.get(unit) == CONTRACTOR:
            names = ", ".join(f"'{c}'" for c, (_, r) in cons.items() if r.get("source") == unit) or "none"
            out.error("history", h.cell(i, "unit"), f"'{unit}' is a contractor source: its capacity is held "
                      f"through contracts; name the contract (contracts of '{unit}': {names})")
        elif unit in kinds:
            if region is None and "region" in h.cols:
                out.error("history", h.cell(i, "region"), f"region is required for regional source '{unit}'")
            elif region is None:
                out.error("history", h.header("unit"), f"missing column 'region' (needed for regional source "
                          f"'{unit}')")
        else:
            out.error("history", h.cell(i, "unit"), f"unknown unit '{unit}' (not a contract in sheet contracts, "
                      "nor a regional source in sheet sources)")
        if week is not None and weeks is not None and week > weeks and (i, "week") not in h.bad:
            out.error("history", h.cell(i, "week"), f"week {week} is beyond the horizon (weeks = {weeks})")
        if region is None and unit in cons and week is not None:
            key = (unit, week)
            if key in seen:   # rows with a region are checked as duplicate ids (rules.check_duplicate_ids)
                out.error("history", h.cell(i, "unit"), f"duplicate row for contract '{unit}', week {week} "
                          f"(first at {h.cell(seen[key], 'unit')})")
            else:
                seen[key] = i


def check_history_stock(book: Book, out: Collector, weeks: int | None) -> None:
    """A regional source's history adds up: fte = the previous week's fte + onboarded - exits, where
    the previous week is known (week 0: nobody; a week before plan_from_week with no row: nobody)."""
    h = book.get("history")
    if h is None:
        return
    T = plan_from_week(book)
    _, rows = history_rows(book, weeks)
    by_unit: dict = {}
    for i, rec in rows:
        by_unit.setdefault((rec["unit"], rec["region"]), {})[rec["week"]] = (i, rec)
    for (unit, region), got in by_unit.items():
        last = max(max(got), T - 1)
        prev, prev_at = 0.0, None      # fte of week t-1 and the row that says so (None: no row)
        for t in range(1, last + 1):
            if t in got:
                i, rec = got[t]
                fte, on, ex = rec.get("fte") or 0.0, rec.get("onboarded") or 0.0, rec.get("exits") or 0.0
                if prev is not None:
                    want = prev + on - ex
                    if abs(fte - want) > TOL:
                        before = (f"the fte of week {t - 1} ({_n(prev)}, history!{prev_at})" if prev_at else
                                  f"the fte before week {t} (0: {'the plan starts' if t == 1 else 'no row for week ' + str(t - 1)})")
                        out.error("history", h.cell(i, "fte"),
                                  f"{unit}/{region} week {t}: fte {_n(fte)} does not add up: {before} + onboarded "
                                  f"{_n(on)} - exits {_n(ex)} = {_n(want)}")
                prev, prev_at = fte, h.cell(i, "fte")
            elif t < T:
                if prev is not None and prev > TOL:
                    out.error("history", prev_at or h.cell(got[min(got)][0], "unit"),
                              f"{unit}/{region}: {_n(prev)} in post in week {t - 1}, but no row for week {t} "
                              f"(a week before plan_from_week {T} with no row has nobody in post); add the row "
                              f"for week {t}, with exits if they left")
                prev, prev_at = 0.0, None
            else:
                prev, prev_at = None, None   # a later week the history does not give: the model decides it


def check_history_contracts(book: Book, out: Collector, weeks: int | None) -> None:
    """A contract's history fits its terms: fte <= max_fte; 0 outside start_week..end_week; once signed
    (its status, or a row with fte > 0) at least min_fte in its weeks before plan_from_week; one level
    through its initial term, committed_fte when given."""
    h, c = book.get("history"), book.get("contracts")
    if h is None or c is None:
        return
    T = plan_from_week(book)
    c_rows, _ = history_rows(book, weeks)
    cons = _contracts(book)
    by_con: dict = {}
    for i, rec in c_rows:
        by_con.setdefault(rec["unit"], {}).setdefault(rec["week"], (i, rec))
    for con, (k, terms) in cons.items():
        got = by_con.get(con, {})
        if not got and T <= 1:
            continue
        if any(b[0] == k for b in c.bad):
            continue
        start = terms.get("start_week") or 1
        end = terms.get("end_week") or weeks or start
        term = terms.get("min_term_weeks") or 0
        lo, hi, committed = terms.get("min_fte") or 0.0, terms.get("max_fte"), terms.get("committed_fte")
        span = f"contracts!{c.cell(k, 'start_week')}:{c.cell(k, 'end_week')}"
        for t, (i, rec) in sorted(got.items()):
            fte = rec.get("fte") or 0.0
            if hi is not None and fte > hi + TOL:
                out.error("history", h.cell(i, "fte"), f"contract '{con}' week {t}: fte {_n(fte)} is above its "
                          f"max_fte {_n(hi)} (contracts!{c.cell(k, 'max_fte')})")
            if not start <= t <= end and fte > TOL:
                out.error("history", h.cell(i, "fte"), f"contract '{con}' runs weeks {start}..{end} ({span}): "
                          f"its fte must be 0 in week {t}, got {_n(fte)}")
        signed = terms.get("status") == "signed" or any((r.get("fte") or 0.0) > TOL for _, r in got.values())
        if signed and lo > TOL:
            for t in range(start, min(end, T - 1) + 1):
                fte = (got[t][1].get("fte") or 0.0) if t in got else 0.0
                if fte < lo - TOL:
                    where = h.cell(got[t][0], "fte") if t in got else "A1"
                    said = f"fte {_n(fte)}" if t in got else "no row (nobody in post)"
                    out.error("history", where, f"contract '{con}' is signed, so it keeps at least min_fte "
                              f"{_n(lo)} (contracts!{c.cell(k, 'min_fte')}) in its weeks; week {t} has {said}")
                    break
        term_weeks = [t for t in range(start, min(start + term, end + 1)) if t in got or t < T]
        levels = [((got[t][1].get("fte") or 0.0) if t in got else 0.0, t) for t in term_weeks]
        if not levels or not signed:
            continue
        ref = committed if committed is not None else levels[0][0]
        ref_where = (f"committed_fte {_n(committed)} (contracts!{c.cell(k, 'committed_fte')})"
                     if committed is not None else f"the level of week {levels[0][1]} ({_n(ref)})")
        for level, t in levels:
            if abs(level - ref) > TOL:
                where = h.cell(got[t][0], "fte") if t in got else "A1"
                said = _n(level) if t in got else "0 (no row)"
                out.error("history", where, f"contract '{con}' week {t} lies in its initial term (weeks {start}.."
                          f"{start + term - 1}, locked at one level): fte {said} differs from {ref_where}")
                break


HISTORY_RULES = (check_plan_from_week, check_past_demand, check_history_rows, check_history_stock,
                 check_history_contracts)


def staffed_contracts(book: Book, weeks: int | None) -> set:
    """Contracts the history staffs (a row with fte > 0): signed, whatever their status says."""
    c_rows, _ = history_rows(book, weeks)
    return {rec["unit"] for _, rec in c_rows if (rec.get("fte") or 0.0) > TOL}
