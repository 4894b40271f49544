"""Property-based fuzzing of the web app, on SQLite and PostgreSQL, with the demo ingested and the
real app served by uvicorn on 127.0.0.1.

The API: Schemathesis generates requests for every operation of /openapi.json, both fitting the
schema and not fitting it (wrong types, out-of-range numbers, missing fields), with an API token, and
every GET is sent again as HEAD. No answer may be a 5xx, every answer must conform to the document
(a declared status, its content type, its body schema), every one carries the security headers and
a request id, and a HEAD answers like its GET without a body.

The pages and forms (not in the OpenAPI document): Hypothesis sends hostile values (dates of year 1
and 9999 with and without zones, integers beyond 64 bits, superscript digits, NUL and other control
characters, deeply nested cursors) to every parameter; each answer is a page (2xx, 3xx or 4xx), never
a 5xx.

Bounded: a fixed number of examples per operation (FUZZ_EXAMPLES), derandomized so a run is
repeatable; under a minute per database on 2 cores."""

from __future__ import annotations

import base64
import os
import time
from collections import Counter
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from storydiff.store.tokens import create_token
from storydiff.web.guard import CSP
from tests.demo_story import ingest_demo
from tests.webserver import serve_app

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))  # per operation and generation mode
NOT_FUZZED = {("POST", "/api/subscriptions/{sub_id}/test")}  # sends a sample alert out through the channel
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: every problem is collected, not minimised
    suppress_health_check=list(HealthCheck),
)


def header(response: Any, name: str) -> str | None:
    """A header of an httpx, requests or Schemathesis response (the last keeps lists of values)."""
    value = response.headers.get(name) or response.headers.get(name.lower())
    return value[0] if isinstance(value, list) else value


class Tally:
    """What a fuzz run sent and what went wrong (every problem is kept, not only the first)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.problems: list[str] = []

    def answer(self, response: Any, what: str) -> None:
        self.counts["requests"] += 1
        self.counts[f"{response.status_code // 100}xx"] += 1
        if response.status_code >= 500:  # counted as 5xx just above
            self.problems.append(f"{what}: {response.status_code} {response.text[:300]}")
        if header(response, "Content-Security-Policy") != CSP or not header(response, "X-Request-ID"):
            self.problems.append(f"{what}: {response.status_code} without the security headers or a request id")


def fuzz_operation(
    op: Any, mode: GenerationMode, base: str, http: requests.Session, auth: dict[str, str], tally: Tally
) -> None:
    """EXAMPLES generated requests of one operation; each GET is sent again as HEAD."""

    @FUZZ
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        label = f"{case.method} {case.formatted_path} ({mode.value})"
        response = case.call(base_url=base, session=http, headers=auth, timeout=30)
        tally.answer(response, label)
        try:
            case.validate_response(response, checks=CHECKS, headers=auth)
        except (Exception, BaseExceptionGroup) as exc:  # failed checks: collected, all reported at the end
            tally.problems.append(f"{label}: {str(exc)[:600]}")
        if case.method.upper() != "GET":
            return
        kwargs = case.as_transport_kwargs(base_url=base, headers=auth)
        kwargs["method"] = "HEAD"
        head = http.request(**kwargs, timeout=30)
        tally.answer(head, "HEAD " + label)
        tally.counts["HEAD"] += 1
        got = (head.status_code, header(head, "Content-Type"), len(head.content))
        if got != (response.status_code, header(response, "Content-Type"), 0):
            tally.problems.append(
                f"HEAD {label}: {got}, GET gave {response.status_code} {header(response, 'Content-Type')}"
            )

    try:
        run()
    except Unsatisfiable:  # nothing of this operation can be made invalid (no parameter, or only free text)
        if mode is GenerationMode.POSITIVE:
            raise
        tally.counts["operations without invalid cases"] += 1


@pytest.mark.slow
def test_api_answers_every_generated_request_without_5xx_and_as_documented(db):
    ingest_demo(db)
    with db() as session:
        token = create_token(session, "fuzz")
    auth = {"Authorization": f"Bearer {token}"}
    tally = Tally()
    started = time.monotonic()
    with serve_app(db) as base, requests.Session() as http:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 18, [f"{op.method} {op.path}" for op in operations]
        for op in operations:
            if (op.method.upper(), op.path) not in NOT_FUZZED:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    fuzz_operation(op, mode, base, http, auth, tally)
    elapsed = time.monotonic() - started
    print(f"\nAPI: {len(operations)} operations, {dict(tally.counts)} in {elapsed:.0f} s")
    assert tally.counts["requests"] > 20 * len(operations)
    assert tally.problems == [], f"{len(tally.problems)} problems, {tally.counts['5xx']} of them 5xx:\n" + "\n".join(
        tally.problems[:40]
    )


# --- pages and forms ----------------------------------------------------------------------------

NESTED_CURSOR = base64.urlsafe_b64encode(b"[" * 5000).decode()
HOSTILE = st.one_of(
    st.sampled_from(
        [
            "2025-10-21",
            "2025-10-21T00:00",
            "2025-10-21T00:00+02:00",
            "0001-01-01T00:00+01:00",
            "9999-12-31T23:59-05:00",
            "9999-12-31",
            "1969-12-31T23:59:59Z",
            "2201-01-01",
            "9" * 25,
            str(2**63),
            "-" + str(2**63 + 1),
            "²",
            "٣",
            "1e400",
            "NaN",
            "a\x00b",
            "\x1b[31m",
            "line\nbreak",
            NESTED_CURSOR,
            NESTED_CURSOR[:500],
            base64.urlsafe_b64encode(b'["updated", "9999-12-31T23:59:59-05:00", 99999999999999999999]').decode(),
            base64.urlsafe_b64encode(b'["score", 1e999, 1]').decode(),
            base64.urlsafe_b64encode(b'["2025-10-21T00:00", 1e30]').decode(),
            "",
            " ",
            "relevance",
            "wire",
            "numeric",
            "Courier Wire",
        ]
    ),
    st.text(max_size=40),
    st.integers().map(str),
)
PAGE_PARAMS = {
    "/": ["since", "until", "min_outlets", "cursor", "q", "outlet", "kind", "type", "sort"],
    "/articles": ["cursor"],
    "/feeds": ["x"],
    "/docs": ["x"],
    "/signin": ["x"],
    "/manage": ["msg"],
}


PAGES = settings(FUZZ, max_examples=2 * EXAMPLES)  # a page request is cheap


def fuzz_page(http: httpx.Client, path: str, names: list[str], tally: Tally) -> None:
    @PAGES
    @given(params=st.dictionaries(st.sampled_from(names), HOSTILE, max_size=4))
    def page(params: dict[str, str]) -> None:
        for method in ("GET", "HEAD"):
            tally.answer(http.request(method, path, params=params), f"{method} {path} {params!r}")

    page()


@pytest.mark.slow
def test_pages_and_forms_answer_hostile_input_without_5xx(db):
    story_id = ingest_demo(db)
    with db() as session:
        token = create_token(session, "fuzz")
    tally = Tally()
    started = time.monotonic()
    with serve_app(db) as base, httpx.Client(base_url=base, timeout=30) as http:
        for path, names in PAGE_PARAMS.items():
            fuzz_page(http, path, names, tally)

        @PAGES
        @given(
            story=st.one_of(st.just(str(story_id)), HOSTILE),
            kind=HOSTILE,
            fmt=st.sampled_from(["md", "json", "html", "x"]),
        )
        def story_pages(story: str, kind: str, fmt: str) -> None:
            story = quote(story, safe="")
            for path in (f"/stories/{story}", f"/stories/{story}/export.{fmt}"):
                tally.answer(http.get(path, params={"type": kind}), f"GET {path} type={kind!r}")
            tally.answer(http.head(f"/stories/{story}"), f"HEAD /stories/{story}")

        story_pages()

        signed = http.post("/signin", data={"token": token})
        assert signed.status_code == 303, signed.text
        csrf = http.get("/manage").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]

        @PAGES
        @given(
            # what a client can send: no control characters, no trailing blank (HTTP trims it)
            forged=st.text(
                st.characters(codec="latin-1", exclude_characters=";\x7f", min_codepoint=0x20), max_size=60
            ).map(lambda text: text.rstrip(" \t")),
            field=HOSTILE,
        )
        def sessions(forged: str, field: str) -> None:
            cookie = {"Cookie": b"storydiff_session=" + forged.encode("latin-1")}
            tally.answer(httpx.get(f"{base}/manage", headers=cookie), f"GET /manage cookie={forged!r}")
            answer = http.post("/manage/feeds", data={"csrf": field, "url": "http://127.0.0.1/x", "outlet": "X"})
            tally.answer(answer, f"POST /manage/feeds csrf={field!r}")
            if answer.status_code != 403 and field != csrf:
                tally.problems.append(f"POST /manage/feeds with csrf {field!r} was not refused: {answer.status_code}")

        sessions()

        @PAGES
        @given(
            form=st.sampled_from(["/manage/feeds", "/manage/subscriptions", "/signin"]),
            fields=st.dictionaries(
                st.sampled_from(["url", "outlet", "kind", "name", "channel", "target", "words", "types", "token"]),
                HOSTILE,
                max_size=5,
            ),
        )
        def forms(form: str, fields: dict[str, str]) -> None:
            tally.answer(http.post(form, data=fields | {"csrf": csrf}), f"POST {form} {fields!r}")

        forms()

        @PAGES
        @given(
            kind=st.sampled_from(["feeds", "subscriptions"]),
            ident=HOSTILE,
            action=st.sampled_from(["pause", "resume", "mute", "unmute", "remove", "x"]),
        )
        def form_actions(kind: str, ident: str, action: str) -> None:
            path = f"/manage/{kind}/{quote(ident, safe='')}/{action}"
            tally.answer(http.post(path, data={"csrf": csrf}), f"POST {path}")

        form_actions()
    elapsed = time.monotonic() - started
    print(f"\npages and forms: {dict(tally.counts)} in {elapsed:.0f} s")
    assert tally.problems == [], f"{len(tally.problems)} problems:\n" + "\n".join(tally.problems[:40])
