"""POST /api/admin/jobs/<queue>/<job_id>/requeue: requeue a failed job (admins), as JSON."""

from flask import current_app, jsonify

from portal.admin.operations import check_job_reference
from portal.api import bp
from portal.auth.access import api_login_required
from portal.errors import APIError
from portal.models import Role
from portal.services import operations


@bp.post("/admin/jobs/<queue_name>/<job_id>/requeue")
@api_login_required(Role.ADMIN)
def api_requeue_job(queue_name, job_id):
    """Put a failed job back on its queue; 404 job_not_found when it is not a failed job there."""
    not_found = APIError(
        404, "job_not_found", f"No failed job {job_id[:200]!r} in queue {queue_name[:50]!r}."
    )
    if not check_job_reference(queue_name, job_id):
        raise not_found
    try:
        job = operations.requeue_failed_job(current_app.extensions["redis"].connection, queue_name, job_id)
    except operations.JobNotFound:
        raise not_found from None
    return jsonify(job_id=job.id, queue=queue_name, status="queued")
