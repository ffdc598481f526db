"""RFC-0005 attachments over the API (05): metadata-only (REF + FIX), stored content
(base64 and multipart), download, size limit, delete."""

import base64
import hashlib
from unittest import mock

import pytest
from django.db import IntegrityError

from conftest import make_client
from intents.models import Attachment, Event
from intents.tests.conftest import stored_files

pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def intent(api):
    response = api.post("/api/v1/intents", {"title": "With files"}, format="json")
    assert response.status_code == 200
    return response.json()


def url(intent_id, *rest):
    return "/".join([f"/api/v1/intents/{intent_id}/attachments", *rest])


META = {"filename": "report.pdf", "mime_type": "application/pdf", "size": 1234, "storage_url": "s3://bucket/report.pdf"}


# --- metadata-only (REF) ------------------------------------------------------------------

def test_metadata_only_attachment_is_stored_and_echoed_with_fix_fields(api, intent):
    response = api.post(url(intent["id"]), {**META, "metadata": {"pages": 3}}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["filename"] == "report.pdf" and data["mime_type"] == "application/pdf"
    assert data["size"] == 1234 and data["storage_url"] == "s3://bucket/report.pdf"
    assert data["created_by"] == data["uploaded_by"] == "agent-owner"
    assert data["metadata"] == {"pages": 3}
    assert data["sha256"] is None and data["has_content"] is False
    assert data["intent_id"] == intent["id"]
    assert "Z" not in data["created_at"]
    event = Event.objects.get(intent_id=intent["id"], event_type="attachment_added")
    assert event.payload == {"attachment_id": data["id"], "filename": "report.pdf", "size": 1234}


def test_async_client_aliases_are_accepted_and_ref_names_win(api, intent):
    body = {"filename": "a.png", "content_type": "image/png", "url": "https://x/a.png", "size_bytes": 0}
    data = api.post(url(intent["id"]), body, format="json").json()
    assert (data["mime_type"], data["storage_url"], data["size"]) == ("image/png", "https://x/a.png", 0)
    both = {**body, "mime_type": "image/jpeg", "storage_url": "https://x/b", "size": 7}
    data = api.post(url(intent["id"]), both, format="json").json()
    assert (data["mime_type"], data["storage_url"], data["size"]) == ("image/jpeg", "https://x/b", 7)


def test_size_coerces_numeric_strings(api, intent):
    data = api.post(url(intent["id"]), {**META, "size": "12"}, format="json").json()
    assert data["size"] == 12


@pytest.mark.parametrize(
    "body, locs",
    [
        ({}, [["body", "filename"]]),
        ({"filename": "x"}, [["body", "mime_type"], ["body", "size"], ["body", "storage_url"]]),
        ({**META, "size": 1.5}, [["body", "size"]]),
        ({**META, "size": -1}, [["body", "size"]]),
        ({**META, "size": 2**63}, [["body", "size"]]),
        ({**META, "mime_type": "x" * 256}, [["body", "mime_type"]]),
        ({**META, "filename": 5}, [["body", "filename"]]),
        ({**META, "metadata": []}, [["body", "metadata"]]),
        ({**META, "storage_url": None}, [["body", "storage_url"]]),
    ],
)
def test_invalid_bodies_are_400_with_one_item_per_problem(api, intent, body, locs):
    response = api.post(url(intent["id"]), body, format="json")
    assert response.status_code == 400, response.content
    assert sorted(item["loc"] for item in response.json()["detail"]) == sorted(locs)
    assert not Attachment.objects.exists()


def test_non_object_body_is_400(api, intent):
    assert api.post(url(intent["id"]), [1], format="json").status_code == 400


def test_unknown_intent_is_404_on_add_and_empty_list(api):
    response = api.post(url("nope"), META, format="json")
    assert response.status_code == 404 and response.json()["detail"] == "Intent not found"
    assert api.get(url("00000000-0000-0000-0000-000000000000")).json() == []
    assert api.get(url("nope")).json() == []


def test_list_is_a_bare_array_in_insertion_order(api, intent):
    ids = [api.post(url(intent["id"]), {**META, "filename": f"{i}.pdf"}, format="json").json()["id"] for i in range(3)]
    listed = api.get(url(intent["id"])).json()
    assert [a["id"] for a in listed] == ids


def test_list_has_no_n_plus_one(api, intent, django_assert_max_num_queries):
    for i in range(5):
        api.post(url(intent["id"]), {**META, "filename": f"{i}.pdf"}, format="json")
    with django_assert_max_num_queries(3):
        assert len(api.get(url(intent["id"])).json()) == 5


def test_requires_the_api_key(db, intent):
    anonymous = make_client(api_key=None)
    assert anonymous.get(url(intent["id"])).status_code == 401
    assert anonymous.post(url(intent["id"]), META, format="json").status_code == 401


def test_delete_is_204_and_a_second_delete_404(api, intent):
    attachment = api.post(url(intent["id"]), META, format="json").json()
    response = api.delete(url(intent["id"], attachment["id"]))
    assert response.status_code == 204 and response.content == b""
    again = api.delete(url(intent["id"], attachment["id"]))
    assert again.status_code == 404 and again.json()["detail"] == "Attachment not found"


def test_delete_through_another_intent_is_404(api, intent):
    other = api.post("/api/v1/intents", {"title": "Other"}, format="json").json()
    attachment = api.post(url(intent["id"]), META, format="json").json()
    assert api.delete(url(other["id"], attachment["id"])).status_code == 404
    assert api.delete(url(intent["id"], "not-a-uuid")).status_code == 404
    assert Attachment.objects.filter(pk=attachment["id"]).exists()


def test_wrong_method_is_405(api, intent):
    assert api.put(url(intent["id"]), META, format="json").status_code == 405


# --- stored content -------------------------------------------------------------------------

PAYLOAD = b"\x00\x01binary payload \xff" * 100


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_base64_round_trip_upload_list_download_delete(api, intent, media_root, django_capture_on_commit_callbacks):
    body = {"filename": "blob.bin", "content_type": "application/x-thing", "content_base64": b64(PAYLOAD), "description": "raw"}
    response = api.post(url(intent["id"]), body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    assert data["size"] == len(PAYLOAD) and data["sha256"] == digest and data["has_content"] is True
    assert data["description"] == "raw" and data["mime_type"] == "application/x-thing"
    assert data["storage_url"] == f"http://testserver/api/v1/intents/{intent['id']}/attachments/{data['id']}/content"
    assert len(stored_files(media_root)) == 1

    assert [a["id"] for a in api.get(url(intent["id"])).json()] == [data["id"]]

    download = api.get(url(intent["id"], data["id"], "content"))
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert hashlib.sha256(content).hexdigest() == digest
    assert download["Content-Type"] == "application/x-thing"
    assert download["Content-Length"] == str(len(PAYLOAD))
    assert download["ETag"] == f'"{digest}"'
    assert 'attachment; filename="blob.bin"' == download["Content-Disposition"]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert api.delete(url(intent["id"], data["id"])).status_code == 204
    # The bytes go only once the delete has committed.
    assert len(stored_files(media_root)) == 1
    for callback in callbacks:
        callback()
    assert stored_files(media_root) == []
    assert api.get(url(intent["id"], data["id"], "content")).status_code == 404


def test_multipart_round_trip(api, intent, media_root, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("photo.png", PAYLOAD, content_type="image/png")
    response = api.post(url(intent["id"]), {"file": upload, "metadata": '{"width": 4}', "description": "d"}, format="multipart")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["filename"], data["mime_type"], data["size"]) == ("photo.png", "image/png", len(PAYLOAD))
    assert data["metadata"] == {"width": 4} and data["description"] == "d"
    download = api.get(url(intent["id"], data["id"], "content"))
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == data["sha256"]
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(url(intent["id"], data["id"])).status_code == 204
    assert stored_files(media_root) == []


def test_download_requires_the_api_key_and_the_right_intent(api, intent):
    data = api.post(url(intent["id"]), {"filename": "a", "content_base64": b64(b"abc")}, format="json").json()
    assert make_client(api_key=None).get(url(intent["id"], data["id"], "content")).status_code == 401
    other = api.post("/api/v1/intents", {"title": "Other"}, format="json").json()
    assert api.get(url(other["id"], data["id"], "content")).status_code == 404
    assert data["mime_type"] == "application/octet-stream"


def test_download_of_metadata_only_attachment_is_404(api, intent):
    data = api.post(url(intent["id"]), META, format="json").json()
    response = api.get(url(intent["id"], data["id"], "content"))
    assert response.status_code == 404 and response.json()["detail"] == "Attachment has no stored content"


@pytest.mark.parametrize("bad", ["not base64!", "abc", "YW=Jj"])
def test_bad_base64_is_400_and_nothing_is_written(api, intent, media_root, bad):
    response = api.post(url(intent["id"]), {"filename": "x", "content_base64": bad}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["detail"][0]["loc"] == ["body", "content_base64"]
    assert not Attachment.objects.exists() and stored_files(media_root) == []


def test_content_base64_must_be_a_string(api, intent):
    response = api.post(url(intent["id"]), {"filename": "x", "content_base64": 5}, format="json")
    assert response.status_code == 400


def test_size_that_disagrees_with_content_is_400_and_nothing_is_written(api, intent, media_root):
    response = api.post(url(intent["id"]), {"filename": "x", "content_base64": b64(b"abcd"), "size": 3}, format="json")
    assert response.status_code == 400 and response.json()["detail"][0]["loc"] == ["body", "size"]
    assert not Attachment.objects.exists() and stored_files(media_root) == []
    ok = api.post(url(intent["id"]), {"filename": "x", "content_base64": b64(b"abcd"), "size": 4}, format="json")
    assert ok.status_code == 200


def test_oversized_base64_is_413_with_nothing_written(api, intent, media_root, settings):
    settings.OPENINTENT_MAX_ATTACHMENT_BYTES = 100
    response = api.post(url(intent["id"]), {"filename": "x", "content_base64": b64(b"a" * 101)}, format="json")
    assert response.status_code == 413, response.content
    assert "too large" in response.json()["detail"]
    assert not Attachment.objects.exists() and stored_files(media_root) == []
    assert not Event.objects.filter(event_type="attachment_added").exists()
    exact = api.post(url(intent["id"]), {"filename": "x", "content_base64": b64(b"a" * 100)}, format="json")
    assert exact.status_code == 200


def test_oversized_json_body_is_413(api, intent, media_root, settings):
    settings.OPENINTENT_MAX_ATTACHMENT_BYTES = 100
    settings.OPENINTENT_MAX_BODY_BYTES = 1000
    response = api.post(url(intent["id"]), {"filename": "x", "content_base64": b64(b"a" * 5000)}, format="json")
    assert response.status_code == 413
    assert not Attachment.objects.exists() and stored_files(media_root) == []


def test_base64_larger_than_the_ordinary_body_cap_is_accepted_up_to_the_attachment_limit(api, intent, settings):
    settings.OPENINTENT_MAX_BODY_BYTES = 1000
    settings.OPENINTENT_MAX_ATTACHMENT_BYTES = 10_000
    response = api.post(url(intent["id"]), {"filename": "x", "content_base64": b64(b"a" * 9000)}, format="json")
    assert response.status_code == 200 and response.json()["size"] == 9000


def test_oversized_multipart_is_413_with_nothing_written(api, intent, media_root, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.OPENINTENT_MAX_ATTACHMENT_BYTES = 100
    upload = SimpleUploadedFile("big.bin", b"a" * 101, content_type="application/octet-stream")
    response = api.post(url(intent["id"]), {"file": upload}, format="multipart")
    assert response.status_code == 413, response.content
    assert not Attachment.objects.exists() and stored_files(media_root) == []


def test_multipart_without_file_or_with_bad_metadata_is_400(api, intent, media_root):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = api.post(url(intent["id"]), {"filename": "x"}, format="multipart")
    assert response.status_code == 400 and response.json()["detail"][0]["loc"] == ["body", "file"]
    upload = SimpleUploadedFile("a.txt", b"abc")
    response = api.post(url(intent["id"]), {"file": upload, "metadata": "[1]"}, format="multipart")
    assert response.status_code == 400 and response.json()["detail"][0]["loc"] == ["body", "metadata"]
    upload = SimpleUploadedFile("a.txt", b"abc")
    response = api.post(url(intent["id"]), {"file": upload, "size": "many"}, format="multipart")
    assert response.status_code == 400 and response.json()["detail"][0]["loc"] == ["body", "size"]
    upload = SimpleUploadedFile("a.txt", b"abc")
    response = api.post(url(intent["id"]), {"file": upload, "filename": "n" * 1001}, format="multipart")
    assert response.status_code == 400 and response.json()["detail"][0]["loc"] == ["body", "filename"]
    upload = SimpleUploadedFile("a.txt", b"abc")
    response = api.post(url(intent["id"]), {"file": upload, "content_type": "t" * 300}, format="multipart")
    assert response.status_code == 400 and response.json()["detail"][0]["loc"] == ["body", "content_type"]
    assert not Attachment.objects.exists() and stored_files(media_root) == []


def test_unknown_intent_with_content_writes_nothing(api, media_root):
    response = api.post(url("00000000-0000-0000-0000-000000000000"), {"filename": "x", "content_base64": b64(b"abc")}, format="json")
    assert response.status_code == 404 and stored_files(media_root) == []


def test_failed_row_insert_leaves_no_orphan_file(api, intent, media_root):
    with mock.patch("intents.services.attachments.events.record", side_effect=IntegrityError("boom")):
        with pytest.raises(IntegrityError):
            api.post(url(intent["id"]), {"filename": "x", "content_base64": b64(b"abc")}, format="json")
    assert not Attachment.objects.exists() and stored_files(media_root) == []


def test_delete_rolled_back_keeps_the_file(intent, owner, media_root):
    from django.db import transaction

    from intents.services import attachments as service

    content = service.content_from_base64(b64(b"keep me"))
    attachment = service.attachment_add(principal=owner, intent_id=intent["id"], filename="k", mime_type=None, content=content)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            service.attachment_delete(principal=owner, intent_id=intent["id"], attachment_id=str(attachment.id))
            raise RuntimeError("roll back")
    assert Attachment.objects.filter(pk=attachment.pk).exists()
    assert len(stored_files(media_root)) == 1


def test_acl_denial_is_checked_for_read_and_write(api, intent, media_root):
    from intents import access
    from openintent_project.errors import Forbidden

    seen = []

    def deny(principal, intent_obj, required):
        seen.append(required.label)
        raise Forbidden({"error": "forbidden", "required_permission": required.label})

    data = api.post(url(intent["id"]), {"filename": "x", "content_base64": b64(b"abc")}, format="json").json()
    with mock.patch.object(access, "_access_evaluator", deny):
        assert api.get(url(intent["id"])).status_code == 403
        assert api.get(url(intent["id"], data["id"], "content")).status_code == 403
        assert api.post(url(intent["id"]), {"filename": "y", "content_base64": b64(b"def")}, format="json").status_code == 403
        assert api.delete(url(intent["id"], data["id"])).status_code == 403
    assert seen == ["read", "read", "write", "write"]
    assert Attachment.objects.count() == 1 and len(stored_files(media_root)) == 1


def test_content_goes_through_the_configured_storage_backend(api, intent, settings, media_root):
    from django.core.files.storage import default_storage

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    data = api.post(url(intent["id"]), {"filename": "m", "content_base64": b64(b"in memory")}, format="json").json()
    name = Attachment.objects.get(pk=data["id"]).content.name
    assert default_storage.exists(name) and stored_files(media_root) == []
    download = api.get(url(intent["id"], data["id"], "content"))
    assert b"".join(download.streaming_content) == b"in memory"


def test_storage_outage_is_503_with_no_row(api, intent):
    with mock.patch("django.core.files.storage.FileSystemStorage._save", side_effect=OSError("disk full")):
        response = api.post(url(intent["id"]), {"filename": "x", "content_base64": b64(b"abc")}, format="json")
    assert response.status_code == 503
    assert not Attachment.objects.exists()


def test_json_with_another_content_type_is_read_as_json_and_garbage_is_400(api, intent):
    import json

    response = api.post(url(intent["id"]), json.dumps(META), content_type="text/plain")
    assert response.status_code == 200
    response = api.post(url(intent["id"]), "<xml/>", content_type="application/xml")
    assert response.status_code == 400 and response.json()["detail"][0]["type"] == "json_invalid"
    response = api.post(url(intent["id"]), "{nope", content_type="application/json")
    assert response.status_code == 400


def test_uploads_larger_than_djangos_in_memory_limits_work(api, intent, settings):
    # Django's DATA_UPLOAD_MAX_MEMORY_SIZE / FILE_UPLOAD_MAX_MEMORY_SIZE default to 2.5 MB.
    from django.core.files.uploadedfile import SimpleUploadedFile

    payload = b"\x07" * (3 * 1024 * 1024)
    data = api.post(url(intent["id"]), {"filename": "big", "content_base64": b64(payload)}, format="json").json()
    assert data["size"] == len(payload)
    upload = SimpleUploadedFile("big2", payload)
    data = api.post(url(intent["id"]), {"file": upload}, format="multipart").json()
    assert data["size"] == len(payload) and data["sha256"] == hashlib.sha256(payload).hexdigest()
