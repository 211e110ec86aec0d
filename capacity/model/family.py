"""The declaration of a constraint family: everything about it, in one place.

Each family module (``contracts``, ``regional``, ``hours``, ``demand``,
``nonanticipativity``) declares its families as :class:`FamilySpec` values
beside the code that builds their rows; :mod:`.registry` collects them. The
rest of the package reads a family's facts from here and nowhere else:

- the row builder (:meth:`capacity.model.core.Context.add_rows`): block, name,
  equation, sense and whether the elastic model gives it a slack;
- the solver (:mod:`capacity.model.solve`): which families have a shadow price,
  under which label and with which sign;
- the infeasibility explanation (:mod:`capacity.analysis.diagnose`): the
  slack's unit, what a positive slack means, the remedy and the input cells
  of one row;
- the audit (:mod:`capacity.analysis.checks`): the family's checks, defined in
  its module from the result tables and the input alone (:mod:`.recheck`);
- the documentation: the family table of ``models/README.md`` is generated
  from these declarations (:func:`capacity.io.docs.family_table`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Dual:
    """How a family's row duals are reported in ``shadow_prices``.

    ``group`` is the key of ``SolveResult.duals`` (families of one group are
    reported together), ``label`` the text of the ``constraint`` column and
    ``sign`` turns Pyomo's dual into the reported figure (which is then
    divided by the scenario's probability: conditional on the scenario).
    ``unit`` names the row key level reported as ``unit``; ``region`` fills
    the region column when the rows have none (a contract's is ''); ``levels``
    orders the index of a group that joins several families.
    """

    group: str
    label: str
    sign: float
    unit: str | None = None
    region: str | None = None
    levels: tuple | None = None


@dataclass(frozen=True)
class FamilySpec:
    """One constraint family of formulation.md (a Pyomo component ``block.name``)."""

    block: str
    name: str
    eq: str                      # formulation.md equation number
    sense: str                   # '<=', '>=' or '=='
    title: str                   # short name ("block lock-in")
    statement: str               # the rule, plain text
    latex: str                   # the rule, LaTeX
    meaning: str                 # what it means for a planner
    reads: tuple[str, ...]       # input columns, "sheet.column"
    bound: bool = False          # a variable bound in the ordinary model (a row only when elastic)
    slack_unit: str = ""         # elastic families: the unit of the slack ('' = no slack, always hard)
    broken: str = ""             # what a positive slack means
    remedy: str = ""             # what a planner can change
    remedy_inputs: str = ""      # the family as a list of inputs ("initial terms (contracts ...)")
    cells: Callable | None = None     # (inputs, row key dict) -> input cells of one row
    dual: Dual | None = None
    checks: tuple = ()                # audit checks (recheck.Check), from the tables and the input alone

    @property
    def key(self) -> str:
        return f"{self.block}.{self.name}"

    @property
    def elastic(self) -> bool:
        return bool(self.slack_unit)

    @property
    def label(self) -> str:
        return f"{self.key} (eq {self.eq})"


@dataclass(frozen=True)
class ObjectiveSpec:
    """A part of the objective (a named Pyomo Expression on the model)."""

    name: str
    title: str
    statement: str
    reads: tuple[str, ...] = field(default_factory=tuple)
