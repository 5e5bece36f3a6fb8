"""Ranking end to end, in Chromium and WebKit: a batch of synchronised cine loops between the
axis's two named ends; reorder by pointer dragging and mark a tie with the mouse, then reorder by
keyboard; each submit shows the next batch."""

from __future__ import annotations

import pytest

from annotations.models import Judgement
from projects.models import Project
from projects.services import do_add_member
from tests.browser_helpers import (
    assert_no_serious_axe_violations,
    ingest_synthetic,
    sign_in,
    wait_task,
)
from tests.conftest import make_project

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ORDER = "() => [...document.querySelectorAll('.rank-item')].map(li => Number(li.dataset.item))"


@pytest.fixture
def ranking_project(demo_expert, tmp_path):
    project = make_project(
        Project.Kind.RANKING,
        slug="foreshortening",
        title="A4C foreshortening",
        question="Order these clips by how foreshortened the left ventricle is.",
        batch_size=4,
    )
    do_add_member(project, user=demo_expert)
    ingest_synthetic(project, tmp_path / "clips", 8)
    return project


def test_expert_ranks_by_dragging_then_by_keyboard(app_settings, live_server, browser, ranking_project):
    sign_in(browser, live_server.url, next_url="/p/foreshortening/")
    assert "Most foreshortened" in browser.js("() => document.querySelector('.axis').textContent")
    browser.click("#start")
    first = wait_task(browser)
    assert browser.js("() => document.querySelector('.axis-start').textContent").endswith("Most accurate view")
    assert browser.js("() => document.querySelector('.axis-finish').textContent").startswith("Most foreshortened")
    assert browser.js("() => document.querySelectorAll('.rank-item canvas').length") == 4
    # The batch plays in sync: every loop is on the same frame when paused.
    browser.click(".cine-controls .play")
    browser.click(".cine-controls .step-next")
    frames = browser.wait(
        "() => { const f = [...document.querySelectorAll('.rank-item canvas')].map(c => c.dataset.frame); return new Set(f).size === 1 ? f : null; }"
    )
    assert len(frames) == 4
    browser.shot("ranking")
    assert_no_serious_axe_violations(browser, "ranking")

    # Mouse: drag the first clip onto the third place, then mark the new first two as tied.
    before = browser.js(ORDER)
    browser.pointer_drag(
        [
            browser.center(".rank-item:nth-child(1) canvas"),
            browser.center(".rank-item:nth-child(2) canvas"),
            browser.center(".rank-item:nth-child(3) canvas"),
        ]
    )
    browser.wait("(id) => Number(document.querySelectorAll('.rank-item')[2].dataset.item) === id", before[0])
    after = browser.js(ORDER)
    assert after == [before[1], before[2], before[0], before[3]]
    browser.click(".rank-item:nth-child(1) .tie")
    browser.shot("ranking-tied")
    browser.click("#submit")
    second = wait_task(browser, not_id=first)
    assert Judgement.objects.get(task_id=first).answer == {"ordering": after, "ties": [after[:2]]}

    # Keyboard: pick up the first clip, move it two places on, drop it, tie it to its new neighbour.
    before = browser.js(ORDER)
    browser.focus(".rank-item:nth-child(1) .grab")
    browser.press("Enter", "ArrowRight", "ArrowRight", "Enter")
    browser.wait("(id) => Number(document.querySelectorAll('.rank-item')[2].dataset.item) === id", before[0])
    browser.press("=")
    browser.press("Control+Enter")
    wait_task(browser, not_id=second)
    expected = [before[1], before[2], before[0], before[3]]
    assert Judgement.objects.get(task_id=second).answer == {"ordering": expected, "ties": [expected[2:]]}
