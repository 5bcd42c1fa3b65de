"""The one exception the Stream client raises for anything Cloudflare (or the network) refuses."""


class StreamError(Exception):
    """A failed Stream call, carrying the HTTP status and Cloudflare's `errors` list."""

    def __init__(self, message, status_code=None, errors=None, retry_after=None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.errors = list(errors or [])
        self.retry_after = retry_after

    @property
    def codes(self):
        """Cloudflare's numeric error codes, e.g. [10000] for an authentication error."""
        return [e.get("code") for e in self.errors if isinstance(e, dict)]

    def __str__(self):
        return self.message


def describe_errors(errors):
    """Render Cloudflare's `errors` list as `code message; code message`."""
    parts = []
    for item in errors or []:
        if isinstance(item, dict):
            code, text = item.get("code"), item.get("message", "")
            parts.append(f"{code} {text}".strip() if code is not None else str(text))
        else:
            parts.append(str(item))
    return "; ".join(p for p in parts if p)
