"""The intake channels (登记渠道): which process each screen starts and what the screen offers."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.messages import N_


@dataclass(frozen=True)
class Channel:
    """One intake screen: its URL part and endpoint, the process it starts and the channel code of the case."""

    slug: str
    process_key: str
    channel: str
    title: str  # Chinese source text, translated in templates
    hint: str
    lookup: bool = True  # earlier cases of the caller's phone while typing
    direct_answer: bool = False  # 直接答复 at once (consultations)
    paste: bool = False  # paste an upstream order (民呼我为) and parse it
    own_township: bool = False  # the township is the reporter's own, not a choice


CHANNELS: dict[str, Channel] = {c.slug: c for c in (
    Channel("phone", "case_phone", "phone", N_("来电登记"), N_("话务员登记来电诉求；咨询类可当场直接答复。"),
            direct_answer=True),
    Channel("visit", "case_visit", "visit", N_("现场接访"), N_("登记来访群众当面反映的诉求。"), direct_answer=True),
    Channel("platform", "case_platform", "platform", N_("受理件转录"),
            N_("录入民呼我为平台交办的工单：可粘贴平台上的工单内容自动识别。"), paste=True),
    Channel("township", "case_township", "township", N_("民情难题上报"),
            N_("乡镇（街道）上报需区级协调解决的民情难题。"), lookup=False, own_township=True),
    Channel("police110", "case_110", "police110", N_("110 非警务警情接收"),
            N_("接收 110 移交的非警务警情，须在时限内受理或退回。")),
)}
