"""The README's profile table is the one the profiles generate."""

from pathlib import Path

from emu.ffa.profile_table import render_markdown

README = Path(__file__).resolve().parent.parent / "README.md"


def test_profile_table_is_current() -> None:
    text = README.read_text()
    begin, end = "<!-- profiles:begin -->\n", "<!-- profiles:end -->"
    table = text[text.index(begin) + len(begin):text.index(end)]
    assert table == render_markdown(), "regenerate it: ffa-emu profiles"
