"""The quality dashboard and the review of a keypoints item, in Chromium and WebKit: the dashboard's
charts are drawn; the review page overlays each expert's points on the frame in the expert's colour
with the consensus marked; a decision is submitted through the form (a bad answer first, refused).
Screenshots: test-artifacts/screenshots/quality/<engine>-<page>.png."""

from __future__ import annotations

import json

import numpy as np
import pytest

from annotations.models import Adjudication
from annotations.services import do_issue_task, do_submit_judgement
from projects.models import Project
from projects.services import do_add_member
from tests.browser_helpers import BrowserSession, ingest_synthetic
from tests.support import make_project, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCHEMA = {
    "points": [
        {"key": "hinge_septal", "name": "Septal mitral hinge", "colour": "#e41a1c"},
        {"key": "hinge_lateral", "name": "Lateral mitral hinge", "colour": "#4daf4a"},
    ],
    "curves": [{"key": "lv_endo", "name": "LV endocardium", "colour": "#377eb8", "min_points": 3}],
}
STAFF = "demo-quality-admin"
# Two experts' answers on the first item (160 x 120 frames): points and a curve each.
ANSWERS = {
    "dr-ada": {
        "frame": 3,
        "labels": {
            "hinge_septal": {"state": "placed", "points": [[40, 90]]},
            "hinge_lateral": {"state": "placed", "points": [[120, 90]]},
            "lv_endo": {"state": "placed", "points": [[40, 80], [80, 20], [120, 80]]},
        },
    },
    "dr-bo": {
        "frame": 3,
        "labels": {
            "hinge_septal": {"state": "placed", "points": [[46, 94]]},
            "hinge_lateral": {"state": "placed", "points": [[116, 88]]},
            "lv_endo": {"state": "placed", "points": [[44, 84], [80, 26], [118, 84]]},
        },
    },
}


@pytest.fixture
def reviewed_project(tmp_path):
    project = make_project(
        Project.Kind.KEYPOINTS, slug="lv-review", title="LV review", question="Mark the hinges.", label_schema=SCHEMA
    )
    items = ingest_synthetic(project, tmp_path / "clips", 2)
    rng = np.random.default_rng(0)
    for username, answer in ANSWERS.items():
        expert = make_user(username)
        do_add_member(project, user=expert)
        task = do_issue_task(project, expert=expert, items=[items[0]], rng=rng)
        do_submit_judgement(
            task.pk, expert=expert, answer=answer, time_on_task_ms=4000, feedback=f"{username} was here"
        )
    make_user(STAFF, staff=True)
    return project, items[0]


def sign_in_as(browser: BrowserSession, base_url: str, username: str, next_url: str) -> None:
    browser.goto(f"{base_url}/demo-login/?next={next_url}")
    browser.wait_for(f"input[value='{username}']")
    browser.click(f"input[value='{username}']")
    browser.click("button[type=submit]")
    browser.wait("(path) => location.pathname === path && document.readyState === 'complete'", next_url)


OVERLAY = """() => {
  const svg = document.querySelector('#kp-review'); const box = svg.getBoundingClientRect();
  const [,, w, h] = svg.getAttribute('viewBox').split(' ').map(Number);
  const legend = Object.fromEntries([...document.querySelectorAll('#legend li')].map(li => [li.textContent.trim(), li.dataset.colour]));
  return {
    legend,
    image: svg.querySelector('image') ? svg.querySelector('image').getAttribute('href').slice(0, 23) : '',
    box: [box.width, box.height],
    experts: [...svg.querySelectorAll('g.kp-expert')].map(g => ({
      name: g.dataset.expert, colour: g.dataset.colour,
      curves: g.querySelectorAll('polyline').length,
      points: [...g.querySelectorAll('circle.kp-point')].map(c => {
        const r = c.getBoundingClientRect();
        return {fill: c.getAttribute('fill'), label: c.dataset.label,
                // The drawn centre, back in image pixels: where the browser really put it.
                x: (r.left + r.width / 2 - box.left) / box.width * w, y: (r.top + r.height / 2 - box.top) / box.height * h};
      }),
    })),
    consensus: [...svg.querySelectorAll('g.kp-consensus')].map(g => [g.dataset.label, Number(g.dataset.x), Number(g.dataset.y)]),
  };
}"""


def test_dashboard_and_keypoint_review_then_a_decision_through_the_form(
    app_settings, live_server, browser, reviewed_project
):
    project, item = reviewed_project
    engine = browser.engine
    dashboard = f"/p/{project.slug}/quality/"
    sign_in_as(browser, live_server.url, STAFF, dashboard)

    # The dashboard: both bar charts drawn (a bar per day with answers, a bar per expert).
    browser.wait_for("#progress-figures")
    charts = browser.js(
        "() => [...document.querySelectorAll('figure.chart svg')].map(s => [s.querySelectorAll('rect').length, s.getBoundingClientRect().width])"
    )
    assert len(charts) >= 2 and charts[0][0] >= 1 and charts[1][0] == 2, charts
    assert all(width > 100 for _, width in charts)
    browser.screenshot(f"quality/{engine}-dashboard")

    # From the dashboard to the review list: the item with answers, and its disagreement.
    browser.click("#review-link a")
    browser.wait("(path) => location.pathname === path", f"/p/{project.slug}/review/")
    browser.wait_for("#review-items")
    rows = browser.js(
        "() => [...document.querySelectorAll('#review-items tbody tr[data-item]')].map(r => r.dataset.item)"
    )
    assert rows == [str(item.pk)]
    browser.screenshot(f"quality/{engine}-review-list")

    # The item: each expert's two points and curve, in the expert's colour, over the frame.
    browser.click(f"#review-items tr[data-item='{item.pk}'] a")
    browser.wait_for("#kp-review")
    seen = browser.js(OVERLAY)
    assert seen["image"] == "data:image/jpeg;base64,"
    # The frame decodes, at the clip's size.
    decoded = browser.js(
        """async () => { const src = document.querySelector('#kp-review image').getAttribute('href');
           return await new Promise((done) => { const img = new Image();
             img.onload = () => done([img.naturalWidth, img.naturalHeight]); img.onerror = () => done(null); img.src = src; }); }"""
    )
    assert decoded == [160, 120]
    assert seen["box"][0] > 300
    assert sorted(seen["legend"]) == sorted(ANSWERS)
    assert len({e["colour"] for e in seen["experts"]}) == 2
    for expert in seen["experts"]:
        answer = ANSWERS[expert["name"]]["labels"]
        assert expert["colour"] == seen["legend"][expert["name"]]
        assert expert["curves"] == 1
        assert len(expert["points"]) == 2  # one circle per placed point
        for point in expert["points"]:
            assert point["fill"] == expert["colour"]
            x, y = answer[point["label"]]["points"][0]
            assert abs(point["x"] - x) < 0.6 and abs(point["y"] - y) < 0.6, (engine, expert["name"], point)
    assert sorted(seen["consensus"]) == [["hinge_lateral", 118.0, 89.0], ["hinge_septal", 43.0, 92.0]]
    assert browser.js("() => document.querySelectorAll('#answers tbody tr').length") == 2
    browser.screenshot(f"quality/{engine}-review-item")

    # The form starts from the consensus: the mean of each point.
    start = json.loads(browser.js("() => document.querySelector('#answer').value"))
    assert start["frame"] == 3
    assert start["labels"]["hinge_septal"]["points"] == [[43.0, 92.0]]
    assert start["labels"]["hinge_lateral"]["points"] == [[118.0, 89.0]]

    # A bad answer is refused with a clear error, kept in the form, and nothing is stored.
    set_answer = "(text) => { document.querySelector('#answer').value = text; }"
    browser.js(set_answer, '{"frame": 3, "labels": {}}')
    browser.click("#adjudicate")
    browser.wait_for("#adjudicate-error")
    assert "every label needs an answer" in browser.js("() => document.querySelector('#adjudicate-error').textContent")
    assert not Adjudication.objects.exists()

    # The adjudicated answer: one point moved, and a note typed.
    decided = json.loads(json.dumps(ANSWERS["dr-ada"]))
    decided["labels"]["hinge_septal"]["points"] = [[44.5, 93.0]]
    browser.js(set_answer, json.dumps(decided))
    browser.focus("#note")
    browser.type_text("Septal hinge between the two")
    browser.click("#adjudicate")
    browser.wait("() => !!document.querySelector('#current-decision [data-decision=adjudicated]')", what="the decision")
    stored = Adjudication.objects.get()
    assert (stored.item_id, stored.decision, stored.note) == (item.pk, "adjudicated", "Septal hinge between the two")
    assert stored.answer == decided
    assert browser.js("() => document.querySelectorAll('#decisions tbody tr').length") == 1
    browser.screenshot(f"quality/{engine}-review-item-decided")
