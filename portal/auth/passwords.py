"""The password policy (NIST SP 800-63B): length, a blocklist, nothing about the account, no reuse.

No composition rules. 10 to 256 characters, no control characters (which no sign-in form sends back).
Refused: common and guessable passwords (zxcvbn's bundled dictionaries of leaked passwords, words and names, plus repeats, sequences and keyboard patterns; all
shipped with the package, nothing fetched), the account's email, its local part or its name, words of
the portal itself, and the account's current password. Every place that sets a password asks this
module: creating accounts (admin page, `flask create-user`), the account page, an admin's new password.
"""

import unicodedata

from zxcvbn import zxcvbn

MIN_LENGTH = 10
MAX_LENGTH = 256
# zxcvbn rates 0..4; below 2 means under 10^6 guesses: on a list, or a small variation of one.
MIN_SCORE = 2
# zxcvbn's matching grows quickly with length; a longer password is judged by its first 72 characters.
SCORED_LENGTH = 72
SERVICE_WORDS = ("portal", "member", "members", "video", "videos", "wwmaa", "martial", "karate")


class WeakPassword(ValueError):
    """A password the policy refuses, with a message saying why."""


def account_words(email="", name=""):
    """What a password must not be built from: the email, its local part, the name and its words."""
    email = (email or "").strip().lower()
    words = [email, email.partition("@")[0], (name or "").strip().lower()]
    words += (name or "").lower().split()
    return [word for word in words if word]


def check_new_password(password, email="", name="", current=None):
    """Refuse (WeakPassword) a password the policy does not allow for this account; None if fine.

    `current`: the account whose password this replaces; its current password is refused.
    """
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise WeakPassword(f"Use {MIN_LENGTH} to {MAX_LENGTH} characters.")
    if any(unicodedata.category(char) == "Cc" for char in password):
        # /api/auth/login refuses NUL, and a browser's password field cannot hold a tab or newline.
        raise WeakPassword("Passwords may not contain control characters (tabs, line breaks, NUL).")
    words = account_words(email, name)
    if password.strip().lower() in words:
        raise WeakPassword("Your password must not be your email address or your name.")
    result = zxcvbn(password[:SCORED_LENGTH], user_inputs=[*words, *SERVICE_WORDS])
    if result["score"] < MIN_SCORE:
        raise WeakPassword(
            "This password is too common or too easy to guess (a known password, a word, a name, "
            "your email or a simple pattern). A few unrelated words make a strong one."
        )
    if current is not None and current.password_hash and current.check_password(password):
        raise WeakPassword("Choose a password different from your current one.")
