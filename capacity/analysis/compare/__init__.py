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
  cost, CVaR at ``--cvar`` (default: the base's ``settings.cvar_alpha``) of the scenario costs, the expected
  completion
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
  flex_value = RP - that optimum; when it is zero, the measures sheet's
  ``reason`` says why (e.g. "never needed: the base does not sign it");
- built-in variants of every contract whose input status is signed
  (:func:`capacity.analysis.variants.signed_variants`): ``not signed:<c>``
  (status option; a start inside the lead time moves to week 1 + lead_weeks)
  and ``optimum level:<c>`` (the committed level the model would choose; for a
  pre-arranged start, found first by a ``level:<c>`` run with the committed
  level free, then written as committed_fte and solved as a variant);
- runs that differ from the base in ``settings.risk_weight`` or ``cvar_alpha`` (v2 section 4): their
  ``objective`` is still the expected cost (the risk-adjusted optimum is ``risk_objective``), and
  sheet ``frontier`` (:mod:`.frontier`) sets expected cost against CVaR, each at its own level;
- ``break_even:<row>:<n>``: the re-solves of each variant's break-even price
  search (:mod:`.negotiation`), run through the same pool as they are needed.

Negotiation figures per variant (:func:`.negotiation.negotiation_table`):
saving = base expected cost - variant's (positive: the variant saves), saving
per week of term removed, break-even price (found by re-solving), cost per
FTE-week used against price per FTE-week paid; per run and contract in
``contract_use``; every break-even re-solve in ``break_even_runs``; a plain
note per figure in :data:`.negotiation.NOTES`.

Execution: a ``ProcessPoolExecutor`` with one process per core (``--workers``)
and single-threaded HiGHS, or, with ``--scheduler tcp://HOST:PORT``, an
existing Dask distributed cluster (Dask is imported only then). Jobs carry the
validated Inputs (small, picklable) and return a small record (numbers and
short tables), never Pyomo objects. A run that fails is recorded with its
variant and the others go on.

Exit status: 1 if the base input is invalid (InputError, nothing written) or a
``--vary`` or ``--variants`` file cannot be used (one line, nothing written); otherwise the workbook
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
from .frontier import frontier_table
from .negotiation import (NOTES, BreakEven, break_even_runs_table, contract_use_table, negotiation_table,
                          varied_contract)
from .runs import Job, cvar, eev_job, measures, run_job, scenario_costs, stochastic_jobs
from .tables import _comparison, _run_sheet, _scenario_costs, _summary_text, inputs_changed_table, measures_table
from .workbook import write_compare_workbook

__all__ = ["CompareResult", "Job", "compare", "cvar", "eev_job", "measures", "measures_table", "run_job",
           "run_jobs", "scenario_costs", "stochastic_jobs", "write_compare_workbook"]


@dataclass
class _Plan:
    """What the comparison will run: the rows of the comparison table, the jobs,
    the cells each variant edits, the variants that cannot run, and per row what the
    negotiation figures need (its validated inputs, the contract it varies)."""

    rows: list = field(default_factory=lambda: [{"name": "base", "kind": "base", "key": "base", "edits": ""}])
    jobs: list = field(default_factory=list)
    changes: list = field(default_factory=list)
    invalid: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    deferred: dict = field(default_factory=dict)   # 'level:<c>' job key -> (variant, row key)


KINDS = {"--vary": "variant", "experiments": "experiment", "variants file": "variants_file", "builtin": "builtin",
         "flex": "flex"}


def compare(
    input_path: str | Path,
    output: str | Path | None = None,
    *,
    vary: list[str] | tuple = (),
    variants: str | Path | None = None,
    cvar: float | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress = quiet,
    command_line: str | None = None,
    flex: bool = True,
    stochastic: bool = True,
    builtin: bool = False,
    break_even: bool = False,
) -> CompareResult:
    """Compare the base input with its variants under uncertain demand; write the comparison workbook.

    Stages: :func:`_open` (options, output path, read and validate the base),
    :func:`_variant_jobs` (variants as edits, each validated), :func:`run_jobs`
    (solve, with the follow-up runs of :class:`_Follow`), :func:`_result`
    (tables and messages), :func:`_write`.
    ``variants``: a workbook whose ``experiments`` sheet names more variants.
    ``flex``/``stochastic``: also run the flexibility variants / the WS, EV and EEV runs;
    ``builtin``: the ``not signed`` and ``optimum level`` variants of every signed
    contract; ``break_even``: the break-even price of every variant that varies one
    contract (the command line does all of these unless told not to).
    ``cvar``: the level of the CVaR in sheet comparison and the measures; None: the base input's
    ``settings.cvar_alpha`` (0.9 when it has none). The frontier (sheet ``frontier``, :mod:`.frontier`)
    always takes each run's own ``cvar_alpha``, the level its plan was made for.
    """
    started = dt.datetime.now().astimezone()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    input_path, output, raw, base, warnings, asked, from_file = _open(input_path, output, list(vary or []),
                                                                      variants, progress)
    timings["read_s"] = time.perf_counter() - t0
    alpha_from = "--cvar"
    if cvar is None:
        from capacity.model import risk

        cvar = risk.alpha(base)
        alpha_from = "the input's settings cvar_alpha"   # 0.9 when the workbook does not state it
    t0 = time.perf_counter()
    plan = _variant_jobs(raw, base, asked, from_file, cvar, flex=flex, stochastic=stochastic,
                         builtin=builtin, progress=progress)
    timings["variants_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    follow = _Follow(raw, base, plan, cvar, break_even)
    records, executor, n_workers = run_jobs(plan.jobs, follow, workers=workers, scheduler=scheduler,
                                            progress=progress)
    timings["solve_s"] = time.perf_counter() - t0
    for key, text in plan.invalid.items():
        status = plan.meta.get(key, {}).get("error_status", "invalid")
        records[key] = {"key": key, "status": status, "objective": None, "message": text}
    run_info = _run_sheet(base, records.get("base", {}), started, command_line, timings, executor, n_workers,
                          *_processes_and_cpu(records), cvar, records, alpha_from)
    res = _result(base, plan, records, run_info, warnings, cvar, follow.searches)
    _write(res, output, base.settings.currency, cvar, progress)
    return res


def _open(input_path, output, vary: list[str], variants, progress: Progress):
    """Check the options and the output path, read the input once and validate the base; the --vary
    variants, parsed once."""
    from capacity.io import safety
    from capacity.io.output_paths import default_output
    from capacity.analysis import variants as V
    from capacity.io.errors import InputError
    from capacity.io.reader import read_workbook
    from capacity.io.validate import validate_raw

    asked = V.vary_variants(vary)  # syntax first: nothing is read or written for a bad option
    input_path = Path(input_path)
    default = default_output(input_path, "compare")
    output = Path(output) if output is not None else default
    if variants is not None and Path(variants).resolve() == output.resolve():
        raise V.VaryError(f"--variants {variants}: is the output file")
    if output == default:
        safety.make_output_folder(output.parent)
    safety.check_output_path(output, [input_path] + ([Path(variants)] if variants is not None else []))
    progress(f"reading {input_path}")
    raw = read_workbook(input_path)
    base, issues = validate_raw(raw)
    if base is None:
        raise InputError(issues)
    V.check_targets(raw, vary)
    from_file = V.variants_file(variants, raw) if variants is not None else []
    warnings = [str(i) for i in issues]
    return input_path, output, raw, base, warnings, asked, from_file


def _variant_jobs(raw, base: Inputs, asked: list, from_file: list, alpha: float, *, flex: bool,
                  stochastic: bool, builtin: bool = False, progress: Progress = quiet) -> _Plan:
    """The base, the stochastic runs and every variant (``asked``: the --vary variants; the --variants
    file, the experiments sheet, built-in, flexibility) as jobs."""
    from capacity.analysis import variants as V

    from . import frontier as F

    variants = list(asked)
    taken = {"base"} | {v.name for v in variants}
    for extra in (from_file, V.experiment_variants(raw)):
        for v in extra:
            while v.name in taken:
                v.name = f"{v.name} ({v.origin})"
            taken.add(v.name)
            variants.append(v)
    builtins = V.signed_variants(base) if builtin else []
    flexes = V.flex_variants(base.contracts) if flex else []
    progress(f"validating {len(variants)} variant{'s' if len(variants) != 1 else ''}, {len(builtins)} built-in "
             f"and {len(flexes)} flexibility variants")
    plan = _Plan(jobs=[Job("base", "base", "base", base, cvar=alpha, explain=True)])
    sp = stochastic_jobs(base) if stochastic else []
    plan.jobs += sp[:1]  # ev first: the EEV run waits for it
    for v in variants + builtins + flexes:
        kind = KINDS[v.origin]
        key = v.name if v.origin == "flex" else f"{'builtin' if kind == 'builtin' else 'variant'}:{v.name}"
        plan.rows.append({"name": v.name, "kind": kind, "key": key, "edits": V.full_label(v.edits)})
        risk_edit = F.edits_risk(v.edits)
        if v.origin == "flex" and v.name == f"flex:{V.FLEX_ALL}":
            c, why = None, "the variant edits every contract: no single price to vary"
        else:
            c, why = varied_contract(v.edits, base, v.contract)
        plan.meta[key] = {"contract": c, "contract_reason": why, "error_status": v.error_status,
                          "risk_edit": risk_edit, "risk_only": risk_edit and all(
                              e.sheet == "settings" and str(e.id) in F.RISK_KEYS for e in v.edits)}
        if v.deferred and not v.error:   # optimum level: first the solve with the level free
            lkey = f"level:{v.contract}"
            plan.deferred[lkey] = (v, key)
            plan.jobs.append(Job(lkey, "level", f"{v.contract} with its committed level free", base, measures=False,
                                 cvar=alpha, free_level=(v.contract,)))
            continue
        inputs = _variant_inputs(raw, v, key, plan)
        if inputs is not None:
            plan.meta[key]["inputs"] = inputs
            plan.jobs.append(Job(key, kind, v.name, inputs, cvar=alpha, explain=kind != "flex"))
    plan.jobs += sp[1:]
    return plan


class _Follow:
    """The runs that wait for others: the EEV (after the expected-value problem), the
    optimum-level variant (after its free-level solve), and the steps of each
    break-even search (after the base and the variant, then one after another)."""

    def __init__(self, raw, base: Inputs, plan: _Plan, alpha: float, break_even: bool):
        self.raw, self.base, self.plan, self.alpha, self.break_even = raw, base, plan, alpha, break_even
        self.base_rec: dict | None = None
        self.waiting: list = []
        self.searches: dict[str, BreakEven] = {}

    def __call__(self, job: Job, rec: dict) -> list[Job]:
        out: list[Job] = []
        if job.kind == "ev":
            eev = eev_job(self.base, rec)
            out += [eev] if eev is not None else []
        elif job.kind == "level":
            out += self._optimum_level(job, rec)
        elif job.kind == "break_even":
            out += self.searches[job.tag].step(job, rec)
        elif job.key == "base":
            self.base_rec = rec
            for key, r in self.waiting:
                out += self._start(key, r)
            self.waiting = []
        elif job.key in self.plan.meta and self.break_even:
            if self.base_rec is None:
                self.waiting.append((job.key, rec))
            else:
                out += self._start(job.key, rec)
        return out

    def _start(self, key: str, rec: dict) -> list[Job]:
        meta = self.plan.meta[key]
        if not self.break_even or meta.get("contract") is None or "inputs" not in meta:
            return []
        row = next(r for r in self.plan.rows if r["key"] == key)
        search = BreakEven(key, row["name"], meta["contract"], meta["inputs"], cvar=self.alpha)
        self.searches[key] = search
        base_cost = self.base_rec.get("objective") if self.base_rec.get("status") in OK else None
        return search.start(base_cost, rec)

    def _optimum_level(self, job: Job, rec: dict) -> list[Job]:
        from capacity.analysis import variants as V

        v, key = self.plan.deferred[job.key]
        c = v.contract
        if rec.get("status") not in OK:
            self.plan.invalid[key] = (f"the solve with {c}'s committed level free did not solve: "
                                      f"{rec.get('message') or rec.get('status')}")
            return []
        v.edits = [V.optimum_level_edit(self.base, c, rec["levels"][c])]
        row = next(r for r in self.plan.rows if r["key"] == key)
        row["edits"] = V.full_label(v.edits)
        self.plan.meta[key]["free_level_cost"] = rec.get("objective")
        inputs = _variant_inputs(self.raw, v, key, self.plan)
        if inputs is None:
            return []
        self.plan.meta[key]["inputs"] = inputs
        return [Job(key, "builtin", v.name, inputs, cvar=self.alpha, explain=True)]


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
            alpha: float, searches: dict | None = None) -> CompareResult:
    """The comparison's tables, exit status and message."""
    searches = searches or {}
    comparison = _comparison(plan.rows, records, base)
    meas, sp_notes = measures_table(base, records, alpha)
    base_rec = records.get("base", {})
    failed = [(r["name"], records[r["key"]]) for r in plan.rows[1:]
              if records.get(r["key"], {}).get("status") not in OK + ("not built",)]
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
                        message="\n".join(lines + sp_notes),
                        negotiation=negotiation_table(plan.rows, records, plan.meta, searches, base),
                        contract_use=contract_use_table(plan.rows, records, plan.meta, base),
                        break_even_runs=break_even_runs_table(plan.rows, searches), notes=dict(NOTES),
                        frontier=frontier_table(plan.rows, records, plan.meta))
    res.summary_text = _summary_text(comparison, meas, base.settings.currency, alpha, res.negotiation,
                                     res.frontier)
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
