"""Output paths: check them before the long solve, write them atomically.

:func:`make_output_folder` creates the default output folder;
:func:`check_output_path` checks, before the long solve, that an output path
can be written (not an input, folder exists and is writable, not open in
LibreOffice/Excel); :func:`atomic_write` (and :func:`atomic_path`) write
outputs via a temporary file in the same folder so that a failed or
interrupted write never leaves a partial file.

Problems raise :func:`capacity.io.errors.file_error`, like the input-file checks
in :mod:`capacity.io.safety`, which re-exports everything public here.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

from capacity.io.errors import file_error

T = TypeVar("T")


# --------------------------------------------------------------------------
# Output path
# --------------------------------------------------------------------------

def default_output(input_path: Path, suffix: str = "plan") -> Path:
    """Where a command writes by default: ``outputs/<input stem>-<suffix>.xlsx``."""
    return Path("outputs") / f"{Path(input_path).stem}-{suffix}.xlsx"


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
