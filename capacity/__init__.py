"""capacity: staffing-mix optimisation for surge casework services.

The data path is one pipeline, each stage a module with one job:

workbook (.xlsx) -> :mod:`capacity.io.safety` (refuse files that are not safe
workbooks) -> :mod:`capacity.io.reader` (raw sheets with cell positions) ->
:mod:`capacity.io.validate` (schema- and rule-checked, typed :class:`Inputs`) ->
:mod:`capacity.model` (Pyomo model, one block per constraint family) ->
:mod:`capacity.model.solve` (HiGHS) -> :mod:`capacity.output.results` (tidy tables) ->
:mod:`capacity.analysis.checks` (audit checks from the tables) -> :mod:`capacity.output.report`
(output workbook).
"""

__version__ = "0.1.0"
