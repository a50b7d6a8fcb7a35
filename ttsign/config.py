"""Settings from the environment (and `.env`), via pydantic-settings.

Every `TTSIGN_*` name has a default; the origin proof-of-concept's names (`HOST`, `PORT`, `LOG_LEVEL`,
`SIGNATURE_LIBRARY`) are honoured too, with the `TTSIGN_*` name winning when both are set.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def _env(name: str, *origin: str) -> AliasChoices:
    return AliasChoices(f"TTSIGN_{name}", *origin)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    host: str = Field("127.0.0.1", validation_alias=_env("HOST", "HOST"))
    port: int = Field(8080, ge=1, le=65535, validation_alias=_env("PORT", "PORT"))
    workers: int = Field(1, ge=1, le=64, validation_alias=_env("WORKERS"))
    log_level: str = Field("info", validation_alias=_env("LOG_LEVEL", "LOG_LEVEL"))
    log_json: bool | None = Field(None, validation_alias=_env("LOG_JSON"))
    signature_library: str = Field("native", validation_alias=_env("SIGNATURE_LIBRARY", "SIGNATURE_LIBRARY"))

    # Auth and limits
    api_keys: str = Field("", validation_alias=_env("API_KEYS"))
    api_keys_file: str = Field("", validation_alias=_env("API_KEYS_FILE"))
    rate_limit_minute: int = Field(120, ge=0, validation_alias=_env("RATE_LIMIT_MINUTE"))
    rate_limit_hour: int = Field(3000, ge=0, validation_alias=_env("RATE_LIMIT_HOUR"))
    rate_limit_day: int = Field(30000, ge=0, validation_alias=_env("RATE_LIMIT_DAY"))
    open_rate_limit: bool = Field(False, validation_alias=_env("OPEN_RATE_LIMIT"))  # open mode: limit signing too
    store: str = Field("memory", validation_alias=_env("STORE"))
    store_prefix: str = Field("ttsign:", validation_alias=_env("STORE_PREFIX"))  # every Redis key starts with it
    store_timeout_ms: int = Field(50, ge=1, le=60_000, validation_alias=_env("STORE_TIMEOUT_MS"))
    instances: int = Field(1, ge=1, le=1024, validation_alias=_env("INSTANCES"))  # hosts sharing TTSIGN_STORE
    allowed_hosts: str = Field("tiktok.com,tiktokv.com,tiktokcdn.com", validation_alias=_env("ALLOWED_HOSTS"))
    max_url_bytes: int = Field(8192, validation_alias=_env("MAX_URL_BYTES"))
    max_body_bytes: int = Field(65536, validation_alias=_env("MAX_BODY_BYTES"))

    # Signing
    gnarly_version: Literal["5.3.2", "5.1.3"] = Field("5.3.2", validation_alias=_env("GNARLY_VERSION"))
    env_code: int = Field(65, ge=0, le=65535, validation_alias=_env("ENV_CODE"))
    ub_code: int = Field(8, ge=0, le=65535, validation_alias=_env("UB_CODE"))
    webcast_xbogus: bool = Field(False, validation_alias=_env("WEBCAST_XBOGUS"))
    browser_preset: str = Field("chrome-win", validation_alias=_env("BROWSER_PRESET"))

    # Providers (ttsign/providers): the chain, its breakers, shadow comparison, stale-if-error cache
    providers: str = Field("native", validation_alias=_env("PROVIDERS"))
    breaker_failures: int = Field(5, ge=1, validation_alias=_env("BREAKER_FAILURES"))
    breaker_window_s: float = Field(60.0, gt=0, validation_alias=_env("BREAKER_WINDOW"))
    breaker_cooldown_s: float = Field(30.0, gt=0, validation_alias=_env("BREAKER_COOLDOWN"))
    breaker_max_cooldown_s: float = Field(600.0, gt=0, validation_alias=_env("BREAKER_MAX_COOLDOWN"))
    shadow_rate: float = Field(0.0, ge=0.0, le=1.0, validation_alias=_env("SHADOW_RATE"))
    cache_ttl_s: float = Field(0.0, ge=0.0, validation_alias=_env("CACHE_TTL"))
    cache_size: int = Field(1024, ge=1, validation_alias=_env("CACHE_SIZE"))
    provider_faults: str = Field("", validation_alias=_env("PROVIDER_FAULTS"))  # tests: "native=error,browser=hang"
    verify_native: bool = Field(False, validation_alias=_env("VERIFY_NATIVE"))  # browser/remote: always verified
    # browser provider (optional extra `ttsign[browser]`: Playwright driving the system's Chromium)
    browser_executable: str = Field("/usr/bin/chromium", validation_alias=_env("BROWSER_EXECUTABLE"))
    browser_page_url: str = Field("https://www.tiktok.com/explore", validation_alias=_env("BROWSER_PAGE_URL"))
    browser_sdk: str = Field("", validation_alias=_env("BROWSER_SDK"))  # a pinned SDK file or URL, served locally
    browser_pages: int = Field(2, ge=1, le=16, validation_alias=_env("BROWSER_PAGES"))
    browser_queue: int = Field(64, ge=1, validation_alias=_env("BROWSER_QUEUE"))
    browser_timeout_s: float = Field(5.0, gt=0, validation_alias=_env("BROWSER_TIMEOUT"))
    browser_recycle_after: int = Field(5000, ge=1, validation_alias=_env("BROWSER_RECYCLE_AFTER"))
    browser_recycle_minutes: float = Field(60.0, gt=0, validation_alias=_env("BROWSER_RECYCLE_MINUTES"))
    # remote provider: another sign server (ttsign, or Euler) speaking POST /webcast/sign_url
    remote_url: str = Field("", validation_alias=_env("REMOTE_URL"))
    remote_key: str = Field("", validation_alias=_env("REMOTE_KEY"))
    remote_timeout_s: float = Field(5.0, gt=0, validation_alias=_env("REMOTE_TIMEOUT"))

    # Upstream TikTok (every base configurable so tests point them at a fake)
    tiktok_www: str = Field("https://www.tiktok.com", validation_alias=_env("TIKTOK_WWW"))
    ttwid_url: str = Field("https://ttwid.bytedance.com/ttwid/union/register/", validation_alias=_env("TTWID_URL"))
    webcast_url: str = Field("https://webcast.tiktok.com/webcast", validation_alias=_env("WEBCAST_URL"))
    ws_url: str = Field(
        "wss://webcast-ws.tiktok.com/webcast/im/ws_proxy/ws_reuse_supplement/",
        validation_alias=_env("WS_URL"),
    )
    proxy: str = Field("", validation_alias=_env("PROXY"))
    connect_strategy: Literal["auto", "direct", "relay"] = Field("direct", validation_alias=_env("CONNECT_STRATEGY"))
    ws_signer: Literal["none", "x-bogus", "x-gnarly", "auto"] = Field("none", validation_alias=_env("WS_SIGNER"))
    ttwid_ttl_s: int = Field(7200, ge=1, validation_alias=_env("TTWID_TTL"))
    connects_per_hour: int = Field(15, ge=1, validation_alias=_env("CONNECTS_PER_HOUR"))
    upstream_timeout_s: float = Field(10.0, gt=0, validation_alias=_env("UPSTREAM_TIMEOUT"))
    upstream_max_bytes: int = Field(4 * 1024 * 1024, ge=1024, validation_alias=_env("UPSTREAM_MAX_BYTES"))
    upstream_max_redirects: int = Field(3, ge=0, le=10, validation_alias=_env("UPSTREAM_MAX_REDIRECTS"))

    # Monitor, alerts, maintenance (issue 9)
    monitor_interval_s: float = Field(0.0, ge=0, validation_alias=_env("MONITOR_INTERVAL"))  # 0: no background monitor
    monitor_live_user: str = Field("", validation_alias=_env("MONITOR_LIVE_USER"))  # opt-in live probes
    monitor_baseline: str = Field("", validation_alias=_env("MONITOR_BASELINE"))  # a baseline file (ttsign analyze)
    monitor_history: int = Field(96, ge=1, le=10_000, validation_alias=_env("MONITOR_HISTORY"))  # cycles kept
    monitor_mitigate: bool = Field(True, validation_alias=_env("MONITOR_MITIGATE"))  # automatic response
    monitor_outage_maintenance: bool = Field(True, validation_alias=_env("MONITOR_OUTAGE_MAINTENANCE"))
    alert_urls: str = Field("", validation_alias=_env("ALERT_URLS"))  # comma-separated apprise URLs
    alerts_per_hour: int = Field(30, ge=1, validation_alias=_env("ALERTS_PER_HOUR"))
    admin_keys: str = Field("", validation_alias=_env("ADMIN_KEYS"))  # maintenance and other admin routes

    # Relay: LIVE events as a service (issue 12)
    relay_grace_s: float = Field(30.0, ge=0, validation_alias=_env("RELAY_GRACE"))  # room kept after last leaves
    relay_buffer: int = Field(1000, ge=1, le=100_000, validation_alias=_env("RELAY_BUFFER"))  # events per room
    relay_queue: int = Field(256, ge=1, le=100_000, validation_alias=_env("RELAY_QUEUE"))  # per subscriber
    relay_max_rooms: int = Field(10, ge=1, validation_alias=_env("RELAY_MAX_ROOMS"))  # the identity budget
    relay_rooms_per_key: int = Field(3, ge=1, validation_alias=_env("RELAY_ROOMS_PER_KEY"))
    relay_subscribers_per_key: int = Field(20, ge=1, validation_alias=_env("RELAY_SUBSCRIBERS_PER_KEY"))
    relay_max_lifetime_s: float = Field(6 * 3600.0, gt=0, validation_alias=_env("RELAY_MAX_LIFETIME"))
    token_secret: str = Field("", validation_alias=_env("TOKEN_SECRET"))  # signs room tokens; empty: per process
    token_max_ttl_s: int = Field(86400, ge=1, validation_alias=_env("TOKEN_MAX_TTL"))

    # The compiled fast path (issue 13): auto uses it when it imports; on fails start-up without it
    accel: Literal["auto", "on", "off"] = Field("auto", validation_alias=_env("ACCEL"))

    # Transport: timeouts (seconds) and caps on what a client may hold open or send
    header_timeout_s: float = Field(10.0, gt=0, validation_alias=_env("HEADER_TIMEOUT"))
    body_timeout_s: float = Field(15.0, gt=0, validation_alias=_env("BODY_TIMEOUT"))
    keepalive_timeout_s: float = Field(5.0, gt=0, validation_alias=_env("KEEPALIVE_TIMEOUT"))
    shutdown_timeout_s: float = Field(10.0, ge=0, validation_alias=_env("SHUTDOWN_TIMEOUT"))
    max_connections: int = Field(512, ge=1, validation_alias=_env("MAX_CONNECTIONS"))
    max_header_bytes: int = Field(16384, ge=1024, validation_alias=_env("MAX_HEADER_BYTES"))
    trusted_proxies: str = Field("", validation_alias=_env("TRUSTED_PROXIES"))
    auth_failures_per_minute: int = Field(10, ge=0, validation_alias=_env("AUTH_FAILURES_PER_MINUTE"))
    cors_origins: str = Field("", validation_alias=_env("CORS_ORIGINS"))

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        from ttsign.server.cors import parse_origins

        parse_origins(value)  # a ValueError naming the bad entry
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().lower()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("browser_preset")
    @classmethod
    def _known_preset(cls, value: str) -> str:
        from ttsign.algorithms.navigator import PRESETS

        if value not in PRESETS:
            raise ValueError(f"must be one of {', '.join(PRESETS)}")
        return value

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str) -> str:
        value = value.strip()
        if value:
            parts = urlsplit(value)
            if parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname:
                raise ValueError(f"must be empty or a URL scheme://host[:port] with scheme {', '.join(PROXY_SCHEMES)}")
            try:
                parts.port  # noqa: B018  # a port that is not a number raises here
            except ValueError:
                raise ValueError("the proxy URL's port must be a number from 1 to 65535") from None
        return value

    def api_key_set(self) -> frozenset[str]:
        """Keys from TTSIGN_API_KEYS and TTSIGN_API_KEYS_FILE; `ttsign.api_keys.ApiKeysError` (a ValueError
        with a one-line message) when the file is unreadable, holds no key, or a key is not header-safe."""
        from ttsign.api_keys import env_keys, read_keys_file

        keys = env_keys(self.api_keys)
        if self.api_keys_file:
            keys |= read_keys_file(self.api_keys_file)
        return keys

    def allowed_host_suffixes(self) -> tuple[str, ...]:
        return tuple(h.strip().lower().lstrip(".") for h in self.allowed_hosts.split(",") if h.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
