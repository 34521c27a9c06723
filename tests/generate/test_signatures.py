"""No function or method in ``wavekit.generate`` takes more than 12 parameters.

Long positional signatures are where two same-shaped arrays get swapped silently; the
generation code passes named values instead (:class:`wavekit.generate.kernel_values.Weights`,
:class:`~wavekit.generate.kernel_values.Slots`). Every parameter of the signature counts,
``self`` / ``cls`` included, and so do ``*args`` / ``**kwargs`` (one each). Compiled
(numba ``@njit``) functions are checked through their Python function (``.py_func``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator

import wavekit.generate

MAX_PARAMETERS = 12


def _modules() -> Iterator[object]:
    yield wavekit.generate
    for info in pkgutil.iter_modules(wavekit.generate.__path__, "wavekit.generate."):
        yield importlib.import_module(info.name)


def _python_function(obj: object) -> Callable | None:
    """The plain Python function behind obj (a function, an njit dispatcher, a static/class method), or None."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    obj = getattr(obj, "py_func", obj)  # numba dispatchers keep the decorated function here
    return obj if inspect.isfunction(obj) else None


def _functions() -> Iterator[tuple[str, Callable]]:
    """(qualified name, function) of every function and method defined in a wavekit.generate module."""
    for module in _modules():
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                for attr, member in vars(obj).items():
                    fn = _python_function(member)
                    if fn is not None and fn.__module__ == module.__name__:
                        yield f"{module.__name__}.{name}.{attr}", fn
            else:
                fn = _python_function(obj)
                if fn is not None and fn.__module__ == module.__name__:
                    yield f"{module.__name__}.{name}", fn


def test_the_walk_sees_compiled_kernels_and_methods():
    names = {name for name, _ in _functions()}
    assert "wavekit.generate.kernels.run_steps" in names  # an njit dispatcher
    assert "wavekit.generate.fused.NumbaSlots.fill" in names  # a method
    assert len(names) > 50


def test_no_function_takes_more_than_12_parameters():
    too_long = {
        name: len(inspect.signature(fn).parameters)
        for name, fn in _functions()
        if len(inspect.signature(fn).parameters) > MAX_PARAMETERS
    }
    assert not too_long, f"more than {MAX_PARAMETERS} parameters (pass a named value instead): {too_long}"
