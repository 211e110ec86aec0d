"""The `capacity` command line: a thin shell over the library API.

Exit statuses (outputs.md): 0 success, 1 invalid input, 3 infeasible,
4 no solution within the limit or solver failure (5: audit mismatch).
Errors go to stderr without a traceback unless --debug is given.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from capacity import __version__
from capacity.io.errors import InputError, file_error, one_line

from capacity.exitcodes import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_NO_SOLUTION


class CapacityGroup(click.Group):
    """Turns library errors into messages and exit statuses."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InputError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            for issue in exc.issues:
                click.echo(str(issue), err=True)
            n = len(exc.errors)
            click.echo(f"{n} error{'s' if n != 1 else ''}; nothing written.", err=True)
            ctx.exit(EXIT_INPUT)
        except KeyboardInterrupt:
            click.echo("interrupted; nothing written.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:  # an internal error: one line, not a traceback
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(one_line(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)"),
                       err=True)
            ctx.exit(EXIT_NO_SOLUTION)


@click.group(cls=CapacityGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="capacity")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def main(ctx, debug):
    """Staffing-mix optimisation for surge casework services."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


@main.command()
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--example", type=click.Choice(["small"]), help="Write a complete example instead of a blank workbook.")
@click.option("--weeks", type=click.IntRange(1, 520), default=26, show_default=True,
              help="Week columns in a blank template.")
@click.option("--force", is_flag=True, help="Overwrite OUT if it exists.")
def template(out: Path, example: str | None, weeks: int, force: bool):
    """Write a blank input workbook (or a named example) to OUT."""
    from capacity.io import safety
    from capacity.io.examples import write_example
    from capacity.io.workbook import write_input_workbook

    if out.exists() and not force:
        raise file_error(f"{out}: already exists; use --force to overwrite it")
    safety.check_output_path(out)
    if example:
        safety.atomic_write(out, lambda tmp: write_example(example, tmp))
    else:
        safety.atomic_write(out, lambda tmp: write_input_workbook(tmp, weeks=weeks,
                                                                  title="capacity input workbook (blank)"))
    click.echo(f"wrote {one_line(out)}")


@main.command()
@click.argument("workbook", type=click.Path(path_type=Path))
def validate(workbook: Path):
    """Check WORKBOOK against the input schema; print every problem as sheet!CELL: message."""
    from capacity.io.validate import read_inputs

    inputs, issues = read_inputs(workbook)
    for issue in issues:
        click.echo(str(issue), err=True)
    warnings = len(issues)
    s = inputs.settings
    click.echo(
        f"{one_line(workbook)}: valid ({len(inputs.regions)} regions, {s.weeks} weeks, {len(inputs.scenarios)} scenarios, "
        f"{len(inputs.sources)} sources, {len(inputs.contracts)} contracts; "
        f"{warnings} warning{'s' if warnings != 1 else ''})"
    )


def _progress(start: float):
    import time

    def report(message: str) -> None:
        click.echo(one_line(f"[{time.perf_counter() - start:6.1f}s] {message}"), err=True)

    return report


@main.command()
@click.argument("workbook", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Output workbook (default outputs/<input stem>-plan.xlsx).")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), help="Solver time limit in seconds.")
@click.option("--mip-gap", type=click.FloatRange(0, 1, max_open=True), help="Relative MIP gap.")
@click.option("--threads", type=click.IntRange(min=1), help="Solver threads.")
@click.pass_context
def plan(ctx, workbook: Path, output: Path | None, time_limit, mip_gap, threads):
    """Solve the staffing-mix model for WORKBOOK and write the output workbook."""
    import time

    from capacity import api

    start = time.perf_counter()
    res = api.plan(workbook, output, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                   progress=_progress(start), command_line=" ".join(["capacity"] + sys.argv[1:]))
    for issue in res.warnings:
        click.echo(str(issue), err=True)
    if res.tables is not None and res.output is not None:  # a plan that failed its checks is not shown
        click.echo(_summary_text(res))
    if res.message:
        click.echo(res.message, err=True)
    for line in getattr(res.diagnosis, "lines", None) or []:
        click.echo(line, err=True)
    if res.output is not None:
        click.echo(f"wrote {one_line(res.output)} ({time.perf_counter() - start:.1f}s)", err=True)
    else:
        click.echo("nothing written.", err=True)
    ctx.exit(res.exit_code)


def _summary_text(res) -> str:
    """The short summary table printed on stdout: cash apart from notional lost value, the range
    across scenarios, and one status word per contract."""
    from capacity.output.results import scenario_costs

    t = res.tables
    s = dict(zip(t.summary["key"], t.summary["value"]))
    cur = s.get("currency", "")

    def money(x):
        return f"{cur} {x:,.0f}"

    rows = [("status", s["status"]), ("objective (expected cost)", money(s["objective"])),
            ("  expected cash cost", money(s["expected_cash_cost"]))]
    rows += [(f"    staff: {key.split(':', 1)[1]}", money(value)) for key, value in s.items()
             if key.startswith("expected_cost:")]
    rows += [("    fixed contract costs", money(s["fixed_cost"])),
             ("  lost value (notional, not spent)", money(s["expected_lost_value"])),
             ("expected completion share", f"{s['expected_completion_share']:.1%}")]
    if getattr(res.inputs.settings, "plan_from_week", 1) > 1:   # v2: the objective is the cost to go
        rows[1] = (f"objective (expected cost from week {res.inputs.settings.plan_from_week})", rows[1][1])
        rows.insert(-1, ("sunk before then (history, not in the objective)", money(s.get("sunk_cost", 0.0))))
    lam = float(s.get("risk_weight") or 0.0)
    if lam > 0:   # v2 section 4: the objective mixes the expected cost with the CVaR
        a = float(s["cvar_alpha"])
        rows[1] = (f"objective ({1 - lam:g} x expected cost + {lam:g} x CVaR {a:g})", rows[1][1])
        rows.insert(2, ("expected cost", money(s["expected_total_cost"])))
    if "cvar" in s and len(t.risk) > 1:
        rows.append((f"CVaR {s['cvar_alpha']:g} (expected cost of the worst {1 - float(s['cvar_alpha']):.0%})",
                     money(s["cvar"])))
    sc = scenario_costs(res.inputs, t.plan, t.coverage, t.contracts)
    if len(sc) > 1:
        cash = sc["total"] - sc["lost_value"]
        worst = int(sc["total"].to_numpy().argmax())
        rows.append(("cash cost by scenario", f"{money(cash.min())} to {money(cash.max())}"))
        rows.append(("worst scenario", f"{sc['scenario'].iat[worst]}: {money(sc['total'].iat[worst])} "
                                       f"(cash {money(cash.iat[worst])})"))
    for row in t.contracts.itertuples(index=False):
        util = "-" if row.expected_utilisation != row.expected_utilisation else f"{row.expected_utilisation:.1%}"
        level = f"committed {row.committed_fte:,.0f} FTE for its initial term" if row.committed_fte > 0.5 \
            else "no committed level"
        rows.append((f"contract {row.contract}", f"{row.status}, {level}, expected utilisation {util}"
                     if row.signed else f"{row.status}"))
    if t.plan.empty or float(t.plan["fte"].abs().max()) == 0.0:
        rows.append(("staffing", "nobody (no FTE in any week or scenario)"))
    width = max(len(k) for k, _ in rows) + 2
    lines = [f"{k:<{width}}{v}" for k, v in rows]
    return "\n".join(lines)


@main.command()
@click.argument("workbook", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Comparison workbook (default outputs/<input stem>-compare.xlsx).")
@click.option("--vary", "vary", multiple=True, metavar="SHEET:ID:COLUMN=V1,V2,...",
              help="Values for one input cell (settings: settings:KEY=V1,...), or for several cells of one row at "
                   "once: SHEET:ID:{COLUMN1,COLUMN2}=A1/B1,A2/B2 (one variant per group); several --vary form "
                   "their product.")
@click.option("--variants", "variants", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.xlsx",
              help="A workbook whose 'experiments' sheet (variant, sheet, id, column, value) names more variants; "
                   "rows of one variant form one variant.")
@click.option("--builtin/--no-builtin", default=True, show_default=True,
              help="Also compare, for every signed contract, 'not signed:<contract>' (offered, not signed) and "
                   "'optimum level:<contract>' (signed at the level the model would choose).")
@click.option("--break-even/--no-break-even", "break_even", default=True, show_default=True,
              help="Find, by re-solving, each variant's break-even price (the contract price at which it costs "
                   "what the base costs).")
@click.option("--cvar", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Level of the CVaR of scenario costs in sheet comparison and the measures (default: the "
                   "input's settings cvar_alpha, 0.9 when it has none). Sheet frontier always uses each run's "
                   "own cvar_alpha.")
@click.option("--workers", type=click.IntRange(min=1), help="Parallel solves (default: one per core).")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="Run the solves on an existing Dask cluster.")
@click.pass_context
def compare(ctx, workbook: Path, output: Path | None, vary, variants, builtin, break_even, cvar, workers, scheduler):
    """Compare contract terms and other input variants against uncertain demand."""
    import time

    from capacity.analysis import compare as cmp

    start = time.perf_counter()
    res = cmp.compare(workbook, output, vary=list(vary), variants=variants, cvar=cvar, workers=workers,
                      scheduler=scheduler, builtin=builtin, break_even=break_even, progress=_progress(start),
                      command_line=" ".join(["capacity"] + sys.argv[1:]))
    if res.summary_text:
        click.echo(res.summary_text)
    if res.message:
        click.echo(res.message, err=True)
    click.echo(f"wrote {one_line(res.output)}" if res.output else "nothing written.", err=True)
    ctx.exit(res.exit_code)


@main.command()
@click.argument("workbook", type=click.Path(path_type=Path))
@click.option("--plan", "plan_path", required=True, type=click.Path(path_type=Path), metavar="PLAN.xlsx",
              help="The plan workbook that capacity plan wrote for WORKBOOK (its run sheet's SHA-256 is checked).")
@click.option("--week", "week", required=True, type=int, metavar="T",
              help="The week the new plan starts from: weeks before T become history.")
@click.option("--scenario", metavar="W", help="The realised scenario: the plan's branch and the demand of WORKBOOK.")
@click.option("--actuals", type=click.Path(path_type=Path), metavar="ACT.xlsx",
              help="A workbook whose demand sheet holds the realised cases (columns region, 1, 2, ...; one row per "
                   "region), instead of --scenario; T must be at most reveal_week.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="New input workbook (default outputs/<input stem>-from-week-T.xlsx).")
@click.pass_context
def replan(ctx, workbook: Path, plan_path: Path, week: int, scenario, actuals, output):
    """Roll WORKBOOK forward to week T: a new input workbook with the plan's history before T (and the
    decisions already taken at T), the realised demand before T and plan_from_week = T, to review, edit
    and plan. Every edited cell is listed in its sheet replan_changes."""
    import time

    from capacity import api

    start = time.perf_counter()
    res = api.replan(workbook, plan_path, week, scenario=scenario, actuals=actuals, output=output,
                     progress=_progress(start))
    for issue in res.warnings + res.roll.warnings:
        click.echo(str(issue), err=True)
    click.echo(_replan_text(res))
    click.echo(f"wrote {one_line(res.output)} ({time.perf_counter() - start:.1f}s)", err=True)
    ctx.exit(res.exit_code)


def _replan_text(res) -> str:
    """What the new workbook holds, in a few lines."""
    roll = res.roll
    h, T = roll.history, roll.week
    past, decided = h[h["phase"] == "history"], h[h["phase"] == "decided"]
    by_sheet: dict[str, int] = {}
    for ch in roll.changes:
        by_sheet[ch.sheet] = by_sheet.get(ch.sheet, 0) + 1
    lines = [f"history: {len(past):,} rows for weeks 1 to {T - 1} from the plan's scenario {roll.branch}"
             if T > 1 else "history: no week before week 1",
             f"         {len(decided):,} rows of decisions already taken when week {T} begins "
             "(within lead and notice times)",
             f"demand: weeks 1 to {T - 1} set to the {roll.demand_source} in every scenario "
             f"({by_sheet.get('demand', 0):,} cells changed)" if T > 1 else "demand: unchanged",
             ", ".join(f"settings: {k} = {v}" if i == 0 else f"{k} = {v}" for i, (k, v) in
                       enumerate(roll.settings.items())),
             f"{len(roll.changes):,} cells changed, each listed in the sheet replan_changes; review the workbook, "
             f"edit it (headcounts in post, new forecasts), then: capacity plan {one_line(res.output)}"]
    return "\n".join(lines)


@main.command()
@click.argument("workbook", type=click.Path(path_type=Path))
@click.option("--realised", required=True, metavar="W", help="The scenario of WORKBOOK taken as what happened.")
@click.option("--every", "every", type=int, default=1, show_default=True, metavar="K",
              help="Re-plan every K weeks (K greater than the horizon: the one-shot plan).")
@click.option("--exclude-realised", is_flag=True, help="Leave W out of the forecasts (the planner did not know it).")
@click.option("--forecast-sd", type=float, metavar="S",
              help="Spread of the forecast re-weighting: the standard deviation of ln(1 + cases) (default 0.3).")
@click.option("--workers", type=int, metavar="N", help="Parallel solves (default: one per core).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Backtest workbook (default outputs/<input stem>-backtest.xlsx).")
@click.pass_context
def backtest(ctx, workbook: Path, realised, every, exclude_realised, forecast_sd, workers, output):
    """Play the planning loop through the realised demand of scenario W: re-plan every K weeks, carry out each
    plan's decisions, and compare the realised cost with the one-shot plan and with hindsight."""
    import time

    from capacity import api

    start = time.perf_counter()
    res = api.backtest(workbook, realised, every=every, exclude_realised=exclude_realised, forecast_sd=forecast_sd,
                       workers=workers, output=output, progress=_progress(start),
                       command_line=" ".join(["capacity"] + sys.argv[1:]))
    for issue in res.warnings:
        click.echo(str(issue), err=True)
    if res.run is not None:
        click.echo(_backtest_text(res.run))
    if res.message:
        click.echo(res.message, err=True)
    click.echo(f"wrote {one_line(res.output)} ({time.perf_counter() - start:.1f}s)" if res.output
               else "nothing written.", err=True)
    ctx.exit(res.exit_code)


def _backtest_text(run) -> str:
    """The three-way comparison, one line per policy."""
    from capacity.analysis.backtest.workbook import NAMES, ORDER

    cur = next(iter(run.runs.values())).evaluation.inputs.settings.currency
    hind = run.runs["hindsight"].evaluation.costs["total"]
    lines = [f"realised scenario {run.realised}; forecast {', '.join(run.forecast)}; re-plan every {run.every} "
             f"week{'s' if run.every != 1 else ''}",
             f"{'policy':<16}{'plans':>6}{'cash cost':>20}{'lost value':>18}{'total':>20}{'vs hindsight':>18}"
             f"{'completion':>12}"]
    for n in ORDER:
        r = run.runs[n]
        e = r.evaluation.costs
        lines.append(f"{NAMES[n]:<16}{len(r.steps):>6}{cur + ' ' + format(e['cash'], ',.0f'):>20}"
                     f"{format(e['lost_value'], ',.0f'):>18}{cur + ' ' + format(e['total'], ',.0f'):>20}"
                     f"{format(e['total'] - hind, '+,.0f'):>18}{e['completion_share']:>12.1%}"
                     + ("" if r.evaluation.targets_met else "  (completion targets NOT met)"))
    return "\n".join(lines)


@main.command()
@click.argument("output", type=click.Path(path_type=Path))
@click.option("--input", "input_path", type=click.Path(path_type=Path),
              help="The input workbook (default: the file named in the run sheet, beside OUTPUT or in inputs/).")
@click.option("--report", "report", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write what was checked and found (digests, steps, tolerances and their origin) to "
                   "FILE: .xlsx, or .md / .txt for text.")
@click.option("--all", "all_runs", is_flag=True,
              help="A compare workbook: re-solve every run (and the WS, EV and EEV runs), not a sample (a plan or "
                   "backtest workbook is always re-solved whole).")
@click.pass_context
def audit(ctx, output: Path, input_path: Path | None, report: Path | None, all_runs: bool):
    """Re-check an output workbook (of plan, compare or backtest) against its input without trusting it: exit 0
    verified, 5 mismatch."""
    import time

    from capacity.analysis import audit as aud

    start = time.perf_counter()
    res = aud.audit(output, input_path, progress=_progress(start), report=report, all_runs=all_runs)
    for line in res.lines:
        click.echo(line)
    if res.report_path is not None:
        click.echo(f"wrote {one_line(res.report_path)}", err=True)
    ctx.exit(res.exit_code)


@main.command()
@click.argument("output", type=click.Path(path_type=Path))
@click.argument("cell", metavar="SHEET!CELL")
@click.option("--depth", type=click.IntRange(1, 50), default=10, show_default=True,
              help="Follow references at most this many levels down.")
@click.pass_context
def explain(ctx, output: Path, cell: str, depth: int):
    """Print how a figure of a plan workbook is derived, back to the input cells (e.g. plan!O2)."""
    from capacity.analysis.explain import explain as derive

    try:
        lines = derive(output, cell, max_depth=depth).lines()
    except InputError as exc:  # a bad reference or file: its one line, exit 1
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        ctx.exit(EXIT_INPUT)
    for line in lines:
        click.echo(line)


if __name__ == "__main__":  # pragma: no cover
    main()
