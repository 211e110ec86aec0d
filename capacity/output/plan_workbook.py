"""The plan's output workbook (outputs.md): its sheets, their formats and the summary's charts."""

from __future__ import annotations

import pandas as pd

from capacity.output.results import EXPECTED


#: Id columns kept in view when a reader scrolls right, per tidy sheet.
FROZEN = {"plan": 6, "work": 5, "coverage": 4, "contracts": 1, "shadow_prices": 6, "checks": 1}


def write_plan_workbook(path, inputs, tables, checks: pd.DataFrame, run_info: pd.DataFrame, raw=None) -> None:
    """The output workbook of outputs.md, with the summary's three charts, opening on read_me_first,
    then summary and the decision views in whole people (capacity/output/decisions.py), then the tidy
    tables; with ``raw`` (the input as read) also the input copies and the live formulas of the
    auditor's trail (capacity/output/trail.py)."""
    from capacity.output import trail
    from capacity.output.decisions import decision_sheets
    from capacity.output.glossary import header_note
    from capacity.output.read_me_first import read_me_first_sheet
    from capacity.output.report import write_report

    t = tables
    work = trail.work_frame(inputs, t.work)
    contracts = t.contracts.assign(signed=t.contracts["signed"].map({True: "Yes", False: "No"}))
    frames = {"plan": t.plan, "work": work, "coverage": t.coverage, "contracts": contracts}
    formulas = trail.formulas(inputs, raw, **frames, risk=t.risk) if raw is not None else {}
    sheets = _tidy_sheets(t, frames, _checks_for_sheet(checks), run_info)
    for spec in sheets:  # one shared vocabulary of formats; each sheet takes the columns it has
        spec.formats = {c: f for c, f in spec.formats.items() if c in spec.frame.columns}
        spec.freeze_cols = FROZEN.get(spec.name, 0)
        spec.formulas = {c: f for c, f in formulas.get(spec.name, {}).items() if c in spec.frame.columns}
        if spec.name not in ("summary", "run"):
            notes = {str(c): header_note(str(c), spec.name, inputs.settings.currency) for c in spec.frame.columns}
            spec.header_notes = {c: n for c, n in notes.items() if n}
    first = [read_me_first_sheet(inputs, t, checks)]
    views, view_charts = decision_sheets(inputs, t)  # after the loop above: they set their own layout
    extra = trail.input_copies(raw) if raw is not None else []
    charts = _summary_charts(inputs, t) + view_charts
    write_report(path, first + sheets[:1] + views + sheets[1:] + extra, charts=charts,
                 currency=inputs.settings.currency)


def _tidy_sheets(t, frames: dict, checks: pd.DataFrame, run_info: pd.DataFrame) -> list:
    from capacity.output.report import SheetSpec

    fte = {c: "fte" for c in ("fte", "onboarded", "exits", "committed_fte")}
    money = {c: "money" for c in ("cost", "fixed_cost", "expected_cost")}
    hours = {c: "hours" for c in ("paid_hours", "productive_hours", "task_hours", "training_hours",
                                  "supervision_hours", "expected_paid_hours", "expected_task_hours")}
    share = {c: "share" for c in ("utilisation", "completion_share", "expected_utilisation")}
    tasks = {c: "number" for c in ("attempted", "completed", "escalated", "lost", "demand")}
    return [
        SheetSpec("summary", _summary_for_sheet(t.summary), note="Headline figures; scenario-weighted "
                  "(expected) values. Cash = staff, onboarding and fixed contract costs; lost value is the "
                  "notional value of tasks not completed. Charts: expected FTE by source, completion share "
                  "by week, cost by source.",
                  row_formats={k: ("share" if "share" in k or k in ("mip_gap", "risk_weight", "cvar_alpha")
                                   else "money")
                               for k in t.summary["key"] if k not in ("status", "currency", "worst_scenario")}),
        SheetSpec("plan", frames["plan"], {**fte, **money, **hours, **share, "week": "int", "week_start": "date"},
                  note="Headcount, hours and cost by scenario, week, region and unit (contract or source); "
                       "scenario 'expected' = probability-weighted. Derived columns are live formulas over "
                       "the input_ sheets and the decision columns (fte, onboarded, exits)."),
        SheetSpec("work", frames["work"], {**tasks, **hours, "hours_per_task": "number", "week": "int"},
                  note="Tasks attempted by each unit (rows with none attempted are omitted); completed = "
                       "success x attempted; escalated and lost failures; hours per task from the skills "
                       "sheet. Sorted so that each plan row's work rows are together."),
        SheetSpec("coverage", frames["coverage"], {**tasks, **share, "week": "int"},
                  note="Demand (cases x tasks per case + escalations arriving), completed, lost."),
        SheetSpec("contracts", frames["contracts"], {**fte, **money, **hours, **share,
                                                     "lock_in_shadow_price": "money"},
                  note="status: signed before the plan (the input says signed), signed by the plan, or "
                       "offered, not signed."),
        SheetSpec("shadow_prices", t.shadow_prices, {"value": "money", "week": "int"},
                  note="Duals of the LP (binaries fixed at the optimum), conditional on the scenario; "
                       "zeros omitted. See models/README.md."),
        SheetSpec("risk", t.risk, {"probability": "share", "risk_adjusted_probability": "share",
                                   "scenario_cost": "money", "excess_over_var": "money"},
                  note="The cost to go if each scenario happens, and how the plan weighs it (v2 section 4): "
                       "summary cvar = value_at_risk + sum of probability x excess_over_var / (1 - cvar_alpha). "
                       "With risk_weight > 0 the plan minimises (1 - risk_weight) x expected cost + risk_weight "
                       "x CVaR, and the shadow prices are the duals divided by risk_adjusted_probability."),
        SheetSpec("checks", checks, {"largest_violation": "sci", "tolerance": "sci", "rows_checked": "int"},
                  note="Each rule recomputed from this workbook's tables and the input; 'where' names the "
                       "worst row of a failing check."),
        SheetSpec("run", run_info, note="Provenance of this run, and the solver's figures."),
    ]


def _checks_for_sheet(checks: pd.DataFrame) -> pd.DataFrame:
    """'where' only for a check that fails (a passing check has no place to point at)."""
    if "where" not in checks or "result" not in checks:
        return checks
    return checks.assign(where=checks["where"].where(checks["result"] != "pass", ""))


def _summary_for_sheet(summary: pd.DataFrame) -> pd.DataFrame:
    return summary.assign(value=[v if not isinstance(v, float) else round(v, 6) if abs(v) < 1 else v
                                 for v in summary["value"]])


def _summary_charts(inputs, t) -> list:
    from capacity.output.report import ChartSpec

    plan = t.plan[t.plan["scenario"] == EXPECTED].copy()
    source_of = pd.concat([inputs.contracts["source"].rename(lambda c: c),
                           pd.Series(inputs.regional_sources.index, index=inputs.regional_sources.index)])
    plan["source"] = plan["unit"].map(source_of)
    fte = plan.pivot_table(index="week", columns="source", values="fte", aggfunc="sum", fill_value=0.0)
    fte = fte.reset_index()
    cov = t.coverage[t.coverage["scenario"] == EXPECTED]
    share = cov.groupby(["week", "work_type"])[["completed", "demand"]].sum()
    share = (share["completed"] / share["demand"].where(share["demand"] > 0)).unstack("work_type").reset_index()
    fixed = t.contracts.set_index("contract")["fixed_cost"]
    by_unit = plan.groupby("unit", sort=False)["cost"].sum().add(fixed, fill_value=0.0)
    cost = (by_unit.groupby(by_unit.index.map(source_of), sort=False).sum()
            .rename("expected cost").rename_axis("source").reset_index())
    charts = [
        ChartSpec("summary", "D2", "column_stacked", "Expected FTE by source", fte, y_title="FTE", x_title="week"),
        ChartSpec("summary", "D20", "line", "Expected completion share by week", share, y_title="share completed",
                  x_title="week", y_format="share"),
        ChartSpec("summary", "D38", "bar", "Expected cost by source (incl. fixed contract costs)", cost,
                  x_title=f"{inputs.settings.currency}, millions", y_format="money_m"),
    ]
    return [ch for ch in charts if _has_series(ch.data)]


def _has_series(frame: pd.DataFrame) -> bool:
    """A chart needs a category column and a series with at least one number
    (with no demand at all, completion share is undefined in every week)."""
    if frame.shape[1] < 2 or len(frame) == 0:
        return False
    values = frame.iloc[:, 1:].apply(pd.to_numeric, errors="coerce")
    return bool(values.notna().to_numpy().any())
