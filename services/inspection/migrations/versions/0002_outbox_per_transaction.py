"""Outbox: one row per transaction instead of one per event (unsent events carried over in order).

Revision ID: 0002
Revises: 0001
"""
from jsp_common.migrations import outbox_per_transaction_revision

revision, down_revision, branch_labels, depends_on = "0002", "0001", None, None
upgrade, downgrade = outbox_per_transaction_revision()
