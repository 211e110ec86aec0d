"""The ``read_me_first`` sheet: the plan in sentences a planner acts on,
generated from the result tables (no figure is typed in here). After a line
on scope and one on status and provenance:

1. contracts: what to sign and at what level (whole FTE);
2. what to decide this week in each region, in whole people (ROUNDING_RULE);
3. what depends on which scenario;
4. the cash cost apart from the notional value of work left undone, the
   range across the scenarios and the worst case (from
   :func:`capacity.output.results.scenario_costs`, the reporting copy);
5. the top bottlenecks with the input cells that would relieve them
   (:mod:`capacity.output.bottlenecks`);
6. the glossary of every column (:mod:`capacity.output.glossary`).

Decisions: a change taking effect in week t with lag l (lead_weeks for
starters, notice_weeks for leavers) is decided in week t - l
(formulation.md eq 14). Decisions taken before settings ``reveal_week`` are
the same in every scenario (firm); later ones may depend on the scenario.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from capacity.analysis.diagnose.text import names, pct, week_ranges
from capacity.io.inputs import Inputs
from capacity.model.history import plan_from
from capacity.model.recheck import is_contract, scenarios
from capacity.output.bottlenecks import bottlenecks
from capacity.output.glossary import EXPECTED_MEANING, SHADOW_MEANING, glossary_lines
from capacity.output.report_blocks import BlockSheet, blank, bullet, heading, table, text, title
from capacity.output.report_cells import _CURRENCY_SYMBOLS, _check_currency
from capacity.output.results import COST_PARTS, EXPECTED, NOT_SIGNED, SIGNED_BY_PLAN, scenario_costs

SHEET = "read_me_first"
TOL = 1e-6
#: the rounding rule for whole people, stated on the sheet
ROUNDING_RULE = ("Whole people: each week's headcount is rounded up (4.2 FTE -> 5 people; a part of a person still "
                 "needs a person), and starters and leavers are the week-to-week changes of that rounded "
                 "headcount.")
TOP_BOTTLENECKS = 5
TOP_CONTINGENT = 10
CASH_PARTS = tuple(p for p in COST_PARTS if p != "lost_value")


def read_me_first_sheet(inputs: Inputs, tables, checks: pd.DataFrame) -> "BlockSheet":
    """The first sheet of the plan workbook (a BlockSheet named ``read_me_first``)."""
    money = money_formatter(inputs.settings.currency)
    people = people_plan(inputs, tables.plan)
    blocks = [title("Read me first: what this plan recommends"), text(_scope(inputs)),
              text(_status(tables, checks)), blank()]
    blocks += _sign_section(inputs, tables, money) + [blank()]
    blocks += _this_week_section(inputs, people) + [blank()]
    blocks += _contingent_section(inputs, people) + [blank()]
    blocks += _cost_section(inputs, tables, money) + [blank()]
    blocks += _bottleneck_section(inputs, tables, money) + [blank()]
    blocks += _glossary_section(inputs)
    return BlockSheet(SHEET, blocks, note="Generated from this workbook's tables; start here.")


# ---------------------------------------------------------------------------------------------------
# numbers in words
# ---------------------------------------------------------------------------------------------------
def money_formatter(currency: str):
    """``money(x, dp=0)`` -> '£1,234' (GBP, EUR, USD by symbol) or '1,234 CHF' (any other label)."""
    label = _check_currency(currency)
    symbol = _CURRENCY_SYMBOLS.get(label)

    def money(x: float, dp: int = 0) -> str:
        body = f"{abs(float(x)):,.{dp}f}"
        sign = "-" if float(x) < 0 and body.strip("0.,") else ""
        return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {label}"
    return money


def whole_people(fte) -> np.ndarray:
    """ROUNDING_RULE: FTE rounded up to whole people (values within 1e-6 of a whole number count as it)."""
    return np.maximum(0, np.ceil(np.asarray(fte, dtype=float) - TOL)).astype(int)


def _share(x: float) -> str:
    return pct(round(float(x), 3))


def _scope(inputs: Inputs) -> str:
    st = inputs.settings
    scen = ", ".join(f"{w} ({pct(p)})" for w, p in inputs.scenarios["probability"].items())
    return (f"{st.weeks} weeks from {st.start_date:%d %B %Y}, {len(inputs.regions)} regions "
            f"({names(list(inputs.regions.index))}); scenarios {scen}; the scenario is known from week "
            f"{st.reveal_week} ({inputs.origin.cell('settings', 'reveal_week', 'reveal_week')}).")


def _status(tables, checks: pd.DataFrame) -> str:
    s = dict(zip(tables.summary["key"], tables.summary["value"]))
    gap = s.get("mip_gap")
    gap_text = f", MIP gap {pct(gap)}" if isinstance(gap, (int, float)) and not math.isnan(gap) else ""
    failed = checks[checks["result"] != "pass"] if len(checks) else checks
    audit = (f"all {len(checks)} audit checks pass" if len(failed) == 0 else
             f"{len(failed)} of {len(checks)} audit checks FAIL ({names(list(failed['check']))})")
    return (f"Solver status: {s.get('status', '?')}{gap_text}; {audit}. Every figure is traced: see the input_* "
            "sheets (copies of the input) and the checks sheet; the command 'capacity explain OUT.xlsx SHEET!CELL' "
            "prints how a figure is derived from input cells.")


# ---------------------------------------------------------------------------------------------------
# 1. what to sign
# ---------------------------------------------------------------------------------------------------
def _sign_section(inputs: Inputs, tables, money) -> list:
    out = [heading("1. Contracts: what to sign, at what level")]
    if tables.contracts.empty:
        return out + [text("No contracts are offered.")]
    plan = scenarios(tables.plan)
    plan = plan[is_contract(inputs, plan)]
    for row in tables.contracts.itertuples(index=False):
        out.append(bullet(_contract_sentence(inputs, row, plan[plan["unit"] == row.contract], money)))
    return out + [text("Week by week, in whole FTE: sheet contracts_by_week.")]


def _contract_sentence(inputs: Inputs, row, plan: pd.DataFrame, money) -> str:
    c = row.contract
    terms = inputs.contracts.loc[c]
    if row.status == NOT_SIGNED:
        return (f"{c} ({row.source}): offered, not signed; the plan does not need it (fixed cost "
                f"{money(terms['fixed_cost'])}, {money(terms['cost_per_fte_week'])} per FTE-week).")
    lead = "Sign" if row.status == SIGNED_BY_PLAN else "Already signed"
    head = f"{lead} {c} ({row.source}, {row.status})"
    level = _committed(inputs, c, float(row.committed_fte))
    peak = _peaks(inputs, plan)
    util = "" if pd.isna(row.expected_utilisation) else f"; expected utilisation {_share(row.expected_utilisation)}"
    fixed = f" including fixed cost {money(row.fixed_cost)}" if row.fixed_cost > 0 else ""
    return f"{head}: {level}; {peak}; expected cost {money(row.expected_cost)}{fixed}{util}."


def _committed(inputs: Inputs, c: str, level: float) -> str:
    terms = inputs.contracts.loc[c]
    term = int(terms["min_term_weeks"])
    if term <= 0:
        return "no initial term, staffed week by week"
    first, last = int(terms["start_week"]), min(int(terms["start_week"]) + term - 1, int(terms["end_week"]))
    n = int(whole_people([level])[0])
    exact = "" if abs(level - n) <= TOL else f" (the plan's {level:,.2f} rounded up)"
    given = " as agreed" if not pd.isna(terms["committed_fte"]) else ""
    return f"committed level {n:,} FTE{exact}{given} for its initial term, {week_ranges(range(first, last + 1))}"


def _peaks(inputs: Inputs, plan: pd.DataFrame) -> str:
    peak = plan.groupby("scenario")["fte"].max().reindex(inputs.scenarios.index).fillna(0.0)
    n = pd.Series(whole_people(peak.to_numpy()), index=peak.index)
    if n.nunique() == 1:
        return f"at most {n.iat[0]:,} FTE in any week"
    return "at most " + ", ".join(f"{v:,} FTE if {w}" for w, v in n.items())


# ---------------------------------------------------------------------------------------------------
# whole people, and when each change is decided
# ---------------------------------------------------------------------------------------------------
def people_plan(inputs: Inputs, plan: pd.DataFrame) -> pd.DataFrame:
    """The plan's scenario rows in whole people (ROUNDING_RULE): ``people``, ``starters``, ``leavers`` and the
    week each change is decided (``start_decided`` = week - lead_weeks, ``leave_decided`` = week -
    notice_weeks, at least 1; 0 for a signed contract's pre-arranged committed level)."""
    p = scenarios(plan)[["scenario", "week", "region", "unit", "fte"]].copy()
    p["region"] = p["region"].fillna("")
    contract = is_contract(inputs, p)
    con, src = inputs.contracts, inputs.sources
    lead = np.where(contract, p["unit"].map(con["lead_weeks"]), p["unit"].map(src["lead_weeks"])).astype(int)
    notice = np.where(contract, p["unit"].map(con["notice_weeks"]), p["unit"].map(src["notice_weeks"])).astype(int)
    week = p["week"].to_numpy(int)
    p["start_decided"] = np.maximum(1, week - lead)
    p["leave_decided"] = np.maximum(1, week - notice)
    arranged = (contract & (p["unit"].map(con["status"]) == "signed").to_numpy()
                & p["unit"].map(con["committed_fte"]).notna().to_numpy()
                & (week == p["unit"].map(con["start_week"]).fillna(0).to_numpy(int)))
    p.loc[arranged, "start_decided"] = 0
    p["lead"], p["notice"], p["contract"] = lead, notice, contract
    units = list(con.index) + list(src.index)
    regions = list(inputs.regions.index) + [""]
    p["order"] = (p["region"].map({r: i for i, r in enumerate(regions)}) * len(units)
                  + p["unit"].map({u: i for i, u in enumerate(units)}))
    p = p.sort_values(["scenario", "order", "week"], kind="stable")
    p["people"] = whole_people(p["fte"])
    prev = p.groupby(["scenario", "region", "unit"], sort=False)["people"].shift(fill_value=0)
    p["starters"] = np.maximum(p["people"] - prev, 0)
    p["leavers"] = np.maximum(prev - p["people"], 0)
    return p.reset_index(drop=True)


def changes(people: pd.DataFrame) -> pd.DataFrame:
    """One row per (scenario, region, unit, week, change) with n > 0: change 'start' or 'leave', decided."""
    keys = ["scenario", "region", "unit", "week", "lead", "notice", "contract", "order"]
    start = people[people["starters"] > 0][keys + ["starters", "start_decided"]].rename(
        columns={"starters": "n", "start_decided": "decided"}).assign(change="start")
    leave = people[people["leavers"] > 0][keys + ["leavers", "leave_decided"]].rename(
        columns={"leavers": "n", "leave_decided": "decided"}).assign(change="leave")
    return pd.concat([start, leave], ignore_index=True).sort_values(["order", "week"], kind="stable")


def _amount(g: pd.DataFrame, scen: list) -> str:
    """'8' when every scenario has it, else '8 if low, 6 if high'."""
    n = g.set_index("scenario")["n"].reindex(scen).fillna(0).astype(int)
    return f"{n.iat[0]:,}" if n.nunique() == 1 else ", ".join(f"{v:,} if {w}" for w, v in n.items())


def _item(g: pd.DataFrame, scen: list) -> str:
    r = g.iloc[0]
    who = f"{r.unit} staff" if r.contract else r.unit
    n = _amount(g, scen)
    if r.change == "start":
        lag = f" (lead time {_weeks(r.lead)})" if r.lead > 0 else ""
        return f"{n} {who} starting week {r.week}{lag}"
    lag = f" (notice {_weeks(r.notice)})" if r.notice > 0 else ""
    return f"{n} {who} leaving in week {r.week}{lag}"


def _weeks(n) -> str:
    return f"{int(n)} week" + ("" if int(n) == 1 else "s")


def _items(ch: pd.DataFrame, scen: list) -> list[str]:
    return [_item(g, scen) for _, g in ch.groupby(["unit", "week", "change"], sort=False)]


# ---------------------------------------------------------------------------------------------------
# 2. this week, and what stays firm
# ---------------------------------------------------------------------------------------------------
def _this_week_section(inputs: Inputs, people: pd.DataFrame) -> list:
    reveal = inputs.settings.reveal_week
    scen = list(inputs.scenarios.index)
    ch = changes(people)
    T = plan_from(inputs)
    firm = ("the same in every scenario (decided before the scenario is known)" if reveal > T else
            f"the scenario is known from week {T}, so where they differ each scenario's figure is given")
    out = [heading(f"2. What to decide this week (week {T})"),
           text(f"A start in week t with lead time l is decided in week t - l; these are this week's decisions, "
                f"{firm}. {ROUNDING_RULE}")]
    if T > 1:
        out.append(text(f"The plan starts from week {T} (settings plan_from_week): weeks 1 to {T - 1}, and the "
                        f"later changes already decided before week {T}, are the input's sheet history (phase "
                        f"'history' in the tables); they are facts, not decisions, and are not listed here."))
    now, later = ch[ch["decided"] == T], ch[(ch["decided"] > T) & (ch["decided"] < reveal)]
    for region in list(inputs.regions.index) + [""]:
        mine_now, mine_later = now[now["region"] == region], later[later["region"] == region]
        if region == "" and mine_now.empty and mine_later.empty:
            continue
        items = _items(mine_now, scen) or ["nothing to start or end this week"]
        line = f"{region or 'contracts'}: " + "; ".join(items)
        if not mine_later.empty:
            line += ". Then, still before the scenario is known: " + "; ".join(_items(mine_later, scen))
        out.append(bullet(line + "."))
    return out + [text("Week by week, per region and source in whole people: sheet decisions.")]


# ---------------------------------------------------------------------------------------------------
# 3. contingent on the scenario
# ---------------------------------------------------------------------------------------------------
def _contingent_section(inputs: Inputs, people: pd.DataFrame) -> list:
    reveal = inputs.settings.reveal_week
    scen = list(inputs.scenarios.index)
    out = [heading("3. What depends on the scenario")]
    if len(scen) < 2:
        return out + [text("One scenario: nothing is contingent.")]
    ch = changes(people)
    ch = ch[ch["decided"] >= reveal]
    contingent = _differs(ch, scen)
    out.append(text(f"Decided from week {reveal} on, once the scenario is known; listed where the scenarios' "
                    f"plans differ, per scenario (+ starters, - leavers: whole people in total, between the first "
                    f"and last week named):"))
    # per scenario and unit, its starters and leavers in total with their first and last weeks, by one grouping
    by = contingent.groupby(["scenario", "order", "change"], sort=False).agg(
        n=("n", "sum"), lo=("week", "min"), hi=("week", "max"), unit=("unit", "first"), region=("region", "first"),
        contract=("contract", "first")).reset_index().sort_values(["order"], kind="stable")
    for w in scen:
        units: dict = {}   # order -> {change: its row}, in the order of the units
        for r in by[by["scenario"] == w].itertuples(index=False):
            units.setdefault(r.order, {})[r.change] = r
        items = [(max(r.n for r in u.values()), _contingent_item(u)) for u in units.values()]
        top = set(sorted(range(len(items)), key=lambda i: -items[i][0])[:TOP_CONTINGENT])
        line = "; ".join(x for i, (_, x) in enumerate(items) if i in top) or "nothing beyond what every scenario does"
        if len(items) > TOP_CONTINGENT:
            line += f"; and {len(items) - TOP_CONTINGENT} smaller (sheet decisions)"
        out.append(bullet(f"If {w}: {line}."))
    return out


def _differs(ch: pd.DataFrame, scen: list) -> pd.DataFrame:
    """The changes of the (region, unit) pairs whose changes are not the same in every scenario (a pair's
    rows together, the pairs in the order they first appear)."""
    if ch.empty:
        return ch.iloc[0:0]
    wide = ch.pivot_table(index=["region", "unit", "week", "change"], columns="scenario", values="n", aggfunc="sum",
                          fill_value=0).reindex(columns=scen, fill_value=0)
    differ = (wide.max(axis=1) != wide.min(axis=1)).groupby(level=["region", "unit"]).any()
    pair = ch.groupby(["region", "unit"], sort=False).ngroup().to_numpy()
    keep = pd.MultiIndex.from_frame(ch[["region", "unit"]]).isin(differ.index[differ.to_numpy()])
    rows = np.flatnonzero(keep)
    return ch.iloc[rows[np.argsort(pair[rows], kind="stable")]].reset_index(drop=True)


def _first_last(weeks) -> str:
    lo, hi = int(min(weeks)), int(max(weeks))
    return f"week {lo}" if lo == hi else f"weeks {lo}–{hi}"


def _contingent_item(unit: dict) -> str:
    """'north hire +10 (week 5), -2 (weeks 7–8)': starters and leavers of one unit, with their weeks (``unit``:
    {change: the unit's changes of that kind in total, ``n``, with their first and last weeks ``lo``, ``hi``})."""
    r = next(iter(unit.values()))
    where = r.unit if r.contract else f"{r.region} {r.unit}"
    parts = [f"{sign}{int(c.n):,} ({_first_last([c.lo, c.hi])})"
             for change, sign in (("start", "+"), ("leave", "-")) for c in [unit.get(change)] if c is not None]
    return f"{where} {', '.join(parts)}"


# ---------------------------------------------------------------------------------------------------
# 4. cost: cash apart from lost value; the range across scenarios
# ---------------------------------------------------------------------------------------------------
def cost_table(inputs: Inputs, tables) -> pd.DataFrame:
    """Per scenario (and expected): cash cost, lost value, total, share completed (from scenario_costs)."""
    sc = scenario_costs(inputs, tables.plan, tables.coverage, tables.contracts)
    sc["cash"] = sc[list(CASH_PARTS)].sum(axis=1)
    pi = sc["probability"]
    exp = {c: float((sc[c] * pi).sum()) for c in list(COST_PARTS) + ["cash", "total"]}
    cov = tables.coverage[tables.coverage["scenario"] == EXPECTED]
    demand = float(cov["demand"].sum())
    exp["completion_share"] = float(cov["completed"].sum()) / demand if demand > TOL else 1.0
    return pd.concat([sc, pd.DataFrame([{"scenario": EXPECTED, "probability": 1.0, **exp}])], ignore_index=True)


def _cost_section(inputs: Inputs, tables, money) -> list:
    sc = cost_table(inputs, tables)
    e = sc.iloc[-1]
    staff = e["contract_staff"] + e["regional_staff"]
    out = [heading("4. What it costs"),
           bullet(f"Expected cash cost: {money(e['cash'])} = staff {money(staff)} (contracts "
                  f"{money(e['contract_staff'])}, regional staff {money(e['regional_staff'])}) + onboarding "
                  f"{money(e['onboarding'])} + fixed contract costs {money(e['fixed'])}."),
           bullet(f"Notional lost value: {money(e['lost_value'])} expected, the value_per_task of the tasks left "
                  f"undone (work_types sheet). It is not spent: it is what the plan weighs staff against. "
                  f"Expected share of tasks completed: {_share(e['completion_share'])}."),
           bullet(_objective_sentence(inputs, tables, e, money))]
    per = sc.iloc[:-1]
    if len(per) > 1:
        out.append(bullet(_range_sentence(per, money)))
        out.append(bullet(_risk_sentence(inputs, tables, money)))
    shown = pd.DataFrame({"scenario": sc["scenario"], "probability": sc["probability"], "cash cost": sc["cash"],
                          "lost value (notional)": sc["lost_value"], "total cost": sc["total"],
                          "share of tasks completed": sc["completion_share"]})
    formats = {"probability": "share", "cash cost": "money", "lost value (notional)": "money",
               "total cost": "money", "share of tasks completed": "share"}
    return out + [table(shown, formats)]


def _objective_sentence(inputs: Inputs, tables, e, money) -> str:
    """What the plan minimised: the expected total cost, or (v2 section 4) its mix with the CVaR."""
    from capacity.model import risk

    lam = risk.weight(inputs)
    total = f"{money(e['total'])} = cash {money(e['cash'])} + lost value {money(e['lost_value'])}"
    if lam == 0:
        return f"The plan's objective, the expected total cost, is {total}."
    s = dict(zip(tables.summary["key"], tables.summary["value"]))
    return (f"This plan is risk-averse (settings risk_weight {lam:g}): it minimises {1 - lam:g} x the expected "
            f"total cost + {lam:g} x the CVaR at {risk.alpha(inputs):g}, = {money(s['objective'])}; its "
            f"expected total cost {total}; its CVaR {money(s['cvar'])}. A plan of risk_weight 0 would have an expected cost no "
            "higher and a CVaR no lower: `capacity compare --vary settings:risk_weight=0,0.5,1` draws the "
            "frontier between them.")


def _risk_sentence(inputs: Inputs, tables, money) -> str:
    """The CVaR and the worst scenario (sheet risk)."""
    from capacity.model import risk

    s = dict(zip(tables.summary["key"], tables.summary["value"]))
    a = risk.alpha(inputs)
    return (f"Risk: the CVaR at {a:g}, the expected cost over the worst {1 - a:.0%} of probability, is "
            f"{money(s['cvar'])}; the worst scenario, {s['worst_scenario']}, costs "
            f"{money(s['worst_scenario_cost'])} (sheet risk: each scenario's cost and how the plan weighs it).")


def worst_scenario(per: pd.DataFrame) -> str:
    """The scenario with the highest total cost (the first listed on a tie)."""
    return str(per.loc[per["total"].idxmax(), "scenario"])


def _range_sentence(per: pd.DataFrame, money) -> str:
    lo, hi = per.loc[per["cash"].idxmin()], per.loc[per["cash"].idxmax()]
    w = per.set_index("scenario").loc[worst_scenario(per)]
    return (f"Across the scenarios the cash cost runs from {money(lo['cash'])} ({lo['scenario']}) to "
            f"{money(hi['cash'])} ({hi['scenario']}), the total cost from {money(per['total'].min())} to "
            f"{money(per['total'].max())}. Worst case: {worst_scenario(per)}, total {money(w['total'])} (cash "
            f"{money(w['cash'])} + lost value {money(w['lost_value'])}), {_share(w['completion_share'])} of tasks "
            f"completed.")


# ---------------------------------------------------------------------------------------------------
# 5. bottlenecks; 6. glossary
# ---------------------------------------------------------------------------------------------------
def _bottleneck_section(inputs: Inputs, tables, money) -> list:
    H = inputs.settings.productive_hours
    out = [heading("5. Where the plan is short, and what would relieve it"),
           text(f"From the shadow_prices sheet ({len(tables.shadow_prices):,} rows) and the limits that bind: a "
                f"unit is short in a week when one more FTE's productive hours ({H:g} a week) are worth more than "
                f"its weekly pay and a limit stops the plan adding one. Ranked by value: the sum over those weeks "
                f"and scenarios of probability x (hour's shadow price x {H:g} - pay per FTE-week), what one more "
                f"FTE in each of those weeks would save in expected cost (for a contract's lock-in: probability "
                f"x its shadow price over the term, per committed FTE). Shadow prices are conditional on the "
                f"scenario.")]
    found = bottlenecks(inputs, tables, money)
    if not found:
        return out + [text("No unit is short: wherever a limit binds, one more FTE would not pay for itself.")]
    out += [bullet(f"{i}. {b.text}") for i, b in enumerate(found[:TOP_BOTTLENECKS], start=1)]
    if len(found) > TOP_BOTTLENECKS:
        out.append(text(f"Also short, of less value: {', '.join(b.label for b in found[TOP_BOTTLENECKS:])}."))
    return out


def _glossary_section(inputs: Inputs) -> list:
    return ([heading("6. Glossary: every column of the tables (and every key of summary)"), text(EXPECTED_MEANING),
             text(SHADOW_MEANING)] + [bullet(line) for line in glossary_lines(inputs.settings.currency)])
