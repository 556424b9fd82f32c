"""Handover of the office's data (数据移交): export everything to a verifiable folder, restore it elsewhere."""
