"""Text the enrichment and conversation agents read: files, HTML pages, transcripts.

HTML is reduced to its readable text with the standard library's `html.parser` (scripts,
styles and markup dropped); binary files are refused rather than fed to a model.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from salesctl.errors import InvalidInput

MAX_SOURCE_BYTES = 5 * 1024 * 1024
_SNIFF_BYTES = 8192
_SKIPPED_TAGS = {"script", "style", "noscript", "template", "svg", "iframe", "canvas"}
_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "section", "article", "header",
    "footer", "nav", "aside", "main", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
    "pre", "dd", "dt", "figcaption", "title",
}  # fmt: skip


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._in_title = False
        self.title = ""
        self.description = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag == "meta":
            found = dict(attrs)
            if (found.get("name") or "").lower() == "description" and found.get("content"):
                self.description = found["content"] or ""
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _SKIPPED_TAGS and self._skipping:
            self._skipping -= 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML page: title, meta description, then the body's text."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = [" ".join(line.split()) for line in "".join(extractor.parts).splitlines()]
    body = "\n".join(line for line in lines if line)
    head = [" ".join(extractor.title.split()), " ".join(extractor.description.split())]
    return "\n".join([*(h for h in head if h), body]).strip()


def looks_like_html(text: str, name: str = "") -> bool:
    if name.lower().endswith((".html", ".htm", ".xhtml")):
        return True
    start = text.lstrip()[:512].lower()
    return start.startswith(("<!doctype html", "<html")) or bool(re.search(r"<body[\s>]", start))


def decode_text(data: bytes, name: str) -> str:
    """The bytes as text, or InvalidInput when they are binary (an image, a PDF, a zip)."""
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise InvalidInput(f"{name} is a binary file: give a text, HTML or transcript file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            f"{name} is not UTF-8 text: convert it (e.g. `iconv -t utf-8`) or give a text file"
        ) from None


def read_source(path: Path) -> str:
    """A source document's text (HTML reduced to text), checked to be readable text."""
    name = str(path)
    if not path.is_file():
        raise InvalidInput(f"no such file: {name}")
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        raise InvalidInput(f"{name} is {size:,} bytes; sources are limited to 5 MB")
    text = decode_text(path.read_bytes(), name)
    if looks_like_html(text, name):
        text = html_to_text(text)
    if not text.strip():
        raise InvalidInput(f"{name} has no readable text")
    return text


def read_transcript(data: bytes, name: str) -> str:
    """A call transcript's text (from a file or stdin), refusing binary and empty input."""
    if len(data) > MAX_SOURCE_BYTES:
        raise InvalidInput(f"{name} is {len(data):,} bytes; transcripts are limited to 5 MB")
    text = decode_text(data, name)
    if looks_like_html(text, name):
        text = html_to_text(text)
    if not text.strip():
        raise InvalidInput(f"{name} is empty: give the call transcript as text")
    return text.strip()
