from django.conf import settings
from django.http import HttpRequest


def platform(request: HttpRequest) -> dict[str, object]:
    return {"UNITY_DEMO_LOGIN": settings.UNITY_DEMO_LOGIN, "UNITY_DEBUG": settings.DEBUG}
