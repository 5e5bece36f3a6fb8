"""Variants of the consensus fit and the batch scheduler tried against the simulation's world.

Same world as bench/ranking_simulation.py (1,000 items, batch 6, 20 experts of whom 10% order at
random, Thurstone noise s, fit every 83 judgements): each variant changes one thing of "base"
(ranking.scheduler.choose_batch + ranking.reliability.consensus_fit) and
prints the views per item until the fit's Spearman rho >= 0.9, with each seed's figure ("base"
breaks orderings uniformly, 2/k per pair, as the platform did before "pairs_adjacent_x2" was
adopted as ranking.fit.rank_breaking_weights' default). This is a
record of what was measured, so the code below is experimental and not used by the platform:

- fits: Plackett-Luce on the orderings (MAP, Newton-CG), alone, with the Kendall tau weights,
  or with an expert-level EM mixture (reliable vs random orderer, Crowd-BT's idea); weighted
  Bradley-Terry with that EM instead of tau weights; known random experts (oracle reliability);
  a probit (Thurstone-Mosteller) pair model;
  other priors; pair weights by distance within the ordering;
- schedulers: other temperatures, windows and view gaps; the scheduler fed the true scores
  (oracle); "near" (partners within a score width of the seed) and "ladder" (partners at steps of
  a score delta); seeds by rank uncertainty (SE x density of scores) with uneven views;
- policy: experts flagged by the fit get no more batches.

    .venv/bin/python bench/ranking_variants.py base pl pl_em [--noise 1.0] [--seeds 10]
    .venv/bin/python bench/ranking_variants.py --list
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Container
from dataclasses import dataclass, field, replace
from math import lgamma
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ranking.fit import FitParams, ScaleFit, _preconditioned_cg, fit_bradley_terry, rank_breaking_weights
from ranking.glicko2 import PairOutcomes
from ranking.reliability import consensus_fit, spearman
from ranking.scheduler import Pool, SchedulerParams, _pair_gain, choose_batch, item_set_key, random_batch

N_ITEMS, BATCH, N_EXPERTS, INCONSISTENT, PERIOD = 1000, 6, 20, 0.10, 83
FIRST, SECOND = np.triu_indices(BATCH, k=1)
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass
class World:
    quality: FloatArray
    inconsistent: NDArray[np.bool_]
    flagged: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(N_EXPERTS, bool))
    priority: FloatArray | None = None  # rank uncertainty of the pool, for the "ru" choosers


FitFn = Callable[[IntArray, IntArray, ScaleFit, World], ScaleFit]
ChooseFn = Callable[..., IntArray | None]


def _pairs(orderings: IntArray, experts: IntArray) -> tuple[PairOutcomes, IntArray]:
    first, second = orderings[:, FIRST].ravel(), orderings[:, SECOND].ravel()
    return PairOutcomes(first, second, np.ones(len(first))), np.repeat(experts, len(FIRST))


# Fits ------------------------------------------------------------------------------------------


def fit_base(orderings: IntArray, experts: IntArray, prev: ScaleFit, world: World, **kw: object) -> ScaleFit:
    out, who = _pairs(orderings, experts)
    fit, agreement = consensus_fit(
        N_ITEMS,
        out,
        rank_breaking_weights(np.full(len(orderings), BATCH), adjacent=1.0),
        who,
        N_EXPERTS,
        init=prev.score,
        **kw,
    )
    world.flagged = agreement.flagged
    return fit


def fit_plackett_luce(orderings: IntArray, w: FloatArray, *, init: FloatArray, prior_sd: float = 2.0) -> ScaleFit:
    """MAP Plackett-Luce: each ordering is k-1 choices of the first among those left."""
    n, k = N_ITEMS, orderings.shape[1]
    lam, theta, flat = 1.0 / prior_sd**2, init.copy(), orderings.ravel()
    stage = np.r_[np.ones(k - 1), 0.0]

    def parts(theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        t = theta[orderings]
        e = np.exp(t - t.max(axis=1, keepdims=True))
        d = np.cumsum(e[:, ::-1], axis=1)[:, ::-1]  # sum over the items still to be placed
        inv_d = stage / d
        return e, d, inv_d, np.cumsum(inv_d, axis=1), np.cumsum(inv_d / d, axis=1)

    for _ in range(12):
        e, d, _, a, b = parts(theta)
        grad = np.bincount(flat, (w[:, None] * (stage - e * a)).ravel(), minlength=n) - lam * theta
        if np.abs(grad).max() < 1e-6:
            break
        diag = np.bincount(flat, (w[:, None] * (e * a - e * e * b)).ravel(), minlength=n) + lam

        def hess_vec(x: FloatArray, e: FloatArray = e, d: FloatArray = d, a: FloatArray = a) -> FloatArray:
            ex = e * x[orderings]
            c = np.cumsum((stage / d) * np.cumsum(ex[:, ::-1], axis=1)[:, ::-1] / d, axis=1)
            return np.bincount(flat, (w[:, None] * (ex * a - e * c)).ravel(), minlength=n) + lam * x

        theta = theta + _preconditioned_cg(hess_vec, grad, diag, 60)
    e, _, _, a, b = parts(theta)
    diag = np.bincount(flat, (w[:, None] * (e * a - e * e * b)).ravel(), minlength=n) + lam
    return ScaleFit(theta - theta.mean(), 1.0 / np.sqrt(diag))


def _pl_loglik(theta: FloatArray, orderings: IntArray) -> FloatArray:
    t = theta[orderings]
    d = np.logaddexp.accumulate(t[:, ::-1], axis=1)[:, ::-1]
    return (t[:, :-1] - d[:, :-1]).sum(axis=1)


def _em_posterior(theta: FloatArray, orderings: IntArray, experts: IntArray, prior: float = 0.9) -> FloatArray:
    """P(expert is a real orderer | data): PL likelihood against 1/k! for every ordering."""
    llr = np.bincount(experts, _pl_loglik(theta, orderings) + lgamma(BATCH + 1), minlength=N_EXPERTS)
    return 1.0 / (1.0 + np.exp(-np.clip(np.log(prior / (1 - prior)) + llr, -50, 50)))


def fit_pl(orderings: IntArray, experts: IntArray, prev: ScaleFit, world: World) -> ScaleFit:
    return fit_plackett_luce(orderings, np.ones(len(orderings)), init=prev.score)


def fit_pl_tau(orderings: IntArray, experts: IntArray, prev: ScaleFit, world: World) -> ScaleFit:
    from ranking.reliability import expert_agreement

    out, who = _pairs(orderings, experts)
    fit = fit_plackett_luce(orderings, np.ones(len(orderings)), init=prev.score)
    for _ in range(2):
        weight = expert_agreement(out, who, N_EXPERTS, fit.score).weight
        fit = fit_plackett_luce(orderings, weight[experts], init=fit.score)
    return fit


def fit_pl_em(orderings: IntArray, experts: IntArray, prev: ScaleFit, world: World) -> ScaleFit:
    w, fit = np.ones(len(orderings)), prev
    for _ in range(3):
        fit = fit_plackett_luce(orderings, w, init=fit.score)
        w = _em_posterior(fit.score, orderings, experts)[experts]
    return fit_plackett_luce(orderings, w, init=fit.score)


def fit_bt_em(orderings: IntArray, experts: IntArray, prev: ScaleFit, world: World) -> ScaleFit:
    out, _ = _pairs(orderings, experts)
    w, fit = np.ones(len(orderings)), prev
    for _ in range(3):
        fit = fit_bradley_terry(N_ITEMS, out, (2.0 / BATCH) * np.repeat(w, len(FIRST)), init=fit.score)
        w = _em_posterior(fit.score, orderings, experts)[experts]
    return fit


def fit_oracle_reliability(orderings: IntArray, experts: IntArray, prev: ScaleFit, world: World) -> ScaleFit:
    out, who = _pairs(orderings, experts)
    weights = rank_breaking_weights(np.full(len(orderings), BATCH), adjacent=1.0) * (~world.inconsistent)[who]
    return fit_bradley_terry(N_ITEMS, out, weights, init=prev.score)


def _normal_cdf(x: FloatArray) -> FloatArray:
    """Abramowitz and Stegun 7.1.26 (error < 1.5e-7; numpy has no erf)."""
    z = np.abs(x) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
    return 0.5 * (1.0 + np.sign(x) * (1.0 - poly * np.exp(-z * z)))


def fit_thurstone_mosteller(out: PairOutcomes, w: FloatArray, *, init: FloatArray, prior_sd: float) -> ScaleFit:
    """MAP probit pairs (Fisher scoring, Newton-CG): the pairwise marginal of Gaussian perception."""
    a, b, s, n, lam, theta = out.first, out.second, out.score, N_ITEMS, 1.0 / prior_sd**2, init.copy()

    def terms(theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        x = theta[a] - theta[b]
        p = np.clip(_normal_cdf(x), 1e-12, 1 - 1e-12)
        density = np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
        return p, density, w * density * density / (p * (1 - p))

    for _ in range(12):
        p, density, c = terms(theta)
        r = w * (s - p) * density / (p * (1 - p))
        grad = np.bincount(a, r, minlength=n) - np.bincount(b, r, minlength=n) - lam * theta
        if np.abs(grad).max() < 1e-6:
            break
        diag = np.bincount(a, c, minlength=n) + np.bincount(b, c, minlength=n) + lam

        def hess_vec(v: FloatArray, c: FloatArray = c) -> FloatArray:
            d = c * (v[a] - v[b])
            return np.bincount(a, d, minlength=n) - np.bincount(b, d, minlength=n) + lam * v

        theta = theta + _preconditioned_cg(hess_vec, grad, diag, 60)
    c = terms(theta)[2]
    diag = np.bincount(a, c, minlength=n) + np.bincount(b, c, minlength=n) + lam
    return ScaleFit(theta - theta.mean(), 1.0 / np.sqrt(diag))


def fit_probit(orderings: IntArray, experts: IntArray, prev: ScaleFit, world: World) -> ScaleFit:
    """Thurstone-Mosteller with adjacent pairs x2 and tau weights (probit scale ~ logit / 1.7)."""
    from ranking.reliability import expert_agreement

    out, who = _pairs(orderings, experts)
    base = rank_breaking_weights(np.full(len(orderings), BATCH))
    fit = fit_thurstone_mosteller(out, base, init=prev.score / 1.7, prior_sd=2.0 / 1.7)
    for _ in range(2):
        weight = expert_agreement(out, who, N_EXPERTS, fit.score).weight
        fit = fit_thurstone_mosteller(out, base * weight[who], init=fit.score, prior_sd=2.0 / 1.7)
    return fit


def fit_by_distance(weigh: Callable[[FloatArray], FloatArray]) -> FitFn:
    """Pairs weighted by how far apart they are in the ordering (mean weight 2/k as in base)."""
    by_distance = weigh((SECOND - FIRST).astype(np.float64))
    by_distance = by_distance / by_distance.mean() * 2.0 / BATCH

    def fit(orderings: IntArray, experts: IntArray, prev: ScaleFit, world: World) -> ScaleFit:
        out, who = _pairs(orderings, experts)
        weights = np.tile(by_distance, len(orderings))
        return consensus_fit(N_ITEMS, out, weights, who, N_EXPERTS, init=prev.score)[0]

    return fit


def fit_prior(sd: float, rounds: int = 2) -> FitFn:
    def fit(orderings: IntArray, experts: IntArray, prev: ScaleFit, world: World) -> ScaleFit:
        return fit_base(orderings, experts, prev, world, params=FitParams(prior_sd=sd), rounds=rounds)

    return fit


# Choosers --------------------------------------------------------------------------------------


def _seed(pool: Pool, rng: np.random.Generator, tried: set[int]) -> int | None:
    order = np.lexsort((rng.random(len(pool)), -pool.spread, pool.views))
    return next((int(i) for i in order if int(i) not in tried), None)


def _chooser(partners: Callable[[Pool, int, NDArray[np.bool_], np.random.Generator], list[int]]) -> ChooseFn:
    def choose(
        pool: Pool, *, params: SchedulerParams, rng: np.random.Generator, exclude_sets: Container[str] = ()
    ) -> IntArray | None:
        tried: set[int] = set()
        base = pool.views - pool.views.min()
        for _ in range(params.attempts):
            seed = _seed(pool, rng, tried)
            if seed is None:
                return None
            tried.add(seed)
            available = base <= params.max_view_gap
            available[seed] = False
            batch = pool.item[np.asarray([seed, *partners(pool, seed, available, rng)])]
            if item_set_key(batch) not in exclude_sets:
                return rng.permutation(batch)
        return None

    return choose


def near(width: float) -> ChooseFn:
    def partners(pool: Pool, seed: int, available: NDArray[np.bool_], rng: np.random.Generator) -> list[int]:
        value = -(((pool.location - pool.location[seed]) / width) ** 2) - 0.5 * (pool.views - pool.views.min())
        value = value + rng.gumbel(size=len(pool))
        value[~available] = -np.inf
        return list(np.argpartition(-value, BATCH - 2)[: BATCH - 1])

    return _chooser(partners)


def ladder(delta: float, jitter: float = 0.3) -> ChooseFn:
    def partners(pool: Pool, seed: int, available: NDArray[np.bool_], rng: np.random.Generator) -> list[int]:
        slot = int(rng.integers(BATCH))
        targets = np.delete(pool.location[seed] + delta * (np.arange(BATCH) - slot), slot)
        chosen = []
        for target in rng.permutation(targets):
            distance = np.abs(pool.location - target) + jitter * rng.random(len(pool))
            distance = distance + 0.5 * (pool.views - pool.views.min())
            distance[~available] = np.inf
            chosen.append(int(np.argmin(distance)))
            available[chosen[-1]] = False
        return chosen

    return _chooser(partners)


def rank_uncertain(world: World, gap: int) -> ChooseFn:
    """Seed = most uncertain rank (Gumbel noise), views up to ``gap`` apart; partners by gain."""

    def choose(
        pool: Pool, *, params: SchedulerParams, rng: np.random.Generator, exclude_sets: Container[str] = ()
    ) -> IntArray | None:
        assert world.priority is not None
        var, base = pool.spread**2, pool.views - pool.views.min()
        top = float(world.priority.max())
        priority = world.priority / top if top > 0 else np.ones(len(pool))
        tried: set[int] = set()
        for _ in range(params.attempts):
            available = base <= gap
            value = priority + 0.3 * rng.gumbel(size=len(pool))
            value[~available | np.isin(np.arange(len(pool)), list(tried))] = -np.inf
            chosen = [int(np.argmax(value))]
            tried.add(chosen[0])
            available[chosen[0]] = False
            gain = np.zeros(len(pool))
            while len(chosen) < BATCH:
                last = chosen[-1]
                gain += _pair_gain(pool.location[last], var[last], pool.location, var)
                scale = float(gain[available].max(initial=0.0)) or 1.0
                value = gain * (0.5 + priority) + params.temperature * scale * rng.gumbel(size=len(pool))
                value[~available] = -np.inf
                chosen.append(int(np.argmax(value)))
                available[chosen[-1]] = False
            batch = pool.item[np.asarray(chosen)]
            if item_set_key(batch) not in exclude_sets:
                return rng.permutation(batch)
        return None

    return choose


# Variants --------------------------------------------------------------------------------------


P = SchedulerParams(batch_size=BATCH)


@dataclass(frozen=True)
class Variant:
    fit: FitFn = fit_base
    params: SchedulerParams = P
    choose: Callable[[World], ChooseFn] | None = None
    random: bool = False
    oracle_scores: bool = False
    refuse_flagged: bool = False


VARIANTS: dict[str, Variant] = {
    "base": Variant(),
    "random": Variant(random=True),
    "random_pl_em": Variant(random=True, fit=fit_pl_em),
    "balanced": Variant(params=replace(P, temperature=1e6)),
    "pl": Variant(fit=fit_pl),
    "pl_tau": Variant(fit=fit_pl_tau),
    "pl_em": Variant(fit=fit_pl_em),
    "bt_em": Variant(fit=fit_bt_em),
    "oracle_reliability": Variant(fit=fit_oracle_reliability),
    "prior1": Variant(fit=fit_prior(1.0)),
    "prior4": Variant(fit=fit_prior(4.0)),
    "no_expert_weights": Variant(fit=fit_prior(2.0, rounds=0)),
    "pairs_1/d": Variant(fit=fit_by_distance(lambda d: 1 / d)),
    "pairs_1/d2": Variant(fit=fit_by_distance(lambda d: 1 / d**2)),
    "pairs_d": Variant(fit=fit_by_distance(lambda d: d)),
    "pairs_adjacent_x2": Variant(fit=fit_by_distance(lambda d: np.where(d == 1, 2.0, 1.0))),
    "pairs_adjacent_x3": Variant(fit=fit_by_distance(lambda d: np.where(d == 1, 3.0, 1.0))),
    "probit_adjacent_x2": Variant(fit=fit_probit),
    "pairs_adjacent_only": Variant(fit=fit_by_distance(lambda d: (d == 1) + 1e-9)),
    "temperature0.1": Variant(params=replace(P, temperature=0.1)),
    "temperature0.5": Variant(params=replace(P, temperature=0.5)),
    "temperature1.0": Variant(params=replace(P, temperature=1.0)),
    "view_gap2": Variant(params=replace(P, max_view_gap=2)),
    "view_penalty0.2": Variant(params=replace(P, view_penalty=0.2)),
    "window128": Variant(params=replace(P, window=128)),
    "window512": Variant(params=replace(P, window=512)),
    "oracle_scores": Variant(oracle_scores=True),
    "oracle_scores_t1": Variant(oracle_scores=True, params=replace(P, temperature=1.0)),
    "near0.5": Variant(choose=lambda w: near(0.5)),
    "near1": Variant(choose=lambda w: near(1.0)),
    "near2": Variant(choose=lambda w: near(2.0)),
    "ladder0.3": Variant(choose=lambda w: ladder(0.3)),
    "ladder0.6": Variant(choose=lambda w: ladder(0.6)),
    "ladder1.0": Variant(choose=lambda w: ladder(1.0)),
    "rank_uncertain_gap2": Variant(choose=lambda w: rank_uncertain(w, 2)),
    "rank_uncertain_gap3": Variant(choose=lambda w: rank_uncertain(w, 3)),
    "rank_uncertain_gap3_window1000": Variant(choose=lambda w: rank_uncertain(w, 3), params=replace(P, window=1000)),
    "rank_uncertain_gap3_prior1": Variant(choose=lambda w: rank_uncertain(w, 3), fit=fit_prior(1.0)),
    "refuse_flagged_experts": Variant(refuse_flagged=True),
}


def run(variant: Variant, noise: float, seed: int, max_views: float) -> tuple[list[float], list[float]]:
    source = np.random.default_rng(seed)  # the same world as bench/ranking_simulation.py
    world = World(source.standard_normal(N_ITEMS), np.zeros(N_EXPERTS, bool))
    world.inconsistent[source.choice(N_EXPERTS, size=round(INCONSISTENT * N_EXPERTS), replace=False)] = True
    rng = np.random.default_rng(seed + 10_000)
    choose = variant.choose(world) if variant.choose else choose_batch
    fit = ScaleFit(np.zeros(N_ITEMS), np.full(N_ITEMS, 2.0))
    views = np.zeros(N_ITEMS, np.int64)
    seen: list[set[str]] = [set() for _ in range(N_EXPERTS)]
    orderings: list[IntArray] = []
    experts: list[int] = []
    xs: list[float] = []
    ys: list[float] = []
    while views.sum() / N_ITEMS < max_views:
        expert = int(rng.integers(N_EXPERTS))
        while variant.refuse_flagged and world.flagged[expert]:
            expert = int(rng.integers(N_EXPERTS))
        if variant.random:
            batch = random_batch(N_ITEMS, BATCH, rng)
        else:
            window = np.lexsort((rng.random(N_ITEMS), views))[: variant.params.window]
            location = 1.2 * world.quality if variant.oracle_scores else fit.score
            if variant.choose is not None:
                counts, edges = np.histogram(fit.score, bins=40)
                density = counts[np.clip(np.searchsorted(edges, fit.score) - 1, 0, 39)] / (edges[1] - edges[0])
                world.priority = (fit.se * density)[window]
            pool = Pool(window, location[window], fit.se[window], views[window])
            batch = choose(pool, params=variant.params, rng=rng, exclude_sets=seen[expert])
            assert batch is not None
        seen[expert].add(item_set_key(batch))
        views[batch] += 1
        if world.inconsistent[expert]:
            orderings.append(rng.permutation(batch))
        else:
            orderings.append(batch[np.argsort(-(world.quality[batch] + noise * rng.standard_normal(BATCH)))])
        experts.append(expert)
        if len(orderings) % PERIOD == 0:
            fit = variant.fit(np.asarray(orderings), np.asarray(experts), fit, world)
            xs.append(views.sum() / N_ITEMS)
            ys.append(spearman(fit.score, world.quality))
    return xs, ys


def crossing(xs: list[float], ys: list[float], level: float = 0.9) -> float:
    for i, y in enumerate(ys):
        if y >= level:
            return xs[0] if i == 0 else xs[i - 1] + (xs[i] - xs[i - 1]) * (level - ys[i - 1]) / (y - ys[i - 1])
    return float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", default=["base"])
    parser.add_argument("--noise", type=float, default=1.0)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--max-views", type=float, default=12.0)
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        print("\n".join(VARIANTS))
        return
    for name in args.variants:
        started = time.perf_counter()
        needs = [crossing(*run(VARIANTS[name], args.noise, s, args.max_views)) for s in range(args.seeds)]
        print(
            f"{name:32s} s={args.noise}  views/item to rho>=0.9: {np.mean(needs):5.2f}  "
            f"({' '.join(f'{x:.2f}' for x in needs)})  {time.perf_counter() - started:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
