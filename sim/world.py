"""The SimPy world: environment, targets, towers and faults for one scenario."""

from __future__ import annotations

import threading
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy
import simpy.rt

from perimeter.contract import SensorKind
from perimeter.site import Site
from sim.environment import Environment
from sim.rand import rng_for
from sim.scenario import FaultSpec, Scenario
from sim.sensors.acoustic import AcousticArray, Blasts
from sim.sensors.clutter_map import draw_clutter_map
from sim.sensors.errors import draw_clocks
from sim.sensors.frames import FrameOut
from sim.sensors.thermal import ThermalArray, ThermalStreams
from sim.targets import ScriptedMove, Targets
from sim.terrain import Terrain
from sim.tower import Tower
from sim.truth import Truth
from sim.uplink import TowerUplink

TARGET_DT_S = 0.5
BATCH_CELLS = 2_000_000  # frames x towers x targets x 8 (polygon cuts) per batch


def wander_box(scenario: Scenario) -> tuple[float, float, float, float]:
    """Where nuisance animals roam: the site's first watch zone's bounds, else round the towers."""
    site = scenario.site_model
    if site.watch_zones:
        pts = np.array(site.watch_zones[0].polygon)
    else:
        towers = np.array([t.xy for t in site.towers])
        pts = np.vstack([towers.min(axis=0) - 3000.0, towers.max(axis=0) + 3000.0])
    return (float(pts[:, 0].min()), float(pts[:, 1].min()),
            float(pts[:, 0].max()), float(pts[:, 1].max()))


def river_box(site: Site, margin_m: float = 150.0) -> tuple[float, float, float, float] | None:
    """Where water birds keep: within ``margin_m`` of the river's bounding box (None: no
    river)."""
    if not site.river:
        return None
    pts = np.array(site.river)
    return (float(pts[:, 0].min()) - margin_m, float(pts[:, 1].min()) - margin_m,
            float(pts[:, 0].max()) + margin_m, float(pts[:, 1].max()) + margin_m)


class _Feed:
    """Sensor output computed in fixed batches (deterministic whatever the faults)."""

    def __init__(self, compute: ThermalArray | AcousticArray, batch: int) -> None:
        self.compute, self.batch = compute, batch
        self._index = -1
        self._frames: list[list[FrameOut]] = []

    def get(self, k: int) -> list[FrameOut]:
        b = k // self.batch
        if b != self._index:
            if b < self._index:
                raise RuntimeError(f"frame {k} requested after batch {self._index}")
            self._frames = self.compute.batch(b * self.batch, self.batch)
            self._index = b
        return self._frames[k - b * self.batch]


def environment_of(scenario: Scenario) -> Environment:
    """The scenario's environment over time (the site's latitude and longitude for the sun)."""
    site, spec = scenario.site_model, scenario.environment
    lat, lon = (site.origin.lat, site.origin.lon) if site.origin else (50.0, 10.0)
    return Environment(scenario.epoch_s, spec.timeline(), spec.wind_mps, spec.temperature_c,
                       spec.humidity_pct, lat, lon)


class World:
    """``World(scenario, uplink).run(speed=None | X, until_s=None)`` → :class:`Truth`."""

    def __init__(self, scenario: Scenario, uplink: TowerUplink) -> None:
        self.scenario = scenario
        self.uplink = uplink
        site = scenario.site_model
        self.site = site
        seed = scenario.seed
        self.environment = environment_of(scenario)
        n_steps = int(np.ceil(scenario.duration_s / TARGET_DT_S)) + 2
        self.targets = Targets(TARGET_DT_S, n_steps)
        for spec in scenario.targets:
            self.targets.add_scripted(
                ScriptedMove(spec.id, spec.kind, spec.start_s, spec.mean_speed_mps,
                             list(spec.path), spec.count,
                             tuple((s.at_s, s.duration_s) for s in spec.stops)),
                rng_for(seed, "target", spec.id), rng_for(seed, "truth", spec.id),
                scenario.perturb)
        self.targets.add_fauna(scenario.nuisance.animals, wander_box(scenario),
                               rng_for(seed, "nuisance", "animals"),
                               n_birds=scenario.nuisance.birds, river_box=river_box(site),
                               spread=scenario.perturb)
        self.truth = Truth(scenario=scenario.name, seed=seed, epoch_s=scenario.epoch_s,
                           duration_s=scenario.duration_s,
                           perimeter_length_m=site.perimeter_length_m,
                           targets=self.targets.truths(scenario.epoch_s))
        self.terrain = Terrain(site)
        clock = scenario.sensors.clock
        self.clocks = draw_clocks(len(site.towers), clock.offset_sigma_s, clock.drift_sigma_ppm,
                                  rng_for(seed, "towers", "clocks"), scenario.perturb)
        self._stop = threading.Event()
        self._ran = False

    def _feeds(self) -> dict[SensorKind, _Feed]:
        scenario, site = self.scenario, self.site
        seed = scenario.seed
        ids = [t.id for t in site.towers]
        thermal_params = [scenario.thermal_params(i) for i in ids]
        self.clutter_map = draw_clutter_map(
            site, wander_box(scenario), scenario.sensors.thermal.hot_spot_scale,
            rng_for(seed, "thermal", "clutter_map"))
        thermal = ThermalArray(site.towers, thermal_params, scenario.sensors.frame_hz,
                               self.environment, self.terrain, self.targets,
                               ThermalStreams.for_seed(seed), self.clutter_map,
                               scenario.perturb)
        self.imager_errors = thermal.errors
        towers_xy = np.array([t.xy for t in site.towers])
        self.blasts = blasts = Blasts(scenario.nuisance.blasts_per_hour, scenario.duration_s,
                        (float(towers_xy[:, 0].mean()), float(towers_xy[:, 1].mean())),
                        rng_for(seed, "nuisance", "blasts"))
        acoustic = AcousticArray(site.towers, [scenario.acoustic_params(i) for i in ids],
                                 scenario.sensors.window_s, self.environment, self.terrain,
                                 self.targets, blasts, rng_for(seed, "acoustic", "noise"),
                                 rng_for(seed, "acoustic", "clutter"))
        cells = max(1, len(ids) * max(1, len(self.targets.ids)) * 8)
        batch = int(np.clip(BATCH_CELLS // cells, 1, 64))
        return {"thermal": _Feed(thermal, batch), "acoustic": _Feed(acoustic, batch)}

    def stop(self) -> None:
        """Ask a running (real-time) world to stop soon; safe from another thread."""
        self._stop.set()

    def run(self, speed: float | None = None, until_s: float | None = None) -> Truth:
        """Run as fast as possible (``speed=None``) or at ``speed`` × real time."""
        if self._ran:
            raise RuntimeError("a World runs once; make a new one")
        self._ran = True
        env: simpy.Environment
        if speed is None:
            env = simpy.Environment()
        else:
            if speed <= 0:
                raise ValueError(f"speed: must be > 0, got {speed}")
            env = simpy.rt.RealtimeEnvironment(factor=1.0 / speed, strict=False)
        feeds = self._feeds()
        periods: dict[SensorKind, float] = {"thermal": 1.0 / self.scenario.sensors.frame_hz,
                                            "acoustic": self.scenario.sensors.window_s}
        source = {sensor: feed.get for sensor, feed in feeds.items()}
        towers = {spec.id: Tower(env, spec, i, self.uplink, source, periods,
                                 self.scenario.epoch_s, self.truth.detections, self.clocks[i])
                  for i, spec in enumerate(self.site.towers)}
        for tower in towers.values():
            tower.start()
        for fault in self.scenario.faults:
            env.process(self._fault(env, towers[fault.tower], fault))
        if self.scenario.sensors.status_interval_s:
            env.process(self._status_heartbeat(env, list(towers.values())))
        end = min(self.scenario.duration_s, until_s if until_s is not None else np.inf)
        done = env.event()
        env.process(self._end_at(env, end, done))
        if speed is not None:
            env.process(self._watch_stop(env, done, speed))
        env.run(until=done)
        self.truth.duration_s = float(env.now)  # shorter if stopped or cut by until_s
        return self.truth

    def _end_at(self, env: simpy.Environment, end_s: float,
                done: simpy.Event) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(end_s)
        if not done.triggered:
            done.succeed()

    def _watch_stop(self, env: simpy.Environment, done: simpy.Event,
                    speed: float) -> Generator[simpy.Event, Any, None]:
        while not done.triggered:
            yield env.timeout(0.2 * speed)
            if self._stop.is_set() and not done.triggered:
                done.succeed()

    def _status_heartbeat(self, env: simpy.Environment,
                          towers: list[Tower]) -> Generator[simpy.Event, Any, None]:
        interval = self.scenario.sensors.status_interval_s or 60.0
        while True:
            yield env.timeout(interval)
            for tower in towers:
                if tower.powered:
                    tower.publish_status(force=True)

    def _fault(self, env: simpy.Environment, tower: Tower,
               fault: FaultSpec) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(fault.start_s)
        if fault.kind == "offline":
            tower.power_off()
        elif fault.kind == "link_down":
            tower.link_down()
        else:
            tower.fail_sensor(fault.sensor)
        if fault.duration_s is None:
            return
        yield env.timeout(fault.duration_s)
        if fault.kind == "offline":
            tower.power_on()
        elif fault.kind == "link_down":
            tower.link_up()
        else:
            tower.repair_sensor(fault.sensor)
