"""Where runs live, `<runs dir>/<demo>/<YYYYmmdd-HHMMSS>[-N]/`, and what state each is in. Torch-free, for the app.

Every run gets a folder of its own (a suffix keeps two runs in the same second apart) and
never writes outside it, so earlier runs are never overwritten.

A run's metrics.json says "running" from its start until it ends "complete" or "incomplete";
a process killed with SIGKILL (or by a power cut, or the OOM killer) cannot write that end. So
the record also names the process (`process_identity`: pid, host, start time), and
`run_status` reads a "running" run whose process is gone, or whose pid now belongs to another
process, as "incomplete (killed)". Read a run's status only through `run_status`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from learnapp.errors import UserError

KILLED = "incomplete (killed)"


def new_run_dir(base: Path, demo: str, now: datetime | None = None) -> Path:
    """Create and return `base/<demo>/<YYYYmmdd-HHMMSS>[-N]`, a folder no other run has used."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    parent = base / demo
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 1000):
            folder = parent / (stamp if attempt == 1 else f"{stamp}-{attempt}")
            try:
                folder.mkdir()  # fails if it exists: the atomic claim on the name
                return folder
            except FileExistsError:
                continue
    except OSError as exc:
        raise UserError(f"cannot create a run folder under {parent}: {exc.strerror or exc}") from None
    raise UserError(f"too many runs of {demo} in the same second under {parent}")


def runs_of(base: Path, demo: str) -> list[Path]:
    """Every run folder of `demo`, oldest first (the names sort by time)."""
    folder = base / demo
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_dir()), key=_order)


def latest_run(base: Path, demo: str) -> Path | None:
    runs = runs_of(base, demo)
    return runs[-1] if runs else None


def _order(path: Path) -> tuple[str, int]:
    # "20261126-063015-2" is the second run in that second: after "20261126-063015", before "-10"
    suffix = path.name[16:]
    return path.name[:15], int(suffix) if suffix.isdigit() else 1


def read_record(run: Path) -> dict[str, Any]:
    """The run's metrics.json, or {} when it is missing or unreadable (a run that died at its first write)."""
    try:
        record = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def run_status(record: dict[str, Any]) -> str:
    """ "complete", "incomplete", "running", "incomplete (killed)" (recorded "running", but its
    process is gone) or "unknown", for a record from `read_record`."""
    status = str(record.get("status", "unknown"))
    if status == "running" and _process_gone(record.get("process"), record.get("started")):
        return KILLED
    return status


def process_identity() -> dict[str, Any]:
    """This process, as a run records it: enough to tell later whether it still runs."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "start_ticks": _start_ticks(os.getpid())}


def _process_gone(process: Any, started: Any) -> bool:
    if not isinstance(process, dict) or not isinstance(process.get("pid"), int) or process["pid"] <= 0:
        return False  # a record from before pids were kept: nothing to check against
    if process.get("host") != socket.gethostname() or sys.platform == "win32":
        return False  # another machine's pid says nothing here (and Windows' os.kill would end the process)
    pid = process["pid"]
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        pass
    except (OverflowError, OSError):  # no pid this system could have: a garbled record
        return False
    recorded, now = process.get("start_ticks"), _start_ticks(pid)
    if recorded is not None and now is not None:
        return recorded != now  # the pid was reused by a process started later
    return _started_after(pid, started)


def _start_ticks(pid: int) -> int | None:
    """When the process started, in clock ticks since boot (Linux: /proc/<pid>/stat field 22); None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return int(stat.rsplit(")", 1)[1].split()[19])  # fields after the command name start at field 3
    except (OSError, IndexError, ValueError):
        return None


def _started_after(pid: int, started: Any) -> bool:
    """Without /proc: whether process `pid` started after the run did (so it is not the run's process),
    from the elapsed time `ps` reports. False when either time is unknown."""
    try:
        run_started = datetime.fromisoformat(str(started))
        elapsed = subprocess.run(
            ["ps", "-o", "etime=", "-p", str(pid)], capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
        days, _, clock = elapsed.rpartition("-")
        seconds = 0
        for part in clock.split(":"):
            seconds = seconds * 60 + int(part)
        seconds += 86_400 * int(days or 0)
    except (OSError, ValueError, subprocess.SubprocessError):
        return False
    process_started = datetime.now(UTC) - timedelta(seconds=seconds)
    return process_started > run_started + timedelta(seconds=2)  # "started" is rounded down to the second
