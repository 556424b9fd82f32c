"""The audit trail (审计日志): record in the caller's transaction, seal into a hash chain, verify, archive, anchor."""
