"""Text from rows inside a markdown table: a task or method name must not add rows, columns or colours."""

from __future__ import annotations


def md_cell(value) -> str:
    """One table cell: `|` escaped, `<` as an entity, newlines and other control characters (ANSI escapes) as
    \\xNN."""
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in str(value))
    return text.replace("|", "\\|").replace("<", "&lt;")
