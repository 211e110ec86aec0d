"""Where the runs go: a local process pool (one process per core, single-threaded
HiGHS) or an existing Dask cluster (imported only then)."""

from __future__ import annotations

import math
import os
import time
from typing import Callable

from .common import Progress, quiet
from .runs import Job, run_job



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


def run_jobs(jobs: list[Job], follow: Callable[[Job, dict], list[Job]] | None = None, *,
             workers: int | None = None, scheduler: str | None = None,
             progress: Progress = quiet) -> tuple[dict, str, int]:
    """Run ``jobs`` in parallel; when a job finishes, ``follow(job, record)`` may add jobs
    (the EEV run after the expected-value problem, the steps of a break-even search, the
    optimum-level variant after its free-level solve), which go through the same pool.

    Returns ({job key: record}, executor label, workers).
    """
    runner = _Dask(scheduler) if scheduler else _Local(workers or cores())
    records: dict[str, dict] = {}
    pending: dict = {}
    total = len(jobs)
    progress(f"solving {total} runs ({runner.label}); follow-up runs are added as they are needed")
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
                more = list(follow(job, rec) or []) if follow is not None else []
                total += len(more)
                text = rec["status"] if rec["objective"] is None else f"{rec['status']}, {rec['objective']:,.0f}"
                progress(f"{_bar(done, total)} {job.key}: {text} ({rec.get('seconds', math.nan):.1f}s)")
                for nxt in more:
                    pending[runner.submit(nxt)] = nxt
    finally:  # normally nothing is pending; after an interrupt the rest is cancelled
        runner.close(list(pending))
    return records, runner.label, runner.workers


def cores() -> int:
    """The cores this process may use (its CPU affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
