import json

import httpx
import pytest

from perimeter.tuning.apply import ApplyError, apply_thresholds, thresholds_url


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
