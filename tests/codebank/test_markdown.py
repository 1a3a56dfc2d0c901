"""codebank.markdown: READMEs and principles rendered safely, front matter parsed safely."""

from __future__ import annotations

from codebank.markdown import render, split_front_matter


def test_markdown_is_rendered_safely() -> None:
    html = render(
        "# Overskrift\n\n<b onclick=x>fed</b> [a](javascript:alert(1)) [b](JaVaScRiPt:x) "
        "[c](data:text/html,x) [d](https://ok.dk)\n\n```python\nprint('hej')\n```\n\n| a | b |\n|---|---|\n"
        "| 1 | 2 |\n"
    )
    assert '<h1 id="overskrift">' in html and "&lt;b onclick=x&gt;" in html
    assert "javascript" not in html.lower().replace("[a](javascript:alert(1))", "").replace("[b](javascript:x)", "")
    assert 'href="https://ok.dk"' in html and "<table>" in html and 'class="highlight"' in html


def test_front_matter_is_parsed_safely() -> None:
    meta, body, error = split_front_matter("---\nid: x\ntags: [a]\n---\n# T\n")
    assert meta == {"id": "x", "tags": ["a"]} and body == "# T\n" and error is None
    meta, _, error = split_front_matter("---\n!!python/object/apply:os.system ['touch /tmp/x']\n---\n")
    assert meta == {} and error
    assert split_front_matter("no front matter") == ({}, "no front matter", None)
