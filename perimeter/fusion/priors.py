"""Nominal class properties from published sources, with their spread.

Every number the classifier uses about the world is here, with where it comes from
(docs/fusion.md, "Classification priors", has the table with the full references). Where no
source was found the value is marked as assumed and given a wide spread. Nothing is taken
from the simulation. Sizes are thermal *critical dimensions* (the square root of the
silhouette's area, the measure of the target-acquisition literature); heights are of the
silhouette's centre above the ground.

Several animal kinds (fox, roe deer, wild boar, red deer, cattle) are folded into the one
``animal`` class: its speed range spans all of them; its size, height and silhouette are a
mixture of the kinds' own (:mod:`.classify`, :mod:`.aspect`).
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass

if typing.TYPE_CHECKING:
    from perimeter.fusion.classify import ClassModel


@dataclass(frozen=True, slots=True)
class Nominal:
    """A nominal value with its spread: ``lo``-``hi`` is where most of the class lies."""

    lo: float
    hi: float
    source: str

    @property
    def mid(self) -> float:
        return 0.5 * (self.lo + self.hi)

    @property
    def sigma(self) -> float:
        """The range read as mean +/- 2 sigma."""
        return 0.25 * (self.hi - self.lo)


@dataclass(frozen=True, slots=True)
class AnimalKind:
    name: str
    body_length_m: Nominal
    shoulder_height_m: Nominal

    @property
    def critical_size_m(self) -> tuple[float, float]:
        """Side-on critical dimension range: sqrt(length x shoulder height)."""
        return (math.sqrt(self.body_length_m.lo * self.shoulder_height_m.lo),
                math.sqrt(self.body_length_m.hi * self.shoulder_height_m.hi))

    @property
    def centre_height_m(self) -> tuple[float, float]:
        """Height of the silhouette's centre: about 0.6 of the shoulder height (the trunk
        sits on the legs)."""
        return (0.6 * self.shoulder_height_m.lo, 0.6 * self.shoulder_height_m.hi)


ANIMALS = (
    AnimalKind("red fox", Nominal(0.50, 0.90, "gardenwildlife.co.uk; pecszoo.hu (head-body)"),
               Nominal(0.35, 0.45, "gardenwildlife.co.uk; pecszoo.hu")),
    AnimalKind("roe deer", Nominal(0.95, 1.35, "ajnstalking.com; loodusegakoos.ee"),
               Nominal(0.60, 0.75, "ajnstalking.com; loodusegakoos.ee")),
    AnimalKind("wild boar", Nominal(0.90, 1.80, "assumed (no source found)"),
               Nominal(0.55, 1.00, "assumed (no source found)")),
    AnimalKind("red deer", Nominal(1.60, 2.60, "hcsdeerservices.co.uk; deer-images.com"),
               Nominal(0.95, 1.37, "hcsdeerservices.co.uk; deer-images.com")),
    AnimalKind("cattle", Nominal(2.00, 2.60, "nose to tail-head of beef breeds to mature "
                                 "Holsteins: OMAFRA infosheet (Anderson 2007, Tie-stall "
                                 "dimensions) ratios to rump height; widened (partly assumed)"),
               Nominal(1.20, 1.55, "withers of European beef and dual-purpose breeds "
                       "1.2-1.45 m (Bene et al. 2007, Arch. Tierz. 50(4)); a mature Holstein "
                       "cow ~1.47 m at the shoulder (Holstein Association USA)")),
)


def animal_size_range_m() -> tuple[float, float]:
    """Critical dimension range over all animal kinds."""
    return (min(a.critical_size_m[0] for a in ANIMALS), max(a.critical_size_m[1] for a in ANIMALS))


def animal_height_range_m() -> tuple[float, float]:
    return (min(a.centre_height_m[0] for a in ANIMALS), max(a.centre_height_m[1] for a in ANIMALS))


PERSON_WALK_MPS = Nominal(1.1, 1.6, "Bohannon 1997, Age Ageing 26:15-19 (comfortable gait, "
                          "adults 20-79: 1.27-1.46 m/s by age and sex), widened for terrain")
GROUP_WALK_MPS = Nominal(0.8, 1.4, "Moussaid et al. 2010, PLoS ONE 5:e10047 (groups walk "
                         "slower as they grow)")
SLOW_MOVER_MPS = Nominal(0.2, 1.2, "assumed (crawling, stalking: no source found)")
SLOW_MOVER_SHARE = Nominal(0.05, 0.25, "assumed")
VEHICLE_MPS = Nominal(3.0, 15.0, "assumed (off-road and track driving)")
ANIMAL_BOUT_MPS = Nominal(0.3, 3.6, "red deer walk ~1 m strides; fox trot 6-13 km/h "
                          "(1.7-3.6 m/s); wild boar ~1 km/h averaged over a night's bout "
                          "(Lemel et al. 2003, Wildl. Biol. 9(s1))")
ANIMAL_PAUSE_SHARE = Nominal(0.1, 0.7, "assumed (grazing and browsing pauses; no figure found)")
VEHICLE_STOP_SHARE = Nominal(0.0, 0.2, "assumed (halts at a gate or to look round; no figure "
                             "found)")

PERSON_SIZE_M = Nominal(0.6, 0.9, "NVESD standing-person critical dimension 0.75 m "
                        "(Johnson/TTP literature), +/- for build and aspect")
GROUP_PEOPLE = Nominal(2.0, 6.0, "assumed (a party on foot: two to six)")
GROUP_SPACING_M = Nominal(0.6, 0.9, "assumed (neighbours' centres walking abreast, about an "
                          "arm's length; Moussaid et al. 2010 observe abreast and V formations)")


def group_critical_size_m(people: float, spacing_m: float) -> float:
    """Critical dimension of ``people`` abreast ``spacing_m`` apart: 0.5 + s (n - 1) m wide
    at a person's height, so ``0.75 sqrt(width / 0.5)`` (the NVESD person's 0.75 m at 0.5 m
    wide; the critical dimension is the square root of the silhouette's area)."""
    return 0.75 * math.sqrt(group_front_m(people, spacing_m) / 0.5)


def group_front_m(people: float, spacing_m: float) -> float:
    """Width of ``people`` abreast ``spacing_m`` apart: a person's 0.5 m plus the gaps."""
    return 0.5 + spacing_m * (people - 1.0)


GROUP_FILE_SPACING_M = Nominal(0.9, 1.5, "assumed: a walker's step (~0.7 m) and a following "
                               "gap between one person's centre and the next's in single file "
                               "(no source found)")
GROUP_FORMATION_SHARES = (("abreast", 0.4), ("file", 0.3), ("cluster", 0.3))
"""How often a party on foot keeps each formation (assumed; no count found): abreast or in a
V on open ground (Moussaid et al. 2010, PLoS ONE 5:e10047, on pavements), in file on a path,
a hedge line or rough ground, a loose cluster when it slows or meets. Each formation's
extents span its own range (two to six people, its spacing), read as +/- 2 sigma."""


GROUP_SIZE_M = Nominal(group_critical_size_m(GROUP_PEOPLE.lo, GROUP_SPACING_M.lo),
                       group_critical_size_m(GROUP_PEOPLE.hi, GROUP_SPACING_M.hi),
                       "derived (group_critical_size_m): 1.11 m for two 0.6 m apart, 2.37 m "
                       "for six 0.9 m apart")
VEHICLE_SIZE_M = Nominal(1.6, 3.2, "NATO standard vehicle target 2.3 m; a car end-on "
                         "sqrt(1.8 x 1.5), side-on sqrt(4.5 x 1.5), a truck's more")
PERSON_CENTRE_M = Nominal(0.8, 1.05, "half a standing adult's stature (1.6-2.0 m)")
LOW_POSTURE_CENTRE_M = Nominal(0.15, 0.6, "crawling to crouching: assumed")
VEHICLE_CENTRE_M = Nominal(0.6, 1.4, "half of a car's to a truck's height")
GROUND_MODEL_ERROR_M = 2.0
"""How far the true ground may lie from the site's elevation model under a track, beyond the
reading's own error (assumed: a bank, a ditch, a hedge's foot between grid posts). A heat
centre further than this from every class's centre height is not an object on the ground
where the track puts it (:func:`impossible_height`)."""
PEOPLE_TOP_MPS = Nominal(2.0, 3.0, "assumed: a brisk walk (Bohannon 1997's maximal gait "
                         "2.0-2.5 m/s) to a jog; a party on foot does not keep more")

# Silhouettes (blob aspect, height over width): extents along the heading, across it, and
# upright, in metres. The width seen is |L sin a| + |B cos a| at relative heading a.
PERSON_STATURE_M = Nominal(1.6, 2.0, "adult stature: NCD-RisC 2016, eLife 5:e13410 (national "
                           "means 1.5-1.8 m), with the taller tail")
PERSON_BREADTH_M = Nominal(0.4, 0.5, "shoulder (bideltoid) breadth of adults: anthropometric "
                           "surveys (ANSUR II, Gordon et al. 2014) ~0.42-0.51 m by sex")
PERSON_DEPTH_M = Nominal(0.3, 0.7, "assumed: chest depth ~0.25 m, with the swing of arms and "
                         "legs in a walking stride (a step ~0.7 m)")
LOW_POSTURE_HEIGHT_M = Nominal(0.3, 1.2, "assumed: on hands and knees ~0.4 m to crouching "
                               "~1.1 m (no source found)")
LOW_POSTURE_LENGTH_M = Nominal(0.6, 1.8, "assumed: crouching ~0.6 m to crawling or prone "
                               "~1.8 m along the heading (no source found)")
VEHICLE_LENGTH_M = Nominal(3.5, 8.0, "assumed: a car ~4.5 m to a truck")
VEHICLE_BREADTH_M = Nominal(1.6, 2.5, "assumed: a car ~1.8 m to a truck 2.5 m (road limit)")
VEHICLE_HEIGHT_M = Nominal(1.4, 3.0, "assumed: a car ~1.5 m to a truck")
ANIMAL_BREADTH_SHARE = Nominal(0.2, 0.45, "assumed: trunk breadth over body length (a deer "
                               "narrow, a boar broad)")
ANIMAL_SILHOUETTE_OVER_SHOULDER = Nominal(1.0, 1.35, "assumed: the head carried at or above "
                                          "the withers")

SIZE_NOISE_LOG_SIGMA = 0.2
"""Segmentation noise of one detection's size in pixels (log scale; assumed): a blob's
extent moves by a pixel or two of a few."""
SIZE_COMMON_LOG_SIGMA = 0.1
"""Size error common to all of a track's detections (log scale; assumed): its range error
(a few per cent once triangulated) and the optics' blur on a blob of a few pixels."""
OPTICS_BLUR_FWHM_PX = Nominal(0.6, 1.2, "the Airy core of an f/1 lens at 10 um (FWHM 1.03 "
                              "lambda N = 10.3 um) on 17 um pixels is 0.6 px at half maximum; "
                              "aberration and defocus add up to as much again (assumed)")
BLUR_FWHM_PX = OPTICS_BLUR_FWHM_PX.mid
"""The optics' blur as a blob's extent sees it (FWHM, pixels): the middle of
:data:`OPTICS_BLUR_FWHM_PX`."""
ASPECT_COMMON_LOG_SIGMA = 0.2
"""Aspect error common to all of a track's readings (log scale; assumed): the body's own
proportions within its class (a walker's depth 0.3-0.7 m is +/-0.21 in log read as +/-2
sigma), at a slowly changing heading and range, and the segmentation's habits on it."""
HEIGHT_COMMON_SHARE = 0.5
"""Share of one detection's height error that all of a track's detections share (assumed):
the track's position error, which moves the ground under it on a slope, changes slowly."""
UNRELIABLE_SHARE = 0.15
"""Share of tracks whose size or height is not their object's (assumed): mostly hidden, a
neighbour's or clutter's detections, a position error on a slope. Such a reading is
uninformative (the same broad density for every class) rather than decisive."""


@dataclass(frozen=True, slots=True)
class Silhouette:
    """A class's body: length along its heading, breadth across it, height (metres)."""

    length_m: tuple[float, float]
    breadth_m: tuple[float, float]
    height_m: tuple[float, float]
    share: float = 1.0
    """Weight among its class's bodies (relative; equal by default)."""


def _r(n: Nominal) -> tuple[float, float]:
    return (n.lo, n.hi)


def silhouettes() -> dict[str, tuple[tuple[Silhouette, ...], tuple[Silhouette, ...]]]:
    """Per class, its bodies upright and in a low posture (people crouching or crawling;
    the other classes have one posture): a group in each of its formations
    (:func:`group_formations`); the animals of the table above, each kind by itself."""
    person = Silhouette(_r(PERSON_DEPTH_M), _r(PERSON_BREADTH_M), _r(PERSON_STATURE_M))
    low = Silhouette(_r(LOW_POSTURE_LENGTH_M), _r(PERSON_BREADTH_M), _r(LOW_POSTURE_HEIGHT_M))
    vehicle = Silhouette(_r(VEHICLE_LENGTH_M), _r(VEHICLE_BREADTH_M), _r(VEHICLE_HEIGHT_M))
    share, over = ANIMAL_BREADTH_SHARE, ANIMAL_SILHOUETTE_OVER_SHOULDER
    animals = tuple(Silhouette(
        _r(a.body_length_m),
        (share.lo * a.body_length_m.lo, share.hi * a.body_length_m.hi),
        (over.lo * a.shoulder_height_m.lo, over.hi * a.shoulder_height_m.hi)) for a in ANIMALS)
    return {"person": ((person,), (low,)),
            "group": (group_formations(PERSON_DEPTH_M, PERSON_STATURE_M),
                      group_formations(LOW_POSTURE_LENGTH_M, LOW_POSTURE_HEIGHT_M)),
            "vehicle": ((vehicle,), (vehicle,)), "animal": (animals, animals)}


def group_formations(depth_m: Nominal, height_m: Nominal) -> tuple[Silhouette, ...]:
    """A party's bodies, one per formation of :data:`GROUP_FORMATION_SHARES` and party size
    (two or three, four to six: :data:`GROUP_PEOPLE` split, equally likely, so that each
    body's extents span a range the three-point rule follows), its people ``depth_m`` long
    along the heading and ``height_m`` high: abreast, the people's front across the heading
    (:func:`group_front_m`); in file, one person's breadth across and the file along it
    (:data:`GROUP_FILE_SPACING_M` between centres); a loose cluster, the people on a square
    ``sqrt(n)`` a side, :data:`GROUP_SPACING_M` apart each way (a person's depth beyond
    0.5 m added along the heading)."""
    sp, fsp = GROUP_SPACING_M, GROUP_FILE_SPACING_M
    cut = 0.5 * (GROUP_PEOPLE.lo + GROUP_PEOPLE.hi)
    bodies = []
    for n_lo, n_hi in ((GROUP_PEOPLE.lo, cut - 1.0), (cut, GROUP_PEOPLE.hi)):
        front = (group_front_m(n_lo, sp.lo), group_front_m(n_hi, sp.hi))
        file_m = (depth_m.lo + fsp.lo * (n_lo - 1.0), depth_m.hi + fsp.hi * (n_hi - 1.0))
        across = (0.5 + sp.lo * (math.sqrt(n_lo) - 1.0), 0.5 + sp.hi * (math.sqrt(n_hi) - 1.0))
        along = (max(depth_m.lo - 0.5, 0.0) + across[0], max(depth_m.hi - 0.5, 0.0) + across[1])
        shapes = {"abreast": (_r(depth_m), front), "file": (file_m, _r(PERSON_BREADTH_M)),
                  "cluster": (along, across)}
        bodies += [Silhouette(shapes[name][0], shapes[name][1], _r(height_m), 0.5 * share)
                   for name, share in GROUP_FORMATION_SHARES]
    return tuple(bodies)


def impossible_height(height_m: float, sigma_m: float) -> bool:
    """Whether a heat centre read ``height_m`` above the ground (its error ``sigma_m``) at the
    track's position is physically impossible for any object on the ground there: higher
    than the tallest class's centre (a truck's, :data:`VEHICLE_CENTRE_M`) or lower than the
    ground itself, by more than :data:`GROUND_MODEL_ERROR_M` plus three times its error. Such
    a reading says the track's range is wrong (its elevation angle belongs to an object much
    nearer or farther along the line of sight) or the detection is not the object's."""
    margin_m = GROUND_MODEL_ERROR_M + 3.0 * sigma_m
    return height_m > VEHICLE_CENTRE_M.hi + margin_m or height_m < -margin_m


def published_class_model() -> ClassModel:
    """The :class:`~perimeter.fusion.classify.ClassModel` built from these published values:
    the default one (``ClassModel()``), kept under this name for its callers."""
    from perimeter.fusion.classify import ClassModel

    return ClassModel()


def speed_scatter_mps() -> float:
    """A 25 s window's path-speed scatter about a walker's own pace (assumed)."""
    return 0.25


def vehicle_speed_log_sigma() -> float:
    """Log-normal spread of a vehicle's speed: the range read as +/- 2 sigma in log."""
    return math.log(VEHICLE_MPS.hi / VEHICLE_MPS.lo) / 4.0


def log_range(nominal_lo: float, nominal_hi: float) -> tuple[float, float]:
    """Median and log-spread of a quantity ranging ``lo``-``hi`` (+/- 2 sigma in log)."""
    return math.sqrt(nominal_lo * nominal_hi), math.log(nominal_hi / nominal_lo) / 4.0
