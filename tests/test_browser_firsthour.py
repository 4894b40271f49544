"""Issue 14, item 7 and the accessibility check: the pages in the real browser (Debian's
Chromium through Playwright) at desktop (1400 px) and phone (400 px) width, screenshots in the
test's tmp dir, nothing wider than the viewport, and axe-core (served from 127.0.0.1) finding no
serious or critical violation."""

from __future__ import annotations

import os
import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import need
from tests.demo_story import ingest_demo
from tests.webserver import serve_app

CHROMIUM = Path("/usr/bin/chromium")
AXE_DIR = Path(
    os.environ.get("STORYDIFF_AXE_DIR", Path.home() / ".cache" / "storydiff-test" / "node_modules" / "axe-core")
)
WIDTHS = (1400, 400)
OKABE_ITO = {"#0072b2", "#cc79a7", "#009e73", "#d55e00", "#e69f00", "#56b4e9", "#000000"}

# every element whose right edge is past the viewport, unless a horizontal scroll box holds it
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = el => { for (let p = el.parentElement; p; p = p.parentElement) {
      const s = getComputedStyle(p); if (s.overflowX === 'auto' || s.overflowX === 'scroll') return true; }
    return false; };
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width && (r.right > width + 1 || r.left < -1) && !scrolls(el) && !el.closest('details:not([open])'))
      out.push(el.tagName + '.' + el.className + ': ' + (el.textContent || '').slice(0, 40));
  }
  return {page: document.documentElement.scrollWidth, width, out: out.slice(0, 10)};
}"""


@pytest.fixture
def browser():
    need(CHROMIUM.exists(), f"Debian chromium not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def axe_url():
    """axe-core served from 127.0.0.1 (installed by scripts/test.sh with npm into ~/.cache/storydiff-test)."""
    need((AXE_DIR / "axe.min.js").is_file(), f"axe-core not found in {AXE_DIR} (scripts/test.sh installs it with npm)")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(AXE_DIR)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/axe.min.js"
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def no_overflow(page, name: str) -> None:
    found = page.evaluate(OVERFLOW)
    assert found["page"] <= found["width"], f"{name}: page {found['page']} px wide in a {found['width']} px viewport"
    assert not found["out"], f"{name}: past the viewport: {found['out']}"


def test_story_page_reads_at_desktop_and_phone_width(sqlite_db, browser, tmp_path):
    story_id = ingest_demo(sqlite_db)
    with serve_app(sqlite_db) as base:
        for width in WIDTHS:
            page = browser.new_page(viewport={"width": width, "height": 900})
            for name, url in (
                ("stories", "/"),
                ("story", f"/stories/{story_id}"),
                ("feeds", "/feeds"),
                ("articles", "/articles"),
                ("docs", "/docs"),
            ):
                page.goto(base + url)
                page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
                no_overflow(page, f"{name} at {width} px")
            page.goto(base + f"/stories/{story_id}")
            check_story(page, width)
            page.close()
    assert all((tmp_path / f"story-{w}.png").stat().st_size > 10_000 for w in WIDTHS)


def check_story(page, width: int) -> None:
    body = page.inner_text("main")
    # quotes are never doubled: a claim with its own quotation marks is not wrapped again
    assert not re.search(r"[\"”’]”", body), re.search(r".{40}[\"”’]”", body)
    assert 'cost."' in body
    # an omission shows 3 outlets' evidence and says how many more there are: every outlet its
    # summary names as a carrier is quoted, on the page or behind "+N more"
    for fold in page.locator("details.minor, details.minor details").all():
        fold.evaluate("d => d.open = true")
    more_seen = 0
    for d in page.locator('.divergence[data-type="omission"]').all():
        summary = d.locator("div").first.inner_text()
        d.locator("details.more-evidence").evaluate_all("ds => ds.forEach(x => x.open = true)")
        carriers = summary.split(" omits what ", 1)[1].split(" report", 1)[0].split(", ")
        quoted = d.locator("blockquote b").all_inner_texts()
        assert quoted == carriers, (summary, quoted)
        more = d.locator("details.more-evidence > summary")
        if len(carriers) > 3:
            more_seen += 1
            assert more.inner_text().strip() == f"+{len(carriers) - 3} more"
    assert more_seen >= 1
    # timeline: a time on every dot, a legend with one colour per kind, colour-blind-safe colours
    dots = page.locator(".tl-dot")
    assert dots.count() >= 6
    assert all(re.fullmatch(r"(\d\d \w{3} )?\d\d:\d\d", t.strip()) for t in page.locator(".tl-time").all_inner_texts())
    legend = {
        item.inner_text().strip(): item.locator(".swatch").evaluate("e => getComputedStyle(e).backgroundColor")
        for item in page.locator(".legend-item").all()
    }
    kinds = {k.strip() for k in page.locator(".tl-name .muted").all_inner_texts()}
    assert set(legend) == kinds and len(set(legend.values())) == len(legend)
    for row in page.locator(".tl-row").all():
        kind = row.locator(".tl-name .muted").inner_text().strip()
        for dot in row.locator(".dot").all():
            assert dot.evaluate("e => getComputedStyle(e).backgroundColor") == legend[kind]
        # time labels stay inside their track
        track = row.locator(".tl-track").bounding_box()
        for label in row.locator(".tl-time").all():
            box = label.bounding_box()
            assert box["x"] >= track["x"] - 8 and box["x"] + box["width"] <= track["x"] + track["width"] + 8
    # aligned claims: a table, one column per outlet, each claim group in one row, side by side
    columns = page.locator("table.aligned thead th").count()
    assert columns == 6
    rows = page.locator("table.aligned tr.group").all()
    assert len(rows) >= 5
    for row in rows:
        tops = {round(c.bounding_box()["y"]) for c in row.locator("td").all()}
        assert len(tops) == 1  # every outlet's sentence of the group on one line of the table
        assert row.locator("td p").count() >= 2
    box = page.locator("table.aligned").evaluate("t => [t.parentElement.scrollWidth, t.parentElement.clientWidth]")
    if width == 400:
        assert box[0] > box[1]  # six columns scroll sideways inside their box, the page does not
    # heat-map: no red/green, numbers on cells, labels inside the picture
    fills = set(page.locator("svg.heatmap rect").evaluate_all("rs => rs.map(r => r.getAttribute('fill'))"))
    for fill in fills:
        r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
        assert not (g > r + 40 and g > b + 40), f"green cell {fill}"
    assert "#0072b2" in fills or any(f != "#ffffff" for f in fills)
    inside = page.locator("svg.heatmap").evaluate(
        """svg => { const w = svg.viewBox.baseVal.width, h = svg.viewBox.baseVal.height;
           return [...svg.querySelectorAll('text')].every(t => { const b = t.getBBox();
             return b.x >= 0 && b.y >= 0 && b.x + b.width <= w + 0.5 && b.y + b.height <= h + 0.5; }); }"""
    )
    assert inside
    assert page.locator("svg.heatmap text", has_text="Moscow Official Bulletin").count() == 1  # full names


def axe_violations(page, axe_url: str) -> list[str]:
    page.add_script_tag(url=axe_url)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_pages_have_no_serious_accessibility_violation(sqlite_db, browser, axe_url):
    story_id = ingest_demo(sqlite_db)
    with serve_app(sqlite_db) as base:
        # the pages forbid every script (CSP); this context lets the test inject axe-core only
        context = browser.new_context(bypass_csp=True)
        from storydiff.alerts import subscriptions as subs
        from storydiff.store.tokens import create_token

        with sqlite_db() as s:
            token = create_token(s, "a11y")
            sub_id = subs.create(s, subs.SubscriptionSpec("desk", "atom", words="Lavrov")).id
        signin = context.new_page()
        signin.goto(base + "/signin")
        signin.fill("#token", token)
        # the sign-in answers with a redirect: wait until the signed-in page has loaded, so the cookie is
        # set and the page is not closed mid-navigation (closing during one hung a CI run for 300 s)
        with signin.expect_navigation(url=base + "/manage", wait_until="load"):
            signin.click("button[type=submit]")
        assert signin.locator("h1").inner_text().startswith("Manage")  # signed in, not sent back
        signin.close()
        for width in WIDTHS:
            page = context.new_page()
            page.set_viewport_size({"width": width, "height": 900})
            urls = ("/", f"/stories/{story_id}", "/feeds", "/articles", "/docs", "/signin", "/manage")
            for url in (*urls, f"/manage/subscriptions/{sub_id}"):
                page.goto(base + url)
                no_overflow(page, f"{url} at {width} px")
                for summary in page.locator("details > summary").all():  # also what folds hide
                    if summary.is_visible():
                        summary.click()
                assert axe_violations(page, axe_url) == [], f"{url} at {width} px"
            page.close()
        context.close()
