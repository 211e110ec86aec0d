"""`capacity backtest`: the planning loop played through one realised scenario (v2.md section 3).

:mod:`.loop` plays a policy (forecast, re-plan interval) and prices what it implemented under the
realised demand; :func:`run_backtest` runs the three policies of the comparison (the rolling policy
in this process, the one-shot plan and hindsight beside it in a process pool); :mod:`.workbook`
writes the output workbook.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from capacity.analysis.compare.execute import cores
from capacity.io.errors import InputError, Issue
from capacity.io.inputs import Inputs

from .loop import (BacktestFailure, Evaluation, Policy, PolicyRun, Progress, Step, evaluate, forecast_inputs,
                   forecast_weights, most_probable, run_policy, taken_by, weekly)

__all__ = ["BacktestFailure", "BacktestRun", "Evaluation", "Policy", "PolicyRun", "Step", "check_options",
           "evaluate", "forecast_inputs", "forecast_weights", "most_probable", "policies", "run_backtest",
           "run_policy", "taken_by", "weekly", "DEFAULT_SD"]

#: S of the re-weighting when --forecast-sd is not given (v2.md section 3)
DEFAULT_SD = 0.3


@dataclass
class BacktestRun:
    realised: str
    every: int
    exclude_realised: bool
    sd: float
    workers: int
    forecast: tuple
    runs: dict = field(default_factory=dict)     # policy name -> PolicyRun ('rolling', 'one-shot', 'hindsight')
    seconds: float = 0.0


def check_options(inputs: Inputs, realised, every, exclude_realised: bool, sd, workers) -> None:
    """Bad options -> InputError (exit 1, nothing written): an unknown realised scenario, K < 1, a
    non-positive or non-finite S, workers < 1, no forecast scenario left under --exclude-realised."""
    problems = []
    scen = [str(w) for w in inputs.scenarios.index]
    if realised not in inputs.scenarios.index:
        problems.append(f"--realised {realised!r}: no such scenario in the input (scenarios: {', '.join(scen)}; "
                        f"{inputs.origin.cell('scenarios', None)})")
    elif exclude_realised and len(scen) < 2:
        problems.append(f"--exclude-realised: the input has no scenario but {realised!r}, so no forecast would be "
                        "left; add scenarios to the scenarios sheet or drop --exclude-realised")
    if not _is_int(every) or every < 1:
        problems.append(f"--every {every!r}: the re-plan interval must be a whole number of weeks >= 1")
    if isinstance(sd, bool) or not isinstance(sd, (int, float)) or not math.isfinite(sd) or sd <= 0:
        problems.append(f"--forecast-sd {sd!r}: the spread S of the forecast's re-weighting must be a number > 0 "
                        "(the standard deviation of ln(1 + cases); default 0.3)")
    if workers is not None and (not _is_int(workers) or workers < 1):
        problems.append(f"--workers {workers!r}: the number of parallel solves must be a whole number >= 1")
    if inputs.settings.T > 1:
        problems.append(f"the input plans from week {inputs.settings.T} "
                        f"({inputs.origin.cell('settings', 'plan_from_week', 'value')}): a backtest plays the loop "
                        "from week 1 and builds its own history; give the workbook planned from week 1 (its "
                        "history rows of week 1 and later, decisions already taken, are kept)")
    if problems:
        raise InputError([Issue("", "", p) for p in problems])


def _is_int(v) -> bool:
    import numpy as np

    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def policies(inputs: Inputs, realised: str, every: int, exclude_realised: bool,
             forecast: tuple | None = None) -> dict[str, Policy]:
    """The three policies: rolling (re-plans every K weeks), one-shot (the plan of week 1, implemented for
    the whole horizon by the same rule: K = weeks) and hindsight (the realised scenario alone, known from
    week 1). ``forecast`` (the library's, for tests): the forecast's scenarios instead of the input's."""
    weeks = int(inputs.settings.weeks)
    if forecast is None:
        forecast = tuple(str(w) for w in inputs.scenarios.index if not (exclude_realised and w == realised))
    k = min(int(every), weeks)
    return {
        "rolling": Policy("rolling", f"rolling policy: re-plan every {k} week{'s' if k != 1 else ''}",
                          tuple(forecast), k),
        "one-shot": Policy("one-shot", "one-shot plan: the plan of week 1, kept", tuple(forecast), weeks),
        "hindsight": Policy("hindsight", f"hindsight: {realised} known from week 1", (realised,), weeks),
    }


def run_backtest(inputs: Inputs, realised: str, *, every: int = 1, exclude_realised: bool = False,
                 sd: float = DEFAULT_SD, workers: int | None = None, forecast: tuple | None = None,
                 progress: Progress | None = None) -> BacktestRun:
    """Run the three policies; the rolling one here, the one-shot plan and hindsight beside it in worker
    processes (``workers`` solves at once in all; 1: one after another in this process)."""
    check_options(inputs, realised, every, exclude_realised, sd, workers)
    workers = cores() if workers is None else int(workers)
    pol = policies(inputs, realised, every, exclude_realised, forecast)
    out = BacktestRun(realised=realised, every=int(every), exclude_realised=bool(exclude_realised), sd=float(sd),
                      workers=workers, forecast=pol["rolling"].forecast)
    t0 = time.perf_counter()
    say = progress or (lambda _: None)
    beside = ["one-shot", "hindsight"]
    if workers <= 1:
        for name in ["rolling"] + beside:
            say(f"{pol[name].label}")
            out.runs[name] = run_policy(inputs, realised, pol[name], sd, progress=progress)
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(workers - 1, len(beside))) as pool:
            futures = {name: pool.submit(run_policy, inputs, realised, pol[name], sd, threads=1) for name in beside}
            say(f"{pol['rolling'].label}; {' and '.join(pol[n].label for n in beside)} beside it "
                f"({min(workers - 1, len(beside))} worker process{'es' if workers > 2 else ''})")
            out.runs["rolling"] = run_policy(inputs, realised, pol["rolling"], sd, threads=1, progress=progress)
            for name in beside:
                run = futures[name].result()
                for step in run.steps:
                    say(_step_text(step, len(run.steps), inputs.settings.currency))
                out.runs[name] = run
    out.seconds = time.perf_counter() - t0
    return out


def _step_text(step, steps, currency):
    from .loop import step_line

    return step_line(step, steps, currency)
