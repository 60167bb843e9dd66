"""Credentials in store URLs: taken out of the URL, and never shown.

A CouchDB URL may carry ``user:password@``; the password must not reach a
log line, a ``repr``, an exception, a page or a report. Everything that shows
a store URL passes it through :func:`hide_password` first.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit, urlunsplit


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``url`` without user info, and the user and password it carried."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("a CouchDB URL looks like http://[user:password@]host:port[/prefix]")
    host_port = parts.netloc.rpartition("@")[2]
    base = urlunsplit((parts.scheme, host_port, parts.path.rstrip("/"), "", ""))
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return base, user, password


def redacted(base: str, user: str | None, password: str | None) -> str:
    """``base`` with the user shown and the password replaced by ``***``."""
    if user is None:
        return base
    scheme, _, rest = base.partition("://")
    secret = ":***" if password is not None else ""
    return f"{scheme}://{quote(user, safe='')}{secret}@{rest}"


def hide_password(url: str) -> str:
    """``url`` as safe to show: a password in it replaced by ``***``.

    For any store URL (an SQLite URL comes back unchanged); a URL that cannot
    be parsed but has user info is not shown at all.
    """
    if "@" not in url or not url.lower().startswith(("http://", "https://")):
        return url  # no user info; an SQLite file path may hold an "@" of its own
    try:
        base, user, password = split_credentials(url)
    except ValueError:
        return "<a URL with user info, not shown>"
    return redacted(base, user, password)
