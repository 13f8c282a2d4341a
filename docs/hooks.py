"""mkdocs hooks: pages that include text generated at build time.

- `<!-- keras-l2l-help -->` becomes the `--help` text of `keras-l2l` and of each
  sub-command, from the real argument parser (so the page cannot go stale);
- `<!-- include: PATH -->` becomes the file at PATH (relative to the repository
  root), e.g. CHANGELOG.md, which lives outside docs/.
"""

import io
import os
import re
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INCLUDE = re.compile(r"<!-- include: (\S+) -->")
CLI_HELP = "<!-- keras-l2l-help -->"


def on_page_markdown(markdown, page, config, files):
    markdown = INCLUDE.sub(lambda m: (ROOT / m.group(1)).read_text(), markdown)
    if CLI_HELP in markdown:
        markdown = markdown.replace(CLI_HELP, _cli_help())
    return markdown


def _cli_help():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # the parser's module imports TensorFlow
    from keras_l2l.cli import build_parser

    parser = build_parser()
    sections = [("keras-l2l", parser)]
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    sections += [(f"keras-l2l {name}", sub) for name, sub in commands.choices.items()]
    text = []
    for title, sub in sections:
        out = io.StringIO()
        with redirect_stdout(out):
            sub.print_help()
        text.append(f"## `{title}`\n\n```text\n{out.getvalue().rstrip()}\n```\n")
    return "\n".join(text)
