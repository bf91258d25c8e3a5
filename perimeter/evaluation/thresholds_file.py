"""Read a thresholds file: one flat YAML or JSON mapping of public threshold names to values."""

from __future__ import annotations

from pathlib import Path

import yaml

from perimeter.thresholds import ThresholdError, Thresholds, validate_thresholds


def load_thresholds(path: str | Path) -> Thresholds:
    """Thresholds over the defaults from ``path``; raises :class:`ThresholdError` naming the file
    and the threshold at fault (JSON is read as YAML, of which it is a subset)."""
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThresholdError(str(file), f"cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ThresholdError(str(file), f"not valid YAML or JSON: {exc}") from None
    if data is None:
        return Thresholds()
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ThresholdError(str(file), "must hold one mapping of threshold names to values, "
                                        'e.g. {"thermal.min_snr_db": 9.0}')
    return validate_thresholds(data)
