"""Words of the demo's past (演示历史): requesters, what they asked and what the units answered, by category.

Plain data and small pure functions drawing from a seeded `random.Random`, so the same seed writes the same past.
Every name and phone number is made up (the 170 numbers are drawn from a virtual-operator block).
"""

from __future__ import annotations

import random

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高郑叶谢蔡潘"
GIVEN = ("小燕", "建国", "丽华", "海波", "秀英", "志强", "晓东", "美玲", "国平", "伟", "敏", "静", "磊", "洁",
         "春花", "海燕", "文军", "慧", "鹏", "雪梅", "立新", "玉兰", "振华", "晨")
# A place or two in each 街道/镇/乡 of 洞头区 (reference/departments.csv), for the text of a request.
PLACES = {"beiao": ("北岙街道海霞路", "北岙街道新城二期"), "dongping": ("东屏街道东岙村", "东屏街道环岛西路"),
          "yuanjue": ("元觉街道状元村", "元觉街道沙岙"), "niyu": ("霓屿街道下社村", "霓屿街道正岙"),
          "lingkun": ("灵昆街道灵昆大道", "灵昆街道北段村"), "kunpeng": ("昆鹏街道浙南产业区", "昆鹏街道永昌路"),
          "damen": ("大门镇观音礁", "大门镇大门港"), "luxi": ("鹿西乡东臼村", "鹿西乡口筐")}
# How often each category of the 派单目录 comes in (the others weigh 1): 城建 and 民生 lead, as in the office's year.
CATEGORY_WEIGHTS = {"城市管理": 12, "市政设施": 10, "噪音扰民": 9, "环境卫生": 8, "住房物业": 8, "交通出行": 6,
                    "劳动保障": 6, "市场监管": 6, "交通秩序": 5, "供水": 4, "供电": 3, "医疗保障": 3, "教育": 3,
                    "社会救助": 3, "生态环境": 3, "公安服务": 2, "燃气": 2, "医疗卫生": 2, "文化旅游": 2}
ASKS = {
    "城市管理": ("{place}店铺长期占道经营，行人只能走机动车道", "{place}有人违章搭建彩钢棚",
             "{place}户外广告牌松动有坠落危险"),
    "市政设施": ("{place}路灯连续多晚不亮", "{place}人行道窨井盖破损", "{place}雨后路面积水排不出去"),
    "噪音扰民": ("{place}工地夜间十点后仍在施工", "{place}楼下烧烤店深夜音响声音很大", "{place}广场舞音响过响影响休息"),
    "环境卫生": ("{place}垃圾桶满溢多日无人清运", "{place}公厕脏乱无人保洁", "{place}路边建筑垃圾乱堆"),
    "住房物业": ("{place}小区电梯经常故障，物业不处理", "{place}物业擅自提高停车费", "{place}楼道消防门损坏"),
    "交通出行": ("{place}公交车班次太少，早上等车超过半小时", "{place}轮渡停航未提前通知", "{place}出租车拒载"),
    "劳动保障": ("在{place}工地务工，工资被拖欠三个月", "咨询灵活就业人员社保缴费标准", "公司未签劳动合同，如何维权"),
    "市场监管": ("{place}超市出售过期食品", "{place}海鲜排档缺斤短两", "网购商品质量问题商家拒绝退货"),
    "交通秩序": ("{place}路口车辆乱停堵塞消防通道", "{place}红绿灯时间太短行人来不及通过", "{place}电瓶车逆行严重"),
    "供水": ("{place}停水一天没有通知", "{place}自来水发黄有异味", "{place}水压太低楼上用不上水"),
    "供电": ("{place}频繁停电影响经营", "{place}电线杆倾斜有安全隐患", "{place}电压不稳电器损坏"),
}
ASK_ANY = ("{place}的问题反映多次未解决，希望有关部门处理", "咨询{category}方面的政策和办理流程",
           "{place}附近存在{category}问题，请求核实处理")
REPLIES = ("经现场核查，情况属实，已责令当事人整改，现已整改到位。", "已安排人员到场处理，问题已解决，诉求人表示认可。",
           "经核实，已联系相关单位落实维修，预计三个工作日内完成，已告知诉求人。",
           "已向诉求人解释相关政策及办理流程，诉求人表示理解。", "已纳入近期整治计划，并加强日常巡查，防止问题反复。")
CONTACTS = ("电话联系诉求人，告知处理情况", "上门走访诉求人，当面说明处理结果", "短信及电话告知诉求人办理结果")
DIRECT = ("已告知诉求人办理地点、所需材料和办公时间。", "已按政策口径解答，诉求人表示清楚。",
          "已提供相关部门咨询电话，并说明办理流程。")
CALLBACK_NOTES = {"satisfied": "诉求人对处理结果满意", "basically_satisfied": "诉求人表示基本满意，希望持续关注",
                  "unsatisfied": "诉求人认为问题未彻底解决", "unreachable": "三次拨打均未接通"}


def person(rng: random.Random) -> tuple[str, str]:
    """Return a made-up requester's name and mobile number."""
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    return name, f"170{rng.randrange(10**8):08d}"


def ask(rng: random.Random, category: str, township: str) -> str:
    """Return what a requester asked about, in the words of a case's content (诉求内容)."""
    place = rng.choice(PLACES.get(township, ("洞头区",)))
    return rng.choice(ASKS.get(category, ASK_ANY)).format(place=place, category=category)


def category_weights(categories: list[str]) -> dict[str, int]:
    """Return the draw weight of each category of the catalogue."""
    return {c: CATEGORY_WEIGHTS.get(c, 1) for c in categories}
