"""Python's cyclic garbage collector, paused while a stage allocates millions of objects.

Building a national model creates several million Pyomo objects (one expression
term per nonzero) and almost no garbage cycles. With the collector on, each of
its generation-2 passes walks the whole growing heap: on the 50 x 26 x 5
benchmark instance that is half the build's CPU time (benchmarks/README.md).
Objects without cycles are still freed at once by reference counting; cycles
made inside the stage are collected when it ends.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def paused_gc():
    """Pause the collector inside the block (nested uses keep it paused until the outermost ends)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
