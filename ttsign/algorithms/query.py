"""The byte-exact business-query serializer (protocol/gnarly-532.md section 0.1), and Chrome's path quirk.

X-Dynosaur hashes the business query and X-Gnarly hashes the sealed string that starts with it, and the
server re-derives both from the bytes it receives, so the query must be emitted exactly as the browser
emits it, and sent exactly as hashed.

Escaping rules, per character of a name or a value:

* space -> ``%20``; ``"`` -> ``%22``; ``#`` -> ``%23``; ``'`` -> ``%27``; ``<`` -> ``%3C``; ``>`` -> ``%3E``;
  backquote -> ``%60``;
* every other printable ASCII character U+0021..U+007E stays **literal**, including
  ``( ) / : , ; @ ! * ~ + [ ] { } | \\ ^ $`` and also ``% & = ?``;
* everything else (C0 controls U+0000..U+001F, DEL U+007F, all non-ASCII) becomes its UTF-8 bytes,
  each written ``%XX`` with upper-case hex; a character outside the BMP gives four bytes
  (U+1F600 -> ``%F0%9F%98%80``).

Consequences (section 0.1):

* ``%`` is never escaped, so already percent-encoded input passes through unchanged; escaping is
  idempotent.
* A literal ``&``, ``=`` or ``+`` inside a value must be pre-encoded by the caller (``%26``, ``%3D``,
  ``%2B``); this module does not do it, because the browser does not.
* ``'`` becomes ``%27``. Section 0.1 left this as an open point (the ports keep it literal). TikTok's SDK
  settles it: its fetch hook rewrites every ``'`` after the ``?`` to ``%27`` before signing, and the
  WHATWG special-query set sends it the same way (``tests/vectors/urls.json``, ``apostrophe-*``: signed
  ``q=it%27s``, sent ``q=it%27s``). So a query holding ``'`` is signed and sent with ``%27``.
* This is the page's serializer for pairs. What the SDK's hook then does to a whole URL (``encodeURI``
  when it holds no ``%`` at all) is ``xbogus.hook_signed_query``; ``policy.parse_url`` applies both to
  caller URLs. A real page's query always holds escapes (``browser_version=5.0%20(...)``), so the hook
  leaves this serializer's output unchanged.

Lone surrogates (possible in a Python ``str``, impossible in a URL) are treated as a browser treats them
when it builds a URL: a surrogate pair becomes its astral character and a lone surrogate becomes
U+FFFD (``%EF%BF%BD``).

Pairs keep the caller's order and are joined ``name=value`` with ``&``; nothing is sorted or dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

__all__ = ["LITERAL", "chrome_path", "escape_component", "serialize_pairs"]

LITERAL = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "\"#'<>`")
"""The characters emitted as themselves: printable ASCII except ``" # ' < > `````; space is escaped."""


def _scalar_values(s: str) -> str:
    """Join surrogate pairs and replace lone surrogates with U+FFFD (what a URL serializer sees)."""
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def escape_component(s: str) -> str:
    """Escape one query name or value (or a whole ``name=value`` segment) per section 0.1."""
    if not isinstance(s, str):
        raise TypeError(f"expected str, got {type(s).__name__}")
    if s.isascii() and s.isprintable() and not any(c in s for c in " \"#'<>`"):
        return s  # fast path: nothing to escape (isprintable() is False for controls and DEL)
    try:
        return quote(s, safe=LITERAL)
    except UnicodeEncodeError:  # a lone surrogate
        return quote(_scalar_values(s), safe=LITERAL)


def serialize_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    """``name=value`` pairs, each side escaped with :func:`escape_component`, joined with ``&``.

    >>> serialize_pairs([("keyword", '猫 cat (test) "q" #1'), ("tz_name", "Asia/Hong_Kong")])
    'keyword=%E7%8C%AB%20cat%20(test)%20%22q%22%20%231&tz_name=Asia/Hong_Kong'
    """
    return "&".join(f"{escape_component(name)}={escape_component(value)}" for name, value in pairs)


def chrome_path(pathname: str) -> str:
    """A WHATWG-serialized path (``ada_url``'s ``pathname``) as Chrome sends it.

    Chrome's path encode set is the URL Standard's plus ``|`` (``/api/p|q/`` goes out as ``/api/p%7Cq/``;
    ``tests/vectors/urls.json`` ``path-char-7c-*``: no other printable ASCII character differs). ``%7C`` is
    left alone by every WHATWG parser, so the result is still a fixed point of one.
    """
    return pathname.replace("|", "%7C")
