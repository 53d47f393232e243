"""Production settings are strict and pass Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent


def _production_env(**overrides) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update(
        MDM_ENV="production",
        SECRET_KEY="x9!k2@p7#q4$w1%e8^r5&t3*y6(u0)i-o=p+a_s[d]f{g}h|j;k:l,z.x/c?v",
        ALLOWED_HOSTS="mdm.example.org",
        DATABASE_URL=settings.DATABASE_URL,
        REDIS_URL=settings.REDIS_URL,
        MDM_CREDENTIALS_KEYS=Fernet.generate_key().decode(),
    )
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_secret_key_fails_loudly():
    result = _manage("check", env=_production_env(SECRET_KEY=None))
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_production_without_database_url_fails_loudly():
    env = _production_env()
    del env["DATABASE_URL"]
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "DATABASE_URL is required" in result.stderr


def test_production_refuses_the_published_development_credentials_key():
    for keys in [
        settings.DEVELOPMENT_CREDENTIALS_KEY,
        f"{Fernet.generate_key().decode()},{settings.DEVELOPMENT_CREDENTIALS_KEY}",
    ]:
        result = _manage("check", env=_production_env(MDM_CREDENTIALS_KEYS=keys))
        assert result.returncode != 0
        assert "MDM_CREDENTIALS_KEYS holds the published development Fernet key" in result.stderr


def test_production_refuses_the_development_and_example_secret_keys():
    for key in ["dev-only-insecure-key-never-in-production", "change-me-to-a-long-random-string"]:
        result = _manage("check", env=_production_env(SECRET_KEY=key))
        assert result.returncode != 0
        assert "SECRET_KEY is the published development/example key" in result.stderr


def _setting(name: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django; django.setup(); "
            f"from django.conf import settings; print(settings.{name})",
        ],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "mdm.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_debug_is_off_unless_asked_for():
    development = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "MDM_ENV"}}
    assert _setting("DEBUG", development) == "False"
    assert _setting("DEBUG", {**development, "DEBUG": "1"}) == "True"
    assert _setting("DEBUG", _production_env(DEBUG=None)) == "False"


def test_times_are_pakistan_standard_time():
    assert settings.TIME_ZONE == "Asia/Karachi"
    assert settings.USE_TZ is True


def test_database_is_postgresql():
    from django.db import connection

    assert connection.vendor == "postgresql"
