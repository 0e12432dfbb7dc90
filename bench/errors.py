"""Errors the user can fix. The CLI prints them as one line and exits with code 2."""


class BenchError(Exception):
    """Bad input: unknown name, malformed file, bad override, missing device, bad checksum."""


class Unsupported(Exception):
    """A method this model cannot take: recorded as an `unsupported` row, not a crash."""


def choices(names) -> str:
    return ", ".join(sorted(names)) or "(none)"
