"""Signals other apps listen to (ranking, activelearning) without annotations importing them.

``judgement_recorded`` is sent after the judgement's transaction commits, with ``judgement``.
"""

from django.dispatch import Signal

judgement_recorded = Signal()
