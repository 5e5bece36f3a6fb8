class ReleaseError(Exception):
    """A release cannot be made as asked; the message says why."""
