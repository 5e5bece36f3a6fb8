import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_pages_carry_a_content_security_policy_without_inline_scripts(client, expert_a, project):
    client.force_login(expert_a)
    for url in (reverse("home"), reverse("project_detail", args=[project.slug]), reverse("label", args=[project.slug])):
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self';" in policy
        assert "frame-ancestors 'none'" in policy
        body = response.content.decode()
        # Every script element loads a file or carries JSON data, none runs inline code.
        for chunk in body.split("<script")[1:]:
            tag = chunk.split(">", 1)[0]
            assert "src=" in tag or "application/json" in tag, tag


def test_healthz_is_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    # 200, or 503 when no worker runs beside the suite's Redis: answered, not redirected.
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get(reverse("account_login")).status_code == 301
