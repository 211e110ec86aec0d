"""Walk the prolog of an XML part: what comes before its root element.

Used by :func:`capacity.io.safety.check_workbook_file` on every XML part of a
workbook, on at most a bounded number of bytes. A ``<!DOCTYPE`` / ``<!ENTITY``
(or any other ``<!`` declaration) is refused -- workbooks never need one and it
is how entity-expansion and external-entity attacks work; UTF-16/32 parts are
decoded first, and an XML declaration naming an encoding outside
:data:`XML_ENCODINGS` is refused (so an exotic encoding cannot hide one).

Pure text functions: no file or zip access here.
"""

from __future__ import annotations

#: Encodings an XML declaration may name (lower case); anything else is refused.
XML_ENCODINGS = frozenset({
    "utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "utf-32", "utf-32le",
    "utf-32be", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1",
    "windows-1252", "cp1252",
})


def decode_xml_start(data: bytes) -> str:
    """Decode the start of an XML part by its BOM / first bytes (XML 1.0 F.1)."""
    for prefix, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"),
        (b"\xef\xbb\xbf", "utf-8"),
        (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
        (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"),
    ):
        if data.startswith(prefix):
            return data.decode(codec, errors="replace").lstrip("\ufeff")
    # ASCII-compatible: only the ASCII markup matters here, and latin-1 never fails.
    return data.decode("latin-1")


def prolog_problem(data: bytes, complete: bool) -> str | None:
    """Walk the prolog (declaration, comments, PIs) up to the root element.

    Returns None (fine), "more" (need more bytes), "not xml", or a reason.
    """
    text = decode_xml_start(data)
    i, n = 0, len(text)
    first = True
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            return None if complete else "more"
        if text.startswith("<?", i):
            end = text.find("?>", i + 2)
            if end < 0:
                return None if complete else "more"
            if first and text.startswith("<?xml", i):
                problem = declaration_problem(text[i:end])
                if problem:
                    return problem
            i = end + 2
        elif text.startswith("<!--", i):
            end = text.find("-->", i + 4)
            if end < 0:
                return None if complete else "more"
            i = end + 3
        elif text.startswith("<!", i):
            return ("it contains an XML DOCTYPE/ENTITY declaration, which "
                    "workbooks never need; refusing to parse it")
        elif text.startswith("<", i):
            return None  # the root element: no DOCTYPE can follow
        else:
            return "not xml" if first else "it is not well-formed XML"
        first = False


def declaration_problem(decl: str) -> str | None:
    low = decl.lower()
    at = low.find("encoding")
    if at < 0:
        return None
    rest = low[at + len("encoding"):].lstrip(" \t\r\n=").lstrip(" \t\r\n")
    if not rest or rest[0] not in "'\"":
        return None
    enc = rest[1:].split(rest[0], 1)[0].strip()
    if enc and enc not in XML_ENCODINGS:
        return f"it declares the unusual text encoding '{enc}'"
    return None
