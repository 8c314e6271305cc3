"""/console/insights/: per chatbot one serves, the figures of the last 7 and 30 days."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.actors import AgentRequest
from support.console.views import _context, agent_required
from support.insights import charts, queries
from support.insights.formatting import count, humanize_duration, part_of_whole, percent
from support.insights.queries import WINDOWS, ChatbotInsights


@dataclass(frozen=True)
class Cell:
    text: str
    detail: str = ""
    meter: charts.Chart | None = None


@dataclass
class Row:
    label: str
    cells: list[Cell] = field(default_factory=list)


@dataclass(frozen=True)
class Panel:
    chatbot_id: int
    name: str
    requests_chart: charts.Chart
    rows: list[Row]


def _time_labels() -> dict[str, str]:
    return {
        "join": _("Time to join"),
        "response": _("Time to first human response"),
        "resolution": _("Time to resolution"),
    }


def _panel(chatbot: ChatbotInsights, *, rtl: bool) -> Panel:
    windows = [chatbot.windows[days] for days in WINDOWS]
    longest = max(
        (
            value
            for window in windows
            for percentiles in window.times.values()
            for value in (percentiles.median, percentiles.p90)
            if value is not None
        ),
        default=timedelta(0),
    )

    def duration_cell(value: timedelta | None, label: str) -> Cell:
        text = humanize_duration(value)
        share = value / longest if value is not None and longest else None
        return Cell(text=text, meter=charts.meter(share, title=f"{label}: {text}", rtl=rtl))

    def rate_cell(rate: float | None, part: int, whole: int, label: str) -> Cell:
        text = percent(rate)
        return Cell(
            text=text,
            detail=part_of_whole(part, whole) if whole else "",
            meter=charts.meter(rate, title=f"{label}: {text}", rtl=rtl),
        )

    rows = [Row(_("Requests"), [Cell(text=count(w.requests)) for w in windows])]
    for name, label in _time_labels().items():
        for which, attribute in ((_("median"), "median"), (_("90th percentile"), "p90")):
            row_label = _("%(what)s, %(which)s") % {"what": label, "which": which}
            rows.append(
                Row(
                    row_label,
                    [duration_cell(getattr(w.time(name), attribute), row_label) for w in windows],
                )
            )
    rows.append(
        Row(
            _("Resolution rate"),
            [
                rate_cell(w.resolution_rate, w.resolved, w.requests, _("Resolution rate"))
                for w in windows
            ],
        )
    )
    rows.append(
        Row(
            _("Reopen rate"),
            [
                rate_cell(w.reopen_rate, w.reopened, w.ever_resolved, _("Reopen rate"))
                for w in windows
            ],
        )
    )
    rows.append(
        Row(
            _("Email delivery rate"),
            [
                rate_cell(
                    w.delivery_rate,
                    w.emails_delivered,
                    w.emails_attempted,
                    _("Email delivery rate"),
                )
                for w in windows
            ],
        )
    )
    return Panel(
        chatbot_id=chatbot.chatbot_id,
        name=chatbot.name,
        requests_chart=charts.requests_per_day(chatbot.daily, highlight_last=min(WINDOWS), rtl=rtl),
        rows=rows,
    )


@require_GET
@agent_required
def insights(request: AgentRequest) -> HttpResponse:
    figures = queries.insights_for(user=request.user)
    rtl = get_language_bidi()
    return render(
        request,
        "console/insights.html",
        _context(
            request,
            title=_("Insights"),
            panels=[_panel(chatbot, rtl=rtl) for chatbot in figures.chatbots],
            windows=WINDOWS,
            longest=queries.LONGEST,
            shortest=min(WINDOWS),
            percentiles_sampled=figures.percentiles_sampled,
            sample_size=queries.SQLITE_PERCENTILE_ROWS,
        ),
    )
