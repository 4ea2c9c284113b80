"""Sign-In with Ethereum (EIP-4361): the message we ask a wallet to sign, and its checks.

The server issues a nonce (stored, single use, bound to the browser session that asked for
it, short-lived) and the text of the message; the wallet signs the text (`personal_sign`,
EIP-191); `verify` parses the signed text again and checks every field that matters here:
the domain and URI are this site's, the chain is this deployment's, the message has not
expired, the nonce is ours, unused and this session's, and the signature recovers to the
message's address. Contract wallets (EIP-1271) are not supported: an EOA signs.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct

from payments.models import SiweNonce
from payments.wallets import is_address, normalize_address
from the402.lib.errors import ApplicationError

NONCE_LIFETIME = timedelta(minutes=10)
CLOCK_SKEW = timedelta(minutes=1)
STATEMENTS = {
    SiweNonce.Purpose.LOGIN: "Sign in to the402 with this wallet.",
    SiweNonce.Purpose.REAUTH: "Confirm it is me: re-authenticate my the402 account.",
    SiweNonce.Purpose.LINK: "Link this wallet to my the402 account, replacing its wallet.",
}

_MESSAGE = re.compile(
    r"\A(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?(?P<domain>[^\s/]+)"
    r" wants you to sign in with your Ethereum account:\n"
    r"(?P<address>0x[0-9a-fA-F]{40})\n"
    r"\n"
    r"(?:(?P<statement>[^\n]+)\n)?"
    r"\n"
    r"URI: (?P<uri>\S+)\n"
    r"Version: (?P<version>[^\n]+)\n"
    r"Chain ID: (?P<chain_id>[0-9]+)\n"
    r"Nonce: (?P<nonce>[A-Za-z0-9]{8,})\n"
    r"Issued At: (?P<issued_at>[^\n]+)"
    r"(?:\nExpiration Time: (?P<expiration_time>[^\n]+))?"
    r"(?:\nNot Before: (?P<not_before>[^\n]+))?"
    r"(?:\nRequest ID: (?P<request_id>[^\n]*))?"
    r"(?:\nResources:(?P<resources>(?:\n- [^\n]+)+))?\Z"
)


class SiweError(ApplicationError):
    """A Sign-In with Ethereum message or signature we do not accept (400 or 401)."""

    status_code = 401
    code = "siwe_invalid"


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    statement: str
    uri: str
    version: str
    chain_id: int
    nonce: str
    issued_at: datetime
    expiration_time: datetime | None
    not_before: datetime | None
    scheme: str | None = None

    def text(self) -> str:
        """The EIP-4361 text of the message, as the wallet shows and signs it."""
        prefix = f"{self.scheme}://" if self.scheme else ""
        lines = [
            f"{prefix}{self.domain} wants you to sign in with your Ethereum account:",
            self.address,
            "",
            self.statement,
            "",
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {_iso(self.issued_at)}",
        ]
        if self.expiration_time is not None:
            lines.append(f"Expiration Time: {_iso(self.expiration_time)}")
        if self.not_before is not None:
            lines.append(f"Not Before: {_iso(self.not_before)}")
        return "\n".join(lines)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SiweError(f"{field} is not an RFC 3339 time", status=400) from None
    if moment.tzinfo is None:
        raise SiweError(f"{field} has no time zone", status=400)
    return moment


def parse(text: str) -> SiweMessage:
    """The fields of an EIP-4361 message; `SiweError` (400) for anything else."""
    match = _MESSAGE.match(text.replace("\r\n", "\n")) if isinstance(text, str) else None
    if match is None:
        raise SiweError("Not a Sign-In with Ethereum (EIP-4361) message", status=400)
    fields = match.groupdict()
    optional = {
        name: _parse_time(fields[name], name.replace("_", " ").capitalize())
        for name in ("expiration_time", "not_before")
        if fields[name] is not None
    }
    return SiweMessage(
        scheme=fields["scheme"],
        domain=fields["domain"],
        address=fields["address"],
        statement=fields["statement"] or "",
        uri=fields["uri"],
        version=fields["version"],
        chain_id=int(fields["chain_id"]),
        nonce=fields["nonce"],
        issued_at=_parse_time(fields["issued_at"], "Issued at"),
        expiration_time=optional.get("expiration_time"),
        not_before=optional.get("not_before"),
    )


def session_hash(session_key: str) -> str:
    return hashlib.sha256(f"the402/siwe/{session_key}".encode()).hexdigest()


@transaction.atomic
def nonce_issue(*, purpose: str, session_key: str) -> SiweNonce:
    """A new single-use nonce for this browser session; old rows are dropped as we go."""
    now = timezone.now()
    SiweNonce.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    return SiweNonce.objects.create(
        nonce=secrets.token_hex(12),
        purpose=purpose,
        session_hash=session_hash(session_key),
        expires_at=now + NONCE_LIFETIME,
    )


def message_for(*, nonce: SiweNonce, address: str, origin: str, chain_id: int) -> SiweMessage:
    """The message a wallet at `address` is asked to sign for `nonce` on `origin`."""
    if not is_address(address):
        raise SiweError("address is not an EVM address", code="invalid_wallet", status=400)
    parts = urlsplit(origin)
    return SiweMessage(
        scheme=parts.scheme if parts.scheme != "https" else None,
        domain=parts.netloc,
        address=normalize_address(address),
        statement=STATEMENTS[SiweNonce.Purpose(nonce.purpose)],
        uri=f"{origin}/",
        version="1",
        chain_id=chain_id,
        nonce=nonce.nonce,
        issued_at=nonce.created_at,
        expiration_time=nonce.expires_at,
        not_before=None,
    )


def verify(
    *,
    text: str,
    signature: str,
    purpose: str,
    session_key: str,
    origin: str,
    chain_id: int,
) -> str:
    """Check a signed EIP-4361 message; the checksummed address that signed it.

    Consumes the nonce (once: a replay, here or in a concurrent request, is refused).
    Raises `SiweError` naming the first check that failed.
    """
    message = parse(text)
    expected = urlsplit(origin)
    if message.domain != expected.netloc:
        raise SiweError(
            f"The message is for {message.domain}, not {expected.netloc}", code="siwe_domain"
        )
    if message.scheme is not None and message.scheme != expected.scheme:
        raise SiweError("The message's scheme is not this site's", code="siwe_domain")
    uri = urlsplit(message.uri)
    if (uri.scheme, uri.netloc) != (expected.scheme, expected.netloc):
        raise SiweError("The message's URI is not this site's", code="siwe_domain")
    if message.version != "1":
        raise SiweError("Only version 1 messages are accepted", code="siwe_version")
    if message.chain_id != chain_id:
        raise SiweError(
            f"The message is for chain {message.chain_id}; this deployment is on {chain_id}",
            code="siwe_chain",
        )
    now = timezone.now()
    if message.expiration_time is None:
        raise SiweError("The message must have an expiration time", code="siwe_expired")
    if message.expiration_time <= now:
        raise SiweError("The message has expired: sign in again", code="siwe_expired")
    if message.issued_at > now + CLOCK_SKEW:
        raise SiweError("The message is issued in the future", code="siwe_expired")
    if message.not_before is not None and message.not_before > now + CLOCK_SKEW:
        raise SiweError("The message is not valid yet", code="siwe_expired")
    if STATEMENTS.get(SiweNonce.Purpose(purpose)) != message.statement:
        raise SiweError("The message's statement is not the one we asked to sign")
    signer = recover(text, signature)
    if signer != normalize_address(message.address):
        raise SiweError("The signature is not by the message's address", code="siwe_signature")
    claimed = SiweNonce.objects.filter(
        nonce=message.nonce,
        purpose=purpose,
        session_hash=session_hash(session_key),
        used_at__isnull=True,
        expires_at__gt=now,
    ).update(used_at=now)
    if claimed != 1:
        raise SiweError(
            "The nonce is unknown, expired or already used: sign in again", code="siwe_nonce"
        )
    return signer


def recover(text: str, signature: str) -> str:
    """The address whose key made an EIP-191 `personal_sign` signature of `text`."""
    if not isinstance(signature, str) or not re.fullmatch(r"0x[0-9a-fA-F]{130}", signature):
        raise SiweError("The signature is not 65 bytes of hex", code="siwe_signature")
    try:
        signer = Account.recover_message(encode_defunct(text=text), signature=signature)
    except Exception:  # eth-keys raises several types for a malformed signature
        raise SiweError("The signature cannot be recovered", code="siwe_signature") from None
    return normalize_address(str(signer))
