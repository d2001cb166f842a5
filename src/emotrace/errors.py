"""Errors that end a run with a one-line message (exit code 2 in the CLI)."""

from __future__ import annotations


class EmotraceError(Exception):
    """Base class: ``str(err)`` is a complete, one-line message for the user."""

    exit_code = 1


class InputError(EmotraceError):
    """Bad input media or arguments: missing, unreadable, corrupt, truncated, no stream..."""

    exit_code = 2

    def __init__(self, path: object, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class OutputError(EmotraceError):
    """The result cannot be written where asked (exists, unwritable...)."""

    exit_code = 2

    def __init__(self, path: object, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ModelNotFound(EmotraceError):
    """A model asset is missing; the message says how to get it."""

    exit_code = 2


class DependencyMissing(EmotraceError):
    """An optional dependency of a stage or backend is not installed."""

    exit_code = 2


class ConfigError(EmotraceError):
    exit_code = 2
