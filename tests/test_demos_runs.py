"""A run's status: what metrics.json records, except that a "running" run whose process is gone
(killed outright, so it could not write its end) reads "incomplete (killed)"."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime

from demo_helpers import TINY
from waiting import wait_for

from learnapp.demos import runs


def test_a_run_killed_with_sigkill_reads_incomplete_killed(tmp_path):
    # unet-training's tiny config, not noise-corruption's: that one could finish before the kill.
    command = [
        sys.executable,
        "-m",
        "learnapp.cli",
        "demo",
        "unet-training",
        *TINY["unet-training"],
        "--out",
        str(tmp_path),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        record: dict = {}

        def running_or_exited() -> bool:  # the event: metrics.json saying "running" (or the process gone)
            nonlocal record
            runs_now = runs.runs_of(tmp_path, "unet-training")
            record = runs.read_record(runs_now[-1]) if runs_now else {}
            return record.get("status") == "running" or process.poll() is not None

        wait_for(running_or_exited, "the run to record itself as running", bound=120)
        assert record.get("status") == "running", process.stderr.read() if process.poll() is not None else record
        assert record["process"]["pid"] == process.pid
        assert runs.run_status(record) == "running"  # alive: what it says
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stderr.close()
    (run,) = runs.runs_of(tmp_path, "unet-training")
    record = runs.read_record(run)
    assert record["status"] == "running"  # nobody could write its end...
    assert runs.run_status(record) == runs.KILLED  # ...but it is read as what it is


def running_record(process: dict, started: datetime | None = None) -> dict:
    return {
        "status": "running",
        "process": process,
        "started": (started or datetime.now(UTC)).isoformat(timespec="seconds"),
    }


def test_a_pid_taken_over_by_another_process_reads_killed():
    me = runs.process_identity()
    assert runs.run_status(running_record(me)) == "running"
    reused = {**me, "start_ticks": me["start_ticks"] + 1}  # the same pid, a process started at another time
    assert runs.run_status(running_record(reused)) == runs.KILLED


def test_without_proc_the_start_time_comes_from_ps(monkeypatch):
    monkeypatch.setattr(runs, "_start_ticks", lambda pid: None)
    me = runs.process_identity()
    assert me["start_ticks"] is None
    assert runs.run_status(running_record(me)) == "running"
    # A run that started long before this process did cannot be this process's run.
    assert runs.run_status(running_record(me, datetime(2000, 1, 1, tzinfo=UTC))) == runs.KILLED


def test_a_gone_pid_reads_killed_and_what_cannot_be_checked_keeps_its_status():
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    gone = {**runs.process_identity(), "pid": int(finished.stdout)}
    assert runs.run_status(running_record(gone)) == runs.KILLED
    elsewhere = {**gone, "host": "another-machine"}
    assert runs.run_status(running_record(elsewhere)) == "running"  # its pid means nothing here
    assert runs.run_status({"status": "running"}) == "running"  # recorded before runs kept their pid
    assert runs.run_status({**running_record(gone), "status": "complete"}) == "complete"
    assert runs.run_status({}) == "unknown"
    garbled = {**gone, "pid": 2**80}
    assert runs.run_status(running_record(garbled)) == "running"  # nothing to check, and no crash


def test_an_unreadable_record_is_empty(tmp_path):
    assert runs.read_record(tmp_path) == {}
    (tmp_path / "metrics.json").write_bytes(b'{"status": "runn')  # cut short
    assert runs.read_record(tmp_path) == {}
    (tmp_path / "metrics.json").write_bytes(b"\xff\xfe[1, 2]")
    assert runs.read_record(tmp_path) == {}
    assert os.path.exists(tmp_path / "metrics.json")  # reading changes nothing
