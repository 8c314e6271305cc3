"""Admin search while encryption at rest is on: encrypted columns hold ciphertext, which no
search term matches, so their search fields are dropped and the search box says so."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.encryption import EncryptedTextField, encryption_enabled

TEXT_SEARCH_OFF = _("Search by text is not available while encryption at rest is on.")


class EncryptedSearchMixin:
    """For a ModelAdmin whose `search_fields` name encrypted columns."""

    model: Any

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        fields = list(super().get_search_fields(request))  # type: ignore[misc]
        if not encryption_enabled():
            return fields
        return [field for field in fields if not self._is_encrypted(field)]

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)  # type: ignore[misc]
        if encryption_enabled():
            changelist.search_help_text = TEXT_SEARCH_OFF
        return changelist

    def _is_encrypted(self, search_field: str) -> bool:
        model = self.model
        *path, name = search_field.lstrip("=^@").split("__")
        for step in path:
            model = model._meta.get_field(step).related_model
        return isinstance(model._meta.get_field(name), EncryptedTextField)
