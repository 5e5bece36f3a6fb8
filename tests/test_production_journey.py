"""The production configuration, started natively (no Docker here) and walked end to end over
HTTPS: DEBUG off, gunicorn, Debian's nginx with a self-signed certificate and X-Accel media (the
server blocks of docs/nginx.conf, with this machine's ports and paths), a Celery media worker, a
main worker and beat, the DICOM receiver, on the test PostgreSQL database and Redis.

The journey: a study sent by DCMTK's storescu to the receiver, ingested by the media worker; two
experts (sessions made as allauth makes them) answer a ranking and a classification task through
nginx; the main worker folds the ratings; media reach members only, through nginx; /healthz is
green; ``check --deploy`` is clean.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.test import Client
from django.urls import reverse

from datasets.models import Release
from datasets.processing import do_build_release, release_path
from datasets.services import do_create_release
from media_ingest.models import DicomPeer, IngestJob, ProjectItem
from media_ingest.synthetic import write_synthetic_echo
from projects.services import do_add_member
from ranking.models import ItemRating
from tests.support import make_project, make_user, need, redis_reachable
from tests.workers import ROOT, wait_for_worker, wait_until
from tests.workers import test_database_url as database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.production]

ALLAUTH_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode}")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not listen on {port}")


def nginx_conf(folder: Path, *, http: int, https: int, upstream: int, certs: Path) -> Path:
    """docs/nginx.conf's server blocks with this machine's ports and folders, in a main config.
    Debian 12's nginx (1.22) takes ``listen ... ssl http2`` where the compose image (1.27) takes
    ``http2 on``: that one line differs."""
    servers = (ROOT / "docs" / "nginx.conf").read_text()
    for old, new in (
        ("listen 80;", f"listen 127.0.0.1:{http};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https} ssl http2;"),
        ("http2 on;", ""),
        ("http://web:8000", f"http://127.0.0.1:{upstream}"),
        ("/data/media/", f"{Path(settings.MEDIA_ROOT).resolve()}/"),
        ("/data/private/", f"{Path(settings.UNITY_PRIVATE_ROOT).resolve()}/"),
        ("/etc/nginx/certs/", f"{certs}/"),
    ):
        assert old in servers, old
        servers = servers.replace(old, new)
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
{servers}
}}
"""
    )
    return conf


@contextlib.contextmanager
def production_stack(tmp: Path):
    certs = tmp / "certs"
    certs.mkdir(parents=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(certs / "privkey.pem"),
         "-out", str(certs / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    gport, http, https, dicom = free_port(), free_port(), free_port(), free_port()
    # The test suite's relaxations (tests/env_plugin.py) are not production's: drop them.
    relaxed = ("SECURE_SSL_REDIRECT", "UNITY_STATIC_MANIFEST", "UNITY_SECURE_COOKIES", "DATABASE_CONN_MAX_AGE")
    env = {
        **{k: v for k, v in os.environ.items() if k not in relaxed},
        "DJANGO_DEBUG": "0",
        # The sessions are made in this process, as the server's own sign-in would make them:
        # the same key signs them.
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL or "",
        "ALLOWED_HOSTS": "localhost",
        "CSRF_TRUSTED_ORIGINS": f"https://localhost:{https}",
        "UNITY_MEDIA_SERVING": "x-accel",
        "UNITY_STATIC_ROOT": str(tmp / "static"),
        "UNITY_DEMO_LOGIN": "0",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    deploy = subprocess.run(
        [*manage, "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    logs = tmp / "logs"
    logs.mkdir()
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    commands = {
        "gunicorn": [sys.executable, "-m", "gunicorn", "unity.wsgi:application", "--bind", f"127.0.0.1:{gport}",
                     "--workers", "2", "--timeout", "120"],
        "media": [sys.executable, "-m", "celery", "-A", "unity", "worker", "-Q", "media", "-n", f"media-{tag}@%h",
                  "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        "main": [sys.executable, "-m", "celery", "-A", "unity", "worker", "-Q", "default,ranking,learning",
                 "-n", f"main-{tag}@%h", "--concurrency", "1", "--without-gossip", "--without-mingle",
                 "--loglevel", "INFO"],
        "beat": [sys.executable, "-m", "celery", "-A", "unity", "beat", "--schedule", str(tmp / "beat-schedule")],
        "receiver": [*manage, "dicom_receiver", "--port", str(dicom), "--address", "127.0.0.1"],
        "nginx": [NGINX, "-p", str(tmp), "-c", str(nginx_conf(tmp, http=http, https=https, upstream=gport, certs=certs))],
    }  # fmt: skip
    processes: dict[str, subprocess.Popen] = {}
    outputs = []
    try:
        for name, command in commands.items():
            outputs.append((logs / f"{name}.log").open("w"))
            processes[name] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=outputs[-1], stderr=subprocess.STDOUT)
        wait_port(gport, processes["gunicorn"], "gunicorn")
        wait_port(https, processes["nginx"], "nginx")
        wait_port(dicom, processes["receiver"], "the DICOM receiver")
        wait_for_worker(f"media-{tag}", processes["media"], timeout=120)
        wait_for_worker(f"main-{tag}", processes["main"], timeout=120)
        yield {
            "base": f"https://localhost:{https}",
            "http": f"http://localhost:{http}",
            "cert": str(certs / "fullchain.pem"),
            "dicom": dicom,
            "deploy": deploy,
            "logs": logs,
            "processes": processes,
        }
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for output in outputs:
            output.close()


def plain(stack) -> requests.Session:
    """HTTPS trusting only the stack's self-signed certificate (not the environment's CA bundle,
    which requests would otherwise prefer for every request without its own ``verify``)."""
    session = requests.Session()
    session.trust_env = False
    session.verify = stack["cert"]
    return session


def browser_session(user, stack) -> requests.Session:
    """A session cookie as allauth's sign-in leaves it (its backend), used over HTTPS."""
    client = Client()
    client.force_login(user, backend=ALLAUTH_BACKEND)
    session = plain(stack)
    session.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)
    session.headers["Referer"] = stack["base"] + "/"
    return session


def open_label_page(session: requests.Session, stack, project) -> None:
    page = session.get(stack["base"] + reverse("label", args=[project.slug]), timeout=30)
    assert page.status_code == 200, page.text[:300]
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]


def next_task(session: requests.Session, stack, project) -> dict:
    response = session.post(stack["base"] + reverse("api_next_task", args=[project.slug]), json={}, timeout=30)
    assert response.status_code == 200, response.text[:300]
    return response.json()["task"]


def answer(session: requests.Session, stack, task: dict, body: dict) -> None:
    response = session.post(
        stack["base"] + reverse("api_judgement", args=[task["id"]]), json={"answer": body}, timeout=30
    )
    assert response.status_code == 201, response.text[:300]


def test_the_production_path_end_to_end(tmp_path):
    need(redis_reachable(), "Redis is not configured or not running")
    need(NGINX is not None, "nginx is not installed (Debian package nginx-light)")
    need(shutil.which("storescu") is not None, "DCMTK's storescu is not installed (Debian package dcmtk)")
    study = tmp_path / "study"
    study.mkdir()
    for n in range(6):
        write_synthetic_echo(
            study / f"i{n}.dcm", frames=4, rows=120, columns=160, seed=700 + n, phi={"PatientName": "QZJOURNEY^PHI"}
        )

    with production_stack(tmp_path / "stack") as stack:
        # A fresh deployment: the checks ran before any project existed.
        assert stack["deploy"].returncode == 0, stack["deploy"].stdout + stack["deploy"].stderr
        ranking = make_project("ranking", slug="journey-ranking", batch_size=3, rating_period_judgements=1)
        classification = make_project("classification", slug="journey-views")
        experts = [make_user(f"journey-{n}", email=f"journey{n}@hospital.example") for n in range(2)]
        outsider = make_user("journey-outsider", email="outsider@elsewhere.example")
        for project in (ranking, classification):
            for expert in experts:
                do_add_member(project, user=expert)
        DicomPeer.objects.create(ae_title="ECHOLAB", project=ranking, host="127.0.0.1")
        DicomPeer.objects.create(ae_title="VIEWLAB", project=classification, host="127.0.0.1")
        for aet, files in (("ECHOLAB", sorted(study.glob("i[0-3].dcm"))), ("VIEWLAB", sorted(study.glob("i[45].dcm")))):
            sent = subprocess.run(
                ["storescu", "-aet", aet, "-aec", "UNITY", "127.0.0.1", str(stack["dicom"]), *map(str, files)],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert sent.returncode == 0, sent.stdout + sent.stderr
        assert wait_until(lambda: IngestJob.objects.filter(status=IngestJob.Status.READY).count() == 6, timeout=180), (
            list(IngestJob.objects.values_list("status", "error"))
        )
        assert ProjectItem.objects.filter(project=ranking).count() == 4

        health = plain(stack).get(stack["base"] + "/healthz", timeout=30)
        assert health.status_code == 200, health.text
        redirect = plain(stack).get(stack["http"] + "/", allow_redirects=False, timeout=30)
        assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://")

        sessions = [browser_session(expert, stack) for expert in experts]
        for session in sessions:
            open_label_page(session, stack, ranking)
            task = next_task(session, stack, ranking)
            assert len(task["items"]) == 3
            answer(session, stack, task, {"ordering": [item["id"] for item in task["items"]], "ties": []})
            open_label_page(session, stack, classification)
            answer(session, stack, next_task(session, stack, classification), {"class": "a4c"})
        # The main worker folds each judgement's rating period (one judgement per period here).
        assert wait_until(lambda: ItemRating.objects.filter(project=ranking, views__gt=0).exists(), timeout=120)

        # Media through nginx (X-Accel), to members only.
        item = task["items"][0]
        poster = item["clip"]["poster_url"]
        served = sessions[0].get(stack["base"] + poster, timeout=30)
        assert served.status_code == 200 and served.headers["Content-Type"] == "image/jpeg"
        assert "X-Accel-Redirect" not in served.headers  # nginx consumed it
        stranger = browser_session(outsider, stack)
        assert stranger.get(stack["base"] + poster, timeout=30).status_code in (403, 404)
        anonymous = plain(stack).get(stack["base"] + poster, timeout=30, allow_redirects=False)
        assert anonymous.status_code in (302, 403, 404)
        direct = plain(stack).get(stack["base"] + "/protected-media/poster.jpg", timeout=30)
        assert direct.status_code == 404  # the internal location is not reachable from outside

        # A researcher accepts the licence of a release and downloads it, through nginx.
        release = do_build_release(do_create_release(classification, title="Journey views", queue=False).pk)
        assert release.status == Release.Status.READY, release.error
        researcher = browser_session(make_user("journey-researcher", email="ada@university.example"), stack)
        page = stack["base"] + reverse("dataset_release", args=[classification.slug, release.version])
        assert researcher.get(page, timeout=30).status_code == 200
        researcher.headers["X-CSRFToken"] = researcher.cookies["csrftoken"]
        accepted = researcher.post(
            page,
            data={"full_name": "Ada", "institution": "A University", "intended_use": "Views", "accept": "on"},
            timeout=30,
        )
        assert accepted.status_code == 200, accepted.text[:300]
        archive = researcher.get(
            stack["base"] + reverse("dataset_download", args=[classification.slug, release.version]), timeout=60
        )
        assert archive.status_code == 200, archive.text[:300]
        assert archive.content == release_path(release).read_bytes() and archive.content[:2] == b"PK"

    for log in (tmp_path / "stack" / "logs").iterdir():
        assert "QZJOURNEY" not in log.read_text(errors="replace"), log.name
