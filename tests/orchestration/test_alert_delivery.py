"""Webhook delivery against real loopback receivers that redirect, answer slowly or hang: every
alert arrives exactly once, and a slow receiver never stretches a run past the delivery window."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from orchestration.alerts.notifier import Notifier, deliver_pending
from orchestration.alerts.outbox import Outbox
from tests.orchestration.test_alerts import alert


class Receiver:
    """Records (method, Idempotency-Key, body) of each request it answered; `mode` sets how."""

    def __init__(self, mode: str = "ok", delay: float = 0.0, redirect_to: str = "") -> None:
        self.mode, self.delay, self.redirect_to = mode, delay, redirect_to
        self.requests: list[tuple[str, str | None, dict | None]] = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                return

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                if outer.mode == "hung":  # never answers; what it got is not taken in
                    outer.release.wait(30)
                    return
                time.sleep(outer.delay)
                outer.requests.append((method, self.headers.get("Idempotency-Key"), body))
                if outer.mode == "redirect":
                    self.send_response(301)
                    self.send_header("Location", outer.redirect_to)
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:  # noqa: N802
                self._answer("POST")

            def do_GET(self) -> None:  # noqa: N802
                self._answer("GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook/s3cr3t"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_a_redirect_is_a_failed_delivery_kept_pending_and_names_the_target(
    tmp_path: Path, receivers
):
    final = receivers()
    moved = receivers(mode="redirect", redirect_to=final.url.replace("127.0.0.1", "localhost"))
    outbox = Outbox(tmp_path / "alerts.sqlite")
    for key in ("a1", "a2", "a3", "a4"):
        outbox.add(alert(key, value=key))
    report = deliver_pending(outbox, Notifier(moved.url))
    assert (report.delivered, report.failed) == (0, 4)
    assert "HTTP 301, a redirect to localhost" in report.errors[0]
    assert "s3cr3t" not in " ".join(report.errors)
    assert final.requests == []  # no body-less GET anywhere
    assert outbox.counts() == {"pending": 4}
    # The user points the URL at the final address: each alert arrives once, as a POST.
    assert deliver_pending(outbox, Notifier(final.url)).delivered == 4
    assert sorted((m, k) for m, k, _ in final.requests) == [
        ("POST", k) for k in ("a1", "a2", "a3", "a4")
    ]
    assert all(body["dedup_key"] == key for _, key, body in final.requests)


def test_a_slow_receiver_within_the_timeout_gets_each_alert_once(tmp_path: Path, receivers):
    slow = receivers(delay=1.5)
    outbox = Outbox(tmp_path / "alerts.sqlite")
    outbox.add(alert("s1"))
    outbox.add(alert("s2", value="search"))
    notifier = Notifier(slow.url, timeout_seconds=5, window_seconds=30)
    assert deliver_pending(outbox, notifier).delivered == 2
    assert deliver_pending(outbox, notifier).delivered == 0
    assert [k for _, k, _ in slow.requests] == ["s1", "s2"]


def test_a_hung_receiver_costs_one_window_then_each_alert_arrives_once(tmp_path: Path, receivers):
    hung = receivers(mode="hung")
    outbox = Outbox(tmp_path / "alerts.sqlite")
    keys = [f"h{i}" for i in range(6)]
    for key in keys:
        outbox.add(alert(key, value=key))
    started = time.monotonic()
    report = deliver_pending(outbox, Notifier(hung.url, timeout_seconds=1, window_seconds=2.5))
    elapsed = time.monotonic() - started
    assert elapsed < 4, elapsed  # six alerts, each timing out after 1 s: bounded by the window
    assert report.delivered == 0 and report.failed + report.deferred == 6
    assert outbox.counts() == {"pending": 6}
    healthy = receivers()
    assert deliver_pending(outbox, Notifier(healthy.url)).delivered == 6
    assert deliver_pending(outbox, Notifier(healthy.url)).delivered == 0
    assert sorted(k for _, k, _ in healthy.requests) == keys
