"""Expert reliability: flags find the experts who answer at random, and the admin's decisions
(stop issuing, exclude, trust, weigh or not) act on issuing and on the consensus.

Which experts answer at random is decided by the test itself (the simulated experts), never read
from the code under test; the ranking simulation follows issue 11's Must-show: 10% random experts,
20 batches each, precision and recall of the flags >= 0.9."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from annotations.services import do_issue_next_task, do_issue_task, do_submit_judgement
from media_ingest.models import ProjectItem
from projects.models import ProjectMembership
from quality.services import do_refresh_dashboard, do_set_standing
from ranking.models import RatingState
from ranking.services import do_recompute_ratings
from tests.factories import project_with_items
from tests.support import make_user
from tests.test_ranking_support import ranking_project

pytestmark = pytest.mark.django_db

EXPERTS, RANDOM, BATCHES, ITEMS = 20, 2, 20, 120


def simulate_ranking(seed: int, **fields):
    """20 experts (2 ordering at random) each answer 20 batches of 6, issued by the platform's
    ranking issuer; the others order by a latent quality seen through Thurstone noise."""
    rng = np.random.default_rng(seed)
    experts = [make_user(f"s{seed}-expert-{k:02d}") for k in range(EXPERTS)]
    project, items = ranking_project(
        *experts, items=ITEMS, slug=f"sim-{seed}", consensus_min_ssr=1.0, rating_period_judgements=20, **fields
    )
    quality = {item.pk: float(rng.standard_normal()) for item in items}
    random_experts = {experts[k].pk for k in rng.choice(EXPERTS, size=RANDOM, replace=False)}
    for _ in range(BATCHES):
        for expert in experts:
            task = do_issue_next_task(project, expert=expert, rng=rng)
            assert task is not None
            ids = [row.item_id for row in task.task_items.all()]
            if expert.pk in random_experts:
                ordering = [int(i) for i in rng.permutation(ids)]
            else:
                ordering = sorted(ids, key=lambda i: -(quality[i] + 0.5 * rng.standard_normal()))
            do_submit_judgement(task.pk, expert=expert, answer={"ordering": ordering, "ties": []})
    do_recompute_ratings(project)
    return project, experts, random_experts


def assess(project) -> list[ProjectMembership]:
    """What the worker does every minute: refresh the dashboard, which assesses every member."""
    do_refresh_dashboard(project)
    return list(ProjectMembership.objects.filter(project=project).select_related("user"))


def flagged_ids(project) -> set[int]:
    return {m.user_id for m in assess(project) if m.flagged}


def test_flags_find_the_random_experts_of_a_ranking_project():
    found = relevant = hits = 0
    for seed in range(3):
        project, _, random_experts = simulate_ranking(seed)
        flagged = flagged_ids(project)
        found += len(flagged)
        relevant += len(random_experts)
        hits += len(flagged & random_experts)
        # every member was assessed over their 20 batches
        assert set(
            ProjectMembership.objects.filter(project=project, compared=BATCHES).values_list("user_id", flat=True)
        ) == {m.user_id for m in ProjectMembership.objects.filter(project=project)}
    precision, recall = hits / max(found, 1), hits / relevant
    print(f"flags over 3 simulated projects: precision {precision:.2f}, recall {recall:.2f}")
    assert precision >= 0.9 and recall >= 0.9


def test_stopping_flagged_experts_and_the_admins_decisions(client):
    project, experts, random_experts = simulate_ranking(7)
    flagged = flagged_ids(project)
    assert flagged == random_experts
    rng = np.random.default_rng(1)
    bad, good = sorted(random_experts)[0], next(e for e in experts if e.pk not in random_experts)
    bad_user = next(e for e in experts if e.pk == bad)

    def next_task(user):
        task = do_issue_next_task(project, expert=user, rng=rng)
        if task is not None:  # leave nothing open, so the next call issues anew
            task.status = "expired"
            task.save(update_fields=["status"])
        return task

    # Shown only: a flagged expert still gets tasks while the project does not stop issuing.
    assert next_task(bad_user) is not None
    project.stop_issuing_flagged = True
    project.save()
    assert next_task(bad_user) is None
    assert next_task(good) is not None
    # The admin trusts the flagged expert: tasks again; excludes a good one: none.
    admin = make_user("qc-admin", staff=True)
    do_set_standing(project, expert_id=bad, standing=ProjectMembership.Standing.TRUSTED, by=admin)
    assert next_task(bad_user) is not None
    do_set_standing(project, expert_id=good.pk, standing=ProjectMembership.Standing.EXCLUDED, by=admin)
    assert next_task(good) is None

    # The consensus fit takes the decisions: excluded weighs 0, trusted 1 (after the refit).
    do_recompute_ratings(project)
    weights = {row["expert_id"]: row["weight"] for row in RatingState.objects.get(project=project).experts}
    assert weights[good.pk] == 0.0 and weights[bad] == 1.0
    other_random = next(e for e in random_experts if e != bad)
    assert weights[other_random] < 0.3  # still estimated by the fit: near 0 for a random orderer
    project.weigh_experts = False
    project.save()
    do_recompute_ratings(project)
    weights = {row["expert_id"]: row["weight"] for row in RatingState.objects.get(project=project).experts}
    assert weights[other_random] == 1.0 and weights[good.pk] == 0.0

    # The dashboard shows the flags and takes the decision (staff only).
    client.force_login(admin)
    response = client.get(reverse("quality_dashboard", args=[project.slug]))
    assert response.status_code == 200
    assert response.content.count(b'class="flagged"') == RANDOM
    url = reverse("quality_set_standing", args=[project.slug, other_random])
    assert client.post(url, {"standing": "nonsense"}).status_code == 400
    assert client.post(url, {"standing": "excluded"}).status_code == 302
    assert ProjectMembership.objects.get(project=project, user_id=other_random).standing == "excluded"
    client.force_login(bad_user)
    assert client.post(url, {"standing": "trusted"}).status_code == 404
    assert ProjectMembership.objects.get(project=project, user_id=other_random).standing == "excluded"


def answer(project, expert, item, body):
    task = do_issue_task(project, expert=expert, items=[item], rng=np.random.default_rng(0))
    do_submit_judgement(task.pk, expert=expert, answer=body, time_on_task_ms=2000)


def assessed(project) -> dict[str, tuple[float | None, int, bool]]:
    return {m.user.username: (m.agreement, m.compared, m.flagged) for m in assess(project)}


def test_classification_flags_the_expert_against_everyone():
    experts = [make_user(f"cls-{k}") for k in range(4)]
    classes = [{"key": key, "name": key.upper(), "description": key} for key in ("a4c", "a2c", "plax", "psax")]
    project = project_with_items(
        "classification", *experts, items=20, slug="cls-flags", flag_min_answers=20, label_schema={"classes": classes}
    )
    for n, item in enumerate(ProjectItem.objects.filter(project=project).order_by("id")):
        truth = ["a4c", "a2c", "plax"][n % 3]
        for expert in experts[:3]:
            answer(project, expert, item, {"class": truth})
        answer(project, experts[3], item, {"class": "psax" if truth != "psax" else "a4c"})
    found = assessed(project)
    assert found["cls-3"] == (0.0, 20, True)
    assert found["cls-0"] == (1.0, 20, False)
    project.flag_min_answers = 21  # too few answers to flag anyone
    project.save()
    assert not any(flag for _, _, flag in assessed(project).values())


def test_keypoints_and_temporal_flag_the_expert_far_from_the_others():
    experts = [make_user(f"kp-{k}") for k in range(4)]
    project = project_with_items("keypoints", *experts, items=20, slug="kp-flags")
    rng = np.random.default_rng(3)
    for item in ProjectItem.objects.filter(project=project).order_by("id"):
        for k, expert in enumerate(experts):
            # Three experts within ~1 px of (100, 80); the fourth 12 px away on every image.
            x, y = (100 + rng.normal(0, 0.7), 80 + rng.normal(0, 0.7)) if k < 3 else (112.0, 80.0)
            labels = {"apex": {"state": "placed", "points": [[x, y]]}, "lv": {"state": "off", "points": []}}
            answer(project, expert, item, {"frame": 0, "labels": labels})
    found = assessed(project)
    assert [name for name, (_, _, flag) in found.items() if flag] == ["kp-3"]
    # typical ~1 px from the others' median, the fourth 12 px: about (1 + 1) / (12 + 1) = 0.15
    assert found["kp-3"][0] < 0.25 and found["kp-0"][0] > 0.6

    people = [make_user(f"tm-{k}") for k in range(4)]
    project = project_with_items("temporal", *people, items=20, slug="tm-flags")
    for item in ProjectItem.objects.filter(project=project).order_by("id"):
        for k, expert in enumerate(people):
            lag = 5 if k == 3 else (k % 2)  # the fourth marks every event five frames late
            events = [{"key": "ed", "frame": 4 + lag, "beat": 1}, {"key": "es", "frame": 14 + lag, "beat": 1}]
            answer(project, expert, item, {"events": events})
    found = assessed(project)
    assert [name for name, (_, _, flag) in found.items() if flag] == ["tm-3"]
    assert found["tm-3"][1] == 40  # 20 clips x 2 events
