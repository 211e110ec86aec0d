"""The corpus of bad input files (tests/badfiles, built by make_corpus.py).

Every file goes through `capacity validate` in-process (click's CliRunner) and
must give the expected exit status (1, or 0 for the deliberately valid ones),
the expected message with its exact sheet!CELL, no traceback, nothing written,
within seconds. A handful, the bombs and the million-row claim among them, run
as subprocesses under a 2 GiB address-space limit; the files whose point is
their size are built in a temporary folder.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from capacity.cli import main

HERE = Path(__file__).resolve().parent / "badfiles"
_spec = importlib.util.spec_from_file_location("make_corpus", HERE / "make_corpus.py")
corpus = importlib.util.module_from_spec(_spec)
sys.modules["make_corpus"] = corpus  # dataclasses look the module up
_spec.loader.exec_module(corpus)

CASES = {c.name: c for c in corpus.CASES}
SECONDS = 10
MEMORY_LIMIT = 2 << 30
IN_SUBPROCESS = ["valid_example", "valid_non_ascii_ids", "xml_entity_bomb", "zip_bomb_ratio",
                 "million_row_dimension_claim", "million_row_real_cells", "regions_merged_cells", "demand_na_text"]


def _listing(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


@pytest.fixture(scope="module")
def corpus_listing():
    before = _listing(HERE)
    yield before
    assert _listing(HERE) == before, "a corpus file was changed or a file was written in tests/badfiles"


def _check_output(case, code: int, out: str) -> None:
    assert code == case.exit_code, f"{case.name}: exit {code}, expected {case.exit_code}\n{out}"
    for text in case.expect:
        assert text in out, f"{case.name}: expected {text!r} in\n{out}"
    assert "Traceback" not in out and "internal error" not in out, out
    if case.exit_code == 1:
        assert "nothing written." in out, out


def test_corpus_size_and_files():
    assert len(CASES) >= 30
    assert sum(c.exit_code == 0 for c in CASES.values()) >= 5  # deliberately valid files
    for name in CASES:
        p = HERE / f"{name}.xlsx"
        assert p.is_file(), f"{p} missing: run python tests/badfiles/make_corpus.py"
        assert p.stat().st_size < 50_000, p
    extra = {p.stem for p in HERE.glob("*.xlsx")} - set(CASES)
    assert not extra, f"files with no case in make_corpus.py: {sorted(extra)}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_in_process(name, tmp_path, monkeypatch, corpus_listing):
    case = CASES[name]
    monkeypatch.chdir(tmp_path)
    t0 = time.perf_counter()
    res = CliRunner().invoke(main, ["validate", str(HERE / f"{name}.xlsx")])
    elapsed = time.perf_counter() - t0
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    _check_output(case, res.exit_code, res.stdout + res.stderr)
    assert elapsed < SECONDS, f"{name}: {elapsed:.1f}s"
    assert list(tmp_path.iterdir()) == []  # nothing written where it ran


_RUNNER = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from capacity.cli import main
sys.argv = ["capacity", "validate", sys.argv[1]]
main()
"""


def _run_limited(path: Path, cwd: Path) -> tuple[int, str, float]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _RUNNER.format(limit=MEMORY_LIMIT), str(path)], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - t0


@pytest.mark.parametrize("name", IN_SUBPROCESS)
def test_validate_as_subprocess_with_bounded_memory(name, tmp_path, corpus_listing):
    case = CASES[name]
    code, out, elapsed = _run_limited(HERE / f"{name}.xlsx", tmp_path)
    _check_output(case, code, out)
    assert elapsed < 30, f"{name}: {elapsed:.1f}s"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", corpus.BIG_CASES, ids=lambda c: c.name)
def test_big_bombs_are_refused_with_bounded_memory(case, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    path = tmp_path / f"{case.name}.xlsx"
    case.build(path)
    code, out, elapsed = _run_limited(path, folder)
    _check_output(case, code, out)
    assert elapsed < 30, f"{case.name}: {elapsed:.1f}s"
    assert list(folder.iterdir()) == []


def test_committed_corpus_is_current(tmp_path):
    """make_corpus.py is deterministic and the committed files are its output."""
    corpus.build_all(tmp_path)
    stale = [p.name for p in sorted(tmp_path.glob("*.xlsx"))
             if p.read_bytes() != (HERE / p.name).read_bytes()]
    assert not stale, f"rebuild with python tests/badfiles/make_corpus.py: {stale}"
