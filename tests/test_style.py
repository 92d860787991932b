"""The code style the project keeps: ruff's lint rules and its formatter, as set in
pyproject.toml, over the whole tree (the package, tests, examples, benchmarks, steps),
and a docstring on every public function, class and method of the package."""

import importlib
import inspect
import pathlib
import pkgutil
import shutil
import subprocess
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def ruff(*args):
    """Run ruff from this environment (or the PATH) in the repository root."""
    exe = shutil.which('ruff', path=str(pathlib.Path(sys.executable).parent)) or shutil.which(
        'ruff'
    )
    if exe is None:
        pytest.skip('ruff is not installed (it comes with the test extra)')
    return subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing_to_complain_about():
    result = ruff('check', '--no-cache', '.')
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_is_formatted_as_ruff_formats_it():
    result = ruff('format', '--check', '--no-cache', '.')
    assert result.returncode == 0, result.stdout + result.stderr + '\nrun `ruff format .` to fix'


import dezero  # noqa: E402
import dezero.core  # noqa: E402
import dezero.core_simple  # noqa: E402

# The modules whose public functions, classes and methods all have a docstring: the
# whole package.
DOCUMENTED = tuple(['dezero'] + [m.name for m in pkgutil.walk_packages(dezero.__path__, 'dezero.')])

#: The base classes whose forward and backward say what a subclass's compute: a
#: Function subclass states its formula and derivative once, in its class docstring.
FUNCTION_BASES = (dezero.core.Function, dezero.core_simple.Function)


def _docstring(obj):
    """The docstring ``obj`` has itself (a property's is its getter's), or ''."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    return (getattr(obj, '__doc__', None) or '').strip()


def _undocumented(module, modules=DOCUMENTED):
    """The public functions, classes and methods defined in ``module`` that have no
    docstring, by their qualified names.  The methods of a public class are those it
    defines and those it inherits from a class of ``modules`` (Conv2d's forward is
    that of the private _Conv); methods are functions, static and class methods, and
    properties."""
    missing = set()
    for name, obj in vars(module).items():
        if name.startswith('_') or getattr(obj, '__module__', None) != module.__name__:
            continue
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if not _docstring(obj):
            missing.add(f'{module.__name__}.{name}')
        if not inspect.isclass(obj):
            continue
        for attr in dir(obj):
            if attr.startswith('_'):
                continue
            owner = next(k for k in obj.__mro__ if attr in vars(k))
            member = vars(owner)[attr]
            methods = (staticmethod, classmethod, property, types.FunctionType)
            if owner.__module__ in modules and isinstance(member, methods):
                if not (_docstring(member) or _said_by_its_class(owner, attr)):
                    missing.add(f'{owner.__module__}.{owner.__qualname__}.{attr}')
    return sorted(missing)


def _said_by_its_class(owner, attr):
    """Whether ``attr`` is the forward or backward of a Function subclass ``owner``
    whose class docstring says what they compute (see FUNCTION_BASES)."""
    return (
        attr in ('forward', 'backward')
        and issubclass(owner, FUNCTION_BASES)
        and owner not in FUNCTION_BASES
        and bool(_docstring(owner))
    )


@pytest.mark.parametrize('name', DOCUMENTED)
def test_every_public_function_class_and_method_has_a_docstring(name):
    missing = _undocumented(importlib.import_module(name))
    assert not missing, 'no docstring: ' + ', '.join(missing)


def test_the_docstring_check_finds_what_lacks_one():
    module = types.ModuleType('documented')
    exec(
        'class _Base:\n'
        '    def shared(self): pass\n'
        '    def _private(self): pass\n'
        'class Layer(_Base):\n'
        '    """A layer."""\n'
        '    def forward(self, x): pass\n'
        '    @property\n'
        '    def size(self): return 1\n'
        '    @staticmethod\n'
        '    def make(): pass\n'
        '    def described(self):\n'
        '        """Described."""\n'
        'def helper(): pass\n'
        'class Plain: pass\n',
        vars(module),
    )
    assert _undocumented(module, ('documented',)) == [
        'documented.Layer.forward',
        'documented.Layer.make',
        'documented.Layer.size',
        'documented.Plain',
        'documented._Base.shared',
        'documented.helper',
    ]
