"""The family registry: one declaration per constraint family, and what reads it.

The coverage register (in the style of Calliope's tests/test_math.py) fails
when a declared family has no hand-computed optimum test, or no audit check
with a failing fixture (tests/test_checks.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from capacity.io import schema as S
from capacity.docs import family_reference, models_readme
from capacity.model import build_model
from capacity.model.registry import BY_KEY, FAMILIES, dual_groups, family
from capacity.output.results import CONSTRAINT_NAMES
from capacity.io.validate import read_inputs

ROOT = Path(__file__).resolve().parents[1]

#: family -> the hand-computed optimum tests of tests/test_model_families.py that pin it
HAND_COMPUTED = {
    "contracts.stock": ["test_eq4_signed_contract_paid_through_lock_in_with_zero_demand", "test_eq5_contract_ramps"],
    "contracts.window": ["test_eq2_lead_time_and_window"],
    "contracts.size_max": ["test_eq3_max_fte_caps_contract"],
    "contracts.size_min": ["test_eq3_min_fte_and_fixed_cost_option_not_signed_when_uneconomic"],
    "contracts.size_L": ["test_eq3_max_fte_caps_contract"],
    "contracts.lock_in": ["test_eq4_signed_contract_paid_through_lock_in_with_zero_demand"],
    "contracts.committed": ["test_eq4_signed_contract_paid_through_lock_in_with_zero_demand"],
    "contracts.ramp_up": ["test_eq5_contract_ramps"],
    "contracts.ramp_down": ["test_eq5_contract_ramps"],
    "regional.stock": ["test_eq6_lead_time_and_onboarding_cost", "test_eq7_recall_of_redeployed_staff_forces_exits"],
    "regional.lead": ["test_eq6_lead_time_and_onboarding_cost"],
    "regional.availability": ["test_eq7_recall_of_redeployed_staff_forces_exits"],
    "regional.cohort": ["test_eq8_cohort_min_term_keeps_hires_after_demand_falls"],
    "regional.ramp": ["test_eq9_regional_ramp"],
    "hours.regional": ["test_eq10_training_and_supervision_reduce_eho_casework_hours",
                       "test_eq10_trainer_absent_from_region_blocks_onboarding"],
    "hours.contract": ["test_eq11_contract_hours_serve_every_region"],
    "demand.balance": ["test_eq12_escalation_adds_handoff_hours_and_receiver_work"],
    "demand.completion": ["test_eq13_binding_completion_target"],
    "nonanticipativity.Ninc": ["test_eq14_same_onboarding_before_reveal_and_different_after"],
    "nonanticipativity.Ndec": ["test_eq14_same_onboarding_before_reveal_and_different_after"],
    "nonanticipativity.O": ["test_eq14_same_onboarding_before_reveal_and_different_after"],
    "nonanticipativity.X": ["test_eq14_same_onboarding_before_reveal_and_different_after"],
    "risk.tail": ["test_v2_4_hand_computed_two_scenario_optimum_at_half_risk_weight",
                  "test_v2_4_below_the_switch_the_expected_plan_stays"],
}


def test_every_family_has_a_hand_computed_optimum_test():
    import test_model_families as tmf
    import test_risk

    assert set(HAND_COMPUTED) == set(BY_KEY), "declare the family's hand-computed test in HAND_COMPUTED"
    for key, names in HAND_COMPUTED.items():
        module = test_risk if key.startswith("risk.") else tmf   # version 2 section 4: tests/test_risk.py
        for name in names:
            assert callable(getattr(module, name, None)), f"{key}: no test {name} in {module.__name__}"


def test_every_family_has_an_audit_check_with_a_failing_fixture():
    import test_checks

    for f in FAMILIES:
        assert f.checks, f"{f.key}: declare its audit check (FamilySpec.checks)"
        for check in f.checks:
            assert check.fn.__name__ in test_checks.FAILING, f"{f.key}: {check.fn.__name__} has no failing fixture"


def test_equations_cover_formulation_1_to_14_in_order_then_version_2():
    eqs = [int(f.eq) for f in FAMILIES if f.eq.isdigit()]
    assert sorted(set(eqs)) == list(range(1, 15))
    assert eqs == sorted(eqs), "declare families in formulation.md's order"
    later = [f.eq for f in FAMILIES[len(eqs):]]
    assert later == ["v2.4"], "version 2's families (v2.md section 4: risk.tail) come after eq 14"


def test_every_read_column_exists_in_the_schema():
    for f in FAMILIES:
        for ref in f.reads:
            sheet, column = ref.split(".", 1)
            sh = S.SHEETS_BY_NAME[sheet]
            if column == "<week>":
                assert sh.week_column is not None, (f.key, ref)
            else:
                sh.column(column)  # KeyError if the family cites a column that does not exist


def test_elastic_families_say_what_to_change_and_where():
    for f in FAMILIES:
        if f.elastic:
            assert f.broken and f.remedy and f.remedy_inputs and f.cells is not None, f.key
        assert f.sense in ("<=", ">=", "=="), f.key


@pytest.fixture(scope="module")
def small(small_path):
    inputs, _ = read_inputs(small_path)
    return inputs


def test_built_model_only_has_declared_families_and_the_spec_drives_the_rows(small):
    built = build_model(small, elastic=True)
    assert built.families, "the small example builds rows"
    for fam in built.families:
        assert fam.spec is BY_KEY[fam.spec.key]
        if len(fam.keys):
            comp = built.model.component(fam.block).component(fam.name)
            assert comp is not None and f"eq {fam.spec.eq}" in comp.doc
        assert bool(fam.slack) == (fam.spec.elastic and len(fam.keys) > 0), fam.spec.key
    plain = build_model(small)
    assert not any(f.spec.bound for f in plain.families), "bound families are rows only in the elastic model"


def test_elastic_cells_come_from_the_declaration(small):
    inp = small
    key = {"contract": inp.contracts.index[0], "week": 1, "scenario": inp.scenarios.index[0]}
    got = family("contracts.lock_in").cells(inp, key)
    assert all(re.fullmatch(r"contracts![A-Z]+2", c) for c in got) and len(got) == 2


def test_shadow_price_labels_come_from_the_declarations():
    assert CONSTRAINT_NAMES == dual_groups()
    assert set(CONSTRAINT_NAMES) == {"hours", "demand", "lock_in"}
    assert family("hours.regional").dual.sign == -1.0 and family("demand.balance").dual.sign == 1.0


def test_models_readme_family_section_is_current():
    text = (ROOT / "models" / "README.md").read_text()
    assert family_reference() in text
    assert models_readme(text) == text, "run: python -m capacity.docs"


@pytest.mark.parametrize("eq", range(1, 15))
def test_models_readme_keeps_an_anchor_per_equation(eq):
    assert f'<a id="eq-{eq}"></a>' in (ROOT / "models" / "README.md").read_text()
