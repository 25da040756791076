"""The one exception type that reaches the user as a one-line message instead of a traceback."""


class UserError(Exception):
    """Bad input or an unusable file: printed as `learnapp: error: <message>`, exit status 2."""
