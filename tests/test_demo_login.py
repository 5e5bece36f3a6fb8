import pytest
from django.test import override_settings
from django.urls import reverse

from projects.demo import do_create_demo_accounts_and_projects

pytestmark = pytest.mark.django_db


def test_demo_login_is_404_when_debug_is_off(client):
    do_create_demo_accounts_and_projects()
    assert client.get(reverse("demo_login")).status_code == 404
    assert client.post(reverse("demo_login"), {"username": "demo-admin"}).status_code == 404
    assert "_auth_user_id" not in client.session


@override_settings(DEBUG=False, UNITY_DEMO_LOGIN=True)
def test_demo_login_is_404_with_the_flag_but_debug_off(client):
    do_create_demo_accounts_and_projects()
    assert client.post(reverse("demo_login"), {"username": "demo-expert"}).status_code == 404


@override_settings(DEBUG=True, UNITY_DEMO_LOGIN=True)
def test_demo_login_signs_in_a_demo_account_in_debug(client):
    do_create_demo_accounts_and_projects()
    response = client.post(reverse("demo_login"), {"username": "demo-expert"})
    assert response.status_code == 302
    home = client.get(reverse("home"))
    assert [p.slug for p in home.context["projects"]] == sorted(
        ["a4c-foreshortening", "tte-view-detection", "lv-endocardium", "ed-es-timing"],
        key=lambda slug: home.context["projects"].get(slug=slug).title,
    )


@override_settings(DEBUG=True, UNITY_DEMO_LOGIN=True)
def test_demo_login_refuses_a_real_account(client, expert_a):
    do_create_demo_accounts_and_projects()
    response = client.post(reverse("demo_login"), {"username": expert_a.username})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_demo_data_loads_twice_without_change():
    first = do_create_demo_accounts_and_projects()
    second = do_create_demo_accounts_and_projects()
    assert [p.pk for p in first] == [p.pk for p in second]
