"""Time the pipeline on synthetic instances: read, build, solve, write
seconds, model size and peak memory, one fresh process per size.

    python benchmarks/run.py                       # the three recorded sizes
    python benchmarks/run.py --sizes 9x26x3 --threads 2

Prints a Markdown table; paste it into benchmarks/README.md with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = ["9x26x3", "50x26x5", "149x52x10"]
HERE = Path(__file__).resolve().parent


def one(size: str, threads: int | None, time_limit: float | None) -> dict:
    """Run in a child process: generate, then plan, and report figures as JSON."""
    sys.path.insert(0, str(HERE))
    from generate import write_synthetic

    from capacity import api

    regions, weeks, scenarios = map(int, size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.xlsx", Path(tmp) / "out.xlsx"
        t0 = time.perf_counter()
        write_synthetic(src, regions, weeks, scenarios)
        gen_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = api.plan(src, out, threads=threads, time_limit=time_limit)
        total = time.perf_counter() - t0
        stats = dict(res.built.stats) if res.built is not None else {}
        stats.update(getattr(res.solve, "stats", {}) or {})
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"size": size, "status": res.status, "objective": getattr(res.solve, "objective", None),
            "generate_s": gen_s, **{k: res.timings.get(k) for k in ("read_s", "build_s", "solve_s", "tables_s",
                                                                    "write_s")},
            "total_s": total, "variables": stats.get("variables"), "constraints": stats.get("constraints"),
            "nonzeros": stats.get("nonzeros"), "binaries": stats.get("binaries"), "peak_mib": peak_mib,
            "highs_s": stats.get("highs_s"), "dual_s": stats.get("dual_s"),
            "checks": "pass" if res.checks is not None and (res.checks["result"] == "pass").all() else "fail"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", nargs="*", default=SIZES, help="REGIONSxWEEKSxSCENARIOS")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(one(a.child, a.threads, a.time_limit)))
        return
    cols = ["size", "status", "read_s", "build_s", "solve_s", "highs_s", "dual_s", "tables_s", "write_s", "total_s", "variables",
            "constraints", "nonzeros", "binaries", "peak_mib", "checks"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for size in a.sizes:
        cmd = [sys.executable, __file__, "--child", size]
        if a.threads:
            cmd += ["--threads", str(a.threads)]
        if a.time_limit:
            cmd += ["--time-limit", str(a.time_limit)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
        if proc.returncode != 0:
            print(f"| {size} | failed: {proc.stderr.strip().splitlines()[-1:]} |")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        cells = [f"{r[c]:.1f}" if isinstance(r[c], float) else f"{r[c]:,}" if isinstance(r[c], int) else str(r[c])
                 for c in cols]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
