"""Receive studies from a PACS or an echo machine (DICOM C-STORE), into the projects their AE
titles are mapped to (admin: DICOM peers).

    python manage.py dicom_receiver [--port 11112] [--ae-title UNITY] [--address 0.0.0.0]
"""

from __future__ import annotations

import logging

from django.core.management.base import BaseCommand, CommandParser

from media_ingest.models import DicomPeer
from media_ingest.receiver import Receiver, accepted_syntaxes
from unity.env import env_int, env_str


class Command(BaseCommand):
    help = "Run the DICOM receiver (a Storage SCP) until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=env_int("UNITY_DICOM_PORT", 11112, minimum=1))
        parser.add_argument("--ae-title", default=env_str("UNITY_DICOM_AE_TITLE", "UNITY") or "UNITY")
        parser.add_argument("--address", default=env_str("UNITY_DICOM_ADDRESS", "0.0.0.0") or "0.0.0.0")  # noqa: S104

    def handle(self, *args: object, **options: object) -> None:
        logging.getLogger("media_ingest").setLevel(logging.INFO)
        peers = DicomPeer.objects.filter(enabled=True).count()
        self.stdout.write(
            f"DICOM receiver {options['ae_title']} on {options['address']}:{options['port']}; "
            f"{peers} peer(s) allowed; transfer syntaxes: {', '.join(s.name for s in accepted_syntaxes())}"
        )
        if not peers:
            self.stdout.write(self.style.WARNING("No DICOM peer is allowed yet: add one in admin (DICOM peers)."))
        Receiver(str(options["ae_title"])).serve(str(options["address"]), int(options["port"]))
