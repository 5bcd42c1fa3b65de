"""BCP-47 language tags for caption tracks: well-formed, with a primary language ISO 639 knows."""

import re

# ISO 639-1 two-letter codes (the primary subtag of nearly every caption language).
ISO_639_1 = frozenset(
    """aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz
    ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo
    lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps
    pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn
    to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu""".split()
)
# Three-letter languages without a two-letter code that captions commonly use.
ISO_639_3_EXTRA = frozenset("ast ceb fil haw hmn yue cmn nan wuu hak sco gsw kok mai mni sat".split())
# Cloudflare generates captions for these languages only.
GENERATABLE = ("cs", "nl", "en", "fr", "de", "it", "ja", "ko", "pl", "pt", "ru", "es")
MAX_TAG_LENGTH = 35

_TAG = re.compile(
    r"^(?P<language>[a-z]{2,3})"
    r"(?:-(?P<script>[a-z]{4}))?"
    r"(?:-(?P<region>[a-z]{2}|\d{3}))?"
    r"(?:-(?:[a-z\d]{5,8}|\d[a-z\d]{3}))*$",
    re.IGNORECASE,
)


class InvalidLanguage(ValueError):
    """A caption language that is not a BCP-47 tag the portal knows; the message says why."""


def normalize_language(tag):
    """The tag in its canonical case (`pt-BR`, `zh-Hant-TW`), or InvalidLanguage saying what is wrong."""
    if not isinstance(tag, str) or not tag.strip():
        raise InvalidLanguage("'language' is required: a BCP-47 tag such as en or pt-BR.")
    tag = tag.strip().replace("_", "-")
    if len(tag) > MAX_TAG_LENGTH:
        raise InvalidLanguage(f"The language tag is longer than {MAX_TAG_LENGTH} characters.")
    match = _TAG.match(tag)
    if not match:
        raise InvalidLanguage(f"'{tag}' is not a BCP-47 language tag (such as en, de, pt-BR or zh-Hant-TW).")
    primary = match.group("language").lower()
    if primary not in ISO_639_1 and primary not in ISO_639_3_EXTRA:
        raise InvalidLanguage(f"'{primary}' in '{tag}' is not a known ISO 639 language code.")
    parts = tag.split("-")
    canonical = [primary]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            canonical.append(part.title())
        elif len(part) == 2 and part.isalpha():
            canonical.append(part.upper())
        else:
            canonical.append(part.lower())
    return "-".join(canonical)


def check_generatable(language):
    """Raise InvalidLanguage unless Cloudflare can generate captions in `language`."""
    if language.split("-")[0] not in GENERATABLE or "-" in language:
        raise InvalidLanguage(
            f"Stream cannot generate captions in '{language}'; it can in: {', '.join(GENERATABLE)}."
        )
