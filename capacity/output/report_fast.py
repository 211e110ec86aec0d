"""Large tidy sheets written from their arrays (a part of :mod:`capacity.output.report`).

XlsxWriter stores every cell as an object and writes it back out one call at
a time; for the plan, work, coverage and shadow-price sheets of a national
run (millions of cells) that is most of the write. Here the data rows of such
a sheet are turned into the worksheet's XML column by column, in blocks of
rows, when the workbook is saved: each column's values once as a list, the
distinct strings (ids, words) and dates once each, then one text per cell.
The cells are those XlsxWriter writes for the same calls (the same number
text ``%.16G``, shared strings, the column's format, booleans, dates as
serial numbers, a live formula with its cached value written as ``str``),
so the workbook reads back the same cell for cell; the header row, the
table, filters, comments and widths are still XlsxWriter's.

A sheet takes this way only when every column is one of: numbers, booleans,
text (pandas strings or Python ``str`` objects), dates (Python dates) and
when its formulas have numeric cached values; anything else keeps the
per-cell writer.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from capacity.output.report_cells import _DYNAMIC, MAX_CELL_CHARS, as_text, escape_text, is_missing, is_plain_formula
from capacity.io.errors import col_letter

#: a tidy sheet of at least this many cells is written from its arrays
FAST_MIN_CELLS = 20_000
#: rows of XML built at once (bounds the memory the text takes)
CHUNK_ROWS = 20_000

class _Column:
    """One column: ``kind`` num | str | bool | date, its values and format, its formulas."""

    __slots__ = ("j", "letter", "kind", "values", "codes", "uniques", "fmt", "formulas", "empty_fmt")

    def __init__(self, j, kind, fmt):
        self.j, self.letter, self.kind, self.fmt = j, col_letter(j), kind, fmt
        self.values = self.codes = self.uniques = self.formulas = None
        self.empty_fmt = False


def plan_columns(frame: pd.DataFrame, formats: dict, styles, formulas: dict, offset: int):
    """The columns of ``frame`` for the fast writer, or None when one needs the per-cell writer.

    ``formats``/``styles`` as for :func:`capacity.output.report_cells.column_writer`;
    ``formulas``: SheetSpec.formulas; ``offset``: the frame's first row in them (split sheets)."""
    names = [str(c) for c in frame.columns]
    cols = []
    for j in range(frame.shape[1]):
        series = frame.iloc[:, j]
        fmt_name = formats.get(names[j])
        kind = series.dtype.kind
        if fmt_name is None and kind == "M":
            fmt_name = "date"
        if kind == "M":
            return None   # numpy datetimes: the per-cell writer (not in the large sheets)
        fmt = styles.get(fmt_name)
        if fmt_name == "text":
            col = _text_column(j, series, fmt, text=True, date_fmt=None)
        elif kind == "b":
            col = _Column(j, "bool", fmt)
            col.values = series.tolist()
        elif kind in "iuf":
            col = _Column(j, "num", fmt)
            if isinstance(series.dtype, np.dtype):   # as the per-cell writer: ints stay ints
                col.values = series.tolist()
            else:
                col.values = series.to_numpy(dtype=float, na_value=np.nan).tolist()
        else:
            col = _text_column(j, series, fmt, text=False, date_fmt=styles.get("date"))
        if col is None:
            return None
        f = formulas.get(names[j])
        if f is not None:
            if col.kind != "num":
                return None
            col.formulas = list(f)[offset: offset + len(frame)]
        cols.append(col)
    return cols


def _text_column(j, series, fmt, text: bool, date_fmt):
    """A text column (pandas strings or objects): distinct values once, then codes."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    uniques = list(uniques)
    if text:   # format "text": every value written as text
        out = [escape_text(v if isinstance(v, str) else as_text(v)) for v in uniques]
        kinds = {"str"}
    else:
        kinds = set()
        out = []
        for v in uniques:
            if type(v) is str:
                kinds.add("str")
                out.append(escape_text(v))
            elif isinstance(v, dt.date) and not isinstance(v, dt.datetime):
                kinds.add("date")
                out.append(v)
            elif is_missing(v):
                kinds.add("missing")
                out.append(None)
            else:
                return None
        kinds.discard("missing")
        if len(kinds) > 1:
            return None
    kind = kinds.pop() if kinds else "str"
    col = _Column(j, kind, (fmt or date_fmt) if kind == "date" else fmt)   # as write_any formats a date
    if kind == "str":
        if any(s is not None and len(s) > MAX_CELL_CHARS // 2 for s in out):
            return None   # long text: XlsxWriter's UTF-16 length check and truncation
    elif any(v is not None and v < dt.date(1900, 3, 1) for v in out):
        return None   # Excel's 1900 leap-year quirk: the per-cell writer
    col.codes = codes
    col.uniques = out
    return col


class FastRows:
    """The data rows of one sheet, written into its XML when the workbook is saved."""

    def __init__(self, columns, n_rows: int, hidden: np.ndarray | None = None):
        self.columns = columns
        self.n_rows = n_rows
        self.hidden = np.zeros(n_rows, dtype=bool) if hidden is None else hidden   # rows a filter hides

    def register(self, ws) -> None:
        """Put the distinct strings in the workbook's shared string table (before it is saved:
        XlsxWriter freezes the table when it starts saving)."""
        sst = ws.str_table
        for c in self.columns:
            if c.kind != "str":
                continue
            idx = []
            counts = np.bincount(c.codes[c.codes >= 0], minlength=len(c.uniques)) if len(c.uniques) else []
            for s, k in zip(c.uniques, counts):
                if s is None or k == 0:
                    idx.append(None)
                    continue
                idx.append(sst._get_shared_string_index(s))
                sst.count += int(k) - 1
            c.uniques = [None if i is None else str(i) for i in idx]

    def write(self, ws) -> None:
        """Write rows 2..n+1 into ``ws``'s XML file handle (called inside <sheetData>).

        Rows are written in blocks; the rows of a block whose cells have the same shape (which columns
        have a cell, which of them a formula) are one row template, filled by ``%``-formatting from the
        columns' arrays (``map`` over ``zip``: no Python code runs per cell); each distinct number of a
        block is formatted once."""
        fh = ws.fh
        cols = self.columns
        for c in cols:   # the format index of each column (known once the book is being saved)
            c.empty_fmt = "" if c.fmt is None else f' s="{c.fmt._get_xf_index()}"'
            if c.kind == "date":   # Excel serial numbers, by XlsxWriter's own conversion
                c.uniques = [None if v is None else ws._convert_date_time(v) for v in c.uniques]
        shapes = [_Shape(c) for c in cols]
        n = self.n_rows
        for start in range(0, n, CHUNK_ROWS):
            stop = min(n, start + CHUNK_ROWS)
            rows = np.array(list(map(str, range(start + 2, stop + 2))), dtype=object)
            states, args = zip(*(sh.block(start, stop, ws._escape_data) for sh in shapes)) if cols else ((), ())
            states = np.array(states + (self.hidden[start:stop],), dtype=np.int8).reshape(len(cols) + 1, stop - start)
            kinds, which = _row_kinds(states)
            out = np.full(stop - start, "", dtype=object)
            for k, kind in enumerate(kinds):
                if not kind[:-1].any():
                    continue   # a row with no cell is not written
                row = '<row r="%s" hidden="1">' if kind[-1] else '<row r="%s">'   # as XlsxWriter, less spans
                template = row + "".join(sh.templates[x] for sh, x in zip(shapes, kind) if x) + "</row>"
                seq = [rows]
                for a, x in zip(args, kind):
                    if x:
                        seq += [rows] + a[x]
                idx = None if len(kinds) == 1 else np.flatnonzero(which == k)
                lists = [v.tolist() if idx is None else v[idx].tolist() for v in seq]
                texts = list(map(template.__mod__, zip(*lists)))
                if idx is None:
                    out = texts
                else:
                    out[idx] = texts
            fh.write("".join(out if isinstance(out, list) else out.tolist()))


class _Shape:
    """A column's cell templates (by state: 1 a value, 2 a live formula with its cached value) and, per block
    of rows, each row's state (0: no cell) and the arrays that fill the templates."""

    def __init__(self, c: _Column):
        self.c = c
        L, S = c.letter, c.empty_fmt.replace("%", "%%")
        head = f'<c r="{L}%s"{S}'
        if c.kind == "num":
            self.values = np.asarray(c.values)
            self.templates = {1: head + "><v>%s</v></c>", 2: head + "><f>%s</f><v>%s</v></c>"}
        elif c.kind == "bool":
            self.templates = {1: head + ' t="b"><v>%s</v></c>'}
        elif c.kind == "str":
            self.templates = {1: head + ' t="s"><v>%s</v></c>'}
            self.texts = np.array([x if x is not None else "" for x in c.uniques] + [""], dtype=object)
            self.ok = np.array([x is not None for x in c.uniques] + [False], dtype=bool)   # code -1: the last
        else:   # dates: their serial numbers
            self.templates = {1: head + "><v>%s</v></c>"}
            self.texts = np.array([_G16(x) if x is not None else "" for x in c.uniques] + [""], dtype=object)
            self.ok = np.array([x is not None for x in c.uniques] + [False], dtype=bool)

    def block(self, start: int, stop: int, escape) -> tuple[np.ndarray, dict]:
        """(state per row, {state: arrays of the template's fields after the row number}) for rows
        ``start``..``stop``; ``escape``: XlsxWriter's own XML escaping of a formula."""
        c = self.c
        if c.kind == "num":
            values = self.values[start:stop]
            has = ~np.isnan(values) if values.dtype.kind == "f" else np.ones(len(values), dtype=bool)
            state = has.astype(np.int8)
            if c.formulas is None:
                return state, {1: [_numbers(values, _G16, has)]}
            fs = np.array(c.formulas[start:stop], dtype=object)
            live = fs.astype(bool) & has     # a formula, with the value as its cached result
            plain = has & ~live
            state[live] = 2
            text = np.full(len(values), "", dtype=object)
            text[live] = _formula_texts(fs[live].tolist(), escape)
            return state, {1: [_numbers(values, _G16, plain)], 2: [text, _numbers(values, str, live)]}
        if c.kind == "bool":
            vals = c.values[start:stop]
            state = np.array([not is_missing(v) for v in vals], dtype=np.int8)
            return state, {1: [np.array(["1" if v else "0" for v in vals], dtype=object)]}
        codes = c.codes[start:stop]
        return self.ok[codes].astype(np.int8), {1: [self.texts[codes]]}


def _G16(v) -> str:
    """A number as XlsxWriter writes a cell's value (``str``: as it writes a formula's cached value)."""
    return f"{v:.16G}"


def _numbers(arr: np.ndarray, fmt, mask: np.ndarray) -> np.ndarray:
    """``fmt(value)`` where ``mask`` ('' elsewhere), each distinct value formatted once (from the Python
    value, as the per-cell writer formats it; -0.0 apart from 0.0)."""
    out = np.full(len(arr), "", dtype=object)
    if not mask.any():
        return out
    sub = arr[mask]
    codes, uniq = pd.factorize(sub)
    texts = np.array([fmt(u) for u in uniq.tolist()], dtype=object)[codes]
    if sub.dtype.kind == "f":
        zero = sub == 0
        if zero.any():
            negative = np.signbit(sub)
            texts[zero & negative] = fmt(-0.0)
            texts[zero & ~negative] = fmt(0.0)
    out[mask] = texts
    return out


def _row_kinds(states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct columns of ``states`` (columns x rows, values 0..2) and each row's index among them."""
    code = np.zeros(states.shape[1], dtype=np.int64)
    for j in range(states.shape[0]):
        code, _ = pd.factorize(code * 3 + states[j])
    first = np.unique(code, return_index=True)[1]
    return states[:, first].T, code


def _formula_texts(formulas: list, escape) -> list:
    """Each formula less its leading '=', XML-escaped: all at once, joined by NUL (which no formula in
    an XML file can hold), as XlsxWriter's per-cell writer does one by one."""
    joined = "\x00".join(formulas)
    if joined.count("\x00") != len(formulas) - 1:
        return [escape(f[1:] if f.startswith("=") else f) for f in formulas]
    if joined.startswith("="):
        joined = joined[1:]
    return escape(joined.replace("\x00=", "\x00")).split("\x00")


def fast_sheet(frame: pd.DataFrame, spec, styles, offset: int):
    """A :class:`FastRows` for this sheet part, or None (the per-cell writer). A preset filter's hidden
    rows are hidden rows of the XML (report._sheet_extras sets the filter itself)."""
    n_rows, n_cols = frame.shape
    if n_rows * n_cols < FAST_MIN_CELLS or spec.row_formats:
        return None
    cols = plan_columns(frame, spec.formats, styles, spec.formulas, offset)
    if cols is None:
        return None
    for c in cols:  # a formula XlsxWriter would rewrite (braces, _xlfn.) keeps the per-cell writer
        if c.formulas is not None and not all_plain(c.formulas):
            return None
    return FastRows(cols, n_rows, filtered_out(frame, spec.filter))


def filtered_out(frame: pd.DataFrame, filters: dict) -> np.ndarray:
    """The rows a preset filter ({column: value}) hides: those whose text is not the value, in any column."""
    names = [str(c) for c in frame.columns]
    hidden = np.zeros(len(frame), dtype=bool)
    for col, value in filters.items():
        hidden |= frame.iloc[:, names.index(col)].astype(str).to_numpy() != str(value)
    return hidden


#: a dynamic-array function's name and the character before it (``\b`` or ``\S``) fit in this many characters
_NAME_TAIL = 1 + max(len(name) for name in re.findall(r"[A-Z]+", _DYNAMIC.pattern))


def all_plain(formulas) -> bool:
    """True when every formula (None or '': none) is text that XlsxWriter writes as it stands
    (:func:`capacity.output.report_cells.is_plain_formula`, no array braces), tested at once: the
    column's formulas joined by newlines, and the pattern of dynamic-array functions tried only on the
    text before each '(' that ends in a capital letter (a function name is followed by one), so not on every
    character of every cell."""
    texts = [f for f in formulas if f]
    try:
        joined = "\n".join(texts)
    except TypeError:   # a formula that is not text
        return False
    if joined.startswith("{") or "\n{" in joined or "_xlfn." in joined:
        return False
    before = joined.split("(")[:-1]   # every name ends in a capital letter
    tails = {b[-_NAME_TAIL:] for b in before if b[-1:].isupper()}
    return all(is_plain_formula(tail + "(") for tail in {t.rpartition("\n")[2] for t in tails})   # its own formula's


def worksheet_class(base):
    """``base`` (XlsxWriter's worksheet class, or a subclass) writing a :class:`FastRows` inside
    its <sheetData> after the cells XlsxWriter holds (the header row)."""

    class _Sheet(base):
        fast_rows = None

        def _write_sheet_data(self):
            if self.fast_rows is None:
                return super()._write_sheet_data()
            self._xml_start_tag("sheetData")
            top = self.dim_rowmax
            self.dim_rowmax = 0          # XlsxWriter's own rows: the header
            try:
                self._write_rows()
            finally:
                self.dim_rowmax = top
            self.fast_rows.write(self)
            self._xml_end_tag("sheetData")

    return _Sheet


__all__ = ["FAST_MIN_CELLS", "FastRows", "fast_sheet", "worksheet_class"]
