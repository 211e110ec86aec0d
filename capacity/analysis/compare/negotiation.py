"""Negotiation figures of a comparison: what each variant saves against the base, per week
of term removed, the break-even price found by re-solving, and what a contract costs
per FTE-week actually used.

The break-even price of a variant is the ``cost_per_fte_week`` of the contract it varies
at which the variant's expected cost equals the base's (the variant's other edits kept).
It is found by re-solving, never by a first-order guess:

- The expected cost ``f(p)`` of the variant as a function of that price ``p`` is the
  optimum of a problem in which ``p`` appears only in the objective, with coefficient
  the expected FTE-weeks paid, ``g = sum pi[w] N[c,t,w]`` (>= 0). So ``f`` is the
  minimum of linear functions of ``p``: concave, non-decreasing and piecewise linear,
  and the paid FTE-weeks ``g(p)`` of any optimal plan at ``p`` is a slope of a line
  lying on or above ``f`` (the plan stays feasible at any price).
- Newton steps from below: from a price ``lo`` where the variant costs less than the
  base, ``lo + (base - f(lo)) / g(lo)`` is a price at which ``f`` is still at most the
  base (concavity), so each step is a new lower bound on the break-even price, and it
  lands on it exactly once it reaches the break-even's linear piece. Each step is a full
  re-solve (a job of the comparison's pool). A variant that costs more than the base
  starts from price 0. When a step's re-solve costs more than the base (solver noise)
  the bracket is halved instead (bisection).
- Stop: the re-solved cost is within ``max(1, 1e-6 * base)`` currency units of the base
  (``TOL_ABS``, ``TOL_REL``); at most ``MAX_SOLVES`` re-solves; bracket
  ``[0, CAP_MULTIPLE x the variant's price]``.
- No break-even (blank, with the reason): the variant pays for no FTE-week of the
  contract at a price where it still costs less than the base (a higher price cannot
  raise its cost); the next Newton step, a lower bound, is beyond the bracket; or the
  variant costs more than the base even at price 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from capacity.io.inputs import Inputs

from .common import OK
from .runs import Job

TOL_ABS = 1.0          # currency units
TOL_REL = 1e-6         # of the base's expected cost
MAX_SOLVES = 12        # re-solves per variant
CAP_MULTIPLE = 10.0    # bracket: [0, 10 x the variant's price]
PRICE_TOL = 0.005      # a bisection bracket narrower than this (per FTE-week) is an answer
SLOPE_EPS = 1e-9       # FTE-weeks: below this the contract is not used

NOTES = {
    "saving": "Base expected cost minus the variant's expected cost. Positive: the variant costs less than "
              "the base (it saves); negative: it costs more.",
    "term_weeks_removed": "How many weeks shorter the variant makes the contract's initial term (min_term_weeks) "
                          "than the base's.",
    "saving_per_week_removed": "The saving divided by the weeks of initial term removed: what each week of "
                               "term taken off is worth. Blank when the variant does not shorten a term (all of "
                               "the variant's edits count in the saving, not the term alone).",
    "price_per_fte_week": "The contract's cost_per_fte_week in the variant.",
    "break_even_price": "The contract's cost_per_fte_week at which the variant's expected cost equals the base's "
                        "(the variant's other edits kept): the highest price at which the variant is still worth "
                        "having. Found by re-solving the variant at each trial price (Newton steps on the "
                        "cost-price curve, which is concave and piecewise linear), to within the tolerance "
                        "stated in break_even_method. Blank, with the reason, when there is none in the bracket.",
    "break_even_at_least": "When no break-even lies in the bracket (up to 10 x the price): a price below which "
                           "there is certainly none (the variant, re-solved, costs so much less than the base "
                           "that even paying this much more for every FTE-week it uses would not close the gap).",
    "break_even_headroom": "Break-even price minus the variant's price: how much more per FTE-week the variant "
                           "could cost before it stops saving.",
    "break_even_cost": "The variant's expected cost re-solved at the break-even price (equals the base's within "
                       "the tolerance).",
    "paid_fte_weeks": "Expected FTE-weeks of the contract paid for (probability-weighted over scenarios).",
    "used_fte_weeks": "Expected productive FTE-weeks of the contract spent on casework: hours on tasks divided by "
                      "the productive hours of one FTE-week (hours_per_fte_week x productive_share).",
    "contract_cost": "Expected cost of the contract: fixed cost if signed plus price x FTE-weeks paid.",
    "price_paid_per_fte_week": "Contract cost divided by the FTE-weeks paid: the price per FTE-week paid, fixed "
                               "cost included.",
    "cost_per_fte_week_used": "Contract cost divided by the productive FTE-weeks used on casework: what one "
                              "FTE-week of work actually done cost. Equals the price when every paid productive "
                              "hour is used; 10 times the price when a tenth is.",
    "flex_reason": "Why a flexibility value is zero: the option is never needed (the base does not sign it, and "
                   "without its lock-in it still is not signed), or its lock-in does not bind.",
}


# ============================================================ the varied contract
def varied_contract(edits, base: Inputs, contract: str | None = None) -> tuple[str | None, str]:
    """The one contract whose price the break-even varies, or (None, why not)."""
    if contract is not None:
        return contract, ""
    ids = sorted({e.id for e in edits if e.sheet == "contracts"})
    if not ids:
        return None, "the variant edits no contract: there is no contract price to vary"
    if len(ids) > 1:
        return None, f"the variant edits several contracts ({', '.join(ids)}): no single price to vary"
    if ids[0] not in base.contracts.index:
        return None, f"contract {ids[0]} is not in the base"
    return ids[0], ""


# ============================================================ break-even search
@dataclass
class Point:
    price: float
    cost: float
    slope: float          # expected FTE-weeks paid of the contract at this price
    role: str = "re-solve"


@dataclass
class BreakEven:
    """A break-even price search for one variant (its steps are jobs of the comparison's pool)."""

    key: str              # the variant's record key
    name: str
    contract: str
    inputs: Inputs        # the variant's validated inputs
    cvar: float = 0.9
    max_solves: int = MAX_SOLVES
    points: list = field(default_factory=list)
    solves: int = 0
    base: float | None = None
    tol: float = TOL_ABS
    lo: Point | None = None
    hi: Point | None = None
    status: str = "pending"      # found | none | not converged | not computed | error
    price: float | None = None
    at_least: float | None = None   # a proven lower bound on the break-even when none lies in the bracket
    cost: float | None = None
    reason: str = ""

    @property
    def price0(self) -> float:
        return float(self.inputs.contracts.loc[self.contract, "cost_per_fte_week"])

    @property
    def cap(self) -> float:
        from capacity.io import schema as S

        p = self.price0
        if p <= 0:
            rates = [float(x) for x in self.inputs.contracts["cost_per_fte_week"]] + \
                    [float(x) for x in self.inputs.sources["cost_per_fte_week"]]
            p = max(rates + [100.0])
        top = S.SHEETS_BY_NAME["contracts"].column("cost_per_fte_week").max_value
        return min(CAP_MULTIPLE * p, top) if top else CAP_MULTIPLE * p

    def method(self) -> str:
        if self.status == "not computed":
            return ""
        head = "found by re-solving" if self.status == "found" else "searched by re-solving"
        return (f"{head}: {self.solves} re-solve{'s' if self.solves != 1 else ''} of the variant at "
                f"trial prices of {self.contract} (Newton steps from below on the concave, piecewise-linear "
                f"cost-price curve; bisection if a step overshoots); stops when the re-solved cost is within "
                f"{self.tol:,.0f} of the base's; bracket 0 to {self.cap:,.2f} ({CAP_MULTIPLE:g} x the price); "
                f"at most {self.max_solves} re-solves")

    # -------------------------------------------------------------- driving
    def start(self, base_cost: float | None, rec: dict) -> list[Job]:
        """The variant's own run has finished and so has the base's: the first step, if any."""
        if base_cost is None:
            return self._stop("not computed", "the base did not solve")
        if rec.get("status") not in OK or rec.get("objective") is None:
            return self._stop("not computed", f"the variant did not solve ({rec.get('status')})")
        self.base = float(base_cost)
        self.tol = max(TOL_ABS, TOL_REL * abs(self.base))
        pt = Point(self.price0, float(rec["objective"]), float(rec.get("paid_fte_weeks", {}).get(self.contract, 0.0)),
                   "the variant's own run")
        self.points.append(pt)
        return self._after(pt)

    def step(self, job: Job, rec: dict) -> list[Job]:
        """A re-solve at a trial price has finished: the next step, if any."""
        self.solves += 1
        price = float(job.inputs.contracts.loc[self.contract, "cost_per_fte_week"])
        if rec.get("status") not in OK or rec.get("objective") is None:
            self.points.append(Point(price, math.nan, math.nan, f"re-solve: {rec.get('status')}"))
            return self._stop("error", f"the re-solve at price {price:,.2f} did not solve "
                                       f"({rec.get('message') or rec.get('status')})")
        pt = Point(price, float(rec["objective"]), float(rec.get("paid_fte_weeks", {}).get(self.contract, 0.0)))
        self.points.append(pt)
        return self._after(pt)

    def _after(self, pt: Point) -> list[Job]:
        gap = pt.cost - self.base
        if abs(gap) <= self.tol and pt.role == "the variant's own run" and pt.slope <= SLOPE_EPS:
            return self._stop("none", f"the variant costs what the base costs and pays for no FTE-week of "
                                      f"{self.contract}, so its price makes no difference")
        if abs(gap) <= self.tol:
            self.price, self.cost = pt.price, pt.cost
            if pt.role == "the variant's own run":
                self.reason = "the variant already costs what the base costs at its own price"
            return self._stop("found", self.reason)
        if gap < 0:
            if self.lo is None or pt.price > self.lo.price:
                self.lo = pt
        elif self.hi is None or pt.price < self.hi.price:
            self.hi = pt
        return self._next()

    def _next(self) -> list[Job]:
        c, money = self.contract, _money
        if self.lo is None:   # the variant costs more than the base at its price: try price 0
            if self.hi is not None and self.hi.price <= 0:
                return self._stop("none", f"the variant costs more than the base ({money(self.hi.cost)} against "
                                          f"{money(self.base)}) even with {c} at price 0")
            return self._job(0.0)
        lo = self.lo
        if lo.slope <= SLOPE_EPS:
            return self._stop("none", f"at price {lo.price:,.2f} the variant pays for no FTE-week of {c}, so no "
                                      f"higher price can raise its cost ({money(lo.cost)}) to the base's "
                                      f"({money(self.base)}): it costs less than the base at any price")
        trial = lo.price + (self.base - lo.cost) / lo.slope
        if self.hi is not None:
            if self.hi.price - lo.price <= PRICE_TOL:
                self.price = 0.5 * (lo.price + self.hi.price)
                self.cost = None
                return self._stop("found", f"bracket [{lo.price:,.4f}, {self.hi.price:,.4f}] narrower than "
                                           f"{PRICE_TOL} per FTE-week")
            if not lo.price < trial < self.hi.price:
                trial = 0.5 * (lo.price + self.hi.price)
        if trial > self.cap:
            self.at_least = trial
            return self._stop("none", f"no break-even up to {self.cap:,.2f} ({CAP_MULTIPLE:g} x the price): "
                                      f"re-solved at {lo.price:,.2f} the variant costs {money(lo.cost)} against the "
                                      f"base's {money(self.base)}, and at {lo.slope:,.0f} FTE-weeks paid or fewer it "
                                      f"cannot catch up before {trial:,.2f}")
        if self.solves >= self.max_solves:
            upper = f" and {self.hi.price:,.2f}" if self.hi is not None else ""
            return self._stop("not converged", f"not converged in {self.max_solves} re-solves: the break-even "
                                               f"lies between {lo.price:,.2f}{upper or ' and above'}")
        return self._job(trial)

    def _job(self, price: float) -> list[Job]:
        con = self.inputs.contracts.copy()
        con.loc[self.contract, "cost_per_fte_week"] = float(price)
        inputs = replace(self.inputs, contracts=con)
        n = self.solves + 1
        return [Job(f"break_even:{self.key}:{n}", "break_even", f"{self.name} at {self.contract} price {price:,.4f}",
                    inputs, measures=False, cvar=self.cvar, tag=self.key)]

    def _stop(self, status: str, reason: str) -> list[Job]:
        self.status, self.reason = status, reason
        return []


def _money(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.0f}"


# ============================================================ tables
NEGOTIATION_COLUMNS = [
    "variant", "kind", "contract", "status", "expected_cost", "base_expected_cost", "saving",
    "term_weeks_base", "term_weeks_variant", "term_weeks_removed", "saving_per_week_removed",
    "price_per_fte_week", "break_even_price", "break_even_headroom", "break_even_cost", "break_even_at_least",
    "break_even_status",
    "break_even_solves", "break_even_method", "paid_fte_weeks", "used_fte_weeks", "contract_cost",
    "price_paid_per_fte_week", "cost_per_fte_week_used", "base_cost_per_fte_week_used", "notes"]


def _contract_row(rec: dict, contract: str | None) -> dict:
    for c in rec.get("contracts", []) or []:
        if c["contract"] == contract:
            return c
    return {}


def _per_used(row: dict) -> tuple[float | None, float | None]:
    """(price paid per FTE-week, cost per productive FTE-week used) of one contracts record."""
    cost, paid, used = row.get("expected_cost"), row.get("paid_fte_weeks"), row.get("used_fte_weeks")
    paid_rate = cost / paid if cost is not None and paid and paid > SLOPE_EPS else None
    used_rate = cost / used if cost is not None and used and used > SLOPE_EPS else None
    return paid_rate, used_rate


def negotiation_table(rows: list[dict], records: dict, meta: dict, searches: dict, base: Inputs) -> pd.DataFrame:
    """One row per variant (not the base): saving, per week of term removed, break-even, cost per FTE-week used."""
    base_rec = records.get("base", {})
    base_cost = base_rec.get("objective") if base_rec.get("status") in OK else None
    out = []
    for row in rows:
        if row["key"] == "base":
            continue
        rec = records.get(row["key"], {})
        m = meta.get(row["key"], {})
        c = m.get("contract")
        notes = []
        r: dict[str, Any] = {"variant": row["name"], "kind": row["kind"], "contract": c, "status": rec.get("status")}
        cost = rec.get("objective") if rec.get("status") in OK else None
        if cost is None:
            notes.append(f"{rec.get('status')}: {rec.get('message') or 'no solution'}")
        if m.get("free_level_cost") is not None:
            notes.append(f"level from a solve with the committed level free (expected cost "
                         f"{_money(m['free_level_cost'])}), written rounded to 0.001 FTE and solved again")
        r["expected_cost"], r["base_expected_cost"] = cost, base_cost
        r["saving"] = base_cost - cost if cost is not None and base_cost is not None else None
        # term removed
        inputs = m.get("inputs")
        shortened = []
        if inputs is not None:
            for k in base.contracts.index:
                if k in inputs.contracts.index:
                    before = int(base.contracts.loc[k, "min_term_weeks"])
                    after = int(inputs.contracts.loc[k, "min_term_weeks"])
                    if after < before:
                        shortened.append((k, before, after))
        r["term_weeks_base"] = r["term_weeks_variant"] = r["term_weeks_removed"] = r["saving_per_week_removed"] = None
        if len(shortened) == 1:
            k, before, after = shortened[0]
            r["term_weeks_base"], r["term_weeks_variant"], r["term_weeks_removed"] = before, after, before - after
            if r["saving"] is not None:
                r["saving_per_week_removed"] = r["saving"] / (before - after)
            if k != c:
                notes.append(f"the term shortened is {k}'s")
        elif len(shortened) > 1:
            notes.append("saving per week removed: blank, the variant shortens several terms ("
                         + ", ".join(k for k, _, _ in shortened) + ")")
        elif inputs is not None:
            notes.append("saving per week removed: blank, the variant does not shorten a term")
        # price, break-even
        r["price_per_fte_week"] = (float(inputs.contracts.loc[c, "cost_per_fte_week"])
                                   if c is not None and inputs is not None else None)
        s = searches.get(row["key"])
        r["break_even_price"] = r["break_even_headroom"] = r["break_even_cost"] = r["break_even_at_least"] = None
        r["break_even_solves"] = None
        r["break_even_method"] = ""
        if s is not None:
            r["break_even_status"] = s.status
            r["break_even_solves"] = s.solves
            r["break_even_method"] = s.method()
            if s.status == "found":
                r["break_even_price"] = s.price
                r["break_even_headroom"] = s.price - s.price0
                r["break_even_cost"] = s.cost
                if s.reason:
                    notes.append(f"break-even: {s.reason}")
            else:
                r["break_even_at_least"] = s.at_least
                notes.append(f"break-even: blank, {s.reason}")
        else:
            r["break_even_status"] = "not computed"
            why = m.get("contract_reason") or (
                "the variant did not solve" if rec.get("status") not in OK else "not asked for (--no-break-even)")
            notes.append(f"break-even: blank, {why}")
        # cost per FTE-week used
        cr = _contract_row(rec, c)
        r["paid_fte_weeks"], r["used_fte_weeks"] = cr.get("paid_fte_weeks"), cr.get("used_fte_weeks")
        r["contract_cost"] = cr.get("expected_cost")
        r["price_paid_per_fte_week"], r["cost_per_fte_week_used"] = _per_used(cr) if cr else (None, None)
        r["base_cost_per_fte_week_used"] = _per_used(_contract_row(base_rec, c))[1] if c is not None else None
        if cr and not cr.get("signed"):
            notes.append(f"{c} is not signed in this variant")
        r["notes"] = "; ".join(notes)
        out.append(r)
    df = pd.DataFrame(out, columns=NEGOTIATION_COLUMNS)
    for col in ("term_weeks_base", "term_weeks_variant", "term_weeks_removed", "break_even_solves"):
        df[col] = df[col].astype(object)
    return df


CONTRACT_USE_COLUMNS = ["variant", "kind", "contract", "signed", "committed_fte", "price_per_fte_week", "contract_cost",
                        "paid_fte_weeks", "used_fte_weeks", "price_paid_per_fte_week", "cost_per_fte_week_used",
                        "expected_utilisation"]


def contract_use_table(rows: list[dict], records: dict, meta: dict, base: Inputs) -> pd.DataFrame:
    """One row per run and contract: what the contract cost against what was used."""
    out = []
    for row in rows:
        rec = records.get(row["key"], {})
        if rec.get("status") not in OK:
            continue
        inputs = base if row["key"] == "base" else meta.get(row["key"], {}).get("inputs")
        for cr in rec.get("contracts", []) or []:
            paid_rate, used_rate = _per_used(cr)
            price = (float(inputs.contracts.loc[cr["contract"], "cost_per_fte_week"])
                     if inputs is not None and cr["contract"] in inputs.contracts.index else None)
            out.append({"variant": row["name"], "kind": row["kind"], "contract": cr["contract"],
                        "signed": bool(cr["signed"]), "committed_fte": cr.get("committed_fte"),
                        "price_per_fte_week": price, "contract_cost": cr.get("expected_cost"),
                        "paid_fte_weeks": cr.get("paid_fte_weeks"), "used_fte_weeks": cr.get("used_fte_weeks"),
                        "price_paid_per_fte_week": paid_rate, "cost_per_fte_week_used": used_rate,
                        "expected_utilisation": cr.get("utilisation")})
    df = pd.DataFrame(out, columns=CONTRACT_USE_COLUMNS)
    df["signed"] = df["signed"].astype(object)
    return df


BREAK_EVEN_RUN_COLUMNS = ["variant", "contract", "step", "role", "price", "expected_cost", "cost_minus_base",
                          "paid_fte_weeks"]


def break_even_runs_table(rows: list[dict], searches: dict) -> pd.DataFrame:
    """Every point of every break-even search: the variant's own run, then each re-solve."""
    out = []
    for row in rows:
        s = searches.get(row["key"])
        if s is None:
            continue
        for i, pt in enumerate(s.points):
            out.append({"variant": row["name"], "contract": s.contract, "step": i, "role": pt.role,
                        "price": pt.price, "expected_cost": pt.cost,
                        "cost_minus_base": None if s.base is None or math.isnan(pt.cost) else pt.cost - s.base,
                        "paid_fte_weeks": pt.slope})
    return pd.DataFrame(out, columns=BREAK_EVEN_RUN_COLUMNS)


def flex_reason(contract: str, value, rp, base_rec: dict, flex_rec: dict) -> str:
    """Why a flexibility value is zero ('' when it is not)."""
    if value is None or rp is None or isinstance(value, str):
        return ""
    if abs(value) > max(TOL_ABS, TOL_REL * abs(rp)):
        return ""
    if contract == "all":
        return "no contract's lock-in binds: without any lock-in the plan costs the same"
    signed_base = bool(_contract_row(base_rec, contract).get("signed"))
    signed_flex = bool(_contract_row(flex_rec, contract).get("signed"))
    if not signed_base and not signed_flex:
        return ("never needed: the base does not sign it, and without its lock-in it is still not signed, "
                "so its lock-in costs nothing")
    if not signed_base:
        return ("the base does not sign it; without its lock-in it would be signed, but the plan costs no less")
    return "its lock-in does not bind: without it the plan costs the same"
