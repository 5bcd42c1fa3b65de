"""Loading the signed-in user (portal/auth/users.py): read afresh on every request, a User built
only from the row just read, and one already in the request's session returned as it is."""

from sqlalchemy import update

from portal.auth import users
from portal.auth.users import user_by_id
from portal.extensions import db
from portal.models import Role, Tier, User


def fresh_request():
    """Forget the test's session, as a new request starts with a new one."""
    db.session.remove()


def test_an_unknown_id_is_none(app):
    assert user_by_id(2_000_000) is None


def test_the_same_row_is_attached_again_without_building_a_new_user(app, make_user):
    user_id = make_user(role=Role.INSTRUCTOR).id
    fresh_request()
    first = user_by_id(user_id)
    kept = users._built[user_id][1]
    fresh_request()
    second = user_by_id(user_id)
    assert users._built[user_id][1] is kept  # built once
    assert second is not kept and second in db.session  # each request gets its own attached copy
    assert first is not second
    assert (second.id, second.role, second.active) == (user_id, Role.INSTRUCTOR, True)


def test_any_change_to_the_row_counts_at_once_even_one_made_outside_the_orm(app, make_user):
    user_id = make_user(role=Role.INSTRUCTOR, tier=Tier.PREMIUM).id
    fresh_request()
    assert user_by_id(user_id).role == Role.INSTRUCTOR
    # A plain SQL update that leaves updated_at alone: the row itself is compared, not a timestamp.
    changes = {"role": Role.MEMBER, "tier": Tier.FREE, "active": False, "session_version": 7}
    with db.engine.begin() as connection:
        connection.execute(update(User.__table__).where(User.__table__.c.id == user_id).values(**changes))
    fresh_request()
    user = user_by_id(user_id)
    assert (user.role, user.tier, user.active, user.session_version) == (Role.MEMBER, Tier.FREE, False, 7)


def test_a_user_already_in_the_session_is_returned_with_the_changes_made_to_it(app, make_user):
    user_id = make_user().id
    fresh_request()
    loaded = db.session.get(User, user_id)
    loaded.name = "Not yet flushed"
    assert user_by_id(user_id) is loaded
    assert loaded.name == "Not yet flushed"


def test_changes_to_the_returned_user_are_saved_and_never_reach_the_kept_copy(app, make_user):
    user_id = make_user(name="Before").id
    fresh_request()
    user = user_by_id(user_id)
    user.name = "After"
    db.session.commit()
    assert users._built[user_id][1].name == "Before"
    fresh_request()
    assert db.session.get(User, user_id).name == "After"
    fresh_request()
    assert user_by_id(user_id).name == "After"


def test_an_expired_user_in_the_session_is_read_again_and_a_deleted_one_is_none(app, make_user):
    user_id = make_user(name="Before").id
    fresh_request()
    loaded = db.session.get(User, user_id)
    with db.engine.begin() as connection:
        connection.execute(update(User.__table__).where(User.__table__.c.id == user_id).values(name="After"))
    db.session.commit()  # expires what the session holds
    assert user_by_id(user_id) is loaded and loaded.name == "After"
    db.session.commit()
    with db.engine.begin() as connection:
        connection.execute(User.__table__.delete().where(User.__table__.c.id == user_id))
    assert user_by_id(user_id) is None


def test_changes_to_an_expired_user_in_the_session_are_kept(app, make_user):
    user_id = make_user(name="Before").id
    fresh_request()
    loaded = db.session.get(User, user_id)
    db.session.commit()  # expires it
    loaded.name = "Changed after the commit"
    assert user_by_id(user_id) is loaded
    db.session.commit()
    fresh_request()
    assert db.session.get(User, user_id).name == "Changed after the commit"
