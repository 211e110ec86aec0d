"""Refuse input files that are not safe, valid workbooks -- before any parsing.

:func:`check_workbook_file` runs a fixed sequence of cheap, bounded checks on
an input path and raises :func:`capacity.io.errors.file_error` (an
:class:`~capacity.io.errors.InputError` carrying one file-level issue) on the
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
    The prolog itself is walked by :mod:`capacity.io.xml_prolog`.

Output paths (:func:`check_output_path`, :func:`make_output_folder`,
:func:`atomic_write`, :func:`atomic_path`) live in :mod:`capacity.io.output_paths`
and are re-exported here, so ``capacity.io.safety`` still offers both.
"""

from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib

from capacity.io.errors import InputError, file_error
from capacity.io.output_paths import (  # noqa: F401  re-exported: capacity.io.safety offers both
    atomic_path,
    atomic_write,
    check_output_path,
    make_output_folder,
)
from capacity.io.xml_prolog import XML_ENCODINGS, prolog_problem  # noqa: F401  re-exported

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
            problem = prolog_problem(data, complete=len(data) < limit)
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
