"""Sheets written for a person to read top to bottom (``read_me_first``):
a column of blocks -- a title, headings, sentences, bullet points and small
tables -- instead of one tidy table.

The content is built elsewhere (:mod:`capacity.output.read_me_first`, the
diagnosis); this module only lays it out, with the same cell rules as every
other sheet: text is always text (:func:`escape_text`), numbers carry a
number format from :data:`capacity.output.report_cells.NUMBER_FORMATS`.

``BlockSheet(name, blocks)`` is accepted by
:func:`capacity.output.report.write_report` beside ``SheetSpec``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from capacity.output.report_cells import MAX_CELL_CHARS, Styles, escape_text, is_missing, write_any

#: Block kinds: ``title`` / ``heading`` / ``text`` / ``bullet`` carry a string;
#: ``table`` carries a DataFrame (its columns are the header row) and, in
#: ``formats``, a NUMBER_FORMATS name per column; ``blank`` is an empty row.
BLOCK_KINDS = ("title", "heading", "text", "bullet", "table", "blank")

#: Text rows span the first TEXT_COLS columns (merged), FIRST_WIDTH + (TEXT_COLS - 1) x COL_WIDTH
#: characters wide; long sentences wrap inside. Small tables use the same columns.
TEXT_COLS = 8
FIRST_WIDTH = 30
COL_WIDTH = 14
TEXT_WIDTH = FIRST_WIDTH + (TEXT_COLS - 1) * COL_WIDTH


@dataclass
class Block:
    kind: str
    text: str = ""
    table: pd.DataFrame | None = None
    formats: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in BLOCK_KINDS:
            raise ValueError(f"unknown block kind {self.kind!r}; use one of {BLOCK_KINDS}")
        if self.kind == "table" and not isinstance(self.table, pd.DataFrame):
            raise TypeError("a table block needs a DataFrame")


def title(text: str) -> Block:
    return Block("title", text)


def heading(text: str) -> Block:
    return Block("heading", text)


def text(s: str) -> Block:
    return Block("text", s)


def bullet(s: str) -> Block:
    return Block("bullet", s)


def table(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> Block:
    return Block("table", table=frame, formats=dict(formats or {}))


def blank() -> Block:
    return Block("blank")


@dataclass
class BlockSheet:
    """A sheet of blocks, written in order from A1 down."""

    name: str
    blocks: list[Block]
    note: str = ""


def write_block_sheet(book, sheet: BlockSheet, styles: Styles) -> None:
    """Lay out ``sheet.blocks`` on a new worksheet of ``book``."""
    ws = book.add_worksheet(sheet.name)
    fmt = _formats(book, styles)
    widths: dict[int, float] = {0: FIRST_WIDTH, **{c: COL_WIDTH for c in range(1, TEXT_COLS)}}
    r = 0
    for b in sheet.blocks:
        if b.kind == "blank":
            r += 1
        elif b.kind == "table":
            r = _write_block_table(ws, r, b, fmt, styles, widths) + 1
        else:
            s = escape_text(("\u2022 " if b.kind == "bullet" else "") + str(b.text))[:MAX_CELL_CHARS]
            ws.merge_range(r, 0, r, TEXT_COLS - 1, s, fmt[b.kind])
            lines = max(1, -(-len(s) // int(TEXT_WIDTH * 1.1)) + s.count("\n"))
            if lines > 1 and b.kind in ("text", "bullet"):
                ws.set_row(r, 15 * lines)
            r += 1 + (b.kind == "title")
    for c, w in widths.items():
        ws.set_column(c, c, w)
    if sheet.note:
        ws.write_comment(0, 0, sheet.note[:MAX_CELL_CHARS], {"x_scale": 3, "y_scale": 1.5})
    ws.hide_gridlines(2)
    ws.fit_to_pages(1, 0)  # printed: one page wide, as many pages long as it takes
    ws.set_landscape()


def _formats(book, styles: Styles) -> dict[str, Any]:
    key = "_blocks"
    if key not in styles._cache:
        styles._cache[key] = {
            "title": book.add_format({"bold": True, "font_size": 16}),
            "heading": book.add_format({"bold": True, "font_size": 12, "bottom": 1, "font_color": "#1F4E79"}),
            "text": book.add_format({"text_wrap": True, "valign": "top"}),
            "bullet": book.add_format({"text_wrap": True, "valign": "top", "indent": 1}),
            "th": book.add_format({"bold": True, "bg_color": "#DDEBF7", "bottom": 1, "text_wrap": True,
                                   "valign": "top"}),
            "td": book.add_format({"text_wrap": True, "valign": "top"}),
        }
    return styles._cache[key]


def _write_block_table(ws, r: int, b: Block, fmt, styles: Styles, widths: dict[int, float]) -> int:
    """A small table starting at row ``r``; returns the row after it."""
    frame = b.table
    for j, col in enumerate(frame.columns):
        ws.write_string(r, j, escape_text(str(col)), fmt["th"])
        if len(str(col)) > COL_WIDTH:
            ws.set_row(r, 30)
        if j >= TEXT_COLS:
            widths[j] = max(widths.get(j, 0), min(40.0, max(12.0, len(str(col)) + 2)))
    date_fmt = styles.get("date")
    for i in range(len(frame)):
        for j, col in enumerate(frame.columns):
            v = frame.iat[i, j]
            name = b.formats.get(str(col))
            if isinstance(v, str) or is_missing(v):
                if not is_missing(v):
                    ws.write_string(r + 1 + i, j, escape_text(v)[:MAX_CELL_CHARS], fmt["td"])
            else:
                write_any(ws, r + 1 + i, j, v, styles.get(name), date_fmt)
        # a cell's text wraps inside its column: the row as tall as its longest cell
        tall = max((-(-len(v) // int(widths[j])) for j, v in enumerate(frame.iloc[i]) if isinstance(v, str)),
                   default=1)
        if tall > 1:
            ws.set_row(r + 1 + i, 15 * tall)
    return r + 1 + len(frame)
