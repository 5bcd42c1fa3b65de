"""Enqueueing a job under its deterministic id once, replacing an earlier run that has ended."""

from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

ENDED = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def enqueue_once(queue, job_id, make_and_enqueue):
    """Run `make_and_enqueue()` (which enqueues or schedules with unique=True under `job_id`).

    True if it enqueued; False if a job with that id is still waiting, scheduled or running.
    An ended job under the id (finished, failed, stopped) is deleted and replaced.
    """
    for _attempt in range(2):
        try:
            make_and_enqueue()
            return True
        except DuplicateJobError:
            try:
                existing = Job.fetch(job_id, connection=queue.connection)
            except NoSuchJobError:
                continue  # it ended and went away meanwhile: try once more
            if existing.get_status(refresh=True) not in ENDED:
                return False
            existing.delete()
    return False
