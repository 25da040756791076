"""`learnapp serve`: the same app in a browser, through textual-serve.

textual-serve starts one `learnapp` process per browser tab and relays its terminal over a
WebSocket; every tab and any terminal session share the learner's store, which is built for
several writers. There is no authentication: by default only this machine can connect.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys
from pathlib import Path

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    """True when only this machine can reach `host`."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def app_command(data_dir: Path) -> str:
    """The shell command textual-serve runs for each browser tab: this Python, this data dir."""
    return shlex.join([sys.executable, "-m", "learnapp.cli", "--data-dir", str(data_dir)])


def serve(data_dir: Path, host: str, port: int) -> None:
    """Serve until interrupted (Ctrl-C)."""
    from textual_serve.server import Server

    if not is_loopback(host):
        print(
            f"learnapp: warning: serving on {host}, reachable from other machines, with no "
            "authentication: anyone who can connect can review as you.",
            file=sys.stderr,
        )
    Server(app_command(data_dir), host=host, port=port, title="learnapp").serve()
