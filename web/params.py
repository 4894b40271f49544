"""Typed parameters shared by the API and the pages: ids bounded to what the INTEGER columns hold
(a larger one is a 422, never a driver error), and body text refusing control characters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, Field

from storydiff.store.inputs import CONTROL, MAX_ID

StoryId = Annotated[int, Path(ge=1, le=MAX_ID, description="A story's id (see /api/stories).")]
FeedId = Annotated[int, Path(ge=1, le=MAX_ID, description="A feed's id (see /api/feeds).")]
SubscriptionId = Annotated[int, Path(ge=1, le=MAX_ID, description="A subscription's id (see /api/subscriptions).")]


def _no_control(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError("control characters (such as NUL or a line break) are not allowed")
    return value


Line = Annotated[str, AfterValidator(_no_control)]  # one line of text: no NUL, no line break
ListItem = Annotated[str, Field(max_length=200), AfterValidator(_no_control)]
