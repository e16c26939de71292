"""Error positions: a node's caret mapped back to the client's text. Pure.

A datanode or the catalog server reports an error's position (the "P" field, a 1-based
character offset) into the text it ran. gridpg often runs another text than the client's
(a coordinator finish's final statement, a two-phase partial, a mapped `tableoid`, literals
turned into parameters, a deparsed fragment), so relayed as it is the caret pointed at the
wrong place, or past the end of the client's statement. The position is mapped by the
text it points at: the tokens there (up to four) found exactly once in the client's text,
at a token boundary. When that fails the position is dropped: no caret is better than a
wrong one.
"""

from __future__ import annotations

from typing import Any

from gridpg.sql import parse as sqlparse

_WIDEST = 4  # tokens of the node's text matched at once


def client_position(position: str, ran: str | None, client: str) -> str | None:
    """`position` (into `ran`) as a position into `client`, None when it cannot be placed.
    `ran` None: the node's text is not known (a statement prepared earlier), kept as is."""
    if ran is None or ran == client:
        return position
    if not position.isdigit():
        return None
    try:
        ran_tokens, client_tokens = sqlparse.tokens(ran), sqlparse.tokens(client)
    except Exception:  # noqa: BLE001 - a text the scanner cannot read: no caret
        return None
    at = int(position) - 1
    index = next((i for i, t in enumerate(ran_tokens) if t.start == at), None)
    if index is None:
        return None
    for width in range(min(_WIDEST, len(ran_tokens) - index), 0, -1):
        words = _words(ran, ran_tokens[index:index + width])
        if width == 1 and not _distinctive(words[0]):
            break
        starts = [client_tokens[i].start for i in range(len(client_tokens) - width + 1)
                  if _words(client, client_tokens[i:i + width]) == words]
        if len(starts) == 1:
            return str(starts[0] + 1)
    return None


def _words(text: str, tokens: list[Any]) -> list[str]:
    return [text[t.start:t.end + 1] for t in tokens]


def _distinctive(word: str) -> bool:
    """A token that places a caret alone: a name or a constant, not an operator or keyword
    the statement may repeat."""
    return len(word) > 1 and (word[0].isalpha() or word[0] in "\"'$_" or word[0].isdigit())
