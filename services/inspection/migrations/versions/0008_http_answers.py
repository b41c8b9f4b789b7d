"""The answers to requests sent with an Idempotency-Key, answered again to the same request resent (its answer lost
on the way) instead of 409 (jsp_common.answers).

Revision ID: 0008
Revises: 0007
"""
from jsp_common.migrations import http_answers_revision

revision, down_revision, branch_labels, depends_on = "0008", "0007", None, None
upgrade, downgrade = http_answers_revision()
