"""Screens that decide on a unit's reply (答复): 审核, 巡查后审核, 回访, 挂网审核, and the reply form itself when
it comes back (发回修改, 重办, after 延期审批 or a refused 退单)."""

from __future__ import annotations

from flask_babel import gettext

from processes.runtime.models import HumanTask
from webapp import labels
from webapp.tasks.decision.model import Block
from webapp.tasks.decision.model import Decision
from webapp.tasks.decision.model import Line
from webapp.tasks.decision.model import screen
from webapp.tasks.decision.sources import Sources
from webapp.tasks.decision.sources import shown_time

# What a reply shows, in this order (内部办件 and 直接答复 record the office's own answer).
REPLY_FIELDS = ("reply_text", "handling_note", "direct_answer", "public_reply", "contact_record", "not_solved_reason")
# Free text a unit may take up again when its reply is sent back (答复不规范，发回修改).
REVISABLE = ("reply_text", "public_reply", "contact_record", "not_solved_reason")
INSPECTIONS = ("review_inspection", "site_inspection")


def text_label(name: str) -> str:
    """Return the label of a free-text field as the case page names it."""
    return str(gettext(labels.TEXTS.get(name, name)))


def latest_replies(src: Sources) -> list[tuple[HumanTask, dict[str, str]]]:
    """Return each unit's latest reply (the one under review), the lead unit first, with its free text."""
    tasks = src.done("reply")
    texts = src.texts(tasks)
    latest: dict[str, tuple[HumanTask, dict[str, str]]] = {}
    for task in tasks:
        written = {name: row.value for name, row in texts[task.id].items()}
        if str(task.department) not in latest and ("reply_text" in written or "public_reply" in written):
            latest[str(task.department)] = (task, written)
    case = src.case
    order = [case.lead_department, *(case.assisting_departments or [])] if case is not None else []
    return sorted(latest.values(), key=lambda item: order.index(item[0].department)
                  if item[0].department in order else len(order))


def reply_block(src: Sources, task: HumanTask, written: dict[str, str], heading: str = "") -> Block:
    """Show one unit's reply: who, when, its texts (as this user may read them), whether solved, its files."""
    unit = src.unit(task.department)
    case = src.case
    badges = []
    if case is not None and task.department == case.lead_department:
        badges.append(gettext("主办"))
    elif case is not None and task.department in (case.assisting_departments or []):
        badges.append(gettext("协办"))
    lines = [Line(text_label(name), src.shown(written[name]), long=True) for name in REPLY_FIELDS if name in written]
    solved = next((r.get("solved") for r in src.data.get("unit_results") or () if isinstance(r, dict)
                   and r.get("unit") == task.department), None)
    if isinstance(solved, bool):
        lines.insert(0, Line(gettext("是否已解决"), src.choice("reply.schema.json", "solved", solved)))
    return Block(heading or gettext("%(unit)s的答复", unit=unit), src.byline(task.completed_by,
                 task.completed_at), badges, lines, src.files(task.id))


@screen("review.schema.json", "review_final.schema.json", "callback.schema.json")
def under_review(src: Sources) -> Decision | None:
    """审核 / 巡查后审核 / 回访: the replies being decided on, and for 巡查后审核 what the inspector found."""
    replies = [reply_block(src, task, written) for task, written in latest_replies(src)]
    form = str(src.task.form).rsplit("/", 1)[-1]
    titles = {"review_final.schema.json": gettext("巡查结果和待审核的答复"),
              "callback.schema.json": gettext("需回访核实的答复")}
    decision = Decision(titles.get(form) or gettext("待审核的答复"), replies)
    if form == "review_final.schema.json":
        decision.blocks[:0] = inspection_blocks(src)
    if not replies:
        decision.note = gettext("没有找到承办单位的答复。")
    return decision


def inspection_blocks(src: Sources) -> list[Block]:
    """Return the latest on-site inspection (现场巡查): findings, whether the problem is confirmed, photos."""
    found = src.done(*INSPECTIONS, before_me=True)[:1]
    blocks = []
    for task in found:
        texts = src.texts([task])[task.id]
        lines = []
        confirmed = src.data.get("problem_confirmed")
        if isinstance(confirmed, bool):
            lines.append(Line(gettext("问题是否属实"),
                              src.choice("inspection.schema.json", "problem_confirmed", confirmed)))
        if "inspection_findings" in texts:
            lines.append(Line(text_label("inspection_findings"), src.shown(texts["inspection_findings"].value),
                              long=True))
        blocks.append(Block(gettext("现场巡查"), src.byline(task.completed_by, task.completed_at), [], lines,
                            src.files(task.id)))
    return blocks


@screen("reply.schema.json")
def reply_again(src: Sources) -> Decision | None:
    """办理答复 when it comes back: the reviewer's note, the citizen's complaint, the extension or return decision."""
    entry = src.data.get("unit_entry")
    if entry == "revise":
        return _revise(src)
    if entry == "rehandle":
        return _rehandle(src)
    if entry == "handle":
        return _after_extension(src)
    if entry == "sign" and src.data.get("return_decision") == "reject_return":
        return _return_refused(src)
    return None


def _own_last_reply(src: Sources) -> tuple[HumanTask, dict[str, str]] | None:
    """Return this unit's latest reply (the one sent back or re-handled)."""
    return next(((t, w) for t, w in latest_replies(src) if t.department == src.task.department), None)


def _revise(src: Sources) -> Decision:
    """答复不规范，发回修改: the reviewer's note, and the unit's last reply as the form's starting text."""
    decision = Decision(gettext("审核发回：请按审核意见修改答复"))
    review = src.done("review", "review_final", before_me=True)[:1]
    for task in review:
        note = src.texts([task])[task.id].get("review_note")
        decision.blocks.append(Block(task.name, src.byline(task.completed_by, task.completed_at), lines=[
            Line(src.label("review.schema.json", "review_note"), src.shown(note.value if note else "")
                 or gettext("（未填写）"), long=True)]))
    last = _own_last_reply(src)
    if last is not None:
        task, written = last
        decision.blocks.append(reply_block(src, task, written, gettext("本单位上次答复")))
        # only text this user reads unmasked goes back into the form: a masked number would be saved as typed
        taken = {name: written[name] for name in REVISABLE if name in written and src.privacy.unchanged(written[name])}
        decision.prefill.update(taken)
        if taken and len(taken) < len([n for n in REVISABLE if n in written]):
            decision.note = gettext("已填入本单位上次答复中可直接修改的内容；含电话号码或身份证号的内容未填入，"
                                    "认领任务后可看到完整内容。")
        elif taken:
            decision.note = gettext("已填入本单位上次的答复，请按审核意见修改后提交。")
    return decision


def _rehandle(src: Sources) -> Decision:
    """回访不满意，发回重办: the callback's result and the citizen's complaint, then the unit's last reply."""
    decision = Decision(gettext("回访不满意：发回重办"))
    callback = src.done("callback", before_me=True)[:1]
    result = src.data.get("callback_result") or ((src.case.flags or {}).get("callback_result") if src.case else None)
    for task in callback:
        note = src.texts([task])[task.id].get("callback_note")
        lines = [Line(gettext("回访结果"), src.choice("callback.schema.json", "callback_result", result))]
        reason = src.data.get("unsatisfied_reason")
        if reason:
            lines.append(Line(gettext("不满意原因"),
                              src.choice("callback.schema.json", "unsatisfied_reason", reason)))
        lines.append(Line(text_label("callback_note"), src.shown(note.value if note else "")
                          or gettext("（未填写）"), long=True))
        decision.blocks.append(Block(gettext("诉求人的意见（回访）"),
                                     src.byline(task.completed_by, task.completed_at), lines=lines))
    last = _own_last_reply(src)
    if last is not None:
        decision.blocks.append(reply_block(src, *last, gettext("本单位上次答复")))
    return decision


def _after_extension(src: Sources) -> Decision | None:
    """After 延期审批: whether the extension was granted, for how long, the deadline now, the leader's note."""
    approval = src.done("extension_approval", before_me=True)[:1]
    if not approval:
        return None
    task = approval[0]
    granted = src.data.get("extension_approved") is True
    lines = []
    if granted and isinstance(src.data.get("approved_days"), int):
        lines.append(Line(gettext("批准延期"), gettext("%(days)s 个工作日", days=src.data["approved_days"])))
    due = (src.data.get("handle_deadline") or {}).get("due")
    if isinstance(due, str):
        lines.append(Line(gettext("办理时限"), shown_time(due)))
    note = src.texts([task])[task.id].get("review_note")
    if note is not None:
        lines.append(Line(src.label("extension_approval.schema.json", "review_note"), src.shown(note.value),
                          long=True))
    heading = gettext("延期申请已批准") if granted else gettext("延期申请未获批准")
    return Decision(heading, [Block(task.name, src.byline(task.completed_by, task.completed_at), lines=lines)])


def _return_refused(src: Sources) -> Decision | None:
    """A return (退单) the dispatcher refused: the unit keeps the case; the dispatcher's note says why."""
    review = src.done("return_review", before_me=True)[:1]
    if not review:
        return None
    task = review[0]
    note = src.texts([task])[task.id].get("review_note")
    return Decision(gettext("退单未获同意，请继续办理"), [Block(
        task.name, src.byline(task.completed_by, task.completed_at),
        lines=[Line(src.label("return_review.schema.json", "review_note"),
                    src.shown(note.value if note else "") or gettext("（未填写）"), long=True)])])


@screen("publish.schema.json")
def publish(src: Sources) -> Decision | None:
    """挂网审核: the reply that passed review, its public text prefilled with personal data taken out."""
    chosen = next(((t, w) for t, w in latest_replies(src) if w.get("public_reply")), None)
    if chosen is None:
        chosen = _other_answer(src)
    decision = Decision(gettext("待挂网的答复"))
    if chosen is None:
        decision.note = gettext("没有找到可公开的答复，请填写公开答复内容。")
        return decision
    task, written = chosen
    block = reply_block(src, task, written, gettext("%(unit)s的答复（已通过审核）", unit=src.unit(task.department))
                        if task.department else gettext("中心的答复"))
    result = (src.case.flags or {}).get("callback_result") if src.case is not None else None
    if result:
        block.lines.insert(0, Line(gettext("回访结果"),
                                   src.choice("callback.schema.json", "callback_result", result)))
    decision.blocks.append(block)
    public = written.get("public_reply") or written.get("direct_answer") or ""
    if public:
        decision.prefill["public_reply"] = src.privacy.public(public)
        decision.note = gettext("公开答复内容已按通过审核的答复预填：电话号码、身份证号已隐去，诉求人姓名已遮盖，"
                                "请核对后再决定是否挂网。")
    return decision


def _other_answer(src: Sources) -> tuple[HumanTask, dict[str, str]] | None:
    """Return the office's own answer when no unit replied: 内部办件 or 直接答复."""
    for task in src.done("internal_handle", "direct_answer"):
        written = {name: row.value for name, row in src.texts([task])[task.id].items()}
        if written.get("public_reply") or written.get("direct_answer"):
            return task, written
    return None
