"""Classification priors: published nominal values with their spread, folded per class."""

from __future__ import annotations

import pytest

from perimeter.fusion import priors
from perimeter.fusion.classify import ClassModel, classify, label
from tests.fusion.test_classify import walked


def test_the_animal_class_spans_every_kind_from_fox_to_cattle() -> None:
    lo, hi = priors.animal_size_range_m()
    fox = next(a for a in priors.ANIMALS if a.name == "red fox")
    cattle = next(a for a in priors.ANIMALS if a.name == "cattle")
    assert lo == pytest.approx(fox.critical_size_m[0])
    assert hi == pytest.approx(cattle.critical_size_m[1])
    assert lo < priors.PERSON_SIZE_M.lo and hi > priors.PERSON_SIZE_M.hi  # they overlap people
    assert all(a.body_length_m.source and a.shoulder_height_m.source for a in priors.ANIMALS)


def test_the_published_model_is_built_from_the_priors_and_still_tells_the_plain_cases() -> None:
    model = priors.published_class_model()
    assert isinstance(model, ClassModel)
    assert model.speed_mean_mps["person"] == pytest.approx(priors.PERSON_WALK_MPS.mid)
    assert model.size_m["animal"] == priors.animal_size_range_m()
    assert model.vehicle_min_size_m > priors.animal_size_range_m()[1] - 1e-9
    assert label(classify(walked(9.0, 2.5), model))[0] == "vehicle"
    assert label(classify(walked(1.4, 0.75), model))[0] in ("person", "group")
