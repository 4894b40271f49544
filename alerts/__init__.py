"""Divergence alerts: subscriptions matched against stored reports (``match``), delivered through
channels (``webhook``, ``apprise_channel``; ``atom`` renders each subscription's private feed) at
least once with retries and digests (``deliver``). Imports nothing at package level."""
