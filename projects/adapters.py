"""Sign-in policy: experts sign in with Google (or an institution's OIDC); only verified e-mails."""

from __future__ import annotations

import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from django.http import HttpRequest
from django.shortcuts import render

logger = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # No local passwords for experts: accounts come from the identity provider.
        return False


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return True

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        if not any(address.verified for address in sociallogin.email_addresses):
            logger.warning("sign-in refused: provider %s gave no verified e-mail", sociallogin.account.provider)
            raise ImmediateHttpResponse(render(request, "account/unverified_email.html", status=403))
