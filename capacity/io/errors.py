"""Problems found in user input, reported as ``sheet!CELL: message``.

Every stage that reads user input collects :class:`Issue` objects instead of
raising on the first problem; :class:`InputError` carries all of them to the
command line, which prints them and exits with status 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ERROR = "error"
WARNING = "warning"

_CELL_RE = re.compile(r"^([A-Z]+)(\d+)$")


def col_letter(index: int) -> str:
    """0-based column index -> Excel column letters (0 -> 'A', 26 -> 'AA')."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_ref(row0: int, col0: int) -> str:
    """0-based (row, column) -> 'B7'."""
    return f"{col_letter(col0)}{row0 + 1}"


def col_number(letters: str) -> int:
    """Excel column letters -> 1-based column number ('A' -> 1, 'AA' -> 27)."""
    col = 0
    for ch in letters:
        col = col * 26 + (ord(ch) - 64)
    return col


def runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Sorted integers -> runs of consecutive ones: [1, 2, 3, 5] -> [(1, 3), (5, 5)]."""
    out: list[tuple[int, int]] = []
    for n in numbers:
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def number_ranges(numbers: list[int]) -> str:
    """Sorted integers -> '1-3, 5' (the validator's way of listing weeks)."""
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs(numbers))


def _cell_sort_key(cell: str) -> tuple[int, int]:
    m = _CELL_RE.match(cell or "")
    if not m:
        return (0, 0)
    letters, row = m.groups()
    return (int(row), col_number(letters))


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters shown as
    repr-style escapes (``\\n``, ``\\x1b``), so one problem is one line
    whatever a path or a cell holds."""
    return "".join(ch if ch.isprintable() or ch == " " else repr(ch)[1:-1] for ch in str(text))


@dataclass(frozen=True, order=False)
class Issue:
    """One problem. ``sheet`` is '' for a file-level problem."""

    sheet: str
    cell: str
    message: str
    level: str = ERROR

    def __str__(self) -> str:
        prefix = "warning: " if self.level == WARNING else ""
        if not self.sheet and not self.cell:
            return one_line(f"{prefix}{self.message}")
        where = f"{self.sheet}!{self.cell}" if self.sheet else self.cell
        return one_line(f"{prefix}{where}: {self.message}")

    def sort_key(self, sheet_order: dict[str, int] | None = None):
        order = (sheet_order or {}).get(self.sheet, len(sheet_order or {}))
        return (order, self.sheet, _cell_sort_key(self.cell), self.message)


def sort_issues(issues, sheet_order: dict[str, int] | None = None) -> list[Issue]:
    return sorted(set(issues), key=lambda i: i.sort_key(sheet_order))


@dataclass
class InputError(Exception):
    """Raised when input is invalid; carries every issue found."""

    issues: list[Issue] = field(default_factory=list)

    def __post_init__(self):
        super().__init__(self.__str__())

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == ERROR]

    def __str__(self) -> str:
        return "\n".join(str(i) for i in self.issues)


def file_error(message: str) -> InputError:
    """A problem with the file as a whole (not a cell)."""
    return InputError([Issue("", "", message)])
