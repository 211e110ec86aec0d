"""Time the pipeline on synthetic instances and the England UTLA example: read,
build, solve, write seconds, model size and peak memory, one fresh process per
instance; then, in the same process on the same instance, the peer route
(benchmarks/peer.py, linopy; ``pip install -e .[bench]``) and the ratio.

    python benchmarks/run.py                       # 9x26x3, 50x26x5, utla (149x52x10: name it)
    python benchmarks/run.py --sizes 9x26x3 utla 149x52x10 --threads 2
    python benchmarks/run.py --no-peer

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

SIZES = ["9x26x3", "50x26x5", "utla"]
HERE = Path(__file__).resolve().parent
#: named instances: the England UTLA example (inputs/README.md says how to build it)
NAMED = {"utla": HERE.parent / "inputs" / "england-2020-utla.xlsx"}


def _with_settings(src: Path, dst: Path, **values) -> Path:
    """A copy of workbook ``src`` with these settings' values (rows added when absent)."""
    import openpyxl

    wb = openpyxl.load_workbook(src)
    ws = wb["settings"]
    left = dict(values)
    for row in ws.iter_rows(min_row=2):
        if row[0].value in left:
            row[1].value = left.pop(row[0].value)
    for k, v in left.items():
        ws.append([k, v])
    wb.save(dst)
    return dst


def one(size: str, threads: int | None, time_limit: float | None, peer: bool,
        risk_weight: float | None = None) -> dict:
    """Run in a child process: generate (or take the named input), plan, then the peer; figures as JSON.
    ``risk_weight``: the instance planned with that settings risk_weight (v2 section 4, the CVaR rows)."""
    sys.path.insert(0, str(HERE))
    from generate import write_synthetic

    from capacity import api

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.xlsx"
        t0 = time.perf_counter()
        if size in NAMED:
            src = NAMED[size]
            if not src.exists():
                raise SystemExit(f"{src} not present: build it as inputs/README.md says")
        else:
            src = Path(tmp) / "in.xlsx"
            regions, weeks, scenarios = map(int, size.split("x"))
            write_synthetic(src, regions, weeks, scenarios)
        if risk_weight is not None:
            src = _with_settings(src, Path(tmp) / "in-risk.xlsx", risk_weight=risk_weight)
        gen_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = api.plan(src, out, threads=threads, time_limit=time_limit)
        total = time.perf_counter() - t0
        stats = dict(res.built.stats) if res.built is not None else {}
        stats.update(getattr(res.solve, "stats", {}) or {})
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if risk_weight is not None:
        size = f"{size} risk_weight {risk_weight:g}"
    rec = {"size": size, "status": res.status, "objective": getattr(res.solve, "objective", None),
           "generate_s": gen_s, **{k: res.timings.get(k) for k in ("read_s", "build_s", "solve_s", "tables_s",
                                                                   "write_s")},
           "total_s": total, "variables": stats.get("variables"), "constraints": stats.get("constraints"),
           "nonzeros": stats.get("nonzeros"), "binaries": stats.get("binaries"), "peak_mib": peak_mib,
           "highs_s": stats.get("highs_s"), "dual_s": stats.get("dual_s"), "load_s": stats.get("load_s"),
           "relaxation_s": stats.get("relaxation_s"), "mip_s": stats.get("mip_s"),
           "solve_path": stats.get("solve_path"),
           "checks": "pass" if res.checks is not None and (res.checks["result"] == "pass").all() else "fail"}
    if peer and res.inputs is not None:
        from peer import peer_solve

        from capacity.model import build_model

        mip_gap = res.inputs.settings.mip_gap
        # plan released its Pyomo model: the peer gets the rows from a build of its own (not timed)
        got = peer_solve(build_model(res.inputs), mip_gap=mip_gap, threads=threads)
        rec.update(got)
        ours = (res.timings.get("build_s") or 0) + (res.timings.get("solve_s") or 0)
        rec["ours_build_solve_s"] = ours
        rec["ratio"] = ours / got["peer_total_s"] if got["peer_total_s"] else None
        rec["same_optimum"] = (got["peer_objective"] is not None and rec["objective"] is not None
                               and abs(got["peer_objective"] - rec["objective"])
                               <= max(mip_gap, 1e-9) * abs(rec["objective"]))
    return rec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", nargs="*", default=SIZES, help="REGIONSxWEEKSxSCENARIOS")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--no-peer", action="store_true", help="do not run the peer route (linopy)")
    ap.add_argument("--risk-weight", type=float, default=None,
                    help="plan every instance with this settings risk_weight (the CVaR in the objective)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(one(a.child, a.threads, a.time_limit, not a.no_peer, a.risk_weight)))
        return
    cols = ["size", "status", "read_s", "build_s", "solve_s", "highs_s", "dual_s", "tables_s", "write_s", "total_s",
            "variables", "constraints", "nonzeros", "binaries", "peak_mib", "checks"]
    if not a.no_peer:
        cols += ["ours_build_solve_s", "peer_build_s", "peer_solve_s", "peer_total_s", "ratio", "same_optimum"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for size in a.sizes:
        cmd = [sys.executable, __file__, "--child", size]
        if a.threads:
            cmd += ["--threads", str(a.threads)]
        if a.time_limit:
            cmd += ["--time-limit", str(a.time_limit)]
        if a.no_peer:
            cmd += ["--no-peer"]
        if a.risk_weight is not None:
            cmd += ["--risk-weight", str(a.risk_weight)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
        if proc.returncode != 0:
            print(f"| {size} | failed: {proc.stderr.strip().splitlines()[-1:]} |")
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        cells = [_cell(c, r.get(c)) for c in cols]
        print("| " + " | ".join(cells) + " |", flush=True)
        print(f"<!-- {r['size']}: objective {r['objective']}, solve path: {r.get('solve_path')}; "
              f"load {r.get('load_s')}, relaxation {r.get('relaxation_s')}, MIP {r.get('mip_s')}; "
              f"peer {r.get('peer_status')}, objective {r.get('peer_objective')} -->", flush=True)


def _cell(col, v) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        return f"{v:.2f}" if col == "ratio" else f"{v:.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


if __name__ == "__main__":
    main()
