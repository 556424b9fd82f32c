"""The database layer (数据库): engines and sessions, the shared declarative `Base`, schema and migrations."""
