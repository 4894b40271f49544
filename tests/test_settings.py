"""Settings are data: every setting is documented in the README's settings table."""

from pathlib import Path

from storydiff import settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_documented_in_the_readme():
    text = README.read_text(encoding="utf-8")
    missing = [s.name for s in settings.SETTINGS if f"`{s.name}`" not in text]
    assert missing == []


def test_database_url_defaults_to_sqlite_in_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("STORYDIFF_DATA_DIR", str(tmp_path))
    assert settings.database_url() == f"sqlite:///{tmp_path / 'storydiff.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert settings.database_url() == "postgresql+psycopg://u@h/db"
