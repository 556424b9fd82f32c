"""Reference data (参考数据): typed settings, time-limit rules, CSV import/export, seeding and rescheduling."""
