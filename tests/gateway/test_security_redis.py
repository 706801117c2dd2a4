"""Issue 10: with CLAIMGW_REDIS_URL, rate limits are shared by every process (real Redis);
when Redis does not answer, requests pass (fail open) and a metric counts each miss."""

from __future__ import annotations

import uuid

import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from gateway.app import create_app
from gateway.db import make_engine
from gateway.ratelimit import KeyedRateLimiter, limit_storage
from gateway.settings import Settings
from tests.support import require

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError as exc:
        require("Redis", str(exc))
    return REDIS_URL


def test_two_processes_share_one_limit_through_redis(redis_url: str) -> None:
    namespace = f"test-{uuid.uuid4().hex}"
    first = KeyedRateLimiter("3/minute", namespace, limit_storage(redis_url))
    second = KeyedRateLimiter("3/minute", namespace, limit_storage(redis_url))
    answers = [limiter.retry_after("10661") for limiter in (first, second, first, second)]
    assert answers[:3] == [None, None, None]
    assert answers[3] is not None
    assert answers[3] >= 1


def test_token_limit_is_shared_by_two_apps(redis_url: str, database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        base_url="http://testserver",
        redis_url=redis_url,
        token_rate_limit="3/minute",
    )
    engine = make_engine(settings)
    address = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    apps = [create_app(settings, engine=engine) for _ in range(2)]
    codes = []
    for i in range(4):
        with TestClient(apps[i % 2], client=(address, 5000)) as client:
            codes.append(client.post("/auth/token", data={"grant_type": "x"}).status_code)
    engine.dispose()
    assert codes == [400, 400, 400, 429]


def test_redis_down_fails_open_and_is_counted() -> None:
    limiter = KeyedRateLimiter("1/minute", "down", limit_storage("redis://127.0.0.1:1/0"))
    before = REGISTRY.get_sample_value("claimgw_ratelimit_storage_errors_total") or 0.0
    assert [limiter.retry_after("10661") for _ in range(3)] == [None, None, None]
    after = REGISTRY.get_sample_value("claimgw_ratelimit_storage_errors_total") or 0.0
    assert after - before == 3
