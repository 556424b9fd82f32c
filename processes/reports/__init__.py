"""Reports and exports (报表与导出): background case-list exports, the weekly and monthly reports, 部门考评.

No Flask here: the web pages (webapp/reports/, webapp/search/) and the scheduler call these functions.
"""
