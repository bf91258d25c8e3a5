"""The console page in a real browser: Playwright driving Debian's Chromium against the API
served by uvicorn. Screenshots go to $PERIMETER_TEST_ARTIFACTS, else tmp/artifacts in the
checkout (gitignored)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Live, alert_event
from requirements import unavailable

from perimeter import topics
from perimeter.bus import Message

playwright_api = pytest.importorskip("playwright.sync_api")
Page = playwright_api.Page
expect = playwright_api.expect

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("PERIMETER_TEST_ARTIFACTS",
                                Path(__file__).resolve().parents[2] / "tmp" / "artifacts"))
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        unavailable("chromium is not installed (.ci/run installs Debian's chromium)")
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: playwright_api.Browser, live: Live) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1500, "height": 900})
    opened = context.new_page()
    said: list[str] = []  # the page's console and errors, to tell why when a test fails
    opened.on("console", lambda m: said.append(f"{m.type}: {m.text}"))
    opened.on("pageerror", lambda e: said.append(f"error: {e}"))
    opened.on("requestfailed", lambda r: said.append(f"failed: {r.url} {r.failure}"))
    opened.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    for attempt in (1, 2):
        # Chromium aborts loads with net::ERR_NETWORK_CHANGED when the machine's interfaces
        # change (other processes here make and drop them): such a load is tried once more
        opened.goto(f"{live.url}/")
        try:
            expect(opened.locator("#feed-state")).to_have_text("live")
            break
        except AssertionError as exc:
            if attempt == 2 or not any("ERR_NETWORK_CHANGED" in line for line in said):
                raise AssertionError(f"{exc}\npage said: {said}") from None
            said.clear()
    yield opened
    context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))
    assert (ARTIFACTS / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def login(page: Page, token: str) -> None:
    page.click("#login-open")
    page.fill("#token", token)
    page.click("#login-submit")
    expect(page.locator("#login")).not_to_be_visible()


def tracks(live: Live, t_s: float, x_m: float) -> None:
    live.bus.publish(Message(topics.TRACKS, json.dumps({"t_s": t_s, "tracks": [
        {"track_id": "k-000001", "status": "confirmed", "class": "person",
         "class_confidence": 0.9, "position": {"x_m": x_m, "y_m": -500.0},
         "velocity": {"vx_mps": -1.4, "vy_mps": 0.0}}]}).encode()))


def test_page_loads_with_legend_towers_tracks_and_the_simulated_clock(page: Page,
                                                                     live: Live) -> None:
    legend = page.locator("#legend")
    expect(legend).to_contain_text("perimeter")
    expect(legend).to_contain_text("track: person")
    expect(legend).to_contain_text("origin: entered view")
    expect(page.locator("[data-tower]")).to_have_count(12)
    expect(page.locator("#simulated")).to_contain_text("SIMULATED")
    live.bus.publish(Message(topics.tower_status("T05"), json.dumps(
        {"tower_id": "T05", "state": "offline"}).encode(), retain=True))
    expect(page.locator("[data-tower-row=T05] .state")).to_have_text("offline")
    expect(page.locator("[data-tower=T05]")).to_have_class(re.compile(r"\btower offline\b"))
    for t_s, tower in ((1000.0, "T05"), (1000.5, "T06"), (1030.0, "T06")):  # T05 goes quiet
        report = {"tower_id": tower, "sensor": "thermal", "seq": int(t_s), "t_s": t_s}
        live.bus.publish(Message(topics.sensor(tower, "thermal"), json.dumps(report).encode()))
    expect(page.locator("[data-tower-row=T05] td").nth(2)).to_have_text("silent 30 s")
    for i in range(3):  # a walker: its icon and its trail
        tracks(live, 1768514400.0 + i, 3000.0 - 100 * i)
        expect(page.locator("#sim-clock")).to_have_text(
            f"sim time 2026-01-15 22:00:0{i} UTC")
    expect(page.locator("[data-track=k-000001]")).to_have_text("P")
    expect(page.locator("[data-trail=k-000001]")).to_have_count(1)
    shot(page, "console-loaded.png")
    before_px = tower_span_px(page)
    page.click(".leaflet-control-zoom-in")  # Leaflet's zoom on the local frame: towers spread
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while tower_span_px(page) < 1.5 * before_px:
        assert time.monotonic() < deadline, "zooming in did not spread the towers"
        page.wait_for_timeout(100)


def tower_span_px(page: Page) -> float:
    """Screen distance between towers T01 and T12."""
    a = page.locator("[data-tower=T01]").bounding_box()
    b = page.locator("[data-tower=T12]").bounding_box()
    assert a is not None and b is not None
    return float(abs(b["y"] - a["y"]) + abs(b["x"] - a["x"]))


def test_new_alarm_ack_and_resolve_as_the_logged_in_operator(page: Page, live: Live) -> None:
    _, token = live.store.operators.add("olga", "operator", 0.0)
    login(page, token)
    expect(page.locator("#who")).to_have_text("olga (operator)")
    tracks(live, 1000.0, 2300.0)
    entered = {"x_m": 3100.0, "y_m": -600.0, "t_s": 940.0, "sigma_major_m": 80.0,
               "sigma_minor_m": 30.0, "orientation_deg": 80.0, "observed": False}
    live.raise_alert(alert_event("a-000042", severity="critical", distance_to_perimeter_m=2100.0,
                                 origin=entered))
    item = page.locator('[data-alert="a-000042"]')
    expect(item).to_contain_text("person · critical")
    expect(item).to_have_class(re.compile(r"\balarm\b"))
    expect(page.locator("body")).to_have_attribute("data-alarms", "1")
    expect(page.locator("#top")).to_have_class(re.compile(r"\bflash\b"))
    expect(page.locator("#unacked")).to_have_text("1 unacknowledged")
    expect(page.locator('[data-origin="a-000042"]')).to_have_count(1)

    for i in (1, 2):  # updates that change nothing an operator reads: one history line
        live.raise_alert(alert_event("a-000042", "update", 1000.0 + 5 * i, severity="critical",
                                     origin=entered))
    page.locator("[data-track=k-000001]").click()  # from the track to its alert
    expect(page.locator("#detail-title")).to_have_text("a-000042 · person · critical")
    expect(page.locator("#detail-facts")).to_contain_text("entered view")
    expect(page.locator("[data-ray]")).to_have_count(2)  # T03 and T04
    expect(page.locator("#detail-history li").first).to_have_text(
        "00:16:40 new: person critical")
    expect(page.locator("#detail-history li").nth(1)).to_have_text(
        "00:16:45 update ×2 to 00:16:50: person critical")
    page.click("#ack")
    expect(item).to_contain_text("acknowledged by olga")
    expect(page.locator("#unacked")).to_have_text("0 unacknowledged")
    shot(page, "console-acknowledged.png")

    page.select_option("#disposition", "false_alarm")
    page.fill("#resolve-comment", "heat shimmer over the gully")
    page.click("#resolve")
    expect(page.locator("#detail-facts")).to_contain_text("resolved: false_alarm by olga")
    expect(item).to_have_count(0)  # out of the queue
    expect(page.locator("#detail-history")).to_contain_text(
        "resolved as false_alarm by olga: “heat shimmer over the gully”")
    record = live.store.get_alert("a-000042")
    assert record is not None
    assert (record.acked_by, record.resolved_by, record.disposition, record.status) == (
        "olga", "olga", "false_alarm", "resolved")
    shot(page, "console-resolved.png")

    page.click("#mute")  # muted: a new critical alarm flashes but makes no sound
    expect(page.locator("#mute")).to_have_attribute("aria-pressed", "true")
    beeps = page.locator("body").get_attribute("data-beeps")
    live.raise_alert(alert_event("a-000043", t_s=1001.0, severity="critical"))
    expect(page.locator("body")).to_have_attribute("data-alarms", "2")
    assert page.locator("body").get_attribute("data-beeps") == beeps


def test_a_viewer_reads_but_is_refused_actions(page: Page, live: Live) -> None:
    _, token = live.store.operators.add("vic", "viewer", 0.0)
    live.raise_alert(alert_event("a-000007", severity="high"))
    login(page, token)
    page.locator('[data-alert="a-000007"]').click()
    expect(page.locator("#role-note")).to_have_text("vic is a viewer: read only")
    expect(page.locator("#ack")).to_be_disabled()
    expect(page.locator("#resolve")).to_be_disabled()
    page.evaluate("document.getElementById('ack').disabled = false")  # the server decides
    page.click("#ack")
    expect(page.locator("#action-error")).to_contain_text(
        "vic is a viewer; acknowledging, resolving and commenting on alerts needs the role "
        "operator")
    record = live.store.get_alert("a-000007")
    assert record is not None and not record.acked
    shot(page, "console-viewer-refused.png")


def test_a_bad_threshold_shows_its_error_and_a_change_rolls_back(page: Page,
                                                                 live: Live) -> None:
    _, token = live.store.operators.add("ada", "admin", 0.0)
    login(page, token)
    page.click("#thresholds-panel summary")
    coast = page.locator('[data-threshold="track.max_coast_s"]')
    expect(coast).to_be_enabled()
    coast.fill("5000")
    page.click("#thresholds-apply")
    expect(page.locator("#thresholds-error")).to_contain_text(
        "track.max_coast_s: must be a number in [1, 600], got 5000")
    expect(coast).to_have_class(re.compile(r"\bbad\b"))
    shot(page, "console-threshold-error.png")
    coast.fill("45")
    page.click("#thresholds-apply")
    expect(page.locator("#thresholds-history li")).to_have_count(1)
    expect(page.locator("#thresholds-history")).to_contain_text("by ada: track.max_coast_s=45")
    coast.fill("90")
    page.click("#thresholds-apply")
    expect(page.locator("#thresholds-history li")).to_have_count(2)
    page.locator("#thresholds-history li").last.get_by_role("button").click()
    expect(page.locator("#thresholds-history li")).to_have_count(3)
    expect(coast).to_have_value("45")


def test_a_resolved_alert_stays_out_of_the_queue_when_fusion_updates_it(page: Page,
                                                                         live: Live) -> None:
    live.raise_alert(alert_event("a-000050", severity="high"))
    live.store.resolve("a-000050", "olga", 1.0, "nuisance")
    page.reload()
    expect(page.locator("#feed-state")).to_have_text("live")
    live.raise_alert(alert_event("a-000050", "update", 1010.0, severity="critical"))
    live.raise_alert(alert_event("a-000051", t_s=1011.0))  # after it on the same feed
    expect(page.locator('[data-alert="a-000051"]')).to_have_count(1)
    expect(page.locator('[data-alert="a-000050"]')).to_have_count(0)
    assert page.locator("body").get_attribute("data-alarms") is None  # no alarm either
