"""Query strategies on hand-made inputs whose answer follows from each formula's definition, and the
learners on small real data (scikit-learn's digits) and tiny generated images. No database."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from activelearning.learners import KeypointRegressor, QualityRegressor, TrainParams, ViewClassifier
from activelearning.strategies import STRATEGIES, bald, k_center_greedy, mc_variance, select

POOL = np.array([10, 11, 12, 13])


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_entropy_picks_the_uniform_row() -> None:
    probs = np.array([[0.9, 0.05, 0.05], [1 / 3, 1 / 3, 1 / 3], [0.6, 0.4, 0.0], [0.5, 0.25, 0.25]])
    assert select("entropy", batch=1, pool_index=POOL, probs=probs, rng=rng()).tolist() == [11]


def test_margin_picks_the_smallest_gap_between_the_top_two_classes() -> None:
    # top-2 gaps 0.8, 0.05, 0.02, 0.2; row 1 is the least confident (0.4), not the smallest gap
    probs = np.array([[0.9, 0.1, 0.0], [0.4, 0.35, 0.25], [0.49, 0.47, 0.04], [0.5, 0.3, 0.2]])
    assert select("margin", batch=1, pool_index=POOL, probs=probs, rng=rng()).tolist() == [12]
    assert select("least_confidence", batch=1, pool_index=POOL, probs=probs, rng=rng()).tolist() == [11]


def test_least_confidence_picks_the_lowest_top_probability() -> None:
    probs = np.array([[0.9, 0.1, 0.0], [0.4, 0.35, 0.25], [0.49, 0.47, 0.04], [0.5, 0.2, 0.3]])
    assert select("least_confidence", batch=2, pool_index=POOL, probs=probs, rng=rng()).tolist() == [11, 12]


def test_bald_is_zero_when_every_pass_agrees_and_high_when_confident_passes_disagree() -> None:
    agree = np.tile([0.7, 0.2, 0.1], (10, 1))
    disagree = np.array([[0.98, 0.01, 0.01], [0.01, 0.98, 0.01]] * 5)
    uniform = np.full((10, 3), 1 / 3)  # uncertain but not disagreeing: aleatoric, not epistemic
    mc = np.stack([agree, disagree, uniform], axis=1)  # [T, n, C]
    scores = bald(mc)
    assert scores[0] == pytest.approx(0.0, abs=1e-6)
    assert scores[2] == pytest.approx(0.0, abs=1e-6)
    # H(mean) = ln 2 (nearly), mean H(pass) small: most of ln 2 remains
    assert scores[1] > 0.5
    assert select("bald", batch=1, pool_index=POOL[:3], mc_probs=mc, rng=rng()).tolist() == [11]


def test_variance_is_zero_when_passes_agree_and_ignores_absent_landmarks() -> None:
    passes = np.zeros((4, 3, 2, 2))  # [T, n, landmarks, xy]
    passes[:, 1, 0, 0] = [0.0, 2.0, 0.0, 2.0]  # item 1, landmark 0: x varies (variance 1)
    passes[:, 2, 1] = np.nan  # item 2: landmark 1 absent, landmark 0 agrees
    scores = mc_variance(passes)
    assert scores.tolist() == pytest.approx([0.0, 0.25, 0.0])  # mean over the 4 outputs of item 1
    assert select("variance", batch=1, pool_index=POOL[:3], mc_probs=passes, rng=rng()).tolist() == [11]


def test_k_center_greedy_on_a_line_picks_the_extremes_first() -> None:
    points = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [10.0]])
    # from the medoid (3.0, nearest the mean 3.33): the farthest point is 10, then 0
    assert k_center_greedy(points, 3).tolist() == [3, 5, 0]
    # with labelled items at 0 and 10 the next centre is the point farthest from both: 4 (4 from 0)
    assert k_center_greedy(points, 1, labelled=np.array([[0.0], [10.0]])).tolist() == [4]


def test_k_center_greedy_never_returns_a_duplicate_or_a_copy_of_a_labelled_item() -> None:
    points = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [5.0, 5.0]])
    chosen = k_center_greedy(points, 5, labelled=np.array([[5.0, 5.0]]))
    assert sorted(points[chosen].tolist()) == [[0.0, 0.0], [1.0, 1.0]]


def test_hybrid_never_returns_two_identical_embeddings_in_one_batch() -> None:
    generator = np.random.default_rng(1)
    n = 60
    distinct = generator.normal(size=(12, 4))
    embeddings = distinct[generator.integers(0, 12, size=n)]  # five copies of each on average
    probs = generator.dirichlet(np.ones(5), size=n)
    mc = np.stack([probs] * 3)  # every copy equally uncertain: uncertainty alone would take copies
    mc[0] = np.roll(probs, 1, axis=1)
    for batch in (4, 8, 12):
        chosen = select(
            "hybrid",
            batch=batch,
            pool_index=np.arange(n),
            mc_probs=mc,
            embeddings=embeddings,
            rng=generator,
            hybrid_factor=2.0,
        )
        assert len(chosen) == batch
        assert len({tuple(row) for row in embeddings[chosen]}) == batch


def test_hybrid_takes_only_from_the_most_uncertain_candidates() -> None:
    entropy_order = np.linspace(0.05, 0.95, 20)
    probs = np.stack([entropy_order, 1 - entropy_order], axis=1)  # row 9/10 nearest 0.5
    embeddings = np.arange(20, dtype=float)[:, None]
    chosen = select(
        "hybrid",
        batch=2,
        pool_index=np.arange(20),
        probs=probs,
        embeddings=embeddings,
        rng=rng(),
        hybrid_uncertainty="entropy",
        hybrid_factor=2.0,
    )
    assert set(chosen.tolist()) <= {8, 9, 10, 11}


def test_random_returns_distinct_pool_items_and_repeats_with_the_same_rng() -> None:
    first = select("random", batch=3, pool_index=POOL, rng=np.random.default_rng(5))
    again = select("random", batch=3, pool_index=POOL, rng=np.random.default_rng(5))
    assert first.tolist() == again.tolist()
    assert len(set(first.tolist())) == 3 and set(first.tolist()) <= set(POOL.tolist())


def test_cold_starts_need_no_labels_and_cover_separate_clusters() -> None:
    generator = np.random.default_rng(2)
    centres = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]])
    embeddings = np.concatenate([c + generator.normal(size=(30, 2)) for c in centres])
    cluster = np.repeat(np.arange(3), 30)
    for strategy in ("cold_start", "cold_start_kmeans"):
        chosen = select(strategy, batch=3, pool_index=np.arange(90), embeddings=embeddings, rng=rng())
        assert sorted(cluster[chosen].tolist()) == [0, 1, 2], strategy


def test_unknown_strategy_is_refused() -> None:
    assert "hybrid" in STRATEGIES
    with pytest.raises(ValueError, match="unknown strategy"):
        select("clairvoyant", batch=1, pool_index=POOL, embeddings=np.zeros((4, 2)), rng=rng())


# Learners ---------------------------------------------------------------------------------------

DIGITS_PARAMS = TrainParams(size=16, width=8, epochs=10, min_steps=150, max_steps=300, shift=1, seed=3)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, ...]:
    data = load_digits()
    images = np.clip(data.images * 16.0, 0, 255).astype(np.uint8)
    return tuple(train_test_split(images, data.target, test_size=300, stratify=data.target, random_state=0))


def test_view_classifier_trained_on_digits_beats_chance_by_a_wide_margin(digits: tuple[np.ndarray, ...]) -> None:
    x_train, x_test, y_train, y_test = digits
    model = ViewClassifier(10, DIGITS_PARAMS).fit(x_train[:400], y_train[:400])
    accuracy = float((model.predict(x_test) == y_test).mean())
    assert accuracy > 0.8  # chance is 0.1
    probs = model.predict_proba(x_test)
    assert probs.shape == (300, 10) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    passes = model.mc_predict(x_test[:50], passes=5)
    assert passes.shape == (5, 50, 10)
    assert not np.allclose(passes[0], passes[1])  # dropout is active in MC passes
    assert model.embed(x_test[:7]).shape == (7, 64)


def test_training_with_a_fixed_seed_gives_the_same_predictions_twice(digits: tuple[np.ndarray, ...]) -> None:
    x_train, x_test, y_train, _ = digits
    params = replace(DIGITS_PARAMS, min_steps=60, max_steps=60)
    first = ViewClassifier(10, params).fit(x_train[:200], y_train[:200])
    second = ViewClassifier(10, params).fit(x_train[:200], y_train[:200])
    assert np.array_equal(first.predict_proba(x_test), second.predict_proba(x_test))
    assert np.array_equal(first.mc_predict(x_test, passes=3, seed=1), second.mc_predict(x_test, passes=3, seed=1))
    other = ViewClassifier(10, replace(params, seed=4)).fit(x_train[:200], y_train[:200])
    assert not np.array_equal(first.predict_proba(x_test), other.predict_proba(x_test))


def _dots(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """32x32 images with one bright 3x3 dot: landmark 0 is its centre, landmark 1 never exists."""
    generator = np.random.default_rng(seed)
    images = np.zeros((n, 32, 32), np.uint8)
    points = np.full((n, 2, 2), np.nan, np.float32)
    for i, (x, y) in enumerate(generator.integers(4, 28, size=(n, 2))):
        images[i, y - 1 : y + 2, x - 1 : x + 2] = 255
        points[i, 0] = (x + 0.5, y + 0.5)
    return images, points


def test_keypoint_regressor_finds_a_dot_and_learns_that_a_masked_landmark_is_absent() -> None:
    images, points = _dots(300, seed=0)
    params = TrainParams(size=32, width=8, epochs=10, min_steps=250, max_steps=250, batch_size=16, seed=0)
    model = KeypointRegressor(2, params).fit(images[:250], points[:250])
    prediction = model.predict(images[250:])
    error = np.linalg.norm(prediction.points[:, 0] - points[250:, 0], axis=1)
    assert np.median(error) < 1.5  # pixels of a 32-pixel image
    assert (prediction.presence[:, 0] > 0.5).all() and (prediction.presence[:, 1] < 0.5).all()
    assert np.isnan(prediction.points[:, 1]).all()
    passes = model.mc_predict(images[250:260], passes=4)
    assert passes.shape == (4, 10, 2, 2) and np.isnan(passes[:, :, 1]).all()
    assert model.embed(images[:3]).shape == (3, 64)


def test_quality_regressor_ranks_frames_by_a_learnable_score() -> None:
    generator = np.random.default_rng(0)
    brightness = generator.uniform(0.1, 0.9, size=240)
    images = (generator.uniform(0.0, 1.0, size=(240, 16, 16)) * brightness[:, None, None] * 255).astype(np.uint8)
    params = TrainParams(size=16, width=8, epochs=10, min_steps=150, max_steps=150, seed=0)
    model = QualityRegressor(params).fit(images[:200], brightness[:200] * 10)
    predicted = model.predict(images[200:])
    assert np.corrcoef(predicted, brightness[200:])[0, 1] > 0.9
    assert model.mc_predict(images[200:], passes=3).shape == (3, 40)


@pytest.mark.parametrize("make", [lambda p: ViewClassifier(4, p), lambda p: KeypointRegressor(3, p), QualityRegressor])
def test_mc_predict_embed_gives_what_mc_predict_and_embed_give(make) -> None:
    rng = np.random.default_rng(5)
    X = rng.integers(0, 256, size=(40, 24, 24), dtype=np.uint8)
    learner = make(TrainParams(size=24, width=4, threads=1))
    mc, embeddings = learner.mc_predict_embed(X, passes=4, seed=9)
    np.testing.assert_array_equal(mc, learner.mc_predict(X, passes=4, seed=9))
    np.testing.assert_array_equal(embeddings, learner.embed(X))
