"""Helpers shared by the `hotline` command modules."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from typing import TypeVar
from typing import cast

import click

from processes.errors import RuntimeErrorBase

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(fn: F) -> F:
    """Turn runtime errors into a one-line message and exit status 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RuntimeErrorBase as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc

    return cast(F, wrapper)
