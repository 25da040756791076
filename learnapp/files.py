"""Writing a learner-visible file safely: through a temporary file and a rename, never over an
existing file unless asked to."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from learnapp.errors import UserError


def replace_atomically(path: Path, write: Callable[[Path], None], force: bool = False) -> None:
    """Call `write(temporary)` and rename the result to `path`.

    A reader never sees half a file, and a crash leaves the old file (or none). An existing
    `path` is refused unless `force`; a directory is always refused.
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a directory")
    if path.exists() and not force:
        raise UserError(f"{path} already exists; pass --force to replace it")
    temporary = path.with_name(f".{path.name}.partial")
    try:
        write(temporary)
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
