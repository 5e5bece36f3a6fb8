from allauth.account.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from projects.memberships import do_grant_allow_listed_memberships


@receiver(user_logged_in)
def grant_allow_listed_memberships(sender: object, request: HttpRequest, user: object, **kwargs: object) -> None:
    do_grant_allow_listed_memberships(user)
