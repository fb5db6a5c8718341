"""What one simulated resident says, and what they expect back, on any entry point (:mod:`bench.channels`).

The conversation is the one the stack exists for: a problem reported in
the resident's words, the report form (contact, place if it was not
understood, the summary confirmed), the ticket number in the answer, then
"查询 <number>" and "我有多少积分". The resident reads each answer and
answers what was asked, as a person would, so a form that asks in a
different order still completes; an answer that is not the step it should
be is counted as unexpected, and the conversation starts over.
"""

from __future__ import annotations

import asyncio
import random
import re
import time

from bench.channels import Answer, Channel
from bench.figures import Sample, Samples

NUMBER = re.compile(r"GZ\d{8}-\d{4}")

# Reports as residents type them, each with the place to give if the form asks for it.
REPORTS = [
    ("建设路上的井盖松了，一踩就晃", "建设路"),
    ("锦秀花园5栋的电梯又坏了，我家老人下不了楼，急死了", "锦绣花园5号楼"),
    ("学府街东头的路灯有三盏不亮了，晚上黑乎乎的", "学府街"),
    ("碧湖丽苑2幢楼道里堆满了纸箱和旧家具，着火了都跑不出去", "碧湖丽苑2幢"),
    ("和园新村4号楼的楼道灯坏了，晚上上楼看不见", "和园新村4号楼"),
    ("和园新村5号楼门口的垃圾桶满了好几天没人清", "和园新村5号楼"),
    ("望江新村9号楼单元门坏了，关不上", "望江新村9号楼"),
    ("望江路上的井盖没了", "望江路"),
]


async def _step(channel: Channel, samples: Samples, step: str, text: str, wanted: tuple[str, ...]) -> Answer | None:
    """Say ``text`` (step ``step``); the answer if it is one of ``wanted`` (any when empty), else None."""
    answer = await channel.say(text, wanted)
    fits = not answer.empty and (not wanted or any(w in answer.text or w in answer.buttons for w in wanted))
    why = f" ({answer.why})" if answer.why else ""
    said = "" if fits else f"{channel.entry}: {text!r} → {answer.text[:80]!r}{why}"
    samples.add(Sample(channel.entry, time.monotonic(), answer.latency_ms, answer.empty, not fits, said, step))
    return answer if fits else None


async def report_conversation(channel: Channel, samples: Samples, rng: random.Random, think: float = 0.0) -> bool:
    """Report a problem to a filed ticket, ask its status and the points; whether it got to the end."""

    async def pause() -> None:
        if think:
            await asyncio.sleep(rng.uniform(0.75 * think, 1.25 * think))

    text, place = rng.choice(REPORTS)
    offer = await _step(channel, samples, "report", text, ("登记工单",))
    if offer is None:
        return False
    await pause()
    asks = ("手机号", "在哪", "请核对", "反映过", "急不急")
    answer = await _step(channel, samples, "form", offer.buttons["登记工单"], asks)
    for _ in range(6):  # answer what the form asks, whatever its order
        if answer is None:
            return False
        if "请核对" in answer.text:
            break
        await pause()
        if "反映过" in answer.text:  # someone reported it already: this resident's case is different
            reply = "/deny"
        elif "急不急" in answer.text:
            reply = "一般"
        elif "手机号" in answer.text:
            reply = "不留"
        else:
            reply = place
        answer = await _step(channel, samples, "slot", reply, asks)
    else:
        return False
    await pause()
    filed = await _step(channel, samples, "confirm", "/affirm", ("已登记",))
    number = NUMBER.search(filed.text) if filed else None
    if number is None:
        return False
    await pause()
    if await _step(channel, samples, "status", f"查询 {number.group(0)}", (number.group(0),)) is None:
        return False
    await pause()
    if await _step(channel, samples, "points", "我有多少积分", ("积分",)) is None:
        return False
    samples.conversations += 1
    return True


BARE_SCRIPT = ("/report_start", "不留", "/affirm", "查询 GZ20261203-0001", "我有多少积分")
BARE_STEPS = ("report", "form", "slot", "confirm", "status", "points")


async def bare_conversation(channel: Channel, samples: Samples, rng: random.Random, think: float = 0.0) -> bool:
    """The same messages to a bare Rasa server; without actions its answers are not checked, only timed."""
    text, _ = rng.choice(REPORTS)
    for step, message in zip(BARE_STEPS, (text, *BARE_SCRIPT), strict=True):
        answer = await channel.say(message)
        samples.add(Sample(channel.entry, time.monotonic(), answer.latency_ms, empty=answer.empty, step=step))
        if think:
            await asyncio.sleep(rng.uniform(0.75 * think, 1.25 * think))
    samples.conversations += 1
    return True
