"""Divergence alerts on the real pipeline: the demo story ingested, clustered and compared, real
subscriptions, a real HTTP receiver on 127.0.0.1 verifying Standard Webhooks signatures, Apprise
through json://, the Atom feed parsed back with feedparser, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import feedparser
import httpx
from sqlalchemy import func, select, update

from storydiff.alerts import subscriptions as subs
from storydiff.alerts.deliver import deliver_due, plan, run_alerts
from storydiff.alerts.match import match_story
from storydiff.alerts.webhook import verify
from storydiff.store.models import Alert, Delivery, DeliveryAttempt, Feed, Report, Subscription

from .demo_story import ingest_demo
from .receiver import receiver
from .webserver import serve_app


def run(factory, step, *args):
    """One pipeline step in its own session, closed afterwards."""
    with factory() as session:
        return step(session, *args)


def subscribe(factory, **fields) -> Subscription:
    with factory() as s:
        return subs.create(s, subs.SubscriptionSpec(**fields))


def numbers_only(factory, url: str, **more) -> Subscription:
    return subscribe(factory, name="casualty figures", channel="webhook", target=url, types="numeric", **more)


def test_a_webhook_gets_one_signed_alert_per_divergence_and_never_a_second(db, monkeypatch):
    story = ingest_demo(db)
    with receiver() as hook:
        sub = numbers_only(db, hook.url + "/hook")
        first = run(db, run_alerts, [story])
        assert first == {"alerts": 1, "deliveries": 1, "delivered": 1, "failed_attempts": 0}
        [got] = hook.requests
        assert verify(sub.secret, got.headers, got.body)
        assert not verify(sub.secret, got.headers, got.body + b" ")  # the signature covers the body
        assert not verify("whsec_" + "A" * 32, got.headers, got.body)
        body = got.json()
        assert body["type"] == "divergence.new"
        data = body["data"]
        assert data["story"]["id"] == story and "meeting" in data["story"]["title"]
        assert data["story"]["report_url"].endswith(f"/api/stories/{story}/report")
        assert data["divergence"]["type"] == "numeric"
        assert {c["value"] for c in data["divergence"]["claims"]} == {"18 civilians", "21 civilians"}
        assert all(c["article_url"].startswith("http") for c in data["divergence"]["claims"])
        # comparing again, matching again, two passes at once: nothing new is sent
        assert run(db, run_alerts, [story])["alerts"] == 0
        threads = [threading.Thread(target=lambda: run(db, match_story, story)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        run(db, plan)
        run(db, deliver_due)
        assert len(hook.requests) == 1
        with db() as s:
            assert s.scalar(select(func.count(Alert.id))) == 1


def test_changed_evidence_is_an_update_naming_the_previous_value_and_more_severe_alerts_once(db):
    story = ingest_demo(db)
    with receiver() as hook:
        numbers_only(db, hook.url, min_severity="low")
        run(db, run_alerts, [story])

        def edit(change) -> None:
            with db() as s:
                report = json.loads(s.scalar(select(Report.body).where(Report.story_id == story)))
                [numeric] = [d for d in report["divergences"] if d["type"] == "numeric"]
                change(numeric)
                s.execute(update(Report).where(Report.story_id == story).values(body=json.dumps(report)))
                s.commit()

        def to_27(d) -> None:  # one outlet revises its toll: 18 → 27
            for c in d["claims"]:
                if c["value"] == "18 civilians":
                    c["value"] = "27 civilians"

        edit(to_27)
        run(db, run_alerts, [story])
        assert len(hook.requests) == 2
        update_alert = hook.requests[1].json()
        assert update_alert["type"] == "divergence.updated"
        assert "18 civilians" in update_alert["data"]["previous"].values()
        edit(lambda d: d.update(severity="medium"))  # less severe: nothing to say
        run(db, run_alerts, [story])
        assert len(hook.requests) == 2
        edit(lambda d: d.update(severity="high"))  # back to what was alerted: still nothing
        run(db, run_alerts, [story])
        assert len(hook.requests) == 2


def test_retries_reuse_the_delivery_id_back_off_and_stop_on_a_permanent_error(db, monkeypatch):
    monkeypatch.setenv("STORYDIFF_ALERT_BACKOFF", "0")
    story = ingest_demo(db)
    with receiver() as hook:
        sub = numbers_only(db, hook.url)
        hook.answer(500, 500, 200)
        run(db, match_story, story)
        run(db, plan)
        for _ in range(3):
            run(db, deliver_due)
        assert [r.headers["webhook-id"] for r in hook.requests] == [hook.requests[0].headers["webhook-id"]] * 3
        with db() as s:
            [delivery] = s.scalars(select(Delivery)).all()
            assert (delivery.status, delivery.attempts) == ("delivered", 3)
            attempts = s.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
            assert [(a.status_code, a.ok) for a in attempts] == [(500, False), (500, False), (200, True)]
            assert s.get(Subscription, sub.id).failing_since is None  # recovered
        api = run(db, subs.alerts_of, sub.id)
        assert [a["status_code"] for a in api[0]["delivery"]["attempts"]] == [500, 500, 200]
        from storydiff.store.tokens import create_token

        token = run(db, create_token, "viewer")
        with serve_app(db) as base, httpx.Client(base_url=base) as http:  # and in the web UI
            http.post("/signin", data={"token": token})
            page = http.get(f"/manage/subscriptions/{sub.id}").text
            assert (
                page.count("failed (500)") == 2
                and "ok (200)" in page
                and hook.requests[0].headers["webhook-id"] in page
            )

    with receiver() as gone:
        gone.answer(410)
        with db() as s:
            s.execute(update(Subscription).values(target=gone.url))
            s.execute(update(Alert).values(delivery_id=None))
            s.commit()
        run(db, plan)
        for _ in range(3):
            run(db, deliver_due)
        assert len(gone.requests) == 1  # 410 Gone: no retry
        with db() as s:
            failed = s.scalars(select(Delivery).where(Delivery.status == "failed")).all()
            assert len(failed) == 1 and "410" in (failed[0].last_error or "")
            assert s.get(Subscription, sub.id).failing_since is not None  # flagged, not dropped


def test_retry_after_is_honoured_and_a_failing_channel_does_not_block_the_others(db, monkeypatch):
    monkeypatch.setenv("STORYDIFF_ALERT_BACKOFF", "1")
    story = ingest_demo(db)
    with receiver() as busy, receiver() as fine:
        busy.answer((429, {"Retry-After": "120"}, 0.0))
        numbers_only(db, busy.url)
        numbers_only(db, fine.url)
        before = datetime.now(UTC)
        run(db, run_alerts, [story])
        assert len(busy.requests) == 1 and len(fine.requests) == 1
        with db() as s:
            waiting = s.scalars(select(Delivery).where(Delivery.status == "pending")).one()
            wait = (waiting.next_attempt_at - before).total_seconds()
            assert 110 <= wait <= 135, wait  # Retry-After 120 s, not the 1 s backoff
        run(db, deliver_due)
        assert len(busy.requests) == 1  # not due yet


def test_immediate_alerts_over_the_hourly_cap_go_into_one_digest_grouped_by_story(db, monkeypatch):
    monkeypatch.setenv("STORYDIFF_ALERTS_PER_HOUR", "2")
    story = ingest_demo(db)
    with receiver() as hook:
        subscribe(db, name="everything", channel="webhook", target=hook.url, min_severity="low")
        created = run(db, run_alerts, [story])["alerts"]
        assert created > 3
        assert len(hook.requests) == 2 and all(r.json()["type"] == "divergence.new" for r in hook.requests)
        later = datetime.now(UTC) + timedelta(minutes=61)
        run(db, plan, later)
        run(db, deliver_due, later)
        assert len(hook.requests) == 3
        digest = hook.requests[2].json()
        assert digest["type"] == "divergence.digest"
        [entry] = digest["data"]["stories"]
        assert entry["story"]["id"] == story and len(entry["divergences"]) == created - 2


def test_apprise_json_target_and_the_private_atom_feed(db):
    story = ingest_demo(db)
    with receiver() as target:
        sub = subscribe(
            db, name="apprise", channel="apprise", target=f"json://127.0.0.1:{target.url.rsplit(':', 1)[1]}/notify"
        )
        result = run(db, run_alerts, [story])
        assert result["delivered"] == result["alerts"] >= 3
        message = target.requests[0].json()
        assert message["title"].startswith("storydiff: high")
        assert f"/stories/{story}" in message["message"]
    atom = subscribe(db, name="feed only", channel="atom", words="Lavrov civilians")
    run(db, run_alerts, [story])
    with serve_app(db) as base:
        response = httpx.get(f"{base}/alerts/{atom.feed_token}.atom")
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/atom+xml")
        parsed = feedparser.parse(response.content)
        assert parsed.bozo == 0 and parsed.version == "atom10"
        with db() as s:
            count = s.scalar(select(func.count(Alert.id)).where(Alert.subscription_id == atom.id))
        assert len(parsed.entries) == count >= 3
        assert all(e.link.endswith(f"/stories/{story}") for e in parsed.entries)
        assert httpx.get(f"{base}/alerts/{'x' * 32}.atom").status_code == 404
    with db() as s:  # the words filter: a story without them gives nothing
        none = subs.create(s, subs.SubscriptionSpec(name="other", channel="atom", words="volcano"))
    run(db, run_alerts, [story])
    with db() as s:
        assert s.scalar(select(func.count(Alert.id)).where(Alert.subscription_id == none.id)) == 0
    assert sub.id != atom.id


def test_writes_need_a_token_reads_do_not_unless_asked(db, monkeypatch):
    from storydiff.store.tokens import create_token, revoke_token

    with db() as s:
        token = create_token(s, "newsroom")
        old = create_token(s, "old")
        revoke_token(s, "old")
    feed = {"url": "https://example.org/feed.xml", "outlet": "Example", "kind": "newspaper"}
    with serve_app(db) as base, httpx.Client(base_url=base) as http:
        assert http.post("/api/feeds", json=feed).status_code == 401
        denied = http.post("/api/feeds", json=feed, headers={"Authorization": f"Bearer {old}"})
        assert denied.status_code == 403 and "revoked" in denied.json()["error"]
        assert http.post("/api/subscriptions", json={"name": "x"}).status_code == 401
        with db() as s:
            assert s.scalar(select(func.count(Feed.id))) == 0
            assert s.scalar(select(func.count(Subscription.id))) == 0
        auth = {"Authorization": f"Bearer {token}"}
        added = http.post("/api/feeds", json=feed, headers=auth)
        assert added.status_code == 201, added.text
        feed_id = added.json()["id"]
        paused = http.patch(f"/api/feeds/{feed_id}", json={"paused": True, "kind": "wire"}, headers=auth).json()
        assert paused["paused"] is True and paused["kind"] == "wire"
        bad = http.patch(f"/api/feeds/{feed_id}", json={"kind": "blog"}, headers=auth)
        assert bad.status_code == 400 and "kind" in bad.json()["error"]
        opml = (
            b'<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>'
            b'<outline text="Good" title="Good" xmlUrl="https://good.example/rss"/>'
            b'<outline text="Bad" title="Bad" xmlUrl="ftp://bad.example/rss"/>'
            b'<outline text="Odd" title="Odd" xmlUrl="https://odd.example/rss" category="kind:blog"/>'
            b"</body></opml>"
        )
        imported = http.post("/api/feeds/opml", content=opml, headers=auth).json()
        assert imported["added"] == ["https://good.example/rss"]
        assert {i["outline"] for i in imported["invalid"]} == {"ftp://bad.example/rss", "https://odd.example/rss"}
        created = http.post(
            "/api/subscriptions",
            json={
                "name": "hook",
                "channel": "webhook",
                "target": "https://hooks.example/x?key=SECRET",
                "types": ["numeric"],
            },
            headers=auth,
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["secret"].startswith("whsec_") and body["feed_url"].endswith(".atom")
        assert "SECRET" not in json.dumps(http.get("/api/subscriptions", headers=auth).json())
        sub_id = body["id"]
        assert http.patch(f"/api/subscriptions/{sub_id}", json={"muted": True}, headers=auth).json()["muted"] is True
        assert http.patch(f"/api/subscriptions/{sub_id}", json={"types": ["gossip"]}, headers=auth).status_code == 400
        assert http.post("/api/subscriptions", json={"name": "x", "channel": "sms"}, headers=auth).status_code == 422
        assert http.delete(f"/api/subscriptions/{sub_id}").status_code == 401
        assert http.delete(f"/api/subscriptions/{sub_id}", headers=auth).status_code == 204
        assert http.get(f"/api/subscriptions/{sub_id}", headers=auth).status_code == 404
        assert http.delete(f"/api/feeds/{feed_id}", headers=auth).status_code == 204
        assert http.get("/api/stories").status_code == 200  # reads stay open
        monkeypatch.setenv("STORYDIFF_READ_TOKEN_REQUIRED", "1")
        assert http.get("/api/stories").status_code == 401
        assert http.get("/api/stories", headers=auth).status_code == 200


def _cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "storydiff.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_cli_manages_tokens_feeds_subscriptions_and_survives_a_killed_delivery(db, tmp_path):
    """The alerts pass is SIGKILLed while the receiver holds the request: after the lease the next
    pass delivers again with the same webhook-id (at least once, and the receiver can drop repeats)."""
    story = ingest_demo(db)
    url = str(db.kw["bind"].url.render_as_string(hide_password=False))
    env = {**os.environ, "DATABASE_URL": url, "STORYDIFF_ALLOW_PRIVATE_URLS": "1", "STORYDIFF_ALERT_LEASE": "2"}
    created = _cli(env, "tokens", "create", "desk")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("sd_")
    listed = _cli(env, "tokens", "list", "--json")
    assert "desk" in listed.stdout and token not in listed.stdout
    with receiver() as hook:
        made = _cli(env, "subscribe", "tolls", "--webhook", hook.url, "--type", "numeric")
        assert made.returncode == 0 and "whsec_" in made.stdout, made.stderr
        sub_id = int(made.stdout.split()[1])
        tested = _cli(env, "subscriptions", "test", str(sub_id))
        assert tested.returncode == 0 and json.loads(tested.stdout)["status_code"] == 200
        assert hook.requests[0].json()["type"] == "divergence.test"
        hook.answer((200, {}, 30.0))  # the alert's first delivery hangs until the sender is killed
        sender = subprocess.Popen(
            [sys.executable, "-m", "storydiff.cli", "alerts", "run", "--story", str(story)], env=env
        )
        deadline = time.monotonic() + 60
        while len(hook.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(hook.requests) == 2, "the alert was not sent"
        os.kill(sender.pid, signal.SIGKILL)
        sender.wait()
        time.sleep(2.5)  # the lease runs out
        again = _cli(env, "alerts", "run")
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["delivered"] == 1
        assert hook.requests[1].headers["webhook-id"] == hook.requests[2].headers["webhook-id"]
        shown = json.loads(_cli(env, "subscriptions", "show", str(sub_id)).stdout)
        assert shown["alerts"] == 1 and shown["latest_alerts"][0]["delivery"]["status"] == "delivered"
        assert _cli(env, "subscriptions", "mute", str(sub_id)).returncode == 0
        assert "muted" in _cli(env, "subscriptions", "list").stdout
        missing = _cli(env, "subscriptions", "remove", "999")
        assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert _cli(env, "tokens", "revoke", "desk").returncode == 0
    with db() as s:
        feed_url = s.scalars(select(Feed.url)).first()
    removed = _cli(env, "feeds", "remove", feed_url)
    assert removed.returncode == 0 and "removed" in removed.stdout


def test_webhooks_to_private_addresses_are_refused_unless_allowed(db, monkeypatch):
    story = ingest_demo(db)
    monkeypatch.setenv("STORYDIFF_ALLOW_PRIVATE_URLS", "0")
    for target in ["http://127.0.0.1:9/x", "http://[::1]:9/x", "http://169.254.169.254/latest"]:
        numbers_only(db, target)
    run(db, run_alerts, [story])
    with db() as s:
        deliveries = s.scalars(select(Delivery)).all()
        assert len(deliveries) == 3
        for delivery in deliveries:
            assert delivery.status == "failed" and "non-public address" in (delivery.last_error or "")


def test_web_sign_in_with_a_token_and_csrf_checked_forms(db):
    import re

    from storydiff.store.tokens import create_token, revoke_token

    with db() as s:
        token = create_token(s, "editor")
    with serve_app(db) as base, httpx.Client(base_url=base, follow_redirects=False) as http:
        assert http.get("/manage").headers["location"] == "/signin"
        wrong = http.post("/signin", data={"token": "sd_not-a-token"})
        assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
        signed = http.post("/signin", data={"token": token})
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
        over_https = httpx.post(f"{base}/signin", data={"token": token}, headers={"X-Forwarded-Proto": "https"})
        assert "secure" in over_https.headers["set-cookie"].lower()
        page = http.get("/manage")
        assert page.status_code == 200 and "<script" not in page.text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
        feed = {"url": "https://news.example/rss", "outlet": "Example News", "kind": "wire"}
        refused = http.post("/manage/feeds", data=feed)  # no CSRF token: 403, nothing changed
        assert refused.status_code == 403 and "CSRF" in refused.text
        assert http.post("/manage/feeds", data=feed | {"csrf": "0" * 32}).status_code == 403
        with db() as s:
            assert s.scalar(select(func.count(Feed.id))) == 0
        added = http.post("/manage/feeds", data=feed | {"csrf": csrf})
        assert added.status_code == 303 and "added" in httpx.URL(added.headers["location"]).params["msg"]
        made = http.post(
            "/manage/subscriptions", data={"name": "desk", "channel": "atom", "words": "ferry", "csrf": csrf}
        )
        assert made.status_code == 303 and made.headers["location"].startswith("/manage/subscriptions/")
        hook = {"name": "hook", "channel": "webhook", "target": "https://hooks.example/in", "csrf": csrf}
        shown = http.post("/manage/subscriptions", data=hook)
        assert "whsec_" not in shown.headers["location"]  # a secret never goes into a URL (history, logs)
        assert "whsec_" in http.get(shown.headers["location"]).text  # it is shown on the subscription's page
        page = http.get("/manage")
        assert "Example News" in page.text and "desk" in page.text and ".atom" in page.text
        with db() as s:
            feed_id = s.scalar(select(Feed.id))
            sub_id = s.scalar(select(Subscription.id).where(Subscription.name == "desk"))
        assert http.post(f"/manage/feeds/{feed_id}/pause", data={"csrf": csrf}).status_code == 303
        assert http.post(f"/manage/subscriptions/{sub_id}/mute", data={"csrf": csrf}).status_code == 303
        with db() as s:
            assert s.get(Feed, feed_id).paused and s.get(Subscription, sub_id).muted
        detail = http.get(f"/manage/subscriptions/{sub_id}")
        assert detail.status_code == 200 and "No alerts yet" in detail.text and "muted" in detail.text
        # a cookie from another site's form cannot be used without the page's CSRF token
        stranger = httpx.post(f"{base}/manage/feeds/{feed_id}/remove", cookies=dict(http.cookies))
        assert stranger.status_code == 403
        with db() as s:
            revoke_token(s, "editor")
        assert http.get("/manage").headers["location"] == "/signin"  # a revoked token ends its sessions
        assert http.post(f"/manage/feeds/{feed_id}/remove", data={"csrf": csrf}).status_code == 403
        with db() as s:
            assert s.get(Feed, feed_id) is not None


def test_with_nobody_listening_every_report_counts_as_matched_and_a_listener_gets_later_ones(db):
    """No subscription, or only muted ones: a pass marks every computed report matched in one
    statement and creates nothing; once somebody listens, a report computed later alerts."""
    story = ingest_demo(db)
    with db() as s:
        s.execute(update(Report).values(alerts_matched_at=None))
        s.commit()
    with receiver() as hook:
        sub = numbers_only(db, hook.url + "/hook")
        with db() as s:
            s.execute(update(Subscription).where(Subscription.id == sub.id).values(muted=True))
            s.commit()
        assert run(db, run_alerts)["alerts"] == 0
        with db() as s:
            rows = s.execute(select(Report.alerts_matched_at, Report.computed_at)).all()
            assert rows and all(matched == computed for matched, computed in rows)
            s.execute(update(Subscription).where(Subscription.id == sub.id).values(muted=False))
            s.execute(update(Report).where(Report.story_id == story).values(alerts_matched_at=None))  # recomputed
            s.commit()
        assert run(db, run_alerts)["alerts"] == 1
        assert len(hook.requests) == 1
