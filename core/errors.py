"""The engine's documented errors.

Every user mistake the engine can detect is raised as one of these, with a message that
names the file, column or row and says what to do. The CLI turns them into one line on
stderr and exit status 2; the dashboard turns them into ``st.error``.
"""


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
