"""capacity.io.safety: every bad file is refused with one line naming file + reason."""

from __future__ import annotations

import os
import random
import stat
import struct
import time
import tracemalloc
import zipfile

import openpyxl
import pytest
import xlsxwriter

from capacity.io import safety
from capacity.io.errors import InputError
from capacity.io.safety import (
    CFB_MAGIC,
    atomic_write,
    check_output_path,
    check_workbook_file,
    read_member_bounded,
)

MiB = 1024 * 1024


# ---------------------------------------------------------------- helpers

def refused(path, check=check_workbook_file) -> str:
    """Run the check, assert it refuses with ONE line naming the file; return it."""
    with pytest.raises(InputError) as exc:
        check(path)
    issues = exc.value.issues
    assert len(issues) == 1
    msg = issues[0].message
    assert "\n" not in msg
    assert msg.startswith(f"{path}: "), msg
    assert "Traceback" not in str(exc.value)
    return msg


def make_xlsx(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Settings"
    ws.append(["key", "value"])
    ws.append(["weeks", 12])
    wb.save(path)
    return path


def rezip(src, dst, replace=None, add=None, stored=()):
    """Copy zip ``src`` to ``dst`` replacing/adding members; ``stored`` = no compression."""
    replace, add = replace or {}, add or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = replace.get(info.filename, zin.read(info.filename))
            ctype = zipfile.ZIP_STORED if info.filename in stored else zipfile.ZIP_DEFLATED
            zout.writestr(info.filename, data, compress_type=ctype)
        for name, data in add.items():
            ctype = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            zout.writestr(name, data, compress_type=ctype)
    return dst


def central_headers(data: bytes) -> list[int]:
    """Offsets of the central-directory headers in a zip's bytes."""
    out, pos = [], data.find(b"PK\x01\x02")
    while pos >= 0:
        out.append(pos)
        pos = data.find(b"PK\x01\x02", pos + 1)
    return out


def cfb_file(dir_names, pad_before_dir=0) -> bytes:
    """Minimal OLE2/CFB: 512-byte header, then a directory sector with names."""
    header = bytearray(512)
    header[:8] = CFB_MAGIC
    struct.pack_into("<H", header, 30, 9)  # 512-byte sectors
    first_dir = pad_before_dir // 512
    struct.pack_into("<I", header, 48, first_dir)
    sector = bytearray(512)
    for k, name in enumerate(dir_names[:4]):
        raw = name.encode("utf-16-le")
        sector[k * 128: k * 128 + len(raw)] = raw
    return bytes(header) + bytes(pad_before_dir) + bytes(sector)


BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<!DOCTYPE worksheet [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">\n'
              for i in range(1, 10))
    + ']>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
    "</sheetData></worksheet>"
).encode()


# ---------------------------------------------------------------- valid files pass

def test_openpyxl_workbook_passes(tmp_path):
    check_workbook_file(make_xlsx(tmp_path / "ok.xlsx"))


def test_xlsxwriter_workbook_passes(tmp_path):
    path = tmp_path / "ok.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Demand")
    ws.write_row(0, 0, ["week", "cases"])
    ws.write_comment(0, 0, "a comment adds a VML part")
    wb.close()
    check_workbook_file(path)
    check_workbook_file(str(path))  # str and Path alike


# ---------------------------------------------------------------- path-level

def test_missing_path(tmp_path):
    msg = refused(tmp_path / "nope.xlsx")
    assert "file not found" in msg


def test_directory(tmp_path):
    msg = refused(tmp_path)
    assert "is a folder" in msg


def test_broken_symlink(tmp_path):
    link = tmp_path / "link.xlsx"
    link.symlink_to(tmp_path / "gone.xlsx")
    assert "broken link" in refused(link)


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    assert "not a regular file" in refused(fifo)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    assert "empty (0 bytes)" in refused(path)


def test_file_over_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(safety, "MAX_FILE_BYTES", 1000)
    msg = refused(make_xlsx(tmp_path / "big.xlsx"))
    assert "KiB, over the 1000 bytes limit for an input workbook" in msg


# ---------------------------------------------------------------- not a zip

@pytest.mark.parametrize("content, expected", [
    (b"team,week,fte\nnorth,1,3.5\nsouth,1,2\n", "looks like a CSV/text file"),
    ("équipe;semaine\nnord;1\n".encode("utf-8"), "looks like a CSV/text file"),
    ("team\tweek\n".encode("utf-16"), "looks like a CSV/text file"),
    (b"just some notes about the plan\n", "looks like a plain text file"),
    (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "HTML page"),
    (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">',
     "Excel 2003 XML Spreadsheet"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF document"),
    (bytes(range(256)) * 8, "unrecognised binary content"),
])
def test_not_a_zip_is_named(tmp_path, content, expected):
    path = tmp_path / "x.xlsx"
    path.write_bytes(content)
    msg = refused(path)
    assert msg.startswith(f"{path}: not an Excel workbook (")
    assert expected in msg
    assert msg.endswith("save it as .xlsx from Excel or LibreOffice")


# ---------------------------------------------------------------- OLE2 / CFB

def test_legacy_xls(tmp_path):
    path = tmp_path / "old.xlsx"
    path.write_bytes(cfb_file(["Root Entry", "Workbook", "\x05SummaryInformation"]))
    msg = refused(path)
    assert "legacy Excel 97-2003 (.xls)" in msg and "save as .xlsx" in msg
    assert "password" not in msg


def test_encrypted_workbook(tmp_path):
    path = tmp_path / "secret.xlsx"
    path.write_bytes(cfb_file(["Root Entry", "EncryptionInfo", "EncryptedPackage"]))
    msg = refused(path)
    assert "password-protected" in msg and "remove the password" in msg
    assert ".xls)" not in msg


def test_encryption_name_across_chunk_boundary(tmp_path):
    name = "EncryptedPackage".encode("utf-16-le")
    data = bytearray(cfb_file(["Root Entry"]) + bytes(2 * MiB))
    data[MiB - 7: MiB - 7 + len(name)] = name  # straddles the 1 MiB read boundary
    path = tmp_path / "secret.xlsx"
    path.write_bytes(bytes(data))
    assert "password-protected" in refused(path)


def test_encryption_found_in_directory_sector_past_scan_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(safety, "MAX_CFB_SCAN_BYTES", 4096)
    path = tmp_path / "secret.xlsx"
    path.write_bytes(cfb_file(["Root Entry", "EncryptionInfo"], pad_before_dir=8192))
    assert "password-protected" in refused(path)


# ---------------------------------------------------------------- damaged zips

def test_truncated_zip(tmp_path):
    good = make_xlsx(tmp_path / "good.xlsx").read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(good[: len(good) // 2])
    msg = refused(path)
    assert "damaged or incomplete" in msg and "truncated" in msg


def test_bad_crc_in_workbook_part(tmp_path):
    src = make_xlsx(tmp_path / "good.xlsx")
    path = rezip(src, tmp_path / "crc.xlsx", stored={"xl/workbook.xml"})
    data = path.read_bytes()
    assert data.count(b"<sheets>") == 1
    path.write_bytes(data.replace(b"<sheets>", b"<sheetz>"))
    msg = refused(path)
    assert "damaged or incomplete" in msg and "xl/workbook.xml" in msg and "CRC" in msg


# ---------------------------------------------------------------- zips that are not workbooks

def _zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize("members, expected", [
    ({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w:document/>"},
     "Word document (.docx)"),
    ({"[Content_Types].xml": "<Types/>", "ppt/presentation.xml": "<p/>"}, "PowerPoint"),
    ({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<x/>"},
     "OpenDocument spreadsheet (.ods)"),
    ({"notes.txt": "hello", "data/a.csv": "a,b"}, "no [Content_Types].xml"),
    ({"[Content_Types].xml": "<Types/>", "xl/styles.xml": "<styleSheet/>"},
     "no xl/workbook.xml"),
])
def test_zip_that_is_not_a_workbook(tmp_path, members, expected):
    msg = refused(_zip(tmp_path / "x.xlsx", members))
    assert "not an Excel workbook" in msg and expected in msg


def test_xlsb_is_named(tmp_path):
    path = _zip(tmp_path / "x.xlsx", {"[Content_Types].xml": "<Types/>", "xl/workbook.bin": "\0"})
    assert "(.xlsb)" in refused(path)


def test_zip_level_encryption_flag(tmp_path):
    path = make_xlsx(tmp_path / "enc.xlsx")
    data = bytearray(path.read_bytes())
    for pos in central_headers(bytes(data)):
        data[pos + 8] |= 0x1
    path.write_bytes(bytes(data))
    assert "password-protected" in refused(path)


# ---------------------------------------------------------------- zip bombs

def test_zip_bomb_by_ratio_refused_without_inflating(tmp_path, monkeypatch):
    path = rezip(make_xlsx(tmp_path / "good.xlsx"), tmp_path / "bomb.xlsx",
                 add={"xl/media/zeros.xml": bytes(8 * MiB)})
    monkeypatch.setattr(safety, "read_member_bounded",
                        lambda *a, **k: pytest.fail("read a member of a zip bomb"))
    msg = refused(path)
    assert "part 'xl/media/zeros.xml' expands" in msg and "over the 200:1 limit" in msg
    assert "zip bomb" in msg


def test_small_compressible_member_is_not_a_bomb(tmp_path):
    # 512 KiB of zeros compresses >200:1 but is under RATIO_MIN_BYTES: fine.
    path = rezip(make_xlsx(tmp_path / "good.xlsx"), tmp_path / "ok.xlsx",
                 add={"xl/media/zeros.bin": bytes(512 * 1024)})
    check_workbook_file(path)


def test_zip_bomb_by_total_declared_size(tmp_path, monkeypatch):
    monkeypatch.setattr(safety, "MAX_TOTAL_UNCOMPRESSED", 1 * MiB)
    blob = random.Random(0).randbytes(2 * MiB)  # incompressible: ratio ~1
    path = rezip(make_xlsx(tmp_path / "good.xlsx"), tmp_path / "big.xlsx",
                 add={"xl/media/image1.png": blob}, stored={"xl/media/image1.png"})
    msg = refused(path)
    assert "declares 2 MiB of uncompressed content" in msg and "over the 1 MiB limit" in msg


def test_too_many_members_refused_before_loading_directory(tmp_path, monkeypatch):
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        for k in range(safety.MAX_MEMBERS + 1):
            z.writestr(f"p{k}", b"")
    monkeypatch.setattr(safety, "_open_zip", lambda name: pytest.fail("zipfile loaded it"))
    msg = refused(path)
    assert f"over the limit of {safety.MAX_MEMBERS}" in msg and "10001 parts" in msg


def test_member_count_that_lies_is_counted_from_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(safety, "MAX_MEMBERS", 20)
    path = tmp_path / "liar.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        for k in range(30):
            z.writestr(f"p{k}", b"x")
    data = bytearray(path.read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, eocd + 8, 5, 5)  # claim 5 entries
    path.write_bytes(bytes(data))
    monkeypatch.setattr(safety, "_open_zip", lambda name: pytest.fail("zipfile loaded it"))
    assert "more than 20 parts" in refused(path)


def test_overlapping_members(tmp_path):
    path = rezip(make_xlsx(tmp_path / "good.xlsx"), tmp_path / "overlap.xlsx",
                 add={"xl/media/a.bin": bytes(1000)})
    data = bytearray(path.read_bytes())
    first, last = central_headers(bytes(data))[0], central_headers(bytes(data))[-1]
    offset0 = struct.unpack_from("<I", data, first + 42)[0]
    struct.pack_into("<I", data, last + 42, offset0)  # last entry reuses first's data
    path.write_bytes(bytes(data))
    msg = refused(path)
    assert "overlap" in msg and "zip bomb" in msg


def test_read_member_bounded_stops_past_limit(tmp_path):
    path = rezip(make_xlsx(tmp_path / "good.xlsx"), tmp_path / "x.xlsx",
                 add={"xl/big.xml": b"<a>" + b"x" * 200_000 + b"</a>"})
    with zipfile.ZipFile(path) as zf:
        assert len(read_member_bounded(zf, "xl/big.xml", 10_000, truncate=True)) == 10_000
        assert read_member_bounded(zf, "xl/big.xml", 10_000, truncate=True)[:3] == b"<a>"
        assert len(read_member_bounded(zf, "xl/big.xml", 300_000)) == 200_007
        with pytest.raises(InputError) as exc:
            read_member_bounded(zf, "xl/big.xml", 10_000)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: ") and "'xl/big.xml'" in msg and "more than 10 KiB" in msg


def test_read_member_bounded_detects_size_that_lies(tmp_path):
    path = tmp_path / "liar.zip"
    _zip(path, {"a.xml": b"<a>" + b"y" * 50_000 + b"</a>"})
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, central_headers(bytes(data))[0] + 24, 10)  # claim 10 bytes
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as zf, pytest.raises(InputError) as exc:
        read_member_bounded(zf, "a.xml", MiB)
    assert "damaged" in str(exc.value) and "'a.xml'" in str(exc.value)


# ---------------------------------------------------------------- XML entity attacks

def test_billion_laughs_refused_fast_and_small(tmp_path):
    path = rezip(make_xlsx(tmp_path / "good.xlsx"), tmp_path / "lol.xlsx",
                 replace={"xl/worksheets/sheet1.xml": BILLION_LAUGHS})
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        msg = refused(path)
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "part 'xl/worksheets/sheet1.xml'" in msg
    assert "DOCTYPE/ENTITY declaration, which workbooks never need" in msg
    assert elapsed < 1.0 and peak < 8 * MiB


@pytest.mark.parametrize("part, content", [
    # DOCTYPE after a comment longer than the first 4 KiB sniff
    ("xl/worksheets/sheet1.xml",
     b'<?xml version="1.0"?><!--' + b"c" * 10_000 + b'--><!DOCTYPE x [<!ENTITY a "b">]><x/>'),
    # UTF-16 encoded part cannot hide it
    ("xl/worksheets/sheet1.xml",
     '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>'
     .encode("utf-16")),
    # external entity in the relationships part
    ("_rels/.rels",
     b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "http://x/">]><Relationships/>'),
    # a part not named .xml is scanned too
    ("xl/worksheets/sheet2.bin", b'<?xml version="1.0"?>\n<!ENTITY x "y"><x/>'),
])
def test_doctype_or_entity_refused(tmp_path, part, content):
    good = make_xlsx(tmp_path / "good.xlsx")
    with zipfile.ZipFile(good) as zf:
        where = "replace" if part in zf.namelist() else "add"
    path = rezip(good, tmp_path / "dtd.xlsx", **{where: {part: content}})
    msg = refused(path)
    assert f"part '{part}'" in msg and "DOCTYPE/ENTITY" in msg


def test_doctype_text_inside_content_is_not_refused(tmp_path):
    sheet = (b'<?xml version="1.0"?><worksheet><sheetData><row r="1"><c r="A1" '
             b't="inlineStr"><is><t>&lt;!DOCTYPE in a cell</t></is></c></row>'
             b"</sheetData></worksheet>")
    path = rezip(make_xlsx(tmp_path / "good.xlsx"), tmp_path / "ok.xlsx",
                 replace={"xl/worksheets/sheet1.xml": sheet})
    check_workbook_file(path)


def test_endless_prolog_refused(tmp_path):
    sheet = b'<?xml version="1.0"?><!--' + b"c" * (100 * 1024) + b"--><x/>"
    path = rezip(make_xlsx(tmp_path / "good.xlsx"), tmp_path / "long.xlsx",
                 replace={"xl/worksheets/sheet1.xml": sheet})
    assert "prolog runs past 64 KiB" in refused(path)


def test_exotic_declared_encoding_refused(tmp_path):
    sheet = b'<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE x+AD4-<x/>'
    path = rezip(make_xlsx(tmp_path / "good.xlsx"), tmp_path / "utf7.xlsx",
                 replace={"xl/worksheets/sheet1.xml": sheet})
    assert "unusual text encoding 'utf-7'" in refused(path)


def test_xml_part_that_is_not_xml(tmp_path):
    path = rezip(make_xlsx(tmp_path / "good.xlsx"), tmp_path / "junk.xlsx",
                 replace={"xl/styles.xml": b"\x89PNG not xml at all"})
    msg = refused(path)
    assert "part 'xl/styles.xml'" in msg and "not XML" in msg


# ---------------------------------------------------------------- output path

def test_output_ok_and_writes_nothing(tmp_path):
    inp = make_xlsx(tmp_path / "in.xlsx")
    before = sorted(os.listdir(tmp_path))
    check_output_path(tmp_path / "out.xlsx", inputs=[inp])
    existing = make_xlsx(tmp_path / "old_out.xlsx")
    check_output_path(existing, inputs=[inp])
    assert sorted(os.listdir(tmp_path)) == sorted(before + ["old_out.xlsx"])


def test_output_same_as_input(tmp_path, monkeypatch):
    inp = make_xlsx(tmp_path / "in.xlsx")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    out = "sub/../in.xlsx"
    msg = refused(out, lambda p: check_output_path(p, inputs=[inp]))
    assert "would overwrite the input" in msg and str(inp) in msg


def test_output_hard_link_to_input(tmp_path):
    inp = make_xlsx(tmp_path / "in.xlsx")
    os.link(inp, tmp_path / "alias.xlsx")
    msg = refused(tmp_path / "alias.xlsx", lambda p: check_output_path(p, inputs=[inp]))
    assert "would overwrite the input" in msg


def test_output_folder_missing(tmp_path):
    out = tmp_path / "no_such_dir" / "out.xlsx"
    msg = refused(out, check_output_path)
    assert f"the output folder {tmp_path / 'no_such_dir'} does not exist" in msg


def test_output_under_a_file(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    out = blocker / "out.xlsx"
    msg = refused(out, check_output_path)
    assert f"{blocker} is a file, not a folder" in msg


def test_output_is_a_folder(tmp_path):
    assert "is a folder" in refused(tmp_path, check_output_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_output_folder_not_writable(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert "cannot write to the output folder" in refused(ro / "o.xlsx", check_output_path)
    finally:
        ro.chmod(0o755)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_output_existing_file_not_writable(tmp_path):
    out = make_xlsx(tmp_path / "out.xlsx")
    out.chmod(0o444)
    assert "cannot be overwritten" in refused(out, check_output_path)


@pytest.mark.parametrize("lock", [".~lock.out.xlsx#", "~$out.xlsx", "~$t.xlsx"])
def test_output_open_in_office(tmp_path, lock):
    make_xlsx(tmp_path / "out.xlsx")
    (tmp_path / lock).write_text("user,host")
    msg = refused(tmp_path / "out.xlsx", check_output_path)
    assert "open in LibreOffice or Excel" in msg and lock in msg


# ---------------------------------------------------------------- atomic_write

def test_atomic_write_success_replaces(tmp_path):
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"old")

    def writer(tmp):
        assert os.path.dirname(tmp) == str(tmp_path) and tmp.endswith(".tmp.xlsx")
        assert out.read_bytes() == b"old"  # target untouched while writing
        with open(tmp, "wb") as fh:
            fh.write(b"new")
        return 42

    assert atomic_write(out, writer) == 42
    assert out.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.xlsx"]


def test_atomic_write_new_file_has_normal_mode(tmp_path):
    out = tmp_path / "out.xlsx"
    atomic_write(out, lambda tmp: open(tmp, "wb").close())
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600


@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt])
def test_atomic_write_failure_leaves_nothing(tmp_path, exc_type):
    def writer(tmp):
        with open(tmp, "wb") as fh:
            fh.write(b"partial")
        raise exc_type("boom")

    with pytest.raises(exc_type):
        atomic_write(tmp_path / "out.xlsx", writer)
    assert os.listdir(tmp_path) == []

    (tmp_path / "out.xlsx").write_bytes(b"old")
    with pytest.raises(exc_type):
        atomic_write(tmp_path / "out.xlsx", writer)
    assert os.listdir(tmp_path) == ["out.xlsx"]
    assert (tmp_path / "out.xlsx").read_bytes() == b"old"


def test_atomic_write_with_real_writer(tmp_path):
    out = tmp_path / "report.xlsx"

    def writer(tmp):
        wb = xlsxwriter.Workbook(tmp)
        wb.add_worksheet("Summary").write(0, 0, "ok")
        wb.close()

    atomic_write(out, writer)
    check_workbook_file(out)
    assert openpyxl.load_workbook(out)["Summary"]["A1"].value == "ok"
