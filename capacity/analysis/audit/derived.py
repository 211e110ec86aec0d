"""Step 3 of the audit: every derived figure recomputed, one function per table.

A figure is derived when it follows from other cells and the input: paid and
productive hours, cost, utilisation, week_start, the probability-weighted
``expected`` rows, completion shares, the contracts table and the summary.
Each is compared cell by cell with what the workbook says.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.analysis.audit.diffs import MAX_LINES_PER_STEP, REL_TOL, Diffs, fmt, label
from capacity.analysis.audit.read import Table, key_values
from capacity.model import risk
from capacity.model.recheck import EXPECTED

#: The summary rounds values below 1 to 6 decimals.
SUMMARY_ABS_TOL = 1e-6
PLAN_NUMBERS = ("fte", "onboarded", "exits", "paid_hours", "productive_hours", "task_hours",
                "training_hours", "supervision_hours", "cost")


def _scenario_rows(df: pd.DataFrame) -> np.ndarray:
    return (df["scenario"] != EXPECTED).to_numpy()


def _ratio(num, den, empty):
    """num / den where den > 1e-9, else `empty`."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.where(den > 1e-9, num / np.where(den > 1e-9, den, 1.0), empty)


def check_expected(d: Diffs, t: Table, inputs, keys: list[str], cols: list[str]) -> None:
    """Rows with scenario 'expected' are the probability-weighted sums of the scenario rows."""
    df = t.frame
    pi = inputs.scenarios["probability"]
    scen = df[_scenario_rows(df)]
    unknown = sorted(set(scen["scenario"]) - set(pi.index))
    for s in unknown:
        i = int(np.flatnonzero((df["scenario"] == s).to_numpy())[0])
        d.add(f"{t.cell(i, 'scenario')}: scenario '{s}' is not in the input")
    w = scen["scenario"].map(pi).fillna(0.0).to_numpy(float)
    weighted = scen[keys].copy()
    for c in cols:
        weighted[c] = scen[c].to_numpy(float) * w
    want = weighted.groupby(keys, sort=False)[cols].sum()
    exp = df[~_scenario_rows(df)]
    idx = pd.MultiIndex.from_frame(exp[keys])
    missing = want.index.difference(idx)
    for k in list(missing)[:MAX_LINES_PER_STEP]:
        d.add(f"{t.name}: no '{EXPECTED}' row for {label(keys, k)}")
    extra = idx.difference(want.index)
    for k in list(extra)[:MAX_LINES_PER_STEP]:
        d.add(f"{t.name}: an '{EXPECTED}' row for {label(keys, k)} has no scenario rows")
    aligned = want.reindex(idx)
    rows = np.flatnonzero(~_scenario_rows(df))
    for c in cols:
        d.compare(t, c, rows, exp[c].to_numpy(float), aligned[c].to_numpy(float),
                  "the probability-weighted mean of the scenario rows")


# ---- plan -------------------------------------------------------------------
def _plan_hours(d: Diffs, st, t: Table) -> None:
    """paid and productive hours, utilisation and week_start of every plan row."""
    p = t.frame
    allrows = np.arange(len(p))
    d.compare(t, "paid_hours", allrows, p["paid_hours"], st.hours_per_fte_week * p["fte"].to_numpy(float),
              f"hours_per_fte_week ({fmt(st.hours_per_fte_week)}) x fte")
    if "productive_hours" in p:
        d.compare(t, "productive_hours", allrows, p["productive_hours"],
                  st.productive_hours * p["fte"].to_numpy(float), "productive hours per FTE x fte")
    d.compare(t, "utilisation", allrows, p["utilisation"], _ratio(p["task_hours"], p["paid_hours"], np.nan),
              "task_hours / paid_hours")
    for i, (w, ws) in enumerate(zip(p["week"], p["week_start"])):
        want = st.week_start(int(w))
        got = ws.date() if hasattr(ws, "date") and callable(ws.date) else ws
        d.cells += 1
        if got != want:
            d.add(f"{t.cell(i, 'week_start')}: week_start is {got!r}, but week {w} starts on {want.isoformat()}")


def _plan_costs(d: Diffs, inputs, t: Table) -> None:
    """cost and kind of the scenario rows, from the input's prices and units."""
    src, con = inputs.sources, inputs.contracts
    s_rows = np.flatnonzero(_scenario_rows(t.frame))
    sp = t.frame.iloc[s_rows]
    contract = (sp["kind"] == "contractor").to_numpy()
    price = np.where(contract, sp["unit"].map(con["cost_per_fte_week"]),
                     sp["unit"].map(src["cost_per_fte_week"])).astype(float)
    onboard = np.where(contract, 0.0, sp["unit"].map(src["onboarding_cost"])).astype(float)
    want = price * sp["fte"].to_numpy(float) + onboard * sp["onboarded"].to_numpy(float)
    d.compare(t, "cost", s_rows, sp["cost"], want, "the input's cost_per_fte_week x fte + onboarding_cost x onboarded")
    kind = np.where(contract, "contractor", sp["unit"].map(src["kind"]).fillna("").astype(str))
    want_kind = np.where(sp["unit"].isin(con.index), "contractor", sp["unit"].map(src["kind"]).fillna("?"))
    for j in np.flatnonzero(kind != want_kind)[:MAX_LINES_PER_STEP]:
        d.add(f"{t.cell(int(s_rows[j]), 'kind')}: kind is {sp['kind'].iat[j]!r}, but unit "
              f"{sp['unit'].iat[j]!r} is {want_kind[j]!r} in the input")


def check_plan(d: Diffs, inputs, t: Table) -> None:
    _plan_hours(d, inputs.settings, t)
    _plan_costs(d, inputs, t)
    num = [c for c in PLAN_NUMBERS if c in t.frame]
    check_expected(d, t, inputs, ["week", "region", "unit", "kind"], num)


# ---- coverage ---------------------------------------------------------------
def check_phase(d: Diffs, inputs, t: Table) -> None:
    """v2 section 1: every row's phase is 'history' for a week before plan_from_week, else 'plan'
    (a table written before version 2 has no phase column: only a history run needs it)."""
    T = int(getattr(inputs.settings, "plan_from_week", 1) or 1)
    df = t.frame
    if "phase" not in df:
        if T > 1:
            d.add(f"{t.name}: no column 'phase' (the input plans from week {T})")
        return
    want = np.where(pd.to_numeric(df["week"]).to_numpy(dtype=float) < T, "history", "plan")
    bad = np.flatnonzero(df["phase"].astype(str).to_numpy() != want)
    for i in bad[:MAX_LINES_PER_STEP]:
        d.add(f"{t.cell(int(i), 'phase')}: phase is {df['phase'].iat[i]!r}, but week {df['week'].iat[i]} with "
              f"plan_from_week {T} is {want[i]!r}")
    if len(bad) > MAX_LINES_PER_STEP:
        d.add(f"{t.name}: ... and {len(bad) - MAX_LINES_PER_STEP} more rows with the wrong phase")


def check_coverage(d: Diffs, inputs, t: Table) -> None:
    cv = t.frame
    share = _ratio(cv["completed"], cv["demand"], 1.0)
    d.compare(t, "completion_share", np.arange(len(cv)), cv["completion_share"], share, "completed / demand")
    check_expected(d, t, inputs, ["week", "region", "work_type"], ["demand", "completed", "lost"])


# ---- contracts --------------------------------------------------------------
def _contract_rows(d: Diffs, con: pd.DataFrame, t: Table, inputs=None) -> None:
    """One row per contract of the input, with the input's source, and the status word that the
    input's status and the row's signed give (results.status_words)."""
    from capacity.model.history import staffed_contracts
    from capacity.output.results import status_words

    staffed = staffed_contracts(inputs) if inputs is not None else set()
    c = t.frame
    for i, (cid, source, status, signed) in enumerate(zip(c["contract"], c["source"], c["status"], c["signed"])):
        if cid not in con.index:
            d.add(f"{t.cell(i, 'contract')}: contract '{cid}' is not in the input")
            continue
        status_in = "signed" if cid in staffed else con.at[cid, "status"]   # v2: the history staffed it
        word = str(status_words([status_in], [signed])[0])
        for col, want, why in (("source", con.at[cid, "source"], "the input says"),
                               ("status", word, f"the input's status {con.at[cid, 'status']!r} and signed give")):
            got = source if col == "source" else status
            if got != want:
                d.add(f"{t.cell(i, col)}: {col} is {got!r}, but {why} {want!r}")
    for cid in sorted(set(con.index) - set(c["contract"])):
        d.add(f"contracts: no row for contract '{cid}'")


def check_contracts(d: Diffs, inputs, t: Table, plan: pd.DataFrame) -> None:
    con = inputs.contracts
    _contract_rows(d, con, t, inputs)
    c = t.frame
    rows = np.arange(len(c))
    fixed = c["contract"].map(con["fixed_cost"]).fillna(0.0).to_numpy(float) * c["signed"].to_numpy(float)
    d.compare(t, "fixed_cost", rows, c["fixed_cost"], fixed, "the input's fixed_cost x signed")
    pe = plan[(plan["scenario"] == EXPECTED) & (plan["kind"] == "contractor")].groupby("unit")[
        ["cost", "paid_hours", "task_hours"]].sum().reindex(c["contract"]).fillna(0.0)
    d.compare(t, "expected_cost", rows, c["expected_cost"],
              c["fixed_cost"].to_numpy(float) + pe["cost"].to_numpy(), "fixed_cost + the plan's expected cost")
    d.compare(t, "expected_paid_hours", rows, c["expected_paid_hours"], pe["paid_hours"], "the plan's expected rows")
    d.compare(t, "expected_task_hours", rows, c["expected_task_hours"], pe["task_hours"], "the plan's expected rows")
    d.compare(t, "expected_utilisation", rows, c["expected_utilisation"],
              _ratio(pe["task_hours"].to_numpy(), pe["paid_hours"].to_numpy(), np.nan),
              "expected_task_hours / expected_paid_hours")
    locked = c["contract"].map(con["min_term_weeks"]).fillna(0).to_numpy(float) >= 1
    d.compare(t, "committed_fte", rows[~locked], c["committed_fte"].to_numpy(float)[~locked],
              np.zeros(int((~locked).sum())), "a contract without a minimum term (no block)")


# ---- summary ----------------------------------------------------------------
def _summary_figures(inputs, tables: dict[str, Table]) -> dict[str, float]:
    """The summary's figures: its costs from the audit's cost breakdown
    (:func:`capacity.model.recheck.expected_costs`), the rest from the tables' expected rows."""
    from capacity.model.recheck import expected_costs

    costs = expected_costs(inputs, {k: t.frame for k, t in tables.items()})
    p, cv = tables["plan"].frame, tables["coverage"].frame
    exp, ce = p[p["scenario"] == EXPECTED], cv[cv["scenario"] == EXPECTED]
    demand = float(ce["demand"].sum())
    want = {
        "expected_staff_cost": costs["staff"],
        "expected_onboarding_cost": costs["onboarding"],
        "fixed_cost": costs["fixed"],
        "expected_lost_value": costs["lost_value"],
        "expected_total_cost": costs["total"],
        "expected_cash_cost": costs["total"] - costs["lost_value"],
        "expected_completion_share": float(ce["completed"].sum()) / demand if demand > 1e-9 else 1.0,
    }
    T = int(getattr(inputs.settings, "plan_from_week", 1) or 1)
    go = exp[pd.to_numeric(exp["week"]).to_numpy(dtype=float) >= T]   # the cost to go (v2 section 1)
    for kind_name, cost in go.groupby("kind", sort=False)["cost"].sum().items():
        want[f"expected_cost:{kind_name}"] = float(cost)
    # v2 section 1: the sunk cost and the cost to go, re-derived (a version 1 plan workbook may not have them)
    s = key_values(tables["summary"])
    if T > 1 or "sunk_cost" in s:
        want["sunk_cost"] = costs["sunk"]
        want["cost_to_go"] = costs["total"]
    # v2 section 4: the risk of the cost to go, from the recomputed scenario costs (a workbook written
    # before it may not have these rows)
    if "cvar" in s or risk.weight(inputs) > 0:
        scen = list(inputs.scenarios.index)
        by = np.array([costs["by_scenario"][w] for w in scen])
        pi = inputs.scenarios["probability"].to_numpy(float)
        var, cvar = risk.var_cvar(by, pi, risk.alpha(inputs))
        want.update(risk_weight=risk.weight(inputs), cvar_alpha=risk.alpha(inputs), cvar=cvar,
                    worst_scenario_cost=float(by.max()))
        if risk.weight(inputs) == 0:
            want["value_at_risk"] = var
    return want


def check_risk(d: Diffs, inputs, tables: dict[str, Table]) -> None:
    """The risk sheet (v2 section 4): probability from the input, scenario_cost from the recomputed costs,
    in_tail from the costs and the value at risk, the worst scenario's name; with risk_weight 0 also
    excess_over_var = max(0, scenario_cost - value_at_risk) and risk_adjusted_probability = probability.
    (With risk_weight > 0 those come from the model; the constraint check re-tests them.)"""
    from capacity.model.recheck import expected_costs

    s = key_values(tables["summary"])
    if "risk" not in tables:
        if risk.weight(inputs) > 0 or "cvar" in s:
            d.add("risk: sheet missing (the summary reports a CVaR)")
        return
    t = tables["risk"]
    r = t.frame
    scen = list(inputs.scenarios.index)
    if list(r["scenario"]) != scen:
        d.add(f"risk: its scenarios are {list(r['scenario'])}, the input's are {scen}")
        return
    rows = np.arange(len(r))
    costs = expected_costs(inputs, {k: v.frame for k, v in tables.items()})["by_scenario"]
    c = np.array([costs[w] for w in scen])
    p = inputs.scenarios["probability"].to_numpy(float)
    d.compare(t, "probability", rows, r["probability"], p, "the scenarios sheet")
    d.compare(t, "scenario_cost", rows, r["scenario_cost"], c,
              "fixed costs + the scenario's staff, onboarding and lost value, recomputed")
    eta = float(s.get("value_at_risk", np.nan))
    if risk.weight(inputs) == 0:
        # a difference of two costs: within the tolerance of the costs, not of the (often 0) excess
        d.compare(t, "excess_over_var", rows, r["excess_over_var"], np.maximum(c - eta, 0.0),
                  "max(0, scenario_cost - value_at_risk)", absolute=REL_TOL * max(1.0, float(np.abs(c).max())))
        d.compare(t, "risk_adjusted_probability", rows, r["risk_adjusted_probability"], p,
                  "the probability (risk_weight 0)")
    want = risk.in_tail(c, p, eta, risk.alpha(inputs))   # from the recomputed costs, not the sheet's
    for i in np.nonzero(r["in_tail"].astype(str).to_numpy() != want)[0]:
        d.add(f"{t.cell(int(i), 'in_tail')}: in_tail is {r['in_tail'].iat[i]!r}, the costs give {want[i]!r}")
    worst = scen[int(np.argmax(c))]
    named = str(s.get("worst_scenario"))
    if named not in costs or abs(costs[named] - c.max()) > 1e-6 * max(1.0, abs(c.max())):   # a tie may name either
        d.add(f"summary: worst_scenario is {s.get('worst_scenario')!r}, the recomputed costs give {worst!r}")


def _summary_vs_run(d: Diffs, t: Table, s: dict, pos: dict, run: dict) -> None:
    """The summary's objective, status and gap are the run sheet's (the bound is in the run sheet only)."""
    for key, run_key in (("objective", "objective"), ("status", "solver_status"), ("mip_gap", "mip_gap")):
        a, b = s.get(key), run.get(run_key)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            d.compare(t, "value", np.array([pos[key]]), [a], [b], f"the run sheet's {run_key}",
                      absolute=SUMMARY_ABS_TOL)
        elif a != b and not (a in ("", None) and b in ("", None)):
            where = f"summary!B{pos[key] + 2}" if key in pos else "summary"
            d.add(f"{where}: {key} is {a!r}, but the run sheet's {run_key} is {b!r}")


def check_summary(d: Diffs, inputs, tables: dict[str, Table]) -> None:
    t = tables["summary"]
    s = key_values(t)
    pos = {k: i for i, k in enumerate(t.frame["key"])}
    for key, value in _summary_figures(inputs, tables).items():
        if key not in s:
            d.add(f"summary: no row '{key}'")
            continue
        got = s[key]
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            d.add(f"summary!B{pos[key] + 2}: {key} must be a number, got {got!r}")
            continue
        d.compare(t, "value", np.array([pos[key]]), [got], [value], "the tables", absolute=SUMMARY_ABS_TOL)
    _summary_vs_run(d, t, s, pos, key_values(tables["run"]))
    if s.get("currency") != inputs.settings.currency:
        d.add(f"summary: currency is {s.get('currency')!r}, but the input says {inputs.settings.currency!r}")


def check_derived(inputs, tables: dict[str, Table]) -> Diffs:
    """Every derived figure of the plan, coverage, contracts and summary tables."""
    d = Diffs()
    check_plan(d, inputs, tables["plan"])
    check_coverage(d, inputs, tables["coverage"])
    for name in ("plan", "work", "coverage"):
        check_phase(d, inputs, tables[name])
    check_contracts(d, inputs, tables["contracts"], tables["plan"].frame)
    check_summary(d, inputs, tables)
    check_risk(d, inputs, tables)
    return d
