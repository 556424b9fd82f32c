"""Reference data people change (参考数据): calendar, SLA rules, departments, 派单目录, duty roster, settings.

The tables live here; loading, checking and applying them is the handlers' work (`handlers/reference/`).
"""
