"""Accounts and security (账号与安全): users, roles, passwords, TOTP, sessions, the personal-data cipher."""
