"""Security headers Django does not set by itself."""

from __future__ import annotations

import logging
from collections.abc import Callable

from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)


class ContentSecurityPolicyMiddleware:
    """Send ``settings.UNITY_CONTENT_SECURITY_POLICY`` on every response that has none.

    The app's templates carry no inline script (configuration travels in ``json_script``), so
    scripts may come from this origin only: a defence in depth should escaping ever fail."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.UNITY_CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response


class SignInNotConfiguredMiddleware:
    """A sign-in provider with no client configured (``/accounts/google/login/`` on a server
    without GOOGLE_CLIENT_ID): allauth raises ``SocialApp.DoesNotExist``, which would be a 500.
    Answer a page that says so instead (503), and log it once per request for the operator."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, SocialApp.DoesNotExist):
            return None
        logger.warning("sign-in provider not configured: %s", request.path)
        return render(
            request,
            "account/provider_not_configured.html",
            {"demo_login": settings.UNITY_DEMO_LOGIN},
            status=503,
        )
