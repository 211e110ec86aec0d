"""Every constraint family of the model, in formulation.md's order.

The declarations live beside the code that builds their rows (one
``FAMILIES`` tuple and one ``build(ctx)`` per family module); this module only
lists the modules. :func:`capacity.model.build_model` calls each module's
``build`` in this order. To add a family: declare it in its module (a new
module is added to :data:`MODULES`), build its rows with
``ctx.add_rows(SPEC, ...)``, and add its tests.
"""

from __future__ import annotations

from . import contracts, demand, hours, nonanticipativity, regional, risk
from .family import FamilySpec

#: the family modules, in formulation.md's order (then v2 section 4's risk); each has FAMILIES and build(ctx)
MODULES = (contracts, regional, hours, demand, nonanticipativity, risk)
FAMILIES: tuple[FamilySpec, ...] = tuple(f for module in MODULES for f in module.FAMILIES)
BY_KEY: dict[str, FamilySpec] = {f.key: f for f in FAMILIES}
assert len(BY_KEY) == len(FAMILIES), "family keys must be unique"


def family(key: str) -> FamilySpec | None:
    """The declaration of ``block.name`` (or of a label ``block.name (eq N)``)."""
    return BY_KEY.get(key.split(" ", 1)[0])


def dual_groups() -> dict[str, str]:
    """shadow_prices group -> its label (one label per group)."""
    return {f.dual.group: f.dual.label for f in FAMILIES if f.dual is not None}
