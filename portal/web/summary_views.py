"""Summarised posting in the portal: the journals of a summary flow, and the drill-down of one journal from its
lines to the Kashflow invoices and receipts each line totals. Read-only (viewer)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, render

from integrations.sync.models import Flow
from integrations.sync.summary_models import SummaryContribution, SummaryJournal
from portal.accounts.models import Role
from portal.accounts.roles import role_required

PAGE_SIZE = 50
SOURCES_PAGE_SIZE = 100


@role_required(Role.VIEWER)
def summary_journals(request, flow_pk: int):
    """Journals of one flow, newest period first; ``q`` finds the journals holding a Kashflow invoice number."""
    flow = get_object_or_404(Flow, pk=flow_pk)
    journals = SummaryJournal.objects.filter(flow=flow)
    q = (request.GET.get("q") or "").strip()
    if q:
        journals = journals.filter(Q(sources__invoice_number=q) | Q(sources__source_id=q) | Q(target_id=q)).distinct()
    page = Paginator(journals.order_by("-period_start", "-sequence"), PAGE_SIZE).get_page(request.GET.get("page"))
    waiting = flow.summary_sources.filter(journal__isnull=True)
    return render(request, "web/summary_journals.html", {
        "flow": flow, "page": page, "q": q,
        "staged": waiting.filter(status="staged").count(), "failed": waiting.filter(status="failed").count(),
    })


@role_required(Role.VIEWER)
def summary_journal(request, pk: int):
    """One journal: header, lines (balanced per currency), and the sources of a chosen line (or of the journal)."""
    journal = get_object_or_404(SummaryJournal.objects.select_related("flow", "flow__source", "flow__target",
                                                                      "posted_run", "created_run"), pk=pk)
    lines = list(journal.lines.order_by("line_no"))
    chosen = next((line for line in lines if str(line.line_no) == request.GET.get("line")), None)
    if chosen is not None:
        shares = (SummaryContribution.objects.filter(line=chosen).select_related("source")
                  .order_by("source__date", "source__kind", "source__invoice_number", "source__source_id"))
        rows = [(c.source, c.amount) for c in shares]
    else:
        rows = [(s, None) for s in journal.sources.order_by("date", "kind", "invoice_number", "source_id")]
    page = Paginator(rows, SOURCES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/summary_journal.html", {
        "journal": journal, "flow": journal.flow, "lines": lines, "chosen": chosen, "page": page,
        "noted": journal.sources.exclude(note="").count(),
    })
