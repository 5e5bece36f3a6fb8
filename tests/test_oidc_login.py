"""Sign-in through a real OpenID Connect authorisation-code flow against a local provider.

Google cannot be reached here; allauth's ``openid_connect`` provider runs the same code flow
(authorise, code, token exchange over HTTP, ID token, userinfo) that Google sign-in uses.
"""

import warnings
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.urls import reverse

from projects.models import ProjectMembership
from projects.services import do_allow_list_emails

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import oidc_provider_mock

pytestmark = pytest.mark.django_db(transaction=True)

PROVIDER_ID = "mock"
VERIFIED = oidc_provider_mock.User(
    sub="alice", claims={"email": "Alice.Echo@Hospital.example", "email_verified": True, "name": "Alice Echo"}
)
UNVERIFIED = oidc_provider_mock.User(
    sub="mallory", claims={"email": "mallory@hospital.example", "email_verified": False}
)


@pytest.fixture(scope="module")
def provider():
    with oidc_provider_mock.run_server_in_thread(user_claims=[VERIFIED, UNVERIFIED]) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
def oidc_settings(provider):
    providers = {
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": PROVIDER_ID,
                    "name": "Local OIDC",
                    "client_id": "unity-test",
                    "secret": "unity-test-secret",
                    "settings": {"server_url": provider},
                }
            ]
        }
    }
    with override_settings(SOCIALACCOUNT_PROVIDERS=providers):
        yield


def sign_in(client, sub: str):
    start = client.post(reverse("openid_connect_login", kwargs={"provider_id": PROVIDER_ID}))
    assert start.status_code == 302, start.content[:500]
    authorize_url = start["Location"]
    assert authorize_url.startswith("http://localhost:")
    # The expert "signs in" at the provider, which redirects back with a code.
    answer = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:500]
    callback = urlsplit(answer.headers["Location"])
    assert "code" in parse_qs(callback.query)
    return client.get(callback.path, parse_qs(callback.query))


def test_code_flow_signs_a_new_user_in_and_allow_list_grants_membership(client, oidc_settings, project):
    do_allow_list_emails(project, emails=["alice.echo@hospital.example"])
    response = sign_in(client, "alice")
    assert response.status_code == 302
    user = get_user_model().objects.get(email__iexact="alice.echo@hospital.example")
    assert int(client.session["_auth_user_id"]) == user.pk
    assert ProjectMembership.objects.filter(project=project, user=user).exists()
    page = client.get(reverse("project_detail", args=[project.slug]))
    assert page.status_code == 200


def test_sign_in_without_allow_list_sees_no_project(client, oidc_settings, project):
    sign_in(client, "alice")
    assert list(client.get(reverse("home")).context["projects"]) == []
    assert client.get(reverse("project_detail", args=[project.slug])).status_code == 404


def test_unverified_email_is_refused(client, oidc_settings, project):
    do_allow_list_emails(project, emails=["mallory@hospital.example"])
    response = sign_in(client, "mallory")
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    assert not ProjectMembership.objects.filter(project=project, user__email="mallory@hospital.example").exists()
