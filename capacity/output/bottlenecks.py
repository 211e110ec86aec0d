"""Where the plan is short, in plain words, ranked by value: the bottlenecks of
the ``read_me_first`` sheet.

Derived from the shadow prices and the rows where a limit binds:

- a unit is **short** in a row of ``hours`` (eq 10/11) when one more FTE's
  productive hours are worth more than its weekly cost (shadow price x H >
  cost_per_fte_week) *and* a limit stops the plan adding one: availability
  (eq 7), the lead time (eq 6/2), the onboarding ramp (eq 9/5), a contract's
  maximum or its initial term (eq 3/4), or a trainer or supervisor that is
  itself short. Rows priced high for other reasons (onboarding costs, minimum
  terms) are not shortages and are left out;
- a contract's **lock-in** (eq 4) is a bottleneck when its expected shadow
  price over the initial term is not zero.

Value, the ranking: for a short unit, the sum over its short rows of
probability x (shadow price x H - cost per FTE-week), what one more FTE in each
of those weeks would save in expected cost; for a lock-in, |sum over the term
of probability x shadow price|, per committed FTE. The levers are the
families' own (:mod:`capacity.model.registry`: remedy_inputs and cells).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capacity.analysis.diagnose.text import compress_cells, names, pct, week_ranges
from capacity.io.inputs import Inputs
from capacity.model.recheck import is_contract, scenarios, work_with_terms
from capacity.model.registry import family

TOL = 1e-6
HOURS_LABEL = family("hours.regional").dual.label
LOCK_LABEL = family("contracts.lock_in").dual.label
#: what stops the plan adding staff -> the family that says so
CAP_FAMILY = {"availability": "regional.availability", "lead": "regional.lead", "ramp": "regional.ramp",
              "max_fte": "contracts.size_max", "term": "contracts.lock_in", "window": "contracts.window",
              "contract_ramp": "contracts.ramp_up"}


@dataclass
class Bottleneck:
    region: str          # '' for a contract, or for a lead time (the source's, in every region)
    unit: str
    value: float         # the ranking value (expected money)
    text: str
    cells: list[str]     # the input cells named in ``text``
    label: str = ""      # a short name: 'north eho', 'redeployed lead time', 'contract c'



def bottlenecks(inputs: Inputs, tables, money) -> list[Bottleneck]:
    """Every bottleneck, highest value first; ``money(x, dp)`` formats an amount."""
    found = _hours_bottlenecks(inputs, tables, money) + _lock_in_bottlenecks(inputs, tables, money)
    return sorted(found, key=lambda b: -b.value)


# ---------------------------------------------------------------------------------------------------
# short units (hours, eq 10/11)
# ---------------------------------------------------------------------------------------------------
def short_rows(inputs: Inputs, tables) -> pd.DataFrame:
    """The hours rows where a unit is short: the plan's row, the shadow ``price``, ``net`` = price x H - cost
    per FTE-week, the binding limit ``cap`` and, for a unit short because its trainer or supervisor is, the
    ``owner`` (the unit whose limit it is; else the unit itself) and the owner's cap."""
    sp = tables.shadow_prices
    keys = ["scenario", "week", "region", "unit"]
    rows = sp.loc[sp["constraint"] == HOURS_LABEL, keys + ["value"]].rename(columns={"value": "price"})
    if rows.empty:
        return rows.assign(cap="", net=0.0, owner="", owner_cap="", pi=0.0)
    plan = scenarios(tables.plan).assign(region=lambda d: d["region"].fillna(""))
    rows = rows.assign(region=rows["region"].fillna("")).merge(plan, on=keys, how="left")
    contract = is_contract(inputs, rows)
    rows["cost"] = np.where(contract, rows["unit"].map(inputs.contracts["cost_per_fte_week"]),
                            rows["unit"].map(inputs.sources["cost_per_fte_week"])).astype(float)
    rows["net"] = rows["price"].to_numpy(float) * inputs.settings.productive_hours - rows["cost"].to_numpy()
    rows = rows[rows["net"] > TOL * np.maximum(1.0, rows["cost"].to_numpy())].copy()
    contract = is_contract(inputs, rows)
    con = tables.contracts
    signed = rows["unit"].isin(con.loc[con["signed"].astype(bool), "contract"]).to_numpy()
    rows["cap"] = np.where(contract, np.where(signed, _contract_caps(inputs, rows), ""),
                           _regional_caps(inputs, rows))
    rows = _owners(inputs, rows)
    rows = rows[rows["owner_cap"] != ""]
    rows["pi"] = rows["scenario"].map(inputs.scenarios["probability"]).astype(float)
    return rows.reset_index(drop=True)


def _availability(inputs: Inputs, rows: pd.DataFrame) -> np.ndarray:
    av = _availability_table(inputs)
    idx = pd.MultiIndex.from_arrays([rows["unit"], rows["region"], rows["week"]])
    return av.reindex(idx).fillna(0.0).to_numpy(float)


def _availability_table(inputs: Inputs) -> pd.Series:
    return inputs.availability.set_index(["source", "region", "week"])["fte"]


def _regional_caps(inputs: Inputs, rows: pd.DataFrame) -> np.ndarray:
    src = inputs.sources
    fte = rows["fte"].fillna(0.0).to_numpy(float)
    week = rows["week"].to_numpy(int)
    ramp = rows["unit"].map(src["max_increase_per_week"]).astype(float).to_numpy()
    lead = rows["unit"].map(src["lead_weeks"]).fillna(0).to_numpy(int)
    return np.select([fte >= _availability(inputs, rows) - TOL, week < 1 + lead,
                      ~np.isnan(ramp) & (rows["onboarded"].fillna(0.0).to_numpy(float) >= ramp - TOL)],
                     ["availability", "lead", "ramp"], "")


def _contract_caps(inputs: Inputs, rows: pd.DataFrame) -> np.ndarray:
    col = {c: rows["unit"].map(inputs.contracts[c]) for c in ("max_fte", "start_week", "min_term_weeks",
                                                              "lead_weeks", "max_increase_per_week")}
    fte, week = rows["fte"].fillna(0.0).to_numpy(float), rows["week"].to_numpy(int)
    start, term = col["start_week"].fillna(1).to_numpy(int), col["min_term_weeks"].fillna(0).to_numpy(int)
    ramp = col["max_increase_per_week"].astype(float).to_numpy()
    return np.select([fte >= col["max_fte"].astype(float).to_numpy() - TOL,
                      (week >= start) & (week < start + term),
                      (week < start) | (week < 1 + col["lead_weeks"].fillna(0).to_numpy(int)),
                      ~np.isnan(ramp) & (rows["onboarded"].fillna(0.0).to_numpy(float) >= ramp - TOL)],
                     ["max_fte", "term", "window", "contract_ramp"], "")


def _owners(inputs: Inputs, rows: pd.DataFrame) -> pd.DataFrame:
    """A regional unit with no limit of its own is short because its trainer or supervisor is (itself short
    with a limit, followed along a chain of trainers): its rows are that giver's."""
    src = inputs.sources
    owner, owner_cap = rows["unit"].to_numpy(object).copy(), rows["cap"].to_numpy(object).copy()
    at = [rows["scenario"].to_numpy(object), rows["week"].to_numpy(), rows["region"].to_numpy(object)]
    regional = rows["unit"].isin(src.index).to_numpy()
    givers = {who: rows["unit"].map(src[who]).to_numpy(object) for who in ("trainer", "supervisor")}
    for _ in range(len(src)):   # a chain of trainers is at most as long as the sources list
        has = owner_cap != ""
        capped = pd.Series(owner_cap[has], index=pd.MultiIndex.from_arrays([a[has] for a in at] + [owner[has]]))
        capped = capped[~capped.index.duplicated(keep="last")]
        open_ = np.flatnonzero(~has & regional)
        if not len(open_):
            break
        changed = False
        found = np.zeros(len(open_), dtype=bool)
        for who in ("trainer", "supervisor"):
            giver = givers[who][open_]
            ok = ~found & np.array([isinstance(x, str) for x in giver], dtype=bool)
            idx = pd.MultiIndex.from_arrays([a[open_] for a in at] + [giver])
            cap = capped.reindex(idx).to_numpy(object)
            hit = ok & pd.notna(cap)
            owner[open_[hit]], owner_cap[open_[hit]] = giver[hit], cap[hit]
            found |= hit
            changed = changed or bool(hit.any())
        if not changed:
            break
    return rows.assign(owner=owner, owner_cap=owner_cap)


class _Context:
    """What every phrase of a short unit reads: the input, the scenario rows of the tables, money format,
    and the tables indexed once, so that a phrase reads only its own rows (not the whole tables per unit)."""

    def __init__(self, inputs: Inputs, tables, money):
        self.inputs, self.money = inputs, money
        self.plan = scenarios(tables.plan).assign(region=lambda d: d["region"].fillna(""))
        self.work = work_with_terms(inputs, tables.work).reset_index(drop=True)
        self.coverage = scenarios(tables.coverage).reset_index(drop=True)
        av = _availability_table(inputs)
        self.av = dict(zip(av.index, av.fillna(0.0).to_numpy(float)))   # (source, region, week) -> FTE
        self.in_post = dict(zip(zip(self.plan["scenario"], self.plan["week"], self.plan["region"], self.plan["unit"]),
                                self.plan["fte"].fillna(0.0).to_numpy(float)))
        self._scen = {w: i for i, w in enumerate(inputs.scenarios.index)}
        self._weeks = int(max(inputs.weeks, default=0)) + 1
        self._work_codes, self._cov_codes = self._codes(self.work), self._codes(self.coverage)
        self._work = self.work[["work_type", "task_hours"]]
        self._cov = self.coverage[["region", "completed", "demand"]]
        self._work_at = self.work.groupby(["unit", "region"], sort=False).indices
        self._work_of = self.work.groupby("unit", sort=False).indices
        self._cov_of = self.coverage.groupby("region", sort=False).indices
        self._cov_pair = self.coverage.groupby(self._cov_codes, sort=False).indices
        # a coverage row whose completion target (eq 13) is held at its floor
        mcs = inputs.work_types["min_completion_share"].fillna(0.0)
        floor = self.coverage["work_type"].map(mcs).to_numpy(float) * self.coverage["demand"].to_numpy(float)
        self.cov_held = ((self.coverage["completed"].to_numpy(float) <= floor + TOL * np.maximum(1.0, floor))
                         & (floor > TOL))
        self.cov_type = self.coverage["work_type"].to_numpy(object)
        src = inputs.sources
        self.dependants = {u: [s for s in src.index if u in (src.at[s, "trainer"], src.at[s, "supervisor"])]
                           for u in src.index}

    def _codes(self, frame: pd.DataFrame) -> np.ndarray:
        """One integer per (scenario, week) pair (-1: a scenario not in the input)."""
        scen = frame["scenario"].map(self._scen).fillna(-1).to_numpy(np.int64)
        return np.where(scen >= 0, scen * self._weeks + frame["week"].to_numpy(np.int64), -1)

    def pairs(self, g: pd.DataFrame) -> np.ndarray:
        """The (scenario, week) codes of the short rows ``g`` (their column ``pair``, :meth:`with_pairs`)."""
        return np.unique(g["pair"].to_numpy())

    def with_pairs(self, rows: pd.DataFrame) -> pd.DataFrame:
        return rows.assign(pair=self._codes(rows))

    def available(self, units, regions, weeks) -> np.ndarray:
        """Available FTE per (unit, region, week) (0 without an availability row)."""
        av = self.av
        return np.array([av.get(k, 0.0) for k in zip(units, regions, weeks)], dtype=float)

    def work_rows(self, unit: str, region: str, g: pd.DataFrame) -> pd.DataFrame:
        """The unit's work rows (in its region; a contract's in every region) in the (scenario, week) pairs of
        ``g``, in the table's order."""
        pos = self._work_at.get((unit, region)) if region else self._work_of.get(unit)
        if pos is None:
            return self._work.iloc[:0]
        return self._work.iloc[pos[np.isin(self._work_codes[pos], self.pairs(g))]]

    def coverage_rows(self, region: str, g: pd.DataFrame) -> np.ndarray:
        """Positions of the coverage rows of ``region`` ('': every region) in the pairs of ``g``, in order."""
        if region:
            pos = self._cov_of.get(region, np.array([], dtype=np.intp))
            return pos[np.isin(self._cov_codes[pos], self.pairs(g))]
        blocks = [self._cov_pair[c] for c in self.pairs(g) if c in self._cov_pair]
        return np.sort(np.concatenate(blocks)) if blocks else np.array([], dtype=np.intp)


#: a lead time is the source's, not the region's: its rows are grouped over the regions
_ACROSS_REGIONS = ("lead",)


def _hours_bottlenecks(inputs: Inputs, tables, money) -> list[Bottleneck]:
    rows = short_rows(inputs, tables)
    if rows.empty:
        return []
    ctx = _Context(inputs, tables, money)
    rows = ctx.with_pairs(rows)
    rows["place"] = np.where(rows["owner_cap"].isin(_ACROSS_REGIONS), "*", rows["region"])
    out = []
    for (place, unit, cap), g in rows.groupby(["place", "owner", "owner_cap"], sort=False):
        own = g[g["unit"] == unit]
        helped = g[g["unit"] != unit]
        held = _targets_held(ctx, own) if place != "*" else []
        cells: list[str] = []
        levers = _levers(ctx, own, cap, held, cells)
        value = float((g["pi"] * g["net"]).sum())
        parts = [_headline(ctx, own, cap), _price(ctx, own)]
        if place != "*":
            parts += [_usage(ctx, own), _held_text(ctx, held), _dependants(ctx, own, helped), _effect(ctx, own)]
        parts += [f"Relieve by: {'; or '.join(levers)}." if levers else "", f"Value {money(value)}."]
        region = "" if place == "*" else place
        label = f"{unit} lead time" if place == "*" else f"{region} {unit}" if region else f"contract {unit}"
        out.append(Bottleneck(region, unit, value, " ".join(p for p in parts if p), cells, label))
    return out


def when(inputs: Inputs, g: pd.DataFrame) -> str:
    """'weeks 1–3' (one scenario), 'weeks 1–3 in every scenario', or 'weeks 3–5 if high; week 1 if low'."""
    if len(inputs.scenarios) == 1:
        return week_ranges(g["week"])
    scen, week = g["scenario"].to_numpy(), g["week"].to_numpy()
    by = {w: week_ranges(week[scen == w]) for w in inputs.scenarios.index if (scen == w).any()}
    if len(by) == len(inputs.scenarios) and len(set(by.values())) == 1:
        return f"{next(iter(by.values()))} in every scenario"
    return "; ".join(f"{weeks} if {w}" for w, weeks in by.items())


def _headline(ctx: _Context, g: pd.DataFrame, cap: str) -> str:
    region, unit = g["region"].iat[0], g["unit"].iat[0]
    if cap in _ACROSS_REGIONS:
        present = set(g["region"])
        regions = [r for r in ctx.inputs.regions.index if r in present]
        where = f"{unit} in {'every region' if len(regions) == len(ctx.inputs.regions) else names(regions)}"
    else:
        where = f"{region}, {unit}" if region else f"contract {unit}"
    return f"{where}, {when(ctx.inputs, g)}: {_cap_phrase(ctx.inputs, g, cap, unit, ctx)}."


def _price(ctx: _Context, g: pd.DataFrame) -> str:
    top = g.loc[g["price"].idxmax()]
    H = ctx.inputs.settings.productive_hours
    pay = f", against {ctx.money(float(top['cost']) / H, 2)} an hour of pay" if H > 0 else ""
    return f"An extra productive hour is worth up to {ctx.money(float(top['price']), 2)}{pay}."


def _cap_phrase(inputs: Inputs, g: pd.DataFrame, cap: str, unit: str, ctx: "_Context | None" = None) -> str:
    src, con = inputs.sources, inputs.contracts
    if cap == "availability":
        avail = _availability(inputs, g) if ctx is None else ctx.available(g["unit"], g["region"], g["week"])
        return f"every available {unit} is in post ({_span(avail)} FTE)"
    if cap == "lead":
        lead = int(src.at[unit, "lead_weeks"])
        return f"nobody can start before week {1 + lead} (lead time {lead} week{'s' * (lead != 1)})"
    if cap == "ramp":
        return f"onboarding is at its limit of {fte(src.at[unit, 'max_increase_per_week'])} a week"
    if cap == "max_fte":
        return f"the contract is at its maximum of {fte(con.at[unit, 'max_fte'])} FTE"
    if cap == "term":
        return "the initial term holds the contract at its committed level when more staff would pay"
    if cap == "window":
        first = max(int(con.at[unit, "start_week"]), 1 + int(con.at[unit, "lead_weeks"]))
        return f"the contract cannot add staff before week {first}"
    return f"additions are at the limit of {fte(con.at[unit, 'max_increase_per_week'])} a week"


def fte(x: float) -> str:
    """An FTE or head count in words: 2202.4 -> '2,202.4', 8.0 -> '8'."""
    r = round(float(x), 1)
    return f"{r:,.0f}" if r.is_integer() else f"{r:,.1f}"


def _span(values) -> str:
    lo, hi = float(np.min(values)), float(np.max(values))
    return fte(lo) if abs(hi - lo) < 0.05 else f"{fte(lo)}–{fte(hi)}"


def _usage(ctx: _Context, g: pd.DataFrame) -> str:
    """What the unit's productive hours go to in its short rows."""
    unit, region = g["unit"].iat[0], g["region"].iat[0]
    productive = float(g["fte"].fillna(0.0).sum()) * ctx.inputs.settings.productive_hours
    if productive <= TOL:
        return ""
    wk = ctx.work_rows(unit, region, g)
    shares = [(k, h / productive) for k, h in wk.groupby("work_type", sort=False)["task_hours"].sum().items()]
    shares += [("training", float(g["training_hours"].fillna(0.0).sum()) / productive),
               ("supervising", float(g["supervision_hours"].fillna(0.0).sum()) / productive)]
    shares = sorted([(k, s) for k, s in shares if s >= 0.005], key=lambda x: -x[1])
    return ("Their hours go to " + ", ".join(f"{k} {pct(round(s, 2))}" for k, s in shares) + ".") if shares else ""


def _targets_held(ctx: _Context, g: pd.DataFrame) -> list[str]:
    """Work types the unit does whose completion target (eq 13) is held at its floor in the unit's short rows."""
    unit, region = g["unit"].iat[0], g["region"].iat[0]
    mcs = ctx.inputs.work_types["min_completion_share"].fillna(0.0)
    wk = ctx.work_rows(unit, region, g)
    cov = ctx.coverage_rows(region, g)
    held_rows = ctx.cov_held[cov]
    types = ctx.cov_type[cov]
    return [k for k in dict.fromkeys(wk["work_type"]) if mcs.get(k, 0.0) > 0 and (held_rows & (types == k)).any()]


def _held_text(ctx: _Context, held: list[str]) -> str:
    mcs, o = ctx.inputs.work_types["min_completion_share"], ctx.inputs.origin
    return "; ".join(f"{k} is held at its {pct(mcs[k])} completion target "
                     f"({o.cell('work_types', k, 'min_completion_share')})" for k in held) + "." if held else ""


def _dependants(ctx: _Context, g: pd.DataFrame, helped: pd.DataFrame) -> str:
    """Sources this unit trains or supervises: how many of those available are in post in its short rows."""
    unit, region = g["unit"].iat[0], g["region"].iat[0]
    if not region:
        return ""
    out = []
    scen, week, reg = g["scenario"].to_numpy(), g["week"].to_numpy(), g["region"].to_numpy()
    for s in ctx.dependants.get(unit, []):
        avail = ctx.available([s] * len(g), reg, week)
        got = np.array([ctx.in_post.get((w, t, r, s), 0.0) for w, t, r in zip(scen, week, reg)], dtype=float)
        if avail.mean() - got.mean() > 0.05:
            out.append(f"{s} ({fte(got.mean())} of {fte(avail.mean())} available in post, on average)")
    if not out:
        return ""
    short = list(dict.fromkeys(helped["unit"]))
    also = f"; the value includes what more {names(short)} would then be worth" if short else ""
    return f"They train or supervise {names(out)}{also}."


def _effect(ctx: _Context, g: pd.DataFrame) -> str:
    """The region's completion share in those weeks against the other regions'."""
    region = g["region"].iat[0]
    if not region or len(ctx.inputs.regions) < 2:
        return ""
    by_r = ctx._cov.iloc[ctx.coverage_rows("", g)].groupby("region")[["completed", "demand"]].sum()
    by_r = by_r[by_r["demand"] > TOL]
    if region not in by_r.index or len(by_r) < 2:
        return ""
    share = by_r["completed"] / by_r["demand"]
    others = share.drop(region)
    lo, hi = pct(round(others.min(), 3)), pct(round(others.max(), 3))
    return (f"{region} completes {pct(round(share[region], 3))} of its tasks in those weeks, against "
            f"{lo if lo == hi else f'{lo}–{hi}'} in the other regions.")


def _levers(ctx: _Context, g: pd.DataFrame, cap: str, held: list[str], seen: list[str]) -> list[str]:
    """The families' remedies with the input cells of the short rows (each cell named once): the limit's
    family, then the hours family (its training and supervision loads), then any completion target held."""
    inputs = ctx.inputs
    # one key per (unit, region, week): the cells of these families do not depend on the scenario
    keys, done = [], set()
    for unit, region, week, scenario in zip(g["unit"], g["region"], g["week"], g["scenario"]):
        if (unit, region, week) not in done:
            done.add((unit, region, week))
            keys.append(_key(unit, region, week, scenario))
    out = [_lever(inputs, family(CAP_FAMILY[cap]), keys, seen)]
    if cap not in _ACROSS_REGIONS:
        out.append(_lever(inputs, family("hours.regional" if g["region"].iat[0] else "hours.contract"), keys, seen))
    if held:
        cells = [inputs.origin.cell("work_types", k, "min_completion_share") for k in held]
        out.append(_text_and_cells(family("demand.completion").remedy_inputs, cells, seen))
    return [x for x in out if x]


def _key(unit: str, region: str, week, scenario) -> dict:
    if region:
        return {"source": unit, "region": region, "week": int(week), "scenario": scenario}
    return {"contract": unit, "week": int(week), "scenario": scenario}


def _lever(inputs: Inputs, spec, keys: list[dict], seen: list[str]) -> str:
    words = spec.remedy_inputs or f"{spec.title} ({', '.join(spec.reads)})"
    cells = [c for k in keys for c in (spec.cells(inputs, k) if spec.cells else _read_cells(inputs, spec, k))]
    return _text_and_cells(words, cells, seen)


def _read_cells(inputs: Inputs, spec, key: dict) -> list[str]:
    """Cells of a family without a cells function: its inputs read, on the row's own id."""
    ids = {"sources": key.get("source"), "contracts": key.get("contract"), "work_types": key.get("work_type")}
    out = []
    for read in spec.reads:
        sheet, column = read.split(".", 1)
        if ids.get(sheet) is not None and "<" not in column:
            out.append(inputs.origin.cell(sheet, ids[sheet], column))
    return out


def _text_and_cells(words: str, cells: list[str], seen: list[str]) -> str:
    old = set(seen)
    new = [c for c in dict.fromkeys(cells) if c not in old]
    if not new:
        return ""
    seen.extend(new)
    return f"{words}: {compress_cells(new)}"


# ---------------------------------------------------------------------------------------------------
# lock-ins (eq 4)
# ---------------------------------------------------------------------------------------------------
def _lock_in_bottlenecks(inputs: Inputs, tables, money) -> list[Bottleneck]:
    sp = tables.shadow_prices
    rows = sp[sp["constraint"] == LOCK_LABEL]
    out = []
    pi = inputs.scenarios["probability"].astype(float)
    committed = tables.contracts.set_index("contract")["committed_fte"]
    for c, g in rows.groupby("unit", sort=False):
        w = g["scenario"].map(pi).to_numpy(float)
        expected = float((w * g["value"].to_numpy(float)).sum())
        if abs(expected) <= TOL:
            continue
        term = int(inputs.contracts.at[c, "min_term_weeks"])
        per_week = expected / max(term, 1)
        level = fte(float(committed.get(c, 0.0)))
        if expected > 0:
            what = (f"the committed level of {level} FTE is more than the plan needs: in expectation each "
                    f"committed FTE-week costs {money(per_week, 2)} more than it is worth")
        else:
            what = (f"the initial term holds it at {level} FTE when more staff would save "
                    f"{money(-per_week, 2)} per FTE-week in expectation")
        means = g.groupby("scenario", sort=False)["value"].mean()
        per_scen = ([f"{money(float(means.iat[0]), 2)} in every scenario"] if np.ptp(means.to_numpy()) < TOL else
                    [f"{money(float(v), 2)} if {s}" for s, v in means.items()])
        spec = family("contracts.lock_in")
        cells: list[str] = []
        lever = _text_and_cells(spec.remedy_inputs, spec.cells(inputs, {"contract": c}), cells)
        scen = f" (per FTE-week, mean over the term: {', '.join(per_scen)})" if len(inputs.scenarios) > 1 else ""
        text = (f"contract {c}, {week_ranges(g['week'])}: {what}{scen}. Relieve by: {lever}. Value "
                f"{money(abs(expected))} per committed FTE.")
        out.append(Bottleneck("", c, abs(expected), text, cells, f"contract {c} lock-in"))
    return out
