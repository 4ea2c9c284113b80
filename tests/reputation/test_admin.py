"""The admin: sybil flags confirmed or dismissed with a note (one, or in bulk), scores
read-only, participants' pages showing their reputation and flags."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from payments.models import Participant
from reputation import sybil
from reputation.models import ReputationScore, SybilFlag
from reputation.services import record_job_end
from tests.factories import ParticipantFactory

pytestmark = pytest.mark.django_db
LIST_URL = "/admin/reputation/sybilflag/"


@pytest.fixture
def admin_user() -> User:
    return User.objects.create_superuser("admin", "admin@example.com", "pw")


@pytest.fixture
def admin_client(admin_user: User) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin_user)
    return client


def _flag(n: int) -> SybilFlag:
    a, b = ParticipantFactory(), ParticipantFactory()
    for i, (buyer, provider) in enumerate([(a, b), (a, b), (b, a), (b, a)]):
        record_job_end(
            provider_id=provider.pk,
            buyer_id=buyer.pk,
            service_public_id=f"svc_{provider.pk:016x}",
            service_type="data_api",
            job_public_id=f"job_{n:08x}{i:08x}",
            outcome="released",
            amount_micros=1_000_000,
        )
    sybil.scan(check_chain=False)
    return SybilFlag.objects.get(parties=a)


def test_the_list_filters_by_kind_and_status_and_shows_the_evidence(
    admin_client: Client,
) -> None:
    flag = _flag(1)
    page = admin_client.get(LIST_URL + "?status__exact=open&kind__exact=circular")
    assert flag.public_id in page.content.decode()
    assert flag.evidence["summary"] in page.content.decode()
    assert (
        flag.public_id
        not in admin_client.get(LIST_URL + "?status__exact=dismissed").content.decode()
    )
    detail = admin_client.get(f"{LIST_URL}{flag.pk}/change/").content.decode()
    assert flag.evidence["cycle"][0] in detail


def test_a_flag_is_confirmed_on_its_page_with_a_note(
    admin_client: Client, admin_user: User
) -> None:
    flag = _flag(1)
    response = admin_client.post(
        f"{LIST_URL}{flag.pk}/change/",
        {"decision": "confirmed", "decision_note": "one person", **_inline_management()},
    )
    assert response.status_code == 302
    flag.refresh_from_db()
    assert (flag.status, flag.decided_by, flag.note) == ("confirmed", admin_user, "one person")


def test_a_decision_without_a_note_is_refused(admin_client: Client) -> None:
    flag = _flag(1)
    response = admin_client.post(
        f"{LIST_URL}{flag.pk}/change/",
        {"decision": "dismissed", "decision_note": "", **_inline_management()},
    )
    assert response.status_code == 200  # the form again, with the error
    flag.refresh_from_db()
    assert flag.status == "open"


def test_flags_are_dismissed_in_bulk_with_one_note(admin_client: Client, admin_user: User) -> None:
    flags = [_flag(1), _flag(2)]
    selected = {"action": "dismiss_flags", "_selected_action": [f.pk for f in flags]}
    asked = admin_client.post(LIST_URL, selected)
    assert asked.status_code == 200 and b"note" in asked.content
    done = admin_client.post(LIST_URL, {**selected, "apply": "1", "note": "known partners"})
    assert done.status_code == 302
    assert [
        (f.status, f.decided_by, f.note)
        for f in SybilFlag.objects.filter(pk__in=[f.pk for f in flags])
    ] == [("dismissed", admin_user, "known partners")] * 2


def test_scores_are_read_only(admin_client: Client) -> None:
    provider = ParticipantFactory()
    row = ReputationScore.objects.create(participant=provider)
    url = f"/admin/reputation/reputationscore/{row.pk}/change/"
    admin_client.post(url, {"composite": "99"})
    row.refresh_from_db()
    assert row.composite == 75.0
    assert b'name="composite"' not in admin_client.get(url).content


def test_a_participants_page_shows_its_reputation_and_flags(admin_client: Client) -> None:
    flag = _flag(1)
    party: Participant = flag.parties.first()
    page = admin_client.get(f"/admin/payments/participant/{party.pk}/change/").content.decode()
    assert flag.public_id in page
    assert "reputation" in page.lower()


def _inline_management() -> dict[str, str]:
    """The transitions inline's (empty, read-only) formset management form."""
    return {
        "transitions-TOTAL_FORMS": "0",
        "transitions-INITIAL_FORMS": "0",
        "transitions-MIN_NUM_FORMS": "0",
        "transitions-MAX_NUM_FORMS": "0",
    }
