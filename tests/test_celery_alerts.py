"""Alerts through the distributed mode: real Celery beat and worker processes on Redis, SQLite or
PostgreSQL, the demo feeds, and a real webhook receiver on 127.0.0.1.

- Two workers, the receiver answering 500, 500, then 200: the numeric divergence of the demo
  story gives exactly one alert, delivered after three attempts that all carry one webhook-id;
  comparing the story again sends nothing.
- The worker is SIGKILLed while the receiver holds the alert's request: a new worker delivers it
  once the lease runs out, with the same webhook-id, and there is still one alert."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from storydiff.alerts import subscriptions as subs
from storydiff.alerts.webhook import verify
from storydiff.demo.run import add_demo_feeds
from storydiff.demo.server import DemoFeedServer
from storydiff.store.models import Alert, Delivery, DeliveryAttempt, Report
from tests.conftest import need

from .receiver import receiver

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("STORYDIFF_TEST_ALERTS_REDIS_URL", "redis://127.0.0.1:6379/12")


def wait_for(condition, seconds: float, processes) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, process.stdout.read()
        if condition():
            return True
        time.sleep(0.5)
    return False


CELERY = [sys.executable, "-m", "celery", "-A", "storydiff.worker"]


def celery_env(**extra: str) -> dict[str, str]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        up, why = True, None
    except redis.RedisError as exc:
        up, why = False, exc
    need(up, f"Redis at {REDIS_URL} is not reachable ({why}); start redis-server")
    redis.Redis.from_url(REDIS_URL).flushdb()
    return {
        **os.environ,
        "REDIS_URL": REDIS_URL,
        "STORYDIFF_ALLOW_PRIVATE_URLS": "1",
        "STORYDIFF_HOST_DELAY": "0",
        "STORYDIFF_ALERT_BACKOFF": "1",
        **extra,
    }


def start_worker(name: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CELERY, "worker", "-Q", "fetch,extract,compare,alerts,celery", "--pool", "solo", "-n", f"{name}@%h",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def start_beat(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CELERY, "beat", "--schedule", str(tmp_path / "beat-schedule"), "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def stop(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
        process.communicate(timeout=30)


@pytest.mark.slow
def test_one_alert_three_attempts_one_delivery_id_with_two_workers_and_beat(db, monkeypatch, tmp_path):
    env = celery_env()
    server = DemoFeedServer().start()
    processes = []
    with receiver() as hook:
        hook.answer(500, 500)
        with db() as s:
            sub = subs.create(s, subs.SubscriptionSpec("tolls", "webhook", hook.url, types="numeric"))
        with db.begin() as s:
            add_demo_feeds(s, server.base_url)
        try:
            processes += [start_worker("w1", env), start_worker("w2", env), start_beat(tmp_path, env)]
            assert wait_for(lambda: len(hook.requests) >= 3, 240, processes), f"{len(hook.requests)} requests"
            ids = {r.headers["webhook-id"] for r in hook.requests}
            assert len(ids) == 1 and len(hook.requests) == 3
            assert all(verify(sub.secret, r.headers, r.body) for r in hook.requests)
            body = hook.requests[0].json()
            assert {c["value"] for c in body["data"]["divergence"]["claims"]} == {"18 civilians", "21 civilians"}

            def delivered() -> bool:
                with db() as s:
                    return s.scalar(select(Delivery.status)) == "delivered"

            assert wait_for(delivered, 30, processes)
            with db() as s:  # compare the story again, through the workers: nothing new to send
                story_id = s.scalar(
                    select(Report.story_id).where(Report.divergences > 0).order_by(Report.outlets.desc())
                )
            from celery import Celery

            sender = Celery("sender", broker=REDIS_URL)  # its own connection: the worker module's app stays untouched
            sender.send_task("storydiff.compare_story", args=[story_id], queue="compare")
            sender.send_task("storydiff.compare_story", args=[story_id], queue="compare")
            sender.close()
            time.sleep(15)
            assert len(hook.requests) == 3
            with db() as s:
                assert s.scalar(select(func.count(Alert.id))) == 1
                attempts = s.scalars(select(DeliveryAttempt.status_code).order_by(DeliveryAttempt.id)).all()
                assert attempts == [500, 500, 200]
            print(json.dumps({"requests": len(hook.requests), "ids": sorted(ids)}))
        finally:
            server.stop()
            stop(processes)


@pytest.mark.slow
def test_a_worker_killed_while_delivering_leaves_the_alert_to_the_next_worker(db, tmp_path):
    env = celery_env(STORYDIFF_ALERT_LEASE="3")
    server = DemoFeedServer().start()
    processes = []
    with receiver() as hook:
        hook.answer((200, {}, 120.0))  # the first delivery hangs: the worker is killed while it waits
        with db() as s:
            subs.create(s, subs.SubscriptionSpec("tolls", "webhook", hook.url, types="numeric"))
        with db.begin() as s:
            add_demo_feeds(s, server.base_url)
        first = start_worker("w1", env)
        processes += [first, start_beat(tmp_path, env)]
        try:
            assert wait_for(lambda: len(hook.requests) >= 1, 240, processes), "the alert was never sent"
            first.kill()  # SIGKILL: no shutdown, no acknowledgement, the delivery's lease is left to run out
            first.wait(timeout=30)
            processes.remove(first)
            processes.append(start_worker("w2", env))

            def delivered() -> bool:
                with db() as s:
                    return s.scalar(select(Delivery.status)) == "delivered"

            assert wait_for(delivered, 120, processes)
            assert len(hook.requests) == 2
            assert hook.requests[0].headers["webhook-id"] == hook.requests[1].headers["webhook-id"]
            assert hook.requests[0].body == hook.requests[1].body
            with db() as s:
                assert s.scalar(select(func.count(Alert.id))) == 1
                assert s.scalars(select(DeliveryAttempt.status_code)).all() == [200]
        finally:
            server.stop()
            stop([*processes, first] if first not in processes else processes)
