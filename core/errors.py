"""The engine's documented errors.

Every user mistake the engine can detect is raised as one of these, with a message that
names the file, column or row and says what to do. The CLI turns them into one line on
stderr and exit status 2; the dashboard turns them into ``st.error``.
"""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), else its type's
    name: how a library's error is quoted inside one of ours."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


class SegmentationError(Exception):
    """Base class: a problem with the user's input or choices, never a bug."""


class InputFileError(SegmentationError):
    """The file cannot be read: missing, empty, corrupt, too large or of an unknown kind."""


class ColumnMappingError(SegmentationError):
    """A required column role cannot be found, or a mapped column does not exist."""


class DataValidationError(SegmentationError):
    """The data was read but cannot be used: dates that do not parse, no rows left."""


class ConfigError(SegmentationError):
    """A parameter is out of range: k, as-of date, R/F/M values given to score."""


class ModelStoreError(SegmentationError):
    """A saved model is missing, unknown, or its file does not match its manifest hash."""


def engine_failure(exc: BaseException, name: str = "") -> str | None:
    """One line for an error the engine (DuckDB) raised on a user's file, None for any other
    exception; no import of the engine (its exceptions are told by their module)."""
    if (type(exc).__module__ or "").lstrip("_").split(".")[0] != "duckdb":
        return None
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    what = lines[0][:200] if lines else type(exc).__name__
    return (
        f"{name + ': ' if name else ''}the engine could not process the file ({what}); check "
        "the file (export it again), or pass its first lines to the team"
    )
