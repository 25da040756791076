"""Progress figures: per-topic counts, streak, daily reviews, due forecast, and a chart.

The heavy lifting is SQL in `Store` (counts, averages over the log), so these stay fast
with a large log. Public API:

- `topic_progress(deck, store, ...)` -> list[TopicProgress]: per topic new / learning /
  review / due today / mastered / average retrievability / reviews in 7 days; cheap enough
  for a home screen to call on every visit. Items no longer in the deck come last, as a
  row with `topic_id=None` (their history is kept, never deleted).
- `progress(deck, store, ...)` -> Progress: the above plus totals, streak, reviews today;
  `Progress.to_dict()` is what `learnapp progress --json` prints.
- `daily_ratings`, `due_forecast`, `streak`: the series behind the chart.
- `retention(store, period="week"|"month")` -> list[Retention]: true retention, the share of
  due reviews recalled, per week or month, to set next to the desired retention (0.9).
- `review_calendar` and `heatmap_rows`: answers per learning day over the last weeks, and the
  same as rows of text (a calendar heatmap for the terminal).
- `PREDICTED_RECALL_HELP`, `TRUE_RETENTION_HELP`: what those two numbers mean, in words to show
  wherever they are shown.
- `plot(deck, store, path, ..., force=False)`: a chart (PNG, SVG or PDF, by the suffix) with reviews per
  day, the 30-day due forecast and retrievability per topic (matplotlib with the Agg backend,
  imported only here).

The functions that read the store take `now` (UTC, default the current time) and `day`
(LearningDay), and those that compute recall `scheduler` (fsrs Scheduler, for its forgetting
curve), so tests can fix them.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from fsrs import Rating, Scheduler

from learnapp.content import Deck
from learnapp.leeches import LEECH_LAPSES, Leech, leeches
from learnapp.outfile import replacing
from learnapp.srs import MASTERED_STABILITY_DAYS, LearningDay, forgetting_curve, scheduler_for, utc_now
from learnapp.store import Store

if TYPE_CHECKING:
    from matplotlib.figure import SubFigure

RECENT_DAYS = 7
HISTORY_DAYS = 60
FORECAST_DAYS = 30
STREAK_BATCH = 30
NOT_IN_DECK = "not in the deck (removed or renamed)"
RETENTION_WEEKS = 6
RETENTION_MONTHS = 4
CALENDAR_WEEKS = 26

# A learner who pressed Again three times saw "recall 100 %" and read it as a score.
PREDICTED_RECALL_HELP = (
    "recall: FSRS's estimate of the chance that you would recall a card if asked now, averaged over "
    "the cards you have reviewed. It is a forecast, not a score: right after any answer, Again "
    "included, it is near 100% because you have just seen the answer; it falls as days pass."
)
TRUE_RETENTION_HELP = (
    "true retention: the share of due reviews (flashcards of cards in Review state) that you "
    "recalled (Hard, Good or Easy). FSRS schedules each review for when recall should be at the "
    "desired retention; far below it, the intervals are too long for you (try `learnapp progress "
    "--optimize`). Multiple choice is left out: recognising an answer is easier than recalling it."
)


@dataclass(frozen=True)
class TopicProgress:
    """Counts for one topic. `retrievability` is the mean predicted recall of reviewed cards."""

    topic_id: str | None
    title: str
    items: int
    new: int
    learning: int
    review: int
    due_today: int
    mastered: int
    retrievability: float | None
    reviews_7d: int

    @property
    def reviewed(self) -> int:
        return self.learning + self.review


@dataclass(frozen=True)
class Retention:
    """True retention over one week or month of learning days (the current one still open)."""

    start: date
    days: int
    recalled: int
    reviews: int

    @property
    def rate(self) -> float | None:
        return self.recalled / self.reviews if self.reviews else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"start": self.start.isoformat(), "rate": self.rate}


@dataclass(frozen=True)
class Progress:
    learning_day: date
    generated_at: datetime
    topics: tuple[TopicProgress, ...]  # the deck's topics, then items no longer in it
    total: TopicProgress  # the deck's items only
    reviews_today: int
    streak: int
    desired_retention: float = 0.9
    retention_weeks: tuple[Retention, ...] = ()
    retention_months: tuple[Retention, ...] = ()
    leeches: tuple[Leech, ...] = ()
    memory_model: dict[str, Any] | None = field(default=None)  # the fit in use; None: FSRS's defaults

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "learning_day": self.learning_day.isoformat(),
            "topics": [asdict(t) for t in self.topics if t.topic_id is not None],
            "not_in_deck": next((asdict(t) for t in self.topics if t.topic_id is None), None),
            "total": asdict(self.total),
            "reviews_today": self.reviews_today,
            "streak_days": self.streak,
            "mastered_definition": f"Review state with stability >= {MASTERED_STABILITY_DAYS:g} days",
            "recall_definition": PREDICTED_RECALL_HELP,
            "true_retention": {
                "desired": self.desired_retention,
                "definition": TRUE_RETENTION_HELP,
                "weeks": [r.to_dict() for r in self.retention_weeks],
                "months": [r.to_dict() for r in self.retention_months],
            },
            "leeches": [asdict(leech) for leech in self.leeches],
            "leech_definition": f"forgotten (Again on a card in Review state) at least {LEECH_LAPSES} times",
            "memory_model": self.memory_model,
        }


def _defaults(
    now: datetime | None, day: LearningDay | None, scheduler: Scheduler | None, store: Store | None = None
) -> tuple[datetime, LearningDay, Scheduler]:
    """The current time, the system's learning day, and the learner's scheduler unless given."""
    if scheduler is None:
        scheduler = scheduler_for(store) if store is not None else Scheduler()
    return now or utc_now(), day or LearningDay(), scheduler


def topic_progress(
    deck: Deck,
    store: Store,
    now: datetime | None = None,
    day: LearningDay | None = None,
    scheduler: Scheduler | None = None,
) -> list[TopicProgress]:
    now, day, scheduler = _defaults(now, day, scheduler, store)
    item_topic = {item.id: item.topic for item in deck.items}
    today = day.day_of(now)
    summary = store.card_summary(
        item_topic, now, day.next_start(now), MASTERED_STABILITY_DAYS, forgetting_curve(scheduler)
    )
    recent = store.reviews_by_topic(item_topic, day.start(today - timedelta(days=RECENT_DAYS - 1)))
    rows: list[tuple[str | None, str, int]] = [(topic.id, topic.title, len(topic.items)) for topic in deck.topics]
    if None in summary:
        rows.append((None, NOT_IN_DECK, int(summary[None]["reviewed"])))
    result = []
    for topic_id, title, items in rows:
        counts = summary.get(topic_id, {})
        reviewed = int(counts.get("reviewed", 0))
        result.append(
            TopicProgress(
                topic_id=topic_id,
                title=title,
                items=items,
                new=items - reviewed if topic_id is not None else 0,
                learning=int(counts.get("learning", 0)),
                review=int(counts.get("review", 0)),
                due_today=int(counts.get("due", 0)) if topic_id is not None else 0,
                mastered=int(counts.get("mastered", 0)),
                retrievability=counts["retrievability_sum"] / reviewed if reviewed else None,
                reviews_7d=recent.get(topic_id, 0),
            )
        )
    return result


def _total(topics: list[TopicProgress]) -> TopicProgress:
    in_deck = [t for t in topics if t.topic_id is not None]
    reviewed = sum(t.reviewed for t in in_deck)
    r_sum = sum((t.retrievability or 0.0) * t.reviewed for t in in_deck)
    counts = {
        name: sum(getattr(t, name) for t in in_deck)
        for name in ("items", "new", "learning", "review", "due_today", "mastered", "reviews_7d")
    }
    return TopicProgress(
        topic_id="total", title="total", retrievability=r_sum / reviewed if reviewed else None, **counts
    )


def daily_ratings(
    store: Store, now: datetime | None = None, day: LearningDay | None = None, days: int = HISTORY_DAYS
) -> list[tuple[date, dict[Rating, int]]]:
    """Answers per rating on each of the last `days` learning days, today last."""
    now, day, _ = _defaults(now, day, None)
    first = day.day_of(now) - timedelta(days=days - 1)
    counts = store.ratings_between(day.bounds(first, days))
    return [(first + timedelta(days=n), c) for n, c in enumerate(counts)]


def streak(store: Store, now: datetime | None = None, day: LearningDay | None = None) -> int:
    """Consecutive learning days with at least one answer, up to today (or yesterday, if
    nothing was answered yet today: the streak is not broken before the day is over)."""
    now, day, _ = _defaults(now, day, None)
    end, length, today_open = day.day_of(now), 0, True
    while True:  # a batch of days per round, so a long streak costs few round trips
        first = end - timedelta(days=STREAK_BATCH - 1)
        busy = store.days_with_reviews(day.bounds(first, STREAK_BATCH))
        if today_open and not busy[-1]:
            busy.pop()
        today_open = False
        for answered in reversed(busy):
            if not answered:
                return length
            length += 1
        end = first - timedelta(days=1)


def due_forecast(
    deck: Deck,
    store: Store,
    now: datetime | None = None,
    day: LearningDay | None = None,
    days: int = FORECAST_DAYS,
) -> list[tuple[date, int]]:
    """Cards of the deck due on each of the next `days` learning days; today includes overdue."""
    now, day, _ = _defaults(now, day, None)
    today = day.day_of(now)
    bounds = day.bounds(today, days)
    bounds[0] = datetime.min.replace(tzinfo=bounds[0].tzinfo)
    counts = store.due_between([item.id for item in deck.items], bounds)
    return [(today + timedelta(days=n), c) for n, c in enumerate(counts)]


def _period_starts(today: date, period: str, count: int) -> list[date]:
    """The first days of the last `count` weeks (Monday) or months, and of the one after."""
    if period == "week":
        monday = today - timedelta(days=today.weekday())
        return [monday + timedelta(weeks=n) for n in range(1 - count, 2)]
    if period == "month":
        index = today.year * 12 + today.month - 1
        return [date(i // 12, i % 12 + 1, 1) for i in range(index + 1 - count, index + 2)]
    raise ValueError(f"period must be week or month, not {period!r}")


def retention(
    store: Store,
    now: datetime | None = None,
    day: LearningDay | None = None,
    period: str = "week",
    count: int = RETENTION_WEEKS,
) -> list[Retention]:
    """True retention in each of the last `count` weeks or months, the current one last."""
    now, day, _ = _defaults(now, day, None)
    starts = _period_starts(day.day_of(now), period, count)
    counts = store.retention_between([day.start(start) for start in starts])
    return [
        Retention(start, (end - start).days, recalled, reviews)
        for (start, end), (recalled, reviews) in zip(itertools.pairwise(starts), counts, strict=True)
    ]


def review_calendar(
    store: Store, now: datetime | None = None, day: LearningDay | None = None, weeks: int = CALENDAR_WEEKS
) -> list[tuple[date, int]]:
    """Answers on each learning day of the last `weeks` weeks (Monday to Sunday), today included."""
    now, day, _ = _defaults(now, day, None)
    today = day.day_of(now)
    first = today - timedelta(days=today.weekday(), weeks=weeks - 1)
    days = (today - first).days + 1
    counts = store.answers_between(day.bounds(first, days))
    return [(first + timedelta(days=n), count) for n, count in enumerate(counts)]


HEAT = "·░▒▓█"  # no answers, then quarters of the busiest day


def heatmap_rows(calendar: list[tuple[date, int]]) -> list[str]:
    """A calendar heatmap as text: a row of month names, one row per weekday, a legend.

    Each week is a column two characters wide; `calendar` starts on a Monday (`review_calendar`).
    """
    busiest = max((count for _, count in calendar), default=0)
    weeks = [calendar[n : n + 7] for n in range(0, len(calendar), 7)]
    months = [" "] * (2 * len(weeks) + 1)
    for column, week in enumerate(weeks):
        first = next((d for d, _ in week if d.day == 1), None) if column else week[0][0]
        if first is not None and all(c == " " for c in months[2 * column : 2 * column + 4]):
            months[2 * column : 2 * column + 3] = first.strftime("%b")
    rows = ["    " + "".join(months).rstrip()]
    for weekday, name in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")):
        cells = []
        for week in weeks:
            if weekday >= len(week):
                cells.append("  ")  # days still to come
                continue
            count = week[weekday][1]
            level = 0 if not count else 1 + min(3, (4 * (count - 1)) // busiest)
            cells.append(HEAT[level] * 2)
        rows.append(f"{name} " + "".join(cells).rstrip())
    rows.append(f"    {HEAT[0]} none  " + " ".join(HEAT[1:]) + f"  up to {busiest} answers a day")
    return rows


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def retention_rows(figures: Progress) -> list[str]:
    """True retention per week and per month as text, next to the desired retention: what the CLI
    and the app both show (a header line, then two lines per period: their starts, their rates)."""
    rows = [f"True retention: due reviews recalled / due reviews (desired: {percent(figures.desired_retention)})"]
    for label, periods, fmt in (
        ("week of", figures.retention_weeks, "%d %b"),
        ("month", figures.retention_months, "%b %Y"),
    ):
        rows.append(f"  {label:<9}" + "".join(f"{p.start.strftime(fmt):>10}" for p in periods))
        cells = (f"{percent(p.rate)} /{p.reviews}" if p.reviews else "-" for p in periods)
        rows.append(f"  {'':<9}" + "".join(f"{cell:>10}" for cell in cells))
    return rows


def progress(
    deck: Deck,
    store: Store,
    now: datetime | None = None,
    day: LearningDay | None = None,
    scheduler: Scheduler | None = None,
) -> Progress:
    now, day, scheduler = _defaults(now, day, scheduler, store)
    with store.snapshot():
        topics = topic_progress(deck, store, now, day, scheduler)
        today = daily_ratings(store, now, day, days=1)[0][1]
        days_in_row = streak(store, now, day)
        weeks = retention(store, now, day, "week", RETENTION_WEEKS)
        months = retention(store, now, day, "month", RETENTION_MONTHS)
        found = leeches(deck, store)
        model = store.memory_model()
    return Progress(
        learning_day=day.day_of(now),
        generated_at=now,
        topics=tuple(topics),
        total=_total(topics),
        reviews_today=sum(today.values()),
        streak=days_in_row,
        desired_retention=scheduler.desired_retention,
        retention_weeks=tuple(weeks),
        retention_months=tuple(months),
        leeches=tuple(found),
        memory_model=None
        if model is None
        else {"fitted_at": model.fitted_at.isoformat(), "parameters": list(model.parameters), **model.figures},
    )


TABLE_HEADERS = ("topic", "items", "new", "learn", "review", "due", "mastered", "recall", "7d")


def table(figures: Progress) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Headers and rows of the progress table, as text: what the CLI and the app both show."""
    rows = []
    for row in (*figures.topics, figures.total):
        recall = "-" if row.retrievability is None else f"{100 * row.retrievability:.0f}%"
        numbers = (row.items, row.new, row.learning, row.review, row.due_today, row.mastered)
        rows.append((row.title, *map(str, numbers), recall, str(row.reviews_7d)))
    return TABLE_HEADERS, rows


def plot(
    deck: Deck,
    store: Store,
    path: Path,
    now: datetime | None = None,
    day: LearningDay | None = None,
    scheduler: Scheduler | None = None,
    *,
    force: bool = False,
) -> Path:
    """Write the progress chart to `path` (PNG, SVG or PDF, by its suffix) and return it.

    Never onto the store, nor over an existing file unless `force` (see `outfile.replacing`);
    the file is opened first, so an unwritable place is reported before matplotlib even loads.
    """
    path = Path(path)
    with replacing(path, force=force, protected=store.files) as out:
        import matplotlib

        matplotlib.use("Agg")  # files only: works over SSH and in tests
        import matplotlib.pyplot as plt

        fig = _figure(deck, store, *_defaults(now, day, scheduler, store))
        try:
            fig.savefig(out, format=path.suffix.lstrip(".").lower(), dpi=100)
        finally:
            plt.close(fig)
    return path


def _figure(deck: Deck, store: Store, now: datetime, day: LearningDay, scheduler: Scheduler) -> Any:
    """The chart as a matplotlib Figure."""
    import matplotlib.dates
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    with store.snapshot():
        history = daily_ratings(store, now, day)
        forecast = due_forecast(deck, store, now, day)
        topics = [t for t in topic_progress(deck, store, now, day, scheduler) if t.topic_id is not None]
        calendar = review_calendar(store, now, day, weeks=52)
        weekly = retention(store, now, day, "week", 26)
    colours = {Rating.Again: "#d62728", Rating.Hard: "#ff7f0e", Rating.Good: "#2ca02c", Rating.Easy: "#1f77b4"}

    fig = plt.figure(figsize=(13, 12.5), layout="constrained")
    # Sub-figures, so the long topic names do not push the other charts to the right.
    # three rows of one: an array of SubFigures (the stubs also allow a lone SubFigure)
    top, middle, bottom_figure = cast("list[SubFigure]", fig.subfigures(3, 1, height_ratios=[1, 0.7, 1.2]))
    ax_history, ax_forecast = top.subplots(1, 2)
    ax_calendar, ax_retention = middle.subplots(1, 2, width_ratios=[1.6, 1])
    ax_topics = bottom_figure.subplots()
    _plot_calendar(ax_calendar, calendar)
    _plot_retention(ax_retention, weekly, scheduler.desired_retention)
    fig.suptitle(f"learnapp progress - learning day {day.day_of(now).isoformat()}", fontsize=14)

    days = [d for d, _ in history]
    bottom = [0] * len(days)
    for rating, colour in colours.items():
        values = [counts.get(rating, 0) for _, counts in history]
        ax_history.bar(days, values, bottom=bottom, color=colour, label=rating.name, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax_history.set_title(f"Answers per day, last {len(days)} days ({sum(bottom):,} in all)")
    ax_history.set_ylabel("answers")
    ax_history.margins(y=0.15)  # room for the legend above the bars
    ax_history.legend(loc="upper left", ncols=4, frameon=False)
    if not sum(bottom):
        ax_history.text(0.5, 0.5, "no answers yet", transform=ax_history.transAxes, ha="center", color="grey")

    ax_forecast.bar([d for d, _ in forecast], [c for _, c in forecast], color="#9467bd", width=0.8)
    ax_forecast.set_title(f"Cards due, next {len(forecast)} days (today includes overdue: {forecast[0][1]})")
    ax_forecast.set_ylabel("cards due")
    for ax in (ax_history, ax_forecast):
        ax.xaxis.set_major_locator(matplotlib.dates.AutoDateLocator(maxticks=7))
        ax.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%d %b"))
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(axis="y", alpha=0.3)

    names = [f"{t.title} ({t.reviewed}/{t.items})" for t in topics][::-1]
    recall = [100.0 * (t.retrievability or 0.0) for t in topics][::-1]
    mastered = [100.0 * t.mastered / t.items if t.items else 0.0 for t in topics][::-1]
    positions = range(len(names))
    ax_topics.barh(positions, recall, color="#17becf", label="average predicted recall of reviewed cards")
    ax_topics.barh(positions, mastered, color="#2ca02c", height=0.3, label="share of items mastered")
    for position, value, topic in zip(positions, recall, topics[::-1], strict=True):
        if topic.reviewed:
            ax_topics.text(value + 0.5, position, f"{value:.0f}%", va="center", fontsize=8)
    ax_topics.axvline(100 * scheduler.desired_retention, color="grey", linestyle="--", linewidth=1)
    ax_topics.set_yticks(list(positions), names)
    ax_topics.set_xlim(0, 105)
    ax_topics.set_xlabel("%  (dashed: desired retention)")
    ax_topics.set_title("Retrievability per topic (reviewed / items)")
    ax_topics.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=9, frameon=False)
    return fig


def _plot_calendar(ax: Any, calendar: list[tuple[date, int]]) -> None:
    """Answers per day as a weeks x weekdays grid (the calendar starts on a Monday)."""
    import numpy as np

    weeks = (len(calendar) + 6) // 7
    grid = np.full((7, weeks), np.nan)
    for n, (_, count) in enumerate(calendar):
        grid[n % 7, n // 7] = count
    from matplotlib.colors import ListedColormap

    ax.imshow(np.where(grid == 0, 0.0, np.nan), cmap=ListedColormap(["#e4e4e4"]), aspect="equal")  # days off
    image = ax.imshow(np.where(grid == 0, np.nan, grid), cmap="Greens", aspect="equal", vmin=0)
    ax.set_yticks(range(7), ["Mon", "", "Wed", "", "Fri", "", "Sun"])
    starts = [(n // 7, d) for n, (d, _) in enumerate(calendar) if d.day == 1]
    ax.set_xticks([column for column, _ in starts], [d.strftime("%b") for _, d in starts])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    total = sum(count for _, count in calendar)
    ax.set_title(f"Calendar of answers, last {weeks} weeks ({total:,} in all; grey: none)")
    ax.figure.colorbar(image, ax=ax, shrink=0.6, label="answers")


def _plot_retention(ax: Any, weekly: list[Retention], desired: float) -> None:
    """True retention per week, with the desired retention for comparison."""
    known = [(r.start, 100 * r.rate) for r in weekly if r.rate is not None]
    if known:
        ax.plot([d for d, _ in known], [v for _, v in known], marker="o", color="#1f77b4", label="true retention")
    else:
        ax.text(0.5, 0.5, "no due reviews yet", transform=ax.transAxes, ha="center", color="grey")
    ax.axhline(100 * desired, color="grey", linestyle="--", linewidth=1, label=f"desired ({100 * desired:.0f}%)")
    ax.set_ylim(0, 105)
    ax.set_ylabel("% of due reviews recalled")
    ax.set_title("True retention per week (flashcards, Review state)")
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    import matplotlib.dates

    ax.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%d %b"))
    ax.xaxis.set_major_locator(matplotlib.dates.AutoDateLocator(maxticks=6))
    ax.grid(axis="y", alpha=0.3)


__all__ = [
    "PREDICTED_RECALL_HELP",
    "TRUE_RETENTION_HELP",
    "Progress",
    "Retention",
    "TopicProgress",
    "daily_ratings",
    "due_forecast",
    "heatmap_rows",
    "plot",
    "progress",
    "retention",
    "review_calendar",
    "streak",
    "table",
    "topic_progress",
]
