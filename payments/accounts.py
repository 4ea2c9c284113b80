"""Dashboard accounts: a web sign-in (Django user) tied to one participant.

Three ways in, one participant each:

* an email (or Google) sign-up gets a participant of its own with a platform-managed
  wallet: a key generated here, sealed at rest, exportable once by its owner;
* Sign-In with Ethereum by a wallet that already registered by API opens that participant's
  dashboard (a user is created for it on the first sign-in);
* Sign-In with Ethereum by a wallet we do not know registers it, as `POST /v1/register`
  would (without the fee: the signature proves the wallet).

The owner may replace the participant's wallet by one they prove they hold (a SIWE signature
by the new address, after re-authenticating); a replaced managed wallet's key stays
exportable while the address holds USDC.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from eth_account import Account
from eth_account.signers.local import LocalAccount

from payments import crypto
from payments.models import ApiKey, ManagedWallet, Participant, WebAccount
from payments.services import (
    api_key_issue,
    participant_create,
    participant_for_wallet,
    webhook_secret_ensure,
)
from payments.wallets import normalize_address
from the402.lib.errors import ApplicationError, Conflict, NotFound

_MANAGED_KEY_PURPOSE = "managed-wallet-key"


@dataclass(frozen=True)
class OpenedAccount:
    account: WebAccount
    # An API key issued by this call (the participant's first): shown to its owner once.
    new_api_key: str | None


def _registered(participant: Participant) -> str | None:
    """Mark a participant registered if it is not (it gets its first API key, returned)."""
    if participant.registered_at is not None:
        return None
    participant.registered_at = timezone.now()
    participant.save(update_fields=["registered_at", "updated_at"])
    webhook_secret_ensure(participant)
    return api_key_issue(participant=participant)


def web_account_for_user(*, user: User) -> OpenedAccount:
    """The dashboard account of a signed-in user. A user without one (an email or Google
    sign-up, on their first visit) gets a participant now: a new platform-managed wallet
    (its key sealed), registered, with its first API key (returned once)."""
    existing = WebAccount.objects.select_related("participant").filter(user=user).first()
    if existing is not None:
        return OpenedAccount(existing, None)
    try:
        with transaction.atomic():
            key = Account.create()
            participant = participant_create(wallet=str(key.address))
            ManagedWallet.objects.create(
                participant=participant,
                address=participant.wallet,
                key_sealed=crypto.seal(key.key.hex(), purpose=_MANAGED_KEY_PURPOSE),
            )
            account = WebAccount.objects.create(user=user, participant=participant)
            return OpenedAccount(account, _registered(participant))
    except IntegrityError:  # the same user's concurrent first visit created it
        account = WebAccount.objects.select_related("participant").get(user=user)
        return OpenedAccount(account, None)


@transaction.atomic
def web_account_for_wallet(*, wallet: str) -> OpenedAccount:
    """The dashboard account of the participant a wallet (proved by SIWE) stands for.

    A wallet registered by API keeps its participant and key; a new user is made for its
    first web sign-in. A wallet we only know from payments, or not at all, is registered
    now and gets its first API key (returned once).
    """
    found = participant_for_wallet(wallet)
    participant = Participant.objects.select_for_update().get(pk=found.pk)
    new_key = _registered(participant)
    account = WebAccount.objects.select_related("user").filter(participant=participant).first()
    if account is None:
        user = User.objects.create_user(username=f"wallet-{participant.public_id}")
        account = WebAccount.objects.create(user=user, participant=participant)
    account.participant = participant
    return OpenedAccount(account, new_key)


@transaction.atomic
def wallet_link(*, participant: Participant, wallet: str) -> Participant:
    """Make `wallet` (its holder proved by a SIWE signature, its owner re-authenticated) the
    participant's wallet. A wallet another participant stands for is a 409, even if that
    one only ever paid. The managed wallet it replaces keeps its key (exportable while it
    holds USDC); payouts and refunds go to the new wallet from now on."""
    try:
        address = normalize_address(wallet)
    except ValueError as exc:
        raise ApplicationError(str(exc), code="invalid_wallet") from None
    locked = Participant.objects.select_for_update().get(pk=participant.pk)
    if locked.wallet == address:
        raise ApplicationError("This is already your wallet", code="wallet_unchanged")
    if Participant.objects.filter(wallet=address).exclude(pk=locked.pk).exists():
        raise Conflict("This wallet belongs to another participant", code="wallet_taken")
    ManagedWallet.objects.filter(
        participant=locked, address=locked.wallet, replaced_at__isnull=True
    ).update(replaced_at=timezone.now())
    locked.wallet = address
    try:
        with transaction.atomic():
            locked.save(update_fields=["wallet", "updated_at"])
    except IntegrityError:  # taken by a concurrent registration or first payment
        raise Conflict("This wallet belongs to another participant", code="wallet_taken") from None
    participant.wallet = address
    return locked


def usdc_held(address: str) -> int:
    """The USDC an address holds on this deployment's chain (atomic units); a chain that
    cannot be reached is a 503."""
    from django.core.exceptions import ImproperlyConfigured

    from payments.chain.client import current_deployment
    from payments.chain.usdc import balance_of

    try:
        return balance_of(token=current_deployment().usdc, address=address)
    except (ImproperlyConfigured, OSError, ValueError) as exc:
        raise ApplicationError(
            f"The chain cannot be read now: {exc}", code="chain_unavailable", status=503
        ) from None


def managed_wallet_export(*, participant: Participant, address: str) -> str:
    """The private key of one of the participant's managed wallets, shown once.

    The caller has re-authenticated the owner. Refused after the first export, and for a
    replaced wallet that holds no USDC (read from the chain). Once a replaced wallet's key
    is exported our copy is destroyed: the platform no longer signs for that address.
    """
    replaced = ManagedWallet.objects.filter(
        participant=participant, address=address, replaced_at__isnull=False
    ).exists()
    held = usdc_held(address) if replaced else None
    with transaction.atomic():
        managed = (
            ManagedWallet.objects.select_for_update()
            .filter(participant=participant, address=address)
            .first()
        )
        if managed is None:
            raise NotFound("No such managed wallet", code="managed_wallet_not_found")
        if managed.exported_at is not None:
            raise Conflict("This key was already exported", code="key_already_exported")
        if managed.replaced_at is not None and not held:
            raise Conflict(
                "This replaced wallet holds no USDC: there is nothing to export it for",
                code="managed_wallet_empty",
            )
        key = crypto.open_sealed(bytes(managed.key_sealed), purpose=_MANAGED_KEY_PURPOSE)
        managed.exported_at = timezone.now()
        managed.save(update_fields=["exported_at", "updated_at"])
        if managed.replaced_at is not None:
            crypto.destroy(bytes(managed.key_sealed))
    return key if key.startswith("0x") else f"0x{key}"


def managed_wallets(participant: Participant) -> list[ManagedWallet]:
    return list(ManagedWallet.objects.filter(participant=participant).order_by("created_at"))


def api_key_hint(participant: Participant) -> str | None:
    """The first characters of the participant's live API key, for people."""
    return (
        ApiKey.objects.filter(participant=participant, revoked_at__isnull=True)
        .values_list("hint", flat=True)
        .first()
    )


def managed_signer(participant: Participant) -> LocalAccount | None:
    """The key of the participant's wallet when the platform manages it (an email sign-up
    that has not linked a wallet of its own), to sign its payments server-side; None when
    the wallet is the owner's own."""
    managed = (
        ManagedWallet.objects.filter(
            participant=participant, address=participant.wallet, replaced_at__isnull=True
        )
        .only("key_sealed")
        .first()
    )
    if managed is None:
        return None
    key = crypto.open_sealed(bytes(managed.key_sealed), purpose=_MANAGED_KEY_PURPOSE)
    signer: LocalAccount = Account.from_key(key if key.startswith("0x") else f"0x{key}")
    return signer
