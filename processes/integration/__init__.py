"""Integration accounts (接口账户): API keys that other systems call the open interfaces with.

No Flask here: the command line (`hotline api-key`), the administrator's page and the API's authentication in
webapp/api/auth.py call these functions.
"""
