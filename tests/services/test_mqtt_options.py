"""MqttOptions from service settings: broker address, credentials, client id, session."""

from __future__ import annotations

import pytest

from perimeter.config import FusionSettings
from services.mqtt import MqttOptions


def test_options_follow_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERIMETER_MQTT_USERNAME", "fusion")
    monkeypatch.setenv("PERIMETER_MQTT_PASSWORD", "s3cret")
    settings = FusionSettings(broker_url="mqtt://10.1.2.3:1999")
    options = MqttOptions.from_settings(settings, "perimeter-fusion")
    assert (options.host, options.port) == ("10.1.2.3", 1999)
    assert (options.username, options.password) == ("fusion", "s3cret")
    assert options.client_id == "perimeter-fusion"
    assert options.session_expiry_s == 3600
    assert 0 < options.max_queued < 65_535, "under paho's message-id wrap"


def test_settings_client_id_wins_and_clean_session_on_request() -> None:
    settings = FusionSettings(client_id="fusion-b")
    options = MqttOptions.from_settings(settings, "perimeter-fusion", session_expiry_s=0)
    assert options.client_id == "fusion-b"
    assert options.session_expiry_s == 0
    assert options.username is None and options.password is None


def test_a_comma_list_names_the_nodes_of_a_cluster_nearest_first() -> None:
    settings = FusionSettings(broker_url="mqtt://10.0.0.5:1883, mqtt://10.0.1.5:1884,"
                                         "mqtt://10.0.2.5:1885")
    assert settings.addresses == [("10.0.0.5", 1883), ("10.0.1.5", 1884), ("10.0.2.5", 1885)]
    options = MqttOptions.from_settings(settings, "fusion")
    assert options.addresses == (("10.0.0.5", 1883), ("10.0.1.5", 1884), ("10.0.2.5", 1885))
    spread = MqttOptions.from_settings(settings, "T07", first_node=7)  # 7 % 3: the second
    assert spread.addresses == (("10.0.1.5", 1884), ("10.0.2.5", 1885), ("10.0.0.5", 1883))


def test_a_bad_node_in_the_list_is_refused() -> None:
    with pytest.raises(ValueError, match="comma list"):
        FusionSettings(broker_url="mqtt://10.0.0.5:1883,http://10.0.1.5")
