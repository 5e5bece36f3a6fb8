"""The researchers' side: a public catalogue of released datasets with their cards; download after
sign-in and acceptance of the licence, every request logged; a withdrawn release is not served."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from datasets.card import LICENCE_URLS, dataset_card
from datasets.forms import AcceptLicenceForm
from datasets.models import Release
from datasets.selectors import catalogue, has_accepted, public_release
from datasets.services import ReleaseError, do_accept_licence, do_record_download, release_path
from projects.views import render_markdown
from unity.ranges import ranged_response


def _card_html(release: Release) -> str:
    """The card's Markdown body (the YAML front matter is shown as facts on the page instead)."""
    text = dataset_card(release, release.summary)
    body = text.split("\n---\n", 1)[1] if text.startswith("---\n") else text
    return render_markdown(body)


def _page_context(release: Release, *, accepted: bool, form: AcceptLicenceForm) -> dict:
    return {
        "release": release,
        "summary": release.summary,
        "card_html": _card_html(release),
        "licence_url": LICENCE_URLS[release.licence],
        "accepted": accepted,
        "form": form,
    }


@require_safe
def catalogue_view(request: HttpRequest) -> HttpResponse:
    return render(request, "datasets/catalogue.html", {"releases": catalogue()})


def _release_or_404(slug: str, version: int) -> Release:
    release = public_release(slug, version)
    if release is None:
        raise Http404("No such dataset")
    return release


@require_http_methods(["GET", "HEAD", "POST"])
def release_view(request: HttpRequest, slug: str, version: int) -> HttpResponse:
    release = _release_or_404(slug, version)
    accepted = has_accepted(release, request.user)
    form = AcceptLicenceForm(request.POST or None)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if form.is_valid():
            try:
                do_accept_licence(
                    release,
                    user=request.user,
                    full_name=form.cleaned_data["full_name"],
                    institution=form.cleaned_data["institution"],
                    intended_use=form.cleaned_data["intended_use"],
                )
            except ReleaseError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Licence accepted: the download is yours.")
                return redirect("dataset_release", slug=slug, version=version)
    context = _page_context(release, accepted=accepted, form=form)
    status = 410 if release.status == Release.Status.WITHDRAWN else 200
    return render(request, "datasets/release.html", context, status=status)


@require_safe
def download_view(request: HttpRequest, slug: str, version: int) -> HttpResponseBase:
    release = _release_or_404(slug, version)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if release.status == Release.Status.WITHDRAWN:
        return render(request, "datasets/release.html", {"release": release, "withdrawn": True}, status=410)
    if not has_accepted(release, request.user):
        messages.info(request, "Accept the licence first.")
        context = _page_context(release, accepted=False, form=AcceptLicenceForm())
        return render(request, "datasets/release.html", context, status=403)
    path = release_path(release)
    if not path.is_file():
        raise Http404("The archive is missing")
    do_record_download(release, user=request.user, byte_range=request.headers.get("Range", ""))
    filename = f"{release.name}.zip"
    if settings.UNITY_MEDIA_SERVING == "x-accel":
        response: HttpResponseBase = HttpResponse(content_type="application/zip")
        response["X-Accel-Redirect"] = settings.UNITY_X_ACCEL_RELEASES_PREFIX.rstrip("/") + "/" + release.archive_name
    else:
        response = ranged_response(
            request, size=path.stat().st_size, open_file=lambda: path.open("rb"), content_type="application/zip"
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Content-SHA256"] = release.archive_sha256
    return response
