"""Every Chinese sentence the backend itself shows a resident, in one place.

The assistant's conversational answers live in the Rasa domain (``domain/``);
this module holds the few the backend and the channels say on their own,
mostly when something is wrong, so they stay consistent and easy to reword.
"""

from __future__ import annotations

EMPTY_MESSAGE = "您还没有输入内容哦，请说说您遇到的问题。"
TOO_LONG = "消息太长了（{length}字），请控制在{limit}字以内，可以分几条发送。"
BUSY = "系统繁忙，您的消息已经保存，我们会自动重试，请稍候，不用重复发送。"
QUEUED = "您的消息已收到，正在排队处理，请稍候。"
TOO_FAST_CHAT = "您发得太快了，请等 {seconds} 秒再发。刚才那条没有发出，内容还在输入框里。"
TOO_MANY_VISITORS = "您所在的网络刚刚有很多新访客，请等 {seconds} 秒再发。刚才那条没有发出，内容还在输入框里。"
PHOTO_NOT_FOUND = "没有找到这张照片。"
TICKET_NOT_FOUND = "没有找到您名下的这张工单。请核对工单号（形如 GZ20261121-0007）。"
FORBIDDEN = "请求无效，请刷新页面后再试。"
STORE_DOWN = "系统暂时无法保存消息（数据库维护中），这条没有发出，内容还在输入框里，请过一会儿再发。"
OFFLINE = "网络不通，消息没有发出去，请检查网络后再发送一次。"
NOT_SENT = "消息没有发出去，请检查后再试。"
# After a reload, a button pressed in an answer older than the restored history (its title is no longer known).
BUTTON_PRESSED = "（点了一个按钮）"
WELCOME = "您好！我是三事通社区助手。您可以直接告诉我遇到的问题，比如“3号楼电梯又坏了”，我帮您找到负责的人。"
ASK_PLACE_SCOPE = "是在您家里、楼道小区里，还是外面马路上？"
ASK_DESCRIBE = "能用一两句话说说遇到了什么问题、在哪里吗？"
# The classifier is unsure between two categories: it asks with both as buttons (their names from the category table).
ASK_WHICH_CATEGORY = "您说的是【{first}】还是【{second}】？"
TRIAGE_UNAVAILABLE = "分类服务暂时不可用（Rasa 服务器没有响应），请稍后再试。"
INVALID_REQUEST = "请求的格式不对，请检查后再试。"
BODY_TOO_LARGE = "发送的内容太大了（最多 {limit}），请删减后再发。/ The request body is too large (at most {limit})."
PHOTO_BODY_TOO_LARGE = "照片太大了（最多 {limit}），请压缩后再发。/ The photo is too large (at most {limit})."
NOT_FOUND = "没有找到这个地址，请检查链接。"
METHOD_NOT_ALLOWED = "这个地址不支持这种请求方式。"
TRIAGE_BAD_LINE = '每行应是 {"text": "..."} 形式的 JSON'
# A ticket timeline entry that changes no status is named by what kind of entry it is (the console says 进展 too).
TIMELINE_KIND_NAMES = {"progress": "进展", "needs_dispatch": "待派单", "followed": "关注", "place_added": "补充地点"}
# The first line of an emergency answer, by kind of emergency (the numbers come from config/emergency.yml).
EMERGENCY_CALL_NOW = {
    "fire": "\n👉 您说的情况请先拨 {number}（火警，电梯困人也打这个）。",
    "police": "\n👉 您说的情况请先拨 {number} 报警。",
    "ambulance": "\n👉 您说的情况请先拨 {number} 叫救护车，看护好病人，不要随意搬动。",
    "gas": "\n👉 请先到室外，再拨燃气抢修电话 {number}；有明火或有人不舒服，拨 {fire} / {ambulance}。",
}
# A ticket dispatched to a grid member: the notice in the member's own chat (with a 接单 button).
MEMBER_DISPATCH_NOTICE = (
    "{urgent}新派给您的工单 {number}（{category}）\n地点：{place}\n情况：{summary}\n处理时限：{deadline} 前\n"
    "点“接单”开始处理；发“查询 {number}”看详情，发“我的待办”看全部。"
)
MEMBER_DISPATCH_URGENT = "【紧急】"
