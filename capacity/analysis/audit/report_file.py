"""`capacity audit --report FILE`: what the audit checked and found, as a file.

The report is built from the :class:`capacity.analysis.audit.AuditResult`
alone (no figure is recomputed here):

* the verdict, the audited workbook and its SHA-256;
* the input: the run sheet's recorded SHA-256 and the one computed from the
  input file, or "not checked: input taken from the input_ sheets";
* each step with its figure (the line the audit printed) and, for a step that
  failed, every difference with the cell it names;
* the objective: reported against re-solved, and the gap allowed with each
  of its terms;
* every tolerance used, with its value and where it comes from.

``FILE`` ending ``.xlsx`` is a workbook that opens on a ``read_me_first``
sheet (:class:`capacity.output.report_blocks.BlockSheet`) followed by the
tables ``steps``, ``differences``, ``tolerances`` and ``digests``; ``.md`` is
Markdown and ``.txt`` plain text. The file is written atomically and may not
be the audited workbook or its input.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from capacity.io.errors import file_error

SUFFIXES = (".xlsx", ".md", ".txt")
#: At most this many differences are written per step (the count is always given).
MAX_DIFFERENCES = 5000
_CELL = re.compile(r"^((?:'[^']+'|[A-Za-z0-9_]+)![A-Z]{1,3}[0-9]{1,7}): ")
RESULT_WORDS = {True: "pass", False: "MISMATCH", None: "not verified"}


# ------------------------------------------------------------------ paths
def begin(output, input_path, report, raw, progress):
    """The start every audit of a non-plan workbook shares: (output as a Path, the checked report path,
    a fresh AuditResult, its step Report). ``raw``: the workbook already read by
    :func:`capacity.analysis.audit.audit`, which has checked ``report`` too."""
    from capacity.analysis.audit import AuditResult
    from capacity.analysis.audit.diffs import Report
    from capacity.exitcodes import EXIT_OK

    output = Path(output)
    if report is not None and raw is None:
        report = check_report_path(report, output, input_path)
    res = AuditResult(EXIT_OK, output=output)
    step = Report(res.lines, res.mismatches, res.steps)
    if raw is None:
        progress(f"reading {output}")
    return output, report, res, step


def finish(res, report, progress):
    """The end the compare and backtest audits share: the verdict line (exit 5 on any mismatch) and the
    report file when asked for; returns ``res``."""
    from capacity.exitcodes import EXIT_MISMATCH

    if res.mismatches:
        res.exit_code = EXIT_MISMATCH
        res.lines.append(f"not verified: {len(res.mismatches)} difference{'s' if len(res.mismatches) != 1 else ''} "
                         "(see above)")
    else:
        res.lines.append("verified")
    if report is not None:
        progress(f"writing the report {report}")
        res.report_path = write_audit_report(report, res)
    return res


def check_report_path(report, output, input_path=None) -> Path:
    """The report path, checked before the audit runs: a known suffix, not the audited workbook nor
    the input, and a folder that can be written (:func:`capacity.io.safety.check_output_path`)."""
    from capacity.io import safety
    from capacity.io.output_paths import _same_file

    path = Path(report)
    if path.suffix.lower() not in SUFFIXES:
        raise file_error(f"{path}: a report must end in .xlsx (a workbook), .md or .txt (text); "
                         f"got {path.suffix or 'no suffix'}")
    for other, what in ((output, "the audited workbook"), (input_path, "the input")):
        if other is not None and _same_file(path, Path(other)):
            raise file_error(f"{path}: the report would overwrite {what} {other}; choose another report file name")
    safety.check_output_path(path, [p for p in (output, input_path) if p is not None])
    return path


def write_audit_report(path, res) -> Path:
    """Write the report of ``res`` to ``path`` (its suffix chooses the format), atomically."""
    from capacity.io import safety

    path = check_report_path(path, res.output, res.input_path)
    if path.suffix.lower() == ".xlsx":
        from capacity.output.report import write_report

        sheets = report_sheets(res)
        safety.atomic_write(path, lambda tmp: write_report(tmp, sheets))
    else:
        body = report_text(res, markdown=path.suffix.lower() == ".md")
        safety.atomic_write(path, lambda tmp: Path(tmp).write_text(body, encoding="utf-8"))
    return path


# ------------------------------------------------------------------ content
def verdict_sentence(res) -> str:
    n = len(res.mismatches)
    if n:
        return (f"NOT VERIFIED: the audit found {n:,} difference{'s' if n != 1 else ''}; exit status "
                f"{res.exit_code}. Each is listed below with the cell it names.")
    how = ("against the input copied into the workbook (its input_ sheets); the SHA-256 of the original input "
           "file was not checked" if res.source is not None and res.source.embedded else
           "against the input file, whose SHA-256 is the one the run sheet records")
    return f"VERIFIED {how}; exit status {res.exit_code}."


def digests_frame(res) -> pd.DataFrame:
    from capacity.analysis.audit.steps import NOT_CHECKED

    src = res.source
    rows = [("audited workbook", str(res.output), res.output_sha256 or "", "SHA-256 of the file as read")]
    if src is not None:
        rows.append(("input SHA-256 recorded", src.recorded_cell, src.recorded or "nothing recorded",
                     f"the run sheet's input_sha256 (input_file {src.input_file or '?'})"))
        if src.embedded:
            rows.append(("input SHA-256 computed", "", NOT_CHECKED, f"no input file found ({src.why})"))
        else:
            agree = "equal to the recorded one" if src.computed == src.recorded else "DIFFERS from the recorded one"
            rows.append(("input SHA-256 computed", str(src.path), src.computed or "the file cannot be read", agree))
    return pd.DataFrame(rows, columns=["what", "where", "sha256", "note"])


def digest_sentences(res) -> list[str]:
    src = res.source
    out = [f"Audited workbook {res.output}: SHA-256 {res.output_sha256}."]
    if src is None:
        return out
    out.append(f"Input SHA-256 recorded in the run sheet ({src.recorded_cell}, input_file {src.input_file or '?'}): "
               f"{src.recorded or 'nothing'}.")
    if src.embedded:
        out.append(f"Input SHA-256 computed: not checked: input taken from the input_ sheets (no input file found: "
                   f"{src.why}).")
    else:
        agree = "equal to the recorded one" if src.computed == src.recorded else "DIFFERENT from the recorded one"
        out.append(f"Input SHA-256 computed from {src.path}: {src.computed or 'the file cannot be read'} ({agree}).")
    return out


def steps_frame(res) -> pd.DataFrame:
    rows = []
    for i, s in enumerate(res.steps, 1):
        rows.append((i, s.name, RESULT_WORDS[s.passed], len(s.problems), s.line))
    return pd.DataFrame(rows, columns=["step", "name", "result", "differences", "figure"])


def differences_frame(res) -> pd.DataFrame:
    rows = []
    for s in res.steps:
        for p in s.problems[:MAX_DIFFERENCES]:
            m = _CELL.match(p)
            rows.append((s.name, m.group(1) if m else "", p[m.end():] if m else p))
        if len(s.problems) > MAX_DIFFERENCES:
            rows.append((s.name, "", f"... and {len(s.problems) - MAX_DIFFERENCES:,} more"))
    return pd.DataFrame(rows, columns=["step", "cell", "difference"])


def tolerances_frame(res) -> pd.DataFrame:
    return pd.DataFrame([(t.name, t.value, t.applies_to, t.origin) for t in res.tolerances],
                        columns=["tolerance", "value", "applies_to", "origin"])


def objective_sentences(res) -> list[str]:
    o = res.objective
    if o is None:
        return ["The objective was not compared: the re-solve found no plan."]
    ok = abs(o.difference) <= o.allowed
    return [
        f"Objective reported in {o.objective_cell}: {o.reported:,.2f}; the audit's re-solve (mip_gap {o.mip_gap:g}, "
        f"from {o.mip_gap_from}) found {o.optimum:,.2f}: difference {o.difference:,.2f}, "
        f"{'within' if ok else 'MORE THAN'} the {o.allowed:,.2f} allowed.",
        f"Allowed = (the run's achieved gap {o.run_gap:.3g} [{o.run_gap_cell}] + the re-solve's achieved gap "
        f"{o.resolve_gap:.3g} + OBJ_TOL {o.obj_tol:g} [capacity/analysis/audit/steps.py]) x max(1, |reported "
        f"objective|) {o.scale:,.2f} = {o.allowed:,.2f}.",
    ]


def _command(res) -> str:
    cmd = f"capacity audit {res.output}"
    if res.input_path is not None:
        cmd += f" --input {res.input_path}"
    return cmd


# ------------------------------------------------------------------ xlsx
def report_sheets(res) -> list:
    """read_me_first (sentences and small tables), then the tables in full."""
    from capacity.output.report import SheetSpec
    from capacity.output.report_blocks import BlockSheet, blank, bullet, heading, table, text, title

    steps = steps_frame(res)
    blocks = [title(f"Audit of {Path(str(res.output)).name}"), text(verdict_sentence(res)),
              text(f"Re-run it with: {_command(res)}"), blank(),
              heading("The input and its SHA-256")]
    blocks += [bullet(s) for s in digest_sentences(res)]
    blocks += [blank(), heading("Steps"),
               table(steps[["name", "result", "differences"]], {"differences": "int"}),
               text("Sheet steps has each step's figure (the line the audit printed); sheet differences has every "
                    "difference with the cell it names."), blank(),
               heading("The objective")]
    blocks += [text(s) for s in objective_sentences(res)]
    failed = [s for s in res.steps if s.passed is False]
    if failed:
        blocks += [blank(), heading("Differences (the first lines of each failing step)")]
        for s in failed:
            blocks.append(text(f"{s.line}:"))
            blocks += [bullet(p) for p in s.problems[:5]]
            if len(s.problems) > 5:
                blocks.append(bullet(f"... and {len(s.problems) - 5:,} more (sheet differences)"))
    blocks += [blank(), heading("Tolerances and where they come from")]
    blocks += [bullet(f"{t.name} = {_plain(t.value)} ({t.origin}): {t.applies_to}") for t in res.tolerances]
    note = "What capacity audit checked and found, and the tolerances it used."
    return [
        BlockSheet("read_me_first", blocks, note=note),
        SheetSpec("steps", steps, {"step": "int", "differences": "int"},
                  note="Each step of the audit, in order: result pass / MISMATCH / not verified, and its figure."),
        SheetSpec("differences", differences_frame(res),
                  note="Every difference found, with the cell of the audited workbook it names (blank when it "
                       "names none)."),
        SheetSpec("tolerances", tolerances_frame(res),
                  note="Each tolerance the audit used: value, what it applies to, and where it comes from."),
        SheetSpec("digests", digests_frame(res), note="SHA-256 of the audited workbook, and of the input: the one "
                                                      "the run sheet records and the one computed from the file."),
    ]


# ------------------------------------------------------------------ text
def report_text(res, markdown: bool = True) -> str:
    """The report as Markdown (``markdown``) or plain text."""
    out: list[str] = []

    def head(s: str, level: int = 2) -> None:
        if markdown:
            out.extend([f"{'#' * level} {s}", ""])
        else:
            out.extend([s, ("=" if level == 1 else "-") * len(s), ""])

    def para(s: str) -> None:
        out.extend([s, ""])

    def rows(frame: pd.DataFrame, cols: list[str]) -> None:
        if markdown:
            out.append("| " + " | ".join(cols) + " |")
            out.append("|" + "|".join("---" for _ in cols) + "|")
            for r in frame[cols].itertuples(index=False):
                out.append("| " + " | ".join(_md(v) for v in r) + " |")
        else:
            for r in frame[cols].itertuples(index=False):
                first, *rest = [_plain(v) for v in r]
                out.append(f"* {first}")
                out.extend(f"    {c}: {v}" for c, v in zip(cols[1:], rest) if v != "")
        out.append("")

    head(f"Audit of {res.output}", 1)
    para(verdict_sentence(res))
    para(f"Re-run it with: {_command(res)}")
    head("The input and its SHA-256")
    rows(digests_frame(res), ["what", "where", "sha256", "note"])
    head("Steps")
    rows(steps_frame(res), ["step", "name", "result", "figure"] if markdown else ["name", "result", "figure"])
    head("The objective")
    for s in objective_sentences(res):
        para(s)
    diffs = differences_frame(res)
    if len(diffs):
        head("Differences")
        rows(diffs, ["step", "cell", "difference"])
    head("Tolerances and where they come from")
    rows(tolerances_frame(res), ["tolerance", "value", "applies_to", "origin"])
    return "\n".join(out).rstrip() + "\n"


def _plain(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}" if abs(v) < 1e6 else f"{v:,.2f}"
    return "" if v is None else str(v)


def _md(v) -> str:
    return _plain(v).replace("|", "\\|").replace("\n", " ")
