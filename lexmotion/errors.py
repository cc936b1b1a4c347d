"""One exception type for problems in the user's input (files, values, options).

The command line prints these as a single line, without a traceback.
"""


class LexmotionError(Exception):
    """A problem with the user's input, stated in one line that names the file or value."""
