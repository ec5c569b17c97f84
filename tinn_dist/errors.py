"""The one exception type users see: a single line naming the file/field and what was expected."""


class TinnError(Exception):
    """Bad input or misuse. The CLI prints ``tinn: error: <message>`` and exits with status 2."""
