"""compose.yaml: valid against the Compose specification's schema, and wired the way ttsign needs it (healthy
instances before the balancer, the balancer trusted and nothing else, the store shared, no secret inline).
The example env file names only real settings."""

from __future__ import annotations

import copy
import ipaddress
import re
import subprocess
from typing import Any
from urllib.parse import urlsplit

import jsonschema_rs
import pytest
import yaml

from tests.deploy.compose_schema import compose_schema
from tests.deploy.processes import NGINX_CONF, ROOT, UPSTREAMS
from ttsign.config import Settings

COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / "deploy" / "ttsign.env.example"
SECRET_NAME = re.compile(r"KEY|PASSWORD|SECRET|TOKEN|PROXY$|COOKIE|SESSION", re.I)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return doc


def schema_errors(doc: dict[str, Any]) -> list[str]:
    validator = jsonschema_rs.validator_for(compose_schema())
    return [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_compose_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    assert schema_errors(compose) == []


def test_the_schema_check_catches_a_misspelt_or_mistyped_key(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["ttsign-1"]["restat"] = broken["services"]["ttsign-1"].pop("restart")
    broken["services"]["redis"]["healthcheck"]["retries"] = "five"
    errors = schema_errors(broken)
    assert any("restat" in e for e in errors) and any("retries" in e for e in errors), errors


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _instances(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose["services"].items() if "build" in s}


def test_two_ttsign_instances_from_this_dockerfile_behind_the_balancer(compose: dict[str, Any]) -> None:
    instances = _instances(compose)
    assert sorted(instances) == sorted(u.split(":")[0] for u in UPSTREAMS)
    for service in instances.values():
        assert service["build"]["context"] == "." and "dockerfile" not in service["build"]
        assert "ports" not in service, "an instance is reached through the balancer only"
        assert service["restart"] in ("always", "unless-stopped")
    port = re.search(r"TTSIGN_PORT=(\d+)", DOCKERFILE.read_text()).group(1)  # type: ignore[union-attr]
    assert {u.split(":")[1] for u in UPSTREAMS} == {port}, "the balancer's upstream port is the image's TTSIGN_PORT"
    balancer = compose["services"]["balancer"]
    mounts = [v.split(":") for v in balancer["volumes"]]
    assert [ROOT / m[0] for m in mounts if m[1] == "/etc/nginx/nginx.conf"] == [NGINX_CONF]
    assert [p for s in compose["services"].values() for p in s.get("ports", [])] == balancer["ports"]


def test_only_the_balancer_is_trusted_for_x_forwarded_for(compose: dict[str, Any]) -> None:
    balancer_ip = compose["services"]["balancer"]["networks"]["front"]["ipv4_address"]
    subnet = ipaddress.ip_network(compose["networks"]["front"]["ipam"]["config"][0]["subnet"])
    assert ipaddress.ip_address(balancer_ip) in subnet
    for name, service in _instances(compose).items():
        assert _environment(service)["TTSIGN_TRUSTED_PROXIES"] == balancer_ip, name
        assert ipaddress.ip_address(service["networks"]["front"]["ipv4_address"]) in subnet


def test_instances_share_one_redis_that_nothing_outside_reaches(compose: dict[str, Any]) -> None:
    stores = {_environment(s)["TTSIGN_STORE"] for s in _instances(compose).values()}
    assert len(stores) == 1
    url = urlsplit(stores.pop())
    assert url.scheme == "redis" and url.password is None, "a store password belongs in the env file"
    redis = compose["services"][url.hostname]
    assert "ports" not in redis
    assert compose["networks"][redis["networks"][0]]["internal"] is True
    for name, service in _instances(compose).items():
        assert redis["networks"][0] in service["networks"], name
        assert service["depends_on"][url.hostname]["condition"] == "service_healthy", name


def test_every_awaited_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    image_health = re.search(r"^HEALTHCHECK .*?/readyz", DOCKERFILE.read_text(), re.M | re.S)
    for name, service in compose["services"].items():
        for needed, rule in (service.get("depends_on") or {}).items():
            if rule.get("condition") != "service_healthy":
                continue
            target = compose["services"][needed]
            has = "healthcheck" in target or ("build" in target and image_health is not None)
            assert has, f"{name} waits for {needed} to be healthy, which has no healthcheck"
        assert service.get("restart") == "unless-stopped", name


def test_no_secret_is_written_in_the_compose_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for var, value in _environment(service).items():
            assert not SECRET_NAME.search(var), f"{name}: {var} belongs in the env file, not compose.yaml"
            assert "@" not in value, f"{name}: {var} holds credentials"
    env_files = {f for s in _instances(compose).values() for f in [s["env_file"]]}
    assert env_files == {"deploy/ttsign.env"}
    assert ENV_EXAMPLE.is_file(), "the env file's example is missing"
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/ttsign.env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, "deploy/ttsign.env (the keys) must be gitignored"


def _setting_names() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        choices = getattr(field.validation_alias, "choices", None) or []
        names.update(c for c in choices if isinstance(c, str))
    return names


def test_the_env_file_example_names_real_settings_and_sets_api_keys() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    named = set(re.findall(r"^#? ?(TTSIGN_[A-Z0-9_]+)=", text, re.M))
    assert named - _setting_names() == set()
    assert re.search(r"^TTSIGN_API_KEYS=\S+", text, re.M), "the example must set keys: the image binds 0.0.0.0"
