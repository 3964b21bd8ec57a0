"""Telling a database outage (wait for it) from any other database error (a real failure)."""

from __future__ import annotations

from sqlalchemy import exc

# SQLSTATE classes of a server that is down, restarting, overloaded, or that rolled a
# transaction back for a retry: 08 connection exception, 57P admin/crash shutdown or
# "cannot connect now", 53 insufficient resources, 40 serialization failure / deadlock.
_TRANSIENT_SQLSTATES = ("08", "57P", "53", "40")
_SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")


def is_database_outage(err: BaseException) -> bool:
    """True when the database could not be reached, dropped the connection, or is busy: the
    same statement will work once it is back, so a step should wait rather than give up."""
    if isinstance(err, exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(err, exc.DBAPIError):
        return False
    if err.connection_invalidated:
        return True
    if not isinstance(err, (exc.OperationalError, exc.InterfaceError)):
        return False
    sqlstate = getattr(err.orig, "sqlstate", None)
    if sqlstate is None:  # psycopg: failed before the server answered (refused, reset, EOF)
        return getattr(err.orig, "sqlite_errorname", None) in (None, *_SQLITE_BUSY)
    return str(sqlstate).startswith(_TRANSIENT_SQLSTATES)
