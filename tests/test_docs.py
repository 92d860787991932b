"""The documentation site: mkdocs.yml and docs/.

The site is built once, strictly (any warning fails the build: a broken link or
picture, a page missing from the nav, a docstring mkdocstrings cannot render), into a
temporary folder. The tests then check the nav, the API pages and the examples: every
```python block of a page runs, in a fresh namespace per page and a scratch folder as
the working directory. Blocks fenced as ```py are fragments that are not run (code
that needs a GPU, for instance).

Skipped when mkdocs, mkdocs-material or mkdocstrings (with its Python handler) is not
installed: `pip install -e '.[docs]'` installs them.
"""

import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / 'docs'

for _module in ('mkdocs', 'material', 'mkdocstrings', 'mkdocstrings_handlers.python', 'yaml'):
    pytest.importorskip(_module, reason=f'{_module} is not installed (pip install -e ".[docs]")')

import yaml  # noqa: E402  (mkdocs depends on PyYAML; skipped above without it)


class _Loader(yaml.SafeLoader):
    """Reads mkdocs.yml, whose !!python/name: tags (if any) need not be resolved here."""


_Loader.add_multi_constructor('tag:yaml.org,2002:python/', lambda loader, suffix, node: None)


def _config():
    return yaml.load((ROOT / 'mkdocs.yml').read_text(encoding='utf-8'), Loader=_Loader)


def _nav_pages(items):
    """The Markdown files named in a mkdocs nav, in order."""
    for item in items:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for value in item.values():
                if isinstance(value, str):
                    yield value
                else:
                    yield from _nav_pages(value)


NAV = [page for page in _nav_pages(_config()['nav']) if not page.startswith(('http:', 'https:'))]


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    """Build the site strictly into a temporary folder; return that folder."""
    out = tmp_path_factory.mktemp('site')
    env = dict(os.environ, NO_MKDOCS_2_WARNING='1')
    result = subprocess.run(
        [sys.executable, '-m', 'mkdocs', 'build', '--strict', '--site-dir', str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        pytest.fail(
            f'mkdocs build --strict failed (exit status {result.returncode}):\n'
            f'{result.stdout}\n{result.stderr}',
            pytrace=False,
        )
    return out


def _built(site, page):
    """The HTML that mkdocs made of docs/<page> (directory URLs: x.md -> x/index.html)."""
    path = pathlib.PurePosixPath(page)
    if path.stem in ('index', 'README'):
        html = site / path.parent / 'index.html'
    else:
        html = site / path.with_suffix('') / 'index.html'
    assert html.is_file(), f'{page} was not built into {html}'
    return html.read_text(encoding='utf-8')


def test_the_site_builds_strictly(site):
    assert (site / 'index.html').is_file()
    assert (site / 'search' / 'search_index.json').is_file()


def test_every_page_of_the_nav_exists_and_every_page_is_in_the_nav():
    missing = [page for page in NAV if not (DOCS / page).is_file()]
    assert not missing, f'pages named in the nav of mkdocs.yml but not in docs/: {missing}'
    excluded = DOCS / '_ext'
    pages = {
        path.relative_to(DOCS).as_posix()
        for path in DOCS.rglob('*.md')
        if excluded not in path.parents
    }
    assert not pages - set(NAV), f'pages missing from the nav: {sorted(pages - set(NAV))}'


def test_every_page_of_the_nav_was_built(site):
    for page in NAV:
        assert '<article' in _built(site, page), page


@pytest.mark.parametrize(
    'page, names',
    [
        (
            'api/core.md',
            ['dezero.core.Variable', 'dezero.core.Variable.backward', 'dezero.core.no_grad'],
        ),
        ('api/functions.md', ['dezero.functions.softmax_cross_entropy', 'dezero.functions.Sum']),
        ('api/autodiff.md', ['dezero.autodiff.grad', 'dezero.autodiff.hessian']),
        (
            'api/layers.md',
            [
                'dezero.layers.Linear',
                'dezero.layers.LSTM',
                'dezero.layers.GRU',
                'dezero.layers.MultiHeadAttention',
            ],
        ),
        ('api/models.md', ['dezero.models.MLP', 'dezero.models.Model.plot']),
        (
            'api/optimizers.md',
            [
                'dezero.optimizers.Adam',
                'dezero.optimizers.AdamW',
                'dezero.schedules.CosineAnnealingLR',
            ],
        ),
        ('api/data.md', ['dezero.datasets.Spiral', 'dezero.dataloaders.DataLoader']),
        ('api/utils.md', ['dezero.utils.gradient_check']),
        ('api/graph.md', ['dezero.graph.draw_graph', 'dezero.graph.get_dot_graph']),
        ('api/cuda.md', ['dezero.cuda.get_array_module']),
    ],
)
def test_the_api_pages_document_the_modules(site, page, names):
    html = _built(site, page)
    for name in names:
        assert f'id="{name}"' in html, f'{page} has no entry for {name}'
    # the docstrings' Sphinx roles were turned into code (and links)
    assert not re.search(r':(func|class|meth|mod|attr|data):`', html), page


def test_the_api_pages_link_the_names_they_mention(site):
    html = _built(site, 'api/core.md')
    # ':func:`backprop`' in dezero.core's docstring links to backprop's entry
    assert re.search(r'<a [^>]*href="#dezero\.core\.backprop"[^>]*><code>backprop\(\)</code>', html)


def _python_blocks(page):
    text = (DOCS / page).read_text(encoding='utf-8')
    return re.findall(r'^```python\n(.*?)^```', text, re.M | re.S)


PAGES_WITH_CODE = [page for page in NAV if _python_blocks(page)]


@pytest.mark.parametrize('page', PAGES_WITH_CODE)
@pytest.mark.filterwarnings('ignore:divide by zero:RuntimeWarning')  # detect_anomaly's log(0)
def test_the_examples_of_a_page_run(page, tmp_path, monkeypatch, capsys):
    if page == 'graphs.md' and shutil.which('dot') is None:
        pytest.skip("the graph pictures need Graphviz's dot program")
    monkeypatch.chdir(tmp_path)
    namespace = {'__name__': '__main__'}
    for number, code in enumerate(_python_blocks(page), 1):
        exec(compile(code, f'{page}, python block {number}', 'exec'), namespace)


def test_the_graph_pictures_are_the_ones_the_page_embeds():
    embedded = set(re.findall(r'\]\((img/graphs/[^)\s]+)\)', (DOCS / 'graphs.md').read_text()))
    present = {
        path.relative_to(DOCS).as_posix() for path in (DOCS / 'img' / 'graphs').glob('*.svg')
    }
    assert embedded and embedded == present


def _extension():
    path = DOCS / '_ext' / 'sphinx_docstrings.py'
    spec = importlib.util.spec_from_file_location('sphinx_docstrings', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docstring_extension_turns_sphinx_markup_into_markdown():
    griffe = pytest.importorskip('griffe')
    ext = _extension()
    pkg = griffe.load('dezero', search_paths=[str(ROOT)])
    text = (
        'See :func:`no_grad` and :class:`~dezero.core.Parameter`, not :func:`open`.\n'
        'For example::\n\n    y = x * 2\n\nThe shape is KH*KW, **not** ``KH*KW``.\n\n'
        '>>> 1 + 1\n2'
    )
    out = ext.rewrite(pkg['core'], text)
    assert '<autoref identifier="dezero.core.no_grad" optional>`no_grad()`</autoref>' in out
    assert '<autoref identifier="dezero.core.Parameter" optional>`Parameter`</autoref>' in out
    assert 'not `open()`.' in out
    assert 'For example:\n\n```python\ny = x * 2\n```' in out
    assert r'KH\*KW, **not** ``KH*KW``' in out
    assert '```pycon\n>>> 1 + 1\n2\n```' in out
