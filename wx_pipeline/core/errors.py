"""Exceptions the CLI reports as one line (exit 2) instead of a traceback."""


class WxUserError(Exception):
    """A problem the user can fix (configuration, input); its str() is one line.

    Subclass this for any error that should reach the terminal as
    `wx-pipeline: <message>` rather than as a traceback.
    """
