"""bench/eval_config.py's named configurations: each builds a fusion runner, and the ones that
give a default's "before" switch off just that setting."""

from __future__ import annotations

import importlib.util
from dataclasses import fields, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from perimeter.evaluation.run import Collector
from perimeter.fusion.alert_config import AlertConfig
from perimeter.fusion.runner import FusionRunner
from perimeter.site import western_heights
from perimeter.thresholds import Thresholds

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "eval_config.py"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_config", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CONFIGURATIONS: dict[str, Any] = _module().configurations()


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_every_configuration_builds_a_fusion_runner(name: str) -> None:
    options = CONFIGURATIONS[name]()
    runner = FusionRunner(western_heights(), Thresholds(), Collector(), **options)
    assert runner.alerter.config == options.get("alert_config", AlertConfig())


@pytest.mark.parametrize(("name", "setting"), [("unsettled-continues", "settled_continues"),
                                               ("no-ride-host", "ride_host"),
                                               ("corroborated-skips", "corroborated_own_s")])
def test_a_before_configuration_differs_from_the_default_in_its_one_setting(
        name: str, setting: str) -> None:
    config: AlertConfig = CONFIGURATIONS[name]()["alert_config"]
    default = AlertConfig()
    assert getattr(default, setting) and not getattr(config, setting)
    assert [f.name for f in fields(AlertConfig)
            if getattr(config, f.name) != getattr(default, f.name)] == [setting]


def test_no_hold_is_the_default_before_the_reorder_hold_in_its_three_settings() -> None:
    options = CONFIGURATIONS["no-hold"]()
    runner = FusionRunner(western_heights(), Thresholds(), Collector(), **options)
    default = FusionRunner(western_heights(), Thresholds(), Collector())
    assert default.gate_config.reorder_lag_s == 0.1 and runner.gate_config.reorder_lag_s == 0.0
    assert default.engine.config.manage.late_scored
    assert not runner.engine.config.manage.late_scored
    assert replace(runner.engine.config.manage, late_scored=True) == default.engine.config.manage
    assert replace(runner.alerter.config, corroborated_own_s=25.0) == default.alerter.config
