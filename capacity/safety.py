"""Refuse input files that are not safe, valid workbooks -- before any parsing.

:func:`check_workbook_file` runs a fixed sequence of cheap, bounded checks on
an input path and raises :func:`capacity.errors.file_error` (an
:class:`~capacity.errors.InputError` carrying one file-level issue) on the
first problem. The message names the file, says plainly what is wrong and what
to do, e.g.::

    inputs/x.xlsx: not an Excel workbook (it looks like a CSV/text file); save
    it as .xlsx from Excel or LibreOffice

Nothing is written, and memory and time stay bounded whatever the file claims:
no check reads more than a fixed number of bytes, and zip members are only ever
streamed through :func:`read_member_bounded`.

Checks, in order (one function each):

1. ``_check_exists``        -- the path exists.
2. ``_check_regular_file``  -- it is not a folder, pipe or device (opening a
   pipe would block forever).
3. ``_check_size``          -- not empty (0 bytes) and not over
   :data:`MAX_FILE_BYTES`.
4. ``_check_cfb``           -- an OLE2/CFB container (magic ``D0 CF 11 E0 A1
   B1 1A E1``) is either an encrypted (password-protected) OOXML workbook
   (contains an ``EncryptionInfo`` / ``EncryptedPackage`` stream; found by
   their UTF-16LE names in a bounded scan of at most :data:`MAX_CFB_SCAN_BYTES`
   plus the first directory sector) or a legacy Excel 97-2003 ``.xls``.
5. ``_check_is_zip``        -- an .xlsx is a zip; anything else is sniffed and
   named (CSV/text, HTML, XML spreadsheet 2003, PDF, other binary).
6. ``_check_member_count``  -- the central directory is counted from the raw
   bytes *before* :class:`zipfile.ZipFile` loads it, so a file claiming millions
   of members cannot exhaust memory: more than :data:`MAX_MEMBERS` is refused;
   a missing end-of-central-directory record means a truncated file.
7. ``_open_zip``            -- :class:`zipfile.BadZipFile` and friends mean a
   damaged/truncated file.
8. ``_check_zip_bomb``      -- from the declared sizes only: total uncompressed
   over :data:`MAX_TOTAL_UNCOMPRESSED`; any member over
   :data:`RATIO_MIN_BYTES` expanding more than :data:`MAX_COMPRESSION_RATIO`
   :1; members whose data overlap (the "overlapping files" bomb). Declared
   sizes can lie, so every read below is bounded as well.
9. ``_check_is_workbook``   -- ``[Content_Types].xml`` and ``xl/workbook.xml``
   present (a .docx, .pptx, .ods, .xlsb or random zip is named as such).
10. ``_check_zip_encryption`` -- zip-level encrypted members: password-protected.
11. ``_check_core_parts``   -- ``[Content_Types].xml`` and ``xl/workbook.xml``
    decompress with a valid CRC (read fully, bounded by
    :data:`MAX_CORE_PART_BYTES`); other members' data are not read in full.
12. ``_check_xml_parts``    -- every member that is (or is named as) XML is
    streamed up to its root element (at most :data:`MAX_XML_PROLOG_BYTES`):
    a ``<!DOCTYPE`` / ``<!ENTITY`` (or any other ``<!`` declaration) is refused
    -- workbooks never need one and it is how entity-expansion ("billion
    laughs") and external-entity attacks work; UTF-16/32 parts are decoded
    first, and an XML declaration naming an encoding outside
    :data:`XML_ENCODINGS` is refused (so an exotic encoding cannot hide one).

:func:`check_output_path` checks, before the long solve, that an output path
can be written (not an input, folder exists and is writable, not open in
LibreOffice/Excel); :func:`atomic_write` writes outputs via a temporary file in
the same folder so that a failed or interrupted write never leaves a partial
file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

from capacity.errors import InputError, file_error

MiB = 1024 * 1024

#: Largest input file accepted at all (bytes on disk).
MAX_FILE_BYTES = 512 * MiB
#: Largest sum of the declared uncompressed sizes of all zip members.
MAX_TOTAL_UNCOMPRESSED = 512 * MiB
#: Largest uncompressed:compressed ratio of one member ...
MAX_COMPRESSION_RATIO = 200
#: ... applied to members declaring more than this many uncompressed bytes.
RATIO_MIN_BYTES = 1 * MiB
#: Most zip members (parts) a workbook may have.
MAX_MEMBERS = 10_000
#: How far into each XML part the prolog (everything before the root element)
#: may extend; a DOCTYPE can only appear there.
MAX_XML_PROLOG_BYTES = 64 * 1024
#: Largest ``[Content_Types].xml`` / ``xl/workbook.xml`` read in full.
MAX_CORE_PART_BYTES = 64 * MiB
#: How much of an OLE2/CFB file is scanned for encryption stream names.
MAX_CFB_SCAN_BYTES = 64 * MiB
#: Encodings an XML declaration may name (lower case); anything else is refused.
XML_ENCODINGS = frozenset({
    "utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "utf-32", "utf-32le",
    "utf-32be", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1",
    "windows-1252", "cp1252",
})

CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_ENCRYPTION_NAMES = tuple(
    n.encode("utf-16-le") for n in ("EncryptionInfo", "EncryptedPackage")
)
_CHUNK = 1 * MiB
_SNIFF_BYTES = 4096
_RESAVE = "save it as .xlsx from Excel or LibreOffice"
# Exceptions zipfile raises on damaged data (bad CRC, truncated stream, bad
# deflate data, unsupported method, encrypted member, bad local header).
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
               RuntimeError, ValueError, struct.error, OSError)

T = TypeVar("T")


# --------------------------------------------------------------------------
# Input workbook
# --------------------------------------------------------------------------

def check_workbook_file(path) -> None:
    """Raise ``file_error`` on the first reason ``path`` is not a safe .xlsx."""
    name = os.fspath(path)
    _check_exists(name)
    st = _check_regular_file(name)
    _check_size(name, st.st_size)
    with open(name, "rb") as f:
        head = f.read(_SNIFF_BYTES)
        _check_cfb(name, f, head)
        _check_is_zip(name, head)
        _check_member_count(name, f, st.st_size)
    zf = _open_zip(name)
    with zf:
        _check_zip_bomb(name, zf)
        _check_is_workbook(name, zf)
        _check_zip_encryption(name, zf)
        _check_core_parts(name, zf)
        _check_xml_parts(name, zf)


def _check_exists(name: str) -> None:
    if not os.path.lexists(name):
        raise file_error(f"{name}: file not found; check the path and the file name")
    if not os.path.exists(name):
        raise file_error(f"{name}: is a broken link (its target does not exist); "
                         "give the path of the workbook itself")


def _check_regular_file(name: str) -> os.stat_result:
    st = os.stat(name)
    if stat.S_ISDIR(st.st_mode):
        raise file_error(f"{name}: is a folder, not a file; give the path of the "
                         ".xlsx workbook inside it")
    if not stat.S_ISREG(st.st_mode):
        raise file_error(f"{name}: is not a regular file (a pipe or device); give "
                         "the path of an .xlsx workbook")
    if not os.access(name, os.R_OK):
        raise file_error(f"{name}: cannot be read (permission denied); check the "
                         "file's permissions")
    return st


def _check_size(name: str, size: int) -> None:
    if size == 0:
        raise file_error(f"{name}: the file is empty (0 bytes), perhaps not fully "
                         f"saved or copied; {_RESAVE} again")
    if size > MAX_FILE_BYTES:
        raise file_error(f"{name}: the file is {_human(size)}, over the "
                         f"{_human(MAX_FILE_BYTES)} limit for an input workbook; "
                         "check it is the right file")


def _human(n: int) -> str:
    if n >= MiB:
        return f"{n / MiB:.0f} MiB"
    return f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n} bytes"


def _check_cfb(name: str, f, head: bytes) -> None:
    if not head.startswith(CFB_MAGIC):
        return
    if _cfb_is_encrypted(f, head):
        raise file_error(f"{name}: the workbook is password-protected (encrypted); "
                         "open it in Excel, remove the password (File > Info > "
                         "Protect Workbook) and save again")
    raise file_error(f"{name}: legacy Excel 97-2003 (.xls) format, which is not "
                     "supported; open it in Excel or LibreOffice and save as .xlsx")


def _cfb_is_encrypted(f, head: bytes) -> bool:
    """Look for the encryption stream names in a bounded stream of the file.

    Scans the first ``MAX_CFB_SCAN_BYTES`` in chunks (overlapping so a name
    across a chunk boundary is found) plus the first directory sector, wherever
    it is (so large files whose directory sits at the end are covered too).
    """
    overlap = max(len(n) for n in _ENCRYPTION_NAMES) - 1
    f.seek(0)
    tail = b""
    read = 0
    while read < MAX_CFB_SCAN_BYTES:
        chunk = f.read(min(_CHUNK, MAX_CFB_SCAN_BYTES - read))
        if not chunk:
            break
        read += len(chunk)
        window = tail + chunk
        if any(n in window for n in _ENCRYPTION_NAMES):
            return True
        tail = window[-overlap:]
    if len(head) >= 52:
        shift = struct.unpack_from("<H", head, 30)[0]
        first_dir = struct.unpack_from("<I", head, 48)[0]
        if 7 <= shift <= 16 and first_dir < 0xFFFFFFFA:
            f.seek((first_dir + 1) << shift)
            sector = f.read(1 << shift)
            return any(n in sector for n in _ENCRYPTION_NAMES)
    return False


def _check_is_zip(name: str, head: bytes) -> None:
    if head.startswith(ZIP_MAGICS):
        return
    raise file_error(f"{name}: not an Excel workbook ({_sniff(head)}); {_RESAVE}")


def _sniff(head: bytes) -> str:
    """Say in a few words what a non-zip file looks like."""
    if head.startswith(b"%PDF"):
        return "it is a PDF document"
    text = _as_text(head)
    if text is None:
        if head[:2] == b"\x1f\x8b" or head[:4] == b"Rar!" or head[:6] == b"7z\xbc\xaf\x27\x1c":
            return "it is a compressed archive of another kind (gzip/rar/7z)"
        return "it is not a zip-based .xlsx file but unrecognised binary content"
    low = text.lstrip("\ufeff \t\r\n").lower()
    if low.startswith("<"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in low:
            return "it is an Excel 2003 XML Spreadsheet"
        if low.startswith(("<!doctype html", "<html")) or "<table" in low:
            return "it looks like an HTML page, as some systems export 'Excel' files"
        return "it looks like an XML/text file"
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if any(d in ln for ln in lines for d in (",", ";", "\t", "|")):
        return "it looks like a CSV/text file"
    return "it looks like a plain text file"


def _as_text(head: bytes) -> str | None:
    """Decode ``head`` if it looks like text, else None."""
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[2:].decode(codec, errors="replace")
    if b"\x00" in head:
        return None
    text = None
    for cut in range(4):  # the sniffed block may end inside a UTF-8 character
        try:
            text = head[: len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        text = head.decode("cp1252", errors="replace")
    bad = sum(1 for c in text if not (c.isprintable() or c in "\r\n\t\f"))
    return text if bad <= len(text) * 0.05 else None


def _check_member_count(name: str, f, size: int) -> None:
    """Count central-directory entries from the raw bytes, stopping early."""
    tail_len = min(size, 22 + 65535)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    while pos >= 0 and pos + 22 > len(tail):
        pos = tail.rfind(b"PK\x05\x06", 0, pos)
    if pos < 0:
        raise _damaged(name, "no zip directory at the end: the file is truncated")
    _, _, _, _, declared, cd_size, cd_offset, _ = struct.unpack_from("<4s4H2LH", tail, pos)
    cd_end = size - tail_len + pos
    if declared == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        # Zip64: the real numbers are in the zip64 end record before the locator.
        f.seek(max(cd_end - 20 - 56, 0))
        rec = f.read(56)
        if len(rec) == 56 and rec[:4] == b"PK\x06\x06":
            declared, cd_size = struct.unpack_from("<QQ", rec, 32)
            cd_end -= 20 + 56
    if declared > MAX_MEMBERS:
        raise _too_many(name, declared)
    if cd_size > cd_end:
        raise _damaged(name, "zip directory points outside the file")
    f.seek(cd_end - cd_size)
    count = consumed = 0
    while consumed + 46 <= cd_size:
        header = f.read(46)
        if len(header) < 46 or header[:4] != b"PK\x01\x02":
            break  # zipfile reports the damage itself
        n, m, k = struct.unpack_from("<3H", header, 28)
        f.seek(n + m + k, os.SEEK_CUR)
        consumed += 46 + n + m + k
        count += 1
        if count > MAX_MEMBERS:
            raise _too_many(name, f"more than {MAX_MEMBERS}")


def _too_many(name: str, count) -> InputError:
    return file_error(f"{name}: refusing to open: the archive has {count} parts, "
                      f"over the limit of {MAX_MEMBERS} (a possible zip bomb); "
                      "check it is the right file")


def _damaged(name: str, detail: str) -> InputError:
    return file_error(f"{name}: the workbook is damaged or incomplete ({detail}); "
                      "save it again from Excel or copy/download it again")


def _open_zip(name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(name)
    except _ZIP_ERRORS as exc:
        raise _damaged(name, f"corrupt zip archive: {exc}") from None


def _check_zip_bomb(name: str, zf: zipfile.ZipFile) -> None:
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _too_many(name, len(infos))
    bomb = "(a possible zip bomb); check it is the right file"
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_UNCOMPRESSED:
        raise file_error(f"{name}: refusing to open: the archive declares "
                         f"{_human(total)} of uncompressed content, over the "
                         f"{_human(MAX_TOTAL_UNCOMPRESSED)} limit {bomb}")
    for i in infos:
        if i.file_size > RATIO_MIN_BYTES:
            ratio = i.file_size / max(i.compress_size, 1)
            if ratio > MAX_COMPRESSION_RATIO:
                raise file_error(f"{name}: refusing to open: part '{i.filename}' "
                                 f"expands {ratio:.0f}:1, over the "
                                 f"{MAX_COMPRESSION_RATIO}:1 limit {bomb}")
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for a, b in zip(ordered, ordered[1:]):
        if b.header_offset < a.header_offset + 30 + a.compress_size:
            raise file_error(f"{name}: refusing to open: parts '{a.filename}' and "
                             f"'{b.filename}' overlap in the archive {bomb}")


def _check_is_workbook(name: str, zf: zipfile.ZipFile) -> None:
    names = set(zf.namelist())
    if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
        return
    if "xl/workbook.bin" in names:
        raise file_error(f"{name}: binary Excel workbook (.xlsb), which is not "
                         "supported; open it in Excel and save as .xlsx (Excel Workbook)")
    what = "a zip archive with no xl/workbook.xml"
    if "word/document.xml" in names:
        what = "it is a Word document (.docx)"
    elif "ppt/presentation.xml" in names:
        what = "it is a PowerPoint presentation (.pptx)"
    elif "mimetype" in names:
        try:
            mime = read_member_bounded(zf, "mimetype", 200).decode("ascii", "replace")
        except InputError:
            mime = ""
        if "opendocument.spreadsheet" in mime:
            what = "it is an OpenDocument spreadsheet (.ods)"
        elif mime:
            what = "it is an OpenDocument file"
    elif "[Content_Types].xml" not in names:
        what = "a zip archive with no [Content_Types].xml"
    raise file_error(f"{name}: not an Excel workbook ({what}); {_RESAVE}")


def _check_zip_encryption(name: str, zf: zipfile.ZipFile) -> None:
    if any(i.flag_bits & 0x1 for i in zf.infolist()):
        raise file_error(f"{name}: the workbook is password-protected (encrypted zip "
                         "parts); remove the password and save again")


def _check_core_parts(name: str, zf: zipfile.ZipFile) -> None:
    for part in ("[Content_Types].xml", "xl/workbook.xml"):
        read_member_bounded(zf, part, MAX_CORE_PART_BYTES)


def read_member_bounded(zf: zipfile.ZipFile, member, max_bytes: int,
                        truncate: bool = False) -> bytes:
    """Stream one zip member, never holding more than ``max_bytes`` + one chunk.

    Declared sizes can lie, so this counts what actually comes out. Past
    ``max_bytes`` it raises ``file_error`` -- or, with ``truncate=True``,
    returns just the first ``max_bytes`` bytes. Damaged data (bad CRC,
    truncated or invalid compressed stream) raises ``file_error`` too.
    """
    name = zf.filename or "workbook"
    label = member.filename if isinstance(member, zipfile.ZipInfo) else member
    parts: list[bytes] = []
    got = 0
    try:
        with zf.open(member) as fh:
            while True:
                chunk = fh.read(min(64 * 1024, max_bytes + 1 - got))
                if not chunk:
                    break
                parts.append(chunk)
                got += len(chunk)
                if got > max_bytes:
                    if truncate:
                        return b"".join(parts)[:max_bytes]
                    raise file_error(
                        f"{name}: refusing to read part '{label}': it expands to more "
                        f"than {_human(max_bytes)} (a possible zip bomb); check it "
                        "is the right file")
    except KeyError:
        raise file_error(f"{name}: not an Excel workbook (part '{label}' is missing); "
                         f"{_RESAVE}") from None
    except _ZIP_ERRORS as exc:
        raise _damaged(name, f"part '{label}' cannot be read: {exc}") from None
    return b"".join(parts)


def _check_xml_parts(name: str, zf: zipfile.ZipFile) -> None:
    for info in zf.infolist():
        if info.is_dir():
            continue
        problem = None
        for limit in (_SNIFF_BYTES, MAX_XML_PROLOG_BYTES):
            data = read_member_bounded(zf, info, limit, truncate=True)
            problem = _xml_prolog_problem(data, complete=len(data) < limit)
            if problem != "more":
                break
        if problem == "more":
            problem = (f"its XML prolog runs past {MAX_XML_PROLOG_BYTES // 1024} KiB "
                       "without reaching the content")
        if problem == "not xml":
            is_xml_name = info.filename.lower().endswith((".xml", ".rels", ".vml"))
            problem = "it is not XML" if is_xml_name and data.strip() else None
        if problem:
            raise file_error(f"{name}: refusing to parse part '{info.filename}': "
                             f"{problem}; {_RESAVE} again")


def _decode_xml_start(data: bytes) -> str:
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


def _xml_prolog_problem(data: bytes, complete: bool) -> str | None:
    """Walk the prolog (declaration, comments, PIs) up to the root element.

    Returns None (fine), "more" (need more bytes), "not xml", or a reason.
    """
    text = _decode_xml_start(data)
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
                problem = _xml_declaration_problem(text[i:end])
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


def _xml_declaration_problem(decl: str) -> str | None:
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


# --------------------------------------------------------------------------
# Output path
# --------------------------------------------------------------------------

def make_output_folder(folder) -> None:
    """Create the default output folder (``outputs``) if it is missing; a file
    of that name is a path problem, reported before any solve."""
    folder = Path(os.fspath(folder))
    if folder.exists() and not folder.is_dir():
        raise file_error(f"{folder}: is a file, not a folder, so the default output {folder}/... cannot be "
                         "written; move the file or give an output path with -o")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise file_error(f"{folder}: cannot create the output folder ({exc.strerror or exc}); "
                         "give an output path with -o") from None


def check_output_path(output, inputs: Iterable = ()) -> None:
    """Raise ``file_error`` if ``output`` cannot safely be written later.

    Called before the long solve so a bad output path fails in a second, not
    after an hour. Writes nothing (a probe temp file is created and removed).
    """
    out = Path(os.fspath(output))
    _check_output_not_input(out, inputs)
    _check_output_folder(out)
    _check_output_not_locked(out)


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _check_output_not_input(out: Path, inputs: Iterable) -> None:
    for inp in inputs:
        if _same_file(out, Path(os.fspath(inp))):
            raise file_error(f"{out}: the output would overwrite the input {inp}; "
                             "choose a different output file name")


def _check_output_folder(out: Path) -> None:
    if out.is_dir():
        raise file_error(f"{out}: is a folder; give an output file name such as "
                         f"{out / 'results.xlsx'}")
    folder = out.parent
    if not folder.exists():
        # A component may be a file ("a/file.xlsx/out.xlsx"): exists() is False.
        for up in [folder, *folder.parents]:
            if up.exists() and not up.is_dir():
                raise file_error(f"{out}: cannot write there: {up} is a file, not "
                                 "a folder; choose another output path")
        raise file_error(f"{out}: the output folder {folder} does not exist; "
                         "create it or choose another output path")
    if not folder.is_dir():
        raise file_error(f"{out}: cannot write there: {folder} is a file, not a "
                         "folder; choose another output path")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".capacity-probe-")
    except OSError as exc:
        raise file_error(f"{out}: cannot write to the output folder {folder} "
                         f"({exc.strerror or exc}); choose a folder you can write to"
                         ) from None
    os.close(fd)
    os.unlink(probe)


def _lock_files(out: Path) -> list[Path]:
    name = out.name
    candidates = [f".~lock.{name}#", f"~${name}"]
    if len(name) > 2:
        candidates.append(f"~${name[2:]}")  # Office's short form for long names
    return [out.parent / c for c in candidates]


def _check_output_not_locked(out: Path) -> None:
    for lock in _lock_files(out):
        if lock.exists():
            raise file_error(f"{out}: the file is open in LibreOffice or Excel (lock "
                             f"file {lock.name} is present); close it and try again "
                             f"(if it is not open, delete {lock})")
    if out.exists():
        if not out.is_file():
            raise file_error(f"{out}: exists and is not a regular file; choose "
                             "another output path")
        try:
            with open(out, "ab"):
                pass
        except OSError as exc:
            raise file_error(f"{out}: the existing file cannot be overwritten "
                             f"({exc.strerror or exc}); close any program using it "
                             "or choose another output path") from None


# --------------------------------------------------------------------------
# Atomic output
# --------------------------------------------------------------------------

@contextlib.contextmanager
def atomic_path(path) -> Iterator[str]:
    """Yield a temporary path in ``path``'s folder; on success move it into place.

    The temp name keeps the real extension (``.NAME.XXXX.tmp.xlsx``) so writers
    that pick a format from it (pandas) still work. On any exception --
    KeyboardInterrupt included -- the temp file is removed and the exception
    re-raised; ``path`` is then untouched (old content kept, or still absent).
    """
    target = Path(os.fspath(path))
    folder = target.parent
    with tempfile.NamedTemporaryFile(dir=folder, delete=False, prefix=f".{target.name}.",
                                     suffix=".tmp" + target.suffix) as tmp:
        tmp_path = tmp.name
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        _set_mode(tmp_path, target)
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        raise
    _fsync_dir(folder)


def atomic_write(path, writer_fn: Callable[[str], T]) -> T:
    """Call ``writer_fn(tmp_path)``, fsync, then ``os.replace`` onto ``path``."""
    with atomic_path(path) as tmp_path:
        result = writer_fn(tmp_path)
    return result


def _set_mode(tmp_path: str, target: Path) -> None:
    """mkstemp makes 0600 files; give the output the mode a plain open() would."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(tmp_path, mode)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
