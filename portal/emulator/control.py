"""Emulator-only control paths under /__emulator__: faults, reset, webhook deliveries (for tests)."""

from flask import Blueprint, current_app, jsonify, request

control = Blueprint("emulator_control", __name__, url_prefix="/__emulator__")


def _emulator():
    return current_app.extensions["stream_emulator"]


@control.post("/faults")
def add_fault():
    """Arm a fault from its JSON spec; 400 with the reason for a bad spec."""
    spec = request.get_json(silent=True, force=True)
    if not isinstance(spec, dict):
        return jsonify({"error": "the body must be a JSON object"}), 400
    try:
        fault = _emulator().faults.add(spec)
    except (ValueError, TypeError) as error:
        return jsonify({"error": str(error)}), 400
    return jsonify({"fault": fault.describe(), "faults": _emulator().faults.armed()}), 201


@control.get("/faults")
def list_faults():
    """The faults still armed."""
    return jsonify({"faults": _emulator().faults.armed()})


@control.delete("/faults")
def clear_faults():
    """Disarm every fault."""
    _emulator().faults.clear()
    return jsonify({"faults": []})


@control.post("/reset")
def reset():
    """Wipe videos, signing keys, the webhook subscription, the delivery log and views (faults stay armed)."""
    _emulator().reset()
    return jsonify({"reset": True})


@control.get("/webhook-deliveries")
def webhook_deliveries():
    """Every webhook delivery so far: url, videoUid, state, statusCode, attempts, delivered, history."""
    return jsonify({"deliveries": _emulator().webhooks.deliveries()})


@control.get("/health")
def health():
    """A liveness check for scripts waiting on the server."""
    return jsonify({"ok": True, "account_id": _emulator().account_id})
