"""Pure clustering core: tables of articles and the stories they must (not) form."""

from datetime import UTC, datetime, timedelta

import pytest

from storydiff.compare.cluster import ClusterConfig, Doc, OnlineClusterer
from storydiff.evals.cluster import adjusted_rand, bcubed

T0 = datetime(2025, 10, 21, 8, 0, tzinfo=UTC)


def docs(*titles, gap_minutes=20, text=""):
    return [Doc(i, t, text, T0 + timedelta(minutes=gap_minutes * i)) for i, t in enumerate(titles)]


def groups(clusterer, items):
    by = {}
    for d in items:
        by.setdefault(clusterer.story_of[d.id], []).append(d.id)
    return sorted(by.values())


@pytest.mark.parametrize(
    ("titles", "expected"),
    [
        (  # one event, reworded by several outlets
            [
                "Rubio and Lavrov meeting tabled ahead of Budapest summit",
                "US-Russia foreign ministers' meeting in Budapest put on hold",
                "Kremlin says Lavrov Rubio meeting was never scheduled for Budapest",
                "Budapest summit: Rubio, Lavrov talks on hold, officials say",
            ],
            [[0, 1, 2, 3]],
        ),
        (  # two unrelated events
            [
                "Earthquake of magnitude 6.8 strikes off Chile coast",
                "Apple unveils new iPad Pro with faster chip",
                "Chile earthquake: tsunami warning lifted after 6.8 quake",
                "New iPad Pro from Apple gets M5 chip",
            ],
            [[0, 2], [1, 3]],
        ),
    ],
)
def test_events_are_grouped(titles, expected):
    clusterer = OnlineClusterer()
    items = docs(*titles)
    clusterer.add_all(items)
    assert groups(clusterer, items) == expected


BACKGROUND = [
    f"{subject} {verb} after {when}"
    for subject in ("Shares", "Rain", "Prices", "Crowds", "Sales", "Rates")
    for verb in ("fall", "rise", "slide", "jump")
    for when in ("talks", "report", "weekend")
]


def test_shared_generic_words_alone_do_not_merge_events():
    """Once the stream has shown which words are generic, one shared generic word is not enough."""
    clusterer = OnlineClusterer()
    clusterer.add_all(Doc(f"bg{i}", t, "", T0 - timedelta(days=10)) for i, t in enumerate(BACKGROUND))
    items = docs("Stocks fall as oil prices slide", "Football club sacks manager after fall to relegation zone")
    clusterer.add_all(items)
    assert groups(clusterer, items) == [[0], [1]]


def test_same_words_far_apart_in_time_are_a_new_story():
    clusterer = OnlineClusterer()
    first = Doc(1, "Storm Ciaran batters northern France with record winds", "", T0)
    later = Doc(2, "Storm Ciaran batters northern France with record winds", "", T0 + timedelta(days=20))
    clusterer.add(first)
    clusterer.close_quiet(later.published)
    assert clusterer.add(later).new_story


def test_wire_copy_joins_its_originals_story_even_if_reworded():
    clusterer = OnlineClusterer()
    clusterer.add(Doc("orig", "Ministers agree to keep talking", "", T0))
    clusterer.add(Doc("other", "Chipmaker opens Arizona plant", "", T0))
    copy = clusterer.add(
        Doc("copy", "Completely different local headline", "", T0 + timedelta(hours=1), original_id="orig")
    )
    assert copy.story_id == clusterer.story_of["orig"] and copy.score == 1.0


def test_restore_keeps_ids_and_new_articles_join_restored_stories():
    clusterer = OnlineClusterer()
    story = [
        (Doc(10, "Lavrov Rubio Budapest meeting postponed", "", T0), 1.0),
        (Doc(11, "Budapest meeting of Lavrov and Rubio on hold", "", T0 + timedelta(hours=1)), 0.4),
    ]
    clusterer.restore(42, story)
    assigned = clusterer.add(
        Doc(12, "Rubio Lavrov Budapest talks postponed, officials say", "", T0 + timedelta(hours=2))
    )
    assert assigned.story_id == 42 and not assigned.new_story


def test_merging_reports_absorbed_stories():
    clusterer = OnlineClusterer(ClusterConfig(join_threshold=0.99, merge_threshold=0.3))
    items = docs("Budapest summit Lavrov Rubio", "Budapest summit Lavrov Rubio talks", gap_minutes=1)
    clusterer.add(items[0])
    clusterer.add(items[1])  # the high join threshold forces a second story
    merges = clusterer.consolidate()
    assert len(merges) == 1 and clusterer.final_id(merges[0][0]) == merges[0][1]
    assert len({clusterer.story_of[d.id] for d in items}) == 1


def test_closed_stories_leave_the_index():
    clusterer = OnlineClusterer()
    clusterer.add(Doc(1, "Volcano erupts in Iceland", "", T0))
    assert clusterer.index
    closed = clusterer.close_quiet(T0 + timedelta(hours=100))
    assert closed == [1] and clusterer.index == {}


def test_representative_title_is_a_member_headline():
    clusterer = OnlineClusterer()
    items = docs(
        "Iceland volcano erupts near Grindavik",
        "Volcano near Grindavik erupts again",
        "Grindavik evacuated as volcano erupts",
    )
    clusterer.add_all(items)
    [story] = clusterer.stories.values()
    assert story.title() in {d.title for d in items}


@pytest.mark.parametrize(
    ("pred", "gold", "p", "r"),
    [
        ([1, 1, 2, 2], ["a", "a", "b", "b"], 1.0, 1.0),
        ([1, 1, 1, 1], ["a", "a", "b", "b"], 0.5, 1.0),
        ([1, 2, 3, 4], ["a", "a", "b", "b"], 1.0, 0.5),
    ],
)
def test_bcubed(pred, gold, p, r):
    precision, recall, _ = bcubed(pred, gold)
    assert (precision, recall) == (p, r)


@pytest.mark.parametrize(
    ("pred", "gold", "ari"),
    [([1, 1, 2, 2], ["a", "a", "b", "b"], 1.0), ([1, 2, 1, 2], ["a", "a", "b", "b"], -0.5)],
)
def test_adjusted_rand(pred, gold, ari):
    assert adjusted_rand(pred, gold) == pytest.approx(ari)


def test_a_date_without_time_of_day_may_lie_anywhere_in_that_day():
    from storydiff.compare.cluster import DAY, _dated_gap

    midnight = datetime(2025, 10, 21, tzinfo=UTC).timestamp()
    assert _dated_gap(midnight + 2 * DAY, midnight) == DAY  # two dates two days apart: at least a day
    assert _dated_gap(midnight + DAY, midnight) == 0.0
    assert _dated_gap(midnight + 5 * 3600, midnight) == 0.0  # 05:00 on a day that was given as a date
    exact = midnight + 8 * 3600
    assert _dated_gap(exact + 3 * 3600, exact) == 3 * 3600  # two times of day: the gap as it is


def test_a_copy_adds_its_originals_vector_whatever_came_between():
    """A wire copy stands for the same words as its original: the clusterer adds the original's
    vector again, not one re-weighted by the documents seen in between (which would make the
    centroid depend on where in the crawl the copies happen to fall)."""
    clusterer = OnlineClusterer()
    text = "Flood barriers along the river held overnight, the county engineer said on Tuesday."
    original = Doc(1, "River barriers hold after night of rain", text, T0)
    first = clusterer.vector(original)
    for n, title in enumerate(
        ["County engineer inspects river barriers", "Rain eases over the county", "Barriers hold, engineer says"]
    ):
        clusterer.add(Doc(10 + n, title, "The river barriers and the county rain.", T0 + timedelta(minutes=n)))
    copy = Doc(2, original.title, original.text, T0 + timedelta(hours=1), original_id=1)
    seen = clusterer.df.docs
    assert clusterer.vector(copy) == first
    assert clusterer.df.docs == seen + 1  # the document frequencies still count the copy
