"""Filters for the plain-text part of our emails."""

from __future__ import annotations

from django import template

from core.text import strip_bidi_controls

register = template.Library()


@register.filter
def quoted(text: str | None) -> str:
    """Every line prefixed with "> ", as mail clients quote.

    Visitor text in a plain-text mail can hold anything, including lines that look like
    ours ("Open the request in the console:" and a URL of the visitor's choosing). Quoted,
    it cannot pass for the mail's own words, and our own link comes before it. Plain text
    cannot isolate bidirectional controls, so they are dropped ("\u202egnp.exe" would
    read "exe.png").
    """
    lines = strip_bidi_controls(text or "").splitlines() or [""]
    return "\n".join(f"> {line}".rstrip() for line in lines)
