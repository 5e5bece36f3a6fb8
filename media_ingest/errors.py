"""Ingest errors. Messages are written by us and never contain DICOM attribute values (PHI)."""


class IngestError(Exception):
    """A permanent, per-file problem: the job fails with this message and is not retried."""


class TransientIngestError(Exception):
    """Worth retrying later (storage or database hiccup, another job storing the same clip)."""
