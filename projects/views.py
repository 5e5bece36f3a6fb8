from __future__ import annotations

import markdown
import nh3
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from projects.selectors import get_project_for

DEMO_USERNAME_PREFIX = "demo-"


def render_markdown(text: str) -> str:
    return mark_safe(nh3.clean(markdown.markdown(text, extensions=["extra", "sane_lists"])))  # noqa: S308 - sanitised


@login_required
def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    project = get_project_for(request.user, slug)
    return render(
        request,
        "projects/project_detail.html",
        {"project": project, "guidelines_html": render_markdown(project.guidelines)},
    )


@require_http_methods(["GET", "POST"])
def demo_login(request: HttpRequest) -> HttpResponse:
    """Sign in as a demo account without Google. Exists only when DEBUG is on."""
    if not (settings.DEBUG and settings.UNITY_DEMO_LOGIN):
        raise Http404("No demo login here")
    users = (
        get_user_model().objects.filter(username__startswith=DEMO_USERNAME_PREFIX, is_active=True).order_by("username")
    )
    if request.method == "POST":
        user = users.filter(username=request.POST.get("username", "")).first()
        if user is None:
            return render(
                request, "projects/demo_login.html", {"users": users, "error": "Choose a demo account."}, status=400
            )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        next_url = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = "home"
        return redirect(next_url or "home")
    return render(request, "projects/demo_login.html", {"users": users, "next": request.GET.get("next", "")})
