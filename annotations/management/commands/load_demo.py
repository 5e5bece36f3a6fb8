from django.core.management.base import BaseCommand

from datasets.demo import do_release_demo
from media_ingest.demo import do_ingest_demo_echoes
from projects.demo import DEMO_ACCOUNTS, do_create_demo_accounts_and_projects


class Command(BaseCommand):
    help = "Create demo accounts and one demo project of each kind (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        projects = do_create_demo_accounts_and_projects()
        do_ingest_demo_echoes()
        release = do_release_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo projects: {', '.join(p.slug for p in projects)}"))
        if release is not None:
            self.stdout.write(
                f"Demo dataset release: /datasets/{release.project.slug}/v{release.version}/ ({release.status})"
            )
        self.stdout.write(
            "Demo accounts (sign in at /demo-login/ while DEBUG is on): " + ", ".join(a[0] for a in DEMO_ACCOUNTS)
        )
