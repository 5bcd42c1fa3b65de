"""The user a request is signed in as, read from the database on every request.

Every request reads the user's row afresh (session cookie or bearer token alike), so a deactivated
account, a new session version or a changed role counts at once. `Session.get` would build a new
User from that row each time, which under load was the largest fixed cost of a chunk upload request.
Here the row is read with one Core query; when it is the very row this process read last time, the
User built from it then is attached to the request's session without being built again
(`Session.merge(load=False)`, SQLAlchemy's pattern for objects kept outside a session). A User is only
ever built from, and matched against, the row just read: nothing the database does not hold at that
moment is ever returned.

A User already in the request's session is left to the ORM (`Session.get`): returned as it is,
with any changes the request has made to it, or reloaded when it has expired after a commit.
"""

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from portal.extensions import db
from portal.models import User

_TABLE = User.__table__
_ROW = select(*_TABLE.c).where(_TABLE.c.id == bindparam("user_id"))
_ATTRIBUTES = [User.__mapper__.get_property_by_column(column).key for column in _TABLE.c]
_KEPT = 4096  # rows (and the Users built from them) kept per process; forgotten all at once past this

_built = {}  # user id -> (row, detached User built from it)


def user_by_id(user_id):
    """The User with this id, attached to the request's database session, or None."""
    session = db.session()
    present = session.identity_map.get(session.identity_key(User, user_id))
    if present is not None:
        # Held already: as it is, or (expired after a commit) reloaded by the ORM, which flushes the
        # request's unsaved changes to it first rather than overwrite them.
        return present if not inspect(present).expired else session.get(User, user_id)
    row = session.connection().execute(_ROW, {"user_id": user_id}).first()
    if row is None:
        return None
    row = tuple(row)
    kept = _built.get(user_id)
    if kept is None or kept[0] != row:
        kept = (row, _detached_user(row))
        if len(_built) >= _KEPT:
            _built.clear()
        _built[user_id] = kept
    return session.merge(kept[1], load=False)


def _detached_user(row):
    """A User holding `row` as its loaded state, in no session (never changed after this)."""
    user = User.__mapper__.class_manager.new_instance()
    for key, value in zip(_ATTRIBUTES, row, strict=True):
        set_committed_value(user, key, value)
    make_transient_to_detached(user)
    return user
