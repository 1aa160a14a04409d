"""Code lists of the datacube API (spec section 4), the one place their labels live.

Unknown codes do occur in real data: they are kept everywhere and flagged, never dropped.
The dbt code-label seeds are generated from these lists
(``python -m wx_pipeline.marts.generate --write``) and a test keeps them in step.
"""

from __future__ import annotations

from typing import Final

#: ``user_source`` value of the row that sums all read sources (getuserread, getuserreadhour).
ALL_SOURCES: Final = 99999999

#: ``user_source`` of follower gains (getusersummary); the older codes still appear in history.
FOLLOWER_SOURCE: Final[dict[int, str]] = {
    0: "other (sum of the rest)",
    1: "account search",
    17: "profile-card share",
    30: "QR code scan",
    57: "account name inside an article",
    100: "WeChat ads",
    149: "mini-program",
    161: "reposted by others",
    200: "Channels",
    201: "live stream",
    35: "search by ID (old)",
    39: "account search (old)",
    43: "article top-right menu (old)",
    51: "after payment (old)",
    75: "article ad (old)",
    78: "Moments ad (old)",
}

#: ``user_source`` of reads (getuserread, getuserreadhour).
READ_SOURCE: Final[dict[int, str]] = {
    ALL_SOURCES: "all",
    0: "conversation",
    1: "chat/friends",
    2: "Moments",
    3: "Tencent Weibo (old)",
    4: "history message page",
    5: "other",
    6: "Top Stories",
    7: "Search",
}

#: ``share_scene`` (getusershare, getusersharehour). WeChat's own example answer has shown 5 since
#: 2015 while its code table stops at 3 and 255: listed, its meaning undocumented.
SHARE_SCENE: Final[dict[int, str]] = {
    1: "to a chat",
    2: "to Moments",
    3: "Tencent Weibo (old)",
    5: "undocumented (in WeChat's own examples)",
    255: "other",
}

#: ``msg_type`` of messages users send (getupstreammsg*).
MSG_TYPE: Final[dict[int, str]] = {
    1: "text",
    2: "image",
    3: "voice",
    4: "video",
    6: "third-party app link",
}

#: ``count_interval`` of the message distribution endpoints (getupstreammsgdist*).
COUNT_INTERVAL: Final[dict[int, str]] = {
    0: "0 messages",
    1: "1-5 messages",
    2: "6-10 messages",
    3: "more than 10 messages",
}

#: ``scene_desc`` of the 2025 article endpoints: Chinese text as sent, English label.
SCENE_DESC: Final[dict[str, str]] = {
    "全部": "all",
    "公众号消息": "account message",
    "聊天会话": "chat",
    "朋友圈": "Moments",
    "公众号主页": "account home page",
    "其他": "other",
    "推荐": "recommended",
    "搜一搜": "Search",
}

#: ``scene_desc`` of the row that sums all sources in the 2025 endpoints.
ALL_SCENES: Final = "全部"

#: ``publish_type`` of getarticletotaldetail.
PUBLISH_TYPE: Final[dict[int, str]] = {0: "notified", 1: "notification off"}


def describe_codes(codes: dict[int, str] | dict[str, str]) -> str:
    """Render a code list for a column description, e.g. ``1 text, 2 image``."""
    return ", ".join(f"{code} {label}" for code, label in codes.items())
