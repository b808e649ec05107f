"""The service layer's own exceptions: what pages catch and turn into a message for the user."""


class ServiceError(Exception):
    """Base class: the message is safe and useful to show to a user."""


class DataUnavailable(ServiceError):
    """No usable database: missing, corrupt or being rebuilt."""


class QueryFailed(ServiceError):
    """A query failed inside DuckDB; the original error is chained for the logs."""


class InvalidFilter(ServiceError):
    """A filter value from the URL could not be used (e.g. a malformed date)."""


class ImportRejected(ServiceError):
    """A source file breaks the data contract; the message names file, row and column."""
