"""Decision views of the plan workbook: the plan in whole people, week by week, with what is firm
and what depends on the scenario (issue 12, "Decision views").

:func:`decision_sheets` gives the sheets and charts:

* ``decisions``: region x source x (firm, or each scenario) x measure (in post, starting, leaving),
  one column per week, in whole people; it opens filtered on the first region;
* ``contracts_by_week``: the national view: each contract's staff in whole FTE by week, with its
  status word;
* ``contingent``: what changes from the firm plan once the scenario is known, one row per run of
  weeks, in words ("if high: +10 hire in north from week 5 (2020-06-22) to week 8 ...");
* ``rounding``: what whole people cost over the fractional optimum, per region and in total;
* ``charts``: one stacked column chart of expected FTE per kind of source, so that the contractors
  do not hide the local staff.

Whole people (read_me_first.ROUNDING_RULE, :func:`read_me_first.people_plan`, the one copy of the
rule): each week's headcount is rounded up, starting and leaving are the increase and decrease of
that rounded headcount, so in post(t) = in post(t-1) + starting(t) - leaving(t) in integers.

Firm (formulation.md eq 14): a change taking effect in week t with lag l (lead_weeks for a start,
notice_weeks for a departure: the source's for a regional unit, the contract's for a contract) is
decided in week t - l. A cell is firm when its decisions are taken before settings ``reveal_week``
and its whole-people value is the same in every scenario, and so is every earlier week of its row;
firm cells are shown once, the others per scenario.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.io.inputs import KINDS, Inputs
from capacity.output.read_me_first import ROUNDING_RULE, TOL, people_plan, whole_people
from capacity.output.report import ChartSpec, SheetSpec
from capacity.output.results import EXPECTED, NOT_SIGNED

FIRM = "all scenarios (firm)"
SAME = "all scenarios (decided later, same in each)"
MEASURES = ("in post", "starting", "leaving")
NATIONAL = "national (contracts)"
TOTAL = "total"
KIND_WORDS = {"contractor": "Contractor staff", "eho": "Council EHOs", "redeployed": "Redeployed staff",
              "hire": "Direct hires"}
#: regional kinds' charts stack at most this many regions (the rest are summed as "other regions")
MAX_SERIES = 12
CHART_ROWS = 18  # rows between two charts on the charts sheet (a chart is 320 pixels high)

_TOL_TEXT = f"{TOL:.6f}".rstrip("0")
RULE = (f"{ROUNDING_RULE} A headcount within {_TOL_TEXT} of a whole number counts as that number (solver noise "
        "adds nobody). Starting = the increase of the rounded headcount on the week before, leaving = its "
        "decrease (in post before week 1 is 0), so in post(t) = in post(t-1) + starting(t) - leaving(t) exactly, "
        "in whole people. The rounded plan is not re-solved: it costs more than the fractional optimum (sheet "
        "rounding) and may exceed an availability of a part of a person.")


def decision_sheets(inputs: Inputs, tables) -> tuple[list[SheetSpec], list[ChartSpec]]:
    """The decision sheets (decisions, contracts_by_week, contingent, rounding, charts) and the charts,
    hosted on the ``charts`` sheet (written only when there is a chart)."""
    people = people_frame(inputs, tables.plan)
    m = firm_cells(inputs, long_measures(inputs, people))
    sheets = [decisions_sheet(inputs, m[~m["contract"]]), contracts_sheet(inputs, tables, m[m["contract"]]),
              contingent_sheet(inputs, m), rounding_sheet(inputs, tables, people)]
    host, charts = kind_charts(inputs, tables)
    return (sheets + [host] if charts else sheets), charts


# ---------------------------------------------------------------------------------------------------
# whole people and what is firm
# ---------------------------------------------------------------------------------------------------
def week_label(inputs: Inputs, week: int) -> str:
    """'wk 3 (2020-06-08)': the week number and its Monday (start) date."""
    return f"wk {int(week)} ({inputs.settings.week_start(int(week)):%Y-%m-%d})"


def week_words(inputs: Inputs, week: int) -> str:
    """'week 3 (2020-06-08)'."""
    return f"week {int(week)} ({inputs.settings.week_start(int(week)):%Y-%m-%d})"


def people_frame(inputs: Inputs, plan: pd.DataFrame) -> pd.DataFrame:
    """people_plan (whole people per scenario, region, unit and week) in the workbook's scenario order, with
    the plan's fractional ``onboarded``, the unit's ``kind`` and its cost rates."""
    p = people_plan(inputs, plan)
    keys = ["scenario", "week", "region", "unit"]
    extra = plan[plan["scenario"] != EXPECTED][keys + ["onboarded", "kind"]].assign(
        region=lambda d: d["region"].fillna(""))
    p = p.merge(extra, on=keys, how="left", validate="one_to_one")
    scen = {w: i for i, w in enumerate(inputs.scenarios.index)}
    p["scenario_order"] = p["scenario"].map(scen)
    con, src = inputs.contracts, inputs.sources
    contract = p["contract"].to_numpy(bool)
    p["cost_per_fte_week"] = np.where(contract, p["unit"].map(con["cost_per_fte_week"]),
                                      p["unit"].map(src["cost_per_fte_week"])).astype(float)
    p["onboarding_cost"] = np.where(contract, 0.0, p["unit"].map(src["onboarding_cost"])).astype(float)
    return p.sort_values(["order", "scenario_order", "week"], kind="stable").reset_index(drop=True)


def long_measures(inputs: Inputs, people: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario, region, unit, measure and week: ``value`` (whole people), ``ahead`` (weeks a
    change is decided before it takes effect; NaN for in post) and ``lag_firm`` (decided before reveal_week)."""
    reveal = inputs.settings.reveal_week
    start = (people["start_decided"] < reveal).to_numpy()
    leave = (people["leave_decided"] < reveal).to_numpy()
    ids = people[["scenario", "scenario_order", "region", "unit", "kind", "contract", "order", "week"]]
    parts = [ids.assign(measure=measure, measure_order=i, value=people[col].to_numpy(int), ahead=ahead,
                        lag_firm=firm)
             for i, (measure, col, firm, ahead) in enumerate((
                 ("in post", "people", start & leave, np.nan),
                 ("starting", "starters", start, people["lead"].to_numpy(float)),
                 ("leaving", "leavers", leave, people["notice"].to_numpy(float))))]
    return pd.concat(parts, ignore_index=True)


def firm_cells(inputs: Inputs, m: pd.DataFrame) -> pd.DataFrame:
    """``firm``: decided before reveal_week, the same in every scenario, and so every earlier week of the row;
    ``same_unit``: there are several scenarios and the unit's every cell is the same in each."""
    n_scen = len(inputs.scenarios)
    cell = ["region", "unit", "measure", "week"]
    g = m.groupby(cell, sort=False)["value"]
    same = ((g.transform("max") == g.transform("min")) & (g.transform("size") == n_scen)).to_numpy()
    m = m.assign(same=same, ok=m["lag_firm"].to_numpy() & same)
    m = m.sort_values(["order", "measure_order", "scenario_order", "week"], kind="stable")
    m["firm"] = m.groupby(["region", "unit", "measure", "scenario"], sort=False)["ok"].cummin()
    m["same_unit"] = m.groupby(["region", "unit"], sort=False)["same"].transform("all") & (n_scen > 1)
    return m.drop(columns="ok").reset_index(drop=True)


def shown_rows(inputs: Inputs, m: pd.DataFrame) -> pd.DataFrame:
    """The cells each row shows, labelled: firm cells once (FIRM), the others once (SAME) when every scenario
    is the same, else per scenario. ``label_order``: FIRM, SAME, then the scenarios in the workbook's order."""
    first = inputs.scenarios.index[0]
    firm = m[m["firm"] & (m["scenario"] == first)].assign(label=FIRM, label_order=-2)
    later = m[~m["firm"]]
    same = later[later["same_unit"] & (later["scenario"] == first)].assign(label=SAME, label_order=-1)
    own = later[~later["same_unit"]]
    own = own.assign(label=own["scenario"], label_order=own["scenario_order"])
    return pd.concat([firm, same, own], ignore_index=True)


def wide(inputs: Inputs, shown: pd.DataFrame, measures=MEASURES) -> pd.DataFrame:
    """Rows (region, unit, label, measure) x one column per week (NaN where the row does not show that week):
    every measure of a (region, unit, label) block is a row, so that each block adds up."""
    keys = ["order", "region", "unit", "kind", "label_order", "label"]
    cells = shown.set_index(keys + ["measure", "week"])["value"].unstack("week")
    cells = cells.reindex(columns=inputs.weeks)
    blocks = shown[keys].drop_duplicates()
    full = blocks.loc[blocks.index.repeat(len(measures))].assign(measure=list(measures) * len(blocks))
    out = cells.reindex(pd.MultiIndex.from_frame(full)).reset_index()
    ahead = shown.groupby(["region", "unit", "measure"], sort=False)["ahead"].first()
    out["ahead"] = ahead.reindex(pd.MultiIndex.from_frame(out[["region", "unit", "measure"]])).to_numpy()
    out["measure_order"] = out["measure"].map({x: i for i, x in enumerate(measures)})
    out = out.sort_values(["order", "label_order", "measure_order"], kind="stable")
    return out.rename(columns={t: week_label(inputs, t) for t in inputs.weeks}).reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------
# sheet decisions: regional units
# ---------------------------------------------------------------------------------------------------
DECISION_IDS = ["Region", "Source", "Kind", "Scenario", "Measure (people)", "Decided (weeks ahead)"]


def decisions_sheet(inputs: Inputs, m: pd.DataFrame) -> SheetSpec:
    used = m.groupby(["region", "unit"], sort=False)["value"].transform("max") > 0
    w = wide(inputs, shown_rows(inputs, m[used.to_numpy()]))
    weeks = [week_label(inputs, t) for t in inputs.weeks]
    frame = pd.DataFrame({"Region": w["region"], "Source": w["unit"], "Kind": w["kind"], "Scenario": w["label"],
                          "Measure (people)": w["measure"], "Decided (weeks ahead)": w["ahead"]})
    frame = pd.concat([frame, w[weeks]], axis=1)
    first = str(frame["Region"].iloc[0] if len(frame) else inputs.regions.index[0])  # the first region staffed
    reveal = inputs.settings.reveal_week
    note = (f"What to staff in each region, week by week, in whole people. Opens filtered on region {first}: "
            f"choose another in the Region filter. {RULE} {_firm_text(reveal, 'sources')} Sources with nobody in "
            f"post in any week or scenario are left out. Columns: the week the change takes effect (its Monday).")
    return SheetSpec("decisions", frame, formats={"Decided (weeks ahead)": "int", **{c: "int" for c in weeks}},
                     note=note, freeze_cols=len(DECISION_IDS), filter={"Region": first},
                     header_notes=_id_notes(reveal, "sources", weeks[0] if weeks else None))


def _firm_text(reveal: int, whose: str) -> str:
    return (f"A start taking effect in week t with lead time l ({whose} lead_weeks) is decided in week t - l, a "
            f"departure with notice n ({whose} notice_weeks) in week t - n. Decided before week {reveal} "
            f"(settings reveal_week), when the scenario is not yet known, the plan is the same in every scenario: "
            f"rows '{FIRM}', shown once. Later weeks depend on the scenario: one row per scenario, or one row "
            f"'{SAME}' where every scenario's plan for that unit is the same.")


def _id_notes(reveal: int, whose: str, first_week: str | None) -> dict[str, str]:
    notes = {
        "Source": "The source of staff (sources sheet) in the region.",
        "Kind": "The source's kind: eho, redeployed or hire.",
        "Scenario": (f"'{FIRM}': decided before week {reveal} (settings reveal_week), the same in every scenario. "
                     f"'{SAME}': decided later but the same in every scenario. Otherwise the scenario the row is "
                     "for (its cells are blank where the firm row holds the figure)."),
        "Measure (people)": ("in post: whole people in post that week (the plan's FTE rounded up); starting: the "
                             "increase of in post on the week before; leaving: its decrease. in post = in post "
                             "the week before + starting - leaving."),
        "Decided (weeks ahead)": (f"How many weeks before the week it takes effect a change is decided: {whose} "
                                  "lead_weeks for starting, notice_weeks for leaving."),
    }
    if first_week:
        notes[first_week] = ("Whole people in the week starting on this Monday (one column per week). Blank: "
                             "shown on the row for all scenarios (firm) or on the scenarios' own rows.")
    return notes


# ---------------------------------------------------------------------------------------------------
# sheet contracts_by_week: the national view
# ---------------------------------------------------------------------------------------------------
def contracts_sheet(inputs: Inputs, tables, m: pd.DataFrame) -> SheetSpec:
    w = wide(inputs, shown_rows(inputs, m[m["measure"] == "in post"]), measures=("in post",))
    weeks = [week_label(inputs, t) for t in inputs.weeks]
    con = tables.contracts.set_index("contract")
    status = w["unit"].map(con["status"])
    level = pd.Series(whole_people(w["unit"].map(con["committed_fte"]).fillna(0.0)), index=w.index, dtype=float)
    frame = pd.DataFrame({"Contract": w["unit"], "Source": w["unit"].map(inputs.contracts["source"]),
                          "Status": status, "Scenario": w["label"],
                          "Committed level (whole FTE)": level.where(status != NOT_SIGNED)})
    frame = pd.concat([frame, w[weeks]], axis=1)
    reveal = inputs.settings.reveal_week
    note = (f"The contracts: staff each contract provides, week by week, in whole FTE (the plan's FTE rounded up, "
            f"as on sheet decisions). Status: 'signed before the plan' (the input says signed), 'signed by the "
            f"plan' (an option the plan signs), '{NOT_SIGNED}'. {_firm_text(reveal, 'contracts')}")
    notes = {"Source": "The contractor source whose staff the contract provides.",
             "Status": "signed before the plan / signed by the plan / offered, not signed.",
             "Committed level (whole FTE)": ("The level committed for the contract's initial term (the plan's L, "
                                             "rounded up); blank when not signed."),
             "Scenario": _id_notes(reveal, "contracts", None)["Scenario"]}
    if weeks:
        notes[weeks[0]] = "Whole FTE of the contract in the week starting on this Monday."
    return SheetSpec("contracts_by_week", frame,
                     formats={"Committed level (whole FTE)": "int", **{c: "int" for c in weeks}},
                     note=note, freeze_cols=5, header_notes=notes)


# ---------------------------------------------------------------------------------------------------
# sheet contingent: what changes from the firm plan once the scenario is known, in words
# ---------------------------------------------------------------------------------------------------
CONTINGENT_COLUMNS = ["Region", "Source", "Scenario", "From week", "To week", "Week starting",
                      "Change in people", "Largest change in people", "In post (people)", "Firm level (people)",
                      "Last firm week", "Sentence"]
_RUN_COLUMNS = ["region", "unit", "label", "order", "label_order", "contract", "from_week", "to_week", "change",
                "largest", "largest_week", "people", "level", "level_week"]


def contingent_runs(inputs: Inputs, m: pd.DataFrame) -> pd.DataFrame:
    """Runs of consecutive weeks after a unit's firm weeks where a scenario's whole people in post differ from
    the firm level (in post in the last firm week; 0 when no week is firm) in the same direction: the first
    and last week, the change in the first week, the largest change and its week, in post in the first week.
    A unit whose plan is the same in every scenario has its runs once (label SAME), else per scenario."""
    post = m[m["measure"] == "in post"]
    firm = post[post["firm"]]
    last = firm.groupby(["region", "unit"], sort=False)["week"].max()
    level = firm.sort_values("week").groupby(["region", "unit"], sort=False)["value"].last()
    p = shown_rows(inputs, post[~post["firm"]])
    p = p.sort_values(["order", "label_order", "week"], kind="stable").reset_index(drop=True)
    at = pd.MultiIndex.from_frame(p[["region", "unit"]])
    p["level"] = level.reindex(at).fillna(0).to_numpy(int)
    p["level_week"] = last.reindex(at).fillna(0).to_numpy(int)
    p["change"] = p["value"] - p["level"]
    sign = np.sign(p["change"])
    same_row = (p[["region", "unit", "label"]] == p[["region", "unit", "label"]].shift()).all(axis=1)
    p["run"] = ((sign != sign.shift()) | (p["week"].diff() != 1) | ~same_row).cumsum()
    p = p[sign != 0]
    if p.empty:
        return pd.DataFrame(columns=_RUN_COLUMNS)
    g = p.groupby("run", sort=False)
    out = g[["region", "unit", "label", "order", "label_order", "contract", "level", "level_week"]].first()
    out["from_week"], out["to_week"] = g["week"].min(), g["week"].max()
    out["change"], out["people"] = g["change"].first(), g["value"].first()
    big = p.loc[p["change"].abs().groupby(p["run"]).idxmax().reindex(out.index).to_numpy()]
    out["largest"], out["largest_week"] = big["change"].to_numpy(), big["week"].to_numpy()
    return _merge_scenarios(inputs, out)[_RUN_COLUMNS]


def _merge_scenarios(inputs: Inputs, runs: pd.DataFrame) -> pd.DataFrame:
    """Runs that are the same in several scenarios once, labelled 'low, high' (SAME when in every scenario)."""
    same = [c for c in _RUN_COLUMNS if c not in ("label", "label_order")]
    g = runs.groupby(same, sort=False)
    out = g["label_order"].min().rename("label_order").reset_index()
    labels = g["label"].agg(list).to_numpy()
    n = len(inputs.scenarios)
    out["label"] = [SAME if len(x) == n and n > 1 else ", ".join(x) for x in labels]
    return out.sort_values(["order", "label_order", "from_week"], kind="stable").reset_index(drop=True)


def contingent_sentence(inputs: Inputs, r) -> str:
    """'if high: +10 hire in north from week 5 (2020-06-22) to week 8: 14 in post against 4 in week 3, the
    last firm week'."""
    who = f"{r.unit} staff (national contract)" if r.contract else f"{r.unit} in {r.region}"
    when = (f"in {week_words(inputs, r.from_week)}" if r.from_week == r.to_week else
            f"from {week_words(inputs, r.from_week)} to week {int(r.to_week)}")
    base = (f"against {int(r.level):,} in week {int(r.level_week)}, the last firm week" if r.level_week > 0 else
            "no week of it is firm")
    text = f"{int(r.change):+,} {who} {when}: {int(r.people):,} in post, {base}"
    if r.largest != r.change:
        text += f"; {'at most' if r.largest > 0 else 'down to'} {int(r.largest):+,} (week {int(r.largest_week)})"
    scen = r.label.split(", ")
    head = "in every scenario" if r.label == SAME else "if " + (
        scen[0] if len(scen) == 1 else ", ".join(scen[:-1]) + " or " + scen[-1])
    return f"{head}: {text}"


def contingent_sheet(inputs: Inputs, m: pd.DataFrame) -> SheetSpec:
    runs = contingent_runs(inputs, m)
    frame = pd.DataFrame({
        "Region": np.where(runs["contract"].astype(bool), NATIONAL, runs["region"]), "Source": runs["unit"],
        "Scenario": runs["label"], "From week": runs["from_week"], "To week": runs["to_week"],
        "Week starting": [inputs.settings.week_start(int(t)) for t in runs["from_week"]],
        "Change in people": runs["change"], "Largest change in people": runs["largest"],
        "In post (people)": runs["people"], "Firm level (people)": runs["level"],
        "Last firm week": runs["level_week"].where(runs["level_week"] > 0),
        "Sentence": [contingent_sentence(inputs, r) for r in runs.itertuples(index=False)]},
        columns=CONTINGENT_COLUMNS)
    reveal = inputs.settings.reveal_week
    note = (f"What depends on the scenario: after a unit's firm weeks (decided before week {reveal}, settings "
            f"reveal_week), where a scenario's whole people in post differ from the firm level (in post in the "
            f"last firm week), one row per run of consecutive weeks in which the difference keeps its direction; "
            f"'+' = more people than the firm level, '-' = fewer. '{SAME}': the same in every scenario, listed "
            f"once. Contracts are listed as region '{NATIONAL}'. Week by week: sheets decisions and "
            f"contracts_by_week." + ("" if len(frame) else " Nothing changes after the firm weeks."))
    ints = ["From week", "To week", "Change in people", "Largest change in people", "In post (people)",
            "Firm level (people)", "Last firm week"]
    notes = {"Scenario": f"The scenario; '{SAME}' when every scenario's plan for the unit is the same.",
             "Change in people": "In post in this scenario - the firm level, in the run's first week.",
             "Largest change in people": "The largest difference in the run (its week is in the sentence).",
             "Firm level (people)": "Whole people in post in the unit's last firm week (0 when no week is firm).",
             "Last firm week": "The last week whose headcount is decided before reveal_week (blank: none).",
             "Week starting": "The Monday of the run's first week."}
    return SheetSpec("contingent", frame, formats={**{c: "int" for c in ints}, "Week starting": "date"},
                     note=note, freeze_cols=3, header_notes=notes)


# ---------------------------------------------------------------------------------------------------
# sheet rounding: the cost of whole people
# ---------------------------------------------------------------------------------------------------
def rounding_costs(inputs: Inputs, people: pd.DataFrame) -> pd.DataFrame:
    """Per region (NATIONAL for contracts, then TOTAL) and scenario: FTE-weeks, person-weeks, the extra staff
    cost (person-weeks - FTE-weeks) x cost_per_fte_week, the extra onboarding cost (starters - onboarded) x
    onboarding_cost, their sum ``extra``, and the plan's staff cost of those units."""
    p = people.assign(area=np.where(people["contract"], NATIONAL, people["region"]))
    p["fte_weeks"] = p["fte"]
    p["person_weeks"] = p["people"].astype(float)
    p["extra_staff"] = (p["people"] - p["fte"]) * p["cost_per_fte_week"]
    p["extra_onboarding"] = (p["starters"] - p["onboarded"]) * p["onboarding_cost"]
    p["plan_cost"] = p["fte"] * p["cost_per_fte_week"] + p["onboarded"] * p["onboarding_cost"]
    cols = ["fte_weeks", "person_weeks", "extra_staff", "extra_onboarding", "plan_cost"]
    by = p.groupby(["area", "scenario"], sort=False)[cols].sum().reset_index()
    total = by.groupby("scenario", sort=False)[cols].sum().reset_index().assign(area=TOTAL)
    by = pd.concat([by, total], ignore_index=True)
    by["extra"] = by["extra_staff"] + by["extra_onboarding"]
    areas = [r for r in inputs.regions.index if r in set(by["area"])] + [a for a in (NATIONAL, TOTAL)
                                                                          if a in set(by["area"])]
    by["area_order"] = by["area"].map({a: i for i, a in enumerate(areas)})
    by["probability"] = by["scenario"].map(inputs.scenarios["probability"]).astype(float)
    return by.sort_values(["area_order", "scenario"], kind="stable").reset_index(drop=True)


def rounding_sheet(inputs: Inputs, tables, people: pd.DataFrame) -> SheetSpec:
    by = rounding_costs(inputs, people)
    cur = inputs.settings.currency
    weighted = by[["fte_weeks", "person_weeks", "extra_staff", "extra_onboarding", "extra", "plan_cost"]].mul(
        by["probability"], axis=0).groupby(by["area_order"]).sum()
    per = by.pivot_table(index="area_order", columns="scenario", values="extra", aggfunc="sum")
    areas = by.drop_duplicates("area_order").set_index("area_order")["area"]
    frame = pd.DataFrame({
        "Region": areas,
        "FTE-weeks in the plan (expected)": weighted["fte_weeks"],
        "Person-weeks in whole people (expected)": weighted["person_weeks"],
        f"Extra staff cost (expected, {cur})": weighted["extra_staff"],
        f"Extra onboarding cost (expected, {cur})": weighted["extra_onboarding"],
        f"Cost of rounding (expected, {cur})": weighted["extra"]})
    for w in inputs.scenarios.index:
        frame[f"Cost of rounding if {w} ({cur})"] = per[w] if w in per else 0.0
    cost = weighted["plan_cost"]
    frame["Cost of rounding as share of the plan's staff cost"] = (weighted["extra"] / cost.where(cost > TOL))
    money = [c for c in frame.columns if c.startswith(("Extra", "Cost of rounding (", "Cost of rounding if"))]
    note = (f"What whole people cost over the plan's fractional optimum. {RULE} Extra staff cost = (people - FTE) "
            f"x cost_per_fte_week, summed over weeks and units (sources' rates, contracts' rates for "
            f"'{NATIONAL}'); extra onboarding cost = (starters in whole people - the plan's starters) x "
            f"onboarding_cost. Expected = the sum over the scenarios of probability x the scenario's figure; "
            f"'{TOTAL}' = every region and the contracts. Fixed contract costs are unchanged by rounding.")
    notes = {"FTE-weeks in the plan (expected)": "The plan's FTE summed over weeks and units (probability-weighted).",
             "Person-weeks in whole people (expected)": "Whole people in post summed over weeks and units.",
             f"Cost of rounding (expected, {cur})": "Extra staff cost + extra onboarding cost.",
             "Cost of rounding as share of the plan's staff cost": ("Cost of rounding / the plan's staff and "
                                                                    "onboarding cost of the same units.")}
    return SheetSpec("rounding", frame.reset_index(drop=True),
                     formats={**{c: "money" for c in money}, "FTE-weeks in the plan (expected)": "fte",
                              "Person-weeks in whole people (expected)": "fte",
                              "Cost of rounding as share of the plan's staff cost": "share"},
                     note=note, freeze_cols=1, header_notes=notes)


# ---------------------------------------------------------------------------------------------------
# charts: expected FTE per kind of source
# ---------------------------------------------------------------------------------------------------
def kind_series(inputs: Inputs, tables) -> dict[str, tuple[str, pd.DataFrame]]:
    """{kind: (what the series are, week x series of expected FTE)} for each kind with any expected FTE:
    contracts for contractor staff; regions for the other kinds (the largest MAX_SERIES - 1 by FTE-weeks, the
    rest summed as 'other regions')."""
    exp = tables.plan[tables.plan["scenario"] == EXPECTED]
    out = {}
    for kind in KINDS:
        rows = exp[exp["kind"] == kind]
        by = "unit" if kind == "contractor" else "region"
        data = rows.pivot_table(index="week", columns=by, values="fte", aggfunc="sum", sort=False)
        data = data.reindex(index=inputs.weeks).fillna(0.0)
        data = data.loc[:, data.sum() > TOL]
        if data.empty:
            continue
        if data.shape[1] > MAX_SERIES:
            keep = data.sum().sort_values(ascending=False).index[: MAX_SERIES - 1]
            rest = data.drop(columns=keep).sum(axis=1)
            data = data[[c for c in data.columns if c in set(keep)]].assign(**{"other regions": rest})
        out[kind] = ("contract" if kind == "contractor" else "region",
                     data.rename_axis("week").reset_index().rename(columns=str))
    return out


def kind_charts(inputs: Inputs, tables) -> tuple[SheetSpec, list[ChartSpec]]:
    """The ``charts`` sheet (a small table: one row per chart) and one stacked column chart per kind."""
    rows, charts = [], []
    for i, (kind, (series, data)) in enumerate(kind_series(inputs, tables).items()):
        total = data.drop(columns="week").sum(axis=1)
        title = f"{KIND_WORDS.get(kind, kind)}: expected FTE by {series}"
        rows.append({"Chart": title, "Kind": kind, "Series": f"one per {series}",
                     "Peak expected FTE": float(total.max()), "Peak week": int(data["week"][total.idxmax()]),
                     "Expected FTE-weeks": float(total.sum())})
        charts.append(ChartSpec("charts", f"H{2 + i * CHART_ROWS}", "column_stacked", title, data,
                                y_title="FTE", x_title=f"week (week 1 starts {inputs.settings.start_date:%Y-%m-%d})"))
    frame = pd.DataFrame(rows, columns=["Chart", "Kind", "Series", "Peak expected FTE", "Peak week",
                                        "Expected FTE-weeks"])
    note = ("Expected (probability-weighted) FTE by week, one chart per kind of source, each on its own scale so "
            "that the contractors do not hide the local staff. The charts' data are on sheet chart_data.")
    return SheetSpec("charts", frame, formats={"Peak expected FTE": "fte", "Peak week": "int",
                                               "Expected FTE-weeks": "fte"}, note=note), charts
