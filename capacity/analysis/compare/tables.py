"""The comparison's tables: comparison, scenario costs, measures, run sheet, the summary text (the workbook
itself is :mod:`capacity.analysis.compare.workbook`)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from capacity.io.inputs import Inputs
from capacity.model import risk

from .common import OK
from .negotiation import flex_reason

CHANGE_COLUMNS = ["variant", "sheet", "cell", "id", "column", "old_value", "new_value", "value_read", "note"]


def inputs_changed_table(changes: list) -> pd.DataFrame:
    """Every edited cell of every variant: old and new value, and the value read back."""
    changed = pd.DataFrame([{"variant": c.variant, "sheet": c.sheet, "cell": c.cell, "id": c.id,
                             "column": c.column, "old_value": c.old_value, "new_value": c.new_value,
                             "value_read": c.read_value, "note": c.note} for c in changes], columns=CHANGE_COLUMNS)
    for col in ("old_value", "new_value", "value_read"):  # mixed numbers and text: one object column
        changed[col] = changed[col].astype(object)
    return changed


PART_COLUMNS = {"cost_fixed": "fixed", "cost_contract_staff": "contract staff",
                "cost_regional_staff": "regional staff", "cost_onboarding": "onboarding",
                "cost_lost": "lost value"}
CASH_PARTS = ("cost_fixed", "cost_contract_staff", "cost_regional_staff", "cost_onboarding")


def _comparison(rows: list[dict], records: dict, base: Inputs) -> pd.DataFrame:
    contracts = list(base.contracts.index)
    base_obj = records.get("base", {}).get("objective")
    out = []
    for row in rows:
        rec = records.get(row["key"], {"status": "error", "objective": None, "message": "not run"})
        r: dict[str, Any] = {"variant": row["name"], "edits": row.get("edits", ""), "kind": row["kind"],
                             "status": rec.get("status"), "expected_cost": rec.get("objective")}
        r["change_vs_base"] = (rec["objective"] - base_obj if rec.get("objective") is not None
                               and base_obj is not None else None)
        r["saving"] = None if r["change_vs_base"] is None else base_obj - rec["objective"]  # positive: cheaper
        for part in PART_COLUMNS:
            r[part] = (rec.get("parts") or {}).get(part)
        cash = [r[p] for p in CASH_PARTS]
        r["cash_cost"] = sum(cash) if all(v is not None for v in cash) else None
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
    """Key, measure (in words), value, note (plain words, the formal definition in brackets), reason:
    rp, ws, evpi, ev, eev, vss, the flexibility values, cvar_alpha and the WS parts."""
    from . import glossary as G

    rows: list[tuple[str, Any, str]] = []
    notes = []

    def obj(key):
        rec = records.get(key, {})
        return rec.get("objective") if rec.get("status") in OK else None

    def plain(key, **fill):
        words, note = G.measure_words(key)
        for k, v in fill.items():
            note = note.replace("{" + k + "}", str(v))
        return note

    rp = obj("base")
    pi = base.scenarios["probability"]
    ws_parts = {w: obj(f"ws:{w}") for w in base.scenarios.index}
    ws = sum(pi[w] * v for w, v in ws_parts.items()) if all(v is not None for v in ws_parts.values()) else None
    ev, eev_rec = obj("ev"), records.get("eev", {})
    eev = obj("eev")
    eev_note = plain("eev")
    if eev is None and records.get("ev", {}).get("status") in OK and eev_rec.get("status") == "infeasible":
        eev = math.inf
        eev_note = ("The plan made for average demand cannot serve every scenario: its first stage is infeasible "
                    "in the stochastic problem, so EEV = VSS = inf. " + eev_note)
        notes.append("EEV: the expected-value plan's first stage is infeasible in the stochastic problem "
                     "(some scenario cannot be served with it): EEV = VSS = inf")
    rows.append(("rp", rp, plain("rp")))
    rows.append(("ws", ws, plain("ws")))
    rows.append(("evpi", None if rp is None or ws is None else rp - ws, plain("evpi")))
    rows.append(("ev", ev, plain("ev")))
    rows.append(("eev", eev, eev_note))
    rows.append(("vss", None if rp is None or eev is None else eev - rp, plain("vss")))
    reasons = {}
    for c in list(base.contracts.index) + ["all"]:
        key = f"flex:{c}"
        if key not in records:
            continue
        v = obj(key)
        note = plain(f"flex_value:{c}")
        if v is None:
            note = f"Not available: {records[key].get('message') or records[key].get('status')}. " + note
        value = None if rp is None or v is None else rp - v
        reasons[f"flex_value:{c}"] = flex_reason(c, value, rp, records.get("base", {}), records.get(key, {}))
        rows.append((f"flex_value:{c}", value, note))
    rows.append(("cvar_alpha", alpha, plain("cvar_alpha", level=f"{alpha:g}", tail=G.tail_text(alpha))
                 + " " + _cvar_reading(base, records.get("base", {}), alpha)))
    for w, v in ws_parts.items():
        rows.append((f"ws:{w}", v, plain(f"ws:{w}", p=f"{pi[w]:g}")))
    lam = risk.weight(base)
    if lam > 0:   # v2 section 4: the measures stay expected costs; say what that means for a risk-averse base
        said = (f"the base plans with risk_weight {lam:g}: RP, EEV and the flexibility values are the expected "
                "costs of plans made for (1 - risk_weight) x expected cost + risk_weight x CVaR, WS and EV those "
                "of plans made for one scenario; EVPI, VSS and the flexibility values compare expected costs, not "
                "the objective those plans minimised, and can be negative")
        notes.append(said)
        rows = [(k, v, f"{n} ({said}.)" if k in ("rp", "evpi", "eev", "vss") else n) for k, v, n in rows]
    df = pd.DataFrame(rows, columns=["key", "value", "note"])
    df.insert(1, "measure", [G.measure_words(k)[0] for k in df["key"]])
    df["reason"] = [reasons.get(k, "") for k in df["key"]]   # why a flexibility value is zero
    df["value"] = [("inf" if isinstance(v, float) and math.isinf(v) else v) for v in df["value"]]
    df["value"] = df["value"].astype(object)
    return df, notes


def _cvar_reading(base: Inputs, base_rec: dict, alpha: float) -> str:
    """Why the base's worst case equals its CVaR (or not), from its scenario costs."""
    from . import glossary as G

    sc = base_rec.get("scenario_costs") or []
    if not sc:
        return ""
    worst = max(sc, key=lambda r: r["total"])
    p, tail = float(worst["probability"]), 1.0 - alpha
    if p >= tail - 1e-12:
        return (f"In the base the worst scenario, {worst['scenario']}, has probability {p:.0%} on its own, at least "
                f"{G.tail_text(alpha)}: the worst {G.tail_text(alpha)} lies inside it, so CVaR equals the worst "
                "scenario cost.")
    return (f"In the base the worst scenario, {worst['scenario']}, has probability {p:.0%}, less than "
            f"{G.tail_text(alpha)}: CVaR also averages in the next worst scenarios, so it is below the worst "
            "scenario cost.")


def _run_sheet(base: Inputs, base_rec: dict, started, command_line, timings, executor, n_workers, processes,
               cpu_s, alpha, records, alpha_from: str = "--cvar") -> pd.DataFrame:
    from capacity.output.provenance import provenance_rows

    stats = base_rec.get("stats") or {}
    rows = provenance_rows(base, started, command_line, stats, extra_versions=("distributed",))
    rows += [
        ("executor", executor),
        ("workers", n_workers),
        ("worker_processes_used", processes),
        ("runs", len(records)),
        ("runs_not_solved", sum(1 for r in records.values() if r.get("status") not in OK)),
        ("mip_gap_requested", 0.0),
        ("cvar_alpha", alpha),
        ("cvar_alpha_from", alpha_from),
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
def _summary_text(comp: pd.DataFrame, meas: pd.DataFrame, currency: str, alpha: float,
                  negotiation: pd.DataFrame | None = None, frontier: pd.DataFrame | None = None) -> str:
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
    if negotiation is not None and len(negotiation):
        head = ("variant", "saving", "per week of term removed", "break-even price", "cost per FTE-week used")
        body = []
        for r in negotiation.itertuples(index=False):
            if r.kind == "flex":
                continue
            price = "-" if r.break_even_price is None or pd.isna(r.break_even_price) else \
                f"{r.break_even_price:,.2f}"
            used = "-" if r.cost_per_fte_week_used is None or pd.isna(r.cost_per_fte_week_used) else \
                f"{r.cost_per_fte_week_used:,.2f}"
            body.append((r.variant, money(r.saving), money(r.saving_per_week_removed), price, used))
        if body:
            lines += ["", "saving = base expected cost - the variant's (positive: the variant saves); break-even = the "
                          "contract price at which the variant costs what the base costs (found by re-solving)"]
            widths = [max(len(str(x[i])) for x in [head] + body) for i in range(len(head))]
            for i, row in enumerate([head] + body):
                lines.append("  ".join([str(row[0]).ljust(widths[0])]
                                       + [str(v).rjust(wd) for v, wd in zip(row[1:], widths[1:])]))
                if i == 0:
                    lines.append("  ".join("-" * wd for wd in widths))
    if frontier is not None and len(frontier):
        lines += ["", _frontier_text(frontier, money)]
    return "\n".join(lines)


def _frontier_text(f: pd.DataFrame, money) -> str:
    """The frontier as a short table for the terminal (sheet frontier has it in full)."""
    from . import glossary as G

    ref = f.attrs.get("reference")
    head = ("variant", "risk weight", "CVaR level", "expected cost", "CVaR", "worst scenario", "extra expected",
            "CVaR removed", "per 1 removed")
    body = []
    for r in f.itertuples(index=False):
        ratio = "-" if r.cost_per_cvar_removed is None or pd.isna(r.cost_per_cvar_removed) else \
            f"{r.cost_per_cvar_removed:,.2f}"
        body.append((r.variant, f"{r.risk_weight:g}", G.alpha_text(r.cvar_alpha), money(r.expected_cost), money(r.cvar),
                     f"{r.worst_scenario} {money(r.worst_scenario_cost)}", money(r.extra_expected_cost),
                     money(r.cvar_reduction), ratio))
    widths = [max(len(str(x[i])) for x in [head] + body) for i in range(len(head))]
    lines = ["frontier (sheet frontier): expected cost against CVaR, each plan's CVaR at its own level; "
             + (f"differences against '{ref}' (risk weight 0)" if ref is not None else "no risk weight 0 run")]
    for i, row in enumerate([head] + body):
        lines.append("  ".join([str(row[0]).ljust(widths[0])] + [str(v).rjust(w) for v, w in zip(row[1:], widths[1:])]))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
