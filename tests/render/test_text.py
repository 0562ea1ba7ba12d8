"""HTML → plain text for HTML bodies."""

from __future__ import annotations

import pytest

from nurture.render.text import html_to_text


@pytest.mark.parametrize(("markup", "text"), [
    ("<p>One</p>\n  <p>Two <b>bold</b></p>", "One\n\nTwo bold"),
    ("<p>line<br>break<br/>again</p>", "line\nbreak\nagain"),
    ('<a href="https://x.example/p?a=1&amp;b=2">the page</a>', "the page (https://x.example/p?a=1&b=2)"),
    ('<a href="https://x.example">https://x.example</a>', "https://x.example"),
    ('<a href="mailto:sam@acme.test">sam@acme.test</a>', "sam@acme.test"),
    ('<a href="mailto:sam@acme.test">Write to Sam</a>', "Write to Sam (sam@acme.test)"),
    ('<a href="#top">Top</a>', "Top"),
    ("<ul><li>a</li><li>b <i>c</i></li></ul><p>after</p>", "- a\n- b c\n\nafter"),
    ("<ol><li>first</li><li>second</li></ol>", "1. first\n2. second"),
    ("<h1>Title</h1><div>x</div><div>y</div>", "Title\n\nx\ny"),
    ("<style>p{color:red}</style><script>x()</script><p>shown</p>", "shown"),
    ("<p>Tom &amp; Jerry &lt;3</p>", "Tom & Jerry <3"),
    ('<a href="https://x.example"><img src="logo.png" alt="Acme"></a>', "Acme (https://x.example)"),
    ("<p>  lots   of\n\n  space  </p>", "lots of space"),
])
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text
