"""Media management: caption status, Stream sync and deletion flags, thumbnail time, the change record

Revision ID: 0007_media_management
Revises: 0006_notifications
Create Date: 2026-12-02

"""

import sqlalchemy as sa
from alembic import op

revision = "0007_media_management"
down_revision = "0006_notifications"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("media_assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("thumbnail_timestamp_pct", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("stream_sync_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("deletion_requested_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("captions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("generated", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=False, server_default="ready"))
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "media_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.String(length=36), nullable=False),
        sa.Column("asset_title", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_media_changes_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_changes")),
    )
    with op.batch_alter_table("media_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_changes_asset_id"), ["asset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_changes_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_changes_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("media_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_changes_user_id"))
        batch_op.drop_index(batch_op.f("ix_media_changes_created_at"))
        batch_op.drop_index(batch_op.f("ix_media_changes_asset_id"))
    op.drop_table("media_changes")
    with op.batch_alter_table("training_sessions", schema=None) as batch_op:
        batch_op.drop_column("description")
    with op.batch_alter_table("captions", schema=None) as batch_op:
        batch_op.drop_column("status")
        batch_op.drop_column("generated")
    with op.batch_alter_table("media_assets", schema=None) as batch_op:
        batch_op.drop_column("deletion_requested_at")
        batch_op.drop_column("stream_sync_pending")
        batch_op.drop_column("thumbnail_timestamp_pct")
