"""Cell-level writing for the output workbooks: text that is never a formula,
number formats (money with the currency as a label), values of any type,
and column widths."""

from __future__ import annotations

import datetime as dt
import decimal
import fractions
import math
import numbers
import re
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

#: Excel's limit on characters in one cell.
MAX_CELL_CHARS = 32_767
#: Number formats by name; "money" depends on the currency (:func:`money_format`).
NUMBER_FORMATS: dict[str, str | None] = {
    "fte": "#,##0.0",
    "hours": "#,##0.0",
    "share": "0.0%",
    "int": "#,##0",
    "number": "#,##0.00",
    "sci": "0.0E+00",
    "date": "yyyy-mm-dd",
    "text": "@",
    "money": None,
    "money_m": None,
}
_CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}
AXIS_FORMATS = {"share": "0%"}

_DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")
_ESCAPE_FIRST = _DANGEROUS_FIRST + ("'",)



#: the dynamic-array functions XlsxWriter prefixes with _xlfn. (its pattern for SINGLE is ``\SINGLE\(``)
_DYNAMIC = re.compile(
    r"\b(?:ANCHORARRAY|BYCOL|BYROW|CHOOSECOLS|CHOOSEROWS|DROP|EXPAND|FILTER|HSTACK|LAMBDA|MAKEARRAY|MAP|"
    r"RANDARRAY|REDUCE|SCAN|SEQUENCE|SORT|SORTBY|SWITCH|TAKE|TEXTSPLIT|TOCOL|TOROW|UNIQUE|VSTACK|WRAPCOLS|"
    r"WRAPROWS|XLOOKUP)\(|\SINGLE\(")


def is_plain_formula(formula: str) -> bool:
    """True when XlsxWriter would write the formula as it stands, less its leading '=' (and array
    braces): no _xlfn. prefix to add, no dynamic-array function. The one test both the per-cell
    writer's shortcut (report.py) and the array writer (report_fast.py) rely on."""
    return "_xlfn." not in formula and not _DYNAMIC.search(formula)

def escape_text(s: str) -> str:
    """Text as written to a cell: never readable as a formula.

    A string starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
    gets a leading single quote; so does one already starting with a quote,
    which makes :func:`unescape_text` an exact inverse.
    """
    if s and s[0] in _ESCAPE_FIRST:
        return "'" + s
    return s


def unescape_text(s: str) -> str:
    """The original text of a cell written by :func:`escape_text`."""
    if len(s) >= 2 and s[0] == "'" and s[1] in _ESCAPE_FIRST:
        return s[1:]
    return s


def money_format(currency: str) -> str:
    """Excel number format for money, 0 dp, with the currency.

    A known 3-letter code (GBP, EUR, USD) shows its symbol; any other 3-letter
    code is upper-cased; any other label (``£``, ``Fr.``, ``k€``) is a literal
    suffix, quoted or, when it holds a double quote, escaped character by
    character (a currency is a label, never part of the format's syntax)."""
    label = _check_currency(currency)
    symbol = _CURRENCY_SYMBOLS.get(label)
    if symbol:
        return f'"{symbol}"#,##0'
    if '"' not in label:
        return f'#,##0 "{label}"'
    return "#,##0 " + "".join("\\" + ch for ch in label)


#: The longest currency label (the schema refuses longer ones by cell).
MAX_CURRENCY_CHARS = 12  # = schema settings currency max_chars


def _check_currency(currency: str) -> str:
    label = currency.strip() if isinstance(currency, str) else ""
    label = "".join(ch for ch in label if ch.isprintable())
    if not label or len(label) > MAX_CURRENCY_CHARS:
        raise ValueError(f"currency must be a label of 1 to {MAX_CURRENCY_CHARS} printable characters, "
                         f"got {currency!r}")
    return label.upper() if re.fullmatch(r"[A-Za-z]{3}", label) else label



class Styles:
    def __init__(self, book, money: str):
        self.book = book
        self.money = money
        self._cache: dict[str, Any] = {}

    def num_format(self, name: str | None) -> str | None:
        if name is None:
            return None
        if name == "money_m":  # millions, for chart axes: 229,525,386 -> £229.5m
            return self.money.replace("#,##0", '#,##0.0,,"m"', 1) if "#,##0" in self.money else self.money
        return self.money if name == "money" else NUMBER_FORMATS[name]

    def header(self):
        if "_header" not in self._cache:
            self._cache["_header"] = self.book.add_format(
                {"bold": True, "bg_color": "#DDEBF7", "bottom": 1})
        return self._cache["_header"]

    def get(self, name: str | None):
        if name is None:
            return None
        if name not in self._cache:
            self._cache[name] = self.book.add_format({"num_format": self.num_format(name)})
        return self._cache[name]


def table_headers(columns: Iterable[Any]) -> list[str]:
    """Table column headers: escaped text, non-empty, unique ignoring case."""
    out: list[str] = []
    seen: set[str] = set()
    for j, c in enumerate(columns):
        if isinstance(c, tuple):  # MultiIndex columns: join the levels
            c = " ".join(str(x) for x in c if not is_missing(x) and str(x) != "")
        text = "" if is_missing(c) else str(c)
        text = escape_text(text)
        text = re.sub(r"[\r\n]+", " ", text)[:255] or f"column_{j + 1}"
        h, k = text, 2
        while h.lower() in seen:
            h, k = f"{text}_{k}", k + 1
        seen.add(h.lower())
        out.append(h)
    return out


def is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, (float, np.floating)):
        return math.isnan(v)
    if isinstance(v, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(v))
    return False


def as_text(v: Any) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        return v.isoformat(sep=" ") if (v.hour or v.minute or v.second or v.microsecond) else v.date().isoformat()
    return str(v)


def write_any(ws, r: int, c: int, v: Any, fmt, date_fmt) -> None:
    """Write one value of unknown type (object columns)."""
    if is_missing(v):
        return
    if isinstance(v, str):
        ws.write_string(r, c, escape_text(v), fmt)
    elif isinstance(v, (bool, np.bool_)):
        ws.write_boolean(r, c, bool(v), fmt)
    elif isinstance(v, (numbers.Real, decimal.Decimal, fractions.Fraction)):
        x = float(v)
        if not math.isnan(x):
            ws.write_number(r, c, x, fmt)
    elif isinstance(v, np.datetime64):
        ws.write_datetime(r, c, pd.Timestamp(v).to_pydatetime(), fmt or date_fmt)
    elif isinstance(v, dt.datetime):
        if isinstance(v, pd.Timestamp):
            v = v.to_pydatetime()
        if v.tzinfo is not None:
            v = v.replace(tzinfo=None)
        ws.write_datetime(r, c, v, fmt or date_fmt)
    elif isinstance(v, dt.date):
        ws.write_datetime(r, c, v, fmt or date_fmt)
    else:  # time, timedelta, complex, objects: their text
        ws.write_string(r, c, escape_text(str(v)), fmt)


def column_writer(ws, series: pd.Series, c: int, fmt_name: str | None, styles: Styles
                  ) -> tuple[Callable[[int], None], str | None]:
    """A function writing the values of ``series`` into column ``c`` from row ``r0`` on.

    Returns the writer and the effective format name (for the width).
    """
    kind = series.dtype.kind
    if fmt_name is None and kind == "M":
        fmt_name = "date"
    fmt = styles.get(fmt_name)
    if fmt_name == "text":
        return _text_writer(ws, series, c, fmt), fmt_name
    if kind == "b":
        return _bool_writer(ws, series, c, fmt), fmt_name
    if kind in "iuf":
        return _number_writer(ws, series, c, fmt), fmt_name
    if kind == "M":
        return _date_writer(ws, series, c, fmt), fmt_name
    return _object_writer(ws, series, c, fmt, styles.get("date")), fmt_name


def _text_writer(ws, series: pd.Series, c: int, fmt) -> Callable[[int], None]:
    values = series.astype(object).tolist()

    def write(r0: int) -> None:
        for r, v in enumerate(values, r0):
            if not is_missing(v):
                ws.write_string(r, c, escape_text(v if isinstance(v, str) else as_text(v)), fmt)
    return write


def _bool_writer(ws, series: pd.Series, c: int, fmt) -> Callable[[int], None]:
    values = series.astype(object).tolist()

    def write(r0: int) -> None:
        for r, v in enumerate(values, r0):
            if not is_missing(v):
                ws.write_boolean(r, c, bool(v), fmt)
    return write


def _number_writer(ws, series: pd.Series, c: int, fmt) -> Callable[[int], None]:
    if isinstance(series.dtype, np.dtype):
        values = series.tolist()
    else:  # nullable Int64 / Float64: pd.NA -> NaN
        values = series.to_numpy(dtype=float, na_value=np.nan).tolist()
    wn = ws.write_number

    def write(r0: int) -> None:
        for r, v in enumerate(values, r0):
            if v == v:  # NaN -> blank
                wn(r, c, v, fmt)
    return write


def _date_writer(ws, series: pd.Series, c: int, fmt) -> Callable[[int], None]:
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_localize(None)
    values = [None if x is pd.NaT else x.to_pydatetime() for x in series.astype(object).tolist()]

    def write(r0: int) -> None:
        for r, v in enumerate(values, r0):
            if v is not None:
                ws.write_datetime(r, c, v, fmt)
    return write


def _object_writer(ws, series: pd.Series, c: int, fmt, date_fmt) -> Callable[[int], None]:
    values = series.astype(object).tolist()
    ws_write_string = ws.write_string

    def write(r0: int) -> None:
        for r, v in enumerate(values, r0):
            if type(v) is str:  # the common case, inlined
                if v and v[0] in _ESCAPE_FIRST:
                    v = "'" + v
                ws_write_string(r, c, v, fmt)
            else:
                write_any(ws, r, c, v, fmt, date_fmt)
    return write


def column_width(series: pd.Series, header: str, fmt_name: str | None) -> float:
    """A column width from the header and the values (approximate, capped)."""
    n = len(header)
    if len(series):
        kind = series.dtype.kind
        if fmt_name == "date" or kind == "M":
            n = max(n, 10)
        elif kind in "iuf" and fmt_name != "text":
            arr = series.to_numpy(dtype=float, na_value=np.nan)
            finite = arr[np.isfinite(arr)]
            if len(finite):
                big = float(np.abs(finite).max())
                digits = len(f"{big:,.0f}") + 1
                decimals = {"fte": 2, "hours": 2, "share": 3, "number": 3, "money": 3}.get(fmt_name, 0)
                if fmt_name is None and not (finite == np.round(finite)).all():
                    decimals = 7
                if fmt_name == "share":
                    digits = len(f"{big * 100:,.0f}") + 1
                n = max(n, digits + decimals)
        elif kind == "b":
            n = max(n, 5)
        else:
            sample = series if len(series) <= 200_000 else series.iloc[:: max(1, len(series) // 200_000)]
            distinct = pd.Series(pd.unique(sample.dropna().to_numpy(dtype=object)), dtype=object)   # each once
            lengths = distinct.map(lambda v: len(as_text(v)) if not isinstance(v, str) else len(v))
            if len(lengths):
                n = max(n, int(lengths.max()) + 1)
    return float(min(max(n + 2, 8), 60))


