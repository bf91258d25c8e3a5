"""The map page in real headless Chromium: it loads, draws the towers, receives a live alert
over SSE and acknowledges it. The screenshot goes to $PERIMETER_TEST_ARTIFACTS (else tmp)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cdp import Browser, find_chromium
from conftest import TOKEN, Live, alert_event
from requirements import unavailable

from perimeter import topics
from perimeter.bus import Message

pytestmark = pytest.mark.integration


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        unavailable("chromium is not installed (.ci/run installs Debian's chromium)")
    opened = Browser(binary, tmp_path / "profile")
    try:
        yield opened
    finally:
        opened.close()


def test_map_shows_towers_live_alert_and_acknowledges(live: Live, browser: Browser,
                                                       tmp_path: Path) -> None:
    live.bus.publish(Message(topics.tower_status("T05"), json.dumps(
        {"tower_id": "T05", "state": "offline"}).encode(), retain=True))
    browser.call("Page.enable")
    browser.call("Page.navigate", url=f"{live.url}/")
    assert browser.wait_for("document.querySelectorAll('[data-tower]').length") == 12
    assert browser.evaluate(
        "document.querySelector('[data-tower=T05]').getAttribute('class')") == "tower offline"
    browser.wait_for("document.getElementById('feed-state').textContent === 'live'")

    for i in range(3):  # a track moving west: a dot and its trail
        live.bus.publish(Message(topics.TRACKS, json.dumps({"t_s": 1000.0 + i, "tracks": [
            {"track_id": "k-000001", "status": "confirmed", "class": "person",
             "position": {"x_m": 3000.0 - 100 * i, "y_m": -500.0},
             "velocity": {"vx_mps": -1.4, "vy_mps": 0.0}}]}).encode()))
        browser.wait_for(f"document.querySelector('#layer-tracks circle')?.getAttribute('cx')"
                         f" === '{3000 - 100 * i}'")
    assert browser.evaluate("document.querySelectorAll('#layer-trails polyline').length") == 1

    live.raise_alert(alert_event("a-000042", distance_to_perimeter_m=2100.0))
    text = browser.wait_for("document.querySelector('[data-alert=\"a-000042\"]')?.textContent")
    assert "person" in text and "high" in text
    assert browser.evaluate("document.querySelectorAll('#layer-origins ellipse').length") == 1

    browser.evaluate(f"window.prompt = () => {json.dumps(TOKEN)}")
    browser.evaluate("document.querySelector('[data-alert=\"a-000042\"] button').click()")
    browser.wait_for("document.querySelector('[data-alert=\"a-000042\"] .acked') !== null")
    record = live.store.get_alert("a-000042")
    assert record is not None and record.acked_by == "bootstrap-admin"

    artifacts = Path(os.environ.get("PERIMETER_TEST_ARTIFACTS", tmp_path))
    artifacts.mkdir(parents=True, exist_ok=True)
    browser.screenshot(artifacts / "map-page.png")
    assert (artifacts / "map-page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
