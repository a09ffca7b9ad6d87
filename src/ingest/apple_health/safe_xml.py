"""Stream an XML file through expat with every entity feature switched off.

Apple's ``export.xml`` reaches several gigabytes and starts with an internal DTD subset
(``<!ELEMENT ...>``/``<!ATTLIST ...>`` declarations, no entities). The subset must be
tolerated but nothing in it may ever be expanded or fetched, so the parser here:

* refuses any entity declaration (general, parameter, external or unparsed) the moment
  expat reads it, before a reference can be expanded: a "billion laughs" bomb or an
  external-entity (XXE) file is rejected, never evaluated;
* never reads an external DTD or parameter entity (``XML_PARAM_ENTITY_PARSING_NEVER``;
  no external-entity handler is ever allowed to load anything: no network, no files);
* reports only the attributes written in the element (``specified_attributes``), so
  ``#FIXED``/default values of an ``<!ATTLIST>`` never leak into records.

It builds no tree: the caller's start/end handlers see one element at a time and keep
what they need, so memory does not grow with the file (the streaming that
``iterparse`` + ``clear()`` approximates, without a tree to clear).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from xml.parsers import expat

FEED_BYTES = 1 << 20
"""Bytes handed to expat per call: large enough to amortise the call, small for memory."""

StartHandler = Callable[[str, dict[str, str]], None]
EndHandler = Callable[[str], None]


class UnsafeXml(Exception):
    """The document declares entities (a bomb or an external reference): never parsed on."""


class XmlBreak(Exception):
    """The document stops being well-formed XML at ``line``/``column`` (truncated, damaged)."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} at line {line}, column {column}")
        self.message, self.line, self.column = message, line, column


class StopStreaming(Exception):
    """Raised by a handler that has what it needs: :func:`stream` ends quietly."""


def _refuse_entity(
    name: str,
    is_parameter_entity: bool,
    value: str | None,
    base: str | None,
    system_id: str | None,
    public_id: str | None,
    notation_name: str | None,
) -> None:
    kind = "parameter entity" if is_parameter_entity else "entity"
    where = f" referring to {system_id!r}" if system_id else ""
    raise UnsafeXml(
        f"the XML declares the {kind} {name!r}{where} in its DTD: entity declarations are "
        "refused and never expanded (protection against entity-expansion bombs and "
        "external-entity reads); Apple Health exports declare none"
    )


def _refuse_unparsed(
    name: str, base: str | None, system_id: str, public_id: str | None, notation: str
) -> None:
    raise UnsafeXml(f"the XML declares the unparsed entity {name!r}: refused")


def _refuse_external(
    context: str | None, base: str | None, system_id: str | None, public_id: str | None
) -> int:
    raise UnsafeXml(f"the XML refers to the external entity {system_id!r}: never fetched")


def make_parser(start: StartHandler, end: EndHandler) -> expat.XMLParserType:
    """An expat parser with DTD entities refused and external loading disabled."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_unparsed
    parser.ExternalEntityRefHandler = _refuse_external
    parser.specified_attributes = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    return parser


def stream(path: Path, start: StartHandler, end: EndHandler) -> None:
    """Feed ``path`` to a safe parser in blocks; handlers see each element as it closes.

    Raises :class:`UnsafeXml` for any entity declaration and :class:`XmlBreak` where the
    bytes stop being well-formed (including a file that ends before its root closes).
    A handler may raise :class:`StopStreaming` to end early without error.
    """
    parser = make_parser(start, end)
    try:
        with path.open("rb") as handle:
            while block := handle.read(FEED_BYTES):
                parser.Parse(block, False)
            parser.Parse(b"", True)
    except StopStreaming:
        return
    except expat.ExpatError as err:
        message = expat.errors.messages.get(err.code, str(err))
        raise XmlBreak(message, err.lineno, err.offset) from err
