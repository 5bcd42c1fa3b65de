"""Stream's webhook route: verify the signature, put the delivery in the inbox (Redis; the database
when Redis is down), 200. The `webhooks` worker stores and applies it."""

import logging
import time

from flask import current_app, jsonify, request
from redis import RedisError
from werkzeug.exceptions import RequestEntityTooLarge

from portal.errors import APIError
from portal.jobs.webhooks import enqueue_drain
from portal.services import stream_events, webhook_inbox
from portal.services.stream.webhooks import (
    TOLERANCE_SECONDS,
    parse_signature_header,
    verify_webhook_signature,
)
from portal.webhooks import bp
from portal.webhooks.refusals import count_refused

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
SIGNATURE_HEADER = "Webhook-Signature"


def webhook_secret():
    """CLOUDFLARE_STREAM_WEBHOOK_SECRET (environment, or the settings file merged at start-up), or None.

    Only the secret: the Stream client is never built here, so no other Stream setting can stop webhooks.
    """
    return current_app.config.get("CLOUDFLARE_STREAM_WEBHOOK_SECRET") or None


def read_raw_body():
    """The request body exactly as sent, at most MAX_BODY_BYTES (else 413)."""
    too_large = APIError(413, "payload_too_large", f"The body exceeds {MAX_BODY_BYTES} bytes.")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise too_large
    # A chunked body has no Content-Length: werkzeug stops reading at max_content_length without
    # an error, so read one byte more than allowed and refuse if it arrives.
    request.max_content_length = MAX_BODY_BYTES + 1
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise too_large from None
    if len(raw) > MAX_BODY_BYTES:
        raise too_large
    return raw


def refuse(reason, error):
    """Count a refused delivery (for the operations page), then raise its APIError."""
    count_refused(current_app.extensions["redis"].connection, reason)
    raise error


@bp.post("/cloudflare/stream")
def cloudflare_stream():
    """Cloudflare Stream's webhook: answer fast; the `webhooks` worker applies the video object."""
    try:
        raw = read_raw_body()
    except APIError as error:
        refuse("too_large", error)
    secret = webhook_secret()
    if not secret:
        log.error("Stream webhook received but no CLOUDFLARE_STREAM_WEBHOOK_SECRET is configured")
        raise APIError(503, "webhook_not_configured", "No webhook secret is configured.")
    header = request.headers.get(SIGNATURE_HEADER)
    parsed = parse_signature_header(header)
    if parsed is None:
        refuse(
            "malformed_header",
            APIError(
                400,
                "invalid_signature_header",
                "Webhook-Signature must look like time=<unix seconds>,sig1=<64 hex digits>.",
            ),
        )
    if not verify_webhook_signature(raw, header, secret, parsed=parsed):
        log.warning("Stream webhook with a bad signature or a timestamp outside ±300 s (time=%s)", parsed[0])
        stale = abs(time.time() - parsed[0]) > TOLERANCE_SECONDS
        refuse(
            "stale" if stale else "bad_signature",
            APIError(401, "invalid_signature", "The signature does not match or the timestamp is too old."),
        )
    try:
        video = stream_events.parse_payload(raw)
    except stream_events.InvalidPayload as error:
        refuse("invalid_payload", APIError(400, "invalid_payload", str(error)))
    try:
        outcome = webhook_inbox.accept(current_app.extensions["redis"].connection, raw, parsed[0])
    except RedisError:
        return record_without_redis(raw, parsed[0], video)
    if outcome == webhook_inbox.DUPLICATE:
        return jsonify(status="duplicate")
    if outcome == webhook_inbox.ACCEPTED_FIRST:
        try:
            enqueue_drain()
        except RedisError:
            log.error(
                "Stream webhook in the inbox, but its drain job could not be enqueued; "
                "the scheduled reconcile stores it",
                exc_info=True,
            )
    return jsonify(status="accepted")


def record_without_redis(raw, signature_time, video):
    """Redis is unreachable: record the delivery in the database (committed) and answer; the
    scheduled reconcile enqueues its apply job once Redis is back."""
    delivery_id, created = stream_events.record_delivery(raw, signature_time, video)
    if created:
        log.error(
            "Stream webhook %s recorded but not enqueued (Redis unavailable); "
            "`flask stream reconcile` will enqueue it",
            delivery_id,
            exc_info=True,
        )
    return jsonify(status="accepted" if created else "duplicate")
