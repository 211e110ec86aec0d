"""Pass 2 of validation: rules across cells and sheets, one function each.

In the style of PyPSA's consistency checks: every rule takes the parsed
workbook (:data:`~capacity.io.validate.cells.Book`), the issue
:class:`~capacity.io.validate.cells.Collector` and the horizon ``weeks``, and
reports what it finds. :data:`RULES` lists them in the order they run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from capacity.io import schema as S
from capacity.io.inputs import CONTRACTOR
from capacity.io.validate.cells import Book, Collector
from capacity.io.validate.history import HISTORY_RULES, settings_cell, settings_value, staffed_contracts


# --------------------------------------------------------------------------
# Pass 2: rules across cells and sheets, one function each
# --------------------------------------------------------------------------
def check_duplicate_ids(book: Book, out: Collector, weeks: int | None) -> None:
    """Ids are unique within their sheet (settings keys are checked when read)."""
    for name, p in book.items():
        if p.sheet.layout == S.SETTINGS or not p.sheet.key:
            continue
        first: dict[Any, int] = {}
        for i in range(len(p.records)):
            key = p.key_of(i)
            if key is None or (isinstance(key, tuple) and None in key):
                continue
            if key in first:
                shown = " x ".join(map(repr, key)) if isinstance(key, tuple) else repr(key)
                out.error(name, p.cell(i, p.sheet.key[0]),
                          f"duplicate {'/'.join(p.sheet.key)} {shown} (first at {p.cell(first[key], p.sheet.key[0])})")
            else:
                first[key] = i


def check_references(book: Book, out: Collector, weeks: int | None) -> None:
    """Every referenced id exists; trainer/supervisor/availability name regional
    sources; a contract's source is a contractor."""
    kinds = _source_kinds(book)
    for name, p in book.items():
        for col in p.sheet.columns:
            if col.type != S.REF or col.name not in p.cols:
                continue
            target = book.get(col.ref)
            if target is None:
                continue
            ids = set(target.ids())
            for i, rec in enumerate(p.records):
                value = rec.get(col.name)
                if value is None or (i, col.name) in p.bad:
                    continue
                where = p.cell(i, col.name)
                if value not in ids:
                    what = col.ref.rstrip("s").replace("_", " ")
                    twin = _space_twin(value, ids)
                    if twin is None:
                        out.error(name, where, f"unknown {what} '{value}' (not in sheet {col.ref})")
                    else:
                        out.error(name, where, f"unknown {what} {_visible(value)} (not in sheet {col.ref}): it "
                                               f"differs from {_visible(twin)} only in its spaces (a non-breaking "
                                               "or doubled space?); retype it")
                elif col.ref_filter == S.REGIONAL and kinds.get(value) == CONTRACTOR:
                    out.error(name, where, f"{col.name} must be a regional source (eho, redeployed or hire); "
                                           f"'{value}' is a contractor")
                elif col.ref_filter == S.CONTRACTOR_ONLY and kinds.get(value) not in (None, CONTRACTOR):
                    out.error(name, where, f"{col.name} must be a contractor source; '{value}' is "
                                           f"{kinds[value]}")


def _squash(text) -> str | None:
    return " ".join(text.split()) if isinstance(text, str) else None


def _space_twin(value, ids) -> str | None:
    """The id that ``value`` matches once runs of spaces of any kind (non-breaking
    included) count as one plain space, if any."""
    key = _squash(value)
    if key is None:
        return None
    for other in ids:
        if isinstance(other, str) and other != value and _squash(other) == key:
            return other
    return None


def _visible(text: str) -> str:
    """'text' with any space other than a plain one shown as an escape (e.g. \\u00a0)."""
    shown = "".join(c if c == " " or not c.isspace() else f"\\u{ord(c):04x}" for c in text)
    return f"'{shown}'"


def check_probabilities(book: Book, out: Collector, weeks: int | None) -> None:
    """Scenario probabilities sum to 1 within 1e-6."""
    p = book.get("scenarios")
    if p is None or "probability" not in p.cols or any(c == "probability" for _, c in p.bad):
        return
    total = sum(r["probability"] for r in p.records if r.get("probability") is not None)
    if p.records and abs(total - 1.0) > 1e-6:
        out.error("scenarios", p.header("probability"), f"probabilities must sum to 1, got {total:.6g}")


def check_escalation(book: Book, out: Collector, weeks: int | None) -> None:
    """escalates_to links form no cycle; escalation_share > 0 needs escalates_to."""
    wt = book.get("work_types")
    if wt is None:
        return
    link = {r["work_type"]: r.get("escalates_to") for r in wt.records if r.get("work_type")}
    reported: set = set()
    for i, rec in enumerate(wt.records):
        start = rec.get("work_type")
        if start is None:
            continue  # a blank id is reported by cell already
        path, node = [start], link.get(start)
        while node is not None and node in link and node not in path:
            path.append(node)
            node = link.get(node)
        if node == start and start not in reported:
            reported.update(path)
            out.error("work_types", wt.cell(i, "escalates_to"),
                      "escalation links form a cycle: " + " -> ".join(path + [start]))
    sk = book.get("skills")
    if sk is None or "escalation_share" not in sk.cols:
        return
    for i, rec in enumerate(sk.records):
        share = rec.get("escalation_share") or 0.0
        k = rec.get("work_type")
        if share > 0 and k in link and link[k] is None:
            out.error("skills", sk.cell(i, "escalation_share"),
                      f"escalation_share > 0 needs work type '{k}' to have escalates_to")


def check_demand_rows(book: Book, out: Collector, weeks: int | None) -> None:
    """demand has exactly one row per scenario x region."""
    d, sc, rg = book.get("demand"), book.get("scenarios"), book.get("regions")
    if d is None or sc is None or rg is None:
        return
    have = set(d.ids())
    missing = [(s, r) for s in sc.ids() for r in rg.ids() if s is not None and r is not None and (s, r) not in have]
    for s, r in missing[:20]:
        out.error("demand", "A1", f"missing row for scenario '{s}', region '{r}'")
    if len(missing) > 20:
        out.error("demand", "A1", f"... and {len(missing) - 20} more missing scenario x region rows")


def check_contracts(book: Book, out: Collector, weeks: int | None) -> None:
    """The contract rules at the end of workbook.md's contracts section."""
    c = book.get("contracts")
    if c is None:
        return
    staffed = staffed_contracts(book, weeks)   # v2: the history staffs it, so it was arranged
    for i, rec in enumerate(c.records):
        if any(b[0] == i for b in c.bad):
            continue  # a bad cell in this row is already reported
        start, end = rec.get("start_week") or 1, rec.get("end_week")
        end = weeks if end is None else end
        if end is not None and start > end:
            out.error("contracts", c.cell(i, "start_week"), f"start_week {start} is after end_week {end}")
        if end is not None and weeks is not None and end > weeks:
            out.error("contracts", c.cell(i, "end_week"), f"end_week {end} is beyond the horizon (weeks = {weeks})")
        lo, hi = rec.get("min_fte") or 0.0, rec.get("max_fte")
        if hi is not None and lo > hi:
            out.error("contracts", c.cell(i, "min_fte"), f"min_fte {_n(lo)} is above max_fte {_n(hi)}")
        committed = rec.get("committed_fte")
        if committed is not None:
            if hi is not None and lo <= hi and not lo <= committed <= hi:
                out.error("contracts", c.cell(i, "committed_fte"),
                          f"committed_fte {_n(committed)} must lie in [min_fte, max_fte] = [{_n(lo)}, {_n(hi)}]")
            if (rec.get("min_term_weeks") or 0) < 1:
                out.error("contracts", c.cell(i, "committed_fte"),
                          "committed_fte needs min_term_weeks >= 1 (the term it is committed for)")
        lead = rec.get("lead_weeks") or 0
        pre_arranged = rec.get("status") == "signed" and committed is not None or rec.get("contract") in staffed
        if not pre_arranged and start < 1 + lead:
            out.error("contracts", c.cell(i, "start_week"),
                      f"start_week {start} is inside the lead time (lead_weeks {lead}): it must be >= {1 + lead}, "
                      "unless the contract is signed with a committed_fte")


def check_unit_ids(book: Book, out: Collector, weeks: int | None) -> None:
    """A contract id differs from every regional source id (both name units)."""
    c = book.get("contracts")
    kinds = _source_kinds(book)
    if c is None:
        return
    for i, rec in enumerate(c.records):
        cid = rec.get("contract")
        if cid is not None and kinds.get(cid) not in (None, CONTRACTOR):
            out.error("contracts", c.cell(i, "contract"),
                      f"contract id '{cid}' is also a regional source id; give it a distinct name")


def check_contractor_terms(book: Book, out: Collector, weeks: int | None) -> None:
    """Only `source` and `kind` are read for contractor rows: warn about others."""
    src = book.get("sources")
    if src is None:
        return
    ignored = [c for c in S.SOURCES.columns if c.name not in ("source", "kind")]
    for i, rec in enumerate(src.records):
        if rec.get("kind") != CONTRACTOR:
            continue
        for col in ignored:
            value = rec.get(col.name)
            if col.name in src.cols and value is not None and value != col.default:
                out.warn("sources", src.cell(i, col.name),
                         f"{col.name} is ignored for contractor sources (their terms are in sheet contracts)")


def check_unserved_work(book: Book, out: Collector, weeks: int | None) -> None:
    """Warn about a work type with demand that no source can do."""
    wt, sk, d = book.get("work_types"), book.get("skills"), book.get("demand")
    if wt is None or sk is None or d is None:
        return
    any_cases = any(v for rec in d.records for k, v in rec.items() if isinstance(k, int) and v)
    able = {rec.get("work_type") for rec in sk.records}
    escalated = {rec.get("escalates_to") for rec in wt.records}
    for i, rec in enumerate(wt.records):
        k = rec.get("work_type")
        has_demand = (rec.get("tasks_per_case") or 0) > 0 and any_cases or k in escalated
        if k is not None and has_demand and k not in able:
            out.warn("work_types", wt.cell(i, "work_type"),
                     f"work type '{k}' has demand but no source has a skill for it: all of it will be lost")


# Excel's dates run from 1900-01-01 to 9999-12-31; every week of the horizon
# is written as a date, so all of them must lie in that range.
EXCEL_FIRST_DATE, EXCEL_LAST_DATE = dt.date(1900, 1, 1), dt.date(9999, 12, 31)


def check_horizon_dates(book: Book, out: Collector, weeks: int | None) -> None:
    """start_date and the last day of week `weeks` lie within Excel's dates."""
    start, where = settings_value(book, "start_date"), settings_cell(book, "start_date")
    if start is None or where is None:
        return
    days = 7 * (weeks or 1) - 1
    if start < EXCEL_FIRST_DATE or start > EXCEL_LAST_DATE - dt.timedelta(days=days):
        out.error("settings", where, f"start_date {start.isoformat()}: the {weeks or 1} weeks from it must lie "
                  f"within Excel's dates ({EXCEL_FIRST_DATE.isoformat()} to {EXCEL_LAST_DATE.isoformat()})")


def check_magnitude(book: Book, out: Collector, weeks: int | None) -> None:
    """The expected cost of losing all demand plus signed contracts' forced
    costs stays within S.MAX_OBJECTIVE (models/README.md#numeric-range)."""
    wt, sc, d, c = (book.get(n) for n in ("work_types", "scenarios", "demand", "contracts"))
    if wt is None or sc is None or d is None or any(p.bad for p in (wt, sc, d)):
        return
    prob = {r.get("scenario"): r.get("probability") or 0.0 for r in sc.records}
    cases = sum(prob.get(r.get("scenario"), 0.0) * sum(v for k, v in r.items() if isinstance(k, int) and v)
                for r in d.records)
    lost = [(r.get("tasks_per_case") or 0.0) * (r.get("value_per_task") or 0.0) * cases for r in wt.records]
    forced = []
    for r in (c.records if c is not None and not c.bad else []):
        if r.get("status") == "signed":
            level = max(r.get("min_fte") or 0.0, r.get("committed_fte") or 0.0)
            span = (r.get("end_week") or weeks or 1) - (r.get("start_week") or 1) + 1
            forced.append((r.get("fixed_cost") or 0.0) + level * (r.get("cost_per_fte_week") or 0.0) * span)
    total = sum(lost) + sum(forced)
    if total <= S.MAX_OBJECTIVE:
        return
    if lost and max(lost) >= max(forced, default=0.0):
        i, what = lost.index(max(lost)), "losing all its demand"
        where, name = ("work_types", wt.cell(lost.index(max(lost)), "value_per_task")), wt.key_of(i)
    else:
        i, what = forced.index(max(forced)), "its forced costs"
        where, name = ("contracts", c.cell(i, "cost_per_fte_week")), c.key_of(i)
    out.error(*where, f"costs too large to solve reliably: the plan's expected cost could reach {total:.3g} "
              f"(largest part: {name!r}, {what}), above {S.MAX_OBJECTIVE:.0e}; state money in larger units "
              "(e.g. thousands) or check the figures")


def check_risk_weight_one(book: Book, out: Collector, weeks: int | None) -> None:
    """A warning (v2 section 4): with risk_weight 1 and several scenarios the expected cost is not minimised
    at all; among the plans of least CVaR the solver returns one, not the cheapest on average."""
    st = book.get("settings")
    if st is None or any(k == "risk_weight" for _, k in st.bad):
        return
    lam = settings_value(book, "risk_weight", 0.0)
    sc = book.get("scenarios")
    n_scen = len([i for i in (sc.ids() if sc else []) if i is not None])
    where = settings_cell(book, "risk_weight")
    if lam is not None and float(lam) == 1.0 and n_scen > 1 and where:
        out.warn("settings", where, "risk_weight 1 minimises the CVaR alone: scenarios outside the worst "
                 "1 - cvar_alpha count for nothing, so among the plans of least CVaR the solver returns one, not "
                 "the cheapest on average; a weight just below 1 (e.g. 0.99) gives about the same CVaR at the "
                 "least expected cost")


RULES: tuple[Callable[[Book, Collector, int | None], None], ...] = (
    check_horizon_dates,
    check_magnitude,
    check_duplicate_ids,
    check_references,
    check_probabilities,
    check_escalation,
    check_demand_rows,
    check_contracts,
    check_unit_ids,
    check_contractor_terms,
    check_unserved_work,
    check_risk_weight_one,
) + HISTORY_RULES


def _source_kinds(book: Book) -> dict:
    src = book.get("sources")
    return {} if src is None else {r.get("source"): r.get("kind") for r in src.records}


def _n(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
