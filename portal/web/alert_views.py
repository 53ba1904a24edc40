"""Notifications page: everyone in the tenant can read the alerts; operators and up acknowledge them."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from integrations.sync.models import Notification
from portal.accounts.models import Role
from portal.accounts.roles import role_required


@role_required(Role.VIEWER)
def notification_list(request):
    unread_first = Case(When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField())
    notifications = (Notification.objects.select_related("flow", "connection")
                     .order_by(unread_first, "-created_at", "-pk"))
    page = Paginator(notifications, 50).get_page(request.GET.get("page"))
    return render(request, "web/notifications.html", {"page": page})


@require_POST
@role_required(Role.OPERATOR)
def notification_read(request, pk: int):
    notification = get_object_or_404(Notification, pk=pk)
    if notification.read_at is None:
        Notification.objects.filter(pk=pk, read_at__isnull=True).update(read_at=timezone.now())
    return redirect("notifications")


@require_POST
@role_required(Role.OPERATOR)
def notification_read_all(request):
    count = Notification.objects.filter(read_at__isnull=True).update(read_at=timezone.now())
    messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} as read.")
    return redirect("notifications")
