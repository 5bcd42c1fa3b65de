"""What Stream's `errorReasonCode` means for the person who uploaded, and what they can do about it.

Cloudflare documents six codes (developers.cloudflare.com/stream/manage-video-library/using-webhooks):
ERR_NON_VIDEO, ERR_DURATION_EXCEED_CONSTRAINT, ERR_FETCH_ORIGIN_ERROR, ERR_MALFORMED_VIDEO,
ERR_DURATION_TOO_SHORT and ERR_UNKNOWN. Anything else (a code added later, or none) reads as unknown.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorMeaning:
    """A failure reason in plain words, and the next step for the uploader."""

    code: str
    meaning: str
    what_to_do: str

    @property
    def sentence(self):
        """The meaning and the next step as one sentence pair, for the asset and notifications."""
        return f"{self.meaning}. {self.what_to_do}."


MEANINGS = {
    meaning.code: meaning
    for meaning in (
        ErrorMeaning(
            "ERR_NON_VIDEO",
            "The file is not a video",
            "Check you picked the right file, then upload it again",
        ),
        ErrorMeaning(
            "ERR_DURATION_EXCEED_CONSTRAINT",
            "The video is longer than allowed",
            "Trim it or split it into parts, then upload each part",
        ),
        ErrorMeaning(
            "ERR_FETCH_ORIGIN_ERROR",
            "Stream could not fetch the video from its address",
            "Check the link opens without signing in, or upload the file itself",
        ),
        ErrorMeaning(
            "ERR_MALFORMED_VIDEO",
            "The file is damaged or in a format Stream cannot read",
            "Export it again as MP4 (H.264 video, AAC audio) and upload that",
        ),
        ErrorMeaning(
            "ERR_DURATION_TOO_SHORT",
            "The video is too short (under a tenth of a second)",
            "Check the export finished, then upload the full video",
        ),
        ErrorMeaning(
            "ERR_UNKNOWN",
            "Stream could not process the video, for a reason it did not give",
            "Upload it again; if it fails twice, ask an admin",
        ),
    )
}
UNKNOWN = MEANINGS["ERR_UNKNOWN"]
MISSING_ON_STREAM = ErrorMeaning(
    "MISSING_ON_STREAM",
    "Stream no longer has this video",
    "Upload it again",
)


def meaning_of(code):
    """The ErrorMeaning of a Stream errorReasonCode (unknown or empty codes read as ERR_UNKNOWN)."""
    if isinstance(code, str):
        return MEANINGS.get(code.strip().upper(), UNKNOWN)
    return UNKNOWN
