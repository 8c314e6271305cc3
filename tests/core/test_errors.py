"""The domain errors (core/errors.py): every transport maps them by their code and status."""

from __future__ import annotations

from core.errors import DomainError, InvalidTransition, RequestClosed


def test_domain_errors_carry_a_stable_code_and_http_status() -> None:
    # Transports branch on these; changing one is a contract change.
    assert (InvalidTransition("x").code, InvalidTransition("x").http_status) == (
        "invalid_transition",
        409,
    )
    assert (RequestClosed().code, RequestClosed().http_status) == ("closed", 409)
    assert issubclass(RequestClosed, DomainError)
