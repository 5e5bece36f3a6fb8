"""Review and adjudication (issue 11): reviewers read every expert's answer on an item side by side
and record a decision (quality/README.md, "Review and adjudication").

``figures`` (pure), ``selectors`` (reads), ``services`` (``check_*``/``do_*``), ``panels`` (the
per-kind SVG geometry a page draws) and ``views``."""
