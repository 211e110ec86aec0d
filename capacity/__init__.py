"""capacity: staffing-mix optimisation for surge casework services.

The data path is one pipeline, each stage a module with one job:

workbook (.xlsx) -> :mod:`capacity.safety` (refuse files that are not safe
workbooks) -> :mod:`capacity.reader` (raw sheets with cell positions) ->
:mod:`capacity.validate` (schema- and rule-checked, typed :class:`Inputs`) ->
:mod:`capacity.model` (Pyomo model, one block per constraint family) ->
:mod:`capacity.solve` (HiGHS) -> :mod:`capacity.results` (tidy tables) ->
:mod:`capacity.checks` (audit checks from the tables) -> :mod:`capacity.report`
(output workbook).
"""

__version__ = "0.1.0"
