"""Test environment defaults, set before Django reads its settings (loaded with ``-p``).

Tests run with production-like settings (DEBUG off). DATABASE_URL and REDIS_URL come from the
environment: CI points them at PostgreSQL and Redis; without them the suite runs on SQLite and
tests that need Redis or a browser are skipped, unless UNITY_TEST_REQUIRE_SERVICES=1 (CI), in which
case a missing service fails them.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The glicko2 wheel installs a top-level "tests" package; ours must win.
sys.path.insert(0, str(ROOT))

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("UNITY_STATIC_MANIFEST", "0")
os.environ.setdefault("UNITY_SECURE_COOKIES", "0")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("GOOGLE_CLIENT_ID", "test-google-client-id")
os.environ.setdefault("GOOGLE_CLIENT_SECRET", "test-google-client-secret")
os.environ.setdefault("UNITY_VAR_DIR", str(ROOT / "var" / "test"))
