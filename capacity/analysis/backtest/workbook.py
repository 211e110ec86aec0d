"""The backtest workbook (v2.md section 3): read_me_first, comparison (with the charts), steps, weekly,
implemented and run, written through :func:`capacity.output.report.write_report`."""

from __future__ import annotations

import pandas as pd

from capacity.analysis.compare.workbook import Money
from capacity.io.inputs import KINDS
from capacity.model.recheck import EXPECTED
from capacity.model import risk
from capacity.output import report_blocks as B
from capacity.output.report import ChartSpec, SheetSpec, write_report

from . import BacktestRun
from .loop import weekly

ORDER = ("rolling", "one-shot", "hindsight")
NAMES = {"rolling": "rolling policy", "one-shot": "one-shot plan", "hindsight": "hindsight"}


def comparison_frame(bt: BacktestRun, currency: str) -> pd.DataFrame:
    c = f"({currency})"
    hind = bt.runs["hindsight"].evaluation.costs
    rows = []
    for name in ORDER:
        run = bt.runs[name]
        e = run.evaluation.costs
        rows.append({
            "policy": NAMES[name],
            "what it is": run.policy.label,
            "plans made": len(run.steps),
            f"realised cash cost {c}": e["cash"],
            f"staff: contractors {c}": e["contract_staff"],
            f"staff: regional {c}": e["regional_staff"],
            f"onboarding {c}": e["onboarding"],
            f"fixed contract costs {c}": e["fixed"],
            f"lost value, notional, not spent {c}": e["lost_value"],
            f"realised cost incl. lost value {c}": e["total"],
            f"more than hindsight {c}": e["total"] - hind["total"],
            "completion share": e["completion_share"],
            "completion targets met": "Yes" if run.evaluation.targets_met else "No",
            "seconds": run.seconds,
        })
    return pd.DataFrame(rows)


def _formats(frame: pd.DataFrame, currency: str) -> dict[str, str]:
    out = {}
    for col in frame.columns:
        s = str(col)
        if s.endswith(f"({currency})"):
            out[s] = "money"
        elif "share" in s:
            out[s] = "share"
        elif s.startswith("FTE") or s in ("starters", "leavers"):
            out[s] = "fte"
        elif s.startswith("probability"):
            out[s] = "share"
        elif s in ("seconds", "MIP gap"):
            out[s] = "number"
        elif s.startswith("tasks"):
            out[s] = "int"
    return out


def steps_frame(bt: BacktestRun, currency: str, risk_weight: float = 0.0) -> pd.DataFrame:
    scen = list(bt.forecast) + [bt.realised] if bt.realised not in bt.forecast else list(bt.forecast)
    # v2 section 4: with risk_weight > 0 each plan minimised (1 - lambda) E + lambda CVaR of its cost to go
    what = "expected cost to go" if risk_weight == 0 else \
        f"{1 - risk_weight:g} x expected cost to go + {risk_weight:g} x its CVaR"
    rows = []
    for name in ORDER:
        for s in bt.runs[name].steps:
            row = {"policy": NAMES[name], "step": s.step, "plan from week": s.week,
                   "implemented to week": s.implemented_to, "reveal week of the forecast": s.reveal_week}
            for w in scen:
                row[f"probability: {w}"] = s.probabilities.get(w)
            row["implemented branch"] = s.branch
            row[f"objective: {what} ({currency})"] = s.objective
            row[f"sunk cost of weeks before ({currency})"] = s.sunk
            row["solver status"] = s.status
            row["MIP gap"] = s.gap
            row["seconds"] = s.seconds
            rows.append(row)
    return pd.DataFrame(rows)


def weekly_frame(bt: BacktestRun, currency: str) -> pd.DataFrame:
    c = f"({currency})"
    frames = []
    for name in ORDER:
        w = weekly(bt.runs[name].evaluation)
        frames.append(pd.DataFrame({
            "policy": NAMES[name], "week": w["week"], "week starting": w["week_start"],
            **{f"FTE: {k}": w[f"fte_{k}"] for k in KINDS}, "FTE: total": w["fte_total"],
            f"staff cost {c}": w["staff_cost"], f"onboarding {c}": w["onboarding_cost"],
            f"fixed contract costs {c}": w["fixed_cost"], f"cash cost {c}": w["cash_cost"],
            f"lost value, notional {c}": w["lost_value"], "tasks demanded": w["demand_tasks"],
            "tasks completed": w["completed_tasks"], "completion share": w["completion_share"]}))
    return pd.concat(frames, ignore_index=True)


def implemented_frame(bt: BacktestRun, currency: str) -> pd.DataFrame:
    frames = []
    for name in ORDER:
        ev = bt.runs[name].evaluation
        p = ev.tables.plan
        p = p[p["scenario"] != EXPECTED]
        cov = ev.tables.coverage
        cov = cov[cov["scenario"] != EXPECTED]
        by = cov.groupby(["region", "week"])[["completed", "demand"]].sum()
        share = (by["completed"] / by["demand"].where(by["demand"] > 1e-9)).fillna(1.0)
        key = pd.MultiIndex.from_arrays([p["region"].to_numpy(), p["week"].to_numpy()])
        region_share = share.reindex(key).to_numpy()
        region_share = pd.Series(region_share).where(p["region"].to_numpy() != "", None).to_numpy()
        frames.append(pd.DataFrame({
            "policy": NAMES[name], "week": p["week"].to_numpy(), "week starting": p["week_start"].to_numpy(),
            "region": p["region"].replace("", "(national)").to_numpy(), "unit": p["unit"].to_numpy(),
            "kind": p["kind"].to_numpy(), "FTE in post": p["fte"].to_numpy(), "starters": p["onboarded"].to_numpy(),
            "leavers": p["exits"].to_numpy(), f"cash cost ({currency})": p["cost"].to_numpy(),
            "completion share of the region, all work": region_share}))
    return pd.concat(frames, ignore_index=True)


def charts(weekly_df: pd.DataFrame, currency: str) -> list[ChartSpec]:
    cost = weekly_df.pivot(index="week", columns="policy", values=f"cash cost ({currency})")
    fte = weekly_df.pivot(index="week", columns="policy", values="FTE: total")
    cols = [NAMES[n] for n in ORDER]
    return [
        ChartSpec(sheet="comparison", anchor="A7", kind="line",
                  title=f"Cash cost per week under the realised demand ({currency})",
                  data=cost[cols].reset_index(), y_title=currency, x_title="week", y_format="money"),
        ChartSpec(sheet="comparison", anchor="A24", kind="line", title="FTE in post per week (all sources)",
                  data=fte[cols].reset_index(), y_title="FTE", x_title="week", y_format="fte"),
    ]


def read_me_first(bt: BacktestRun, inputs, comp: pd.DataFrame) -> B.BlockSheet:
    cur = inputs.settings.currency
    m = Money(cur)
    weeks = int(inputs.settings.weeks)
    runs = bt.runs
    e = {n: runs[n].evaluation.costs for n in ORDER}
    K = runs["rolling"].policy.every
    forecast = ", ".join(bt.forecast)
    short = _short(comp, cur)
    blocks = [
        B.title(f"Backtest of {inputs.origin.path and __import__('pathlib').Path(inputs.origin.path).name}: "
                f"the planning loop played through scenario {bt.realised}"),
        B.text(f"Demand is taken to have happened as scenario {bt.realised} of the input. Every {K} week"
               f"{'s' if K != 1 else ''} from week 1 to week {weeks} a plan was made from that week with what had "
               f"happened so far, its staffing decisions for the next {K} week{'s' if K != 1 else ''} were carried "
               f"out, and the work done was re-optimised against the realised cases given the staff in post. "
               f"The forecast at each re-plan: the scenarios {forecast}"
               + (f" (scenario {bt.realised} left out: --exclude-realised)" if bt.exclude_realised else "")
               + ", re-weighted by how well each matched the cases seen so far."),
        B.heading("What each policy cost under the realised demand"),
    ]
    for n in ORDER:
        c = e[n]
        blocks.append(B.bullet(
            f"{NAMES[n].capitalize()} ({runs[n].policy.label}; {len(runs[n].steps)} plan"
            f"{'s' if len(runs[n].steps) != 1 else ''}): {m(c['cash'])} in cash (staff {m(c['contract_staff'] + c['regional_staff'])}, "
            f"onboarding {m(c['onboarding'])}, fixed contract costs {m(c['fixed'])}) and {m(c['lost_value'])} of "
            f"notional lost value (the value of the tasks not done, weighed in the plan but not spent); "
            f"completion share {c['completion_share']:.1%}"
            + ("" if runs[n].evaluation.targets_met else "; the completion targets were NOT met") + "."))
    h = e["hindsight"]["total"]
    blocks += [
        B.text(f"Hindsight ({m(h)} with lost value) is the least any policy could have cost with these inputs. "
               f"The rolling policy cost {m(e['rolling']['total'] - h)} more than hindsight, the one-shot plan "
               f"{m(e['one-shot']['total'] - h)} more; re-planning saved {m(e['one-shot']['total'] - e['rolling']['total'])} "
               "against keeping the plan of week 1."),
        B.blank(),
        B.table(short, {c: ("share" if c == "completion" else "money") for c in short.columns[1:]}),
        B.blank(),
        B.heading("The sheets"),
        B.bullet("comparison: one row per policy, the realised cost by part (cash apart from the notional lost "
                 "value), how much more than hindsight, the completion share; the charts of weekly cash cost and "
                 "FTE in post of the three policies."),
        B.bullet("steps: one row per plan made: the week planned from, the forecast's probabilities, the branch "
                 "implemented (the most probable scenario), the plan's objective (its expected cost from that week "
                 "on) and the seconds it took."),
        B.bullet("weekly: each policy's week under the realised demand: FTE in post by kind, cash cost, lost value, "
                 "tasks demanded and completed."),
        B.bullet("implemented: each policy's staffing week by week, by unit (contract or source) and region: FTE "
                 "in post, starters, leavers, cash cost, and the region's completion share."),
        B.bullet("run: versions, command line, input file and SHA-256, the options and the seconds of each policy."),
        B.heading("How the numbers were made (assumptions)"),
        B.bullet("Forecast weights (assumption, v2.md section 3): pi_w(T) is proportional to pi_w x exp(-0.5 x "
                 "sum over regions and weeks before T of (ln(1 + realised cases) - ln(1 + cases of w))^2 / S^2), "
                 f"with S = {bt.sd:g}; the scenarios' cases of the weeks before T are replaced by the realised "
                 "ones, and each forecast reveals its scenario reveal_week - 1 weeks after T (at most the last week). "
                 "A scenario whose weight falls below one in a million is left out of that plan (assumption: its "
                 "share of the expected cost is negligible, and smaller weights are below the solver's tolerances)."),
        B.bullet("Implemented decisions: a decision for week t with a lead time or notice of l weeks is taken in "
                 "week t - l; every decision taken in the weeks a plan is kept is copied from its branch of the "
                 "forecast's most probable scenario (before the reveal every branch agrees). As in capacity "
                 "replan, a unit-week whose starters were decided also keeps the plan's leavers (and a contract "
                 "week its headcount) even where those were not yet due to be decided."),
        B.bullet("Realised cost: the model of the input with scenario " + bt.realised + " alone and every "
                 "implemented decision fixed; the work (tasks attempted and not) is re-optimised against the "
                 "realised cases given the staff in post. Fixed contract costs count for every contract the "
                 "implemented staffing signs."),
        B.bullet("One-shot plan: the plan of week 1 kept for the whole horizon by the same rule; hindsight: the "
                 f"optimum with scenario {bt.realised} known from week 1 (the only scenario)."),
    ]
    return B.BlockSheet("read_me_first", blocks)


#: the comparison's columns on read_me_first, headers short enough for its narrow columns
_SHORT = {"realised cash cost": "cash", "lost value, notional, not spent": "lost value", "realised cost incl. lost value":
          "total", "more than hindsight": "vs hindsight", "completion share": "completion"}


def _short(comp: pd.DataFrame, cur: str) -> pd.DataFrame:
    out = pd.DataFrame({"policy": comp["policy"]})
    for long, short in _SHORT.items():
        col = long if long == "completion share" else f"{long} ({cur})"
        out[short if long == "completion share" else f"{short} ({cur})"] = comp[col].to_numpy()
    return out


def run_frame(bt: BacktestRun, inputs, started, command_line: str | None) -> pd.DataFrame:
    from capacity.output.provenance import provenance_rows

    rows = provenance_rows(inputs, started, command_line, {})
    rows += [("realised_scenario", bt.realised), ("every_weeks", bt.every),
             ("exclude_realised", "Yes" if bt.exclude_realised else "No"), ("forecast_sd", bt.sd),
             ("forecast_scenarios", ", ".join(bt.forecast)), ("workers", bt.workers),
             ("mip_gap", inputs.settings.mip_gap)]
    for n in ORDER:
        r = bt.runs[n]
        rows += [(f"{n}:plans", len(r.steps)), (f"{n}:seconds", round(r.seconds, 3)),
                 (f"{n}:solver_status", ", ".join(sorted({s.status for s in r.steps}))),
                 (f"{n}:largest_mip_gap", max((s.gap or 0.0) for s in r.steps)),
                 (f"{n}:realised_cost", r.evaluation.costs["total"])]
    rows.append(("seconds_total", round(bt.seconds, 3)))
    return pd.DataFrame(rows, columns=["key", "value"]).astype({"value": object})


def write_workbook(path, bt: BacktestRun, inputs, started, command_line: str | None) -> None:
    cur = inputs.settings.currency
    comp = comparison_frame(bt, cur)
    st = steps_frame(bt, cur, risk.weight(inputs))
    wk = weekly_frame(bt, cur)
    imp = implemented_frame(bt, cur)
    sheets = [
        read_me_first(bt, inputs, comp),
        SheetSpec("comparison", comp, _formats(comp, cur), freeze_cols=1,
                  note="One row per policy: the realised cost of its implemented decisions under the realised "
                       "demand. Cash apart from the notional lost value."),
        SheetSpec("steps", st, {**_formats(st, cur), "step": "int", "plan from week": "int", "implemented to week": "int",
                                "reveal week of the forecast": "int", "MIP gap": "sci"}, freeze_cols=2),
        SheetSpec("weekly", wk, {**_formats(wk, cur), "week": "int"}, freeze_cols=2),
        SheetSpec("implemented", imp, {**_formats(imp, cur), "week": "int"}, freeze_cols=2),
        SheetSpec("run", run_frame(bt, inputs, started, command_line), note="Provenance of this run."),
    ]
    write_report(path, sheets, charts=charts(wk, cur), currency=cur)
