"""14 §4: secrets are sealed with AES-GCM under keys outside the database, never returned,
never shown in the admin; rotation keeps old secrets readable and re-encryption moves them."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from ..crypto import KeyRing, VaultKeyError, check_production_keys, generate_key_line, keyring, parse_key
from ..models import Credential
from ..services import credential_secret
from .conftest import TEST_KEY, make_credential, make_vault

PLAINTEXT = "sk-live-very-secret-value-123"
META_SECRET = "p4ssw0rd-in-metadata"


def dump_credential_table() -> str:
    """Every column of every credential row, read with raw SQL."""
    table = Credential._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        rows = cursor.fetchall()
    assert rows
    return json.dumps([[str(value) for value in row] for row in rows])


def test_stored_credential_has_no_plaintext_secret_in_any_column(api):
    vault = make_vault(api)
    created = make_credential(
        api, vault["id"], secret={"api_key": PLAINTEXT},
        metadata={"base_url": "https://api.example.com", "password": META_SECRET, "username": "bob"},
    )
    dump = dump_credential_table()
    assert PLAINTEXT not in dump and META_SECRET not in dump
    # It is really there, sealed: only the key ring opens it.
    credential = Credential.objects.get(pk=created["id"])
    assert credential.secret_ciphertext.startswith(f"v1:{keyring().current.kid}:")
    assert credential_secret(credential) == {"api_key": PLAINTEXT, "password": META_SECRET, "username": "bob"}


def test_api_never_returns_the_secret(api):
    vault = make_vault(api)
    created = make_credential(api, vault["id"], secret={"api_key": PLAINTEXT}, metadata={"token": META_SECRET, "base_url": "https://x.example"})
    fetched = api.get(f"/api/v1/credentials/{created['id']}").json()
    for body in (created, fetched):
        text = json.dumps(body)
        assert PLAINTEXT not in text and META_SECRET not in text
        assert body["secret_fields"] == ["api_key", "token"]
        assert body["metadata"] == body["credential_metadata"] == {"base_url": "https://x.example"}
    assert api.get(f"/api/v1/vaults/{vault['id']}").json()["credentials"] == [created["id"]]


def test_admin_pages_never_show_the_secret(api, admin_client):
    vault = make_vault(api)
    created = make_credential(api, vault["id"], secret={"api_key": PLAINTEXT})
    credential = Credential.objects.get(pk=created["id"])
    for url in (
        "/admin/vaults/credential/",
        f"/admin/vaults/credential/{created['id']}/change/",
        "/admin/vaults/credential/add/",
    ):
        page = admin_client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert PLAINTEXT not in html and credential.secret_ciphertext not in html


def test_admin_rotates_the_secret_through_a_write_only_field(api, admin_client):
    vault = make_vault(api)
    created = make_credential(api, vault["id"], secret={"api_key": PLAINTEXT})
    url = f"/admin/vaults/credential/{created['id']}/change/"
    form = {
        "vault": vault["id"], "service": "search", "label": "Search API", "auth_type": "api_key",
        "scopes_available": "[]", "status": "active", "metadata": "{}", "expires_at_0": "", "expires_at_1": "",
        "new_secret": json.dumps({"api_key": "rotated-secret-456"}),
    }
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    credential = Credential.objects.get(pk=created["id"])
    assert credential_secret(credential) == {"api_key": "rotated-secret-456"}
    assert credential.rotated_at is not None
    # A bad value is refused without echoing it back.
    form["new_secret"] = "not json rotated-secret-789"
    page = admin_client.post(url, form)
    assert page.status_code == 200 and "rotated-secret-789" not in page.content.decode()


def test_admin_creates_a_credential_with_a_sealed_secret(api, admin_client):
    vault = make_vault(api)
    form = {
        "vault": vault["id"], "service": "mail", "label": "Mail", "auth_type": "bearer_token",
        "scopes_available": "[]", "status": "active", "metadata": "{}", "expires_at_0": "", "expires_at_1": "",
        "new_secret": json.dumps({"token": "admin-made-secret"}),
    }
    assert admin_client.post("/admin/vaults/credential/add/", form).status_code == 302
    credential = Credential.objects.get(service="mail")
    assert credential_secret(credential) == {"token": "admin-made-secret"}
    assert "admin-made-secret" not in dump_credential_table()


def test_rotated_key_still_decrypts_and_reencrypt_moves_secrets(api, settings):
    vault = make_vault(api)
    created = make_credential(api, vault["id"], secret={"api_key": PLAINTEXT})
    old_kid = parse_key(TEST_KEY).kid
    assert Credential.objects.get(pk=created["id"]).key_id == old_kid

    new_key = generate_key_line()
    settings.OPENINTENT_VAULT_KEYS = [new_key, TEST_KEY]  # newest first
    new_kid = parse_key(new_key).kid
    credential = Credential.objects.get(pk=created["id"])
    assert credential_secret(credential) == {"api_key": PLAINTEXT}  # old key still opens it

    call_command("vaults_reencrypt")
    credential = Credential.objects.get(pk=created["id"])
    assert credential.key_id == new_kid and credential.secret_ciphertext.startswith(f"v1:{new_kid}:")
    assert credential_secret(credential) == {"api_key": PLAINTEXT}
    assert PLAINTEXT not in dump_credential_table()

    # Once the old key is retired, the moved secret still opens.
    settings.OPENINTENT_VAULT_KEYS = [new_key]
    assert credential_secret(Credential.objects.get(pk=created["id"])) == {"api_key": PLAINTEXT}


def test_a_ciphertext_moved_to_another_credential_does_not_open(api):
    vault = make_vault(api)
    a = Credential.objects.get(pk=make_credential(api, vault["id"], secret={"api_key": "a-secret"})["id"])
    b = Credential.objects.get(pk=make_credential(api, vault["id"], secret={"api_key": "b-secret"})["id"])
    b.secret_ciphertext = a.secret_ciphertext  # the credential id is the associated data
    with pytest.raises(VaultKeyError):
        credential_secret(b)


def test_unknown_key_id_is_an_error_not_garbage():
    ring = KeyRing([parse_key(generate_key_line())])
    _kid, token = ring.encrypt({"x": "y"}, associated_data="id")
    other = KeyRing([parse_key(generate_key_line())])
    with pytest.raises(VaultKeyError):
        other.decrypt(token, associated_data="id")


def test_production_refuses_to_start_without_a_key(settings):
    settings.OPENINTENT_DEV_MODE = False
    settings.OPENINTENT_VAULT_KEYS = []
    settings.OPENINTENT_VAULT_KEY_FILE = ""
    with pytest.raises(ImproperlyConfigured):
        check_production_keys()
    with pytest.raises(ImproperlyConfigured):
        keyring()


def test_key_file_and_dev_generated_key(settings, tmp_path):
    line = generate_key_line()
    key_file = tmp_path / "keys"
    key_file.write_text(f"# newest first\n{line}\n")
    settings.OPENINTENT_VAULT_KEYS = []
    settings.OPENINTENT_VAULT_KEY_FILE = str(key_file)
    assert keyring().current.kid == parse_key(line).kid

    settings.OPENINTENT_VAULT_KEY_FILE = ""
    settings.DATA_DIR = tmp_path / "data"
    settings.OPENINTENT_DEV_MODE = True
    ring = keyring()
    generated = (tmp_path / "data" / "vault.keys").read_text().strip()
    assert ring.current.kid == parse_key(generated).kid
