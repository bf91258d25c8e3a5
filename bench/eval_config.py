"""``perimeter eval`` with fusion options that are off by default switched on, by name.

The fusion stages built and measured but not in force (docs/fusion.md) are settings of the
engine and the alerter, not thresholds, so ``perimeter eval`` cannot switch them. This runs the
same evaluation with one named configuration, so the figures quoted for them in
``docs/results.md`` can be measured again::

    python bench/eval_config.py candidate -- default night-crossing --seeds 1 --aggregate --json

Configurations (``--list`` prints them): ``default``; ``candidate`` (the revisit-aware score
with the own-window and height alert rules); ``candidate+initiation`` (and the revisit-spanning
initiator); ``imm``; ``reach-wait`` (a lost alert waits by its object's reach);
``unsettled-continues`` (a track that may still be an animal continues a waiting alert, as
before ``AlertConfig.settled_continues``); ``no-ride-host`` (a lost alert waits where it was
lost, not on the alerted track beside it, as before ``AlertConfig.ride_host``);
``revisit-initiation``; ``revisit-mended`` (the initiator with its three mends: every
seed's bearings checked against its point, an alerted track not dropped as another family's
shadow, an unsettled class held beside a waiting alert); ``mended+late`` (that and
``late-scored``) and ``mended+late+guard`` (and late reports marking ambiguity and teaching
the clutter map, ``ManageConfig.late_ambiguity`` and ``late_clutter``, and no corroborated
vehicle's skip of the motion windows while its last motion window was ambiguous,
``AlertConfig.corroborated_own_s``; docs/fusion.md "The late path's evidence") and
``mended+late+withheld`` (and an unmoved track's late detections held from the clutter map
until it moves or is gone, ``ManageConfig.late_clutter_withheld``) and ``mended+late+dwell``
(and a late detection no track took taught to the map only once its cell has had such
detections longer than a walker stays there, ``ManageConfig.late_clutter_dwell``;
``mended+late+guard+dwell``: that without ``withheld``; ``mended+late+dwell-window``: its run
measured over the map's density window, ``ManageConfig.late_clutter_dwell_window``);
``revisit-refit`` (and no seed whose no-bias refit changes the velocity by over 5 m/s);
``no-aspect`` (the blob-aspect term off);
``bias-allowance`` (bearings widened by their tower's unapplied bias); ``two-imager-shadows``
(a shadow needs two imagers' bearings) and ``dense`` (that, and seeds beside tracks from
every sensor), ``seed-beside-thermal`` (seeds beside tracks from imagers' bearings; docs/fusion.md
"Dense targets"); the
three scanning-imager pieces alone and together, without the alert rules: ``revisit-aware``
(the score), ``revisit+aware``, ``revisit+imm``, ``aware+imm``, ``all`` (initiator, score and
IMM) and ``all+rules`` (and the candidate's alert rules); ``retrodict`` (origins reach back
through the reports received before the track began) and ``retrodict-joint`` (jointly, a
window of several towers' bearings at a time); ``anchored-landmark`` (one anchored
landmark is enough to apply a bias), ``ten-snapshots`` (a bias applied only once it rests on
ten snapshots, the default before three) and ``change-point`` (a knocked mast tested since
each split; docs/fusion.md "Registration"); ``consider-bias`` (the towers'
residual biases in a Schmidt-Kalman consider update), ``q-small-x10`` (people's, groups' and
animals' process noise 0.5, a diagnosis) and ``consider+q-small-x10`` (docs/fusion.md,
"Track NEES"); ``late-scored`` (late reports scored where their sensor looked, per look:
docs/fusion.md "Where lone people are lost") and ``late-scored+height`` (and no alert on a
track whose heat centre reads over 5 m off the ground); ``no-early-alert`` (a track waits
for two motion windows whatever its first says) and ``vehicle-stops`` (the class model in
which a vehicle halts a tenth of the time; docs/fusion.md "Latency"); ``animal-spanned``
(an animal's size and height each judged against one range spanning every kind, as before
``ClassModel.animal_by_kind``; docs/fusion.md "Cattle, and the animal class by kind");
``pace-free`` (each motion window of a vehicle judged alone against the class's
population of speeds, as before ``ClassModel.kept_pace``), ``pace-people`` (walkers and
parties keep a pace too, within their walking range) and ``pace-people-3sigma`` (their paces
out to 3 sigma, as a vehicle's; docs/fusion.md "A vehicle keeps its pace"). A
vehicle's fast path (late imager reports scored only for tracks with vehicle evidence of
their own: heard as a machine by two towers, or seen larger than any animal, faster than
people walk and unambiguous for 10 s; a heard one confirmed with its velocity known to 3
m/s, not 1.5; ``ManageConfig.fast_vehicle``, docs/fusion.md "A vehicle's fast path") is
**in the default** (``fast-vehicle+heard-bar`` is its old name); ``no-fast-vehicle`` is the default
without it, ``fast-vehicle`` it without the 3 m/s bar, with the variants
``fast-vehicle-heard`` and ``fast-vehicle-seen`` (one path only) and
``fast-vehicle-shared`` (hints of shared acoustic bearings counted too), and
``fast-vehicle+bar`` (the 3 m/s bar for seen tracks too). The configurations measured
before the fast path was the default ran without it (docs/results.md says which).
Since the reorder hold (``GateConfig.reorder_lag_s`` 0.1 s: a frame's reports, whose
towers' clocks differ by milliseconds, fused in time order), late scoring
(``ManageConfig.late_scored``) and the corroborated vehicle's own window
(``AlertConfig.corroborated_own_s`` 25 s) are the default, almost no report is late, so the
fast path keeps only its velocity bar for heard vehicles (``no-fast-vehicle`` scored the same
on the whole set at both seeds) and ``late-scored`` is the default itself:
``no-hold`` is the default before them (no hold, late reports unscored, a corroborated vehicle
skips its motion windows), ``hold-unscored`` that with the hold, and ``corroborated-skips``
the default but for the vehicle's own window (docs/fusion.md "Late reports and the reorder
hold"). ``jpda`` (JPDA* on ambiguous reports, ``EngineConfig.jpda``) and ``jpda-plain``
(without the permutation pruning; docs/fusion.md "JPDA on ambiguous reports"). Evaluation
workers are forked, so they run the same configuration.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import perimeter.evaluation.run as evaluation_run
from perimeter.bus import Message
from perimeter.cli import app
from perimeter.fusion.alert_config import REACH_M, AlertConfig
from perimeter.fusion.classify import ClassModel
from perimeter.fusion.duplicates import DuplicateConfig
from perimeter.fusion.engine_config import EngineConfig
from perimeter.fusion.fast_vehicle import FastVehicleConfig
from perimeter.fusion.gate import GateConfig
from perimeter.fusion.imm import ImmConfig
from perimeter.fusion.jpda import JpdaConfig
from perimeter.fusion.manage import ManageConfig
from perimeter.fusion.pace import PACED
from perimeter.fusion.priors import VEHICLE_STOP_SHARE
from perimeter.fusion.registration_fit import RegistrationConfig
from perimeter.fusion.retrodict import RetrodictConfig
from perimeter.fusion.revisit_seed import RevisitConfig
from perimeter.fusion.triangulate import InitiatorConfig
from perimeter.site import Site
from perimeter.thresholds import Thresholds


def _revisit_initiation(engine: EngineConfig,
                        revisit: RevisitConfig | None = None) -> EngineConfig:
    return replace(engine, initiator=replace(engine.initiator,
                                             revisit=revisit or RevisitConfig(enabled=True)))


def _revisit_mended() -> dict[str, Any]:
    """The revisit-spanning initiator with its three mends (docs/fusion.md "Scanning
    imagers"): every seed's bearings checked against its point, an alerted track not dropped
    as another family's shadow, an unsettled class held beside a waiting alert."""
    engine = EngineConfig(
        initiator=InitiatorConfig(seed_check_sigma_deg=0.3,
                                  revisit=RevisitConfig(enabled=True)),
        manage=ManageConfig(duplicates=DuplicateConfig(keep_alerted_shadow=True)))
    return {"engine_config": engine, "alert_config": AlertConfig(settle_probability=0.7)}


def _mended_late(*, guard: bool = False, withheld: bool = False,
                 dwell: bool = False, dwell_window: bool = False) -> dict[str, Any]:
    """``revisit-mended`` with late reports scored where their sensor looked
    (``late-scored``); with ``guard``, late reports marking ambiguity and teaching the
    clutter map as in-order ones do, and a corroborated vehicle skipping the motion windows
    only after a motion window without ambiguity; with ``withheld``, an unmoved track's late
    detections held from the map until it moves or is gone; with ``dwell``, a late detection
    no track took taught only once its cell has had them longer than a walker stays; with
    ``dwell_window``, its run measured over the map's density window."""
    options = _revisit_mended()
    engine = options["engine_config"]
    options["engine_config"] = replace(engine, manage=replace(
        engine.manage, late_scored=True, late_ambiguity=guard, late_clutter=guard,
        late_clutter_withheld=withheld, late_clutter_dwell=dwell,
        late_clutter_dwell_window=dwell_window))
    if guard:
        options["alert_config"] = replace(options["alert_config"],
                                          corroborated_own_s=ClassModel().motion_window_s)
    return options


def _fast_vehicle(**settings: Any) -> dict[str, Any]:
    """The default with the vehicles' fast path set by ``settings``
    (:class:`~perimeter.fusion.fast_vehicle.FastVehicleConfig`)."""
    return {"engine_config": EngineConfig(
        manage=ManageConfig(fast_vehicle=FastVehicleConfig(**settings)))}


def configurations() -> dict[str, Callable[[], dict[str, Any]]]:
    """Each name's keyword arguments for :class:`FusionRunner`."""
    revisit_aware = EngineConfig(manage=ManageConfig(revisit_aware=True))
    alert_rules = AlertConfig(own_window_s=25.0, max_height_m=5.0)
    two_imager_shadows = ManageConfig(duplicates=DuplicateConfig(shadow_min_imagers=2))
    q_small_x10 = {"person": 0.5, "group": 0.5, "animal": 0.5, "vehicle": 1.0, "unknown": 0.3}
    late_scored = EngineConfig(manage=ManageConfig(late_scored=True))
    return {
        "default": dict,
        "candidate": lambda: {"engine_config": revisit_aware, "alert_config": alert_rules},
        "candidate+initiation": lambda: {"engine_config": _revisit_initiation(revisit_aware),
                                         "alert_config": alert_rules},
        "imm": lambda: {"engine_config": EngineConfig(imm=ImmConfig())},
        "reach-wait": lambda: {"alert_config": AlertConfig(reacquire_reach_m=REACH_M)},
        "unsettled-continues": lambda: {
            "alert_config": AlertConfig(settled_continues=False)},
        "no-ride-host": lambda: {"alert_config": AlertConfig(ride_host=False)},
        "revisit-initiation": lambda: {"engine_config": _revisit_initiation(EngineConfig())},
        "revisit-mended": _revisit_mended,
        "mended+late": _mended_late,
        "mended+late+guard": lambda: _mended_late(guard=True),
        "mended+late+withheld": lambda: _mended_late(guard=True, withheld=True),
        "mended+late+dwell": lambda: _mended_late(guard=True, withheld=True, dwell=True),
        "mended+late+guard+dwell": lambda: _mended_late(guard=True, dwell=True),
        "mended+late+dwell-window": lambda: _mended_late(guard=True, withheld=True, dwell=True,
                                                         dwell_window=True),
        "revisit-refit": lambda: {"engine_config": _revisit_initiation(
            EngineConfig(), RevisitConfig(enabled=True, max_refit_change_mps=5.0))},
        "revisit-aware": lambda: {"engine_config": revisit_aware},
        "revisit+aware": lambda: {"engine_config": _revisit_initiation(revisit_aware)},
        "revisit+imm": lambda: {"engine_config": _revisit_initiation(EngineConfig(
            imm=ImmConfig()))},
        "aware+imm": lambda: {"engine_config": replace(revisit_aware, imm=ImmConfig())},
        "all": lambda: {"engine_config": _revisit_initiation(replace(revisit_aware,
                                                                     imm=ImmConfig()))},
        "all+rules": lambda: {"engine_config": _revisit_initiation(replace(revisit_aware,
                                                                           imm=ImmConfig())),
                              "alert_config": alert_rules},
        "two-imager-shadows": lambda: {"engine_config": EngineConfig(
            manage=two_imager_shadows)},
        "dense": lambda: {"engine_config": EngineConfig(
            seed_beside_tracks=True, seed_beside_thermal_only=False,
            manage=two_imager_shadows)},
        "seed-beside-thermal": lambda: {"engine_config": EngineConfig(
            seed_beside_tracks=True, seed_beside_thermal_only=True)},
        "bias-allowance": lambda: {"engine_config": EngineConfig(
            manage=ManageConfig(bias_allowance=True))},
        "no-aspect": lambda: {"engine_config": EngineConfig(
            classes=ClassModel(use_aspect=False))},
        "retrodict": lambda: {"retrodict_config": RetrodictConfig(enabled=True)},
        "retrodict-joint": lambda: {"retrodict_config": RetrodictConfig(enabled=True,
                                                                        joint=True)},
        "consider-bias": lambda: {"engine_config": EngineConfig(consider_bias=True)},
        "anchored-landmark": lambda: {
            "registration_config": RegistrationConfig(anchored_landmark=True)},
        "ten-snapshots": lambda: {"registration_config": RegistrationConfig(min_snapshots=10)},
        "change-point": lambda: {"registration_config": RegistrationConfig(change_point=True)},
        "consider-posterior": lambda: {"engine_config": EngineConfig(
            consider_bias=True, consider_posterior=True)},
        "consider+q-small-x10": lambda: {"engine_config": EngineConfig(
            consider_bias=True, q_by_class=dict(q_small_x10))},
        "q-small-x10": lambda: {"engine_config": EngineConfig(q_by_class=dict(q_small_x10))},
        "late-scored": lambda: {"engine_config": late_scored},
        "late-scored+height": lambda: {"engine_config": late_scored,
                                       "alert_config": AlertConfig(max_height_m=5.0)},
        "no-early-alert": lambda: {"alert_config": AlertConfig(
            early_max_animal_probability=0.0)},
        "no-fast-vehicle": lambda: _fast_vehicle(enabled=False),
        "fast-vehicle": lambda: _fast_vehicle(velocity_sigma_mps=1.5),
        "fast-vehicle-heard": lambda: _fast_vehicle(seen=False, velocity_sigma_mps=1.5),
        "fast-vehicle-seen": lambda: _fast_vehicle(heard=False, velocity_sigma_mps=1.5),
        "fast-vehicle+bar": lambda: _fast_vehicle(velocity_bar_seen=True),
        "fast-vehicle+heard-bar": dict,
        "fast-vehicle-shared": lambda: _fast_vehicle(shared=True, velocity_sigma_mps=1.5),
        "no-hold": lambda: {"gate_config": GateConfig(reorder_lag_s=0.0),
                            "engine_config": EngineConfig(manage=ManageConfig(
                                late_scored=False)),
                            "alert_config": AlertConfig(corroborated_own_s=0.0)},
        "hold-unscored": lambda: {"engine_config": EngineConfig(manage=ManageConfig(
            late_scored=False)), "alert_config": AlertConfig(corroborated_own_s=0.0)},
        "corroborated-skips": lambda: {"alert_config": AlertConfig(corroborated_own_s=0.0)},
        "jpda": lambda: {"engine_config": EngineConfig(jpda=JpdaConfig(enabled=True))},
        "jpda-plain": lambda: {"engine_config": EngineConfig(jpda=JpdaConfig(
            enabled=True, prune_permutations=False))},
        "vehicle-stops": lambda: {"engine_config": EngineConfig(
            classes=ClassModel(vehicle_stop_share=VEHICLE_STOP_SHARE.mid))},
        "animal-spanned": lambda: {"engine_config": EngineConfig(
            classes=ClassModel(animal_by_kind=False))},
        "pace-free": lambda: {"engine_config": EngineConfig(
            classes=ClassModel(kept_pace=()))},
        "pace-people": lambda: {"engine_config": EngineConfig(
            classes=ClassModel(kept_pace=PACED))},
        "pace-people-3sigma": lambda: {"engine_config": EngineConfig(
            classes=ClassModel(kept_pace=PACED, walk_pace_sigmas=3.0))},
    }


def fuse_with(options: dict[str, Any]) -> Callable[[Site, Thresholds, Iterable[Message]],
                                                   evaluation_run.Collector]:
    """:func:`perimeter.evaluation.run.fuse` with the runner built from ``options``."""
    return functools.partial(evaluation_run.fuse, options=options)


def main(argv: list[str]) -> None:
    known = configurations()
    if not argv or argv[0] in {"--list", "-h", "--help"}:
        print(__doc__)
        print("configurations:", ", ".join(known))
        return
    name, rest = argv[0], argv[1:]
    if name not in known:
        raise SystemExit(f"unknown configuration {name!r}; one of: {', '.join(known)}")
    if rest[:1] == ["--"]:
        rest = rest[1:]
    evaluation_run.fuse = fuse_with(known[name]())  # type: ignore[assignment]
    sys.argv = ["perimeter", "eval", *rest]
    app()


if __name__ == "__main__":
    main(sys.argv[1:])
