"""The quality dashboard shows, from real judgements, the statistics of published worked examples:
Krippendorff's own table answered as classes (alpha 0.743), Shrout and Fleiss' Table 2 as keypoint
x coordinates (ICC(A,1) = ICC(2,1) 0.29), and a hand-worked phase timing case. Staff only."""

import numpy as np
import pytest
from django.urls import reverse

from annotations.services import do_issue_task, do_submit_judgement
from media_ingest.models import Clip, ProjectItem
from quality.tasks import refresh_dashboards
from tests.factories import project_with_items
from tests.support import make_user
from tests.test_quality_statistics import KRIPPENDORFF, SHROUT_FLEISS

pytestmark = pytest.mark.django_db
RNG = np.random.default_rng(0)


def answer(project, expert, item, body):
    task = do_issue_task(project, expert=expert, items=[item], rng=RNG)
    do_submit_judgement(task.pk, expert=expert, answer=body, time_on_task_ms=3000)


def dashboard(client, project):
    admin = make_user("qc-admin", staff=True)
    client.force_login(admin)
    response = client.get(reverse("quality_dashboard", args=[project.slug]))
    assert response.status_code == 200
    return response


def test_classification_alpha_of_krippendorffs_table(client):
    experts = [make_user(f"observer-{k}") for k in range(4)]
    classes = [{"key": f"c{v}", "name": f"Class {v}", "description": "x"} for v in range(1, 6)]
    project = project_with_items(
        "classification", *experts, items=12, slug="kripp", label_schema={"classes": classes}, target_views_per_item=4
    )
    items = list(ProjectItem.objects.filter(project=project).order_by("id"))
    for expert, row in zip(experts, KRIPPENDORFF, strict=True):
        for item, value in zip(items, row, strict=True):
            if value is not None:
                answer(project, expert, item, {"class": f"c{value}"})
    response = dashboard(client, project)
    agreement = response.context["agreement"]
    assert agreement.figures["krippendorff_alpha"] == pytest.approx(0.743, abs=5e-4)
    assert b'data-figure="krippendorff_alpha">0.743<' in response.content
    assert response.context["progress"].answers == 41
    assert [e.answers for e in response.context["experts"]] == [11, 11, 10, 9]
    assert b"<svg" in response.content and b"Answers per day" in response.content
    # Unit 12 has a single answer (observer B): no majority to compare it with.
    assert sum(map(sum, agreement.confusion)) == 40
    # Each observer against the others' majority: C differs on 2 of its 9 compared units (2 and 8), the others on none.
    assert len(agreement.table) == 4
    assert agreement.table[0][:3] == [experts[2].email, 9, round(7 / 9, 3)]
    assert [row[2] for row in agreement.table[1:]] == [1.0, 1.0, 1.0]


def test_keypoint_icc_of_shrout_and_fleiss_table_2(client):
    judges = [make_user(f"judge-{k}") for k in range(4)]
    schema = {"points": [{"key": "apex", "name": "Apex", "colour": "#000000"}], "curves": []}
    project = project_with_items("keypoints", *judges, items=6, slug="shrout", label_schema=schema)
    items = list(ProjectItem.objects.filter(project=project).order_by("id"))
    for item, row in zip(items, SHROUT_FLEISS, strict=True):
        for judge, x in zip(judges, row, strict=True):
            body = {"frame": 0, "labels": {"apex": {"state": "placed", "points": [[x, 20 + x]]}}}
            answer(project, judge, item, body)
    [row] = dashboard(client, project).context["agreement"].table
    assert row[:3] == ["apex", "point", 6]
    assert row[3] == pytest.approx(0.29, abs=0.005)  # x
    assert row[4] == pytest.approx(0.29, abs=0.005)  # y = 20 + x: the same agreement


def test_curve_distance_to_the_mean_curve_in_mm(client):
    """Two experts trace the same horizontal segment 4 px apart (one with more control points):
    the mean curve lies halfway, each curve 2 px from it at every point: 2 px x 0.3 mm, for both."""
    a, b = make_user("curve-a"), make_user("curve-b")
    schema = {"points": [], "curves": [{"key": "lv", "name": "LV", "colour": "#ffffff", "min_points": 2}]}
    project = project_with_items("keypoints", a, b, items=3, slug="curves", label_schema=schema)
    items = list(ProjectItem.objects.filter(project=project))
    Clip.objects.filter(project_items__in=items).update(pixel_spacing_x_mm=0.3, pixel_spacing_y_mm=0.3)
    for item in items:
        answer(project, a, item, {"frame": 0, "labels": {"lv": {"state": "placed", "points": [[20, 100], [120, 100]]}}})
        line = [[20, 104], [45, 104], [70, 104], [120, 104]]
        answer(project, b, item, {"frame": 0, "labels": {"lv": {"state": "placed", "points": line}}})
    [row] = dashboard(client, project).context["agreement"].table
    assert row[:3] == ["lv", "curve", 3]
    assert row[5] == "0.60 mm"


def test_phase_timing_bias_of_a_late_expert(client):
    early, also_early, late = make_user("t-early"), make_user("t-also"), make_user("t-late")
    schema = {
        "events": [{"key": "ed", "name": "ED", "colour": "#d62728"}, {"key": "es", "name": "ES", "colour": "#1f77b4"}],
        "min_beats": 1,
        "max_beats": 2,
    }
    project = project_with_items("temporal", early, also_early, late, items=3, slug="phases", label_schema=schema)
    for item in ProjectItem.objects.filter(project=project):
        for expert, shift in ((early, 0), (also_early, 0), (late, 2)):
            body = {
                "events": [{"key": "ed", "frame": 5 + shift, "beat": 1}, {"key": "es", "frame": 15 + shift, "beat": 1}]
            }
            answer(project, expert, item, body)
    table = dashboard(client, project).context["agreement"].table
    rows = {(r[0], r[1]): r[2:] for r in table}
    # The late expert: 2 frames after the others' median, every time; each early one: 1 before
    # the median of (the other early, the late) = 6.
    assert rows[(late.email, "ED")] == [3, 2.0, 2.0]
    assert rows[(early.email, "ES")] == [3, 1.0, -1.0]


def test_only_staff_see_a_dashboard(client):
    expert = make_user("curious")
    project = project_with_items("classification", expert, items=1, slug="private-qc")
    url = reverse("quality_dashboard", args=[project.slug])
    assert client.get(url).status_code == 404
    client.force_login(expert)
    assert client.get(url).status_code == 404


def test_ranking_agreement_over_shared_batches(client):
    """Three experts order one batch identically, then two order another in reverse of each other:
    Kendall's W is 1 for the first and 0 for the second (mean 0.5); the SSR of the fit is shown."""
    a, b, c = make_user("r-a"), make_user("r-b"), make_user("r-c")
    project = project_with_items("ranking", a, b, c, items=6, slug="shared", batch_size=3, rating_period_judgements=1)
    items = list(ProjectItem.objects.filter(project=project).order_by("id"))
    first, second = items[:3], items[3:]
    for expert in (a, b, c):
        task = do_issue_task(project, expert=expert, items=first, rng=RNG)
        do_submit_judgement(task.pk, expert=expert, answer={"ordering": [i.pk for i in first], "ties": []})
    for expert, order in ((a, second), (b, second[::-1])):
        task = do_issue_task(project, expert=expert, items=second, rng=RNG)
        do_submit_judgement(task.pk, expert=expert, answer={"ordering": [i.pk for i in order], "ties": []})
    figures = dashboard(client, project).context["agreement"].figures
    assert figures["shared_batches"] == 2
    assert figures["kendalls_w_shared_batches"] == pytest.approx(0.5)


def test_the_worker_keeps_the_dashboard_ready_and_a_view_reads_it(client):
    """A view shows the figures the worker computed last (one cache read, whatever the project's
    size); the periodic refresh brings in the answers given since."""
    experts = [make_user(f"w-{k}") for k in range(2)]
    project = project_with_items("classification", *experts, items=3, slug="kept-ready", target_views_per_item=2)
    items = list(ProjectItem.objects.filter(project=project).order_by("id"))
    answer(project, experts[0], items[0], {"class": "a4c"})
    assert dashboard(client, project).context["progress"].answers == 1
    answer(project, experts[1], items[0], {"class": "a4c"})
    assert client.get(reverse("quality_dashboard", args=[project.slug])).context["progress"].answers == 1
    assert refresh_dashboards() >= 1
    page = client.get(reverse("quality_dashboard", args=[project.slug]))
    assert page.context["progress"].answers == 2 and page.context["progress"].items_complete == 1
    assert b"Figures as of" in page.content
