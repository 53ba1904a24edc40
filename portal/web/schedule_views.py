"""A flow's schedule: every N minutes or a cron expression (UTC), with the next fire time."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from integrations.sync import scheduling
from integrations.sync.models import Flow, FlowSchedule
from portal.accounts.models import Role
from portal.accounts.roles import role_required


class ScheduleForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Run this flow on a schedule")
    kind = forms.ChoiceField(choices=FlowSchedule.Kind.choices, widget=forms.RadioSelect, label="How often")
    interval_minutes = forms.IntegerField(required=False, label="Every … minutes",
                                          help_text=f"{scheduling.MIN_INTERVAL_MINUTES} to "
                                                    f"{scheduling.MAX_INTERVAL_MINUTES} minutes.")
    cron = forms.CharField(required=False, max_length=120, label="Cron expression (UTC)",
                           help_text="minute hour day-of-month month day-of-week, e.g. */15 * * * * or "
                                     "0 6 * * 1-5 (06:00 UTC on weekdays).")

    def clean(self):
        cleaned = super().clean()
        if "kind" in cleaned and not self.errors:
            try:
                scheduling.validate(cleaned["kind"], cleaned.get("interval_minutes"), cleaned.get("cron"))
            except scheduling.ScheduleError as error:
                self.add_error(error.field if error.field in self.fields else None, str(error))
        return cleaned


@role_required(Role.OPERATOR)
def flow_schedule(request, pk: int):
    flow = get_object_or_404(Flow, pk=pk)
    schedule = FlowSchedule.objects.filter(flow=flow).first()
    initial = ({"enabled": schedule.enabled, "kind": schedule.kind, "interval_minutes": schedule.interval_minutes,
                "cron": schedule.cron} if schedule else
               {"enabled": True, "kind": FlowSchedule.Kind.INTERVAL, "interval_minutes": 15})
    form = ScheduleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            schedule = scheduling.save_schedule(flow, data["kind"], data.get("interval_minutes"), data.get("cron"),
                                                data["enabled"], request.user)
        except scheduling.ScheduleError as error:  # the form validated the same way; kept for safety
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            when = (f"next run {schedule.next_run_at:%Y-%m-%d %H:%M:%S} UTC" if schedule.next_run_at
                    else "schedule switched off")
            messages.success(request, f"Saved the schedule of “{flow.name}”: {scheduling.describe(schedule)}, {when}.")
            return redirect("flow_schedule", pk=flow.pk)
    upcoming = []
    if schedule is not None and schedule.enabled:
        try:
            upcoming = scheduling.upcoming(schedule, count=3)
        except scheduling.ScheduleError:
            upcoming = []
    return render(request, "web/flow_schedule.html", {
        "flow": flow, "schedule": schedule, "form": form, "upcoming": upcoming,
        "summary": scheduling.describe(schedule),
    })
