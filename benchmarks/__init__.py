"""Runnable speed comparisons; see README.md in this folder."""
