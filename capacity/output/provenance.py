"""The provenance of a run: the ``run`` sheet every output workbook carries.

Versions, command line, start time, input file and its SHA-256, platform,
model size, the seconds of each stage and the solver's status. The write time
is known only after the file is saved: :func:`record_write_seconds` patches
it into the saved workbook.
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
from pathlib import Path

import pandas as pd

from capacity import __version__


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"capacity": __version__, "python": platform.python_version()}
    for dist in ("pyomo", "highspy", "pandas", "numpy", "openpyxl", "XlsxWriter", "python-calamine"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def provenance_rows(inputs, started: dt.datetime, command_line: str | None, stats: dict,
                    extra_versions: tuple[str, ...] = ()) -> list[tuple[str, object]]:
    """The rows every `run` sheet starts with: versions, command line, start
    time, input file and SHA-256, platform and model size."""
    from importlib.metadata import PackageNotFoundError, version

    rows = [(f"version:{k}", v) for k, v in versions().items()]
    for dist in extra_versions:
        try:
            rows.append((f"version:{dist}", version(dist)))
        except PackageNotFoundError:
            rows.append((f"version:{dist}", "not installed"))
    rows += [
        ("command_line", command_line or " ".join(["capacity"] + sys.argv[1:])),
        ("start_time", started.isoformat(timespec="seconds")),
        ("input_file", Path(inputs.origin.path).name),
        ("input_sha256", inputs.origin.sha256),
        ("platform", platform.platform()),
    ]
    rows += [(f"model_{key}", stats.get(key)) for key in ("variables", "constraints", "nonzeros", "binaries")]
    return rows


def run_sheet(inputs, built, result, timings: dict, started: dt.datetime, command_line: str | None,
              write_started: float | None = None) -> pd.DataFrame:
    """Provenance of the run (outputs.md sheet `run`)."""
    stats = dict(getattr(built, "stats", {}) or {})
    stats.update({k: v for k, v in (result.stats or {}).items() if k not in stats})
    rows = provenance_rows(inputs, started, command_line, stats)
    for key in ("read_s", "build_s", "solve_s", "tables_s"):
        rows.append((f"seconds_{key[:-2]}", round(timings.get(key, float("nan")), 3)))
    if write_started is not None:
        rows.append(("seconds_write", WRITE_SECONDS_SENTINEL))
    rows += [
        ("solver", f"HiGHS {stats.get('solver_version', '')}".strip()),
        ("solve_path", stats.get("solve_path", "")),
        ("solver_status", result.status),
        ("termination_message", result.termination),
        ("objective", result.objective),
        ("best_bound", result.bound),
        ("mip_gap", result.gap),
    ]
    return pd.DataFrame(rows, columns=["key", "value"])


# The run sheet states how long writing the workbook took, which is known only
# after the file is saved: the cell holds this sentinel, and the saved sheet's
# XML is patched with the measured seconds (every other part is copied as is).
WRITE_SECONDS_SENTINEL = -987654321.25  # written by XlsxWriter as <v>-987654321.25</v>


def record_write_seconds(path, seconds: float) -> None:
    """Write ``seconds`` into the saved workbook's run sheet (the cell holding WRITE_SECONDS_SENTINEL).

    Only that sheet's XML is rewritten: the worksheets are searched smallest first (the run sheet is a
    few rows) and the search stops at the sheet holding the sentinel; every other member of the file is
    copied as it is, still compressed (no member is inflated or deflated again)."""
    import os
    import shutil
    import zipfile

    needle = f"<v>{WRITE_SECONDS_SENTINEL}</v>".encode()
    patched = f"{Path(path)}.patch"
    with zipfile.ZipFile(path) as src:
        infos = src.infolist()
        target, data = None, b""
        for info in sorted((i for i in infos if i.filename.startswith("xl/worksheets/")), key=lambda i: i.file_size):
            data = src.read(info)
            if needle in data:
                target, data = info, data.replace(needle, f"<v>{round(seconds, 3)}</v>".encode())
                break
        if target is None:
            return
        with open(path, "rb") as raw, zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in infos:
                if info is target:
                    dst.writestr(info, data)
                else:
                    append_raw(dst, info, read_raw(raw, info))
    shutil.copymode(path, patched)
    os.replace(patched, path)


def read_raw(fh, info) -> bytes:
    """The compressed bytes of zip member ``info`` of the open zip file ``fh``, as stored."""
    import struct

    fh.seek(info.header_offset)
    head = fh.read(30)
    if head[:4] != b"PK\x03\x04":
        raise ValueError(f"{info.filename}: not a zip member header")
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    return fh.read(info.compress_size)


def append_raw(dst, info, payload: bytes) -> None:
    """Append a member to the zip file ``dst`` (open for writing) from its compressed bytes, as stored
    (``info`` gives its name, method, CRC and sizes): what ``ZipFile.writestr`` does, less the deflating."""
    import copy

    zinfo = copy.copy(info)
    zinfo.flag_bits &= ~0x08        # sizes and CRC are in the header: no data descriptor follows
    zinfo.extra = b""
    dst.fp.seek(dst.start_dir)
    zinfo.header_offset = dst.fp.tell()
    dst._writecheck(zinfo)
    dst._didModify = True
    dst.fp.write(zinfo.FileHeader())
    dst.fp.write(payload)
    dst.start_dir = dst.fp.tell()
    dst.filelist.append(zinfo)
    dst.NameToInfo[zinfo.filename] = zinfo
