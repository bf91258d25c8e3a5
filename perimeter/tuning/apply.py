"""Send a recommendation to a running API: ``PATCH /api/v1/config/thresholds`` with the token."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

from perimeter.tuning.recommend import Recommendation

THRESHOLDS_PATH = "/api/v1/config/thresholds"
TOKEN_VARIABLE = "PERIMETER_API_TOKEN"


class ApplyError(RuntimeError):
    """The API refused or could not be reached; the message says which and why."""


def thresholds_url(url: str) -> str:
    """The thresholds endpoint of an API base URL (``http://host:8000``) or the URL itself."""
    base = url.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ApplyError(f"--apply: expected an http(s) URL, got {url!r}")
    return base if base.endswith(THRESHOLDS_PATH) else base + THRESHOLDS_PATH


def _message(response: httpx.Response) -> str:
    try:
        detail = response.json().get("error", {})
        return str(detail.get("message") or response.text)
    except (ValueError, AttributeError):
        return response.text[:200]


def apply_thresholds(url: str, changes: Mapping[str, Any], *, token: str | None = None,
                     client: httpx.Client | None = None,
                     timeout_s: float = 10.0) -> dict[str, Any]:
    """PATCH ``changes`` (public names); returns the thresholds now in force.

    ``token`` defaults to ``$PERIMETER_API_TOKEN`` (an admin operator's token works too); the
    API audits the change under the name the token belongs to.
    """
    if not changes:
        raise ApplyError("--apply: there is no recommendation to send")
    bearer = token if token is not None else os.environ.get(TOKEN_VARIABLE, "")
    if not bearer:
        raise ApplyError(f"--apply: set {TOKEN_VARIABLE} to the API's bearer token")
    headers = {"Authorization": f"Bearer {bearer}"}
    target = thresholds_url(url)
    own = client is None
    http = client or httpx.Client(timeout=timeout_s)
    try:
        response = http.patch(target, json=dict(changes), headers=headers)
    except httpx.HTTPError as exc:
        raise ApplyError(f"--apply: cannot reach {target}: {exc}") from None
    finally:
        if own:
            http.close()
    if response.status_code != 200:
        raise ApplyError(f"--apply: {target} answered {response.status_code}: "
                         f"{_message(response)}")
    result = response.json()
    if not isinstance(result, dict):
        raise ApplyError(f"--apply: {target} answered with no thresholds object")
    return result


def apply_recommendation(url: str, choice: Recommendation, *, force: bool = False,
                         token: str | None = None,
                         client: httpx.Client | None = None) -> dict[str, Any]:
    """:func:`apply_thresholds` of ``choice``, refused (``ApplyError``) when the sample cannot
    separate it from the current thresholds (``choice.warning``) unless ``force``."""
    if choice.warning is not None and not force:
        raise ApplyError(f"--apply: refused: {choice.warning}; pass --force to apply it anyway")
    return apply_thresholds(url, choice.thresholds, token=token, client=client)
