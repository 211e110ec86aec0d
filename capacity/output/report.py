"""Write the output workbook of ``capacity plan`` / ``capacity compare``.

The tables are computed elsewhere; this module only writes them, faithfully
and safely (outputs.md, the specification):

* every sheet is one real Excel table (header row, banded rows, autofilter)
  with a frozen header row, number formats per column and sensible widths
  (a sheet above :data:`TABLE_MAX_CELLS` cells gets an autofilter and a
  styled header row instead of a table, which outputs.md also allows);
* text is always text: string cells go through ``write_string`` and a string
  whose first character could start a formula (``= + - @``, tab, CR) is
  prefixed with a single quote (:func:`escape_text`; :func:`unescape_text`
  gives the original back). A leading quote is itself escaped, so the
  escaping is exactly invertible;
* NaN / None / NaT / pd.NA are blank cells, booleans are Excel booleans,
  numpy scalars are numbers, dates and datetimes are dates;
* a frame longer than Excel's row limit is split over ``name``,
  ``name_2``, ... and each part says so in its A1 note;
* charts are native Excel charts whose data sit in real tables on the
  ``chart_data`` sheet (after the given sheets) and are referenced by range.

Atomicity (temporary file + rename) is the caller's job: we write ``path``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from capacity.output.report_cells import (MAX_CELL_CHARS, NUMBER_FORMATS, AXIS_FORMATS, Styles, as_text,
                                   column_writer, table_headers, is_missing, column_width, write_any, escape_text,
                                   money_format, unescape_text, is_plain_formula)

__all__ = [
    "SheetSpec",
    "GridSheet",
    "ChartSpec",
    "locate",
    "part_name",
    "write_report",
    "escape_text",
    "unescape_text",
    "money_format",
    "NUMBER_FORMATS",
    "CHART_KINDS",
    "ScatterSpec",
    "CHART_DATA_SHEET",
    "MAX_ROWS",
    "TABLE_MAX_CELLS",
]

#: Excel's row limit per worksheet (header included). Module-level so tests can
#: monkeypatch a small value to exercise splitting.
MAX_ROWS = 1_048_576
#: Above this many cells a sheet gets an autofilter and a styled header row
#: instead of an Excel table: XlsxWriter's table bookkeeping costs about
#: 150 bytes and 1 microsecond per cell, and Excel itself is sluggish with
#: million-row tables. outputs.md allows either.
TABLE_MAX_CELLS = 2_000_000
#: zlib level of the workbook's members: 1 deflates the XML of a national workbook (hundreds of MB) about
#: three times faster than the default 6, for a file about a third larger.
ZIP_LEVEL = 1
#: Sheet holding the data of every chart, written after the given sheets.
CHART_DATA_SHEET = "chart_data"

#: ChartSpec.kind -> XlsxWriter chart options.
CHART_KINDS: dict[str, dict[str, str]] = {
    "column_stacked": {"type": "column", "subtype": "stacked"},
    "column": {"type": "column"},
    "line": {"type": "line"},
    "bar": {"type": "bar"},
}

_SHEET_BAD_CHARS = re.compile(r"[\[\]:*?/\\]")
_CELL_RE = re.compile(r"^\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6})$")
_MAX_COLS = 16_384


# --------------------------------------------------------------------------- API
@dataclass
class SheetSpec:
    """One output sheet: a tidy table (or a two-column key/value table).

    ``formats`` maps column name to a name in :data:`NUMBER_FORMATS`
    ("fte", "money", "share", "int", "date", "number", "text", "hours").
    Datetime columns default to "date". A "text" column writes every value
    as text (e.g. ids that look like numbers).

    ``row_formats`` (for key/value sheets such as ``summary``) maps a value of
    the first column to a format applied to the other cells of that row, e.g.
    ``{"objective": "money", "expected_completion_share": "share"}``; it
    takes precedence over ``formats``.

    ``note`` becomes a comment on A1 (not a row, so the table stays tidy).
    The frame's index is ignored unless it is named, in which case it becomes
    the leading column(s).

    ``freeze_cols``: how many id columns at the left stay in view when the
    reader scrolls right (the header row is always frozen).
    ``filter``: {column: value}: the sheet opens with its autofilter set to
    that value (the other rows hidden, as Excel does), e.g. one region.
    ``header_notes``: {column: text}: a comment on that header cell (the
    column's meaning and unit, in words).
    """

    name: str
    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    note: str = ""
    row_formats: dict[str, str] = field(default_factory=dict)
    freeze_cols: int = 0
    filter: dict[str, str] = field(default_factory=dict)
    header_notes: dict[str, str] = field(default_factory=dict)
    #: {column: sequence of formula text or None, aligned with the frame's rows}: a live formula
    #: (e.g. ``=G2*input_settings!$B$4``) written with the frame's value as its cached result.
    formulas: dict[str, Any] = field(default_factory=dict)


@dataclass
class GridSheet:
    """A sheet copied cell for cell (``cells[row0][col0]``, anchored at A1): the input
    tables copied into the output as ``input_<sheet>``, at the input's own cell addresses,
    values only (text escaped, never a formula)."""

    name: str
    cells: list[list[Any]]
    note: str = ""


@dataclass
class ChartSpec:
    """A native Excel chart of a small wide table.

    ``data``: first column = categories (e.g. week), other columns = series.
    ``y_format``: a :data:`NUMBER_FORMATS` name for the value axis (and the
    data cells), e.g. "share" gives a 0% axis.
    """

    sheet: str
    anchor: str
    kind: str
    title: str
    data: pd.DataFrame
    y_title: str = ""
    x_title: str = ""
    y_format: str | None = None


@dataclass
class ScatterSpec:
    """A native scatter chart over two columns of a sheet written in the same workbook (its cells, so the
    chart follows an edit of them): one series through every row, points joined in row order, and per
    ``labels`` entry (row position in the sheet's frame, text) an unlined point labelled with the text,
    above and below in turn.

    ``x_format``/``y_format``: Excel number format codes of the axes; ``x_bounds``/``y_bounds``:
    (minimum, maximum, major unit) or None for Excel's own; ``size``: (width, height) in pixels.
    """

    sheet: str
    anchor: str
    title: str
    x: str
    y: str
    x_title: str = ""
    y_title: str = ""
    x_format: str | None = None
    y_format: str | None = None
    x_bounds: tuple | None = None
    y_bounds: tuple | None = None
    labels: Sequence = ()
    size: tuple = (907, 491)


def write_report(
    path: str | Path,
    sheets: Sequence[SheetSpec],
    *,
    charts: Iterable[ChartSpec | ScatterSpec] = (),
    currency: str = "GBP",
) -> None:
    """Write ``sheets`` (in order) and ``charts`` to the workbook at ``path``.

    Everything is validated before the file is created, so a bad spec raises
    ``ValueError``/``TypeError`` without leaving a file behind.
    """
    from capacity.output.report_blocks import BlockSheet, write_block_sheet

    sheets = list(sheets)
    charts = list(charts)
    money = money_format(currency)
    blocks = [s for s in sheets if isinstance(s, BlockSheet)]
    grids = [s for s in sheets if isinstance(s, GridSheet)]
    plans = _plan_sheets([s for s in sheets if not isinstance(s, (BlockSheet, GridSheet))])
    for b in blocks + grids:
        _check_sheet_name(b.name)
    scatters = [c for c in charts if isinstance(c, ScatterSpec)]
    charts = [c for c in charts if not isinstance(c, ScatterSpec)]
    _check_charts(charts, {p.spec.name: p.name for p in plans if p.part == 1})
    _check_scatters(scatters, {p.spec.name: p for p in plans if p.part == 1})

    book = _workbook_class()(str(path), {
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "nan_inf_to_errors": True,
        "remove_timezone": True,
    })
    styles = Styles(book, money)
    tables = _TableNames()
    for b in blocks:  # sheets for reading come first (read_me_first)
        write_block_sheet(book, b, styles)
    from capacity.output.report_fast import fast_sheet, worksheet_class

    sheet_class = worksheet_class(_worksheet_class())
    for plan in plans:
        ws = book.add_worksheet(plan.name, worksheet_class=sheet_class)
        # a large tidy sheet: its data rows are written from the arrays when the book is saved
        fast = fast_sheet(plan.frame, plan.spec, styles, (plan.part - 1) * (MAX_ROWS - 1))
        _write_table(ws, plan.frame, plan.spec.formats, plan.spec.row_formats, styles,
                     tables.new(plan.name), plan.note, as_table=not plan.spec.filter, cells=fast is None)
        _sheet_extras(ws, plan, hide_rows=fast is None)
        if fast is None:
            _write_formulas(ws, plan, styles)
        else:
            ws.fast_rows = fast
            fast.register(ws)
            ws._check_dimensions(plan.frame.shape[0], plan.frame.shape[1] - 1)
    for g in grids:
        _write_grid(book.add_worksheet(g.name), g, styles)
    if charts:
        _write_charts(book, charts, styles, tables, {p.spec.name: p.name for p in plans if p.part == 1})
    for sc in scatters:
        _write_scatter(book, sc, next(p for p in plans if p.part == 1 and p.spec.name == sc.sheet))
    book.close()


# ------------------------------------------------------------------- validation
def _check_sheet_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"sheet name must be a non-empty string, got {name!r}")
    if len(name) > 31:
        raise ValueError(f"sheet name {name!r} is longer than Excel's 31 characters")
    if _SHEET_BAD_CHARS.search(name):
        raise ValueError(f"sheet name {name!r} contains one of Excel's forbidden characters []:*?/\\")
    if name[0] == "'" or name[-1] == "'":
        raise ValueError(f"sheet name {name!r} must not start or end with a quote")
    if name.lower() == "history":
        raise ValueError("sheet name 'History' is reserved by Excel")
    return name


def _check_format(fmt: Any, where: str) -> str:
    if fmt not in NUMBER_FORMATS:
        raise ValueError(f"{where}: unknown format {fmt!r}; use one of {sorted(NUMBER_FORMATS)}")
    return fmt


@dataclass
class _SheetPlan:
    spec: SheetSpec
    name: str
    frame: pd.DataFrame
    part: int
    note: str


def _prepare_frame(frame: Any, where: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{where}: frame must be a pandas DataFrame, got {type(frame).__name__}")
    if any(n is not None for n in frame.index.names):
        frame = frame.reset_index()
    if frame.shape[1] == 0:
        raise ValueError(f"{where}: frame has no columns")
    if frame.shape[1] > _MAX_COLS:
        raise ValueError(f"{where}: {frame.shape[1]} columns exceed Excel's {_MAX_COLS}")
    return frame


def _plan_sheets(sheets: list[SheetSpec]) -> list[_SheetPlan]:
    """Validate the specs and split frames longer than the row limit."""
    if not sheets:
        raise ValueError("write_report needs at least one sheet")
    rows_per_sheet = MAX_ROWS - 1
    plans: list[_SheetPlan] = []
    for spec in sheets:
        if not isinstance(spec, SheetSpec):
            raise TypeError(f"sheets must hold SheetSpec, got {type(spec).__name__}")
        name = _check_sheet_name(spec.name)
        frame = _prepare_frame(spec.frame, f"sheet {name!r}")
        columns = [str(c) for c in frame.columns]
        for col, fmt in spec.formats.items():
            _check_format(fmt, f"sheet {name!r} column {col!r}")
            if str(col) not in columns:
                raise ValueError(f"sheet {name!r}: format given for missing column {col!r}")
        for key, fmt in spec.row_formats.items():
            _check_format(fmt, f"sheet {name!r} row {key!r}")
        for col in list(spec.filter) + list(spec.formulas):
            if str(col) not in columns:
                raise ValueError(f"sheet {name!r}: filter or formulas given for missing column {col!r}")
        for col, texts in spec.formulas.items():
            if len(texts) != len(frame):
                raise ValueError(f"sheet {name!r}: {len(texts)} formulas for {len(frame)} rows of {col!r}")
        n = len(frame)
        parts = max(1, math.ceil(n / rows_per_sheet))
        base_note = (spec.note or "").strip()
        for part in range(1, parts + 1):
            this_name = part_name(name, part)
            lo, hi = (part - 1) * rows_per_sheet, min(n, part * rows_per_sheet)
            note = base_note
            if parts > 1:
                names = ", ".join([name] + [f"{name}_{k}" for k in range(2, parts + 1)])
                split = (f"Part {part} of {parts}: rows {lo + 1:,}-{hi:,} of {n:,}. The table is split "
                         f"over sheets {names} because Excel allows at most {rows_per_sheet:,} "
                         f"data rows per sheet.")
                note = f"{note}\n{split}" if note else split
            sub = frame.iloc[lo:hi] if parts > 1 else frame
            plans.append(_SheetPlan(spec, this_name, sub, part, note))
    seen: set[str] = set()
    for p in plans:
        key = p.name.lower()
        if key == CHART_DATA_SHEET:
            raise ValueError(f"sheet name {p.name!r} is reserved for chart data")
        if key in seen:
            raise ValueError(f"sheet name {p.name!r} is used twice (sheet names are case-insensitive)")
        seen.add(key)
    return plans


def _check_charts(charts: list[ChartSpec], first_part: dict[str, str]) -> None:
    total_rows = 0
    for i, ch in enumerate(charts, 1):
        where = f"chart {i} ({getattr(ch, 'title', '')!r})"
        if not isinstance(ch, ChartSpec):
            raise TypeError(f"charts must hold ChartSpec, got {type(ch).__name__}")
        if ch.kind not in CHART_KINDS:
            raise ValueError(f"{where}: unknown kind {ch.kind!r}; use one of {sorted(CHART_KINDS)}")
        if ch.sheet not in first_part:
            raise ValueError(f"{where}: sheet {ch.sheet!r} is not one of the sheets written")
        if not isinstance(ch.anchor, str) or not _CELL_RE.match(ch.anchor.upper()):
            raise ValueError(f"{where}: anchor {ch.anchor!r} is not a cell reference like 'D2'")
        if ch.y_format is not None:
            _check_format(ch.y_format, where + " y_format")
        frame = _prepare_frame(ch.data, where)
        if frame.shape[1] < 2:
            raise ValueError(f"{where}: data needs a category column and at least one series column")
        total_rows = max(total_rows, len(frame))
    if total_rows + 1 > MAX_ROWS:
        raise ValueError("chart data exceed Excel's row limit")


def _check_scatters(scatters: list[ScatterSpec], first_part: dict) -> None:
    for i, sc in enumerate(scatters, 1):
        where = f"scatter chart {i} ({sc.title!r})"
        plan = first_part.get(sc.sheet)
        if plan is None:
            raise ValueError(f"{where}: sheet {sc.sheet!r} is not one of the sheets written")
        if plan.name != sc.sheet or len(plan.frame) != len(plan.spec.frame):
            raise ValueError(f"{where}: sheet {sc.sheet!r} is split into parts; plot a sheet of one part")
        for col in (sc.x, sc.y):
            if col not in plan.frame.columns:
                raise ValueError(f"{where}: sheet {sc.sheet!r} has no column {col!r}")
        if not isinstance(sc.anchor, str) or not _CELL_RE.match(sc.anchor.upper()):
            raise ValueError(f"{where}: anchor {sc.anchor!r} is not a cell reference like 'D2'")
        for row, _ in sc.labels:
            if not 0 <= int(row) < len(plan.frame):
                raise ValueError(f"{where}: label row {row} is not a row of sheet {sc.sheet!r}")


# ---------------------------------------------------------------------- writing
def _workbook_class():
    """XlsxWriter's workbook, deflating its members at :data:`ZIP_LEVEL` (XlsxWriter itself has no option
    for it: its zip file is made with zlib's default level while the workbook is saved), and each tidy
    sheet's XML in a second thread as soon as that sheet is written, while the next sheets are (zlib works
    without Python's lock): the zip file then takes the deflated bytes as they are."""
    import concurrent.futures
    import zipfile

    import xlsxwriter
    import xlsxwriter.workbook as xw

    class _Workbook(xlsxwriter.Workbook):
        def _store_workbook(self):
            deflated: dict = {}
            pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

            def submit(path):
                deflated[path] = pool.submit(_deflate, path, ZIP_LEVEL)

            class _Zip(zipfile.ZipFile):
                def __init__(self, *args, **kwargs):
                    super().__init__(*args, compresslevel=ZIP_LEVEL, **kwargs)

                def write(self, filename, arcname=None, *args, **kwargs):
                    if filename not in deflated:
                        return super().write(filename, arcname, *args, **kwargs)
                    from capacity.output.provenance import append_raw

                    crc, size, data = deflated.pop(filename).result()
                    info = zipfile.ZipInfo.from_file(filename, arcname, strict_timestamps=self._strict_timestamps)
                    info.compress_type, info.CRC, info.file_size, info.compress_size = \
                        zipfile.ZIP_DEFLATED, crc, size, len(data)
                    if not info.external_attr:
                        info.external_attr = 0o600 << 16
                    append_raw(self, info, data)

            for ws in self.worksheets():
                ws.deflate_later = submit
            zip_file = xw.ZipFile
            xw.ZipFile = _Zip
            try:
                super()._store_workbook()
            finally:
                xw.ZipFile = zip_file
                pool.shutdown(wait=True, cancel_futures=True)

    return _Workbook


def _deflate(path: str, level: int) -> tuple[int, int, bytes]:
    """(CRC-32, size, raw deflate stream) of the file at ``path``, as ZipFile.write would store it."""
    import zlib

    crc, size, out = 0, 0, []
    z = zlib.compressobj(level, zlib.DEFLATED, -15)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            out.append(z.compress(chunk))
    out.append(z.flush())
    return crc, size, b"".join(out)


def _worksheet_class():
    """XlsxWriter's worksheet, preparing formulas with one pattern search instead of 29.

    XlsxWriter rewrites each formula with a regular expression per dynamic-array function
    (``_xlfn.`` prefixes); a formula naming none of them comes back as it went in, less its
    leading ``=``. Checking all the names at once first gives the same text at a fraction of
    the cost (the plan, work and coverage sheets carry hundreds of thousands of formulas)."""
    from xlsxwriter.worksheet import Worksheet

    class _Worksheet(Worksheet):
        deflate_later = None   # set by the workbook being saved: deflate this file now, in a second thread
        _xml_path = None

        def _set_xml_writer(self, filename):
            self._xml_path = filename if isinstance(filename, str) else None
            super()._set_xml_writer(filename)

        def _assemble_xml_file(self):
            super()._assemble_xml_file()
            if self.deflate_later is not None and self._xml_path is not None:
                self.deflate_later(self._xml_path)

        def _prepare_formula(self, formula, expand_future_functions=False):
            if not self.use_future_functions and not expand_future_functions and is_plain_formula(formula):
                if formula.startswith("{"):
                    formula = formula[1:]
                if formula.startswith("="):
                    formula = formula[1:]
                if formula.endswith("}"):
                    formula = formula[:-1]
                return formula
            return super()._prepare_formula(formula, expand_future_functions)

    return _Worksheet


class _TableNames:
    """Valid, unique (case-insensitive) Excel table names."""

    def __init__(self):
        self.used: set[str] = set()

    def new(self, base: str) -> str:
        stem = "tbl_" + re.sub(r"[^A-Za-z0-9_]", "_", base)
        stem = stem[:240]
        name, k = stem, 2
        while name.lower() in self.used:
            name, k = f"{stem}_{k}", k + 1
        self.used.add(name.lower())
        return name


def _write_table(ws, frame: pd.DataFrame, formats: dict[str, str], row_formats: dict[str, str],
                 styles: Styles, table_name: str, note: str, as_table: bool = True, cells: bool = True) -> None:
    """One tidy table; an Excel table unless it is too large or ``as_table`` is False (a preset filter
    needs a sheet autofilter: Excel tables keep their filter state elsewhere). ``cells=False``: the
    data cells are written elsewhere (report_fast.py), only the header, widths and table here."""
    headers = table_headers(frame.columns)
    n_rows, n_cols = frame.shape
    names = [str(c) for c in frame.columns]
    for j in range(n_cols):
        series = frame.iloc[:, j]
        if cells:
            writer, fmt_name = column_writer(ws, series, j, formats.get(names[j]), styles)
            writer(1)
        else:   # the format name column_writer would use, without preparing a writer
            fmt_name = formats.get(names[j]) or ("date" if series.dtype.kind == "M" else None)
        ws.set_column(j, j, column_width(series, headers[j], fmt_name))
    if row_formats and n_cols >= 2:
        # Key/value rows: the key column picks the format of the other cells.
        keys = frame.iloc[:, 0].tolist()
        date_fmt = styles.get("date")
        for i, key in enumerate(keys):
            if isinstance(key, str) and key in row_formats:
                fmt_name = row_formats[key]
                fmt = styles.get(fmt_name)
                for j in range(1, n_cols):
                    v = frame.iat[i, j]
                    if fmt_name == "text" and not is_missing(v):
                        ws.write_string(i + 1, j, escape_text(v if isinstance(v, str) else as_text(v)), fmt)
                    else:
                        write_any(ws, i + 1, j, v, fmt, date_fmt)
    if n_rows * n_cols > TABLE_MAX_CELLS or not as_table:
        head = styles.header()
        for j, h in enumerate(headers):
            ws.write_string(0, j, h, head)
        ws.autofilter(0, 0, n_rows, n_cols - 1)
    else:
        last_row = max(n_rows, 1)  # an Excel table needs at least one data row
        ws.add_table(0, 0, last_row, n_cols - 1, {
            "name": table_name,
            "columns": [{"header": h} for h in headers],
            "style": "Table Style Medium 2",
            "banded_rows": True,
            "autofilter": True,
        })
    ws.freeze_panes(1, 0)
    if note:
        ws.write_comment(0, 0, note[:MAX_CELL_CHARS], {"x_scale": 3, "y_scale": 1.5})


def locate(n_rows: int, i) -> tuple:
    """(sheet part number 1.., Excel row 2..) of data row ``i`` (0-based; an int or an array) of a
    table of ``n_rows`` rows split as :func:`write_report` splits it over ``name``, ``name_2``, ..."""
    per = MAX_ROWS - 1
    return i // per + 1, i % per + 2


def part_name(name: str, part: int) -> str:
    """The sheet name of part ``part`` of table ``name`` (as :func:`_plan_sheets` names them)."""
    if part == 1:
        return name
    suffix = f"_{part}"
    return name[: 31 - len(suffix)] + suffix


def _write_formulas(ws, plan: _SheetPlan, styles: Styles) -> None:
    """Overwrite the cells of formula columns with live formulas whose cached value is the frame's."""
    spec, frame = plan.spec, plan.frame
    if not spec.formulas:
        return
    names = [str(c) for c in frame.columns]
    offset = (plan.part - 1) * (MAX_ROWS - 1)  # rows of the earlier parts
    for col, texts in spec.formulas.items():
        j = names.index(col)
        fmt = styles.get(spec.formats.get(col))
        values = frame.iloc[:, j].tolist()
        texts = list(texts)[offset: offset + len(frame)]
        wf = ws.write_formula
        for i, (f, v) in enumerate(zip(texts, values)):
            if f and v is not None and v == v:  # an undefined figure (NaN) stays a blank cell
                wf(i + 1, j, f, fmt, v)


def _write_grid(ws, grid: GridSheet, styles: Styles) -> None:
    head = styles.header()
    date_fmt = styles.get("date")
    width: dict[int, int] = {}
    for r, row in enumerate(grid.cells):
        for c, v in enumerate(row):
            if v is None or (isinstance(v, str) and v == ""):
                continue
            write_any(ws, r, c, v, head if r == 0 else None, date_fmt)
            width[c] = max(width.get(c, 8), min(40, len(as_text(v)) + 2))
    for c, w in width.items():
        ws.set_column(c, c, w)
    ws.freeze_panes(1, 0)
    if grid.note:
        ws.write_comment(0, 0, grid.note[:MAX_CELL_CHARS], {"x_scale": 3, "y_scale": 1.5})


def _sheet_extras(ws, plan: _SheetPlan, hide_rows: bool = True) -> None:
    """Frozen id columns, a preset filter and header comments (SheetSpec options). ``hide_rows=False``: the
    rows the filter hides are hidden by the array writer (report_fast.filtered_out), not here."""
    spec, frame = plan.spec, plan.frame
    names = [str(c) for c in frame.columns]
    if spec.freeze_cols:
        ws.freeze_panes(1, min(spec.freeze_cols, len(names)))
    _print_setup(ws, len(names), spec.freeze_cols)
    for col, value in spec.filter.items():
        ws.filter_column(names.index(col), f"x == {value}")
    if hide_rows and spec.filter:
        from capacity.output.report_fast import filtered_out

        for i in filtered_out(frame, spec.filter).nonzero()[0]:
            ws.set_row(int(i) + 1, options={"hidden": True})
    for col, note in spec.header_notes.items():
        if col in names and not (names.index(col) == 0 and plan.note):
            ws.write_comment(0, names.index(col), note[:MAX_CELL_CHARS], {"x_scale": 2})


#: A printed table is fitted to one page wide when it has at most this many columns.
PRINT_FIT_COLUMNS = 16


def _print_setup(ws, n_cols: int, freeze_cols: int) -> None:
    """Printed as read on screen: landscape, the header row (and the frozen id columns) on every page,
    one page wide when the table is narrow enough to stay legible."""
    ws.set_landscape()
    ws.repeat_rows(0)
    if 0 < freeze_cols < n_cols:
        ws.repeat_columns(0, freeze_cols - 1)
    if n_cols <= PRINT_FIT_COLUMNS:
        ws.fit_to_pages(1, 0)


def _write_scatter(book, sc: ScatterSpec, plan) -> None:
    """:class:`ScatterSpec` as XlsxWriter's scatter chart over the host sheet's cells (header in row 1)."""
    from xlsxwriter.utility import xl_col_to_name

    cols = list(plan.frame.columns)
    cx, cy = (xl_col_to_name(cols.index(c)) for c in (sc.x, sc.y))
    sheet = "'" + plan.name.replace("'", "''") + "'"

    def cells(letter: str, first: int, last: int) -> str:   # Excel rows; the header is row 1
        return f"={sheet}!${letter}${first}:${letter}${last}"

    last = max(len(plan.frame), 1) + 1
    chart = _explicit_flags(book.add_chart({"type": "scatter", "subtype": "straight_with_markers"}))
    chart.add_series({"name": sc.title, "categories": cells(cx, 2, last), "values": cells(cy, 2, last),
                      "marker": {"type": "circle", "size": 8}, "line": {"width": 2.25}})
    for k, (row, text) in enumerate(sc.labels):
        r = int(row) + 2
        chart.add_series({"name": str(text), "categories": cells(cx, r, r), "values": cells(cy, r, r),
                          "marker": {"type": "none"}, "line": {"none": True},
                          "data_labels": {"series_name": True, "value": False,
                                          "position": "above" if k % 2 == 0 else "below"}})
    chart.set_title({"name": sc.title})
    for setter, title, fmt, bounds in ((chart.set_x_axis, sc.x_title, sc.x_format, sc.x_bounds),
                                       (chart.set_y_axis, sc.y_title, sc.y_format, sc.y_bounds)):
        axis: dict[str, Any] = {"major_gridlines": {"visible": True}}
        if title:
            axis["name"] = title
        if fmt:
            axis["num_format"] = fmt
        if bounds is not None:
            axis["min"], axis["max"], axis["major_unit"] = bounds
        setter(axis)
    chart.set_legend({"none": True})
    chart.set_size({"width": sc.size[0], "height": sc.size[1]})
    book.get_worksheet_by_name(plan.name).insert_chart(sc.anchor.upper().replace("$", ""), chart)


_LABEL_FLAGS = (("c:showLegendKey", "legend_key"), ("c:showVal", "value"), ("c:showCatName", "category"),
                ("c:showSerName", "series_name"), ("c:showPercent", "percentage"), ("c:showBubbleSize", "bubble_size"))


def _explicit_flags(chart):
    """``chart`` writing its series' smoothing and its data labels' flags also when they are off.

    XlsxWriter leaves out ``<c:smooth>`` and a data label's ``show*`` flags that are false, which Excel
    reads as off; the standard's defaults, which LibreOffice follows, are on: a straight scatter line is
    drawn smoothed and a label shows its value and category too. Writing ``val="0"`` means the same in
    both."""
    def smooth(on) -> None:
        chart._xml_empty_tag("c:smooth", [("val", "1" if on else "0")])

    def labels(options) -> None:
        if not options:
            return
        chart._xml_start_tag("c:dLbls")
        if options.get("position"):
            chart._write_d_lbl_pos(options["position"])
        for tag, key in _LABEL_FLAGS:
            chart._xml_empty_tag(tag, [("val", "1" if options.get(key) else "0")])
        chart._xml_end_tag("c:dLbls")

    chart._write_c_smooth = smooth
    chart._write_d_lbls = labels
    return chart


def _write_charts(book, charts: list[ChartSpec], styles: Styles, tables: _TableNames,
                  first_part: dict[str, str]) -> None:
    ws = book.add_worksheet(CHART_DATA_SHEET)
    ws.freeze_panes(1, 0)
    host = {name: book.get_worksheet_by_name(sheet) for name, sheet in first_part.items()}
    col0 = 0
    for i, ch in enumerate(charts, 1):
        frame = _prepare_frame(ch.data, f"chart {i}")
        n_rows, n_cols = frame.shape
        headers = table_headers(frame.columns)
        for j in range(n_cols):
            series = frame.iloc[:, j]
            fmt_name = ch.y_format if j > 0 and series.dtype.kind in "iuf" else None
            writer, fmt_name = column_writer(ws, series, col0 + j, fmt_name, styles)
            writer(1)
            ws.set_column(col0 + j, col0 + j, column_width(series, headers[j], fmt_name))
        last_row = max(n_rows, 1)
        ws.add_table(0, col0, last_row, col0 + n_cols - 1, {
            "name": tables.new(f"chart_{i}"),
            "columns": [{"header": h} for h in headers],
            "style": "Table Style Light 9",
        })
        ws.write_comment(0, col0, f"Data of chart {i}: {ch.title}"[:MAX_CELL_CHARS])

        options = dict(CHART_KINDS[ch.kind])
        chart = book.add_chart(options)
        for j in range(1, n_cols):
            series_opts: dict[str, Any] = {
                "name": [CHART_DATA_SHEET, 0, col0 + j],
                "categories": [CHART_DATA_SHEET, 1, col0, last_row, col0],
                "values": [CHART_DATA_SHEET, 1, col0 + j, last_row, col0 + j],
            }
            if ch.kind in ("column_stacked", "column", "bar"):
                series_opts["gap"] = 60
                if ch.kind == "column_stacked":
                    series_opts["overlap"] = 100
            chart.add_series(series_opts)
        if ch.title:
            chart.set_title({"name": ch.title})
        x_axis: dict[str, Any] = {}
        y_axis: dict[str, Any] = {"major_gridlines": {"visible": True}}
        if ch.x_title:
            x_axis["name"] = ch.x_title
        if ch.y_title:
            y_axis["name"] = ch.y_title
        if ch.y_format is not None:
            y_axis["num_format"] = AXIS_FORMATS.get(ch.y_format) or styles.num_format(ch.y_format)
        chart.set_x_axis(x_axis)
        chart.set_y_axis(y_axis)
        chart.set_legend({"position": "bottom"} if n_cols > 2 else {"none": True})
        chart.set_size({"width": 640, "height": 320})
        host[ch.sheet].insert_chart(ch.anchor.upper().replace("$", ""), chart)
        col0 += n_cols + 1  # a blank column between tables
