"""Every word a learner meets, explained once: the glossary as data, and its HTML tooltip.

The notebooks explain a word where it is first used; the widgets, the board
and the dashboard show the same short text as a hover tooltip on a state
name, an actor or a column heading. All of them read this one table
(:mod:`drwlab.glossary.terms`), so a word is explained the same way
everywhere.

Terms are looked up case-insensitively, by name or by an alias (``OUS`` finds
ObsUnitSet); an actor's instance or listener name finds its kind
(``pipeline-driver.EU``, ``xtss-1``, ``worker-A@host`` -> the part before).
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Iterable

from drwlab.glossary.terms import GLOSSARY, Term

__all__ = ["GLOSSARY", "Term", "UnknownTerm", "explain", "glossary_html", "lookup", "tooltip_html"]

_INDEX: dict[str, Term] = {
    key.casefold(): term for term in GLOSSARY.values() for key in (term.name, *term.aliases)
}
_LISTENER_SUFFIX = re.compile(r"(@.*|-\d+)$")


class UnknownTerm(KeyError):
    """A word the glossary does not explain (the message suggests close ones)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown term"


def _keys(word: str) -> list[str]:
    """``word`` as given, then without a listener suffix, then without an ``.EXEC`` part."""
    key = word.strip().casefold()
    bare = _LISTENER_SUFFIX.sub("", _LISTENER_SUFFIX.sub("", key))
    return [key, bare, bare.rsplit(".", 1)[0]]


def lookup(word: str) -> Term:
    """The Term for ``word`` (name or alias, any case, or an actor's instance name).

    Raises UnknownTerm, naming close terms when there are some.
    """
    for key in _keys(str(word)):
        if key in _INDEX:
            return _INDEX[key]
    close = difflib.get_close_matches(str(word).casefold(), list(_INDEX), n=3)
    hint = f"; did you mean {', '.join(_INDEX[c].name for c in close)}?" if close else ""
    raise UnknownTerm(f"no glossary entry for {word!r}{hint}")


def explain(word: str) -> str:
    """The whole explanation of ``word`` as plain text (for a widget's tooltip too)."""
    return lookup(word).text


def tooltip_html(word: str, label: str | None = None) -> str:
    """``label`` (default ``word``) in an ``<abbr>`` whose hover text explains ``word``.

    The label and the explanation are both escaped. A word the glossary does
    not know comes back escaped and bare, so a renderer may wrap every state
    name or column heading without asking first.
    """
    shown = html.escape(word if label is None else label)
    try:
        term = lookup(word)
    except UnknownTerm:
        return shown
    title = html.escape(term.short, quote=True)
    return f'<abbr class="drwlab-term" title="{title}">{shown}</abbr>'


def glossary_html(words: Iterable[str] | None = None) -> str:
    """A definition list of ``words`` (default: the whole glossary), escaped.

    Raises UnknownTerm for a word without an entry.
    """
    terms = [lookup(w) for w in words] if words is not None else list(GLOSSARY.values())
    items = "".join(f"<dt>{html.escape(t.name)}</dt><dd>{html.escape(t.text)}</dd>" for t in terms)
    return f'<dl class="drwlab-glossary">{items}</dl>'
