"""media_assets.stream_modified: Stream's `modified` for the state last applied

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("media_assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stream_modified", sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table("media_assets", schema=None) as batch_op:
        batch_op.drop_column("stream_modified")
