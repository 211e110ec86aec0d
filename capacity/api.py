"""The library API behind the command line: one function per command.

``plan`` runs the whole pipeline: read and validate -> check the output path
(before the long solve) -> build -> solve -> tidy tables -> audit checks ->
write the output workbook atomically. Tests call these functions directly;
:mod:`capacity.cli` only parses options and prints.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from capacity.io.errors import Issue
from capacity.exitcodes import EXIT_NO_SOLUTION, STATUS_EXIT
from capacity.gcpause import paused_gc
from capacity.io.output_paths import default_output
from capacity.output.provenance import record_write_seconds, run_sheet

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class PlanResult:
    status: str
    exit_code: int
    output: Path | None
    inputs: object = None
    built: object = None
    solve: object = None
    tables: object = None
    checks: pd.DataFrame | None = None
    warnings: list[Issue] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    run_info: pd.DataFrame | None = None
    message: str = ""
    diagnosis: object = None  # capacity.analysis.diagnose.Diagnosis when infeasible
    raw: object = None  # the input as read (capacity.io.reader.RawWorkbook): copied into the output


def plan(
    input_path: str | Path,
    output: str | Path | None = None,
    *,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    progress: Progress = _quiet,
    command_line: str | None = None,
) -> PlanResult:
    """Solve the staffing-mix model for a workbook and write the output workbook.

    Stages: read and validate -> check the output path -> build -> solve ->
    (infeasible: explain and write the diagnosis) -> tables and audit checks
    -> write the plan workbook atomically.
    """
    from capacity.model import build_model
    from capacity.model.solve import solve

    started = dt.datetime.now().astimezone()
    input_path = Path(input_path)
    output = Path(output) if output is not None else default_output(input_path)
    timings: dict[str, float] = {}
    with _timed(timings, "read_s", progress, f"reading {input_path}"):
        raw, inputs, warnings = _read(input_path, output)
    with _timed(timings, "build_s", progress, "building the model"):
        built = build_model(inputs)
    with _timed(timings, "solve_s", progress, f"solving with HiGHS ({_size_text(built)})"):
        result = solve(built, mip_gap=mip_gap, time_limit=time_limit, threads=threads, progress=progress,
                       release=True)
    res = PlanResult(status=result.status, exit_code=STATUS_EXIT.get(result.status, EXIT_NO_SOLUTION), output=None,
                     inputs=inputs, built=built, solve=result, warnings=warnings, timings=timings, raw=raw)
    if result.status not in ("optimal", "feasible"):
        _not_solved(res, output, started, command_line, progress)
        return res
    with _timed(timings, "tables_s", progress, "tabulating results and running checks"):
        _tables_and_checks(res)
    if (res.checks["result"] != "pass").any():
        # a plan that fails its own checks is a wrong plan: it is not written
        res.exit_code = EXIT_NO_SOLUTION
        res.message = _failed_checks_text(res.checks)
        return res
    _write(res, output, started, command_line, progress)
    return res


@contextmanager
def _timed(timings: dict, key: str, progress: Progress, message: str):
    """Time a stage; Python's cyclic collector is paused inside it (capacity/gcpause.py)."""
    t0 = time.perf_counter()
    progress(message)
    with paused_gc():
        yield
    timings[key] = time.perf_counter() - t0


def _read(input_path: Path, output: Path):
    """Read and validate the input, then check that the output can be written (before the long solve)."""
    from capacity.io import safety
    from capacity.io.errors import InputError
    from capacity.io.reader import read_workbook
    from capacity.io.validate import validate_raw

    raw = read_workbook(input_path)
    inputs, warnings = validate_raw(raw)
    if inputs is None:
        raise InputError(warnings)
    if output == default_output(input_path):
        safety.make_output_folder(output.parent)
    safety.check_output_path(output, [input_path])
    return raw, inputs, warnings


def _not_solved(res: PlanResult, output: Path, started, command_line, progress: Progress) -> None:
    """No plan: say why; when infeasible, explain it in input terms and write the diagnostic workbook."""
    from capacity.io import safety

    result, inputs = res.solve, res.inputs
    if res.status != "infeasible":
        res.message = f"no solution: {result.termination}"
        return
    families = ", ".join(getattr(result, "infeasible_families", []) or [])
    res.message = f"the model is infeasible; constraint families involved: {families or 'unknown'}"
    from capacity.analysis.diagnose import diagnose, write_diagnosis

    with _timed(res.timings, "diagnose_s", progress, "explaining the infeasibility in input terms"):
        res.diagnosis = diagnose(inputs, result)
    progress(f"writing the diagnosis to {output}")
    res.run_info = run_sheet(inputs, res.built, result, res.timings, started, command_line)
    safety.atomic_write(output, lambda tmp: write_diagnosis(tmp, res.diagnosis, res.run_info,
                                                            inputs.settings.currency))
    res.output = output


def _tables_and_checks(res: PlanResult) -> None:
    from capacity.analysis.checks import run_checks
    from capacity.output.results import tabulate

    res.tables = tabulate(res.inputs, res.built, res.solve)
    res.checks = run_checks(res.inputs, res.tables.as_dict())


def _write(res: PlanResult, output: Path, started, command_line, progress: Progress) -> None:
    """Write the plan workbook atomically, with the real write time in its run sheet."""
    from capacity.io import safety
    from capacity.output.plan_workbook import write_plan_workbook

    t0 = time.perf_counter()
    progress(f"writing {output}")
    timings = res.timings
    res.run_info = run_info = run_sheet(res.inputs, res.built, res.solve, timings, started, command_line,
                                        write_started=t0)

    def write(tmp):
        write_plan_workbook(tmp, res.inputs, res.tables, res.checks, run_info, raw=res.raw)
        timings["write_s"] = time.perf_counter() - t0
        record_write_seconds(tmp, timings["write_s"])

    with paused_gc():
        safety.atomic_write(output, write)
    run_info.loc[run_info["key"] == "seconds_write", "value"] = round(timings["write_s"], 3)
    res.output = output


def _failed_checks_text(checks: pd.DataFrame) -> str:
    failed = checks[checks["result"] != "pass"]
    parts = [f"{row.check} (largest violation {row.largest_violation:.3g})" if "largest_violation" in failed
             else str(row.check) for row in failed.itertuples(index=False)]
    return ("audit checks failed: " + ", ".join(parts) + "; the solution is not a reliable plan, so no "
            "workbook was written")


def _size_text(built) -> str:
    s = built.stats if hasattr(built, "stats") else {}
    parts = [f"{s[k]:,} {k}" for k in ("variables", "constraints", "binaries") if k in s]
    return ", ".join(parts) or "model built"


@dataclass
class ReplanResult:
    exit_code: int
    output: Path | None
    roll: object = None          # capacity.analysis.replan.Rollforward: history, demand, settings, changes
    warnings: list[Issue] = field(default_factory=list)


def replan(
    input_path: str | Path,
    plan_path: str | Path,
    week: int,
    *,
    scenario: str | None = None,
    actuals: str | Path | None = None,
    output: str | Path | None = None,
    progress: Progress = _quiet,
) -> ReplanResult:
    """Roll the input workbook forward to ``week`` (v2.md section 2): a new input workbook whose
    history is the plan's branch ``scenario`` (or, with ``actuals``, any branch: they agree before
    reveal_week) before ``week`` and the decisions already taken at ``week``, whose demand before
    ``week`` is the realised one in every scenario, with plan_from_week = ``week``; every edited cell is
    listed in its sheet replan_changes (:mod:`capacity.analysis.replan`).

    Bad input or options, or a plan not made from this input, raise InputError; nothing is written.
    The new workbook is validated before it is moved into place (default
    ``outputs/<stem>-from-week-<week>.xlsx``)."""
    from capacity.analysis import replan as rp
    from capacity.io import safety
    from capacity.io.errors import InputError
    from capacity.io.reader import read_workbook
    from capacity.io.validate import validate_raw

    input_path, plan_path = Path(input_path), Path(plan_path)
    actuals = Path(actuals) if actuals is not None else None
    progress(f"reading {input_path}")
    raw = read_workbook(input_path)
    inputs, warnings = validate_raw(raw)
    if inputs is None:
        raise InputError(warnings)
    rp.check_options(inputs, week, scenario, actuals)
    output = Path(output) if output is not None else default_output(input_path, f"from-week-{week}")
    progress(f"reading {plan_path}")
    plan = rp.read_plan(plan_path, input_path, raw.sha256)
    branch = scenario if scenario is not None else rp.actuals_branch(inputs)
    history = rp.history_rows(inputs, plan, week, branch)
    if actuals is not None:
        rp.check_branches_agree(inputs, plan, history, week)
        progress(f"reading {actuals}")
        demand, source = rp.read_actuals(actuals, inputs, week), f"actuals {actuals.name}"
    else:
        demand, source = rp.scenario_demand(inputs, scenario, week), f"scenario {scenario} of the input"
    settings = {"plan_from_week": week, "reveal_week": max(inputs.settings.reveal_week, week)}
    roll = rp.Rollforward(week=week, branch=branch, history=history, demand=demand, demand_source=source,
                          settings=settings)
    if output == default_output(input_path, f"from-week-{week}"):
        safety.make_output_folder(output.parent)
    safety.check_output_path(output, [input_path, plan_path] + ([actuals] if actuals is not None else []))

    def write(tmp):
        rp.write_workbook(input_path, tmp, raw, inputs, roll)
        progress(f"validating the new workbook {output}")
        written, issues = validate_raw(read_workbook(tmp))
        if written is None:
            raise InputError([Issue("", "", f"{output}: the re-planned workbook would not be valid input, "
                                    "so it is not written:")] + issues)
        roll.warnings = issues

    progress(f"writing {output}")
    safety.atomic_write(output, write)
    return ReplanResult(exit_code=0, output=output, roll=roll, warnings=warnings)


@dataclass
class BacktestResult:
    exit_code: int
    output: Path | None
    run: object = None           # capacity.analysis.backtest.BacktestRun: the three policies, steps, evaluations
    warnings: list[Issue] = field(default_factory=list)
    message: str = ""


def backtest(
    input_path: str | Path,
    realised: str,
    *,
    every: int = 1,
    exclude_realised: bool = False,
    forecast_sd: float | None = None,
    workers: int | None = None,
    output: str | Path | None = None,
    forecast: tuple | None = None,
    progress: Progress = _quiet,
    command_line: str | None = None,
) -> BacktestResult:
    """Play the planning loop through the realised demand of scenario ``realised`` (v2.md section 3):
    the rolling policy (re-plan every ``every`` weeks), the one-shot plan and hindsight, each priced under
    the realised demand, written to the backtest workbook (default ``outputs/<stem>-backtest.xlsx``).

    Bad input or options raise InputError (nothing written); a step without a plan, or one failing its own
    checks, gives the exit code of ``plan`` and nothing written. ``forecast`` (tests): the forecast's
    scenarios instead of the input's."""
    from capacity.analysis import backtest as bt
    from capacity.analysis.backtest.workbook import write_workbook
    from capacity.io import safety

    started = dt.datetime.now().astimezone()
    input_path = Path(input_path)
    sd = bt.DEFAULT_SD if forecast_sd is None else forecast_sd
    out = Path(output) if output is not None else default_output(input_path, "backtest")
    progress(f"reading {input_path}")
    raw, inputs, warnings = _read_only(input_path)
    bt.check_options(inputs, realised, every, exclude_realised, sd, workers)
    if out == default_output(input_path, "backtest"):
        safety.make_output_folder(out.parent)
    safety.check_output_path(out, [input_path])
    try:
        run = bt.run_backtest(inputs, realised, every=every, exclude_realised=exclude_realised, sd=sd,
                              workers=workers, forecast=forecast, progress=progress)
    except bt.BacktestFailure as exc:
        return BacktestResult(exit_code=exc.exit_code, output=None, warnings=warnings, message=exc.message)
    progress(f"writing {out}")
    with paused_gc():
        safety.atomic_write(out, lambda tmp: write_workbook(tmp, run, inputs, started, command_line))
    return BacktestResult(exit_code=0, output=out, run=run, warnings=warnings)


def _read_only(input_path: Path):
    """Read and validate an input workbook (InputError when it is not valid)."""
    from capacity.io.errors import InputError
    from capacity.io.reader import read_workbook
    from capacity.io.validate import validate_raw

    raw = read_workbook(input_path)
    inputs, warnings = validate_raw(raw)
    if inputs is None:
        raise InputError(warnings)
    return raw, inputs, warnings
