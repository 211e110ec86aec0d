"""The library API behind the command line: one function per command.

``plan`` runs the whole pipeline: read and validate -> check the output path
(before the long solve) -> build -> solve -> tidy tables -> audit checks ->
write the output workbook atomically. Tests call these functions directly;
:mod:`capacity.cli` only parses options and prints.
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from capacity import __version__
from capacity.errors import Issue
from capacity.exitcodes import EXIT_NO_SOLUTION, STATUS_EXIT
from capacity.results import EXPECTED

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
    diagnosis: object = None  # capacity.diagnose.Diagnosis when infeasible


def default_output(input_path: Path, suffix: str = "plan") -> Path:
    return Path("outputs") / f"{Path(input_path).stem}-{suffix}.xlsx"


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
    """Solve the staffing-mix model for a workbook and write the output workbook."""
    from capacity import safety
    from capacity.checks import run_checks
    from capacity.model import build_model
    from capacity.results import tabulate
    from capacity.solve import solve
    from capacity.validate import read_inputs

    started = dt.datetime.now().astimezone()
    input_path = Path(input_path)
    output = Path(output) if output is not None else default_output(input_path)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    progress(f"reading {input_path}")
    inputs, warnings = read_inputs(input_path)
    timings["read_s"] = time.perf_counter() - t0
    if output == default_output(input_path):
        safety.make_output_folder(output.parent)
    safety.check_output_path(output, [input_path])

    t0 = time.perf_counter()
    progress("building the model")
    built = build_model(inputs)
    timings["build_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    progress(f"solving with HiGHS ({_size_text(built)})")
    result = solve(built, mip_gap=mip_gap, time_limit=time_limit, threads=threads)
    timings["solve_s"] = time.perf_counter() - t0
    status = result.status
    res = PlanResult(status=status, exit_code=STATUS_EXIT.get(status, EXIT_NO_SOLUTION), output=None, inputs=inputs,
                     built=built, solve=result, warnings=warnings, timings=timings)
    if status not in ("optimal", "feasible"):
        families = ", ".join(getattr(result, "infeasible_families", []) or [])
        res.message = (f"the model is infeasible; constraint families involved: {families or 'unknown'}"
                       if status == "infeasible" else f"no solution: {result.termination}")
        if status == "infeasible":
            # explain it in input terms and write a diagnostic workbook (sheet `infeasibility`)
            from capacity.diagnose import diagnose, write_diagnosis

            t0 = time.perf_counter()
            progress("explaining the infeasibility in input terms")
            res.diagnosis = diagnose(inputs, result)
            timings["diagnose_s"] = time.perf_counter() - t0
            progress(f"writing the diagnosis to {output}")
            res.run_info = run_sheet(inputs, built, result, timings, started, command_line)
            safety.atomic_write(output, lambda tmp: write_diagnosis(tmp, res.diagnosis, res.run_info,
                                                                    inputs.settings.currency))
            res.output = output
        return res

    t0 = time.perf_counter()
    progress("tabulating results and running checks")
    tables = tabulate(inputs, built, result)
    checks = run_checks(inputs, tables.as_dict())
    timings["tables_s"] = time.perf_counter() - t0
    res.tables, res.checks = tables, checks
    if (checks["result"] != "pass").any():
        # a plan that fails its own checks is a wrong plan: it is not written
        res.exit_code = EXIT_NO_SOLUTION
        res.message = _failed_checks_text(checks)
        return res

    t0 = time.perf_counter()
    progress(f"writing {output}")
    run_info = run_sheet(inputs, built, result, timings, started, command_line, write_started=t0)
    res.run_info = run_info
    def write(tmp):
        write_plan_workbook(tmp, inputs, tables, checks, run_info)
        timings["write_s"] = time.perf_counter() - t0
        record_write_seconds(tmp, timings["write_s"])

    safety.atomic_write(output, write)
    run_info.loc[run_info["key"] == "seconds_write", "value"] = round(timings["write_s"], 3)
    res.output = output
    return res


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


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"capacity": __version__, "python": platform.python_version()}
    for dist in ("pyomo", "highspy", "pandas", "numpy", "openpyxl", "XlsxWriter", "python-calamine"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def provenance_rows(inputs, started: dt.datetime, command_line: str | None, stats: dict,
                    extra_versions: tuple[str, ...] = ()) -> list[tuple[str, object]]:
    """The rows every `run` sheet starts with: versions, command line, start
    time, input file and SHA-256, platform and model size."""
    from importlib.metadata import PackageNotFoundError, version

    rows = [(f"version:{k}", v) for k, v in versions().items()]
    for dist in extra_versions:
        try:
            rows.append((f"version:{dist}", version(dist)))
        except PackageNotFoundError:
            rows.append((f"version:{dist}", "not installed"))
    rows += [
        ("command_line", command_line or " ".join(["capacity"] + sys.argv[1:])),
        ("start_time", started.isoformat(timespec="seconds")),
        ("input_file", Path(inputs.origin.path).name),
        ("input_sha256", inputs.origin.sha256),
        ("platform", platform.platform()),
    ]
    rows += [(f"model_{key}", stats.get(key)) for key in ("variables", "constraints", "nonzeros", "binaries")]
    return rows


def run_sheet(inputs, built, result, timings: dict, started: dt.datetime, command_line: str | None,
              write_started: float | None = None) -> pd.DataFrame:
    """Provenance of the run (outputs.md sheet `run`)."""
    stats = dict(getattr(built, "stats", {}) or {})
    stats.update({k: v for k, v in (result.stats or {}).items() if k not in stats})
    rows = provenance_rows(inputs, started, command_line, stats)
    for key in ("read_s", "build_s", "solve_s", "tables_s"):
        rows.append((f"seconds_{key[:-2]}", round(timings.get(key, float("nan")), 3)))
    if write_started is not None:
        rows.append(("seconds_write", WRITE_SECONDS_SENTINEL))
    rows += [
        ("solver", f"HiGHS {stats.get('solver_version', '')}".strip()),
        ("solver_status", result.status),
        ("termination_message", result.termination),
        ("objective", result.objective),
        ("best_bound", result.bound),
        ("mip_gap", result.gap),
    ]
    return pd.DataFrame(rows, columns=["key", "value"])


# The run sheet states how long writing the workbook took, which is known only
# after the file is saved: the cell holds this sentinel, and the saved sheet's
# XML is patched with the measured seconds (every other part is copied as is).
WRITE_SECONDS_SENTINEL = -987654321.25  # written by XlsxWriter as <v>-987654321.25</v>


def record_write_seconds(path, seconds: float) -> None:
    import os
    import shutil
    import zipfile

    needle = f"<v>{WRITE_SECONDS_SENTINEL}</v>".encode()
    patched = f"{Path(path)}.patch"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            with src.open(info) as fh:
                data = fh.read()
            if info.filename.startswith("xl/worksheets/") and needle in data:
                data = data.replace(needle, f"<v>{round(seconds, 3)}</v>".encode())
            dst.writestr(info, data)
    shutil.copymode(path, patched)
    os.replace(patched, path)


def write_plan_workbook(path, inputs, tables, checks: pd.DataFrame, run_info: pd.DataFrame) -> None:
    """The output workbook of outputs.md, with the summary's three charts."""
    from capacity.report import SheetSpec, write_report

    t = tables
    fte = {c: "fte" for c in ("fte", "onboarded", "exits", "committed_fte")}
    money = {c: "money" for c in ("cost", "fixed_cost", "expected_cost")}
    hours = {c: "hours" for c in ("paid_hours", "productive_hours", "task_hours", "training_hours",
                                  "supervision_hours", "expected_paid_hours", "expected_task_hours")}
    share = {c: "share" for c in ("utilisation", "completion_share", "expected_utilisation")}
    tasks = {c: "number" for c in ("attempted", "completed", "escalated", "lost", "demand")}
    sheets = [
        SheetSpec("summary", _summary_for_sheet(t.summary), note="Headline figures; scenario-weighted "
                  "(expected) values. Charts: expected FTE by source, completion share by week, cost by source.",
                  row_formats={k: ("share" if "share" in k or k == "mip_gap" else "money")
                               for k in t.summary["key"] if k not in ("status", "currency")}),
        SheetSpec("plan", t.plan, {**fte, **money, **hours, **share, "week": "int", "week_start": "date"},
                  note="Headcount, hours and cost by scenario, week, region and unit (contract or source); "
                       "scenario 'expected' = probability-weighted."),
        SheetSpec("work", t.work, {**tasks, "week": "int"}, note="Tasks attempted by each unit (rows with none "
                  "attempted are omitted); completed = success x attempted; escalated and lost failures."),
        SheetSpec("coverage", t.coverage, {**tasks, **share, "week": "int"},
                  note="Demand (cases x tasks per case + escalations arriving), completed, lost."),
        SheetSpec("contracts", t.contracts, {**fte, **money, **hours, **share, "lock_in_shadow_price": "money"}),
        SheetSpec("shadow_prices", t.shadow_prices, {"value": "money", "week": "int"},
                  note="Duals of the LP (binaries fixed at the optimum), conditional on the scenario; "
                       "zeros omitted. See models/README.md."),
        SheetSpec("checks", checks, {"largest_violation": "number", "tolerance": "number", "rows_checked": "int"},
                  note="Each rule recomputed from this workbook's tables and the input."),
        SheetSpec("run", run_info, note="Provenance of this run."),
    ]
    for spec in sheets:  # one shared vocabulary of formats; each sheet takes the columns it has
        spec.formats = {c: f for c, f in spec.formats.items() if c in spec.frame.columns}
    charts = _summary_charts(inputs, t)
    write_report(path, sheets, charts=charts, currency=inputs.settings.currency)


def _summary_for_sheet(summary: pd.DataFrame) -> pd.DataFrame:
    return summary.assign(value=[v if not isinstance(v, float) else round(v, 6) if abs(v) < 1 else v
                                 for v in summary["value"]])


def _summary_charts(inputs, t) -> list:
    from capacity.report import ChartSpec

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
                  x_title=inputs.settings.currency),
    ]
    return [ch for ch in charts if _has_series(ch.data)]


def _has_series(frame: pd.DataFrame) -> bool:
    """A chart needs a category column and a series with at least one number
    (with no demand at all, completion share is undefined in every week)."""
    if frame.shape[1] < 2 or len(frame) == 0:
        return False
    values = frame.iloc[:, 1:].apply(pd.to_numeric, errors="coerce")
    return bool(values.notna().to_numpy().any())
