"""`learnapp serve` in a real browser: headless Chromium (Debian's package) driven by Playwright.

The test waits on what the browser receives (the app's terminal output over the WebSocket)
and on the store, never on fixed sleeps. CI installs Chromium (.ci/run); elsewhere the test
is skipped with the command that installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from waiting import wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Debian's Chromium on a machine with no network beyond package registries: no background
# traffic, no sandbox (root in CI), no GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
if CHROMIUM is None:
    if os.environ.get("CI"):
        pytest.fail("CI must install Chromium for the browser test (apt-get install -y chromium)", pytrace=False)
    pytest.skip("needs Debian's chromium: apt-get install -y chromium", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    data = tmp_path / "data"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "learnapp.cli", "--data-dir", str(data), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for(lambda: accepts_connections(port) or process.poll() is not None, "the server to listen")
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        yield f"http://127.0.0.1:{port}", data / "progress.sqlite3"
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


def reviews_in(store: Path) -> int:
    if not store.exists():
        return 0
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        try:
            return db.execute("SELECT count(*) FROM revlog").fetchone()[0]
        except sqlite3.OperationalError:  # the app has not created its tables yet
            return 0


def test_a_review_in_the_browser_lands_in_the_store(server: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, store = server
    received = bytearray()

    def screen_shows(text: str) -> bool:
        page.wait_for_timeout(50)  # lets Playwright deliver pending WebSocket frames
        return text.encode() in received

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on(
                "websocket",
                lambda ws: ws.on(
                    "framereceived",
                    lambda frame: received.extend(frame if isinstance(frame, bytes) else frame.encode()),
                ),
            )
            page.goto(url)
            wait_for(lambda: screen_shows("Multiple choice"), "the home screen")
            page.locator("#terminal").click()
            page.keyboard.press("Enter")
            wait_for(lambda: screen_shows("Show answer"), "a card")
            page.keyboard.press(" ")
            wait_for(lambda: screen_shows("Good"), "the rating buttons")
            page.keyboard.press("3")
            wait_for(lambda: reviews_in(store) == 1, "the review in the store")
            page.screenshot(path=str(tmp_path / "browser-review.png"))
        finally:
            browser.close()
    assert (tmp_path / "browser-review.png").stat().st_size > 0
