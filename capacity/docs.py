"""Generate docs/workbook.md, the column reference, from the schema.

    python -m capacity.docs > docs/workbook.md

A test checks that the committed file is what this prints, so the docs never
drift from the rules the validator applies.
"""

from __future__ import annotations

from capacity import schema as S
from capacity.workbook import readme_rows


def workbook_reference() -> str:
    lines = [
        "# Input workbook reference",
        "",
        "Generated from `capacity/schema.py` by `python -m capacity.docs`; do not edit by hand.",
        "The contract is `../shared/spec/workbook.md`; this page states the same rules column by column.",
        "",
    ]
    rows = readme_rows()
    for sheet in S.SHEETS:
        lines += [f"## {sheet.name}", "", sheet.doc, ""]
        if sheet.layout == S.SETTINGS:
            lines += ["Two columns, `key` and `value`; one row per setting below.", ""]
        lines += ["| column | rule | default | meaning |", "|---|---|---|---|"]
        for name, column, rule, default, meaning in rows:
            if name == sheet.name:
                lines.append(f"| `{column}` | {rule} | {default} | {meaning} |")
        lines.append("")
    lines += ["## Rules across cells and sheets", ""] + [f"- {rule}" for rule in S.CROSS_RULES] + [""]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(workbook_reference(), end="")
