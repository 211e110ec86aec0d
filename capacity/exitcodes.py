"""Exit statuses of the command line (outputs.md), defined once.

| status | meaning |
|---|---|
| 0 | done: solved, valid, verified |
| 1 | bad input or an unusable file or path (nothing written) |
| 3 | infeasible (a diagnostic workbook is written) |
| 4 | no solution within the limits, a solver failure or a failed audit check |
| 5 | ``capacity audit``: the workbook does not match what it claims |
| 130 | interrupted (Ctrl-C); nothing written |
"""

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_INFEASIBLE = 3
EXIT_NO_SOLUTION = 4
EXIT_MISMATCH = 5
EXIT_INTERRUPTED = 130

#: solver status -> exit status of ``capacity plan``
STATUS_EXIT = {"optimal": EXIT_OK, "feasible": EXIT_OK, "infeasible": EXIT_INFEASIBLE,
               "unbounded": EXIT_NO_SOLUTION, "no_solution": EXIT_NO_SOLUTION, "error": EXIT_NO_SOLUTION}
