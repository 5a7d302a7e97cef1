"""Errors a user can cause, as opposed to bugs: the CLI prints them on one line and exits 2."""


class InputError(ValueError):
    """Bad input from the user: an impossible request, a malformed file, an unknown name."""
