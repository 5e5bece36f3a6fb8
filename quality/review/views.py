"""Review pages: staff and the project's reviewers (and lead experts); 404 for anyone else.

``/p/<slug>/review/`` the items with answers, most disagreeing first; ``/p/<slug>/review/<item>/``
every expert's answer on an item and the decision form (POST: ``services.do_adjudicate``);
``/p/<slug>/review/feedback/`` the experts' feedback and skip reasons."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from annotations.errors import InvalidAnswer, NotFound
from annotations.models import Adjudication
from projects.models import Project
from quality.review.panels import answer_summary, item_panel
from quality.review.selectors import (
    DECISION_FILTERS,
    FEEDBACK_KINDS,
    cached_review_order,
    feedback_page,
    order_is_stale,
    project_experts,
    review_item,
    review_page,
    reviewable_project,
)
from quality.review.services import MAX_NOTE_CHARS, do_adjudicate, do_refresh_review_order
from quality.tasks import request_review_order

#: What the disagreement figure is, per kind (the list's column heading).
FIGURE = {
    Project.Kind.CLASSIFICATION: "Disagreement (1 - share agreeing with the majority)",
    Project.Kind.KEYPOINTS: "Mean distance to the consensus (px)",
    Project.Kind.TEMPORAL: "Mean spread of the event frames (frames)",
    Project.Kind.RANKING: "Rating RD (uncertainty)",
}


def _page_number(request: HttpRequest) -> int:
    value = request.GET.get("page", "1")
    return int(value) if value.isdigit() else 1


def _links(request: HttpRequest, page: int, pages: int) -> dict[str, str]:
    """Query strings of the previous and next pages, keeping the filters."""
    params = {k: v for k, v in request.GET.items() if k != "page"}
    found = {}
    if page > 1:
        found["previous"] = "?" + urlencode({**params, "page": page - 1})
    if page < pages:
        found["next"] = "?" + urlencode({**params, "page": page + 1})
    return found


@require_safe
def review_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = reviewable_project(request.user, slug)
    decision = request.GET.get("decision", "")
    decision = decision if decision in DECISION_FILTERS else ""
    feedback = request.GET.get("feedback") == "1"
    order = "item" if request.GET.get("order") == "item" else "disagreement"
    ranked = cached_review_order(project)
    if ranked is None:
        ranked = do_refresh_review_order(project)  # the first view computes it; then the worker keeps it
    elif order_is_stale(project, ranked):
        request_review_order(project.pk)  # this view shows the order it has (the page says as of when)
    page = review_page(project, ranked, decision=decision, feedback=feedback, order=order, page=_page_number(request))
    context = {
        "project": project,
        "page": page,
        "links": _links(request, page.page, page.pages),
        "figure": FIGURE[project.kind],
        "filters": {"decision": decision, "feedback": feedback, "order": order},
        "decisions": Adjudication.Decision.choices,
    }
    return render(request, "quality/review_list.html", context)


@require_http_methods(["GET", "POST"])
def review_item_page(request: HttpRequest, slug: str, item_id: int) -> HttpResponse:
    project = reviewable_project(request.user, slug)
    review = review_item(project, item_id)
    panel, prefill = item_panel(review)
    form = {"answer": json.dumps(prefill) if prefill is not None else "", "note": ""}
    error, status = "", 200
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        form = {"answer": request.POST.get("answer", ""), "note": request.POST.get("note", "")}
        try:
            answer = None
            if decision == Adjudication.Decision.ADJUDICATED:
                answer = _parse(form["answer"])
            do_adjudicate(
                project, item=review.item, reviewer=request.user, decision=decision, answer=answer, note=form["note"]
            )
        except NotFound:
            raise Http404("No such item") from None
        except InvalidAnswer as exc:
            error, status = exc.detail, 400
        else:
            messages.success(request, "Decision recorded.")
            return redirect("quality_review_item", slug=project.slug, item_id=review.item.pk)
    context = {
        "project": project,
        "review": review,
        "panel": panel,
        "rows": [(a, answer_summary(project.kind, a)) for a in review.answers],
        "form": form,
        "error": error,
        "max_note": MAX_NOTE_CHARS,
        "decisions": [(d, "" if d.answer is None else json.dumps(d.answer)) for d in review.decisions],
        "current_json": "" if review.current is None else json.dumps(review.current.answer),
    }
    return render(request, "quality/review_item.html", context, status=status)


def _parse(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(
            f"The answer is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from None


@require_safe
def review_feedback(request: HttpRequest, slug: str) -> HttpResponse:
    project = reviewable_project(request.user, slug)
    experts = project_experts(project)
    chosen = request.GET.get("expert", "")
    expert_id = int(chosen) if chosen.isdigit() and int(chosen) in {pk for pk, _ in experts} else None
    kind = request.GET.get("kind", "")
    kind = kind if kind in FEEDBACK_KINDS else ""
    text = request.GET.get("q", "").strip()[:200]
    page = feedback_page(project, expert_id=expert_id, kind=kind, text=text, page=_page_number(request))
    context = {
        "project": project,
        "page": page,
        "links": _links(request, page.page, page.pages),
        "experts": experts,
        "filters": {"expert": expert_id, "kind": kind, "q": text},
    }
    return render(request, "quality/review_feedback.html", context)
