"""Which items an expert gets next, by project kind.

Apps above annotations (ranking, activelearning) register an issuer for a project kind at start-up
(``AppConfig.ready``); kinds without one use ``annotations.selectors.least_covered_items``.
An issuer returns the items of the next task, or None when there is nothing left for this expert.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from django.contrib.auth.models import AbstractBaseUser

from media_ingest.models import ProjectItem
from projects.models import Project

Issuer = Callable[[Project, AbstractBaseUser, np.random.Generator], "list[ProjectItem] | None"]

_ISSUERS: dict[str, Issuer] = {}


def register_issuer(kind: str, issuer: Issuer) -> None:
    if kind not in Project.Kind.values:
        raise ValueError(f"unknown project kind {kind!r}")
    _ISSUERS[kind] = issuer


def issuer_for(kind: str) -> Issuer | None:
    return _ISSUERS.get(kind)
