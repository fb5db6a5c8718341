"""Charts as inline SVG, drawn in Python: the console works offline, with no JavaScript library.

Two kinds are enough for the statistics page: horizontal bars, stacked or
grouped, for counts (:func:`bars`), and horizontal bars on a 0–100 % scale
for rates (:func:`percents`). Bars run sideways so that a long Chinese
label fits on a phone. Every chart has a ``viewBox`` (it scales to the
screen), a ``<title>`` and ``aria-label`` naming it, its numbers written
beside or on the bars, and only escaped text. The page puts the same
numbers in a table under each chart for screen readers and careful
readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from markupsafe import Markup

WIDTH = 400
FONT = 14
ROW = 28  # one row of a stacked chart
BAR = 18
GROUPED_BAR = 13
MIN_BAR = 1.0  # the narrowest bar drawn for a value above zero
PAD = 6
MAX_LABEL_SHARE = 0.38  # the label column never takes more of the width than this
# Okabe–Ito colours (told apart with the common colour blindnesses), each with a readable text colour.
PALETTE: tuple[tuple[str, str], ...] = (
    ("#0072B2", "#ffffff"),
    ("#E69F00", "#1f2329"),
    ("#009E73", "#ffffff"),
    ("#CC79A7", "#1f2329"),
    ("#56B4E9", "#1f2329"),
    ("#D55E00", "#ffffff"),
    ("#F0E442", "#1f2329"),
    ("#7F7F7F", "#ffffff"),
)
TRACK = "#eef0f3"
INK = "#1f2329"


@dataclass(frozen=True)
class Series:
    """One named series of counts, one value per label."""

    name: str
    values: Sequence[int]


def text_width(text: str, size: float = FONT) -> float:
    """Roughly how wide ``text`` is drawn: a Chinese character is one em, a Latin one a bit over half."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.62 for ch in text)


def _fit(text: str, room: float) -> str:
    """``text``, cut with … if it does not fit in ``room``."""
    if text_width(text) <= room:
        return text
    while text and text_width(text + "…") > room:
        text = text[:-1]
    return text + "…"


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = INK, full: str | None = None) -> str:
    hover = f"<title>{escape(full)}</title>" if full is not None and full != text else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{FONT}" text-anchor="{anchor}" fill="{fill}" '
        f'dominant-baseline="central">{hover}{escape(text)}</text>'
    )


def _svg(title: str, height: float, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH}" height="{height:.0f}" role="img" aria-label={quoteattr(title)} '
        f'font-family="PingFang SC, Noto Sans CJK SC, Microsoft YaHei, sans-serif">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")  # every piece of text in it was escaped


def _empty(title: str) -> Markup:
    return _svg(title, 40, [_text(WIDTH / 2, 20, "暂无数据", anchor="middle", fill="#646a73")])


def _legend(names: Sequence[str], top: float) -> tuple[list[str], float]:
    """Colour keys wrapped over as many lines as needed; the parts and the height they take."""
    parts: list[str] = []
    x, y = 0.0, top
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)][0]
        label = _fit(name, WIDTH / 2)
        item = 14 + text_width(label) + 14
        if x > 0 and x + item > WIDTH:
            x, y = 0.0, y + 20
        parts.append(f'<rect x="{x:.1f}" y="{y + 3:.1f}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + 14, y + 8, label, full=name))
        x += item
    return parts, y + 20 - top + 4


def _label_column(labels: Sequence[str]) -> float:
    return min(max(text_width(label) for label in labels) + 2 * PAD, WIDTH * MAX_LABEL_SHARE)


def bars(*, title: str, labels: Sequence[str], series: Sequence[Series], stacked: bool = True) -> Markup:
    """Horizontal bars, one row per label: the series stacked (with the row's total after the bar) or side by side.

    A segment's value is written on it when it fits; its exact value is in
    the segment's tooltip and in the page's table.
    """
    if not labels or not series:
        return _empty(title)
    body: list[str] = []
    top = 0.0
    if len(series) > 1:
        parts, used = _legend([s.name for s in series], 0)
        body += parts
        top = used
    totals = [sum(int(s.values[i]) for s in series) for i in range(len(labels))]
    longest = max(totals) if stacked else max(int(v) for s in series for v in s.values)
    left = _label_column(labels)
    right = min(text_width(str(longest)) + 2 * PAD, WIDTH * 0.3)
    area = WIDTH - left - right - MIN_BAR * len(series)
    scale = area / longest if longest > 0 else 0.0
    row = ROW if stacked else len(series) * (GROUPED_BAR + 2) + 10
    for i, label in enumerate(labels):
        y = top + i * row
        body.append(_text(left - PAD, y + row / 2, _fit(label, left - 2 * PAD), anchor="end", full=label))
        x = left
        for k, one in enumerate(series):
            colour, ink = PALETTE[k % len(PALETTE)]
            value = int(one.values[i])
            width = max(value * scale, MIN_BAR) if value > 0 else 0.0  # a 1 is never drawn as a 0
            tip = f"<title>{escape(f'{label} · {one.name}：{value}')}</title>"
            if stacked:
                bar_y = y + (row - BAR) / 2
                body.append(
                    f'<rect x="{x:.1f}" y="{bar_y:.1f}" width="{width:.1f}" height="{BAR}" fill="{colour}">{tip}</rect>'
                )
                if value and text_width(str(value)) + 4 <= width and len(series) > 1:
                    body.append(_text(x + width / 2, y + row / 2, str(value), anchor="middle", fill=ink))
                x += width
            else:
                bar_y = y + 5 + k * (GROUPED_BAR + 2)
                body.append(
                    f'<rect x="{x:.1f}" y="{bar_y:.1f}" width="{width:.1f}" height="{GROUPED_BAR}" '
                    f'fill="{colour}">{tip}</rect>'
                )
                body.append(_text(x + width + 4, bar_y + GROUPED_BAR / 2, str(value)))
        if stacked:
            body.append(_text(x + 4, y + row / 2, str(totals[i])))
    body.append(
        f'<line x1="{left:.1f}" y1="{top:.1f}" x2="{left:.1f}" y2="{top + len(labels) * row:.1f}" stroke="{INK}"/>'
    )
    return _svg(title, top + len(labels) * row + 2, body)


@dataclass(frozen=True)
class Share:
    """One row of a percentage chart: ``part`` of ``whole`` (e.g. 14 of 15 tickets on time)."""

    label: str
    part: int
    whole: int

    @property
    def percent(self) -> float:
        """The share in percent (0 when there is nothing to count)."""
        return 100 * self.part / self.whole if self.whole else 0.0


def percent_text(part: int, whole: int) -> str:
    """A share written like 93.3%."""
    return f"{100 * part / whole:.1f}%" if whole else "—"


def percents(*, title: str, rows: Sequence[Share]) -> Markup:
    """Horizontal bars on a 0–100 % track, with the percentage and the counts after each bar."""
    if not rows:
        return _empty(title)
    notes = [f"{percent_text(r.part, r.whole)}（{r.part}/{r.whole}）" for r in rows]
    left = _label_column([r.label for r in rows])
    right = min(max(text_width(n) for n in notes) + 2 * PAD, WIDTH * 0.4)
    area = WIDTH - left - right
    body: list[str] = []
    for i, (share, note) in enumerate(zip(rows, notes, strict=True)):
        y = i * ROW
        bar_y = y + (ROW - BAR) / 2
        width = area * min(max(share.percent, 0.0), 100.0) / 100
        tip = f"<title>{escape(f'{share.label}：{note}')}</title>"
        body.append(_text(left - PAD, y + ROW / 2, _fit(share.label, left - 2 * PAD), anchor="end", full=share.label))
        body.append(f'<rect x="{left:.1f}" y="{bar_y:.1f}" width="{area:.1f}" height="{BAR}" fill="{TRACK}"/>')
        fill = PALETTE[0][0]
        body.append(
            f'<rect x="{left:.1f}" y="{bar_y:.1f}" width="{width:.1f}" height="{BAR}" fill="{fill}">{tip}</rect>'
        )
        body.append(_text(left + area + 4, y + ROW / 2, note))
    return _svg(title, len(rows) * ROW + 2, body)
