"""Hostile variants of a valid sensor report, each with the rejection reason fusion must give.

``MUTATIONS[name](report, topic, draw)`` returns ``(message, reason)``: ``reason`` is the
``rejected:<reason>`` counter the runner must bump (``duplicates`` for a repeat, ``None`` when
the message must be accepted). ``draw(lo, hi)`` supplies the randomness (hypothesis or numpy).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from perimeter import topics
from perimeter.bus import Message
from perimeter.contract import MAX_PAYLOAD_BYTES

Report = dict[str, Any]
Draw = Callable[[float, float], float]
Mutation = Callable[[Report, str, Draw], tuple[Message, str | None]]

FAR_S = 1.0e4
"""Past this many seconds from the data time a timestamp is 'far' (gate: +300 s, -120 s)."""


def _msg(topic: str, payload: Report | bytes) -> Message:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Message(topic, raw)


def _detection(draw: Draw, **override: Any) -> dict[str, Any]:
    return {"bearing_deg": draw(0.0, 359.9), "bearing_sigma_deg": 0.5, "snr_db": 20.0,
            **override}


def random_bytes(report: Report, topic: str, draw: Draw) -> tuple[Message, str | None]:
    n = int(draw(0, 300))
    return Message(topic, bytes(int(draw(0, 255)) for _ in range(n)) + b"\x00"), "bad_payload"


def invalid_utf8(report: Report, topic: str, draw: Draw) -> tuple[Message, str | None]:
    raw = json.dumps(report).encode()
    cut = int(draw(1, len(raw) - 1))
    return Message(topic, raw[:cut] + b"\xff\xfe\xc3" + raw[cut:]), "bad_payload"


def wrong_type(report: Report, topic: str, draw: Draw) -> tuple[Message, str | None]:
    field = ("seq", "t_s", "detections", "tower_id", "sensor")[int(draw(0, 4.99))]
    junk = ([1, 2], {"a": 1}, "seven!", None)[int(draw(0, 3.99))]
    return _msg(topic, {**report, field: junk}), "bad_payload"


def non_finite(report: Report, topic: str, draw: Draw) -> tuple[Message, str | None]:
    token = ("NaN", "Infinity", "-Infinity", "1e999")[int(draw(0, 3.99))]
    field = ("t_s", "bearing_deg", "snr_db", "bearing_sigma_deg")[int(draw(0, 3.99))]
    if field == "t_s":
        body = {**report, "t_s": "__X__"}
    else:
        body = {**report, "detections": [_detection(draw, **{field: "__X__"})]}
    return Message(topic, json.dumps(body).replace('"__X__"', token).encode()), "bad_payload"


def bearing_out_of_range(report: Report, topic: str, draw: Draw) -> tuple[Message, str | None]:
    bearing = draw(360.0, 1.0e6) if draw(0, 1) < 0.5 else -draw(1.0e-6, 1.0e6)
    return _msg(topic, {**report, "detections": [_detection(draw, bearing_deg=bearing)]}), \
        "bad_payload"


def unknown_tower(report: Report, topic: str, draw: Draw) -> tuple[Message, str | None]:
    tower = f"X{int(draw(0, 9999))}"
    return _msg(topics.tower(tower, "thermal"), {**report, "tower_id": tower}), "unknown_tower"


def tower_mismatch(report: Report, topic: str, draw: Draw) -> tuple[Message, str | None]:
    other = "T01" if report["tower_id"] != "T01" else "T02"
    return _msg(topic, {**report, "tower_id": other}), "tower_mismatch"


def far_future(report: Report, topic: str, draw: Draw) -> tuple[Message, str | None]:
    return _msg(topic, {**report, "t_s": report["t_s"] + draw(FAR_S, 1.0e9)}), "future_t_s"


def far_past(report: Report, topic: str, draw: Draw) -> tuple[Message, str | None]:
    return _msg(topic, {**report, "t_s": report["t_s"] - draw(FAR_S, report["t_s"])}), "stale"


def negative_seq(report: Report, topic: str, draw: Draw) -> tuple[Message, str | None]:
    return _msg(topic, {**report, "seq": -int(draw(1, 1e9))}), "bad_payload"


def oversized(report: Report, topic: str, draw: Draw) -> tuple[Message, str | None]:
    pad = "x" * (MAX_PAYLOAD_BYTES + int(draw(1, 4096)))
    return _msg(topic, {**report, "note": pad}), "bad_payload"


def too_many_detections(report: Report, topic: str, draw: Draw) -> tuple[Message, str | None]:
    return _msg(topic, {**report, "detections": [_detection(draw)] * 513}), "bad_payload"


def bad_topic(report: Report, topic: str, draw: Draw) -> tuple[Message, str | None]:
    tail = ("", "#", "perimeter/v1/towers/T01", "perimeter/v1/towers/T01/radar",
            "perimeter/v1/towers//thermal")[int(draw(0, 4.99))]
    return _msg(tail, report), "unknown_topic"


def duplicate(report: Report, topic: str, draw: Draw) -> tuple[Message, str | None]:
    return _msg(topic, report), "duplicates"


MUTATIONS: dict[str, Mutation] = {f.__name__: f for f in (
    random_bytes, invalid_utf8, wrong_type, non_finite, bearing_out_of_range, unknown_tower,
    tower_mismatch, far_future, far_past, negative_seq, oversized, too_many_detections,
    bad_topic)}
"""Every hostile kind that must be rejected (``duplicate`` is counted apart)."""
