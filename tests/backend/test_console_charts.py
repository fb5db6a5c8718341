"""The SVG charts: well-formed XML, escaped labels, sizes that hold with zeros, nothing, or one huge value."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from backend.console.charts import WIDTH, Series, Share, bars, percent_text, percents

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    root = ET.fromstring(str(markup))
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def widths(root: ET.Element) -> list[float]:
    return [float(r.get("width")) for r in root.iter(f"{SVG}rect")]


def test_a_stacked_chart_names_itself_scales_and_writes_its_numbers():
    root = parse(
        bars(
            title="每周工单数（按事项）",
            labels=["11月9日起", "11月16日起"],
            series=[Series("公家事", [3, 0]), Series("大家事", [5, 2])],
        )
    )
    assert root.get("role") == "img" and root.get("aria-label") == "每周工单数（按事项）"
    assert root.find(f"{SVG}title").text == "每周工单数（按事项）"
    assert root.get("viewBox").startswith(f"0 0 {WIDTH} ")
    drawn = texts(root)
    assert {"公家事", "大家事", "11月9日起", "11月16日起"} <= set(drawn)
    assert "8" in drawn and "2" in drawn  # each week's total beside its bar
    tips = ["".join(t.itertext()) for t in root.iter(f"{SVG}title")]
    assert "11月9日起 · 公家事：3" in tips and "11月16日起 · 公家事：0" in tips
    # the longest bar (8) fills the bar area; the segments are proportional
    segs = [w for w in widths(root) if w not in (10.0,)]  # legend keys are 10 wide
    assert max(segs) <= WIDTH
    assert abs(segs[0] * 5 - segs[1] * 3) < 0.5  # 3 : 5 in the first week


def test_labels_and_titles_are_escaped():
    evil = '<script>alert("x")</script> & 社区'
    markup = str(bars(title=evil, labels=[evil], series=[Series(evil, [1])]))
    assert "<script>" not in markup
    root = parse(markup)
    assert root.get("aria-label") == evil
    assert root.find(f"{SVG}title").text == evil
    root = parse(percents(title=evil, rows=[Share(evil, 1, 2)]))
    assert any(evil in "".join(t.itertext()) for t in root.iter(f"{SVG}title"))


def test_zero_and_empty_series_draw_without_dividing_by_zero():
    root = parse(bars(title="零", labels=["一", "二"], series=[Series("甲", [0, 0])]))
    assert all(w == 0.0 for w in widths(root))
    assert texts(root).count("0") == 2
    for empty in (
        bars(title="空", labels=[], series=[]),
        bars(title="空", labels=["一"], series=[]),
        percents(title="空", rows=[]),
    ):
        assert "暂无数据" in texts(parse(empty))
    root = parse(percents(title="无", rows=[Share("未评价", 0, 0)]))
    assert "—（0/0）" in texts(root)


def test_one_huge_value_stays_inside_the_picture():
    root = parse(bars(title="大", labels=["一", "二"], series=[Series("甲", [10**12, 1])], stacked=False))
    assert str(10**12) in texts(root)
    rects = list(root.iter(f"{SVG}rect"))
    assert all(float(r.get("x")) + float(r.get("width")) <= WIDTH for r in rects)
    assert float(rects[1].get("width")) == 1.0  # the small one is still drawn, just thin


def test_a_percentage_chart_draws_the_share_of_the_track():
    root = parse(percents(title="按时办结率", rows=[Share("小事急事", 1, 3), Share("一般诉求", 2, 2)]))
    assert "33.3%（1/3）" in texts(root) and "100.0%（2/2）" in texts(root)
    track, filled = widths(root)[0], widths(root)[1]
    assert abs(filled - track / 3) < 0.2
    assert widths(root)[3] == track  # 100 % fills the track
    assert percent_text(2, 3) == "66.7%" and percent_text(0, 0) == "—"


def test_a_long_label_is_cut_with_its_full_text_kept_in_the_tooltip():
    long = "政策咨询与政务服务" * 4
    root = parse(bars(title="长", labels=[long], series=[Series("甲", [1])]))
    label = next(t for t in root.iter(f"{SVG}text") if "…" in "".join(t.itertext()))
    assert label.find(f"{SVG}title").text == long
