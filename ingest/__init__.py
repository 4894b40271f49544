"""Ingestion: fetch feeds, parse them, store articles and versions, extract full text.

The package itself imports nothing, so the pure modules (parse, text, urls, neardup, schedule)
load without the I/O stack; import the I/O modules by name: refresh (fetch → parse → store),
fetch (HTTP), writer (articles, versions, wire-copy links), fulltext, feeds (the feed list)."""
