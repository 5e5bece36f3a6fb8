"""The system checks pass here and report an unwritable media storage."""

from unittest import mock

from django.core.files.storage import default_storage

from media_ingest.checks import check_h264_encoder, check_media_storage_writable


def test_encoder_and_storage_checks_pass_on_this_machine(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    assert check_h264_encoder(None) == []
    assert check_media_storage_writable(None) == []
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_media_storage_is_reported():
    with mock.patch.object(default_storage, "save", side_effect=PermissionError("read-only")):
        [error] = check_media_storage_writable(None)
    assert error.id == "media_ingest.E002"
    assert "PermissionError" in error.msg
