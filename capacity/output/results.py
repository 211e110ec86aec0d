"""Tidy result tables from a solved model (outputs.md sheets plan, work,
coverage, contracts, shadow_prices and summary).

Values are joined onto the model's sparse index frames
(:class:`capacity.model.index.ModelIndex`), which carry each row's
coefficients (hours per task ``a``, success ``p``, escalation), so no
coefficient is computed twice. Rows with scenario ``expected`` are
probability-weighted. Omitted to keep national-size workbooks within Excel's
row limit (documented in models/README.md): ``work`` rows whose attempted
tasks are 0, ``coverage`` rows where demand cannot be positive, and shadow
prices that are 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from capacity.io.inputs import Inputs
from capacity.model import history as hist
from capacity.model import risk as rk
from capacity.model.recheck import EXPECTED
from capacity.model.registry import dual_groups

EPS = 1e-9

PLAN_COLUMNS = ["scenario", "week", "week_start", "region", "unit", "kind", "fte", "onboarded", "exits",
                "paid_hours", "productive_hours", "task_hours", "training_hours", "supervision_hours",
                "utilisation", "cost", "phase"]
WORK_COLUMNS = ["scenario", "week", "region", "work_type", "unit", "attempted", "completed", "escalated", "lost",
                "phase"]
COVERAGE_COLUMNS = ["scenario", "week", "region", "work_type", "demand", "completed", "lost", "completion_share",
                    "phase"]
CONTRACT_COLUMNS = ["contract", "source", "status", "signed", "committed_fte", "fixed_cost", "expected_cost",
                    "expected_paid_hours", "expected_task_hours", "expected_utilisation", "lock_in_shadow_price"]
SHADOW_COLUMNS = ["constraint", "scenario", "week", "region", "unit", "work_type", "value"]
RISK_COLUMNS = ["scenario", "probability", "scenario_cost", "excess_over_var", "in_tail", "risk_adjusted_probability"]

CONSTRAINT_NAMES = dual_groups()   # shadow_prices group -> label, declared with each family


@dataclass
class Tables:
    plan: pd.DataFrame
    work: pd.DataFrame
    coverage: pd.DataFrame
    contracts: pd.DataFrame
    shadow_prices: pd.DataFrame
    summary: pd.DataFrame  # key, value
    risk: pd.DataFrame     # v2 section 4: one row per scenario (RISK_COLUMNS)

    def as_dict(self) -> dict[str, pd.DataFrame]:
        return {"summary": self.summary, "plan": self.plan, "work": self.work, "coverage": self.coverage,
                "contracts": self.contracts, "shadow_prices": self.shadow_prices, "risk": self.risk}


def _values(result, name: str, frame: pd.DataFrame, keys: list[str]) -> np.ndarray:
    """Values of variable `name` aligned to the rows of `frame` (0 if absent)."""
    series = result.values.get(name)
    if series is None or len(frame) == 0:
        return np.zeros(len(frame))
    idx = pd.MultiIndex.from_frame(frame[keys]) if len(keys) > 1 else pd.Index(frame[keys[0]])
    return series.reindex(idx).fillna(0.0).to_numpy(dtype=float)


def _weighted_expected(df: pd.DataFrame, pi: dict, keys: list[str], cols: list[str]) -> pd.DataFrame:
    w = df["scenario"].map(pi).to_numpy(dtype=float)
    tmp = df[keys].copy()
    for c in cols:
        tmp[c] = df[c].to_numpy(dtype=float) * w
    out = tmp.groupby(keys, sort=False, dropna=False)[cols].sum().reset_index()
    out.insert(0, "scenario", EXPECTED)
    return out


def tabulate(inputs: Inputs, built, result) -> Tables:
    """Turn a solved model into the tidy tables of outputs.md."""
    ix = built.index
    st = inputs.settings
    H = st.productive_hours
    pi = {w: float(p) for w, p in inputs.scenarios["probability"].items()}

    # ---- work (A) -----------------------------------------------------------
    wk = ix.work[["unit", "region", "work_type", "week", "scenario", "source", "a", "p", "loss", "esc", "esc_to"]].copy()
    wk["attempted"] = _values(result, "A", wk, ["unit", "region", "work_type", "week", "scenario"])
    wk["completed"] = wk["p"] * wk["attempted"]
    wk["escalated"] = wk["esc"] * wk["attempted"]
    wk["lost"] = wk["loss"] * wk["attempted"]
    wk["task_hours"] = wk["a"] * wk["attempted"]

    # ---- coverage (eq 12 demand, completed, lost) --------------------------
    cv = ix.unserved[["region", "work_type", "week", "scenario", "d0"]].copy()
    keys = ["region", "work_type", "week", "scenario"]
    cv["unattempted"] = _values(result, "U", cv, keys)
    esc_in = (wk[wk["escalated"] > 0].groupby(["region", "esc_to", "week", "scenario"])["escalated"].sum()
              .rename_axis(keys))
    by_k = wk.groupby(keys)[["completed", "lost"]].sum()
    idx = pd.MultiIndex.from_frame(cv[keys])
    cv["demand"] = cv["d0"].to_numpy() + esc_in.reindex(idx).fillna(0.0).to_numpy()
    cv["completed"] = by_k["completed"].reindex(idx).fillna(0.0).to_numpy()
    cv["lost"] = cv["unattempted"].to_numpy() + by_k["lost"].reindex(idx).fillna(0.0).to_numpy()
    coverage = cv[["scenario", "week", "region", "work_type", "demand", "completed", "lost"]]
    coverage = pd.concat(
        [coverage, _weighted_expected(coverage, pi, ["week", "region", "work_type"], ["demand", "completed", "lost"])],
        ignore_index=True)
    coverage["completion_share"] = _share(coverage["completed"], coverage["demand"])
    coverage["phase"] = hist.phase(coverage["week"], ix.T)
    coverage = _sorted(coverage, ["scenario", "week", "region", "work_type"], inputs)[COVERAGE_COLUMNS]

    # ---- plan: contracts (N) and regional units (F) -------------------------
    plan = pd.concat([_contract_plan(inputs, ix, result, wk), _regional_plan(inputs, ix, result, wk)],
                     ignore_index=True)
    plan["paid_hours"] = st.hours_per_fte_week * plan["fte"]
    plan["productive_hours"] = H * plan["fte"]
    num = ["fte", "onboarded", "exits", "paid_hours", "productive_hours", "task_hours", "training_hours",
           "supervision_hours", "cost"]
    plan = pd.concat([plan, _weighted_expected(plan, pi, ["week", "region", "unit", "kind"], num)],
                     ignore_index=True)
    plan["utilisation"] = _share(plan["task_hours"], plan["paid_hours"], empty=np.nan)
    plan["week_start"] = [st.week_start(int(t)) for t in plan["week"]]
    plan["phase"] = hist.phase(plan["week"], ix.T)
    plan = _sorted(plan, ["scenario", "week", "unit", "region"], inputs)[PLAN_COLUMNS]

    wk["phase"] = hist.phase(wk["week"], ix.T)
    work = wk.loc[wk["attempted"] > EPS, WORK_COLUMNS]
    work = _sorted(work, ["scenario", "week", "region", "work_type", "unit"], inputs)

    shadow = _shadow_prices(result)
    contracts = _contracts(inputs, result, plan, shadow)
    sc = scenario_costs(inputs, plan, coverage, contracts)
    risk, value_at_risk = risk_table(inputs, result, sc)
    summary = _summary(inputs, result, plan, coverage, sc, value_at_risk)
    return Tables(plan=plan.reset_index(drop=True), work=work.reset_index(drop=True),
                  coverage=coverage.reset_index(drop=True), contracts=contracts, shadow_prices=shadow,
                  summary=summary, risk=risk)


def _share(num: pd.Series, den: pd.Series, empty: float = 1.0) -> np.ndarray:
    n, d = num.to_numpy(dtype=float), den.to_numpy(dtype=float)
    out = np.full(len(n), empty, dtype=float)
    ok = d > EPS
    out[ok] = n[ok] / d[ok]
    return out


def _sorted(df: pd.DataFrame, by: list[str], inputs: Inputs) -> pd.DataFrame:
    """Sort by the workbook's own orders (scenarios, regions, units), expected last."""
    order = {
        "scenario": {w: i for i, w in enumerate(list(inputs.scenarios.index) + [EXPECTED])},
        "region": {r: i for i, r in enumerate([""] + list(inputs.regions.index))},
        "work_type": {k: i for i, k in enumerate(inputs.work_types.index)},
        "unit": {u: i for i, u in enumerate(list(inputs.contracts.index) + list(inputs.regional_sources.index))},
    }
    keys = pd.DataFrame({c: df[c].map(order[c]) if c in order else df[c] for c in by})
    return df.iloc[np.lexsort([keys[c].to_numpy() for c in reversed(by)])]


def _contract_plan(inputs: Inputs, ix, result, wk: pd.DataFrame) -> pd.DataFrame:
    con = inputs.contracts
    scen = list(inputs.scenarios.index)
    grid = pd.MultiIndex.from_product([list(con.index), inputs.weeks, scen], names=["contract", "week", "scenario"])
    df = grid.to_frame(index=False)
    keys = ["contract", "week", "scenario"]
    df["fte"] = _values(result, "N", df, keys)
    df["onboarded"], df["exits"] = net_changes(
        df, ["contract", "week"], _values(result, "Ninc", df, keys), _values(result, "Ndec", df, keys),
        df["contract"].map(con["lead_weeks"]).to_numpy(int), df["contract"].map(con["notice_weeks"]).to_numpy(int),
        inputs.settings.reveal_week)
    th = wk[wk["unit"].isin(con.index)].groupby(["unit", "week", "scenario"])["task_hours"].sum()
    df["task_hours"] = th.reindex(pd.MultiIndex.from_frame(df[keys])).fillna(0.0).to_numpy()
    df["training_hours"] = 0.0
    df["supervision_hours"] = 0.0
    df["cost"] = df["contract"].map(con["cost_per_fte_week"]).to_numpy(dtype=float) * df["fte"]
    df["region"] = ""
    df["kind"] = "contractor"
    return df.rename(columns={"contract": "unit"})


def _regional_plan(inputs: Inputs, ix, result, wk: pd.DataFrame) -> pd.DataFrame:
    src = inputs.sources
    keys = ["source", "region", "week", "scenario"]
    df = ix.regional[keys].copy()
    df["fte"] = _values(result, "F", df, keys)
    neutral = df["source"].map(src["onboarding_cost"]).to_numpy(dtype=float) <= 0
    neutral &= ix.regional["fix_O"].isna().to_numpy() & ix.regional["fix_X"].isna().to_numpy()  # history as given
    df["onboarded"], df["exits"] = net_changes(
        df, ["source", "region", "week"], _values(result, "O", df, keys), _values(result, "X", df, keys),
        df["source"].map(src["lead_weeks"]).to_numpy(int), df["source"].map(src["notice_weeks"]).to_numpy(int),
        inputs.settings.reveal_week, neutral)
    th = wk[~wk["unit"].isin(inputs.contracts.index)].groupby(["unit", "region", "week", "scenario"])["task_hours"].sum()
    idx = pd.MultiIndex.from_frame(df[keys])
    df["task_hours"] = th.reindex(idx).fillna(0.0).to_numpy()
    # eq 10: training taken from the trainee and from its trainer; supervision from the supervisor
    own_training = df["source"].map(src["training_hours"]).to_numpy(dtype=float) * df["onboarded"].to_numpy()
    df["training_hours"] = own_training
    given = df.assign(hours=own_training, giver=df["source"].map(src["trainer"]))
    sup = df.assign(hours=df["source"].map(src["supervision_ratio"]).to_numpy(dtype=float)
                    * inputs.settings.productive_hours * df["fte"].to_numpy(), giver=df["source"].map(src["supervisor"]))
    for extra, column in ((given, "training_hours"), (sup, "supervision_hours")):
        agg = (extra.dropna(subset=["giver"]).groupby(["giver", "region", "week", "scenario"])["hours"].sum()
               .rename_axis(keys))
        add = agg.reindex(idx).fillna(0.0).to_numpy()
        df[column] = (df[column].to_numpy() if column in df else 0.0) + add
    df["cost"] = (df["source"].map(src["cost_per_fte_week"]).to_numpy(dtype=float) * df["fte"]
                  + df["source"].map(src["onboarding_cost"]).to_numpy(dtype=float) * df["onboarded"])
    df["kind"] = df["source"].map(src["kind"])
    return df.rename(columns={"source": "unit"})


def net_changes(frame: pd.DataFrame, keys: list[str], inc: np.ndarray, dec: np.ndarray, lag_inc: np.ndarray,
                lag_dec: np.ndarray, reveal_week: int, where: np.ndarray | bool = True
                ) -> tuple[np.ndarray, np.ndarray]:
    """The tie-break for simultaneous increases and decreases (models/README.md#tie-break).

    The LP is indifferent between (inc, dec) and (inc - m, dec - m) for
    0 <= m <= min(inc, dec): headcount is unchanged, and eq 1/6 (stock),
    eq 5/9 (ramps) and eq 8 (cohorts) only get looser, eq 10 training hours
    only fall. Where the change is cost-neutral (contracts; regional sources
    without an onboarding cost) both are reduced by m = min(inc, dec), so the
    unit-week reports starters or leavers, not both; the objective is
    unchanged. Eq 14: where either decision is taken before ``reveal_week``
    (week - lag < reveal_week) it is the same in every scenario, so m is the
    smallest over the scenarios of that unit-week (``keys`` without the
    scenario) and stays the same in each.
    """
    m = np.where(where & (inc > EPS) & (dec > EPS), np.minimum(inc, dec), 0.0)
    week = frame["week"].to_numpy(dtype=int)
    tied = (week - lag_inc < reveal_week) | (week - lag_dec < reveal_week)
    if tied.any():
        common = pd.Series(m).groupby([frame[k].to_numpy() for k in keys]).transform("min").to_numpy()
        m = np.where(tied, common, m)
    return inc - m, dec - m


def _shadow_prices(result) -> pd.DataFrame:
    frames = []
    for key, series in (result.duals or {}).items():
        if series is None or len(series) == 0:
            continue
        df = series.rename("value").reset_index()
        df = df[df["value"].abs() > EPS]
        df.insert(0, "constraint", CONSTRAINT_NAMES.get(key, key))
        df = df.rename(columns={"contract": "unit", "source": "unit"})
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=SHADOW_COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    for c in SHADOW_COLUMNS:
        if c not in out:
            out[c] = ""
    out[["region", "unit", "work_type"]] = out[["region", "unit", "work_type"]].fillna("")
    return out[SHADOW_COLUMNS].reset_index(drop=True)


def _contracts(inputs: Inputs, result, plan: pd.DataFrame, shadow: pd.DataFrame) -> pd.DataFrame:
    """The contracts sheet. ``lock_in_shadow_price`` weights each scenario's lock_in price by the
    scenario's weight in the objective: its probability, or with the CVaR in the objective (v2 section 4)
    its risk-adjusted probability (the CVaR rows' duals, which come with the shadow prices), so that it
    stays the objective's derivative."""
    con = inputs.contracts
    exp = plan[(plan["scenario"] == EXPECTED) & (plan["kind"] == "contractor")].groupby("unit")[
        ["cost", "paid_hours", "task_hours"]].sum()
    y = result.values.get("y", pd.Series(dtype=float)).reindex(con.index).fillna(0.0)
    L = result.values.get("L", pd.Series(dtype=float)).reindex(con.index).fillna(0.0)
    q = result.risk_adjusted_probability
    pi = inputs.scenarios["probability"] if q is None else q
    lock = shadow[shadow["constraint"] == CONSTRAINT_NAMES["lock_in"]]
    if len(lock):
        w = lock["scenario"].map(pi).to_numpy(dtype=float)
        lock_sum = pd.Series(lock["value"].to_numpy() * w, index=lock["unit"]).groupby(level=0).sum()
    else:
        lock_sum = pd.Series(dtype=float)
    term = con["min_term_weeks"].clip(lower=1)
    df = pd.DataFrame({
        "contract": con.index,
        "source": con["source"].to_numpy(),
        "signed": _signed(con, y, L, exp),
        "committed_fte": L.to_numpy(),
        "fixed_cost": con["fixed_cost"].to_numpy(dtype=float) * y.round().to_numpy(),
    })
    status = np.where(con.index.isin(hist.staffed_contracts(inputs)), "signed", con["status"].to_numpy())
    df.insert(2, "status", status_words(status, df["signed"].to_numpy()))   # the history staffed it: signed before
    e = exp.reindex(con.index).fillna(0.0)
    df["expected_cost"] = df["fixed_cost"].to_numpy() + e["cost"].to_numpy()
    df["expected_paid_hours"] = e["paid_hours"].to_numpy()
    df["expected_task_hours"] = e["task_hours"].to_numpy()
    df["expected_utilisation"] = _share(e["task_hours"], e["paid_hours"], empty=np.nan)
    # expected saving per FTE-week of the locked term (mean over the term's weeks)
    df["lock_in_shadow_price"] = (lock_sum.reindex(con.index).fillna(0.0) / term).to_numpy()
    return df[CONTRACT_COLUMNS].reset_index(drop=True)


SIGNED_BEFORE, SIGNED_BY_PLAN, NOT_SIGNED = "signed before the plan", "signed by the plan", "offered, not signed"


def status_words(input_status, signed) -> np.ndarray:
    """The contracts sheet's status: one word per contract, from the input's status and the plan's y.

    ``signed before the plan`` (the input says signed), ``signed by the plan``
    (an option the plan signs), ``offered, not signed``."""
    input_status, signed = np.asarray(input_status), np.asarray(signed, dtype=bool)
    return np.where(input_status == "signed", SIGNED_BEFORE, np.where(signed, SIGNED_BY_PLAN, NOT_SIGNED))


def _signed(con: pd.DataFrame, y: pd.Series, L: pd.Series, exp: pd.DataFrame) -> np.ndarray:
    """y, except that a costless option the plan never staffs is reported unsigned.

    With no fixed cost and no FTE in any week or scenario, y = 1 and y = 0 give
    the same objective and both are feasible (min_fte*y <= N would force FTE);
    the solver's choice between them means nothing, so the report says 'not
    signed' (models/README.md#signing).
    """
    used = exp["paid_hours"].reindex(con.index).fillna(0.0).to_numpy() > EPS
    idle_free = ((con["status"].to_numpy() == "option") & (con["fixed_cost"].to_numpy(dtype=float) <= 0)
                 & ~used & (L.to_numpy() <= EPS))
    return (y.to_numpy() > 0.5) & ~idle_free


COST_PARTS = ("fixed", "contract_staff", "regional_staff", "onboarding", "lost_value")


def scenario_costs(inputs: Inputs, plan: pd.DataFrame, coverage: pd.DataFrame, contracts: pd.DataFrame) -> pd.DataFrame:
    """The cost breakdown as reported (this is the only reporting copy).

    Per scenario w: the cost to go if w happens, from the tidy tables (the
    figures the plan workbook shows): fixed + contract staff + regional staff +
    onboarding + lost value, ``total``, and the completion share; then
    ``sunk``, the cost of the history (v2 section 1: weeks < plan_from_week,
    and the fixed costs of contracts signed before it; 0 for a version 1
    workbook). The probability-weighted sum of ``total`` is the objective. The
    audit recomputes the same figures independently from quantities and input
    prices (:func:`capacity.analysis.checks.check_objective`).
    """
    T = hist.plan_from(inputs)
    full = _costs(inputs, plan, coverage, contracts, None)
    if T <= 1:
        return full.assign(sunk=0.0)
    out = _costs(inputs, plan, coverage, contracts, T)
    out["sunk"] = full["total"].to_numpy() - out["total"].to_numpy()
    return out


def _costs(inputs: Inputs, plan: pd.DataFrame, coverage: pd.DataFrame, contracts: pd.DataFrame,
           T: int | None) -> pd.DataFrame:
    """scenario_costs of every week (T None) or of the weeks >= T (the cost to go)."""
    scen = list(inputs.scenarios.index)
    plan = plan[plan["scenario"] != EXPECTED]
    if T is not None:
        plan = plan[plan["week"].to_numpy(dtype=int) >= T]
        coverage = coverage[coverage["week"].to_numpy(dtype=int) >= T]
        contracts = contracts[~contracts["contract"].isin(hist.sunk_fixed_contracts(inputs))]
    contract = plan["kind"] == "contractor"
    regional = plan[~contract]
    onb = regional["onboarded"].to_numpy() * regional["unit"].map(inputs.sources["onboarding_cost"]).to_numpy(
        dtype=float)
    cov = coverage[coverage["scenario"] != EXPECTED]
    lost = cov["lost"].to_numpy() * cov["work_type"].map(inputs.work_types["value_per_task"]).to_numpy(dtype=float)

    def by_scenario(frame_scen, values):
        return pd.Series(values, index=frame_scen.to_numpy()).groupby(level=0).sum().reindex(scen).fillna(0.0)

    out = pd.DataFrame({"scenario": scen, "probability": inputs.scenarios["probability"].to_numpy(dtype=float)})
    out["fixed"] = float(contracts["fixed_cost"].sum())
    out["contract_staff"] = by_scenario(plan.loc[contract, "scenario"], plan.loc[contract, "cost"].to_numpy()).to_numpy()
    onboarding = by_scenario(regional["scenario"], onb)
    out["regional_staff"] = (by_scenario(regional["scenario"], regional["cost"].to_numpy()) - onboarding).to_numpy()
    out["onboarding"] = onboarding.to_numpy()
    out["lost_value"] = by_scenario(cov["scenario"], lost).to_numpy()
    out["total"] = out[list(COST_PARTS)].sum(axis=1)
    done = by_scenario(cov["scenario"], cov["completed"].to_numpy()).to_numpy()
    demand = by_scenario(cov["scenario"], cov["demand"].to_numpy()).to_numpy()
    out["completion_share"] = np.where(demand > EPS, done / np.maximum(demand, 1e-300), 1.0)
    return out


def risk_table(inputs: Inputs, result, sc: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """v2 section 4, one row per scenario: its probability, its cost to go (``scenario_costs``' total),
    its excess over the value at risk (``z``) and its risk-adjusted probability (``q``); and the value at
    risk.

    With risk_weight lambda > 0 the value at risk is the model's ``eta``, the excess its ``z`` and ``q`` the
    CVaR rows' duals (:func:`capacity.model.solve.risk_adjusted_probability`; from the costs when no dual
    was computed, :func:`capacity.model.risk.tail_weights`). With lambda = 0 (no CVaR in the model) the
    same figures are computed from the costs: the value at risk is the cvar_alpha-quantile, q = pi.
    ``in_tail``: :func:`capacity.model.risk.in_tail`."""
    lam, a = rk.weight(inputs), rk.alpha(inputs)
    scen = list(sc["scenario"])
    p = sc["probability"].to_numpy(dtype=float)
    c = sc["total"].to_numpy(dtype=float)
    eta_v = result.values.get("eta") if result.values else None
    if lam > 0 and eta_v is not None and len(eta_v):
        eta = float(eta_v.iloc[0])
        z = result.values["z"].reindex(scen).fillna(0.0).to_numpy(dtype=float)
        q = result.risk_adjusted_probability
        q = (q.reindex(scen).fillna(0.0).to_numpy(dtype=float) if q is not None
             else (1 - lam) * p + rk.tail_weights(c, p, eta, lam, a))
    else:
        eta, _ = rk.var_cvar(c, p, a)
        z = np.maximum(c - eta, 0.0)
        q = p.copy()
    frame = pd.DataFrame({"scenario": scen, "probability": p, "scenario_cost": c, "excess_over_var": z,
                          "in_tail": rk.in_tail(c, p, eta, a), "risk_adjusted_probability": q})[RISK_COLUMNS]
    return frame, eta


def _summary(inputs: Inputs, result, plan: pd.DataFrame, coverage: pd.DataFrame, sc: pd.DataFrame,
             value_at_risk: float):
    e = {part: float((sc[part] * sc["probability"]).sum()) for part in COST_PARTS}
    exp = plan[plan["scenario"] == EXPECTED]
    cov = coverage[coverage["scenario"] == EXPECTED]
    demand = float(cov["demand"].sum())
    sunk = float((sc["sunk"] * sc["probability"]).sum())
    rows = [
        ("status", result.status),
        ("objective", result.objective),
        ("expected_staff_cost", e["contract_staff"] + e["regional_staff"]),
        ("expected_onboarding_cost", e["onboarding"]),
        ("fixed_cost", e["fixed"]),
        ("expected_lost_value", e["lost_value"]),
        ("expected_total_cost", sum(e.values())),
        ("expected_cash_cost", sum(e.values()) - e["lost_value"]),
        ("expected_completion_share", float(cov["completed"].sum()) / demand if demand > EPS else 1.0),
        ("mip_gap", result.gap),
        ("currency", inputs.settings.currency),
        # v2 section 1: the costs of the weeks before plan_from_week (and the fixed costs of contracts signed
        # before it) are sunk; the objective and every expected_* figure above are the cost to go
        ("sunk_cost", sunk),
        ("cost_to_go", sum(e.values())),
    ]
    go = exp[exp["week"].to_numpy(dtype=int) >= hist.plan_from(inputs)]   # the cost to go, as above
    for kind, cost in go.groupby("kind", sort=False)["cost"].sum().items():
        rows.append((f"expected_cost:{kind}", float(cost)))
    # v2 section 4: the risk of the cost to go, whatever the objective (risk_weight 0 included)
    a = rk.alpha(inputs)
    costs = sc["total"].to_numpy(dtype=float)
    cvar = rk.tail_cvar(costs, sc["probability"].to_numpy(dtype=float), a)
    worst = int(np.argmax(costs)) if len(costs) else None
    rows += [
        ("risk_weight", rk.weight(inputs)),
        ("cvar_alpha", a),
        ("cvar", cvar),
        ("value_at_risk", value_at_risk),
        ("worst_scenario", None if worst is None else str(sc["scenario"].iloc[worst])),
        ("worst_scenario_cost", None if worst is None else float(costs[worst])),
    ]
    return pd.DataFrame(rows, columns=["key", "value"])
