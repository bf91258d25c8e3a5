"""JPDA stage: association probabilities, the mixture update, coalescence and a crossing."""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest

from perimeter.fusion import ekf, jpda
from perimeter.fusion.associate import assign, gate_d2

SIGMA = math.radians(0.15)


def _weights(nu: np.ndarray, pd: float = 0.8, lam: float = 1.0, prune: bool = True,
             max_events: int = 20_000) -> jpda.Weights:
    s = np.full(nu.shape, SIGMA**2)
    gated = nu**2 / s <= gate_d2(0.997)
    cfg = jpda.JpdaConfig(enabled=True, prune_permutations=prune, max_events=max_events)
    return jpda.marginals(nu, s, gated, np.full(nu.shape[0], pd), np.full(nu.shape[1], lam),
                          cfg)


def test_one_bearing_two_tracks_is_shared_by_likelihood() -> None:
    w = _weights(np.array([[0.5 * SIGMA], [1.5 * SIGMA]]))
    assert w.beta[0, 0] > w.beta[1, 0] > 0.05  # both take a share, the nearer more
    assert w.miss[1] > w.miss[0] > 0.0
    np.testing.assert_allclose(w.beta.sum(axis=1) + w.miss, 1.0)


def test_ungated_track_misses() -> None:
    w = _weights(np.array([[0.2 * SIGMA], [40 * SIGMA]]))
    assert w.miss[1] == 1.0 and w.beta[1, 0] == 0.0


def _brute_force(llr: np.ndarray, log_miss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, m = llr.shape
    beta, miss, total = np.zeros((n, m)), np.zeros(n), 0.0
    for picks in itertools.product(range(-1, m), repeat=n):
        used = [j for j in picks if j >= 0]
        if len(used) != len(set(used)) or any(j >= 0 and not np.isfinite(llr[t, j])
                                              for t, j in enumerate(picks)):
            continue
        w = math.exp(sum(llr[t, j] if j >= 0 else log_miss[t] for t, j in enumerate(picks)))
        total += w
        for t, j in enumerate(picks):
            if j >= 0:
                beta[t, j] += w
            else:
                miss[t] += w
    return beta / total, miss / total


def test_unpruned_enumeration_is_exact_and_cheap_close() -> None:
    rng = np.random.default_rng(3)
    nu = rng.normal(0.0, 1.2 * SIGMA, size=(3, 3))
    exact = _weights(nu, prune=False)
    s = np.full(nu.shape, SIGMA**2)
    llr = jpda.log_likelihood_ratios(nu, s, nu**2 / s <= gate_d2(0.997), np.full(3, 0.8),
                                     np.ones(3))
    beta, miss = _brute_force(llr, np.log(np.full(3, 0.2)))
    np.testing.assert_allclose(exact.beta, beta, atol=1e-12)
    np.testing.assert_allclose(exact.miss, miss, atol=1e-12)
    cheap = _weights(nu, prune=False, max_events=1)  # Fitzgerald's approximation
    np.testing.assert_allclose(cheap.beta.sum(axis=1) + cheap.miss, 1.0)
    assert np.abs(cheap.beta - beta).max() < 0.3
    np.testing.assert_array_equal(cheap.beta.argmax(axis=1), beta.argmax(axis=1))


def test_permutation_pruning_keeps_close_tracks_apart() -> None:
    """Two tracks 2 sigma apart in bearing, two bearings each between them: unpruned JPDA
    pulls both tracks to the middle (coalescence), JPDA* keeps each on its own side."""
    tower = np.array([0.0, 0.0])
    rng_m = 2000.0
    b = np.array([-SIGMA, SIGMA])
    x = np.array([[rng_m * math.sin(v), rng_m * math.cos(v), 0.0, 0.0] for v in b])
    p = np.array([np.diag([6.0**2, 6.0**2, 0.5, 0.5])] * 2)
    z = np.array([-0.3 * SIGMA, 0.3 * SIGMA])
    r = np.full(2, SIGMA**2)
    nu, s, h = ekf.innovation(x, p, tower, z, r)
    gated = nu**2 / s <= gate_d2(0.997)
    assert gated.all()
    spreads, shares = {}, {}
    for prune in (False, True):
        cfg = jpda.JpdaConfig(enabled=True, prune_permutations=prune)
        w = jpda.marginals(nu, s, gated, np.full(2, 0.9), np.ones(2), cfg)
        xn, _ = jpda.pda_update(x, p, h, nu, r, w.beta)
        after = np.arctan2(xn[:, 0], xn[:, 1])
        spreads[prune] = float(after[1] - after[0]) / SIGMA
        shares[prune] = float(w.beta[0, 1])  # track 0's share of track 1's bearing
    assert shares[False] > 0.3 and shares[True] < 0.01
    assert spreads[False] < 1.0 < 1.15 < spreads[True]  # drawn together / kept apart


def test_pda_update_is_the_ekf_update_when_certain() -> None:
    x = np.array([[100.0, 2000.0, 1.0, 0.0], [-300.0, 1500.0, 0.0, 1.0]])
    p = np.array([np.diag([100.0, 400.0, 1.0, 1.0])] * 2)
    z = np.array([math.atan2(110.0, 2000.0), math.atan2(-290.0, 1500.0)])
    r = np.full(2, SIGMA**2)
    nu, _, h = ekf.innovation(x, p, np.zeros(2), z, r)
    beta = np.eye(2)
    xn, pn = jpda.pda_update(x, p, h, nu, r, beta)
    xe, pe = ekf.update(x, p, h, np.diag(nu).copy(), r)
    np.testing.assert_allclose(xn, xe, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(pn, pe, rtol=1e-6, atol=1e-6)
    x0, p0 = jpda.pda_update(x, p, h, nu, r, np.zeros((2, 2)))
    np.testing.assert_allclose(x0, x)
    np.testing.assert_allclose(p0, p)


def test_soft_updates_only_ambiguous_clusters() -> None:
    x = np.array([[0.0, 2000.0, 0.0, 0.0], [5.0, 2000.0, 0.0, 0.0],
                  [1500.0, 1500.0, 0.0, 0.0]])
    p = np.array([np.diag([25.0, 25.0, 0.5, 0.5])] * 3)
    z = np.array([math.atan2(2.0, 2000.0), math.atan2(1500.0, 1500.0)])
    r = np.full(2, SIGMA**2)
    nu, s, h = ekf.innovation(x, p, np.zeros(2), z, r)
    gated = nu**2 / s <= gate_d2(0.997)
    asked: list[list[int]] = []

    def pd(idx: np.ndarray) -> np.ndarray:
        asked.append(idx.tolist())
        return np.full(idx.size, 0.8)

    out = jpda.soft_updates(x, p, h, nu, s, gated, r, pd, lambda: np.ones(2),
                            jpda.JpdaConfig(enabled=True))
    assert sorted(out) == [0, 1]  # the lone track 2 keeps the assignment's hard update
    assert asked == [[0, 1]]


# -- a two-target crossing seen by three bearing towers, one report at a time ------------
TOWERS = np.array([[0.0, 0.0], [2500.0, 0.0], [4500.0, 2000.0]])


def _crossing(seed: int, method: str, duration_s: float = 200.0, pd: float = 0.6) -> bool:
    """Two walkers (1.4 m/s) crossing at 60 degrees 2.5 km from the towers; a report every
    0.5 s from each tower in turn, each walker detected with probability ``pd``. The tracks
    start on their walkers; True when they end on each other's (an identity swap)."""
    rng = np.random.default_rng(seed)
    centre, half = np.array([1250.0, 2500.0]), math.radians(30.0)
    v = [1.4 * np.array([math.sin(half), math.cos(half)]),
         1.4 * np.array([-math.sin(half), math.cos(half)])]
    start = [centre - vk * duration_s / 2 for vk in v]
    x = np.array([[*start[k], *v[k]] for k in range(2)]) + rng.normal(0, [10, 10, 0.1, 0.1],
                                                                      size=(2, 4))
    p = np.array([np.diag([30.0**2, 30.0**2, 0.3**2, 0.3**2])] * 2)
    cfg = jpda.JpdaConfig(enabled=True, prune_permutations=method == "jpda*")
    t_prev = 0.0
    for step in range(1, int(2 * duration_s)):
        t = 0.5 * step
        tower = TOWERS[step % 3]
        seen = [start[k] + v[k] * t for k in range(2) if rng.random() < pd]
        z = np.array([math.atan2(q[0] - tower[0], q[1] - tower[1]) + rng.normal(0, SIGMA)
                      for q in seen])
        rng.shuffle(z)
        x, p = ekf.predict(x, p, np.full(2, t - t_prev), np.full(2, 0.05))
        t_prev = t
        if z.size == 0:
            continue
        r = np.full(z.size, SIGMA**2)
        nu, s, h = ekf.innovation(x, p, tower, z, r)
        found = assign(nu, s, gate_d2(0.997))
        assert found.gated is not None
        soft = ({} if method == "gnn" else jpda.soft_updates(
            x, p, h, nu, s, found.gated, r, lambda i: np.full(i.size, pd),
            functools.partial(np.full, z.size, 0.05), cfg))
        x, p = x.copy(), p.copy()
        if found.tracks.size:
            ti, di = found.tracks, found.detections
            xn, pn = ekf.update(x[ti], p[ti], h[ti], nu[ti, di], r[di])
            for k, t_idx in enumerate(ti.tolist()):
                x[t_idx], p[t_idx] = soft.pop(t_idx, (xn[k], pn[k]))
        for t_idx, (xs, ps) in soft.items():
            x[t_idx], p[t_idx] = xs, ps
    end = [start[k] + v[k] * duration_s for k in range(2)]
    d = [[float(np.hypot(*(x[i, :2] - end[j]))) for j in range(2)] for i in range(2)]
    return d[0][1] + d[1][0] < d[0][0] + d[1][1]


@pytest.mark.parametrize("seed", [4, 7, 11])
def test_crossing_gnn_swaps_jpda_keeps_identities(seed: int) -> None:
    assert _crossing(seed, "gnn")
    assert not _crossing(seed, "jpda*")
    assert not _crossing(seed, "jpda")


def test_crossing_without_swap_kept_by_all() -> None:
    assert not any(_crossing(0, method) for method in ("gnn", "jpda", "jpda*"))
