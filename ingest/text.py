"""Plain text from feed HTML (pure)."""

from __future__ import annotations

import html
import re

import lxml.html
from lxml import etree

DROP_TAGS = ("script", "style", "noscript", "iframe", "object", "embed", "template", "head")
BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "tr",
        "table",
        "section",
        "article",
        "header",
        "footer",
        "figure",
        "figcaption",
        "dd",
        "dt",
        "dl",
        "hr",
    ]
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_LOOKS_HTML = re.compile(r"<[a-zA-Z!/]|&[#a-zA-Z0-9]+;")
_BOGUS_DECL = re.compile(r"<!(?!--|\[CDATA\[|doctype)", re.I)  # "<!'" is text, not a declaration


def normalise_space(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def html_to_text(markup: str | None) -> str:
    """Visible text of an HTML fragment: scripts, styles and comments removed, blocks on new lines."""
    if not markup:
        return ""
    if not _LOOKS_HTML.search(markup):
        return normalise_space(markup)
    markup = _BOGUS_DECL.sub("&lt;!", markup)
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (etree.ParserError, ValueError):
        return normalise_space(html.unescape(re.sub(r"<[^>]*>", " ", markup)))
    etree.strip_elements(root, *DROP_TAGS, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.lower() in BLOCK_TAGS:
            el.tail = "\n" + (el.tail or "")
    return normalise_space(root.text_content())
