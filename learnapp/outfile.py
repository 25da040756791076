"""Writing a file the learner names (an export, a chart) without ever losing one they had.

Rules: never onto the progress store (whatever `--force` says), never over an existing file
unless `force`, never onto something that is not a plain file (/dev/null, a folder), and
always whole: the bytes go to a temporary file in the same folder, are fsynced, then renamed
into place, so a kill or a full disk leaves the old file or the new one, never half of one.

Public API: `with replacing(path, force=..., protected=...) as out: out.write(b"...")`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from learnapp.errors import UserError


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # also catches hard links and symlinks to it
    except OSError:  # one of them does not exist (yet)
        return a.resolve() == b.resolve()


def check_target(path: Path, *, force: bool, protected: Iterable[Path] = ()) -> None:
    """Raise UserError if `replacing(path, ...)` would refuse, before any work is done."""
    for kept in protected:
        if _same_file(path, kept):
            named = "" if str(path) == str(kept) else f" ({kept})"
            raise UserError(f"{path} is the progress store{named}, which is never written over: choose another file")
    if path.is_dir():
        raise UserError(f"cannot write {path}: it is a folder")
    if path.exists() and not path.is_file():
        raise UserError(f"cannot write {path}: it is not a plain file")
    if (path.exists() or path.is_symlink()) and not force:
        raise UserError(f"{path} already exists; add --force to replace it")


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; some systems cannot open a folder, and that is all right."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextmanager
def replacing(path: Path, *, force: bool = False, protected: Iterable[Path] = ()) -> Iterator[IO[bytes]]:
    """A binary file that becomes `path` when the block ends without an exception."""
    path = Path(path)
    protected = tuple(protected)
    check_target(path, force=force, protected=protected)
    temporary: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
        temporary = Path(name)
        with os.fdopen(descriptor, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        if force:
            check_target(path, force=True, protected=protected)  # it may have changed meanwhile
            os.replace(temporary, path)
        else:
            _link_new(temporary, path)
        temporary = None
        _fsync_folder(path.parent)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def _link_new(temporary: Path, path: Path) -> None:
    """Put `temporary` at `path` only if nothing is there: a file made since the check survives."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise UserError(f"{path} already exists; add --force to replace it") from None
    except OSError:  # a file system without hard links (FAT, some network drives)
        if path.exists() or path.is_symlink():
            raise UserError(f"{path} already exists; add --force to replace it") from None
        os.replace(temporary, path)
        return
    temporary.unlink()
