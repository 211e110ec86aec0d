"""Write input workbooks from the schema: the blank template and examples.

Headers, the README sheet (numbered steps, then the data dictionary),
drop-down lists (enumerations and ids of other sheets) and number checks all
come from :mod:`capacity.io.schema`; nothing here restates a column's rule.
Text is always written as text (never a formula).

Every cell a planner edits is shaded (:data:`INPUT_FILL`): the data rows of
each table, the value column of ``settings``, and in a blank template
:data:`BLANK_ROWS` empty rows of every table. Header rows are bold and
unshaded; labels are plain. Week columns stay headed 1 .. weeks (the reader
needs the integers); each week header carries a comment with its date.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import textwrap
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from capacity.io import schema as S
from capacity.io.errors import cell_ref, col_letter

VALIDATION_ROWS = 2000  # rows below the header that carry drop-downs and checks
BLANK_ROWS = 20  # shaded empty rows of each table in a blank template: where to type
INPUT_FILL = "#FFF2CC"  # pale yellow: a cell a planner edits
MONO = "Courier New"  # commands on the README sheet (LibreOffice shows Liberation Mono)
README_WIDTHS = (20, 24, 34, 22, 90)  # README columns A..E (the dictionary's five columns)


def _key_column_letter(sheet_name: str) -> str:
    sheet = S.SHEETS_BY_NAME[sheet_name]
    return col_letter(sheet.column_names.index(sheet.key[0]))


def _validation(col: S.Column) -> dict | None:
    """Excel data validation for a column, from its schema rule."""
    if col.type == S.ENUM:
        return {"validate": "list", "source": list(col.choices)}
    if col.type == S.REF:
        letter = _key_column_letter(col.ref)
        return {"validate": "list", "source": f"={col.ref}!${letter}$2:${letter}${VALIDATION_ROWS + 1}"}
    if col.type in (S.NUMBER, S.INT):
        kind = "integer" if col.type == S.INT else "decimal"
        lo = col.ge if col.ge is not None else col.gt
        hi = col.le if col.le is not None else col.lt if col.lt is not None else col.max_value
        if lo is not None and hi is not None:
            rule = {"criteria": "between", "minimum": lo, "maximum": hi}
        elif lo is not None:
            rule = {"criteria": ">=" if col.ge is not None else ">", "value": lo}
        else:
            return None
        return {"validate": kind, **rule, "error_title": col.name,
                "error_message": f"{col.name} must be {col.rule_text()}"[:255]}
    return None


def write_input_workbook(
    path: str | Path,
    tables: dict[str, Any] | None = None,
    *,
    weeks: int | None = None,
    notes: Iterable[tuple[str, str, str]] = (),
    title: str = "capacity input workbook",
) -> None:
    """Write an input workbook.

    ``tables`` maps sheet name to a DataFrame (or list of dicts) with the
    schema's column names; wide sheets have integer week columns. ``settings``
    may be a dict {key: value}. Missing sheets are written with headers only.
    With no table rows at all (the blank template) every table gets
    :data:`BLANK_ROWS` shaded empty rows. ``notes`` adds rows (item, value,
    source) to the README sheet, for examples that must cite where each
    number came from.
    """
    import xlsxwriter

    tables = dict(tables or {})
    settings = tables.get("settings") or {}
    weeks = weeks or settings.get("weeks") or 0
    blank = not any(_has_rows(tables.get(sheet.name)) for sheet in S.SHEETS if sheet.layout != S.SETTINGS)
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                           "nan_inf_to_errors": True})
    cell = {"border": 1, "border_color": "#BFBFBF"}
    fmt = {
        "head": book.add_format({"bold": True, "bottom": 1}),
        "input": book.add_format({"bg_color": INPUT_FILL, **cell}),
        "input_date": book.add_format({"bg_color": INPUT_FILL, "num_format": "yyyy-mm-dd", **cell}),
        "title": book.add_format({"bold": True, "font_size": 14}),
        "heading": book.add_format({"bold": True, "font_size": 12, "bottom": 1}),
        "bold": book.add_format({"bold": True, "valign": "top"}),
        "wrap": book.add_format({"text_wrap": True, "valign": "top"}),
        "wrap_first": book.add_format({"text_wrap": True, "valign": "top", "top": 1, "top_color": "#BFBFBF"}),
        "step": book.add_format({"bold": True, "valign": "top", "align": "right"}),
        "link": book.add_format({"bold": True, "valign": "top", "font_color": "#1F4E79", "underline": 1}),
        "mono": book.add_format({"font_name": MONO, "valign": "top", "bg_color": "#F2F2F2"}),
    }
    _write_readme(book, fmt, title, list(notes), weeks, weeks_set="weeks" in settings)
    start = _start_date(settings.get("start_date"))
    for sheet in S.SHEETS:
        ws = book.add_worksheet(sheet.name)
        if sheet.layout == S.SETTINGS:
            _write_settings(ws, fmt, settings)
            continue
        headers: list[Any] = sheet.column_names + (list(range(1, weeks + 1)) if sheet.layout == S.WIDE else [])
        for c0, h in enumerate(headers):
            if isinstance(h, int):
                ws.write_number(0, c0, h, fmt["head"])
                ws.write_comment(0, c0, week_comment(h, start, sheet.week_column), {"x_scale": 2.2})
            else:
                ws.write_string(0, c0, h, fmt["head"])
            ws.set_column(c0, c0, max(10, len(str(h)) + 2) if not isinstance(h, int) else 7)
        ws.freeze_panes(1, len(sheet.key) if sheet.layout == S.WIDE else 1)
        for c0, col in enumerate(sheet.columns):
            rule = _validation(col)
            if rule:
                ws.data_validation(1, c0, VALIDATION_ROWS, c0, rule)
            ws.write_comment(0, c0, plain(f"{col.describe()}; {col.default_text()}. {col.doc}")[:1000],
                             {"x_scale": 2, "y_scale": 1.2})
        if sheet.week_column is not None and weeks:
            rule = _validation(sheet.week_column)
            ws.data_validation(1, len(sheet.columns), VALIDATION_ROWS, len(headers) - 1, rule)
        _write_rows(ws, fmt, headers, tables.get(sheet.name), BLANK_ROWS if blank else 0)
    book.close()


def _has_rows(table: Any) -> bool:
    return table is not None and len(table) > 0


def _start_date(value: Any) -> dt.date | None:
    """settings start_date as a date, or None when it is not (yet) known."""
    if value is None or isinstance(value, str):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(stamp) else stamp.date()


def week_date(start: dt.date, week: int) -> dt.date:
    """The first day of ``week`` (1-based) when week 1 starts on ``start``."""
    return start + dt.timedelta(weeks=week - 1)


def _settings_cell(name: str) -> str:
    """The settings value cell of ``name`` (B2 for start_date): rows follow the schema."""
    return f"settings!{cell_ref(1 + S.SETTINGS_SHEET.column_names.index(name), 1)}"


def week_comment(week: int, start: dt.date | None, column: S.Column | None) -> str:
    """The comment on a week header: 'week 3: Monday 2020-06-08', and what a cell holds."""
    if start is not None:
        day = week_date(start, week)
        text = (f"week {week}: {day:%A} {day:%Y-%m-%d}\n(the week starting on this day; week 1 starts on "
                f"settings start_date, {start:%Y-%m-%d})")
    else:
        after = "starts on it" if week == 1 else f"starts {week - 1} week{'s' if week > 2 else ''} after it"
        text = (f"week {week}: its date follows from settings start_date ({_settings_cell('start_date')}): "
                f"week {week} {after}")
    if column is not None:
        text += plain(f"\nEach cell: {column.name} ({column.describe()}; {column.default_text()}): {column.doc}")
    return text


def _write_settings(ws, fmt, settings: dict) -> None:
    ws.write_string(0, 0, "key", fmt["head"])
    ws.write_string(0, 1, "value", fmt["head"])
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 14)
    ws.freeze_panes(1, 0)
    for r0, col in enumerate(S.SETTINGS_SHEET.columns, start=1):
        ws.write_string(r0, 0, col.name)
        value = settings.get(col.name, None if col.required else col.default)
        _write_cell(ws, fmt, r0, 1, value)
        ws.write_comment(r0, 0, plain(f"{col.doc} ({col.describe()}; {col.default_text()})"), {"x_scale": 2})
        rule = _validation(col)
        if rule:
            ws.data_validation(r0, 1, r0, 1, rule)


def _write_rows(ws, fmt, headers: list, table: Any, blank_rows: int = 0) -> None:
    """The data rows, every cell shaded as an input; with no data, ``blank_rows`` shaded empty rows."""
    if not _has_rows(table):
        for r0 in range(1, blank_rows + 1):
            for c0 in range(len(headers)):
                ws.write_blank(r0, c0, None, fmt["input"])
        return
    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(list(table))
    for r0, row in enumerate(frame.itertuples(index=False), start=1):
        record = dict(zip(frame.columns, row))
        for c0, h in enumerate(headers):
            _write_cell(ws, fmt, r0, c0, record.get(h))


def _write_cell(ws, fmt, r0: int, c0: int, value: Any) -> None:
    """An input cell: its value (if any), shaded."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        ws.write_blank(r0, c0, None, fmt["input"])
    elif isinstance(value, bool):
        ws.write_boolean(r0, c0, value, fmt["input"])
    elif isinstance(value, (int, float)):
        ws.write_number(r0, c0, float(value), fmt["input"])
    elif isinstance(value, (dt.date, dt.datetime)):
        ws.write_datetime(r0, c0, dt.datetime.combine(value, dt.time()) if not isinstance(value, dt.datetime)
                          else value, fmt["input_date"])
    else:
        ws.write_string(r0, c0, str(value), fmt["input"])


# --------------------------------------------------------------------------
# The README sheet: what the workbook is, numbered steps, the data dictionary
# --------------------------------------------------------------------------

def plain(text: str) -> str:
    """Schema text for a spreadsheet cell: Markdown code marks become quotes ("contracts")."""
    return re.sub(r"`([^`]*)`", r'"\1"', str(text)).replace("`", "'")


def readme_rows() -> list[tuple[str, str, str, str, str]]:
    """(sheet, column, rule, default, meaning) for every column: the README
    sheet (through :func:`plain`) and docs/workbook.md are both made from this."""
    rows = []
    for sheet in S.SHEETS:
        for col in sheet.columns:
            rows.append((sheet.name, col.name, col.rule_text(), col.default_text(), col.doc))
        if sheet.week_column is not None:
            wc = sheet.week_column
            rows.append((sheet.name, "1 .. weeks", wc.rule_text(), wc.default_text(), wc.doc))
    return rows


def _optional_text(col: S.Column) -> str:
    """An optional column in a step: 'lead_weeks (default 0)', 'population (blank = unknown)'."""
    if col.default_doc:
        return f"{col.name} (default {col.default_doc})"
    if col.blank:
        return f"{col.name} (blank = {col.blank})"
    if col.default is None or col.default == "":
        return col.name
    return f"{col.name} (default {S.fmt_number(col.default)})"


def step_text(sheet: S.Sheet) -> str:
    """The instruction for one input sheet: its step line, then the columns to fill (from the schema)."""
    required = [c.name for c in sheet.columns if c.required]
    optional = [_optional_text(c) for c in sheet.columns if not c.required]
    what = "rows" if sheet.layout == S.SETTINGS else "columns"
    parts = [sheet.step[:1].upper() + sheet.step[1:] + "."]
    if required:
        parts.append(f"Required {what}: {', '.join(required)}.")
    if optional:
        parts.append(f"Optional {what} (a blank cell takes the default): {', '.join(optional)}.")
    if sheet.week_column is not None:
        wc = sheet.week_column
        parts.append(f"Then one column per week, headed 1 .. weeks (the header's comment gives its date); "
                     f"each cell: {wc.name}" + (" (required)." if wc.required else f" ({wc.default_text()})."))
    return plain(" ".join(parts))


def readme_steps() -> list[tuple[str, str, str, str]]:
    """(number, sheet or command name, command, instruction): one step per input sheet in the
    schema's order, then validate and plan."""
    steps = [(f"{i}.", sheet.name, "", step_text(sheet)) for i, sheet in enumerate(S.SHEETS, start=1)]
    n = len(steps)
    steps.append((f"{n + 1}.", "validate", "capacity validate FILE.xlsx",
                  "Save the workbook and run this in a terminal. It lists every problem as sheet!CELL: message "
                  "and writes nothing; correct the cells and run it again until it says valid."))
    steps.append((f"{n + 2}.", "plan", "capacity plan FILE.xlsx",
                  "Solves for the cheapest staffing plan and writes it to outputs/FILE-plan.xlsx (another path "
                  "with -o OUT.xlsx). The plan workbook opens on its read_me_first sheet: what to decide, what "
                  "it costs and why."))
    return steps


def _lines(text: str, width: float) -> int:
    """Rows the text takes when wrapped at words in a cell ``width`` characters wide (an estimate:
    a column of width w holds about 1.28 w - 4 characters of the default font)."""
    chars = max(1, int(width * 1.28 - 4))
    return sum(max(1, len(textwrap.wrap(part, chars))) for part in str(text).split("\n"))


def _tall(ws, r0: int, lines: int) -> None:
    if lines > 1:
        ws.set_row(r0, 15 * lines)


def _write_readme(book, fmt, title: str, notes: list[tuple[str, str, str]], weeks: int,
                  weeks_set: bool = False) -> None:
    ws = book.add_worksheet("README")
    for c0, width in enumerate(README_WIDTHS):
        ws.set_column(c0, c0, width)
    last = len(README_WIDTHS) - 1

    def sentence(r0: int, text: str, c0: int = 1, style: str = "wrap") -> None:
        width = sum(README_WIDTHS[c0:])
        ws.merge_range(r0, c0, r0, last, plain(text), fmt[style])
        _tall(ws, r0, _lines(text, width))

    ws.write_string(0, 0, plain(title), fmt["title"])
    ws.write_string(1, 0, "What this is", fmt["bold"])
    sentence(1, "The input of a capacity plan: regions, demand scenarios, the work a case generates, staff "
                "sources and what they can do, contracts for contractor staff, and the staff available week by "
                "week. From it, capacity plan chooses the cheapest mix of staff for the service level, week by "
                "week and region by region. One sheet per table; row 1 of each holds its column names, which "
                "stay exactly as written (so do the sheet names).")
    ws.write_blank(2, 0, None, fmt["input"])
    sentence(2, "Shaded cells are inputs: type or paste your data there (add rows below a table as needed). "
                "Bold header rows and plain cells are labels: leave them as they are.")
    ws.write_string(3, 0, "Weeks", fmt["bold"])
    if weeks_set:
        count = f"here {weeks}, as settings weeks says"
    else:
        count = (f"this workbook has {weeks}: set settings weeks to match, or add or delete week columns"
                 if weeks else "add them up to settings weeks")
    sentence(3, f"Week columns are headed 1, 2, 3 ... ({count}). The comment on each week's header gives its "
                "date, from settings start_date.")
    r0 = 5
    ws.write_string(r0, 0, "Steps", fmt["heading"])
    for number, name, command, text in readme_steps():
        r0 += 1
        ws.write_string(r0, 0, number, fmt["step"])
        if name in S.SHEETS_BY_NAME:
            ws.write_url(r0, 1, f"internal:'{name}'!A1", fmt["link"], string=name)
            sentence(r0, text, c0=2)
        else:
            ws.write_string(r0, 1, name, fmt["bold"])
            ws.write_string(r0, 2, command, fmt["mono"])
            sentence(r0, text, c0=3)
    r0 += 2
    if notes:
        ws.write_string(r0, 0, "About this example: every number with its source (or 'assumption')", fmt["heading"])
        r0 += 1
        for c0, h in enumerate(("item", "value", "source")):
            ws.write_string(r0, c0, h, fmt["head"])
        for item, value, source in notes:
            r0 += 1
            ws.write_string(r0, 0, plain(item), fmt["wrap"])
            ws.write_string(r0, 1, plain(value), fmt["wrap"])
            ws.merge_range(r0, 2, r0, last, plain(source), fmt["wrap"])
            _tall(ws, r0, max(_lines(item, README_WIDTHS[0]), _lines(value, README_WIDTHS[1]),
                              _lines(source, sum(README_WIDTHS[2:]))))
        r0 += 2
    ws.write_string(r0, 0, "Data dictionary: every sheet and column", fmt["heading"])
    r0 += 1
    for c0, h in enumerate(("sheet", "column", "type and range", "required or default", "meaning")):
        ws.write_string(r0, c0, h, fmt["head"])
    previous = None
    for row in readme_rows():
        r0 += 1
        style = fmt["wrap_first" if row[0] != previous else "wrap"]  # a thin line above each sheet's rows
        previous = row[0]
        for c0, text in enumerate(row):  # an empty default (text columns) reads "blank", as elsewhere
            ws.write_string(r0, c0, plain(text) or "blank", style)
        _tall(ws, r0, max(_lines(text, README_WIDTHS[c0]) for c0, text in enumerate(row)))
    r0 += 2
    ws.write_string(r0, 0, "Rules across cells and sheets", fmt["heading"])
    for rule in S.CROSS_RULES:
        r0 += 1
        ws.write_string(r0, 0, "-", fmt["step"])
        sentence(r0, rule)
    ws.hide_gridlines(2)
    ws.set_landscape()
    ws.fit_to_pages(1, 0)  # printed one page wide
    ws.activate()
