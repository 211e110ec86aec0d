"""The compare workbook for people: its layout, and the ``read_me_first`` sheet in sentences.

Sheets, in order:

- ``read_me_first``: what the comparison shows, in sentences generated from the tables
  (:func:`read_me_first_blocks`): which change is worth most and the largest saving first,
  the base's expected cost, cash cost and worst scenario, the runs that did not solve and
  why, why a flexibility value is 0, what knowing the future is worth, why the worst case
  equals CVaR, where each figure is, and the comparison's columns in words;
- ``comparison``: one row per run, business figures first (expected cost, saving with its
  sign in the header, cash cost, worst scenario, CVaR, completion share, per contract
  signed Yes/No, committed level and utilisation), then the cost parts, and the run's
  kind, full edits, solver status, MIP gap and seconds at the far right; headers in words
  with units (:mod:`capacity.analysis.compare.glossary`), each with a comment; the variant
  column frozen;
- ``frontier``, when some run differs from the base in settings ``risk_weight`` or ``cvar_alpha``
  (:mod:`capacity.analysis.compare.frontier`): expected cost against CVaR per risk weight, what the
  protection costs, the reading in words as its A1 note, and a native scatter chart below the table;
  read_me_first says it in sentences;
- ``negotiation``, ``measures`` (each measure in words with a plain note; the charts below
  it, money axes in millions), ``scenario_costs``, ``contract_use``, ``break_even_runs``,
  ``inputs_changed`` and ``run``: tidy tables whose headers are the column names, each
  header with a comment.

:func:`read_comparison` reads the comparison sheet back with the column names of
:attr:`capacity.analysis.compare.common.CompareResult.comparison`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from capacity.analysis.diagnose.text import names

from . import glossary as G
from .common import OK, CompareResult

SHEET = "read_me_first"
#: A saving smaller than this (currency units, or this share of the base) counts as none.
ZERO_TOL = 1.0
#: The contract, not the forecast, drives the cost when the largest saving is at least this many times EVPI.
DRIVER_RATIO = 10.0
#: The at-a-glance table is in millions when an expected cost reaches this.
MILLIONS_FROM = 10e6
#: A variant's full edit is quoted in a sentence when it is at most this long.
EDITS_SHOWN = 100


# ============================================================ numbers in words
def _is_num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and not (isinstance(x, float) and math.isnan(x))


class Money:
    """Money in words for the read_me_first sheets (compare and backtest): £132.2m, £13,032, 1,234 CHF."""

    def __init__(self, currency: str):
        self.cur = G.currency_text(currency)
        self.prefix = len(self.cur) == 1

    def __call__(self, x, dp: int = 0) -> str:
        """£132.2m for millions, £13,032 below."""
        if not _is_num(x):
            return "-"
        if math.isinf(x):
            return "infinite"
        v = abs(float(x))
        body = f"{v / 1e6:,.1f}m" if v >= 1e6 else f"{v:,.{dp}f}"
        sign = "-" if x < 0 and body.strip("0.,m") else ""
        return f"{sign}{self.cur}{body}" if self.prefix else f"{sign}{body} {self.cur}"

    def price(self, x) -> str:
        return self(x, 2) if _is_num(x) and abs(x) < 1e6 else self(x)


def _pct(x) -> str:
    return "-" if not _is_num(x) else f"{x:.1%}"


def _fte(x) -> str:
    return "-" if not _is_num(x) else (f"{x:,.0f}" if abs(x - round(x)) < 1e-9 else f"{x:,.1f}")


def _contracts(columns) -> list[str]:
    """The contracts of a comparison frame or row, from its signed:<c> columns, in order."""
    return [str(k).split(":", 1)[1] for k in columns if str(k).startswith("signed:")]


# ============================================================ the comparison sheet
def comparison_frame(comp: pd.DataFrame, currency: str, alpha: float) -> tuple[pd.DataFrame, dict, dict]:
    """The comparison for people: (frame with headers in words, formats by header, header notes)."""
    data, formats, notes = {}, {}, {}
    for name, col, c in G.columns_for(_contracts(comp)):
        head = G.header_of(col, currency, alpha, c)
        values = comp[name] if name in comp.columns else pd.Series([None] * len(comp), index=comp.index)
        if name.startswith("signed:"):
            values = values.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v))
                                else ("Yes" if bool(v) else "No")).astype(object)
        elif name == "kind":
            values = values.map(lambda k: G.KIND_WORDS.get(k, k))
        elif name in ("edits", "message", "worst_scenario", "status", "variant"):
            values = values.map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else v)
        data[head] = values.to_numpy()
        if col.fmt:
            formats[head] = col.fmt
        notes[head] = G.note_of(col, alpha, c)
    return pd.DataFrame(data), formats, notes


def read_comparison(path) -> pd.DataFrame:
    """The comparison sheet of a compare workbook with the column names of CompareResult.comparison
    (signed as True/False, kind as its code)."""
    from capacity.output.report_cells import unescape_text

    frame = pd.read_excel(path, sheet_name="comparison", engine="openpyxl")
    frame = frame.rename(columns={h: G.name_of_header(h) or h for h in frame.columns})
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].map(lambda v: unescape_text(v) if isinstance(v, str) else v)
    for c in frame.columns:
        if str(c).startswith("signed:"):
            frame[c] = frame[c].map({"Yes": True, "No": False}).astype(object)
    if "kind" in frame.columns:
        frame["kind"] = frame["kind"].map(lambda w: G.KIND_OF_WORDS.get(w, w))
    return frame


# ============================================================ read_me_first
def _rows(res: CompareResult) -> list[dict]:
    """The comparison's rows as dicts, with the negotiation row of each variant under 'neg'."""
    neg = {r["variant"]: r for r in res.negotiation.to_dict("records")} if res.negotiation is not None else {}
    out = []
    for r in res.comparison.to_dict("records"):
        r["neg"] = neg.get(r["variant"], {})
        out.append(r)
    return out


def _run_value(res: CompareResult, key: str):
    if res.run_info is None:
        return None
    hit = res.run_info.loc[res.run_info["key"] == key, "value"]
    return hit.iloc[0] if len(hit) else None


def _solved(r: dict) -> bool:
    return r.get("status") in OK and _is_num(r.get("expected_cost"))


def _scenarios(res: CompareResult) -> list[tuple[str, float]]:
    sc = res.scenario_costs
    if sc is None or not len(sc):
        return []
    first = sc[sc["variant"] == sc["variant"].iloc[0]]
    return list(zip(first["scenario"], first["probability"]))


def _scope(res: CompareResult, rows: list[dict]) -> str:
    name = _run_value(res, "input_file") or "the input"
    sha = str(_run_value(res, "input_sha256") or "")
    scen = ", ".join(f"{w} ({p:.0%})" for w, p in _scenarios(res))
    n = len(rows) - 1
    extra = ("; plus each scenario alone and the expected-value problem for the measures"
             if any(str(k).startswith("ws:") for k in res.records) else "")
    return (f"Compares {name} (SHA-256 {sha[:12]}...) as it is, the base, with {n} variant{'s' if n != 1 else ''} "
            f"of it, under {len(_scenarios(res))} demand scenarios: {scen}{extra}. Every run is solved exactly "
            "(MIP gap 0), so the differences between rows are the changes' effect, not solver noise.")


def _base_section(res: CompareResult, base: dict, contracts: list[str], money: Money, alpha: float) -> list:
    from capacity.output.report_blocks import bullet, heading, text

    out = [heading("The base")]
    if not _solved(base):
        return out + [text(f"The base did not solve ({base.get('status')}: {base.get('message') or 'no plan'}); "
                           "no saving can be stated.")]
    out.append(text(
        f"The base is expected to cost {money(base['expected_cost'])}: {money(base.get('cash_cost'))} in cash (fixed contract "
        f"costs, staff and onboarding) and {money(base.get('cost_lost'))} of notional value of work left undone. "
        f"It completes {_pct(base.get('expected_completion_share'))} of the work. Its worst scenario is "
        f"{base.get('worst_scenario')}, at {money(base.get('worst_scenario_cost'))}; CVaR "
        f"{G.alpha_text(alpha)} (the average over the worst {G.tail_text(alpha)} of probability) is "
        f"{money(base.get('cvar'))}."))
    for c in contracts:
        signed = base.get(f"signed:{c}")
        if signed:
            out.append(bullet(f"{c}: signed, committed level {_fte(base.get(f'committed_fte:{c}'))} FTE, expected "
                              f"utilisation {_pct(base.get(f'utilisation:{c}'))}."))
        else:
            out.append(bullet(f"{c}: not signed."))
    return out


def _term_phrase(r: dict) -> str | None:
    """'A 4-week term for national_2020 at £820.51 per FTE-week' when the variant edits only one
    contract's term (and perhaps its price); else None."""
    neg = r["neg"]
    edits = [e.split("=", 1)[0] for e in str(r.get("edits") or "").split(" & ") if e]
    c = neg.get("contract")
    if not c or not _is_num(neg.get("term_weeks_variant")) or not _is_num(neg.get("term_weeks_removed")):
        return None
    allowed = {f"{c}:min_term_weeks", f"{c}:cost_per_fte_week"}
    if not edits or not set(edits) <= allowed or f"{c}:min_term_weeks" not in edits:
        return None
    return f"A {int(neg['term_weeks_variant'])}-week term for {c}"


def _break_even_phrase(r: dict, money: Money) -> str:
    neg = r["neg"]
    c = neg.get("contract")
    status = neg.get("break_even_status")
    price = neg.get("price_per_fte_week")
    if status == "found" and _is_num(neg.get("break_even_price")):
        n = neg.get("break_even_solves")
        solves = f", {int(n)} re-solve{'s' if n != 1 else ''}" if _is_num(n) else ""
        return (f"break-even price {money.price(neg['break_even_price'])} per FTE-week of {c}, found by re-solving"
                f"{solves} (the variant pays {money.price(price)}): up to that price it costs no more than the base")
    if status == "none" and _is_num(neg.get("break_even_at_least")):
        return (f"no break-even price in the range searched: it would still save at {c} prices up to at least "
                f"{money.price(neg['break_even_at_least'])} per FTE-week")
    return ""


def _change_sentence(r: dict, money: Money, base: dict) -> str:
    """One sentence on what a variant is worth against the base."""
    name, kind, s = r["variant"], r.get("kind"), r.get("saving")
    neg = r["neg"]
    c = neg.get("contract")
    amount = money(abs(s))
    if kind == "builtin" and name.startswith("not signed:"):
        c = name.split(":", 1)[1]
        still = r.get(f"signed:{c}")
        how = (f"free to choose, the model still signs it, at {_fte(r.get(f'committed_fte:{c}'))} FTE committed"
               if still else "free to choose, the model does not sign it")
        instead = [k for k in _contracts(r) if k != c and r.get(f"signed:{k}") and not base.get(f"signed:{k}")]
        if instead:
            how += f" and signs {names(instead)} instead"
        head = (f"Signing {c} cost {amount} against leaving it an option" if s > 0 else
                f"Signing {c} saved {amount} against leaving it an option")
        return f"{head} (variant {name}: {r.get('edits')}; {how})."
    if kind == "builtin" and name.startswith("optimum level:"):
        c = name.split(":", 1)[1]
        lv, lb = r.get(f"committed_fte:{c}"), base.get(f"committed_fte:{c}")
        verb = "saves" if s > 0 else "costs"
        level = (f"with nothing committed (the level the model would choose, instead of {_fte(lb)} FTE)"
                 if _is_num(lv) and abs(lv) < 1e-9 else
                 f"at the level the model would choose, {_fte(lv)} FTE committed instead of {_fte(lb)}")
        return (f"Signing {c} {level} {verb} {amount}{'' if s > 0 else ' more'} against the base (variant "
                f"{name}).")
    if kind == "flex":
        c = name.split(":", 1)[1]
        who = "every contract's lock-in" if c == "all" else f"{c}'s lock-in (initial term, notice and ramp limits)"
        verb = "would save" if s > 0 else "would cost"
        edits = str(r.get("edits") or "")
        edits = edits if len(edits) <= EDITS_SHOWN else "its edits in sheet inputs_changed"
        return f"Removing {who} {verb} {amount}{'' if s > 0 else ' more'}: its flexibility value (variant {name}: {edits})."
    term = _term_phrase(r)
    price = neg.get("price_per_fte_week")
    subject = (f"{term} at {money.price(price)} per FTE-week (variant '{name}')" if term else
               f"Variant '{name}' ({r.get('edits')})")
    verb = f"saves {amount}" if s > 0 else f"costs {amount} more"
    bits = [f"{subject} {verb} against the base"]
    if _is_num(neg.get("saving_per_week_removed")) and s > 0:
        bits.append(f"{money(neg['saving_per_week_removed'])} per week of term removed "
                    f"({int(neg['term_weeks_removed'])} weeks)")
    be = _break_even_phrase(r, money)
    if be:
        bits.append(be)
    if c and _is_num(neg.get("cost_per_fte_week_used")):
        bits.append(f"each FTE-week of work done by {c} costs {money.price(neg['cost_per_fte_week_used'])} "
                    f"(price paid {money.price(neg.get('price_paid_per_fte_week'))} per FTE-week)")
    return "; ".join(bits) + "."


def _worth_section(res: CompareResult, rows: list[dict], base: dict, money: Money) -> tuple[list, dict | None]:
    from capacity.output.report_blocks import bullet, heading, text

    out = [heading("What each change is worth against the base, largest saving first")]
    solved = [r for r in rows[1:] if _solved(r) and _is_num(r.get("saving"))]
    tol = max(ZERO_TOL, 1e-6 * abs(base.get("expected_cost") or 0.0))
    moving = [r for r in solved if abs(r["saving"]) > tol]
    zero = [r for r in solved if abs(r["saving"]) <= tol]
    moving.sort(key=lambda r: -r["saving"])
    if not _solved(base):
        return out + [text("The base did not solve: there is nothing to compare against.")], None
    if not moving:
        out.append(text("No variant changes the expected cost."))
    out += [bullet(_change_sentence(r, money, base)) for r in moving]
    same = [r["variant"] for r in zero if r.get("kind") != "flex"]
    if same:
        out.append(bullet(f"Cost the same as the base: {', '.join(same)}."))
    best = moving[0] if moving and moving[0]["saving"] > 0 else None
    return out, best


def _in_millions(rows: list[dict]) -> bool:
    """Money in millions when the largest expected cost is at least MILLIONS_FROM."""
    costs = [abs(r["expected_cost"]) for r in rows if _is_num(r.get("expected_cost"))]
    return bool(costs) and max(costs) >= MILLIONS_FROM


def _glance(rows: list[dict], currency: str, alpha: float) -> Any:
    """The comparison at a glance: a small table (in millions for large costs), the base first, then by saving."""
    from capacity.output.report_blocks import table

    millions = _in_millions(rows)
    cur = G.currency_text(currency) + ("m" if millions else "")
    solved = sorted([r for r in rows[1:] if _solved(r)], key=lambda r: -(r.get("saving") or 0.0))
    order = rows[:1] + solved + [r for r in rows[1:] if not _solved(r)]
    cols = {"Variant": "variant", f"Expected cost ({cur})": "expected_cost",
            f"Saving vs base ({cur})": "saving", f"Cash cost ({cur})": "cash_cost",
            f"Worst case ({cur})": "worst_scenario_cost", f"CVaR {G.alpha_text(alpha)} ({cur})": "cvar",
            "Work completed": "expected_completion_share", "Status": "status"}
    frame = pd.DataFrame([{h: r.get(k) for h, k in cols.items()} for r in order])
    for h, k in cols.items():
        if k not in ("variant", "status", "expected_completion_share"):
            frame[h] = pd.to_numeric(frame[h], errors="coerce")
    money = "money_m" if millions else "money"
    fmts = {h: ("share" if k == "expected_completion_share" else money) for h, k in cols.items()
            if k not in ("variant", "status")}
    return table(frame, fmts)


def _headline(best: dict | None, base: dict, money: Money) -> str:
    if best is None:
        return ("No variant costs less than the base." if _solved(base) else
                "The base did not solve: no saving can be stated.")
    share = best["saving"] / base["expected_cost"] if base.get("expected_cost") else None
    pct = f" ({share:.0%} of the base's expected cost)" if share is not None else ""
    return (f"Worth most: {best['variant']}. It is expected to cost {money(best['expected_cost'])} against the "
            f"base's {money(base['expected_cost'])}: a saving of {money(best['saving'])}{pct}.")


def _not_run_section(res: CompareResult, rows: list[dict]) -> list:
    from capacity.output.report_blocks import bullet, heading, text

    out = [heading("Runs that did not solve or did not apply")]
    bad = [(r["variant"], r.get("status"), r.get("message")) for r in rows if not _solved(r)]
    bad += [(rec.get("name") or k, rec.get("status"), rec.get("message")) for k, rec in res.records.items()
            if rec.get("kind") in ("ws", "ev", "eev") and rec.get("status") not in OK]
    if not bad:
        return out + [text("Every run solved.")]
    words = {"invalid": "invalid", "not built": "does not apply", "infeasible": "infeasible", "error": "failed"}
    out_ = []
    for name, status, msg in bad:
        msg = str(msg or "").strip()
        for lead in (f"{status}: ", f"{status}; ", f"{status}"):
            if msg.startswith(lead):
                msg = msg[len(lead):].strip()
                break
        out_.append(bullet(f"{name}: {words.get(status, status)}" + (f": {msg}" if msg else "") + "."))
    return out + out_


def _zero_flex_section(res: CompareResult, rows: list[dict], money: Money) -> list:
    from capacity.output.report_blocks import bullet, heading, text

    m = res.measures
    if m is None:
        return []
    zero = m[(m["key"].str.startswith("flex_value:")) & (m["reason"].astype(str) != "")]
    if not len(zero):
        return []
    by_reason: dict[str, list[str]] = {}
    for k, why in zip(zero["key"], zero["reason"]):
        by_reason.setdefault(str(why), []).append(k.split(":", 1)[1])
    out = [heading("Why some flexibility values are 0")]
    for why, cs in by_reason.items():
        if len(cs) == 1:
            out.append(bullet(f"The flexibility value of {cs[0]} is {money(0)}: {why}."))
        else:
            out.append(bullet(f"The flexibility values of {names(cs)} are {money(0)}; for each: {why}."))
    others = [r["variant"] for r in rows if r.get("kind") == "builtin" and r["variant"].startswith("not signed:")]
    hint = (f" Their worth without the signed contract shows in variant {', '.join(others)}, where the model "
            "may sign them instead." if others else "")
    out.append(text("A flexibility value is what removing a contract's lock-in saves in the base's own plan. An "
                    "option that plan never signs has a lock-in that costs nothing, so its value is 0 however "
                    "useful the option might be in another plan." + hint))
    return out


def _uncertainty_section(res: CompareResult, best: dict | None, money: Money, alpha: float, rows) -> list:
    from capacity.output.report_blocks import bullet, heading, text

    out = [heading("Uncertainty: what knowing the future is worth")]
    evpi, vss, eev = res.measure("evpi"), res.measure("vss"), res.measure("eev")
    if _is_num(evpi):
        rp = res.measure("rp")
        share = f", {evpi / rp:.2%} of the base's expected cost" if _is_num(rp) and rp else ""
        out.append(bullet(f"Knowing the future from week 1 would have been worth {money(evpi)}{share} (EVPI)."))
        if best is not None and abs(evpi) <= ZERO_TOL:
            out.append(bullet(f"The best change, {best['variant']}, is worth {money(best['saving'])}, while knowing "
                              "the future is worth nothing: the contract terms, not the forecast, drive the cost."))
        elif best is not None and best["saving"] > DRIVER_RATIO * abs(evpi):
            out.append(bullet(f"The best change, {best['variant']}, is worth {money(best['saving'])}: "
                              f"{best['saving'] / abs(evpi):,.0f} times what knowing the future is worth. The "
                              "contract terms, not the forecast, drive the cost."))
    if eev == "inf" or vss == "inf":
        out.append(bullet("A plan made for the average demand cannot serve every scenario (EEV is infinite): "
                          "planning for the scenarios is essential."))
    elif _is_num(vss):
        out.append(bullet(f"Planning for the average demand instead of the scenarios would cost {money(vss)} more "
                          "(VSS)."))
    if len(out) == 1:
        out.append(text("Not computed in this comparison (the wait-and-see and expected-value runs were not run)."))
    # the worst case and CVaR
    scen = _scenarios(res)
    same = [r for r in rows if _solved(r) and _is_num(r.get("cvar")) and _is_num(r.get("worst_scenario_cost"))
            and abs(r["cvar"] - r["worst_scenario_cost"]) <= 1e-6 * max(1.0, abs(r["worst_scenario_cost"]))]
    solved = [r for r in rows if _solved(r)]
    probs = dict(scen)
    text_cvar = (f"CVaR {G.alpha_text(alpha)} is the average cost over the worst {G.tail_text(alpha)} of "
                 "probability. ")
    if solved and len(same) == len(solved):
        worst = sorted({r.get("worst_scenario") for r in solved})
        ps = "; ".join(f"{w}, probability {probs.get(w, float('nan')):.0%}" for w in worst)
        out.append(bullet(text_cvar + f"The worst scenario ({ps}) has on its own a probability of at least "
                          f"{G.tail_text(alpha)}, so the worst {G.tail_text(alpha)} lies inside it and CVaR equals "
                          "the worst scenario cost: that is why columns Worst case and CVaR are equal in every row. "
                          f"With a worst scenario less likely than {G.tail_text(alpha)} they would differ."))
    elif solved:
        out.append(bullet(text_cvar + f"It equals the worst scenario cost only where the worst scenario alone has "
                          f"probability of at least {G.tail_text(alpha)} ({len(same)} of {len(solved)} rows)."))
    return out


def _where_section() -> list:
    from capacity.output.report_blocks import bullet, heading

    return [heading("Where the figures are"),
            bullet("comparison: one row per run, business figures first; the full edit of each variant in column "
                   "'Edits' and in sheet inputs_changed; solver figures at the far right."),
            bullet("negotiation: per variant, the saving, the saving per week of term removed, the break-even price "
                   "found by re-solving, and the cost per FTE-week of work actually done against the price paid."),
            bullet("measures: EVPI, VSS, the flexibility values and the other measures, each with a plain note; "
                   "charts of cost, saving and utilisation by variant below the table."),
            bullet("frontier (when some run changes settings risk_weight or cvar_alpha): expected cost against "
                   "CVaR, one row and one point of its chart per risk weight, with what the protection costs."),
            bullet("scenario_costs: each run's cost in each scenario; contract_use: each contract in each run; "
                   "break_even_runs: every re-solve of the break-even searches; inputs_changed: every input cell "
                   "each variant edits (cell, old and new value); run: provenance."),
            bullet("To check every figure by re-solving: capacity audit THIS_WORKBOOK.xlsx (a sample of runs; "
                   "--all for every run).")]


def _glossary_section(comp: pd.DataFrame, currency: str, alpha: float) -> list:
    from capacity.output.report_blocks import bullet, heading

    out = [heading("The columns of sheet comparison")]
    seen = set()
    for name, col, c in G.columns_for(_contracts(comp)):
        if col.name in seen:
            continue
        seen.add(col.name)
        head = G.header_of(col, currency, alpha, "<contract>" if c else None)
        out.append(bullet(f"{head}: {G.note_of(col, alpha)}"))
    return out


def read_me_first_blocks(res: CompareResult, currency: str, alpha: float) -> list:
    from capacity.output.report_blocks import blank, heading, text, title

    money = Money(currency)
    rows = _rows(res)
    base = rows[0] if rows and rows[0]["variant"] == "base" else {"variant": "base", "status": "error"}
    contracts = _contracts(res.comparison)
    worth, best = _worth_section(res, rows, base, money)
    glance = "At a glance" + (", in millions" if _in_millions(rows) else "") + \
        " (saving: positive = cheaper than the base)"
    blocks = [title("Read me first: what the comparison shows"), text(_scope(res, rows)),
              text(_headline(best, base, money)), blank(), heading(glance), _glance(rows, currency, alpha), blank()]
    blocks += worth + [blank()]
    blocks += _base_section(res, base, contracts, money, alpha) + [blank()]
    blocks += _not_run_section(res, rows) + [blank()]
    z = _zero_flex_section(res, rows, money)
    blocks += z + ([blank()] if z else [])
    risk = _risk_section(res, money, currency)
    blocks += risk + ([blank()] if risk else [])
    blocks += _uncertainty_section(res, best, money, alpha, rows) + [blank()]
    blocks += _where_section() + [blank()]
    blocks += _glossary_section(res.comparison, currency, alpha)
    return blocks


# ============================================================ the workbook
NEGOTIATION_ORDER = [
    "variant", "saving", "saving_per_week_removed", "break_even_price", "price_per_fte_week", "break_even_headroom",
    "break_even_at_least", "cost_per_fte_week_used", "base_cost_per_fte_week_used", "price_paid_per_fte_week",
    "expected_cost", "base_expected_cost", "contract", "term_weeks_base", "term_weeks_variant", "term_weeks_removed",
    "paid_fte_weeks", "used_fte_weeks", "contract_cost", "break_even_cost", "break_even_status", "break_even_solves",
    "break_even_method", "kind", "status", "notes"]
MONEY = {"expected_cost", "base_expected_cost", "saving", "saving_per_week_removed", "price_per_fte_week",
         "break_even_price", "break_even_headroom", "break_even_cost", "break_even_at_least", "contract_cost",
         "price_paid_per_fte_week", "cost_per_fte_week_used", "base_cost_per_fte_week_used", "price",
         "cost_minus_base", "fixed", "contract_staff", "regional_staff", "onboarding", "lost_value", "total"}
PRICES = {"price_per_fte_week", "break_even_price", "break_even_headroom", "break_even_at_least", "price",
          "price_paid_per_fte_week", "cost_per_fte_week_used", "base_cost_per_fte_week_used"}
FTE = {"paid_fte_weeks", "used_fte_weeks", "committed_fte"}
SHARES = {"expected_utilisation", "probability", "completion_share"}


def _tidy(name: str, frame: pd.DataFrame, note: str, res: CompareResult, currency: str):
    from capacity.output.report import SheetSpec

    fmt = {c: ("number" if c in PRICES else "money") for c in frame.columns if c in MONEY}
    fmt.update({c: "fte" for c in frame.columns if c in FTE})
    fmt.update({c: "share" for c in frame.columns if c in SHARES})
    cur = G.currency_text(currency)
    notes = {}
    for c in frame.columns:
        text = res.notes.get(c) or G.TABLE_NOTES.get(c, "")
        if text:
            notes[c] = text.replace("(money)", f"({cur})")
    if "signed" in frame.columns:
        frame = frame.assign(signed=frame["signed"].map(lambda v: None if v is None else ("Yes" if v else "No")))
    return SheetSpec(name, frame, fmt, note=note, freeze_cols=1, header_notes=notes)


def _measures_sheet(res: CompareResult, currency: str):
    from capacity.output.report import SheetSpec

    m = res.measures
    cols = [c for c in ("key", "measure", "value", "note", "reason") if c in m.columns]
    frame = m[cols]
    row_formats = {k: "money" for k in frame["key"]}
    row_formats["cvar_alpha"] = "share"
    notes = {"key": "The measure's name in the tables (CompareResult.measure(key) in Python).",
             "measure": "The measure in words.", "value": f"Its value ({G.currency_text(currency)}; cvar_alpha: "
             "a level).", "note": "What it means, in words; the formal definition in brackets.",
             "reason": "Why a flexibility value is 0."}
    return SheetSpec("measures", frame, row_formats=row_formats, header_notes=notes, freeze_cols=1,
                     note="What uncertainty and flexibility are worth in the base, each measure in words. "
                          "Charts of cost, saving and utilisation by variant below the table.")


def _charts(res: CompareResult, currency: str) -> list:
    from capacity.output.report import ChartSpec

    from .tables import PART_COLUMNS

    comp = res.comparison
    solved = comp[comp["expected_cost"].notna()]
    if not len(solved):
        return []
    cur = G.currency_text(currency)
    top = len(res.measures) + 3
    charts = []
    parts = solved[["variant"] + list(PART_COLUMNS)].rename(columns=PART_COLUMNS)
    charts.append(ChartSpec("measures", f"A{top}", "column_stacked", f"Expected cost by variant ({cur}m)", parts,
                            y_title=f"expected cost, {cur}m", x_title="variant", y_format="money_m"))
    saving = solved[solved["variant"] != "base"][["variant", "saving"]]
    saving = saving.rename(columns={"saving": "saving vs base (positive = cheaper)"})
    if len(saving):
        charts.append(ChartSpec("measures", f"A{top + 17}", "column", f"Saving against the base by variant ({cur}m; "
                                "positive = cheaper than the base)", saving,
                                y_title=f"saving, {cur}m", x_title="variant", y_format="money_m"))
    util_cols = [c for c in solved.columns if c.startswith("utilisation:")]
    if util_cols:
        util = solved[["variant"] + util_cols].rename(columns=lambda c: c.split(":", 1)[1] if ":" in c else c)
        util = util.fillna(0.0).infer_objects()
        charts.append(ChartSpec("measures", f"A{top + 34}", "column", "Expected contract utilisation by variant",
                                util, y_title="utilisation", x_title="variant", y_format="share"))
    return charts


def frontier_sheet(res: CompareResult, currency: str):
    """Sheet frontier for people: headers in words with units (glossary.FRONTIER), each with a note,
    and the reading in words as its A1 note (None without a frontier)."""
    from capacity.output.report import SheetSpec

    from . import frontier as F

    f = res.frontier
    if f is None or not len(f):
        return None
    data, formats, notes = {}, {}, {}
    for name in F.COLUMNS:
        col = G.FRONTIER_BY_NAME[name]
        head = G.header_of(col, currency, 0.9)
        values = f[name]
        if col.fmt is None:
            values = values.map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else v)
        data[head] = values.to_numpy()
        if col.fmt:
            formats[head] = col.fmt
        notes[head] = col.note
    return SheetSpec(F.SHEET, pd.DataFrame(data), formats, freeze_cols=1, header_notes=notes,
                     note=F.reading(f, currency))


def _risk_section(res: CompareResult, money: Money, currency: str) -> list:
    """read_me_first: the frontier in sentences (empty without one)."""
    from capacity.output.report_blocks import bullet, heading, text

    from . import frontier as F

    f = res.frontier
    if f is None or not len(f):
        return []
    out = [heading("Risk: what protection against a bad scenario costs (sheet frontier)"),
           text(F.reading(f, currency).replace(" The chart below", " The chart in sheet frontier"))]
    for r in f.itertuples(index=False):
        bits = [f"Risk weight {r.risk_weight:g} ({r.variant}): expected cost {money(r.expected_cost)}, CVaR "
                f"{G.alpha_text(r.cvar_alpha)} {money(r.cvar)}, worst scenario {r.worst_scenario} at "
                f"{money(r.worst_scenario_cost)}"]
        same = (_is_num(r.extra_expected_cost) and abs(r.extra_expected_cost) <= F.min_reduction(r.cvar)
                and abs(r.cvar_reduction) <= F.min_reduction(r.cvar))
        if r.variant == f.attrs.get("reference"):
            pass
        elif same:
            bits.append(f"the same figures as '{f.attrs.get('reference')}'")
        elif _is_num(r.extra_expected_cost):
            ratio = (f"; {money.price(r.cost_per_cvar_removed)} of expected cost per {money.cur} of CVaR removed"
                     if _is_num(r.cost_per_cvar_removed) else "; no CVaR removed")
            bits.append(f"{money(r.extra_expected_cost)} more expected cost for {money(r.cvar_reduction)} less "
                        f"CVaR{ratio}")
        out.append(bullet("; ".join(bits) + "."))
    return out


def write_compare_workbook(path, res: CompareResult, currency: str, alpha: float) -> None:
    """The compare workbook (see the module doc)."""
    from capacity.output.report import SheetSpec, write_report
    from capacity.output.report_blocks import BlockSheet

    comp_frame, comp_fmt, comp_notes = comparison_frame(res.comparison, currency, alpha)
    first = BlockSheet(SHEET, read_me_first_blocks(res, currency, alpha),
                       note="Generated from this workbook's tables; start here.")
    sheets: list[Any] = [first, SheetSpec(
        "comparison", comp_frame, comp_fmt, freeze_cols=1, header_notes=comp_notes,
        note=("One row per run: the base, each variant, the built-in variants of signed contracts and "
              "flex:<contract> (the base with that contract's lock-in removed). Business figures first; the cost "
              f"parts, the full edits and the solver's figures at the right. CVaR at {alpha:g}. Every solve "
              "exact (MIP gap 0). Each header has a comment saying what the column means."))]
    front = frontier_sheet(res, currency)
    if front is not None:
        sheets.append(front)
    if res.negotiation is not None:
        neg = res.negotiation[[c for c in NEGOTIATION_ORDER if c in res.negotiation.columns]
                              + [c for c in res.negotiation.columns if c not in NEGOTIATION_ORDER]]
        sheets.append(_tidy("negotiation", neg, "Per variant against the base: " + res.notes.get("saving", "")
                            + " Break-even price: " + res.notes.get("break_even_price", ""), res, currency))
    sheets.append(_measures_sheet(res, currency))
    sheets.append(_tidy("scenario_costs", res.scenario_costs, "Cost of each run if each scenario happens (fixed + "
                        "staff + onboarding + lost value).", res, currency))
    if res.contract_use is not None:
        sheets.append(_tidy("contract_use", res.contract_use, "Per run and contract: "
                            + res.notes.get("cost_per_fte_week_used", ""), res, currency))
    if res.break_even_runs is not None:
        sheets.append(_tidy("break_even_runs", res.break_even_runs, "Every re-solve of every break-even search: the "
                            "price tried and the expected cost it gave.", res, currency))
    sheets.append(_tidy("inputs_changed", res.inputs_changed, "Every cell edited for each variant: old value, new "
                        "value, and the value the validated variant holds (value_read). capacity audit re-applies "
                        "these edits.", res, currency))
    sheets.append(SheetSpec("run", res.run_info, note="Provenance of this run."))
    charts = _charts(res, currency)
    if front is not None:
        from . import frontier as F

        # below the table, in column B: clear of the frozen column A
        charts.append(F.scatter_chart(res.frontier, currency, f"B{len(res.frontier) + 4}"))
    write_report(path, sheets, charts=charts, currency=currency)
