"""``capacity compare``: what contract flexibility (or any input change) is worth.

Pipeline: parse the ``--vary`` options -> check the output path -> read the
input workbook once -> validate the base -> build the variants as edits of
the raw workbook (:mod:`capacity.analysis.variants`) and validate each -> solve every
run in parallel -> tabulate the measures -> write the comparison workbook
atomically.

Runs (each one independent solve, all with ``mip_gap = 0`` so that
differences between runs are not solver noise; the workbook's time limit
still applies):

- ``base`` (the stochastic optimum RP) and every variant, with measures:
  expected cost and its parts, the cost in each scenario, the worst scenario
  cost, CVaR at ``--cvar`` of the scenario costs, the expected completion
  share, each contract's expected utilisation and the first stage (contracts
  signed, committed levels);
- ``ws:<scenario>``: each scenario alone (probability 1), for WS = sum of
  pi * optimum (wait-and-see) and EVPI = RP - WS;
- ``ev``: the expected-value problem (one scenario ``mean``, the
  probability-weighted demand), whose first-stage decisions (y, L and the
  non-anticipative Ninc/Ndec/O/X of formulation.md eq 14) are then fixed in
  the stochastic problem: ``eev``; VSS = EEV - RP. If the expected-value
  plan is infeasible in some scenario, EEV = VSS = inf and the measures sheet
  says so;
- ``flex:<contract>`` / ``flex:all``: the base with that contract's (every
  contract's) lock-in removed (:func:`capacity.analysis.variants.flex_edits`);
  flex_value = RP - that optimum.

Execution: a ``ProcessPoolExecutor`` with one process per core (``--workers``)
and single-threaded HiGHS, or, with ``--scheduler tcp://HOST:PORT``, an
existing Dask distributed cluster (Dask is imported only then). Jobs carry the
validated Inputs (small, picklable) and return a small record (numbers and
short tables), never Pyomo objects. A run that fails is recorded with its
variant and the others go on.

Exit status: 1 if the base input is invalid (InputError, nothing written) or a
``--vary`` cannot be used (one line, nothing written); otherwise the workbook
is written and the status is the base's: 0 if the base solved (even when
some variants are invalid, infeasible or failed: they are listed in the
``status``/``message`` columns of sheet ``comparison`` and in ``message``),
3 if the base is infeasible, 4 if it has no solution.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from capacity.exitcodes import EXIT_NO_SOLUTION, STATUS_EXIT
from capacity.io.inputs import Inputs

from .common import OK, SHOWN_ERRORS, CompareResult, Progress, quiet
from .execute import run_jobs
from .runs import Job, cvar, eev_job, measures, run_job, scenario_costs, stochastic_jobs
from .tables import (_comparison, _run_sheet, _scenario_costs, _summary_text, inputs_changed_table, measures_table,
                     write_compare_workbook)

__all__ = ["CompareResult", "Job", "compare", "cvar", "eev_job", "measures", "measures_table", "run_job",
           "run_jobs", "scenario_costs", "stochastic_jobs", "write_compare_workbook"]


@dataclass
class _Plan:
    """What the comparison will run: the rows of the comparison table, the jobs,
    the cells each variant edits, and the variants that cannot run."""

    rows: list = field(default_factory=lambda: [{"name": "base", "kind": "base", "key": "base"}])
    jobs: list = field(default_factory=list)
    changes: list = field(default_factory=list)
    invalid: dict = field(default_factory=dict)


def compare(
    input_path: str | Path,
    output: str | Path | None = None,
    *,
    vary: list[str] | tuple = (),
    cvar: float = 0.9,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress = quiet,
    command_line: str | None = None,
    flex: bool = True,
    stochastic: bool = True,
) -> CompareResult:
    """Compare the base input with its variants under uncertain demand; write the comparison workbook.

    Stages: :func:`_open` (options, output path, read and validate the base),
    :func:`_variant_jobs` (variants as edits, each validated), :func:`run_jobs`
    (solve), :func:`_result` (tables and messages), :func:`_write`.
    ``flex``/``stochastic``: also run the flexibility variants / the WS, EV
    and EEV runs (the command line always does).
    """
    started = dt.datetime.now().astimezone()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    input_path, output, raw, base, warnings = _open(input_path, output, list(vary or []), progress)
    timings["read_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan = _variant_jobs(raw, base, list(vary or []), cvar, flex=flex, stochastic=stochastic, progress=progress)
    timings["variants_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    records, executor, n_workers = run_jobs(plan.jobs, lambda ev: eev_job(base, ev), workers=workers,
                                            scheduler=scheduler, progress=progress)
    timings["solve_s"] = time.perf_counter() - t0
    for key, text in plan.invalid.items():
        records[key] = {"key": key, "status": "invalid", "objective": None, "message": text}
    run_info = _run_sheet(base, records.get("base", {}), started, command_line, timings, executor, n_workers,
                          *_processes_and_cpu(records), cvar, records)
    res = _result(base, plan, records, run_info, warnings, cvar)
    _write(res, output, base.settings.currency, cvar, progress)
    return res


def _open(input_path, output, vary: list[str], progress: Progress):
    """Check the options and the output path, read the input once and validate the base."""
    from capacity.io import safety
    from capacity.io.output_paths import default_output
    from capacity.analysis import variants as V
    from capacity.io.errors import InputError
    from capacity.io.reader import read_workbook
    from capacity.io.validate import validate_raw

    for spec in vary:
        V.parse_vary(spec)  # syntax first: nothing is read or written for a bad option
    input_path = Path(input_path)
    default = default_output(input_path, "compare")
    output = Path(output) if output is not None else default
    if output == default:
        safety.make_output_folder(output.parent)
    safety.check_output_path(output, [input_path])
    progress(f"reading {input_path}")
    raw = read_workbook(input_path)
    base, issues = validate_raw(raw)
    if base is None:
        raise InputError(issues)
    V.check_targets(raw, vary)
    warnings = [str(i) for i in issues]
    return input_path, output, raw, base, warnings


def _variant_jobs(raw, base: Inputs, vary: list[str], alpha: float, *, flex: bool, stochastic: bool,
                  progress: Progress) -> _Plan:
    """The base, the stochastic runs and every variant (--vary, experiments sheet, flexibility) as jobs."""
    from capacity.analysis import variants as V

    variants = V.vary_variants(vary)
    taken = {"base"} | {v.name for v in variants}
    for v in V.experiment_variants(raw):
        while v.name in taken:
            v.name = f"{v.name} (experiments)"
        taken.add(v.name)
        variants.append(v)
    flexes = V.flex_variants(base.contracts) if flex else []
    progress(f"validating {len(variants)} variant{'s' if len(variants) != 1 else ''} and {len(flexes)} "
             "flexibility variants")
    plan = _Plan(jobs=[Job("base", "base", "base", base, cvar=alpha, explain=True)])
    sp = stochastic_jobs(base) if stochastic else []
    plan.jobs += sp[:1]  # ev first: the EEV run waits for it
    for v in variants + flexes:
        kind = {"--vary": "variant", "experiments": "experiment", "flex": "flex"}[v.origin]
        key = v.name if v.origin == "flex" else f"variant:{v.name}"
        plan.rows.append({"name": v.name, "kind": kind, "key": key})
        inputs = _variant_inputs(raw, v, key, plan)
        if inputs is not None:
            plan.jobs.append(Job(key, kind, v.name, inputs, cvar=alpha, explain=kind != "flex"))
    plan.jobs += sp[1:]
    return plan


def _variant_inputs(raw, v, key: str, plan: _Plan) -> Inputs | None:
    """The variant's edits applied and validated like an input; None (recorded as invalid) if it cannot run."""
    from capacity.analysis import variants as V
    from capacity.io.errors import ERROR
    from capacity.io.validate import validate_raw

    if v.error:
        plan.invalid[key] = v.error
        return None
    try:
        edited, made = V.apply_edits(raw, v)
    except V.EditError as exc:
        plan.invalid[key] = str(exc)
        return None
    inputs, found = validate_raw(edited)
    for ch in made:
        ch.read_value = V.read_back(inputs, ch) if inputs is not None else None
    plan.changes += made
    if inputs is None:
        errors = [str(i) for i in found if i.level == ERROR]
        more = f" (+{len(errors) - SHOWN_ERRORS} more)" if len(errors) > SHOWN_ERRORS else ""
        plan.invalid[key] = "invalid: " + "; ".join(errors[:SHOWN_ERRORS]) + more
    return inputs


def _processes_and_cpu(records: dict) -> tuple[int, float]:
    pids = {(r.get("host"), r.get("pid")) for r in records.values() if r.get("pid") is not None}
    cpu = sum(r.get("seconds", 0.0) or 0.0 for r in records.values() if isinstance(r.get("seconds"), float)
              and not math.isnan(r["seconds"]))
    return len(pids), cpu


def _result(base: Inputs, plan: _Plan, records: dict, run_info: pd.DataFrame, warnings: list[str],
            alpha: float) -> CompareResult:
    """The comparison's tables, exit status and message."""
    comparison = _comparison(plan.rows, records, base)
    meas, sp_notes = measures_table(base, records, alpha)
    base_rec = records.get("base", {})
    failed = [(r["name"], records[r["key"]]) for r in plan.rows[1:]
              if records.get(r["key"], {}).get("status") not in OK]
    failed += [(k, rec) for k, rec in records.items() if rec.get("kind") in ("ws", "ev", "eev")
               and rec.get("status") not in OK]
    base_status = base_rec.get("status", "error")
    lines = list(warnings)
    if base_status not in OK:
        lines.append(f"base: {base_rec.get('message') or base_status}")
    if failed:
        lines.append(f"{len(failed)} run{'s' if len(failed) != 1 else ''} did not solve:")
        lines += [f"  {name}: {rec.get('message') or rec.get('status')}" for name, rec in failed]
    res = CompareResult(exit_code=STATUS_EXIT.get(base_status, EXIT_NO_SOLUTION), output=None,
                        comparison=comparison, scenario_costs=_scenario_costs(plan.rows, records), measures=meas,
                        inputs_changed=inputs_changed_table(plan.changes), run_info=run_info, records=records,
                        message="\n".join(lines + sp_notes))
    res.summary_text = _summary_text(comparison, meas, base.settings.currency, alpha)
    return res


def _write(res: CompareResult, output: Path, currency: str, alpha: float, progress: Progress) -> None:
    """Write the comparison workbook atomically, with the real write time in its run sheet."""
    from capacity.io import safety
    from capacity.output.provenance import WRITE_SECONDS_SENTINEL, record_write_seconds

    t0 = time.perf_counter()
    progress(f"writing {output}")
    run_info = res.run_info
    write_row = run_info["key"] == "seconds_write"
    run_info.loc[write_row, "value"] = WRITE_SECONDS_SENTINEL

    def write(tmp):
        write_compare_workbook(tmp, res, currency, alpha)
        record_write_seconds(tmp, time.perf_counter() - t0)

    safety.atomic_write(output, write)
    run_info.loc[write_row, "value"] = round(time.perf_counter() - t0, 3)
    res.output = output
