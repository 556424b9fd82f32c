"""Casework data (工单数据): cases and their personal data split, who may see what, drafts, attachments, forms."""
