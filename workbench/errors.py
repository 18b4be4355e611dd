"""The one exception a user mistake raises; the CLI turns it into a one-line error and exit 1."""


class WorkbenchError(Exception):
    """A problem with the user's input or environment, stated in one line."""
