from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "change-me"  # noqa: S105 - refused in production below


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FRONTLINE_", env_file=".env", extra="ignore", populate_by_name=True
    )

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = Field(
        default=f"sqlite:///{ROOT / 'data' / 'frontline.db'}",
        validation_alias=AliasChoices("DATABASE_URL", "FRONTLINE_DATABASE_URL"),
    )
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    languages: list[str] = ["en"]
    default_language: str = "en"
    # How long an instance may serve a release before asking the database for a newer one.
    release_check_seconds: float = 2.0
    # How often an open app asks whether the guidance it carries offline has changed.
    update_check_seconds: int = 900
    sqlite_busy_timeout_ms: int = 5000
    # Field reports one client may send per minute, across every instance.
    feedback_per_minute: int = 60
    # Officers must sign in to read the guide (off: the guide is open to anyone who has the link).
    require_sign_in: bool = False
    session_hours: float = 12.0
    # Failed sign-ins allowed per account, and per client address, in sign_in_window_minutes.
    sign_in_failures_per_account: int = 5
    sign_in_failures_per_client: int = 20
    sign_in_window_minutes: int = 15
    # Mounts POST /api/v1/noop, the baseline that `make bench` measures feedback intake against.
    benchmark_endpoints: bool = False

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> "Settings":
        if self.environment == "production" and self.secret_key.get_secret_value() in (
            DEFAULT_SECRET,
            "",
        ):
            raise ValueError("FRONTLINE_SECRET_KEY must be set to a random value in production")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
