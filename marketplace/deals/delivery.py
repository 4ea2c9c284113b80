"""The provider's delivery from the dashboard: deliverables, and a file with them.

One transaction: the deliverables are checked against the service's `deliverable_schema`
(by `job_update`, the rule the API applies) and a file given with them is posted to the
job's thread; a refusal of either leaves nothing written.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from marketplace.deals.jobs import job_update
from marketplace.deals.models import Job, ThreadMessage
from marketplace.deals.threads import message_post
from payments.models import Participant


@transaction.atomic
def job_deliver(
    *,
    job: Job,
    provider: Participant,
    deliverables: Any,
    notes: str = "",
    upload: UploadedFile | None = None,
) -> Job:
    """Complete `job` with `deliverables`, then post `upload` (at most 25 MB) to its
    thread as an attachment. The deliverables are judged first, so a refused delivery never
    stores a file. The buyer verifies a human service's delivery; an automated one is
    released at once and its thread closed, so a file must come before (a message)."""
    completed = job_update(
        job=job,
        provider=provider,
        status=Job.Status.COMPLETED,
        deliverables=deliverables,
        notes=notes,
    )
    if upload is not None and job.thread is not None:
        message_post(
            thread=job.thread,
            sender=provider,
            kind=ThreadMessage.Kind.ATTACHMENT,
            text=notes or "Delivery",
            upload=upload,
        )
    return completed
