"""`learnapp serve`: loopback by default, a warning elsewhere, one-line errors."""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys

import pytest

from learnapp.serve import app_command, is_loopback


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.org", False),
        ("::", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_each_tab_runs_this_python_on_the_learners_data_dir(tmp_path) -> None:
    command = shlex.split(app_command(tmp_path / "my data"))
    assert command[:3] == [sys.executable, "-m", "learnapp.cli"]
    assert command[3:] == ["--data-dir", str(tmp_path / "my data")]


@pytest.mark.parametrize("port", ["0", "70000", "-1"])
def test_a_bad_port_is_one_line(run_cli, port: str) -> None:
    result = run_cli("serve", "--port", port)
    assert result.returncode == 2
    assert result.stderr.startswith("learnapp: error: --port") and result.stderr.count("\n") == 1


def test_a_port_in_use_is_one_line(run_cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_cli("serve", "--port", taken.getsockname()[1], timeout=60)
    assert result.returncode == 2 and "cannot serve" in result.stderr and "Traceback" not in result.stderr


def test_any_other_address_warns_that_there_is_no_authentication(tmp_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "learnapp.cli",
            "--data-dir",
            str(tmp_path),
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = process.stderr.readline()  # printed before the server starts
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert "warning" in first_line and "no authentication" in first_line
