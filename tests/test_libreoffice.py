"""Round trips through the real client: workbooks re-saved by LibreOffice Calc.

A planner opens the input in a spreadsheet and saves it; an auditor opens the
plan and saves it. Both must still work: the input validates and plans to the
same optimum, the plan passes `capacity audit --input`. These tests need
LibreOffice (`soffice`); `.ci/run` installs it, and README.md says how.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from capacity import api
from capacity.cli import main
from capacity.io.errors import ERROR
from capacity.io.reader import sha256_of
from capacity.io.validate import read_inputs

REPO = Path(__file__).resolve().parents[1]
ENGLAND = REPO / "inputs" / "england-2020.xlsx"

pytestmark = pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice is not installed (no `soffice` on PATH): `sudo apt-get install -y libreoffice-calc` "
           "(see README.md, 'LibreOffice')")


def resave(path: Path, folder: Path) -> Path:
    """`path` opened and saved as .xlsx by LibreOffice Calc (headless), in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    profile = folder / "lo_profile"  # a private profile: parallel runs do not share a lock
    proc = subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless",
                           "--convert-to", "xlsx", "--outdir", str(folder), str(path)],
                          capture_output=True, text=True, timeout=300)
    out = folder / path.name
    assert proc.returncode == 0 and out.exists(), proc.stdout + proc.stderr
    with zipfile.ZipFile(out) as z:  # really LibreOffice's file, not a copy of ours
        assert b"LibreOffice" in z.read("docProps/app.xml")
    assert sha256_of(out) != sha256_of(path)
    return out


@pytest.mark.parametrize("which", ["small", "england"])
def test_input_resaved_by_libreoffice_plans_to_the_same_optimum(small_path, tmp_path, which):
    original = small_path if which == "small" else ENGLAND
    resaved = resave(original, tmp_path / "lo")
    inputs, issues = read_inputs(resaved)
    assert not [i for i in issues if i.level == ERROR], issues
    a = api.plan(original, tmp_path / "original-plan.xlsx")
    b = api.plan(resaved, tmp_path / "resaved-plan.xlsx")
    assert a.exit_code == b.exit_code == 0, (a.message, b.message)
    assert b.solve.objective == pytest.approx(a.solve.objective, rel=1e-9)
    assert (b.checks["result"] == "pass").all()
    keys = ["scenario", "week", "region", "unit"]
    assert b.tables.plan[keys].equals(a.tables.plan[keys])


def test_plan_resaved_by_libreoffice_passes_audit(small_path, tmp_path):
    out = tmp_path / "small-plan.xlsx"
    assert api.plan(small_path, out).exit_code == 0
    resaved = resave(out, tmp_path / "lo")
    r = CliRunner().invoke(main, ["audit", str(resaved), "--input", str(small_path)])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip().splitlines()[-1] == "verified"
    assert "constraint checks: " in r.stdout and " pass against the input" in r.stdout
