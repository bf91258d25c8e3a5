import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from perimeter.bus import InMemoryBus
from perimeter.config import ApiSettings
from perimeter.tuning.apply import ApplyError, apply_thresholds, thresholds_url
from services.api import create_app


def _client(seen: list[httpx.Request], status: int = 200) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if status != 200:
            return httpx.Response(status, json={"error": {"message": "bad token"}})
        return httpx.Response(200, json={"thermal.min_snr_db": 9.0, "alert.min_confidence": 0.6})
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_patch_carries_the_changes_and_the_bearer_token() -> None:
    seen: list[httpx.Request] = []
    now = apply_thresholds("http://api:8000/", {"thermal.min_snr_db": 9.0}, token="s3cret",
                           client=_client(seen))
    (request,) = seen
    assert request.method == "PATCH"
    assert str(request.url) == "http://api:8000/api/v1/config/thresholds"
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert json.loads(request.content) == {"thermal.min_snr_db": 9.0}
    assert now["thermal.min_snr_db"] == 9.0


def test_refusals_and_missing_inputs_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ApplyError, match="401: bad token"):
        apply_thresholds("http://api", {"thermal.min_snr_db": 9.0}, token="x",
                         client=_client([], status=401))
    monkeypatch.delenv("PERIMETER_API_TOKEN", raising=False)
    with pytest.raises(ApplyError, match="PERIMETER_API_TOKEN"):
        apply_thresholds("http://api", {"thermal.min_snr_db": 9.0})
    with pytest.raises(ApplyError, match="no recommendation"):
        apply_thresholds("http://api", {}, token="x")
    with pytest.raises(ApplyError, match="http"):
        thresholds_url("api:8000")


def test_the_real_api_takes_the_recommendation_and_refuses_a_wrong_token(
        tmp_path: Path, free_port: Callable[[], int]) -> None:
    settings = ApiSettings(db_url=f"sqlite:///{tmp_path / 'api.db'}",
                           api_token=SecretStr("tune-token"), site="western-heights",
                           cors_origins=[])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, bus=InMemoryBus()),
                                           host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    try:
        now = apply_thresholds(url, {"alert.min_confidence": 0.85}, token="tune-token")
        assert now["alert.min_confidence"] == 0.85
        with httpx.Client(base_url=url) as client:
            current = client.get("/api/v1/config/thresholds").json()
            history = client.get("/api/v1/config/thresholds/history").json()["items"]
        assert current["alert.min_confidence"] == 0.85
        assert history[0]["by"] == "bootstrap-admin"  # whom the token names
        with pytest.raises(ApplyError, match=r"answered 40[13]"):
            apply_thresholds(url, {"alert.min_confidence": 0.5}, token="wrong")
    finally:
        server.should_exit = True
        thread.join(10.0)


def test_an_inseparable_recommendation_is_refused_unless_forced() -> None:
    from perimeter.tuning.apply import apply_recommendation
    from perimeter.tuning.recommend import recommend
    from tests.tuning.synth import point

    tied = recommend([point(0, 0, 1, 0.5, current=True), point(1, 1, 1, 0.0)], 1.0)
    assert tied.warning is not None and tied.point is not None and tied.point.index == 1
    seen: list[httpx.Request] = []
    with pytest.raises(ApplyError, match=r"refused: the sample cannot separate.*--force"):
        apply_recommendation("http://api", tied, token="x", client=_client(seen))
    assert seen == []  # nothing was sent
    apply_recommendation("http://api", tied, force=True, token="x", client=_client(seen))
    assert len(seen) == 1 and json.loads(seen[0].content) == tied.thresholds
