import pytest


@pytest.fixture
def media_root(settings, tmp_path):
    """Attachment content goes to a fresh media directory (default_storage follows
    MEDIA_ROOT changes through the setting_changed signal)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def stored_files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
