"""What an account may be called: one canonical email per mailbox, no lookalikes, names without
invisible controls."""

import unicodedata

from email_validator import EmailNotValidError, validate_email

# Letters of these scripts mix in ordinary Japanese; any other mix in one part of an address is a
# lookalike (a Cyrillic "а" in a Latin name).
JAPANESE = frozenset({"CJK", "HIRAGANA", "KATAKANA"})
# Format characters that belong in real names: zero-width joiner and non-joiner (emoji sequences,
# Persian and Indic spellings). Every other Cc/Cf character (bidi overrides and isolates, zero-width
# spaces, soft hyphens...) is invisible or reorders text, so names refuse them.
HARMLESS_FORMAT = frozenset({"\u200c", "\u200d"})
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Characters outside those categories that still show nothing: the Hangul fillers (letters), the
# Braille blank and the combining grapheme joiner; a name of them alone looks empty.
BLANK_CHARACTERS = frozenset({"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u034f"})


class InvalidIdentity(ValueError):
    """An email or name the portal does not accept, with a message for the person."""


def letter_script(char):
    """The script of a letter, from its Unicode name (LATIN, CYRILLIC, GREEK, CJK...), or None."""
    if not unicodedata.category(char).startswith("L"):
        return None
    name = unicodedata.name(char, "")
    return name.split(" ")[0] if name else "UNKNOWN"


def mixed_script(text):
    """True when the letters of `text` come from more than one script (Japanese mixes excepted)."""
    scripts = {script for script in map(letter_script, text) if script}
    return len(scripts) > 1 and not scripts <= JAPANESE


def canonical_email(raw):
    """The address as stored and compared: email-validator's normalized form (NFC), lower-cased.

    Refuses what is not an address, fullwidth or other compatibility characters (which NFKC would
    fold onto other letters) and parts that mix scripts.
    """
    text = (raw or "").strip()
    try:
        text.encode("utf-8")
        normalized = validate_email(text, check_deliverability=False).normalized
    except (EmailNotValidError, UnicodeEncodeError):
        raise InvalidIdentity(f"{text!r} is not a valid email address.") from None
    if unicodedata.normalize("NFKC", text) != unicodedata.normalize("NFC", text):
        raise InvalidIdentity("Email addresses may not contain fullwidth or other compatibility characters.")
    local, _, domain = normalized.rpartition("@")
    if any(mixed_script(part) for part in [local, *domain.split(".")]):
        raise InvalidIdentity("Each part of an email address must be written in one script.")
    return normalized.lower()


def check_display_name(name):
    """The name, trimmed, if it has no control, bidi or other invisible format characters."""
    name = (name or "").strip()
    for char in name:
        refused = unicodedata.category(char) in REFUSED_CATEGORIES and char not in HARMLESS_FORMAT
        if refused or char in BLANK_CHARACTERS:
            raise InvalidIdentity(
                f"Names must not contain control characters or invisible formatting (U+{ord(char):04X})."
            )
    return name
