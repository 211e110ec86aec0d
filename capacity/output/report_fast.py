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

    def __init__(self, columns, n_rows: int):
        self.columns = columns
        self.n_rows = n_rows

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

        A block of rows is one string: its pieces (the constant parts of a cell, the row numbers, the
        values' text) are laid out by slice assignment into one list joined once, so that no Python code
        runs per cell; each distinct number is formatted once per block."""
        fh = ws.fh
        cols = self.columns
        for c in cols:   # the format index of each column (known once the book is being saved)
            c.empty_fmt = "" if c.fmt is None else f' s="{c.fmt._get_xf_index()}"'
            if c.kind == "date":   # Excel serial numbers, by XlsxWriter's own conversion
                c.uniques = [None if v is None else ws._convert_date_time(v) for v in c.uniques]
        n = self.n_rows
        for start in range(0, n, CHUNK_ROWS):
            stop = min(n, start + CHUNK_ROWS)
            rows = np.array(list(map(str, range(start + 2, stop + 2))), dtype=object)
            pieces, present = [], np.zeros(stop - start, dtype=bool)
            for c in cols:
                more, has = self._pieces(c, start, stop, rows, ws._escape_data)
                pieces += more
                present |= has
            head = [_const('<row r="', present), _where(present, rows), _const('">', present)]
            fh.write(_interleave(head + pieces + [_const("</row>", present)]))

    @staticmethod
    def _pieces(c: _Column, start: int, stop: int, rows: np.ndarray, escape) -> tuple[list, np.ndarray]:
        """The pieces of column ``c``'s cells in rows ``start``..``stop`` (each an array with one text per
        row, '' where the row has no cell) and which rows have a cell. ``escape``: XlsxWriter's own XML
        escaping of a formula, ``Worksheet._escape_data``."""
        L, S = c.letter, c.empty_fmt
        m = stop - start
        if c.kind == "num":
            values = c.values[start:stop]
            arr = np.asarray(values)
            missing = np.isnan(arr) if arr.dtype.kind == "f" else np.zeros(m, dtype=bool)
            has = ~missing
            if c.formulas is None:
                return [_const(f'<c r="{L}', has), _where(has, rows), _const(f'"{S}><v>', has),
                        _numbers(arr, _G16, has), _const("</v></c>", has)], has
            fs = np.array(c.formulas[start:stop], dtype=object)
            live = fs.astype(bool) & has          # a formula, with its value as the cached result
            plain = has & ~live
            text = np.full(m, "", dtype=object)
            text[live] = _formula_texts(fs[live].tolist(), escape)
            value = _numbers(arr, str, live)
            value[plain] = _numbers(arr, _G16, plain)[plain]
            middle = np.where(live, f'"{S}><f>', np.where(plain, f'"{S}><v>', "")).astype(object)
            return [_const(f'<c r="{L}', has), _where(has, rows), middle, text, _const("</f><v>", live), value,
                    _const("</v></c>", has)], has
        if c.kind == "bool":
            vals = c.values[start:stop]
            has = np.array([not is_missing(v) for v in vals], dtype=bool)
            bits = np.array(["1" if v else "0" for v in vals], dtype=object)
            return [_const(f'<c r="{L}', has), _where(has, rows), _const(f'"{S} t="b"><v>', has),
                    _where(has, bits), _const("</v></c>", has)], has
        codes = c.codes[start:stop]
        if c.kind == "str":
            u = np.array([x if x is not None else "" for x in c.uniques] + [""], dtype=object)
            ok = np.array([x is not None for x in c.uniques] + [False], dtype=bool)
            has = ok[codes]                          # code -1 (missing) -> the last entry
            return [_const(f'<c r="{L}', has), _where(has, rows), _const(f'"{S} t="s"><v>', has), u[codes],
                    _const("</v></c>", has)], has
        # dates: their serial numbers
        u = np.array([_G16(x) if x is not None else "" for x in c.uniques] + [""], dtype=object)
        ok = np.array([x is not None for x in c.uniques] + [False], dtype=bool)
        has = ok[codes]
        return [_const(f'<c r="{L}', has), _where(has, rows), _const(f'"{S}><v>', has), u[codes],
                _const("</v></c>", has)], has


def _G16(v) -> str:
    """A number as XlsxWriter writes a cell's value."""
    return f"{v:.16G}"


def _const(text: str, mask: np.ndarray) -> np.ndarray:
    """``text`` where ``mask``, else ''."""
    out = np.full(len(mask), text, dtype=object)
    out[~mask] = ""
    return out


def _where(mask: np.ndarray, texts: np.ndarray) -> np.ndarray:
    return texts if mask.all() else np.where(mask, texts, "").astype(object)


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
            texts[zero & np.signbit(sub)] = fmt(-0.0)
            texts[zero & ~np.signbit(sub)] = fmt(0.0)
    out[mask] = texts
    return out


def _formula_texts(formulas: list, escape) -> list:
    """Each formula less its leading '=', XML-escaped: all at once, joined by NUL (which no formula in
    an XML file can hold), as XlsxWriter's per-cell writer does one by one."""
    joined = "\x00".join(formulas)
    if joined.count("\x00") != len(formulas) - 1:
        return [escape(f[1:] if f.startswith("=") else f) for f in formulas]
    if joined.startswith("="):
        joined = joined[1:]
    return escape(joined.replace("\x00=", "\x00")).split("\x00")


def _interleave(columns: list) -> str:
    """The texts of every row in turn: row 1's piece of each array, then row 2's, ... as one string."""
    k = len(columns)
    out = [""] * (k * len(columns[0]))
    for j, col in enumerate(columns):
        out[j::k] = col.tolist() if isinstance(col, np.ndarray) else col
    return "".join(out)


def fast_sheet(frame: pd.DataFrame, spec, styles, offset: int):
    """A :class:`FastRows` for this sheet part, or None (the per-cell writer)."""
    n_rows, n_cols = frame.shape
    if n_rows * n_cols < FAST_MIN_CELLS or spec.row_formats or spec.filter:
        return None
    cols = plan_columns(frame, spec.formats, styles, spec.formulas, offset)
    if cols is None:
        return None
    for c in cols:  # a formula XlsxWriter would rewrite (braces, _xlfn.) keeps the per-cell writer
        if c.formulas is not None and not all_plain(c.formulas):
            return None
    return FastRows(cols, n_rows)


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
    return all(is_plain_formula(tail + "(") for tail in {b[-_NAME_TAIL:] for b in before if b[-1:].isupper()})


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
