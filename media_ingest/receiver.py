"""The DICOM receiver: a Storage SCP (pynetdicom) that PACS and echo machines send studies to.

Associations are accepted only from calling AE titles on the allow-list (``DicomPeer``, enabled)
and, when a peer names a host, only from that address; anything else is rejected (calling AE
title not recognised) or aborted. C-ECHO answers connection tests. Each received instance is
written raw (the bytes as sent, never decoded here) into the private staging area, handed to
the same ingest pipeline as uploads (``do_create_ingest_jobs``: staged, then de-identified and
decoded by a media worker, one job per instance, failing alone), and the receiver's own copy is
removed. The instances of one association form one batch; jobs are named by their position in
it, never by anything the instance carries. Logs name AE titles, hosts and counts only.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field

from django.db import close_old_connections, connection
from django.utils import timezone
from pydicom.filewriter import write_file_meta_info
from pydicom.pixels import get_decoder
from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification

from media_ingest.models import DicomPeer
from media_ingest.processing import private_root
from media_ingest.services import do_create_ingest_jobs
from projects.models import Project

logger = logging.getLogger(__name__)

#: Ultrasound and secondary capture, current and retired (older echo machines still send them).
STORAGE_SOP_CLASSES = [
    UID("1.2.840.10008.5.1.4.1.1.6.1"),  # Ultrasound Image Storage
    UID("1.2.840.10008.5.1.4.1.1.3.1"),  # Ultrasound Multi-frame Image Storage
    UID("1.2.840.10008.5.1.4.1.1.6"),  # Ultrasound Image Storage (Retired)
    UID("1.2.840.10008.5.1.4.1.1.3"),  # Ultrasound Multi-frame Image Storage (Retired)
    UID("1.2.840.10008.5.1.4.1.1.7"),  # Secondary Capture Image Storage
    UID("1.2.840.10008.5.1.4.1.1.7.2"),  # Multi-frame Grayscale Byte Secondary Capture
    UID("1.2.840.10008.5.1.4.1.1.7.3"),  # Multi-frame Grayscale Word Secondary Capture
    UID("1.2.840.10008.5.1.4.1.1.7.4"),  # Multi-frame True Color Secondary Capture
]
# In this order of preference: pynetdicom accepts, for each proposed context, the first of these
# the sender proposed. A sender proposes a compressed syntax only for instances it holds (or can
# send) that way, so compressed syntaxes come first: an instance stored as JPEG is taken as JPEG
# (storescu cannot decompress it to send it uncompressed), lossless ones before lossy ones; then
# the uncompressed syntaxes every sender offers.
_CANDIDATE_SYNTAXES = [
    RLELossless,
    JPEGLSLossless,
    JPEGLosslessSV1,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLSNearLossless,
    JPEG2000,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    DeflatedExplicitVRLittleEndian,
]


def accepted_syntaxes() -> list[UID]:
    """The transfer syntaxes ingest can decode here (native ones, and compressed ones whose
    decoder is installed): only those are accepted, so nothing arrives that cannot be read."""
    found = []
    for syntax in _CANDIDATE_SYNTAXES:
        if not syntax.is_encapsulated or get_decoder(syntax).is_available:
            found.append(syntax)
    return found


def clean_leftovers() -> int:
    """Delete instances a previous receiver left in its folder (it stopped mid-instance): they
    were never staged, and they carry whatever identified the patient. Returns how many."""
    folder = private_root() / "receiver"
    removed = 0
    for path in folder.glob("*.dcm") if folder.is_dir() else []:
        path.unlink(missing_ok=True)
        removed += 1
    if removed:
        logger.warning("removed %s instance(s) a previous receiver left unstaged", removed)
    return removed


@dataclass
class _Batch:
    project_id: int
    name: str
    received: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Receiver:
    """Build with ``Receiver(ae_title)``, then ``serve(address, port)`` (blocking) or
    ``start(address, port)`` (a background server, for tests), ``stop()``."""

    def __init__(self, ae_title: str = "UNITY") -> None:
        self.ae = _AllowListAE(ae_title=ae_title)
        syntaxes = accepted_syntaxes()
        for sop_class in STORAGE_SOP_CLASSES:
            self.ae.add_supported_context(sop_class, syntaxes)
        self.ae.add_supported_context(Verification)
        self.ae.maximum_associations = 20
        self.ae.require_called_aet = False
        self._batches: dict[int, _Batch] = {}
        self.handlers = [
            (evt.EVT_ESTABLISHED, self._on_established),
            (evt.EVT_C_STORE, self._on_store),
            (evt.EVT_C_ECHO, self._on_echo),
            (evt.EVT_RELEASED, self._on_closed),
            (evt.EVT_ABORTED, self._on_closed),
            (evt.EVT_REJECTED, self._on_rejected),
        ]
        self._server = None

    def serve(self, address: str, port: int) -> None:
        clean_leftovers()
        self.ae.start_server((address, port), block=True, evt_handlers=self.handlers)

    def start(self, address: str, port: int) -> None:
        clean_leftovers()
        self._server = self.ae.start_server((address, port), block=False, evt_handlers=self.handlers)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    # -- events ---------------------------------------------------------------------------------

    def _peer(self, assoc) -> DicomPeer | None:
        title = assoc.requestor.ae_title.strip()
        peer = DicomPeer.objects.filter(ae_title=title, enabled=True).select_related("project").first()
        if peer is None or (peer.host and peer.host != assoc.requestor.address):
            return None
        return peer

    def _on_established(self, event) -> None:
        close_old_connections()
        assoc = event.assoc
        peer = self._peer(assoc)
        if peer is None:
            logger.warning(
                "association from %s (%s) refused: host not allowed for this AE title",
                assoc.requestor.ae_title.strip(),
                assoc.requestor.address,
            )
            assoc.abort()
            return
        name = f"dicom-{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        self._batches[id(assoc)] = _Batch(project_id=peer.project_id, name=name)
        logger.info(
            "association from %s (%s) accepted into project %s, batch %s",
            peer.ae_title,
            assoc.requestor.address,
            peer.project_id,
            name,
        )

    def _on_rejected(self, event) -> None:
        logger.warning(
            "association from %s (%s) rejected: calling AE title not on the allow-list",
            event.assoc.requestor.ae_title.strip(),
            event.assoc.requestor.address,
        )

    def _on_echo(self, event) -> int:
        return 0x0000

    def _on_store(self, event) -> int:
        batch = self._batches.get(id(event.assoc))
        if batch is None:
            return 0xA700  # Refused: out of resources (no batch: the association was not accepted)
        folder = private_root() / "receiver"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uuid.uuid4().hex}.dcm"
        try:
            # The instance as sent (never decoded here): preamble, file meta, then the data set.
            with path.open("wb") as handle:
                handle.write(b"\x00" * 128 + b"DICM")
                write_file_meta_info(handle, event.file_meta)
                handle.write(event.request.DataSet.getvalue())
            with batch.lock:
                batch.received += 1
                position = batch.received
            project = Project.objects.get(pk=batch.project_id)
            [job] = do_create_ingest_jobs(project, paths=[path], batch=batch.name, first_position=position)
        except Exception as exc:  # noqa: BLE001 - one instance failing must not end the association
            logger.error(
                "batch %s: instance %s could not be queued (%s)", batch.name, batch.received, type(exc).__name__
            )
            return 0xA700
        finally:
            path.unlink(missing_ok=True)
        logger.info("batch %s: instance %s -> ingest job %s (%s)", batch.name, position, job.pk, job.status)
        return 0x0000

    def _on_closed(self, event) -> None:
        batch = self._batches.pop(id(event.assoc), None)
        if batch is not None:
            logger.info("batch %s: association closed after %s instance(s)", batch.name, batch.received)
        connection.close()  # each association runs in its own thread, with its own connection


class _AllowListAE(AE):
    """An AE whose calling-AE-title allow-list is the enabled ``DicomPeer`` rows, read at each
    association request (so peers added in admin take effect without a restart)."""

    @property
    def require_calling_aet(self) -> list[str]:
        close_old_connections()
        titles = list(DicomPeer.objects.filter(enabled=True).values_list("ae_title", flat=True))
        # An empty list would mean "anyone" to pynetdicom: with no peer, nobody is allowed.
        return titles or ["\\no peer\\"]

    @require_calling_aet.setter
    def require_calling_aet(self, value: list[str]) -> None:
        pass  # the allow-list lives in the database
