"""The one Markdown renderer, for READMEs and code principles.

markdown-it-py's `js-default` preset: raw HTML is escaped, `javascript:`, `vbscript:`, `file:` and `data:`
links are refused; tables, heading ids and fenced code highlighted with Pygments. Front matter is parsed
with `yaml.safe_load`. Rendered HTML is cached by the blob id it came from.
"""

from __future__ import annotations

import html
import re
from collections import OrderedDict
from typing import Any

import yaml
from markdown_it import MarkdownIt
from mdit_py_plugins.anchors import anchors_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name, guess_lexer_for_filename
from pygments.util import ClassNotFound

_UNSAFE = re.compile(r"^\s*(javascript|vbscript|file|data):", re.I)
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(\r?\n|\Z)", re.S)
_FORMATTER = HtmlFormatter(nowrap=True)
CACHE_SIZE = 512


def _highlight(code: str, lang: str, _attrs: str) -> str:
    try:
        lexer = get_lexer_by_name(lang.strip().split()[0]) if lang.strip() else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return ""  # markdown-it escapes the code itself
    body = highlight(code, lexer, _FORMATTER)
    return f'<pre class="highlight"><code class="language-{html.escape(lang)}">{body}</code></pre>'


def _build() -> MarkdownIt:
    md = MarkdownIt("js-default", {"highlight": _highlight, "linkify": False, "typographer": False})
    md.enable("table")
    md.use(anchors_plugin, min_level=1, max_level=4, permalink=False)
    md.validateLink = lambda url: not _UNSAFE.match(url)  # type: ignore[method-assign]
    return md


_MD = _build()
_cache: OrderedDict[str, str] = OrderedDict()


def render(text: str, cache_key: str | None = None) -> str:
    """Safe HTML for Markdown text; cached when a key (a blob sha) is given."""
    if cache_key is not None and cache_key in _cache:
        _cache.move_to_end(cache_key)
        return _cache[cache_key]
    out: str = _MD.render(text)
    if cache_key is not None:
        _cache[cache_key] = out
        if len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return out


def split_front_matter(text: str) -> tuple[dict[str, Any], str, str | None]:
    """(front matter, body, error). A broken front matter gives {} and says why; it never raises."""
    match = _FRONT.match(text)
    if not match:
        return {}, text, None
    body = text[match.end() :]
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        return {}, body, f"front matter is not valid YAML: {exc}".splitlines()[0]
    if not isinstance(data, dict):
        return {}, body, "front matter must be a mapping of keys to values"
    return data, body, None


def highlight_code(text: str, filename: str) -> tuple[str, str]:
    """(language name, highlighted HTML lines) for a source file."""
    try:
        lexer = guess_lexer_for_filename(filename, text[:4000])
    except ClassNotFound:
        return "text", html.escape(text)
    return lexer.name, highlight(text, lexer, _FORMATTER)


def first_heading_and_paragraph(text: str) -> tuple[str | None, str | None]:
    """The README's title and first paragraph, as plain text."""
    title = None
    paragraph = None
    tokens = _MD.parse(text)
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and title is None:
            title = tokens[i + 1].content.strip()
        elif token.type == "paragraph_open" and paragraph is None and i + 1 < len(tokens):
            paragraph = re.sub(r"\s+", " ", tokens[i + 1].content).strip()
        if title and paragraph:
            break
    return title, paragraph
