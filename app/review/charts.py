"""Bar charts as SVG geometry: horizontal bars, one per line, that stay readable on a phone.

The template only draws what is computed here. Every bar links to the inbox narrowed to the
reports it counts.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from app.content.published import Published
from app.review.service import ChartCounts, Counted, Filters

WIDTH = 400
LABEL = 112  # room for the role or week label left of the bars
NUMBER = 48  # room for the count right of the longest bar
BAR_HEIGHT = 18
ROW = 26
HEADING = 24
MAX_TEXT = 52


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    width: int
    count: int
    href: str
    name: str  # the whole label, for the link's title and screen readers
    label_above: bool = False

    @property
    def number_x(self) -> int:
        return self.x + self.width + 4

    @property
    def x(self) -> int:
        return 0 if self.label_above else LABEL

    @property
    def text_y(self) -> int:
        return self.y + BAR_HEIGHT - 5


@dataclass(frozen=True)
class Heading:
    text: str
    y: int


@dataclass(frozen=True)
class Chart:
    id: str
    height: int
    bars: list[Bar]
    headings: list[Heading]
    width: int = WIDTH


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1].rstrip() + "…"


def _scale(count: int, largest: int, room: int) -> int:
    return max(1, round(room * count / largest)) if count else 0


def per_practice_and_role(
    counts: list[Counted], filters: Filters, published: Published | None
) -> Chart:
    """One group per practice, in the order of the guidance; one bar per role inside it."""
    by_place = {(c.key[0], c.key[1]): c.count for c in counts}
    practice_ids = sorted({practice for practice, _ in by_place})
    role_ids = sorted({role for _, role in by_place})
    if published is not None:
        order = list(published.practices)
        practice_ids.sort(key=lambda p: (order.index(p) if p in order else len(order), p))
        roles = list(published.roles)
        role_ids.sort(key=lambda r: (roles.index(r) if r in roles else len(roles), r))
    largest = max(by_place.values(), default=1)
    room = WIDTH - LABEL - NUMBER
    bars: list[Bar] = []
    headings: list[Heading] = []
    y = 0
    for practice_id in practice_ids:
        practice = published.practices.get(practice_id) if published else None
        title = practice.title if practice else practice_id
        headings.append(Heading(_short(title), y + 16))
        y += HEADING
        for role_id in role_ids:
            count = by_place.get((practice_id, role_id), 0)
            role = published.roles.get(role_id) if published else None
            role_name = role.name if role else role_id
            bars.append(
                Bar(
                    label=role_name if len(role_name) <= 16 else role_id,
                    y=y,
                    width=_scale(count, largest, room),
                    count=count,
                    href="/admin/feedback"
                    + filters.query(practice=practice_id, role=role_id, page=1),
                    name=f"{title}, {role_name}: {count}",
                )
            )
            y += ROW
        y += 6
    return Chart(
        "practice-role",
        max(y, ROW),
        bars,
        headings,
    )


def per_week(weeks: list[tuple[date, int]], filters: Filters) -> Chart:
    largest = max((n for _, n in weeks), default=1) or 1
    room = WIDTH - LABEL - NUMBER
    bars = []
    for number, (monday, count) in enumerate(weeks):
        sunday = monday + timedelta(days=6)
        bars.append(
            Bar(
                label=monday.isoformat(),
                y=number * ROW,
                width=_scale(count, largest, room),
                count=count,
                href="/admin/feedback"
                + filters.query(received_from=monday, received_to=sunday, page=1),
                name=f"{monday.isoformat()} to {sunday.isoformat()}: {count}",
            )
        )
    return Chart(
        "weeks",
        max(len(bars) * ROW, ROW),
        bars,
        [],
    )


def top_problem_items(
    counts: list[Counted], filters: Filters, published: Published | None
) -> Chart:
    """The item's action above its bar: long labels need the whole width of a phone."""
    largest = max((c.count for c in counts), default=1)
    room = WIDTH - NUMBER
    bars = []
    headings = []
    y = 0
    for counted in counts:
        role, practice_id, item_id = counted.key
        action = item_id
        practice = published.practices.get(practice_id) if published else None
        if practice is not None:
            for item in practice.checklists.get(role, []):
                if item.id == item_id:
                    action = item.action
        headings.append(Heading(_short(action), y + 16))
        y += HEADING
        bars.append(
            Bar(
                label="",
                y=y,
                width=_scale(counted.count, largest, room),
                count=counted.count,
                href="/admin/feedback"
                + filters.query(
                    role=role, practice=practice_id, item=item_id, kind="problem", page=1
                ),
                name=f"{action} ({role}): {counted.count}",
                label_above=True,
            )
        )
        y += ROW + 6
    return Chart(
        "top-items",
        max(y, ROW),
        bars,
        headings,
    )


def charts(counts: ChartCounts, filters: Filters, published: Published | None) -> dict[str, Chart]:
    return {
        "practice_role": per_practice_and_role(counts.per_practice_and_role, filters, published),
        "weeks": per_week(counts.per_week, filters),
        "top_items": top_problem_items(counts.top_problem_items, filters, published),
    }
