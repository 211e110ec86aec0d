"""`capacity audit` of a compare workbook (``capacity compare``): re-run a sample of its runs and
check every figure they give, without trusting the workbook.

Steps (one printed line each, with its figure; exit 0 "verified", 5 with one line per
difference naming the sheet and cell):

1. **read** the workbook (:func:`capacity.io.reader.read_workbook`, the safety checks first)
   and rebuild its tables: ``comparison`` (headers in words, read back by
   :func:`capacity.analysis.compare.glossary.name_of_header`), ``measures``,
   ``scenario_costs``, ``negotiation``, ``contract_use``, ``break_even_runs``,
   ``inputs_changed`` and ``run``.
2. **input**: the file given (``--input``), or the run sheet's ``input_file`` beside the
   workbook or in ``inputs/``; its SHA-256 must equal the run sheet's ``input_sha256``.
3. **edits**: every variant's edits, as ``inputs_changed`` records them, re-applied to the
   input with :func:`capacity.analysis.variants.apply_edits`: each must land on the cell
   recorded, find the old value recorded there, and be read back as recorded; each variant
   validated again (a row recorded as invalid must still be invalid); the comparison's
   ``Edits`` column must list the same edits.
4. **figures**: every figure that follows from other cells, in every row: saving = the base's
   expected cost minus the row's, cash cost = its cash parts, the parts add up to the expected
   cost, the expected cost is the probability-weighted sum of the row's scenario costs, the worst
   case is their maximum and CVaR their CVaR (by the minimisation formula, :func:`cvar_by_minimum`,
   not the tail sum :func:`capacity.model.risk.tail_cvar` that wrote it); in
   ``negotiation`` the saving, per week of term removed, headroom and costs per FTE-week; in
   ``contract_use`` the costs per FTE-week and the contract columns of ``comparison``; in
   ``measures`` RP, WS, EVPI, VSS and each flexibility value from the runs' rows.
5. **re-solve**: the base and a sample of the other runs (:func:`sample`: deterministic; every
   run with ``--all``, and then also each scenario alone, the expected-value problem and the
   EEV) solved again, each as ``capacity compare`` solved it (MIP gap 0, one thread); every figure
   they give is compared with the workbook's: status, expected cost and its parts, cash cost,
   worst scenario and its cost, CVaR, completion share, each contract's signing, committed level
   and utilisation, every scenario cost, the negotiation and contract_use figures, and the
   measures of the runs re-solved (RP, the flexibility values; with ``--all`` WS, EVPI, EV, EEV,
   VSS).
6. **break-even**: each sampled variant re-solved at its reported break-even price must cost
   what the re-solved base costs within the tolerance its ``break_even_method`` states (plus the
   price bracket times the FTE-weeks paid when the search ended on a bracket); at a reported
   ``break_even_at_least`` it must cost no more than the base.

The :class:`capacity.analysis.audit.AuditResult` records every step, both SHA-256s, the base's
objective against its re-solve and each tolerance with its origin, so ``--report FILE`` works
as for a plan workbook.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from capacity.analysis.audit.diffs import REL_TOL, CellDiffs, Report, fmt
from capacity.analysis.audit.diffs import cell_number as _num, cell_value as _value
from capacity.analysis.audit.read import COMPARE_SHEETS, Table, _text_of, sheet_rows
from capacity.analysis.audit.steps import OBJ_TOL
from capacity.analysis.compare.negotiation import SLOPE_EPS
from capacity.analysis.compare.tables import CASH_PARTS, PART_COLUMNS
from capacity.io.errors import col_letter, file_error
from capacity.output.results import COST_PARTS

TABLES = ("comparison", "measures", "scenario_costs", "negotiation", "contract_use", "break_even_runs",
          "inputs_changed", "run", "frontier")
REQUIRED = {"frontier": ["variant", "risk_weight", "cvar_alpha", "expected_cost", "cvar"],
            "comparison": ["variant", "kind", "status", "expected_cost", "saving", "edits"],
            "measures": ["key", "value"], "inputs_changed": ["variant", "sheet", "cell", "id", "column", "old_value",
                                                             "new_value"], "run": ["key", "value"]}
#: How many runs besides the base are re-solved without --all.
SAMPLE = 3
#: A figure recomputed from other cells of the workbook: relative to max(1, |value|) (16 digits are stored).
ARITH_REL_TOL = REL_TOL
#: A figure of a re-solved run against the workbook's, relative to max(1, |value|): both solves are exact
#: (MIP gap 0) and deterministic (one thread), so only the solver's own tolerances may differ.
FIGURE_REL_TOL = 1e-6
OK = ("optimal", "feasible")


# ============================================================ reading
def _table(raw, name: str, problems: list[str], rename: Callable[[str], str | None] | None = None) -> Table:
    sheet = raw.sheets.get(name)
    if sheet is None or not sheet.cells:
        return Table(name, pd.DataFrame(), [], {})
    head, rows, where = sheet_rows(sheet.cells, name)
    names = []
    for j, h in enumerate(head):
        n = rename(h) if rename is not None else (str(h) if h not in ("", None) else None)
        if n is None:
            if h not in ("", None):
                problems.append(f"{name}!{col_letter(j)}1: unknown column header {h!r}")
            n = f"_column_{j + 1}"
        names.append(n)
    rows = [[_value(v) for v in row] for row in rows]
    frame = pd.DataFrame(rows, columns=names, dtype=object) if rows else pd.DataFrame(columns=names, dtype=object)
    cols = {n: col_letter(j) for j, n in reversed(list(enumerate(names)))}
    missing = [c for c in REQUIRED.get(name, []) if c not in names]
    if missing:
        raise file_error(f"{raw.path}: sheet '{name}' has no column {', '.join(repr(c) for c in missing)}; not a "
                         "compare workbook of capacity")
    return Table(name, frame, where, cols)


def read_compare(path: Path, problems: list[str], raw=None):
    """(raw workbook, {name: Table}, run sheet as a dict) of a compare workbook; ``raw``: the workbook at
    ``path`` if already read."""
    from capacity.analysis.compare.glossary import name_of_frontier_header, name_of_header
    from capacity.io.reader import read_workbook

    raw = read_workbook(path) if raw is None else raw
    missing = [s for s in COMPARE_SHEETS if s not in raw.sheets]
    if missing:
        raise file_error(f"{path}: not a compare workbook of capacity (no sheet "
                         f"{', '.join(repr(s) for s in missing)})")
    renames = {"comparison": name_of_header, "frontier": name_of_frontier_header}
    tables = {n: _table(raw, n, problems, renames.get(n)) for n in TABLES}
    run = dict(zip(tables["run"].frame["key"], tables["run"].frame["value"]))
    if not run.get("input_sha256") or not run.get("input_file"):
        raise file_error(f"{path}: the run sheet has no input_file / input_sha256; not a compare workbook of "
                         "capacity")
    return raw, tables, run


def _who(t: Table, i: int) -> str:
    f = t.frame
    if "variant" in f.columns:
        extra = [str(f[k].iat[i]) for k in ("contract", "scenario") if k in f.columns and f[k].iat[i] is not None]
        return f" of '{f['variant'].iat[i]}'" + (f" ({', '.join(extra)})" if extra else "")
    if "key" in f.columns:
        return f" ({f['key'].iat[i]})"
    return ""


# ============================================================ the audit
def audit_compare(output, input_path=None, *, progress: Callable[[str], None] = lambda _: None,
                  report=None, all_runs: bool = False, workers: int | None = None, raw=None):
    """Verify a compare workbook against its input (see the module doc); an AuditResult. ``raw``: the
    workbook already read by :func:`capacity.analysis.audit.audit`, which has checked ``report`` too."""
    from capacity.analysis.audit.report_file import begin, finish

    output, report, res, step = begin(output, input_path, report, raw, progress)
    problems: list[str] = []
    raw_out, tables, run = read_compare(output, problems, raw)
    comp = tables["comparison"]
    step(f"read {output}: a compare workbook, tables rebuilt (comparison {len(comp.frame)} runs, scenario_costs "
         f"{len(tables['scenario_costs'].frame)}, inputs_changed {len(tables['inputs_changed'].frame)} rows)",
         problems, f"reading {output}", name="read", figures={"runs": len(comp.frame)})
    res.output_sha256 = raw_out.sha256
    res.source, raw_in, base = _input_step(step, output, run, tables["run"], input_path, progress)
    res.input_path = res.source.path
    alpha = _alpha(run, tables["measures"])
    variants = _edits_step(step, tables, raw_in, base, progress)
    _figures_step(step, tables, base, alpha)
    _frontier_step(step, tables, variants)
    rows = sample(comp.frame, all_runs)
    rows = _with_frontier_end(rows, comp.frame, tables["frontier"].frame)
    fresh = _resolve_step(step, tables, base, variants, rows, alpha, all_runs, workers, progress)
    _break_even_step(step, tables, fresh, rows)
    res.objective = _objective(comp, fresh)
    res.tolerances = _tolerances(res)
    return finish(res, report, progress)


def _alpha(run: dict, measures: Table) -> float:
    a = _num(run.get("cvar_alpha"))
    if math.isnan(a):
        m = dict(zip(measures.frame["key"], measures.frame["value"]))
        a = _num(m.get("cvar_alpha"))
    return 0.9 if math.isnan(a) else a


# ---- 2. input -----------------------------------------------------------------
def _input_step(step: Report, output: Path, run: dict, run_table: Table, input_path, progress):
    from capacity.analysis.audit.read import find_input
    from capacity.analysis.audit.steps import validated, input_file_step, key_cell

    recorded = str(run.get("input_sha256") or "").strip().lower()
    inp = find_input(output, run, Path(input_path) if input_path is not None else None)
    src, raw_in = input_file_step(step, inp, recorded, str(run.get("input_file") or ""), progress,
                                  cell=key_cell(run_table, "input_sha256"), made="the comparison was made")
    return src, raw_in, validated(raw_in)


# ---- 3. edits -----------------------------------------------------------------
def _edits_step(step: Report, tables: dict, raw_in, base, progress) -> dict:
    """Re-apply inputs_changed's edits: {comparison row: validated Inputs or None}."""
    from capacity.analysis import variants as V
    from capacity.analysis.audit.embedded import _same
    from capacity.io.validate import validate_raw

    progress("re-applying the recorded edits")
    comp, ch = tables["comparison"], tables["inputs_changed"]
    cf, chf = comp.frame, ch.frame
    by_variant: dict[str, list[int]] = {}
    for j, name in enumerate(chf["variant"]):
        by_variant.setdefault(str(name), []).append(j)
    names = [str(v) for v in cf["variant"]]
    problems: list[str] = []
    for name, idx in by_variant.items():
        if name not in names:
            problems.append(f"{ch.cell(idx[0], 'variant')}: variant {name!r} is not a row of sheet comparison")
    out: dict[int, object] = {}
    cells = 0
    for i, name in enumerate(names):
        if name == "base":
            out[i] = base
            continue
        idx = by_variant.get(name, [])
        status = str(cf["status"].iat[i] or "")
        if not idx:
            if status in OK:
                problems.append(f"{comp.cell(i, 'edits')}: '{name}' solved, but sheet inputs_changed records no edit "
                                "of it")
            continue
        edits = [V.Edit(str(chf["sheet"].iat[j]), _id(chf["id"].iat[j]), _id(chf["column"].iat[j]),
                        "" if chf["new_value"].iat[j] is None else chf["new_value"].iat[j]) for j in idx]
        try:
            edited, made = V.apply_edits(raw_in, V.Variant(name, edits))
        except V.EditError as exc:
            problems.append(f"{ch.cell(idx[0], 'cell')}: the edits of '{name}' cannot be applied to the input: {exc}")
            continue
        for j, c in zip(idx, made):
            cells += 1
            if str(chf["cell"].iat[j]) != c.cell:
                problems.append(f"{ch.cell(j, 'cell')}: the edit of {c.id}:{c.column} lands on {c.cell}, not "
                                f"{chf['cell'].iat[j]}")
            if not _same(chf["old_value"].iat[j], c.old_value):
                problems.append(f"{ch.cell(j, 'old_value')}: old_value of '{name}' ({c.cell}) is "
                                f"{fmt(chf['old_value'].iat[j])}, but the input's cell holds {fmt(c.old_value)}")
        label = V.full_label(edits)
        if "edits" in cf.columns and str(cf["edits"].iat[i] or "") != label:
            problems.append(f"{comp.cell(i, 'edits')}: edits of '{name}' is {cf['edits'].iat[i]!r}, but sheet "
                            f"inputs_changed records {label!r}")
        inputs, _ = validate_raw(edited)
        if inputs is not None and "value_read" in chf.columns:
            for j, c in zip(idx, made):
                got = V.read_back(inputs, c)
                if not _same(chf["value_read"].iat[j], got):
                    problems.append(f"{ch.cell(j, 'value_read')}: value_read of '{name}' ({c.cell}) is "
                                    f"{fmt(chf['value_read'].iat[j])}, but the validated variant holds {fmt(got)}")
        if status == "invalid" and inputs is not None:
            problems.append(f"{comp.cell(i, 'status')}: '{name}' is recorded invalid, but its edits give a valid "
                            "input")
        elif status in OK and inputs is None:
            problems.append(f"{comp.cell(i, 'status')}: '{name}' is recorded {status}, but its edits give an "
                            "invalid input")
        out[i] = inputs
    n = sum(1 for i in out if names[i] != "base")
    step(f"edits: {cells} recorded cells of {n} variants re-applied to the input, each on its recorded cell with its "
         "recorded old value; every variant validates as recorded", problems, "edits (inputs_changed)", name="edits",
         figures={"cells": cells, "variants": n})
    return out


def _id(v) -> str:
    return "" if v is None else _text_of(v)


# ---- 4. figures from other cells ----------------------------------------------------
def cvar_by_minimum(costs, probabilities, alpha: float) -> float:
    """CVaR_alpha as Rockafellar and Uryasev define it, min over t of t + E[(cost - t)+] / (1 - alpha)
    (:func:`capacity.model.risk.var_cvar`): an independent route to the figure the compare run writes with
    the tail sum (:func:`capacity.model.risk.tail_cvar`)."""
    from capacity.model.risk import var_cvar

    return var_cvar(costs, probabilities, alpha)[1]


def _figures_step(step: Report, tables: dict, base, alpha: float) -> None:
    d = CellDiffs(_who)
    comp, sc, neg, cu, ber, meas = (tables[n] for n in ("comparison", "scenario_costs", "negotiation",
                                                         "contract_use", "break_even_runs", "measures"))
    cf = comp.frame
    rel = ARITH_REL_TOL
    names = [str(v) for v in cf["variant"]]
    cost = {n: _num(c) for n, c in zip(names, cf["expected_cost"])}
    base_cost = cost.get("base", math.nan)
    parts = [c for c in PART_COLUMNS if c in cf.columns]
    for i, n in enumerate(names):
        if math.isnan(cost[n]):
            continue
        d.number(comp, i, "saving", base_cost - cost[n], "the base's expected cost minus this row's", rel=rel,
                 of=(base_cost, cost[n]))
        vals = [_num(cf[p].iat[i]) for p in parts]
        if len(parts) == len(PART_COLUMNS) and not any(math.isnan(v) for v in vals):
            d.number(comp, i, "cash_cost", sum(v for p, v in zip(parts, vals) if p in CASH_PARTS),
                     "fixed + contract staff + regional staff + onboarding", rel=rel)
            d.number(comp, i, "expected_cost", sum(vals), "the sum of the cost parts", rel=rel)
        rows = sc.frame[sc.frame["variant"] == n] if len(sc.frame) else sc.frame
        if len(rows):
            tot = rows["total"].map(_num).to_numpy(dtype=float)
            p = rows["probability"].map(_num).to_numpy(dtype=float)
            d.number(comp, i, "expected_cost", float((tot * p).sum()), "the probability-weighted sum of its "
                     "scenario_costs totals", rel=1e-7)
            k = int(np.nanargmax(tot))
            d.number(comp, i, "worst_scenario_cost", float(tot[k]), "the largest of its scenario_costs totals",
                     rel=rel)
            d.text(comp, i, "worst_scenario", rows["scenario"].iloc[k], "its scenario_costs")
            d.number(comp, i, "cvar", cvar_by_minimum(tot, p, alpha), f"CVaR at {alpha:g} of its scenario_costs totals",
                     rel=rel)
    if len(sc.frame):
        f = sc.frame
        for i in range(len(f)):
            vals = [_num(f[c].iat[i]) for c in COST_PARTS]
            d.number(sc, i, "total", sum(vals), "the sum of its parts", rel=rel)
    # negotiation
    if len(neg.frame):
        f = neg.frame
        for i in range(len(f)):
            n = str(f["variant"].iat[i])
            c_ = cost.get(n, math.nan)
            d.number(neg, i, "expected_cost", c_, "sheet comparison", rel=rel)
            d.number(neg, i, "base_expected_cost", base_cost, "sheet comparison's base", rel=rel)   # every row
            g = lambda col: _num(f[col].iat[i]) if col in f.columns else math.nan  # noqa: E731
            if not math.isnan(c_):
                d.number(neg, i, "saving", base_cost - c_, "the base's expected cost minus the variant's", rel=rel,
                         of=(base_cost, c_))
            if not math.isnan(g("term_weeks_removed")):
                d.number(neg, i, "term_weeks_removed", g("term_weeks_base") - g("term_weeks_variant"),
                         "term_weeks_base - term_weeks_variant", rel=rel)
                d.number(neg, i, "saving_per_week_removed", g("saving") / g("term_weeks_removed"),
                         "saving / term_weeks_removed", rel=rel)
            if not math.isnan(g("break_even_price")):
                d.number(neg, i, "break_even_headroom", g("break_even_price") - g("price_per_fte_week"),
                         "break_even_price - price_per_fte_week", rel=rel,
                         of=(g("break_even_price"), g("price_per_fte_week")))
            _per_fte_week(d, neg, i, g("contract_cost"), g("paid_fte_weeks"), g("used_fte_weeks"), rel)
    # contract_use against comparison
    if len(cu.frame):
        f = cu.frame
        idx = {n: i for i, n in enumerate(names)}
        for i in range(len(f)):
            g = lambda col: _num(f[col].iat[i]) if col in f.columns else math.nan  # noqa: E731
            _per_fte_week(d, cu, i, g("contract_cost"), g("paid_fte_weeks"), g("used_fte_weeks"), rel)
            n, c = str(f["variant"].iat[i]), str(f["contract"].iat[i])
            j = idx.get(n)
            if j is None:
                continue
            if f"committed_fte:{c}" in cf.columns:
                d.number(cu, i, "committed_fte", cf[f"committed_fte:{c}"].iat[j], "sheet comparison", rel=rel)
                d.number(cu, i, "expected_utilisation", cf[f"utilisation:{c}"].iat[j], "sheet comparison", rel=rel)
                d.text(cu, i, "signed", cf[f"signed:{c}"].iat[j], "sheet comparison")
    if len(ber.frame) and "cost_minus_base" in ber.frame.columns:
        f = ber.frame
        for i in range(len(f)):
            d.number(ber, i, "cost_minus_base", _num(f["expected_cost"].iat[i]) - base_cost,
                     "expected_cost minus the base's", rel=rel, of=(_num(f["expected_cost"].iat[i]), base_cost))
    # measures
    m = meas.frame
    mi = {str(k): i for i, k in enumerate(m["key"])}
    mv = {k: _num(m["value"].iat[i]) for k, i in mi.items()}
    if "rp" in mi:
        d.number(meas, mi["rp"], "value", base_cost, "the base's expected cost in sheet comparison", rel=rel)
    pi = base.scenarios["probability"]
    ws_parts = [mv.get(f"ws:{w}", math.nan) for w in pi.index]
    if "ws" in mi and not any(math.isnan(v) for v in ws_parts):
        d.number(meas, mi["ws"], "value", float(sum(p * v for p, v in zip(pi, ws_parts))),
                 "the probability-weighted sum of the ws:<scenario> rows", rel=rel)
    if "evpi" in mi:
        d.number(meas, mi["evpi"], "value", mv.get("rp", math.nan) - mv.get("ws", math.nan), "rp - ws", rel=rel,
                 of=(mv.get("rp", math.nan), mv.get("ws", math.nan)))
    if "vss" in mi:
        d.number(meas, mi["vss"], "value", mv.get("eev", math.nan) - mv.get("rp", math.nan), "eev - rp", rel=rel,
                 of=(mv.get("eev", math.nan), mv.get("rp", math.nan)))
    for k, i in mi.items():
        if k.startswith("flex_value:"):
            n = "flex:" + k.split(":", 1)[1]
            d.number(meas, i, "value", mv.get("rp", math.nan) - cost.get(n, math.nan),
                     f"rp minus the expected cost of run {n} in sheet comparison", rel=rel,
                     of=(mv.get("rp", math.nan), cost.get(n, math.nan)))
    step(f"figures: {d.cells:,} cells recomputed from the other cells of the workbook, largest relative difference "
         f"{d.largest:.1e}", d.lines, "figures from other cells", name="figures",
         figures={"cells": d.cells, "largest_relative_difference": d.largest})


def _per_fte_week(d: CellDiffs, t: Table, i: int, cost: float, paid: float, used: float, rel: float) -> None:
    if not math.isnan(cost):
        d.number(t, i, "price_paid_per_fte_week", cost / paid if paid > SLOPE_EPS else math.nan,
                 "contract_cost / paid_fte_weeks", rel=rel)
        d.number(t, i, "cost_per_fte_week_used", cost / used if used > SLOPE_EPS else math.nan,
                 "contract_cost / used_fte_weeks", rel=rel)


def _frontier_step(step: Report, tables: dict, variants: dict) -> None:
    """Sheet frontier (v2 section 4) from the workbook's own scenario_costs and the re-applied edits: its rows
    (the base and every solved asked-for run whose risk weight or CVaR level differs from the base's or is
    edited), sorted by risk weight; each row's risk weight and CVaR level (the validated variant's settings),
    expected cost (the comparison's, and the probability-weighted scenario totals), CVaR at the row's level
    (:func:`cvar_by_minimum`), worst scenario and cost, the differences against the risk weight 0 run (its CVaR
    at the row's level), their ratio, and (1 - weight) x expected + weight x CVaR as the cost minimised."""
    from capacity.analysis.compare import frontier as F

    ft, comp, sc, ch = (tables[n] for n in ("frontier", "comparison", "scenario_costs", "inputs_changed"))
    cf = comp.frame
    names = [str(v) for v in cf["variant"]]
    row_of = {n: i for i, n in enumerate(names)}
    bi = row_of.get("base")
    key0 = F.risk_of(variants.get(bi)) if bi is not None and variants.get(bi) is not None else None
    edited = {str(v) for v, sh, k in zip(ch.frame.get("variant", []), ch.frame.get("sheet", []),
                                         ch.frame.get("id", [])) if str(sh) == "settings" and _id(k) in F.RISK_KEYS}
    d = CellDiffs(_who)
    want, differ = ([] if bi is None else ["base"]), False
    for i, n in enumerate(names):
        inp = variants.get(i)
        if i == bi or inp is None or key0 is None or str(cf["status"].iat[i]) not in OK or \
                _kind_code(cf["kind"].iat[i]) not in ("variant", "experiment", "variants_file"):
            continue
        other = F.risk_of(inp) != key0
        differ = differ or other
        if other or n in edited:
            want.append(n)
    want = want if differ else []
    f = ft.frame
    got = [str(v) for v in f["variant"]] if len(f) else []
    if sorted(got) != sorted(want):
        where = f"{F.SHEET}!A1" if len(f) or not want else "sheet frontier"
        d.lines.append(f"{where}: the frontier {'lists ' + _names(got) if got else 'is missing'}, but the runs that "
                       f"differ from the base in settings risk_weight or cvar_alpha give "
                       f"{_names(want) if want else 'none (no frontier)'}")
    if not len(f):   # no frontier, and none due: no step (a version 1 comparison's audit as before)
        if d.lines:
            step("", d.lines, "frontier", name="frontier", figures={"rows": 0})
        return
    rel = ARITH_REL_TOL
    scen = {}
    for n in set(got):
        rows = sc.frame[sc.frame["variant"].astype(str) == n] if len(sc.frame) else sc.frame
        scen[n] = (rows["total"].map(_num).to_numpy(dtype=float), rows["probability"].map(_num).to_numpy(dtype=float),
                   [str(w) for w in rows["scenario"]]) if len(rows) else None
    risk = {n: (F.risk_of(variants.get(row_of[n])) if n in row_of and variants.get(row_of[n]) is not None
                else (math.nan, math.nan)) for n in got}
    weights = [risk[n][0] for n in got]
    if any(b < a for a, b in zip(weights, weights[1:])):
        d.lines.append(f"{F.SHEET}!B2: the rows are not sorted by risk weight ({', '.join(f'{w:g}' for w in weights)})")
    ref = F.reference_index(weights, got)
    ref_name = got[ref] if ref is not None else None
    for i, n in enumerate(got):
        lam, a = risk[n]
        d.number(ft, i, "risk_weight", lam, "the variant's settings risk_weight", rel=rel)
        d.number(ft, i, "cvar_alpha", a, "the variant's settings cvar_alpha (0.9 when absent)", rel=rel)
        j = row_of.get(n)
        if j is not None:
            d.number(ft, i, "expected_cost", cf["expected_cost"].iat[j], "sheet comparison", rel=rel)
        if scen.get(n) is None:
            d.lines.append(f"{ft.cell(i, 'variant')}: '{n}' has no rows in sheet scenario_costs")
            continue
        tot, p, ws = scen[n]
        e = float((tot * p).sum())
        cv = cvar_by_minimum(tot, p, a)
        d.number(ft, i, "expected_cost", e, "the probability-weighted sum of its scenario_costs totals", rel=1e-7)
        d.number(ft, i, "cvar", cv, f"CVaR at {a:g} of its scenario_costs totals", rel=rel)
        k = int(np.nanargmax(tot))
        d.number(ft, i, "worst_scenario_cost", float(tot[k]), "the largest of its scenario_costs totals", rel=rel)
        d.text(ft, i, "worst_scenario", ws[k], "its scenario_costs")
        d.number(ft, i, "risk_objective", (1 - lam) * e + lam * cv, "(1 - risk weight) x expected cost + risk weight "
                 "x CVaR, from its scenario_costs", rel=FIGURE_REL_TOL)
        if ref_name is None or scen.get(ref_name) is None:
            for col in ("extra_expected_cost", "cvar_reduction", "cost_per_cvar_removed"):
                d.number(ft, i, col, math.nan, "no risk weight 0 run (no difference)", rel=rel)
            continue
        rt, rp, _ = scen[ref_name]
        e_ref, cv_ref = float((rt * rp).sum()), cvar_by_minimum(rt, rp, a)
        extra, removed, ratio = F.differences(e, cv, e_ref, cv_ref)
        ref_words = f"'{ref_name}' (risk weight 0)"
        d.number(ft, i, "extra_expected_cost", extra, f"this row's expected cost minus {ref_words}'s, from sheet "
                 "scenario_costs", rel=1e-7, of=(e, e_ref))
        d.number(ft, i, "cvar_reduction", removed, f"the CVaR at {a:g} of {ref_words} minus this row's, from sheet "
                 "scenario_costs", rel=rel, of=(cv, cv_ref))
        d.number(ft, i, "cost_per_cvar_removed", math.nan if ratio is None else ratio,
                 f"extra expected cost / CVaR removed against {ref_words}, from sheet scenario_costs (blank when "
                 "no CVaR is removed)", rel=1e-6)
    step(f"frontier: {len(got)} rows re-checked from sheet scenario_costs and the variants' settings (CVaR by the "
         f"minimisation formula at each row's level; differences against {ref_name or 'no risk weight 0 run'}), "
         f"{d.cells} cells, largest relative difference {d.largest:.1e}", d.lines, "frontier", name="frontier",
         figures={"rows": len(got), "cells": d.cells, "largest_relative_difference": d.largest})


# ---- 5. re-solve ----------------------------------------------------------------------
def sample(comp: pd.DataFrame, all_runs: bool = False) -> list[int]:
    """The comparison rows re-solved: every row with ``all_runs``; else the base and at most SAMPLE
    solved runs: the one with the largest saving, then the largest saving of each kind not yet
    chosen (asked for, built-in, flexibility), then the next largest savings (ties: table order)."""
    names = [str(v) for v in comp["variant"]]
    base = [i for i, n in enumerate(names) if n == "base"][:1]
    if all_runs:
        return base + [i for i in range(len(names)) if i not in base and comp["status"].iat[i] != "not built"]
    solved = [i for i in range(len(names)) if i not in base and comp["status"].iat[i] in OK
              and not math.isnan(_num(comp["saving"].iat[i]))]
    by_saving = sorted(solved, key=lambda i: (-_num(comp["saving"].iat[i]), i))
    group = {"base": "base", "builtin": "builtin", "flex": "flex"}
    kind = lambda i: group.get(_kind_code(comp["kind"].iat[i]), "asked")  # noqa: E731  (codes or words)
    chosen = by_saving[:1]
    for g in ("asked", "builtin", "flex"):
        if len(chosen) >= SAMPLE:
            break
        if not any(kind(i) == g for i in chosen):
            hit = next((i for i in by_saving if kind(i) == g), None)
            if hit is not None:
                chosen.append(hit)
    for i in by_saving:
        if len(chosen) >= SAMPLE:
            break
        if i not in chosen:
            chosen.append(i)
    return base + sorted(chosen)


def _with_frontier_end(rows: list[int], comp: pd.DataFrame, frontier: pd.DataFrame) -> list[int]:
    """The sample and, when there is a frontier, its last row (the highest risk weight): its re-solve checks
    the risk-adjusted optimum."""
    if not len(frontier):
        return rows
    names = [str(v) for v in comp["variant"]]
    last = str(frontier["variant"].iloc[-1])
    if last not in names or names.index(last) in rows or comp["status"].iat[names.index(last)] not in OK:
        return rows
    return sorted(rows + [names.index(last)])


def _base_row(comp: Table) -> int | None:
    """The base's row of the comparison (None without one)."""
    names = [str(v) for v in comp.frame["variant"]]
    return names.index("base") if "base" in names else None


def base_key(comp: Table) -> str:
    """The record key of the base's re-solve (its comparison row)."""
    i = _base_row(comp)
    return f"row:{i}" if i is not None else "row:base"


def _kind_code(words) -> str:
    from capacity.analysis.compare.glossary import KIND_OF_WORDS

    return KIND_OF_WORDS.get(str(words), str(words))


def _resolve_step(step: Report, tables: dict, base, variants: dict, rows: list[int], alpha: float, all_runs: bool,
                  workers, progress) -> dict:
    """Re-solve the sampled rows (and with --all the WS, EV and EEV runs and every break-even price);
    compare their figures. Returns {'records': {job key: record}, 'be': {job key: (comparison row,
    negotiation row, contract, price, column)}}."""
    from dataclasses import replace

    from capacity.analysis.compare.execute import run_jobs
    from capacity.analysis.compare.runs import Job, eev_job, stochastic_jobs

    comp, neg = tables["comparison"], tables["negotiation"]
    cf = comp.frame
    names = [str(v) for v in cf["variant"]]
    jobs, skipped = [], []
    for i in rows:
        inputs = variants.get(i)
        if inputs is None:
            skipped.append(names[i])
            continue
        jobs.append(Job(f"row:{i}", _kind_code(cf["kind"].iat[i]), names[i], inputs, cvar=alpha))
    if all_runs:
        jobs += stochastic_jobs(base)
    neg_row = {str(v): j for j, v in enumerate(neg.frame["variant"])} if len(neg.frame) else {}
    be = {}
    for i in rows:
        j = neg_row.get(names[i])
        inputs = variants.get(i)
        if j is None or inputs is None:
            continue
        c = neg.frame["contract"].iat[j]
        for col in ("break_even_price", "break_even_at_least"):
            price = _num(neg.frame[col].iat[j]) if col in neg.frame.columns else math.nan
            if c is None or math.isnan(price) or str(c) not in inputs.contracts.index:
                continue
            con = inputs.contracts.copy()
            con.loc[str(c), "cost_per_fte_week"] = float(price)
            key = f"be:{i}:{col}"
            be[key] = (i, j, str(c), price, col)
            jobs.append(Job(key, "break_even", f"{names[i]} at {c} price {price:,.4f}", replace(inputs, contracts=con),
                            measures=False, cvar=alpha))

    def follow(job, rec):
        if job.kind == "ev":
            e = eev_job(base, rec)
            return [e] if e is not None else []
        return []

    progress(f"re-solving {len(jobs)} runs")
    records, _, _ = run_jobs(jobs, follow, workers=workers, progress=progress)
    d = CellDiffs(_who)
    for i in rows:
        rec = records.get(f"row:{i}")
        if rec is not None:
            _compare_row(d, tables, i, rec, records.get(base_key(comp)))
    _compare_measures(d, tables, records, rows, base, all_runs)
    solved_rows = [names[i] for i in rows if f"row:{i}" in records]
    extra = " and each scenario alone, the expected-value problem and the EEV" if all_runs else ""
    not_sampled = [n for i, n in enumerate(names) if i not in rows and cf["status"].iat[i] in OK]
    step(f"re-solve (MIP gap 0, one thread, as capacity compare solves): {len(solved_rows)} runs "
         f"({_names(solved_rows)}){extra}; {d.cells:,} figures compared, largest relative difference "
         f"{d.largest:.1e}", d.lines, "re-solve", name="re-solve",
         figures={"runs": solved_rows, "cells": d.cells, "largest_relative_difference": d.largest})
    if not_sampled and not all_runs:
        step.note(f"not re-solved (capacity audit --all re-solves every run): {_names(not_sampled)}; their "
                  "figures were checked against the other cells only; EVPI, EV, EEV and VSS likewise",
                  "not re-solved", figures={"runs": not_sampled})
    if skipped:
        step.note(f"not re-solved: {_names(skipped)} (no valid input to solve: recorded invalid or not run)",
                  "not solvable")
    return {"records": records, "be": be}


def _names(names: list[str]) -> str:
    """Run names for a line: quoted when a name holds a comma (short labels such as 'term 4 wk, price 820.51')."""
    return ", ".join(f"'{n}'" if "," in n else n for n in names)


def _allowance(gap: float, rec: dict, value: float) -> float:
    return (gap + float(rec.get("gap") or 0.0) + OBJ_TOL) * max(1.0, abs(value))


def _compare_row(d: CellDiffs, tables: dict, i: int, rec: dict, base_rec: dict | None) -> None:
    """The figures of one re-solved comparison row against the workbook's."""
    from capacity.analysis.compare.negotiation import _per_used

    comp, sc, neg, cu = (tables[n] for n in ("comparison", "scenario_costs", "negotiation", "contract_use"))
    cf = comp.frame
    name = str(cf["variant"].iat[i])
    what = "the re-solve"
    d.text(comp, i, "status", rec.get("status"), what)
    if rec.get("status") not in OK:
        return
    z = float(rec["objective"])
    gap = _num(cf["mip_gap"].iat[i]) if "mip_gap" in cf.columns else 0.0
    gap = 0.0 if math.isnan(gap) else gap
    allowed = _allowance(gap, rec, z)
    d.number(comp, i, "expected_cost", z, what, rel=0.0, absolute=allowed)
    if base_rec is not None and base_rec.get("status") in OK and name != "base":
        b = float(base_rec["objective"])
        bi = _base_row(comp)
        bgap = _num(cf["mip_gap"].iat[bi]) if "mip_gap" in cf.columns else 0.0
        both = allowed + _allowance(0.0 if math.isnan(bgap) else bgap, base_rec, b)
        d.number(comp, i, "saving", b - z, "the re-solved base's expected cost minus the re-solved row's", rel=0.0,
                 absolute=both)
    parts = rec.get("parts") or {}
    for p, v in parts.items():
        d.number(comp, i, p, v, what, rel=FIGURE_REL_TOL)
    cash = [parts.get(p) for p in CASH_PARTS]
    if all(v is not None for v in cash):
        d.number(comp, i, "cash_cost", sum(cash), what, rel=FIGURE_REL_TOL)
    d.number(comp, i, "worst_scenario_cost", rec.get("worst"), what, rel=FIGURE_REL_TOL)
    d.text(comp, i, "worst_scenario", rec.get("worst_scenario"), what)
    d.number(comp, i, "cvar", rec.get("cvar"), what, rel=FIGURE_REL_TOL)
    ft = tables.get("frontier")
    if ft is not None and len(ft.frame):
        j = next((k for k, v in enumerate(ft.frame["variant"]) if str(v) == name), None)
        if j is not None:
            d.number(ft, j, "expected_cost", z, what, rel=0.0, absolute=allowed)
            d.number(ft, j, "cvar", rec.get("model_cvar"), what + " (CVaR at the run's own level)", rel=FIGURE_REL_TOL)
            d.number(ft, j, "risk_objective", rec.get("risk_objective", z), what + " (the solver's optimum)",
                     rel=0.0, absolute=allowed)
    d.number(comp, i, "expected_completion_share", rec.get("completion_share"), what, rel=FIGURE_REL_TOL)
    for c in rec.get("contracts") or []:
        k = c["contract"]
        d.text(comp, i, f"signed:{k}", "Yes" if c["signed"] else "No", what)
        d.number(comp, i, f"committed_fte:{k}", c["committed_fte"], what, rel=FIGURE_REL_TOL)
        d.number(comp, i, f"utilisation:{k}", c["utilisation"], what, rel=FIGURE_REL_TOL)
    # scenario costs of this run
    if len(sc.frame):
        f = sc.frame
        got = {str(s): j for j, s in enumerate(f["scenario"]) if str(f["variant"].iat[j]) == name}
        for r in rec.get("scenario_costs") or []:
            j = got.get(str(r["scenario"]))
            if j is None:
                d.lines.append(f"scenario_costs: no row for '{name}', scenario {r['scenario']}")
                continue
            for col in ("probability", *COST_PARTS, "total", "completion_share"):
                d.number(sc, j, col, r.get(col), what, rel=FIGURE_REL_TOL)
    by_c = {c["contract"]: c for c in rec.get("contracts") or []}
    # negotiation
    if len(neg.frame) and name != "base":
        f = neg.frame
        j = next((k for k, v in enumerate(f["variant"]) if str(v) == name), None)
        if j is not None:
            c = f["contract"].iat[j]
            cr = by_c.get(str(c), {}) if c is not None else {}
            d.number(neg, j, "expected_cost", z, what, rel=0.0, absolute=allowed)
            if cr:
                d.number(neg, j, "paid_fte_weeks", cr.get("paid_fte_weeks"), what, rel=FIGURE_REL_TOL)
                d.number(neg, j, "used_fte_weeks", cr.get("used_fte_weeks"), what, rel=FIGURE_REL_TOL)
                d.number(neg, j, "contract_cost", cr.get("expected_cost"), what, rel=FIGURE_REL_TOL)
                paid_rate, used_rate = _per_used(cr)
                d.number(neg, j, "price_paid_per_fte_week", paid_rate, what, rel=FIGURE_REL_TOL)
                d.number(neg, j, "cost_per_fte_week_used", used_rate, what, rel=FIGURE_REL_TOL)
    if name == "base" and len(neg.frame):   # every variant's base_cost_per_fte_week_used is the base's
        f = neg.frame
        for j in range(len(f)):
            c = f["contract"].iat[j]
            if c is not None and str(c) in by_c:
                d.number(neg, j, "base_cost_per_fte_week_used", _per_used(by_c[str(c)])[1], "the re-solved base",
                         rel=FIGURE_REL_TOL)
    # contract_use
    if len(cu.frame):
        f = cu.frame
        for j in range(len(f)):
            if str(f["variant"].iat[j]) != name or str(f["contract"].iat[j]) not in by_c:
                continue
            cr = by_c[str(f["contract"].iat[j])]
            d.text(cu, j, "signed", "Yes" if cr["signed"] else "No", what)
            for col, key in (("committed_fte", "committed_fte"), ("contract_cost", "expected_cost"),
                             ("paid_fte_weeks", "paid_fte_weeks"), ("used_fte_weeks", "used_fte_weeks"),
                             ("expected_utilisation", "utilisation")):
                d.number(cu, j, col, cr.get(key), what, rel=FIGURE_REL_TOL)
            paid_rate, used_rate = _per_used(cr)
            d.number(cu, j, "price_paid_per_fte_week", paid_rate, what, rel=FIGURE_REL_TOL)
            d.number(cu, j, "cost_per_fte_week_used", used_rate, what, rel=FIGURE_REL_TOL)


def _compare_measures(d: CellDiffs, tables: dict, records: dict, rows: list[int], base, all_runs: bool) -> None:
    meas, comp = tables["measures"], tables["comparison"]
    m = meas.frame
    mi = {str(k): i for i, k in enumerate(m["key"])}
    names = [str(v) for v in comp.frame["variant"]]

    def obj(key):
        r = records.get(key, {})
        return float(r["objective"]) if r.get("status") in OK and r.get("objective") is not None else None

    bk = base_key(comp)
    rp = obj(bk)
    what = "the re-solve"
    if rp is not None and "rp" in mi:
        d.number(meas, mi["rp"], "value", rp, what, rel=0.0, absolute=_allowance(0.0, records[bk], rp))
    for i in rows:
        n = names[i]
        v = obj(f"row:{i}")
        if n.startswith("flex:") and rp is not None and v is not None and f"flex_value:{n[5:]}" in mi:
            tol = _allowance(0.0, records[bk], rp) + _allowance(0.0, records[f"row:{i}"], v)
            d.number(meas, mi[f"flex_value:{n[5:]}"], "value", rp - v, "the re-solved base minus the re-solved "
                     f"run {n}", rel=0.0, absolute=tol)
    if not all_runs:
        return
    pi = base.scenarios["probability"]
    ws = {w: obj(f"ws:{w}") for w in pi.index}
    for w, v in ws.items():
        if v is not None and f"ws:{w}" in mi:
            d.number(meas, mi[f"ws:{w}"], "value", v, what, rel=0.0, absolute=_allowance(0.0, records[f"ws:{w}"], v))
    if all(v is not None for v in ws.values()):
        total = float(sum(pi[w] * v for w, v in ws.items()))
        tol = sum(_allowance(0.0, records[f"ws:{w}"], v) for w, v in ws.items())
        if "ws" in mi:
            d.number(meas, mi["ws"], "value", total, what, rel=0.0, absolute=tol)
        if rp is not None and "evpi" in mi:
            d.number(meas, mi["evpi"], "value", rp - total, "the re-solved rp - ws", rel=0.0,
                     absolute=tol + _allowance(0.0, records[bk], rp))
    ev, eev = obj("ev"), obj("eev")
    if ev is not None and "ev" in mi:
        d.number(meas, mi["ev"], "value", ev, what, rel=0.0, absolute=_allowance(0.0, records["ev"], ev))
    if eev is None and records.get("eev", {}).get("status") == "infeasible":
        eev = math.inf
    if eev is not None and "eev" in mi:
        tol = _allowance(0.0, records["eev"], eev) if math.isfinite(eev) else 0.0
        d.number(meas, mi["eev"], "value", eev, what, rel=0.0, absolute=tol)
        if rp is not None and "vss" in mi:
            d.number(meas, mi["vss"], "value", eev - rp, "the re-solved eev - rp", rel=0.0,
                     absolute=tol + _allowance(0.0, records[bk], rp))


# ---- 6. break-even ------------------------------------------------------------------
_STATED = re.compile(r"within ([0-9][0-9,]*(?:\.[0-9]+)?) of the base's")


def _break_even_step(step: Report, tables: dict, fresh: dict, rows: list[int]) -> None:
    from capacity.analysis.compare.negotiation import PRICE_TOL, TOL_ABS, TOL_REL

    neg = tables["negotiation"]
    records, be = fresh["records"], fresh["be"]
    base_rec = records.get(base_key(tables["comparison"]), {})
    if not be:
        return
    if base_rec.get("status") not in OK:
        step("", ["break-even: the base does not re-solve, so no break-even price can be checked"], "break-even")
        return
    b = float(base_rec["objective"])
    lines, checked = [], []
    f = neg.frame
    for key, (i, j, c, price, col) in be.items():
        rec = records.get(key, {})
        name = str(f["variant"].iat[j])
        if rec.get("status") not in OK:
            lines.append(f"{neg.cell(j, col)}: re-solving '{name}' at {c} price {price:,.4f} gives {rec.get('status')}")
            continue
        cost = float(rec["objective"])
        method = str(f["break_even_method"].iat[j] or "") if "break_even_method" in f.columns else ""
        m = _STATED.search(method)
        tol = float(m.group(1).replace(",", "")) if m else max(TOL_ABS, TOL_REL * abs(b))
        where = (f"the tolerance stated in {neg.cell(j, 'break_even_method')}" if m else
                 "max(TOL_ABS, TOL_REL x the base's cost), capacity/analysis/compare/negotiation.py")
        if col == "break_even_price":
            recorded = _num(f["break_even_cost"].iat[j]) if "break_even_cost" in f.columns else math.nan
            slack = 0.0
            if math.isnan(recorded):   # the search ended on a bracket narrower than PRICE_TOL
                slack = PRICE_TOL * float(rec.get("paid_fte_weeks", {}).get(c, 0.0))
            if abs(cost - b) > tol + slack:
                lines.append(f"{neg.cell(j, col)}: break_even_price of '{name}' is {price:,.4f}, but re-solved at that "
                             f"price it costs {cost:,.2f} against the re-solved base's {b:,.2f} (difference "
                             f"{cost - b:,.2f}, more than {tol + slack:,.2f}: {where})")
            if not math.isnan(recorded) and abs(recorded - cost) > _allowance(0.0, rec, cost):
                lines.append(f"{neg.cell(j, 'break_even_cost')}: break_even_cost of '{name}' is {recorded:,.2f}, but "
                             f"the re-solve at {price:,.4f} gives {cost:,.2f}")
            checked.append(f"{_names([name])} at {price:,.2f} costs {cost:,.0f} (base {b:,.0f}, within "
                           f"{tol + slack:,.2f})")
        else:
            if cost > b + tol:
                lines.append(f"{neg.cell(j, col)}: break_even_at_least of '{name}' is {price:,.4f}, but re-solved at "
                             f"that price it costs {cost:,.2f}, more than the re-solved base's {b:,.2f}")
            checked.append(f"{_names([name])} at {price:,.2f} (at least) costs {cost:,.0f} <= base")
    step(f"break-even: {len(be)} price{'s' if len(be) != 1 else ''} re-solved: " + "; ".join(checked), lines,
         "break-even prices", name="break-even", figures={"checked": len(be)})


# ---- the objective and the tolerances, for the report ------------------------------------------
def _objective(comp: Table, fresh: dict):
    from capacity.analysis.audit.steps import ObjectiveGap

    bi = _base_row(comp)
    rec = fresh["records"].get(f"row:{bi}", {})
    cf = comp.frame
    if bi is None or rec.get("status") not in OK:
        return None
    reported = _num(cf["expected_cost"].iat[bi])
    if math.isnan(reported):
        return None
    gap = _num(cf["mip_gap"].iat[bi]) if "mip_gap" in cf.columns else 0.0
    return ObjectiveGap(reported=reported, optimum=float(rec["objective"]), run_gap=0.0 if math.isnan(gap) else gap,
                        resolve_gap=float(rec.get("gap") or 0.0), run_gap_cell=comp.cell(bi, "mip_gap"),
                        objective_cell=comp.cell(bi, "expected_cost"), mip_gap=0.0,
                        mip_gap_from="capacity compare (every run at MIP gap 0)")


def _tolerances(res) -> list:
    from capacity.analysis.audit import Tolerance
    from capacity.analysis.compare.negotiation import PRICE_TOL, TOL_ABS, TOL_REL

    rel = "capacity/analysis/audit/compare_audit.py"
    out = [
        Tolerance("ARITH_REL_TOL", ARITH_REL_TOL, "a figure recomputed from other cells of the workbook: |workbook - "
                  "recomputed| <= ARITH_REL_TOL x max(1, |recomputed|, and for a difference |each operand|) (1e-7 "
                  "for a probability-weighted sum over the scenarios)", rel),
        Tolerance("FIGURE_REL_TOL", FIGURE_REL_TOL, "a figure of a re-solved run (scenario costs, parts, worst case, "
                  "CVaR, shares, levels) against the workbook's, relative to max(1, |re-solved|)", rel),
        Tolerance("OBJ_TOL", OBJ_TOL, "an expected cost against its re-solve: (the row's MIP gap + the re-solve's gap "
                  "+ OBJ_TOL) x max(1, |cost|); a saving or a measure adds the allowances of its runs",
                  "capacity/analysis/audit/steps.py"),
        Tolerance("TOL_ABS / TOL_REL", TOL_ABS, f"a variant re-solved at its break-even price against the base: the "
                  f"tolerance its break_even_method states, max(TOL_ABS {TOL_ABS:g}, TOL_REL {TOL_REL:g} x the base's "
                  "cost)", "capacity/analysis/compare/negotiation.py"),
        Tolerance("PRICE_TOL", PRICE_TOL, "added, times the FTE-weeks paid, when a break-even search ended on a price "
                  "bracket (break_even_cost blank)", "capacity/analysis/compare/negotiation.py"),
    ]
    return out
