"""The models against the real database: unique emails, enum values, tags, captions, tier order."""

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from portal.extensions import db
from portal.models import (
    Caption,
    MediaAccessLevel,
    MediaAsset,
    MediaAssetStatus,
    MediaTag,
    RecordingStatus,
    Role,
    Tier,
    TrainingSession,
    User,
    WebhookDelivery,
)


def new_user(email, **fields):
    user = User(email=email, **fields)
    user.set_password("a-long-password", method="pbkdf2:sha256:1000")
    return user


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_email_is_stored_trimmed_and_lower_cased(app):
    db.session.add(new_user("  Mixed.Case@Example.ORG "))
    db.session.commit()
    assert db.session.scalar(text("SELECT email FROM users")) == "mixed.case@example.org"


@pytest.mark.parametrize(
    "second", ["ann@example.org", "ANN@example.org", "Ann@Example.Org", " ann@example.org"]
)
def test_email_is_unique_whatever_its_case(app, second):
    db.session.add(new_user("ann@example.org"))
    db.session.commit()
    db.session.add(new_user(second))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert count(User) == 1


def test_by_email_finds_an_account_case_insensitively(app):
    db.session.add(new_user("bo@example.org"))
    db.session.commit()
    assert User.by_email("BO@Example.org").email == "bo@example.org"
    assert User.by_email(" bo@example.org ") is not None
    assert User.by_email("nobody@example.org") is None
    assert User.by_email("") is None
    assert User.by_email(None) is None


def test_passwords_are_stored_as_salted_hashes(app):
    first, second = new_user("a@example.org"), new_user("b@example.org")
    assert first.password_hash != second.password_hash
    assert "a-long-password" not in first.password_hash
    assert first.check_password("a-long-password")
    assert not first.check_password("A-long-password")


def test_new_accounts_default_to_active_free_members(app):
    user = new_user("new@example.org")
    db.session.add(user)
    db.session.commit()
    assert (user.role, user.tier, user.active, user.session_version) == (Role.MEMBER, Tier.FREE, True, 1)
    assert user.get_id() == f"{user.id}:1"
    assert user.created_at is not None and user.last_login_at is None


def test_enums_are_stored_as_their_values(app):
    user = new_user("staff@example.org", role=Role.INSTRUCTOR, tier=Tier.LIFETIME)
    db.session.add(user)
    db.session.flush()
    db.session.add(
        MediaAsset(
            title="Kata",
            created_by=user.id,
            access_level=MediaAccessLevel.TIER_SPECIFIC,
            required_tier=Tier.PREMIUM,
            status=MediaAssetStatus.READY,
        )
    )
    db.session.add(TrainingSession(title="Monday class"))
    db.session.commit()
    assert db.session.execute(text("SELECT role, tier FROM users")).one() == ("instructor", "lifetime")
    assert db.session.execute(
        text("SELECT media_type, storage_provider, status, access_level, required_tier FROM media_assets")
    ).one() == ("video", "cloudflare_stream", "ready", "tier_specific", "premium")
    assert db.session.scalar(text("SELECT recording_status FROM training_sessions")) == "none"


def test_enum_values_read_back_as_enums(app):
    db.session.execute(
        text(
            "INSERT INTO users (email, name, password_hash, role, tier, active, session_version, created_at, updated_at)"
            " VALUES ('raw@example.org', '', 'x', 'admin', 'premium', true, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        )
    )
    db.session.commit()
    user = User.by_email("raw@example.org")
    assert user.role is Role.ADMIN and user.tier is Tier.PREMIUM


@pytest.mark.parametrize("column, value", [("role", "superuser"), ("role", "ADMIN"), ("tier", "gold")])
def test_the_database_refuses_values_outside_an_enum(app, column, value):
    role, tier = ("'member'", "'free'")
    values = {"role": role, "tier": tier, column: f"'{value}'"}
    with pytest.raises(IntegrityError):
        db.session.execute(
            text(
                "INSERT INTO users (email, name, password_hash, role, tier, active, session_version, created_at,"
                f" updated_at) VALUES ('bad@example.org', '', 'x', {values['role']}, {values['tier']}, true, 1,"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    db.session.rollback()
    assert count(User) == 0


def test_the_models_refuse_values_outside_an_enum(app):
    db.session.add(new_user("odd@example.org", role="superuser"))
    with pytest.raises(StatementError):
        db.session.commit()
    db.session.rollback()
    assert count(User) == 0


def test_tags_are_trimmed_lower_cased_deduplicated_and_sorted(app):
    asset = MediaAsset(title="Kihon")
    asset.tags = [" Karate ", "kata", "KARATE", "", "  ", None, "Bo-jutsu"]
    db.session.add(asset)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).tags == ["bo-jutsu", "karate", "kata"]
    assert db.session.scalars(select(MediaTag.tag).order_by(MediaTag.tag)).all() == [
        "bo-jutsu",
        "karate",
        "kata",
    ]


def test_assets_can_be_found_by_tag(app):
    first, second = MediaAsset(title="One"), MediaAsset(title="Two")
    first.tags, second.tags = ["kata", "karate"], ["karate"]
    db.session.add_all([first, second])
    db.session.commit()
    found = db.session.scalars(select(MediaAsset.title).join(MediaTag).where(MediaTag.tag == "kata")).all()
    assert found == ["One"]


def test_replacing_or_deleting_removes_the_old_tag_rows(app):
    asset = MediaAsset(title="Kihon")
    asset.tags = ["a", "b"]
    db.session.add(asset)
    db.session.commit()
    asset.tags = ["c"]
    db.session.commit()
    assert db.session.scalars(select(MediaTag.tag)).all() == ["c"]
    db.session.delete(asset)
    db.session.commit()
    assert count(MediaTag) == 0


def test_one_caption_track_per_asset_and_language(app):
    first, second = MediaAsset(title="One"), MediaAsset(title="Two")
    db.session.add_all([first, second])
    db.session.flush()
    db.session.add_all(
        [
            Caption(asset_id=first.id, language="en", label="English"),
            Caption(asset_id=first.id, language="de", label="Deutsch"),
            Caption(asset_id=second.id, language="en", label="English"),
        ]
    )
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(MediaAsset, first.id).caption_languages == ["de", "en"]
    assert db.session.get(MediaAsset, first.id).captions_available is True
    db.session.add(Caption(asset_id=first.id, language="en", label="English again"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert count(Caption) == 3


def test_an_asset_without_captions_says_so(app):
    asset = MediaAsset(title="Silent")
    db.session.add(asset)
    db.session.commit()
    assert asset.captions_available is False and asset.caption_languages == []


def test_asset_defaults_follow_the_seed(app):
    asset = MediaAsset(title="Fresh")
    db.session.add(asset)
    db.session.commit()
    db.session.expire_all()
    asset = db.session.get(MediaAsset, asset.id)
    assert len(asset.id) == 36
    assert asset.status is MediaAssetStatus.UPLOADING
    assert asset.access_level is MediaAccessLevel.MEMBERS_ONLY
    assert asset.required_tier is None
    assert asset.extra_metadata == {} and asset.view_count == 0 and asset.download_count == 0


def test_a_stream_video_belongs_to_one_asset(app):
    db.session.add_all(
        [MediaAsset(title="A", stream_video_id="uid-1"), MediaAsset(title="B", stream_video_id="uid-1")]
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert count(MediaAsset) == 0


def test_a_webhook_delivery_is_recorded_once(app):
    db.session.add(WebhookDelivery(dedupe_key="k" * 64, body="{}"))
    db.session.commit()
    db.session.add(WebhookDelivery(dedupe_key="k" * 64, body="{}"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert count(WebhookDelivery) == 1


def test_training_session_recording_starts_as_none(app):
    session = TrainingSession(title="Seminar")
    db.session.add(session)
    db.session.commit()
    assert session.recording_status is RecordingStatus.NONE


def test_tier_order_sorts_accounts_by_rank_not_by_name(app):
    for tier in (Tier.PREMIUM, Tier.FREE, Tier.LIFETIME, Tier.BASIC):
        db.session.add(new_user(f"{tier.value}@example.org", tier=tier))
    db.session.commit()
    users = sorted(db.session.scalars(select(User)).all(), key=lambda u: u.tier.rank)
    assert [u.tier.value for u in users] == ["free", "basic", "premium", "lifetime"]
    assert sorted(t.value for t in Tier) != [t.value for t in Tier]  # alphabetical order would be wrong


def test_deleting_an_account_keeps_its_videos_and_forgets_the_owner(app, make_user):
    owner = make_user(role="instructor")
    asset = MediaAsset(title="Kata", created_by=owner.id)
    db.session.add(asset)
    db.session.commit()
    db.session.execute(text("DELETE FROM users WHERE id = :id"), {"id": owner.id})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(MediaAsset, asset.id).created_by is None


def test_a_caption_cannot_point_at_a_missing_asset(app):
    db.session.add(Caption(asset_id="no-such-asset", language="en", label="English"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
