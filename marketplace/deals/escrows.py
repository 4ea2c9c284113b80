"""What happens to a job when its escrow expires or cannot be funded.

`payments` asks (its `escrow_expired` and `escrow_failed` extension points); these answer,
registered in `MarketplaceConfig.ready()`: the escrow's job decides.
"""

from __future__ import annotations

from marketplace.deals.jobs import job_escrow_expired, job_escrow_failed
from marketplace.deals.models import Job
from payments.escrow import escrow_refund
from payments.models import Escrow


def escrow_expired(escrow: Escrow) -> None:
    """What reconciliation does with an expired, still-held escrow: its job decides
    (`job_escrow_expired`); an escrow without a job is refunded."""
    job = Job.objects.filter(escrow=escrow).first()
    if job is None:
        escrow_refund(escrow, reason="expired without a job")
    else:
        job_escrow_expired(job)


def escrow_failed(escrow: Escrow) -> None:
    """What happens when the contract refused to fund an escrow: its job decides
    (`job_escrow_failed`); an escrow without a job goes back to its payer."""
    job = Job.objects.filter(escrow=escrow).first()
    if job is None:
        escrow_refund(escrow, reason="its funding failed")
    else:
        job_escrow_failed(job)
