"""Finding your own actor class from ``package.module:Class``, for ``drwlab run --actor``.

Every failure is a ValueError that says what to fix (the module cannot be
imported, the name is not an Actor subclass, the arguments do not fit its
constructor), checked before any store is opened.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from drwlab.actors.base import Actor


def load_actor_class(spec: str) -> type[Actor]:
    """The Actor subclass ``spec`` (``package.module:Class``) names; ValueError if none."""
    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        raise ValueError(f"--actor wants package.module:Class, not {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise ValueError(
            f"cannot import {module_name!r} ({error}): is its directory the current one, "
            "or given with --app-dir?"
        ) from None
    except Exception as error:  # the module's own code failed: say which and why
        raise ValueError(
            f"importing {module_name!r} failed: {type(error).__name__}: {error}"
        ) from error
    found: Any = module
    for part in class_name.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise ValueError(f"module {module_name!r} has no {class_name!r}")
    if not (isinstance(found, type) and issubclass(found, Actor)):
        raise ValueError(
            f"{spec} is not an Actor subclass but {found!r:.80}: "
            "subclass drwlab.actors.Actor (see docs/actors.md)"
        )
    return found


def check_arguments(cls: type[Actor], arguments: Mapping[str, Any]) -> None:
    """ValueError if ``cls(bus, store, **arguments)`` does not fit the constructor."""
    signature = inspect.signature(cls)
    try:
        signature.bind(None, None, **arguments)
    except TypeError as error:
        raise ValueError(
            f"{cls.__module__}.{cls.__qualname__}{signature}: {error} "
            "(give keyword arguments as --arg NAME=VALUE)"
        ) from None
