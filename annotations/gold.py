"""Gold items: items with a known answer, set by an admin, mixed into experts' queues.

A gold item is an ordinary item: the normal issuer hands it out like any other, its task and
payload are the same, and experts' answers to it are ordinary judgements. What gold adds:

- ``gold_items``: with probability ``project.gold_rate`` an issue takes a gold item this expert
  was never issued (any task of theirs on it, whatever its status), before the normal issuer;
  when none is left the normal issuer runs. Single-item kinds only: a gold answer for ranking
  would need a known ordering of a batch, which nothing records yet.
- ``check_gold_answer`` / ``do_set_gold_answer``: a gold answer is validated like an expert's
  (``answers.validate_answer``) for its item's project kind and schema, and must be definite.
- ``do_mark_gold_from_consensus``: classification items take the majority class of the experts'
  latest answers as their gold answer (a tie is no known answer: the item is left alone).

Gold answers are never judgements: consensus and releases read judgements only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction

from annotations.answers import NOT_SURE, AnswerError, IssuedItem, validate_answer
from annotations.errors import InvalidAnswer
from annotations.models import GoldAnswer, Task, TaskItem
from media_ingest.models import Clip, ProjectItem
from projects.models import Project

#: Kinds whose tasks hold one item: the ones a gold answer can be given for.
GOLD_KINDS = (Project.Kind.CLASSIFICATION, Project.Kind.KEYPOINTS, Project.Kind.TEMPORAL)
# How many of the expert's unseen gold items (fewest answers first) one draw chooses among.
GOLD_WINDOW = 200


# --- Issuing ------------------------------------------------------------------------------------


@cache
def _gold_candidates_sql() -> str:
    gold, item, clip, task, task_item = (
        GoldAnswer._meta.db_table,
        ProjectItem._meta.db_table,
        Clip._meta.db_table,
        Task._meta.db_table,
        TaskItem._meta.db_table,
    )
    # The gold set is small (a few per cent of the items): each candidate's history with this
    # expert is probed through the task items' (item) index, a few rows per item.
    return f"""
        SELECT p.id FROM {gold} g
        JOIN {item} p ON p.id = g.item_id
        JOIN {clip} c ON c.id = p.clip_id
        WHERE p.project_id = %s AND p.is_active = %s AND c.status = '{Clip.Status.READY}'
          AND NOT EXISTS (
            SELECT 1 FROM {task_item} s JOIN {task} st ON st.id = s.task_id
            WHERE s.item_id = p.id AND st.expert_id = %s)
        ORDER BY p.judgement_count, p.id
        LIMIT {GOLD_WINDOW}"""  # noqa: S608


def gold_items(project: Project, expert: AbstractBaseUser, rng: np.random.Generator) -> list[ProjectItem] | None:
    """Call under the issuing lock, before the normal issuer: with probability
    ``project.gold_rate``, a gold item of the project this expert was never issued; else None
    (then the normal issuer runs).

    Rate 0 (the default) or a ranking project: no query and no draw from ``rng``. Otherwise one
    draw and, when it falls under the rate, one query."""
    if project.gold_rate <= 0 or project.kind not in GOLD_KINDS:
        return None
    if rng.random() >= project.gold_rate:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_gold_candidates_sql(), [project.pk, True, expert.pk])
        candidates = [row[0] for row in cursor.fetchall()]
    if not candidates:
        return None
    chosen = candidates[int(rng.integers(len(candidates)))]
    # As least_covered_items: do_issue_task needs the pk and project only.
    return [ProjectItem.from_db(ProjectItem.objects.db, ["id", "project_id"], [chosen, project.pk])]


# --- Setting gold answers -----------------------------------------------------------------------


def check_gold_answer(item: ProjectItem, answer: object) -> dict[str, Any]:
    """The answer normalised as an expert's would be, for the item's project kind and schema;
    ``InvalidAnswer`` when it is not valid, is "not sure", or the kind takes no gold."""
    project = item.project
    if project.kind not in GOLD_KINDS:
        raise InvalidAnswer(
            f"Gold items are for single-item projects (classification, keypoints, temporal), not {project.kind}."
        )
    clip = item.clip
    issued = IssuedItem(id=item.pk, frame_count=clip.frame_count, width=clip.columns, height=clip.rows)
    try:
        normalised = validate_answer(project.kind, answer, [issued], project.label_schema)
    except AnswerError as exc:
        raise InvalidAnswer(str(exc)) from None
    if normalised.get("class") == NOT_SURE:
        raise InvalidAnswer("A gold answer is a known answer: not_sure cannot be one.")
    return normalised


def do_set_gold_answer(item: ProjectItem, *, answer: object, created_by: AbstractBaseUser | None) -> GoldAnswer:
    """Validate (``check_gold_answer``) and record the item's gold answer; an earlier one is
    replaced (its ``created_by`` kept). Nothing is written when the answer is refused."""
    normalised = check_gold_answer(item, answer)
    gold, created = GoldAnswer.objects.get_or_create(
        item=item, defaults={"answer": normalised, "created_by": created_by}
    )
    if not created and gold.answer != normalised:
        gold.answer = normalised
        gold.save(update_fields=["answer"])
    return gold


@dataclass(frozen=True)
class ConsensusMarking:
    marked: int
    already_gold: int
    no_majority: int  # no definite answer yet, or a tie
    not_classification: int


def latest_classes(item_ids: Iterable[int]) -> dict[int, dict[int, str]]:
    """Each expert's latest definite class per item: ``{item id: {expert id: class}}`` (a later
    judgement, a correction included, replaces an earlier one; "not sure" is no answer)."""
    rows = (
        TaskItem.objects.filter(item_id__in=list(item_ids), task__judgement__isnull=False)
        .order_by("task__judgement__id")
        .values_list("item_id", "task__judgement__expert_id", "task__judgement__answer", "task__judgement__not_sure")
    )
    latest: dict[int, dict[int, str | None]] = {}
    for item_id, expert_id, answer, not_sure in rows:
        choice = answer.get("class") if isinstance(answer, dict) else None
        latest.setdefault(item_id, {})[expert_id] = None if not_sure or choice == NOT_SURE else choice
    return {item: {e: c for e, c in by.items() if c} for item, by in latest.items()}


def majority(classes: Iterable[str]) -> str | None:
    """The class most answers chose, or None when there is none or two classes tie."""
    ranked = Counter(classes).most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def do_mark_gold_from_consensus(items: Iterable[ProjectItem], *, created_by: AbstractBaseUser) -> ConsensusMarking:
    """Give each classification item without a gold answer the majority class of its experts'
    latest answers as gold answer. Items already gold are left as they are (an admin changes a
    gold answer in its own form); items of other kinds, or without a clear majority, are skipped."""
    items = list(items)
    candidates = [i for i in items if i.project.kind == Project.Kind.CLASSIFICATION]
    gold = set(GoldAnswer.objects.filter(item__in=candidates).values_list("item_id", flat=True))
    fresh = [i for i in candidates if i.pk not in gold]
    classes = latest_classes(i.pk for i in fresh)
    marked = 0
    with transaction.atomic():
        for item in fresh:
            choice = majority(classes.get(item.pk, {}).values())
            if choice is None:
                continue
            try:
                do_set_gold_answer(item, answer={"class": choice}, created_by=created_by)
            except InvalidAnswer:  # a class the schema no longer has
                continue
            marked += 1
    return ConsensusMarking(
        marked=marked,
        already_gold=len(gold),
        no_majority=len(fresh) - marked,
        not_classification=len(items) - len(candidates),
    )
