"""A griffe extension that lets mkdocstrings render dezero's docstrings as Markdown.

dezero's docstrings are prose written for Sphinx: cross-references are roles such as
``:func:`no_grad``` or ``:class:`~dezero.core.Parameter```, examples are doctest blocks
(``>>>`` lines, which Markdown would take for quotes), and a paragraph ending in ``::``
introduces an indented literal block.  Before mkdocstrings parses a docstring, this
extension rewrites those three things in place (the Python sources are not touched):

- a role becomes a code span wrapped in an optional cross-reference: a link when the
  name resolves to an object shown somewhere in the site, plain code otherwise (an
  unresolved optional reference is not a warning, so the strict build stays clean);
- a doctest block becomes a fenced ``pycon`` block;
- ``::`` becomes ``:`` and the literal block a fenced ``python`` block;
- a ``*`` between two letters or digits (``KH*KW``, ``x**2``), which Sphinx prints as
  it is, is escaped so that Markdown does not read it as emphasis.

mkdocs.yml loads it through the ``extensions`` option of the Python handler.
"""

import re

import griffe

# :role:`target`, the target possibly wrapped over two lines
_ROLE = re.compile(r':(?:py:)?(func|meth|class|mod|attr|data|exc|obj):`([^`]+)`')
_CALLABLE_ROLES = {'func', 'meth'}
# what Markdown must leave alone: fenced blocks and code spans
_CODE = re.compile(r'^[ \t]*```.*?^[ \t]*```|(`+).+?(?<!`)\1(?!`)', re.M | re.S)
_INNER_STARS = re.compile(r'(?<=\w)\*+(?=\w)')


def _resolve(obj, target):
    """The full path of ``target`` as seen from ``obj``, or None when it is not dezero's."""
    name = target.lstrip('.')  # :mod:`.math` in dezero.functions: its submodule
    if name.split('.')[0] == 'dezero':
        return name
    head, _, rest = name.partition('.')
    try:
        path = obj.resolve(head)  # obj's members, then its parents' (griffe's scoping)
    except (griffe.NameResolutionError, AttributeError):
        return None
    if path.split('.')[0] != 'dezero':
        return None
    return f'{path}.{rest}' if rest else path


def _role_to_markdown(obj, match):
    role, target = match.group(1), ' '.join(match.group(2).split())
    shown = target.lstrip('~')
    if target.startswith('~'):
        shown = shown.rsplit('.', 1)[-1]
    if role in _CALLABLE_ROLES and not shown.endswith(')'):
        shown += '()'
    code = f'`{shown}`'
    path = _resolve(obj, target.lstrip('~'))
    if path is None:
        return code
    return f'<autoref identifier="{path}" optional>{code}</autoref>'


def _fence(lines, indent, language):
    return [f'{indent}```{language}', *lines, f'{indent}```']


def _blocks_to_markdown(text):
    """Fence the doctest blocks and the ``::`` literal blocks of a docstring."""
    lines = text.split('\n')
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith('>>>'):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out.extend(_fence(block, indent, 'pycon'))
            continue
        if stripped.endswith('::') and i + 2 < len(lines) and not lines[i + 1].strip():
            body_indent = len(lines[i + 2]) - len(lines[i + 2].lstrip())
            if body_indent > len(indent):
                out.append(line[:-1])  # 'For example::' -> 'For example:'
                out.append('')
                i += 2
                block = []
                while i < len(lines) and (
                    not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) >= body_indent
                ):
                    block.append(lines[i][body_indent:])
                    i += 1
                while block and not block[-1].strip():
                    block.pop()
                    i -= 1
                out.extend(_fence(block, indent, 'python'))
                continue
        out.append(line)
        i += 1
    return '\n'.join(out)


def _escape_stars(text):
    """Escape the ``*`` inside words, outside code."""
    out, end = [], 0
    for match in _CODE.finditer(text):
        out.append(_escape_prose_stars(text[end : match.start()]))
        out.append(match.group(0))
        end = match.end()
    out.append(_escape_prose_stars(text[end:]))
    return ''.join(out)


def _escape_prose_stars(prose):
    # '**bold**' starts or ends next to a space or punctuation, so it is left alone
    return _INNER_STARS.sub(lambda m: m.group(0).replace('*', r'\*'), prose)


def rewrite(obj, text):
    """The Markdown version of the docstring ``text`` of the griffe object ``obj``."""
    text = _escape_stars(_blocks_to_markdown(text))
    return _ROLE.sub(lambda m: _role_to_markdown(obj, m), text)


class SphinxDocstrings(griffe.Extension):
    """Rewrite every docstring of a package once it is loaded."""

    def on_package(self, *, pkg, **kwargs):
        seen = set()
        stack = [pkg]
        while stack:
            obj = stack.pop()
            if obj.is_alias or id(obj) in seen:
                continue
            seen.add(id(obj))
            if obj.docstring is not None:
                obj.docstring.value = rewrite(obj, obj.docstring.value)
            stack.extend(obj.members.values())
