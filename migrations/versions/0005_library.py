"""The library: watch progress (continue watching), daily views, and indexes for its sorts

Revision ID: 0005_library
Revises: 0003_sign_in_attempts
Create Date: 2026-12-02

"""

import sqlalchemy as sa
from alembic import op

revision = "0005_library"
down_revision = "0003_sign_in_attempts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "daily_views",
        sa.Column("asset_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["media_assets.id"],
            name=op.f("fk_daily_views_asset_id_media_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_daily_views_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("asset_id", "user_id", "day", name=op.f("pk_daily_views")),
    )
    op.create_table(
        "watch_progress",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.String(length=36), nullable=False),
        sa.Column("position_seconds", sa.Float(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["media_assets.id"],
            name=op.f("fk_watch_progress_asset_id_media_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_watch_progress_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "asset_id", name=op.f("pk_watch_progress")),
    )
    with op.batch_alter_table("watch_progress", schema=None) as batch_op:
        batch_op.create_index(
            "ix_watch_progress_user_recent", ["user_id", "finished", "updated_at"], unique=False
        )

    with op.batch_alter_table("media_assets", schema=None) as batch_op:
        batch_op.create_index("ix_media_assets_newest", ["status", "created_at", "id"], unique=False)
        batch_op.create_index("ix_media_assets_title", ["status", "title", "id"], unique=False)
        batch_op.create_index("ix_media_assets_views", ["status", "view_count", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("media_assets", schema=None) as batch_op:
        batch_op.drop_index("ix_media_assets_views")
        batch_op.drop_index("ix_media_assets_title")
        batch_op.drop_index("ix_media_assets_newest")

    with op.batch_alter_table("watch_progress", schema=None) as batch_op:
        batch_op.drop_index("ix_watch_progress_user_recent")

    op.drop_table("watch_progress")
    op.drop_table("daily_views")
