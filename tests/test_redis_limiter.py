"""The rate limit counted in Redis (a real redis-server on loopback): shared by every replica, per client, and
readers are let through when Redis is down. Skipped with a message when redis-server is not installed."""
from __future__ import annotations

import shutil
import subprocess
import time

import pytest
from helpers import free_port

from glossarian.config import Settings
from glossarian.web.guard import RateLimiter, limiter_for
from glossarian.web.redis_limiter import RedisRateLimiter

REDIS = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin:/usr/sbin")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    if REDIS is None:
        pytest.skip("redis-server is not installed (scripts/test.sh installs it as root: apt-get install redis-server)")
    import redis

    port = free_port()
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path_factory.mktemp("redis"))], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 30
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(10)


def test_the_limit_counts_across_replicas_per_client(redis_url):
    replica_a, replica_b = RedisRateLimiter(3, redis_url), RedisRateLimiter(3, redis_url)
    assert [replica_a.hit("10.0.0.1"), replica_b.hit("10.0.0.1"), replica_a.hit("10.0.0.1")] == [0, 0, 0]
    wait = replica_b.hit("10.0.0.1")  # the fourth question in a minute, on the other replica
    assert 1 <= wait <= 60
    assert replica_a.hit("10.0.0.2") == 0  # another reader is not affected
    message, hint = replica_b.message(wait)
    assert "3 per minute" in message and f"{wait:.0f} s" in hint


def test_zero_turns_the_limit_off(redis_url):
    limiter = RedisRateLimiter(0, redis_url)
    assert all(limiter.hit("10.0.0.3") == 0 for _ in range(20))


def test_readers_are_let_through_when_redis_is_down(caplog):
    limiter = RedisRateLimiter(1, f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    assert [limiter.hit("10.0.0.4") for _ in range(3)] == [0, 0, 0]
    assert "Rate limit not enforced" in caplog.text


def test_the_setting_selects_the_backend(redis_url):
    assert isinstance(limiter_for(Settings(rate_limit=5)), RateLimiter)
    chosen = limiter_for(Settings(rate_limit=5, redis_url=redis_url))
    assert isinstance(chosen, RedisRateLimiter) and chosen.per_minute == 5
