from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security)
def check_google_credentials(app_configs: object, **kwargs: object) -> list[Error]:
    """Runs at every start (not only --deploy): production must not come up without sign-in."""
    if settings.DEBUG:
        return []
    if settings.GOOGLE_CLIENT_ID and settings.GOOGLE_CLIENT_SECRET:
        return []
    return [
        Error(
            "Google sign-in is not configured.",
            hint="Set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET (or *_FILE) in the environment.",
            id="unity.E001",
        )
    ]


@register()
def check_demo_login_off_in_production(app_configs: object, **kwargs: object) -> list[Error]:
    if settings.UNITY_DEMO_LOGIN and not settings.DEBUG:
        return [Error("The demo login cannot be enabled with DEBUG off.", id="unity.E002")]
    return []
