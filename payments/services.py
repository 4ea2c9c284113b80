"""Writes to identities: participants, API keys and webhook secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from payments import crypto, hooks
from payments.models import ApiKey, Participant
from payments.wallets import normalize_address
from the402.lib.errors import ApplicationError

_API_KEY_PURPOSE = "api-key"
_WEBHOOK_PURPOSE = "webhook-secret"
_WEBHOOK_PREVIOUS = "webhook-secret-previous"


def _wallet(value: str) -> str:
    try:
        return normalize_address(value)
    except ValueError as exc:
        raise ApplicationError(str(exc), code="invalid_wallet") from None


@transaction.atomic
def participant_create(
    *,
    wallet: str,
    name: str = "",
    type: str = Participant.Type.AGENT,
    description: str = "",
    webhook_url: str = "",
    capabilities: list[Any] | None = None,
) -> Participant:
    """Create a participant for a wallet (checksummed); the wallet must be new. It has a
    webhook secret from the start, so nothing it is ever sent goes unsigned."""
    participant = Participant(
        wallet=_wallet(wallet),
        name=name.strip(),
        type=type,
        description=description.strip(),
        webhook_url=webhook_url,
        capabilities=capabilities or [],
    )
    _webhook_secret_set(participant)
    participant.full_clean()
    participant.save()
    return participant


def participant_for_wallet(wallet: str) -> Participant:
    """The participant a wallet stands for, created on its first payment ("payment IS auth")."""
    wallet = _wallet(wallet)
    participant = Participant.objects.filter(wallet=wallet).first()
    if participant is not None:
        return participant
    try:
        with transaction.atomic():
            return Participant.objects.create(wallet=wallet)
    except IntegrityError:  # a concurrent first payment from the same wallet created it
        return Participant.objects.get(wallet=wallet)


@dataclass(frozen=True)
class Registration:
    participant: Participant
    api_key: str
    created: bool
    webhook_secret: str  # signs every webhook to this participant, whatever its URL
    # What became of the sign-up's referral code (`hooks.referral_record`); None without one.
    referral: dict[str, Any] | None = None


@transaction.atomic
def participant_register(
    *,
    wallet: str,
    name: str,
    type: str,
    description: str = "",
    webhook_url: str = "",
    capabilities: list[Any] | None = None,
    referral_code: str = "",
) -> Registration:
    """Register a wallet, once: a repeat answers with the existing participant and key.

    A wallet known only from earlier payments becomes registered now (and gets its key).
    Every registration has a webhook secret, with or without a `webhook_url`: a provider
    may give its services their own URLs later, and those webhooks are signed too.
    A `referral_code` (checked before payment with `hooks.referral_check`) is recorded in
    this transaction by `hooks.referral_record` (the referrals app).
    """
    participant = Participant.objects.select_for_update().filter(
        wallet=_wallet(wallet)
    ).first() or participant_for_wallet(wallet)
    if participant.registered_at is not None:
        return Registration(
            participant,
            api_key_reveal(participant=participant),
            created=False,
            webhook_secret=webhook_secret_ensure(participant),
            referral=_referral_record(participant, referral_code),
        )
    participant.name = name.strip()
    participant.type = type
    participant.description = description.strip()
    participant.webhook_url = webhook_url
    participant.capabilities = capabilities or []
    participant.registered_at = timezone.now()
    secret = webhook_secret(participant) or _webhook_secret_set(participant)
    participant.full_clean()
    participant.save()
    referral = _referral_record(participant, referral_code)
    return Registration(
        participant,
        api_key_issue(participant=participant),
        created=True,
        webhook_secret=secret,
        referral=referral,
    )


def _referral_record(participant: Participant, code: str) -> dict[str, Any] | None:
    """Tie the participant to the code's referrer (the referrals app decides: a participant
    already tied stays with its referrer); None without a code."""
    if not code:
        return None
    return hooks.referral_record(
        hooks.ReferralClaim(
            code=code,
            wallet=participant.wallet,
            participant=participant,
            side="provider" if participant.is_provider else "agent",
        )
    )


@transaction.atomic
def api_key_issue(*, participant: Participant) -> str:
    """A new API key for the participant; any previous key stops working at once."""
    ApiKey.objects.filter(participant=participant, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    key = crypto.new_api_key()
    ApiKey.objects.create(
        participant=participant,
        key_hash=crypto.lookup_hash(key, purpose=_API_KEY_PURPOSE),
        key_encrypted=crypto.encrypt(key, purpose=_API_KEY_PURPOSE),
        hint=key[:7],
    )
    return key


def api_key_reveal(*, participant: Participant) -> str:
    """The participant's live key, decrypted (register answers repeats with it)."""
    record = ApiKey.objects.filter(participant=participant, revoked_at__isnull=True).first()
    if record is None:
        return api_key_issue(participant=participant)
    return crypto.decrypt(bytes(record.key_encrypted), purpose=_API_KEY_PURPOSE)


def participant_for_api_key(key: str) -> Participant | None:
    """Who a presented API key belongs to, if it is live."""
    if not key.startswith(crypto.API_KEY_PREFIX) or len(key) > 100:
        return None
    # Raw SQL: every key-authenticated or balance-paid request runs this, and compiling the
    # equivalent ORM query cost more than the query itself.
    found = list(
        Participant.objects.raw(
            _PARTICIPANT_BY_KEY, [crypto.lookup_hash(key, purpose=_API_KEY_PURPOSE)]
        )
    )
    if not found:
        return None
    participant = found[0]
    # The keyed hash already matched; comparing the keys themselves in constant time
    # guards against a hash collision without leaking timing.
    # `key_encrypted` is a column of the raw query above, not a field of Participant.
    encrypted = participant.key_encrypted  # type: ignore[attr-defined]
    del participant.key_encrypted  # type: ignore[attr-defined]
    stored = crypto.decrypt(bytes(encrypted), purpose=_API_KEY_PURPOSE)
    return participant if crypto.constant_time_equal(stored, key) else None


_PARTICIPANT_BY_KEY = (
    f"SELECT p.*, k.key_encrypted FROM {Participant._meta.db_table} p "  # noqa: S608
    f"JOIN {ApiKey._meta.db_table} k ON k.participant_id = p.id "
    "WHERE k.key_hash = %s AND k.revoked_at IS NULL"
)


@transaction.atomic
def participant_update(*, participant: Participant, **fields: Any) -> str | None:
    """Update a profile. The webhook secret never changes with the URL (a new URL, or none,
    keeps it: rotate it on request with `webhook_secret_rotate`); a participant without a
    secret (created before every participant had one) gets one, returned once."""
    allowed = {"name", "description", "webhook_url", "capabilities", "type"}
    unknown = set(fields) - allowed
    if unknown:
        raise ApplicationError(f"cannot update: {', '.join(sorted(unknown))}", code="invalid_field")
    secret = None
    if not participant.webhook_secret_encrypted:
        secret = _webhook_secret_set(participant)
    for name, value in fields.items():
        setattr(participant, name, value.strip() if isinstance(value, str) else value)
    participant.full_clean()
    participant.save()
    return secret


def webhook_secret(participant: Participant) -> str | None:
    """The secret the platform signs this participant's webhooks with."""
    if not participant.webhook_secret_encrypted:
        return None
    return crypto.decrypt(bytes(participant.webhook_secret_encrypted), purpose=_WEBHOOK_PURPOSE)


@transaction.atomic
def webhook_secret_rotate(*, participant: Participant) -> str:
    """A new webhook secret for `participant` (returned once), for its own URL and its
    services' URLs alike. During the grace period (`THE402_WEBHOOK_SECRET_GRACE_HOURS`)
    each webhook also carries a signature by the old one (`X-Webhook-Signature-Previous`,
    `webhook_secret_previous`), kept sealed meanwhile, so the provider can deploy."""
    locked = Participant.objects.select_for_update().get(pk=participant.pk)
    old = webhook_secret(locked)
    if locked.webhook_secret_previous_sealed:  # a secret two rotations old: gone for good
        crypto.destroy(bytes(locked.webhook_secret_previous_sealed))
    secret = _webhook_secret_set(locked)
    grace = timedelta(hours=settings.WEBHOOK_SECRET_GRACE_HOURS)
    if old is not None and grace:
        locked.webhook_secret_previous_sealed = crypto.seal(old, purpose=_WEBHOOK_PREVIOUS)
        locked.webhook_secret_grace_until = timezone.now() + grace
    else:
        locked.webhook_secret_previous_sealed = None
        locked.webhook_secret_grace_until = None
    locked.save(
        update_fields=[
            "webhook_secret_encrypted",
            "webhook_secret_previous_sealed",
            "webhook_secret_grace_until",
            "updated_at",
        ]
    )
    for name in ("encrypted", "previous_sealed", "grace_until"):
        setattr(participant, f"webhook_secret_{name}", getattr(locked, f"webhook_secret_{name}"))
    return secret


def webhook_secret_previous(participant: Participant) -> str | None:
    """The secret a rotation replaced, while its grace period runs; else None."""
    until = participant.webhook_secret_grace_until
    if not participant.webhook_secret_previous_sealed or until is None or until <= timezone.now():
        return None
    return crypto.open_sealed(
        bytes(participant.webhook_secret_previous_sealed), purpose=_WEBHOOK_PREVIOUS
    )


def _webhook_secret_set(participant: Participant) -> str:
    """Give the (unsaved) participant a new webhook secret; the caller saves it."""
    secret = crypto.new_webhook_secret()
    participant.webhook_secret_encrypted = crypto.encrypt(secret, purpose=_WEBHOOK_PURPOSE)
    return secret


def webhook_secret_ensure(participant: Participant) -> str:
    """The participant's webhook secret, created now if it has none (a row from before
    every participant had one), so a webhook is never sent unsigned.

    Concurrent callers agree: only a row still without a secret is written, and everyone
    then reads back the one stored secret.
    """
    secret = webhook_secret(participant)
    if secret is not None:
        return secret
    fresh = crypto.new_webhook_secret()
    Participant.objects.filter(pk=participant.pk, webhook_secret_encrypted__isnull=True).update(
        webhook_secret_encrypted=crypto.encrypt(fresh, purpose=_WEBHOOK_PURPOSE)
    )
    # Written above, by this call or a concurrent one: never null here.
    stored = (
        Participant.objects.filter(pk=participant.pk)
        .values_list("webhook_secret_encrypted", flat=True)
        .get()
    )
    assert stored is not None
    participant.webhook_secret_encrypted = stored
    return crypto.decrypt(bytes(stored), purpose=_WEBHOOK_PURPOSE)
