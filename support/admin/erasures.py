"""The erasure audit in the admin: superusers read it; nobody changes it."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from support.admin.readonly import ReadOnlyAdminMixin
from support.models import ErasureAudit
from support.privacy.addresses import InvalidAddress, address_hashes, normalised_address


@admin.register(ErasureAudit)
class ErasureAuditAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "operator",
        "requests",
        "messages",
        "transcript_messages",
        "emails",
        "sessions",
        "address_hash",
    ]
    # The search box takes an address and finds its erasures by hash (it is never stored).
    search_fields = ["address_hash"]

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ErasureAudit], search_term: str
    ) -> tuple[QuerySet[ErasureAudit], bool]:
        if not search_term.strip():
            return queryset, False
        try:
            hashes = address_hashes(normalised_address(search_term))
        except InvalidAddress:
            return queryset.none(), False
        return queryset.filter(address_hash__in=hashes), False
