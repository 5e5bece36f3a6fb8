"""The read API: who sees what. A project one is not in is a 404 (projects, items, judgements,
ratings and media alike); an expert reads only their own judgements, staff all; scripts use a token;
pages are cursors; releases still building are not listed."""

import numpy as np
import pytest
from rest_framework.authtoken.models import Token

from annotations.services import do_issue_next_task, do_submit_judgement
from datasets.models import Release
from datasets.services import do_create_release
from media_ingest.models import ProjectItem
from tests.factories import project_with_items
from tests.support import make_user

pytestmark = pytest.mark.django_db


def answered(project, expert, answer):
    task = do_issue_next_task(project, expert=expert, rng=np.random.default_rng(0))
    return do_submit_judgement(task.pk, expert=expert, answer=answer(list(task.items.all())))[0]


@pytest.fixture
def world(db):
    alice, bob, outsider = make_user("alice"), make_user("bob"), make_user("outsider")
    admin = make_user("boss", staff=True)
    ranking = project_with_items("ranking", alice, bob, items=6, slug="rank", batch_size=3)
    other = project_with_items("classification", outsider, items=2, slug="elsewhere")
    mine = answered(ranking, alice, lambda items: {"ordering": [i.pk for i in items], "ties": []})
    theirs = answered(ranking, bob, lambda items: {"ordering": [i.pk for i in items], "ties": []})
    return {
        "alice": alice,
        "bob": bob,
        "outsider": outsider,
        "admin": admin,
        "ranking": ranking,
        "other": other,
        "mine": mine,
        "theirs": theirs,
    }


def as_token(client, user):
    client.defaults["HTTP_AUTHORIZATION"] = f"Token {Token.objects.create(user=user).key}"
    return client


def test_an_expert_sees_only_their_projects_and_their_own_judgements(client, world):
    client.force_login(world["alice"])
    assert [p["slug"] for p in client.get("/api/projects").json()["results"]] == ["rank"]
    judgements = client.get("/api/projects/rank/judgements").json()["results"]
    assert [j["id"] for j in judgements] == [world["mine"].pk]
    assert sorted(judgements[0]["answer"]["ordering"]) == sorted(judgements[0]["items"])
    for path in ("/api/projects/elsewhere", "/api/projects/elsewhere/items", "/api/projects/elsewhere/judgements"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["code"] == "not_found", path
    clip = ProjectItem.objects.filter(project=world["other"]).select_related("clip").first().clip
    assert client.get(f"/media/{clip.code}/frames/manifest.json").status_code == 404


def test_staff_read_every_judgement_with_a_token_in_cursor_pages(client, world):
    as_token(client, world["admin"])
    first = client.get("/api/projects/rank/judgements", {"page_size": 1}).json()
    second = client.get(first["next"]).json()
    assert [j["id"] for j in first["results"] + second["results"]] == sorted([world["mine"].pk, world["theirs"].pk])
    assert (
        client.get("/api/projects/rank/judgements", {"expert": world["bob"].pk}).json()["results"][0]["expert"]
        == world["bob"].pk
    )
    items = client.get("/api/projects/rank/items", {"is_active": "true"}).json()["results"]
    assert len(items) == 6 and all(len(i["clip"]) == 64 for i in items)


def test_ratings_for_ranking_projects_only(client, world):
    from ranking.services import do_recompute_ratings

    do_recompute_ratings(world["ranking"])
    client.force_login(world["alice"])
    ratings = client.get("/api/projects/rank/ratings").json()["results"]
    assert len(ratings) == 6 and all({"rating", "rd", "rank"} <= set(r) for r in ratings)
    client.force_login(world["outsider"])
    assert client.get("/api/projects/elsewhere/ratings").status_code == 404


def test_anonymous_callers_and_bad_tokens_are_refused(client, world):
    assert client.get("/api/projects").status_code == 403
    client.defaults["HTTP_AUTHORIZATION"] = "Token not-a-real-token"
    response = client.get("/api/projects")
    # 403, not 401: the session is the first scheme, and it asks for no WWW-Authenticate challenge.
    assert response.status_code == 403 and response.json()["code"] == "authentication_failed"


def test_releases_are_public_once_built_and_downloads_are_ones_own(client, world):
    building = do_create_release(world["ranking"], title="soon", queue=False)
    Release.objects.create(
        project=world["other"], version=1, title="ready one", status=Release.Status.READY, frozen_at=building.frozen_at
    )
    listed = client.get("/api/releases").json()["results"]
    assert [r["title"] for r in listed] == ["ready one"]
    assert client.get(f"/api/releases/{building.pk}").status_code == 404
    as_token(client, world["bob"])
    assert client.get("/api/downloads").json()["results"] == []
