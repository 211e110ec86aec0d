"""``capacity compare``: what contract flexibility (or any input change) is worth.

Pipeline: parse the ``--vary`` options -> check the output path -> read the
input workbook once -> validate the base -> build the variants as edits of
the raw workbook (:mod:`capacity.variants`) and validate each -> solve every
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
  contract's) lock-in removed (:func:`capacity.variants.flex_edits`);
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
import os
import socket
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from capacity.inputs import Inputs

Progress = Callable[[str], None]
OK = ("optimal", "feasible")
SHOWN_ERRORS = 3


def _quiet(_: str) -> None:
    pass


@dataclass
class CompareResult:
    exit_code: int
    output: Path | None
    summary_text: str = ""
    message: str = ""
    comparison: pd.DataFrame | None = None
    scenario_costs: pd.DataFrame | None = None
    measures: pd.DataFrame | None = None
    inputs_changed: pd.DataFrame | None = None
    run_info: pd.DataFrame | None = None
    records: dict = field(default_factory=dict)

    def measure(self, key: str):
        m = self.measures
        hit = m.loc[m["key"] == key, "value"]
        return hit.iloc[0] if len(hit) else None


# ============================================================ the jobs
@dataclass
class Job:
    """One solve, sent to a worker process (picklable: Inputs are plain frames)."""

    key: str                 # unique: 'base', 'variant:<name>', 'ws:<w>', 'ev', 'eev', 'flex:<c>'
    kind: str                # base | variant | experiment | flex | ws | ev | eev
    name: str
    inputs: Inputs
    fixed: dict | None = None
    measures: bool = True    # full measures (tables) or the optimum only
    first_stage: bool = False
    explain: bool = False    # name the infeasible constraint families
    cvar: float = 0.9
    mip_gap: float = 0.0


def run_job(job: Job) -> dict:
    """Build, solve and measure one run; never raises (a failure is a record)."""
    from capacity.model import build_model, first_stage_values
    from capacity.solve import solve

    t0 = time.perf_counter()
    rec: dict[str, Any] = {"key": job.key, "kind": job.kind, "name": job.name, "pid": os.getpid(),
                           "host": socket.gethostname(), "status": "error", "objective": None, "message": ""}
    try:
        built = build_model(job.inputs, fixed=job.fixed)
        res = solve(built, mip_gap=job.mip_gap, threads=1, duals=False, _explain=job.explain)
        rec.update(status=res.status, termination=res.termination, objective=res.objective, gap=res.gap,
                   parts=dict(res.objective_parts),
                   stats={k: res.stats.get(k) for k in ("variables", "constraints", "nonzeros", "binaries",
                                                        "solve_s", "solver_version")})
        if res.status == "infeasible":
            fams = ", ".join(res.infeasible_families or [])
            rec["message"] = "infeasible" + (f"; constraint families involved: {fams}" if fams else "")
        elif res.status not in OK:
            rec["message"] = f"no solution: {res.termination}"
        else:
            if job.measures:
                rec.update(measures(job.inputs, built, res, job.cvar))
            if job.first_stage:
                rec["first_stage"] = first_stage_values(built, res.values)
    except Exception as exc:  # reported with the run; the other runs go on
        rec.update(status="error", message=f"{type(exc).__name__}: {exc}")
    rec["seconds"] = time.perf_counter() - t0
    return rec


def measures(inputs: Inputs, built, res, alpha: float) -> dict:
    """Expected cost parts, scenario costs, worst, CVaR, completion, contracts."""
    from capacity.results import tabulate

    tables = tabulate(inputs, built, res)
    sc = scenario_costs(inputs, tables)
    worst = int(np.argmax(sc["total"].to_numpy())) if len(sc) else None
    summary = dict(zip(tables.summary["key"], tables.summary["value"]))
    con = tables.contracts
    return {
        "scenario_costs": sc.to_dict("records"),
        "worst": float(sc["total"].iloc[worst]) if worst is not None else None,
        "worst_scenario": sc["scenario"].iloc[worst] if worst is not None else None,
        "cvar": cvar(sc["total"], sc["probability"], alpha),
        "completion_share": float(summary["expected_completion_share"]),
        "contracts": [{"contract": r.contract, "signed": bool(r.signed), "committed_fte": float(r.committed_fte),
                       "utilisation": None if pd.isna(r.expected_utilisation) else float(r.expected_utilisation)}
                      for r in con.itertuples(index=False)],
        "scenario_check": abs(float((sc["total"] * sc["probability"]).sum()) - float(res.objective)),
    }


def scenario_costs(inputs: Inputs, tables) -> pd.DataFrame:
    """Per scenario w: the cost if w happens (fixed + staff + onboarding + lost value).

    From the tidy tables (the figures the plan workbook shows); the
    probability-weighted total equals the objective.
    """
    from capacity.results import EXPECTED

    scen = list(inputs.scenarios.index)
    plan = tables.plan[tables.plan["scenario"] != EXPECTED]
    contract = plan["kind"] == "contractor"
    regional = plan[~contract]
    onb = regional["onboarded"].to_numpy() * regional["unit"].map(inputs.sources["onboarding_cost"]).to_numpy(
        dtype=float)
    cov = tables.coverage[tables.coverage["scenario"] != EXPECTED]
    lost = cov["lost"].to_numpy() * cov["work_type"].map(inputs.work_types["value_per_task"]).to_numpy(dtype=float)

    def by_scenario(frame_scen, values):
        return pd.Series(values, index=frame_scen.to_numpy()).groupby(level=0).sum().reindex(scen).fillna(0.0)

    out = pd.DataFrame({"scenario": scen, "probability": inputs.scenarios["probability"].to_numpy(dtype=float)})
    out["fixed"] = float(tables.contracts["fixed_cost"].sum())
    out["contract_staff"] = by_scenario(plan.loc[contract, "scenario"],
                                        plan.loc[contract, "cost"].to_numpy()).to_numpy()
    onboarding = by_scenario(regional["scenario"], onb)
    out["regional_staff"] = (by_scenario(regional["scenario"], regional["cost"].to_numpy()) - onboarding).to_numpy()
    out["onboarding"] = onboarding.to_numpy()
    out["lost_value"] = by_scenario(cov["scenario"], lost).to_numpy()
    out["total"] = out[["fixed", "contract_staff", "regional_staff", "onboarding", "lost_value"]].sum(axis=1)
    done = by_scenario(cov["scenario"], cov["completed"].to_numpy())
    demand = by_scenario(cov["scenario"], cov["demand"].to_numpy())
    d = demand.to_numpy()
    out["completion_share"] = np.where(d > 1e-9, done.to_numpy() / np.maximum(d, 1e-300), 1.0)
    return out


def cvar(costs, probabilities, alpha: float) -> float:
    """CVaR_alpha of a discrete cost distribution (Rockafellar–Uryasev).

    The expected cost in the worst ``1 - alpha`` of probability: costs are
    taken from the highest down until that mass is filled, the last atom
    only in part. ``alpha = 0`` gives the expectation; alpha -> 1 the worst.
    """
    x = np.asarray(costs, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    if len(x) == 0:
        return math.nan
    if not 0 <= alpha < 1:
        raise ValueError("alpha must lie in [0, 1)")
    tail = 1.0 - alpha
    order = np.argsort(-x, kind="stable")
    taken, total = 0.0, 0.0
    for i in order:
        take = min(p[i], tail - taken)
        if take <= 0:
            break
        total += take * x[i]
        taken += take
    return total / taken if taken > 0 else float(x.max())


# ------------------------------------------------- problems derived from the base
def single_scenario(inputs: Inputs, scenario) -> Inputs:
    """The input with only ``scenario``, at probability 1 (a wait-and-see problem)."""
    sc = inputs.scenarios.loc[[scenario]].copy()
    sc["probability"] = 1.0
    dm = inputs.demand[inputs.demand["scenario"] == scenario].reset_index(drop=True)
    return replace(inputs, scenarios=sc, demand=dm)


def expected_value_problem(inputs: Inputs, name: str = "mean") -> Inputs:
    """One scenario ``mean`` whose cases are the probability-weighted cases."""
    pi = inputs.scenarios["probability"]
    dm = inputs.demand.assign(cases=inputs.demand["cases"].to_numpy(dtype=float)
                              * inputs.demand["scenario"].map(pi).to_numpy(dtype=float))
    mean = dm.groupby(["region", "week"], sort=False)["cases"].sum().reset_index()
    mean.insert(0, "scenario", name)
    sc = pd.DataFrame({"probability": [1.0], "description": ["probability-weighted demand"]},
                      index=pd.Index([name], name=inputs.scenarios.index.name))
    return replace(inputs, scenarios=sc, demand=mean[["scenario", "region", "week", "cases"]])


def stochastic_jobs(base: Inputs) -> list[Job]:
    """The expected-value problem (``ev``) and one wait-and-see run per scenario (``ws:<w>``)."""
    jobs = [Job("ev", "ev", "expected-value problem", expected_value_problem(base), measures=False,
                first_stage=True)]
    jobs += [Job(f"ws:{w}", "ws", f"scenario {w} alone", single_scenario(base, w), measures=False)
             for w in base.scenarios.index]
    return jobs


def eev_job(base: Inputs, ev: dict) -> Job | None:
    """The stochastic problem with the ``ev`` record's first stage fixed (None if EV did not solve)."""
    if ev.get("status") not in OK or "first_stage" not in ev:
        return None
    return Job("eev", "eev", "expected-value first stage in the stochastic problem", base,
               fixed=ev["first_stage"], measures=False)


# ============================================================ executors
class _Local:
    def __init__(self, workers: int):
        from concurrent.futures import ProcessPoolExecutor

        self.workers = workers
        self.pool = ProcessPoolExecutor(max_workers=workers)
        self.label = f"local: {workers} worker process{'es' if workers != 1 else ''}"

    def submit(self, job: Job):
        return self.pool.submit(run_job, job)

    def wait(self, pending):
        from concurrent.futures import FIRST_COMPLETED, wait

        return wait(pending, return_when=FIRST_COMPLETED).done

    def close(self, pending: list) -> None:
        self.pool.shutdown(wait=True, cancel_futures=bool(pending))


class _Dask:
    def __init__(self, address: str):
        import click

        try:
            import distributed
        except ImportError:
            raise click.ClickException("--scheduler needs Dask distributed: pip install 'capacity[dask]'") from None
        self.distributed = distributed
        try:
            self.client = distributed.Client(address, timeout="20s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise click.ClickException(f"--scheduler {address}: cannot connect ({exc})") from None
        self.workers = max(1, sum(self.client.nthreads().values()))
        self.label = f"dask: {address} ({len(self.client.nthreads())} workers, {self.workers} threads)"
        self._tag = f"{os.getpid()}-{time.time_ns()}"

    def submit(self, job: Job):
        return self.client.submit(run_job, job, pure=False, key=f"capacity-compare-{self._tag}-{job.key}")

    def wait(self, pending):
        with self.client.as_current():  # wait() uses the current client; ours is not the default
            return set(self.distributed.wait(list(pending), return_when="FIRST_COMPLETED").done)

    def close(self, pending: list) -> None:
        if pending:
            self.client.cancel(pending)
        self.client.close()


def _bar(done: int, total: int, width: int = 20) -> str:
    filled = int(round(width * done / total)) if total else width
    return "[" + "#" * filled + "-" * (width - filled) + f"] {done}/{total}"


def run_jobs(jobs: list[Job], eev_of: Callable[[dict], Job | None], *, workers: int | None = None,
             scheduler: str | None = None, progress: Progress = _quiet) -> tuple[dict, str, int]:
    """Run ``jobs`` in parallel; when the ``ev`` job finishes, ``eev_of(record)`` adds the EEV job.

    Returns ({job key: record}, executor label, workers).
    """
    runner = _Dask(scheduler) if scheduler else _Local(workers or _cores())
    records: dict[str, dict] = {}
    pending: dict = {}
    total = len(jobs) + sum(1 for j in jobs if j.kind == "ev")
    progress(f"solving {total} runs ({runner.label})")
    for job in jobs:
        pending[runner.submit(job)] = job
    done = 0
    try:
        while pending:
            for fut in runner.wait(set(pending)):
                job = pending.pop(fut)
                try:
                    rec = fut.result()
                except Exception as exc:  # a worker died or the cluster failed this task
                    rec = {"key": job.key, "kind": job.kind, "name": job.name, "status": "error", "objective": None,
                           "message": f"{type(exc).__name__}: {exc}", "seconds": math.nan}
                records[job.key] = rec
                done += 1
                text = rec["status"] if rec["objective"] is None else f"{rec['status']}, {rec['objective']:,.0f}"
                progress(f"{_bar(done, total)} {job.key}: {text} ({rec.get('seconds', math.nan):.1f}s)")
                if job.kind == "ev":
                    follow = eev_of(rec)
                    if follow is None:
                        total -= 1
                    else:
                        pending[runner.submit(follow)] = follow
    finally:  # normally nothing is pending; after an interrupt the rest is cancelled
        runner.close(list(pending))
    return records, runner.label, runner.workers


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# ============================================================ the command
def compare(
    input_path: str | Path,
    output: str | Path | None = None,
    *,
    vary: list[str] | tuple = (),
    cvar: float = 0.9,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress = _quiet,
    command_line: str | None = None,
    flex: bool = True,
    stochastic: bool = True,
) -> CompareResult:
    """Compare the base input with its variants under uncertain demand; write the comparison workbook.

    ``flex``/``stochastic``: also run the flexibility variants / the WS, EV
    and EEV runs (the command line always does).
    """
    from capacity import api, safety
    from capacity import variants as V
    from capacity.errors import ERROR, InputError
    from capacity.reader import read_workbook
    from capacity.validate import validate_raw

    alpha = cvar
    started = dt.datetime.now().astimezone()
    timings: dict[str, float] = {}
    vary = list(vary or [])
    for spec in vary:
        V.parse_vary(spec)  # syntax first: nothing is read or written for a bad option
    input_path = Path(input_path)
    output = Path(output) if output is not None else api.default_output(input_path, "compare")
    if output == api.default_output(input_path, "compare"):
        safety.make_output_folder(output.parent)
    safety.check_output_path(output, [input_path])

    t0 = time.perf_counter()
    progress(f"reading {input_path}")
    raw = read_workbook(input_path)
    base, issues = validate_raw(raw)
    if base is None:
        raise InputError(issues)
    # compare reads the experiments sheet, so the plan's "ignored" warning does not apply here
    warnings = [str(i) for i in issues if not (i.sheet == "experiments" and "ignored by the model" in i.message)]
    V.check_targets(raw, vary)
    timings["read_s"] = time.perf_counter() - t0

    # ---- variants: edits of the raw workbook, each validated like an input
    t0 = time.perf_counter()
    variants = V.vary_variants(vary)
    taken = {"base"} | {v.name for v in variants}
    for v in V.experiment_variants(raw):
        while v.name in taken:
            v.name = f"{v.name} (experiments)"
        taken.add(v.name)
        variants.append(v)
    flex = V.flex_variants(base.contracts) if flex else []
    progress(f"validating {len(variants)} variant{'s' if len(variants) != 1 else ''} and {len(flex)} "
             "flexibility variants")
    rows: list[dict] = [{"name": "base", "kind": "base", "key": "base"}]
    changes: list = []
    jobs = [Job("base", "base", "base", base, cvar=alpha, explain=True)]
    sp = stochastic_jobs(base) if stochastic else []
    jobs += sp[:1]  # ev first: the EEV run waits for it
    invalid: dict[str, str] = {}
    for v in variants + flex:
        kind = {"--vary": "variant", "experiments": "experiment", "flex": "flex"}[v.origin]
        key = v.name if v.origin == "flex" else f"variant:{v.name}"
        rows.append({"name": v.name, "kind": kind, "key": key})
        if v.error:
            invalid[key] = v.error
            continue
        try:
            edited, made = V.apply_edits(raw, v)
        except V.EditError as exc:
            invalid[key] = str(exc)
            continue
        inputs, found = validate_raw(edited)
        for ch in made:
            ch.read_value = V.read_back(inputs, ch) if inputs is not None else None
        changes += made
        if inputs is None:
            errors = [str(i) for i in found if i.level == ERROR]
            more = f" (+{len(errors) - SHOWN_ERRORS} more)" if len(errors) > SHOWN_ERRORS else ""
            invalid[key] = "invalid: " + "; ".join(errors[:SHOWN_ERRORS]) + more
            continue
        jobs.append(Job(key, kind, v.name, inputs, cvar=alpha, explain=kind != "flex"))
    jobs += sp[1:]
    timings["variants_s"] = time.perf_counter() - t0

    # ---- solve everything
    t0 = time.perf_counter()

    records, executor, n_workers = run_jobs(jobs, lambda ev: eev_job(base, ev), workers=workers,
                                            scheduler=scheduler, progress=progress)
    timings["solve_s"] = time.perf_counter() - t0
    for key, text in invalid.items():
        records[key] = {"key": key, "status": "invalid", "objective": None, "message": text}

    # ---- tables
    comparison = _comparison(rows, records, base)
    scen = _scenario_costs(rows, records)
    meas, sp_notes = measures_table(base, records, alpha)
    changed = pd.DataFrame([{"variant": c.variant, "sheet": c.sheet, "cell": c.cell, "id": c.id,
                             "column": c.column, "old_value": c.old_value, "new_value": c.new_value,
                             "value_read": c.read_value, "note": c.note} for c in changes],
                           columns=["variant", "sheet", "cell", "id", "column", "old_value", "new_value",
                                    "value_read", "note"])
    for col in ("old_value", "new_value", "value_read"):  # mixed numbers and text: one object column
        changed[col] = changed[col].astype(object)
    base_rec = records.get("base", {})
    pids = {(r.get("host"), r.get("pid")) for r in records.values() if r.get("pid") is not None}
    cpu = sum(r.get("seconds", 0.0) or 0.0 for r in records.values() if isinstance(r.get("seconds"), float)
              and not math.isnan(r["seconds"]))
    run_info = _run_sheet(base, base_rec, started, command_line, timings, executor, n_workers, len(pids), cpu,
                          alpha, records)

    # ---- summary and status
    failed = [(r["name"], records[r["key"]]) for r in rows[1:] if records.get(r["key"], {}).get("status") not in OK]
    failed += [(k, rec) for k, rec in records.items() if rec.get("kind") in ("ws", "ev", "eev")
               and rec.get("status") not in OK]
    base_status = base_rec.get("status", "error")
    exit_code = api.STATUS_EXIT.get(base_status, api.EXIT_NO_SOLUTION)
    lines = list(warnings)
    if base_status not in OK:
        lines.append(f"base: {base_rec.get('message') or base_status}")
    if failed:
        lines.append(f"{len(failed)} run{'s' if len(failed) != 1 else ''} did not solve:")
        lines += [f"  {name}: {rec.get('message') or rec.get('status')}" for name, rec in failed]
    lines += sp_notes
    res = CompareResult(exit_code=exit_code, output=None, comparison=comparison, scenario_costs=scen,
                        measures=meas, inputs_changed=changed, run_info=run_info, records=records,
                        message="\n".join(lines))
    res.summary_text = _summary_text(comparison, meas, base.settings.currency, alpha)

    # ---- write
    t0 = time.perf_counter()
    progress(f"writing {output}")
    write_row = run_info["key"] == "seconds_write"
    run_info.loc[write_row, "value"] = api.WRITE_SECONDS_SENTINEL

    def write(tmp):
        write_compare_workbook(tmp, res, base.settings.currency, alpha)
        api.record_write_seconds(tmp, time.perf_counter() - t0)

    safety.atomic_write(output, write)
    run_info.loc[write_row, "value"] = round(time.perf_counter() - t0, 3)
    res.output = output
    return res


# ============================================================ tables
PART_COLUMNS = {"cost_fixed": "fixed", "cost_contract_staff": "contract staff",
                "cost_regional_staff": "regional staff", "cost_onboarding": "onboarding",
                "cost_lost": "lost value"}


def _comparison(rows: list[dict], records: dict, base: Inputs) -> pd.DataFrame:
    contracts = list(base.contracts.index)
    base_obj = records.get("base", {}).get("objective")
    out = []
    for row in rows:
        rec = records.get(row["key"], {"status": "error", "objective": None, "message": "not run"})
        r: dict[str, Any] = {"variant": row["name"], "kind": row["kind"], "status": rec.get("status"),
                             "expected_cost": rec.get("objective")}
        r["change_vs_base"] = (rec["objective"] - base_obj if rec.get("objective") is not None
                               and base_obj is not None else None)
        for part in PART_COLUMNS:
            r[part] = (rec.get("parts") or {}).get(part)
        r["worst_scenario_cost"] = rec.get("worst")
        r["worst_scenario"] = rec.get("worst_scenario")
        r["cvar"] = rec.get("cvar")
        r["expected_completion_share"] = rec.get("completion_share")
        by_c = {c["contract"]: c for c in rec.get("contracts", [])}
        for c in contracts:
            r[f"utilisation:{c}"] = by_c.get(c, {}).get("utilisation")
        for c in contracts:
            r[f"signed:{c}"] = by_c.get(c, {}).get("signed")
        for c in contracts:
            r[f"committed_fte:{c}"] = by_c.get(c, {}).get("committed_fte")
        r["mip_gap"] = rec.get("gap")
        r["seconds"] = rec.get("seconds")
        r["message"] = rec.get("message", "")
        out.append(r)
    df = pd.DataFrame(out)
    for col in df.columns:
        if col.startswith("signed:"):
            df[col] = df[col].astype(object)
    return df


def _scenario_costs(rows: list[dict], records: dict) -> pd.DataFrame:
    frames = []
    for row in rows:
        sc = records.get(row["key"], {}).get("scenario_costs")
        if sc:
            frames.append(pd.DataFrame(sc).assign(variant=row["name"]))
    cols = ["variant", "scenario", "probability", "fixed", "contract_staff", "regional_staff", "onboarding",
            "lost_value", "total", "completion_share"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def measures_table(base: Inputs, records: dict, alpha: float) -> tuple[pd.DataFrame, list[str]]:
    """Key/value: rp, ws, evpi, ev, eev, vss, flex values (and the WS parts)."""
    rows: list[tuple[str, Any, str]] = []
    notes = []

    def obj(key):
        rec = records.get(key, {})
        return rec.get("objective") if rec.get("status") in OK else None

    rp = obj("base")
    pi = base.scenarios["probability"]
    ws_parts = {w: obj(f"ws:{w}") for w in base.scenarios.index}
    ws = sum(pi[w] * v for w, v in ws_parts.items()) if all(v is not None for v in ws_parts.values()) else None
    ev, eev_rec = obj("ev"), records.get("eev", {})
    eev = obj("eev")
    eev_note = "stochastic problem with the expected-value problem's first stage fixed (y, L, eq 14 decisions)"
    if eev is None and records.get("ev", {}).get("status") in OK and eev_rec.get("status") == "infeasible":
        eev = math.inf
        eev_note = ("the expected-value plan's first stage is infeasible in the stochastic problem "
                    "(some scenario cannot be served with it): EEV = VSS = inf")
        notes.append("EEV: " + eev_note)
    rows.append(("rp", rp, "RP: optimum of the stochastic problem (the base)"))
    rows.append(("ws", ws, "WS: each scenario solved alone, probability-weighted (wait-and-see)"))
    rows.append(("evpi", None if rp is None or ws is None else rp - ws,
                 "EVPI = RP - WS: expected value of perfect information"))
    rows.append(("ev", ev, "EV: optimum of the expected-value problem (demand averaged over scenarios)"))
    rows.append(("eev", eev, eev_note))
    rows.append(("vss", None if rp is None or eev is None else eev - rp,
                 "VSS = EEV - RP: value of the stochastic solution"))
    for c in list(base.contracts.index) + ["all"]:
        key = f"flex:{c}"
        if key not in records:
            continue
        v = obj(key)
        what = "every contract's" if c == "all" else f"contract {c}'s"
        note = f"RP - optimum with {what} lock-in removed (see inputs_changed)"
        if v is None:
            note = f"not available: {records[key].get('message') or records[key].get('status')}"
        rows.append((f"flex_value:{c}", None if rp is None or v is None else rp - v, note))
    rows.append(("cvar_alpha", alpha, "level of the CVaR column of sheet comparison"))
    for w, v in ws_parts.items():
        rows.append((f"ws:{w}", v, f"optimum with scenario {w} alone (probability {pi[w]:g})"))
    df = pd.DataFrame(rows, columns=["key", "value", "note"])
    df["value"] = [("inf" if isinstance(v, float) and math.isinf(v) else v) for v in df["value"]]
    df["value"] = df["value"].astype(object)
    return df, notes


def _run_sheet(base: Inputs, base_rec: dict, started, command_line, timings, executor, n_workers, processes,
               cpu_s, alpha, records) -> pd.DataFrame:
    from capacity import api

    stats = base_rec.get("stats") or {}
    rows = api.provenance_rows(base, started, command_line, stats, extra_versions=("distributed",))
    rows += [
        ("executor", executor),
        ("workers", n_workers),
        ("worker_processes_used", processes),
        ("runs", len(records)),
        ("runs_not_solved", sum(1 for r in records.values() if r.get("status") not in OK)),
        ("mip_gap_requested", 0.0),
        ("cvar_alpha", alpha),
    ]
    rows += [
        ("seconds_read", round(timings.get("read_s", math.nan), 3)),
        ("seconds_variants", round(timings.get("variants_s", math.nan), 3)),
        ("seconds_solve", round(timings.get("solve_s", math.nan), 3)),
        ("seconds_solve_all_runs", round(cpu_s, 3)),
        ("seconds_write", None),
        ("solver", f"HiGHS {stats.get('solver_version', '')}".strip()),
        ("solver_status", base_rec.get("status")),
        ("termination_message", base_rec.get("termination", base_rec.get("message"))),
        ("objective", base_rec.get("objective")),
    ]
    df = pd.DataFrame(rows, columns=["key", "value"])
    df["value"] = df["value"].astype(object)
    return df


# ============================================================ output
def write_compare_workbook(path, res: CompareResult, currency: str, alpha: float) -> None:
    from capacity.report import ChartSpec, SheetSpec, write_report

    comp = res.comparison
    money = {c: "money" for c in comp.columns if c in ("expected_cost", "change_vs_base", "worst_scenario_cost",
                                                       "cvar") or c in PART_COLUMNS}
    fmt = {**money, "expected_completion_share": "share", "mip_gap": "number", "seconds": "number"}
    fmt.update({c: "share" for c in comp.columns if c.startswith("utilisation:")})
    fmt.update({c: "fte" for c in comp.columns if c.startswith("committed_fte:")})
    sc_fmt = {c: "money" for c in ("fixed", "contract_staff", "regional_staff", "onboarding", "lost_value", "total")}
    sc_fmt.update(probability="share", completion_share="share")
    meas = res.measures
    row_formats = {k: "money" for k in meas["key"] if k not in ("cvar_alpha",)}
    row_formats["cvar_alpha"] = "number"
    sheets = [
        SheetSpec("comparison", comp, fmt, note=(
            "One row per run: base, variants, and flex:<contract> (the base with that contract's lock-in "
            f"removed). Expected cost and its parts; worst scenario cost; cvar = CVaR at alpha = {alpha:g} of "
            "the scenario costs; expected utilisation, signing and committed level of each contract. "
            "All solves exact (mip_gap 0).")),
        SheetSpec("scenario_costs", res.scenario_costs, sc_fmt,
                  note="Cost of each run if each scenario happens (fixed + staff + onboarding + lost value)."),
        SheetSpec("measures", meas, row_formats=row_formats,
                  note="Stochastic-programming measures of the base (RP, WS, EVPI, EEV, VSS) and the value "
                       "of each contract's flexibility. Charts: expected cost and utilisation by variant."),
        SheetSpec("inputs_changed", res.inputs_changed,
                  note="Every cell edited for each variant: old value, new value, and the value the validated "
                       "variant holds (value_read)."),
        SheetSpec("run", res.run_info, note="Provenance of this run."),
    ]
    charts = []
    solved = comp[comp["expected_cost"].notna()]
    if len(solved):
        parts = solved[["variant"] + list(PART_COLUMNS)].rename(columns=PART_COLUMNS)
        charts.append(ChartSpec("measures", "E2", "column_stacked", "Expected cost by variant", parts,
                                y_title=currency, x_title="variant"))
        util_cols = [c for c in solved.columns if c.startswith("utilisation:")]
        if util_cols:
            util = solved[["variant"] + util_cols].rename(columns=lambda c: c.split(":", 1)[1] if ":" in c else c)
            util = util.fillna(0.0).infer_objects()
            charts.append(ChartSpec("measures", "E22", "column", "Expected contract utilisation by variant", util,
                                    y_title="utilisation", x_title="variant", y_format="share"))
    write_report(path, sheets, charts=charts, currency=currency)


def _summary_text(comp: pd.DataFrame, meas: pd.DataFrame, currency: str, alpha: float) -> str:
    def money(x):
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return "-"
        if isinstance(x, str) or math.isinf(x):
            return str(x)
        return f"{currency} {0.0 if abs(x) < 0.5 else x:,.0f}"

    head = ("variant", "status", "expected cost", "worst scenario", f"CVaR {alpha:g}", "completion")
    body = []
    for r in comp.itertuples(index=False):
        share = "-" if r.expected_completion_share is None or pd.isna(r.expected_completion_share) \
            else f"{r.expected_completion_share:.1%}"
        body.append((r.variant, r.status, money(r.expected_cost), money(r.worst_scenario_cost), money(r.cvar), share))
    widths = [max(len(str(x[i])) for x in [head] + body) for i in range(len(head))]
    lines = []
    for i, row in enumerate([head] + body):
        cells = [str(row[0]).ljust(widths[0]), str(row[1]).ljust(widths[1])]
        cells += [str(v).rjust(w) for v, w in zip(row[2:], widths[2:])]
        lines.append("  ".join(cells))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append("")
    labels = {"rp": "RP  (stochastic optimum)", "ws": "WS  (wait-and-see)", "evpi": "EVPI = RP - WS",
              "ev": "EV  (expected-value problem)", "eev": "EEV (EV first stage, all scenarios)",
              "vss": "VSS = EEV - RP"}
    kv = [(labels.get(k, k.replace("flex_value:", "flex value: ")), money(v)) for k, v in
          zip(meas["key"], meas["value"]) if k in labels or k.startswith("flex_value:")]
    w = max(len(k) for k, _ in kv)
    lines += [f"{k.ljust(w)}  {v}" for k, v in kv]
    return "\n".join(lines)
