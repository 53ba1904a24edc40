"""A flow's mapping set and its versions (tenant schema).

The engine transforms every record of a run with one *published* version, and each SyncRecord remembers
which version that was, so a replay can use "the mapping that ran" or "the current mapping". Drafts are
edited freely; publishing freezes a version. The rule vocabulary grows with the mapping layer; the engine
only needs ``rules`` as a JSON object.

A set has at most one draft (number 0: it gets its number when it is published, so published numbers stay
consecutive) and exactly one published version once it was first used. Published and replaced versions are
never changed again; a rollback publishes a copy. ``based_on`` is the version a draft or published version
started from: publishing refuses a draft whose base is no longer the published version (someone else published
in between) unless forced, and a rollback's copy points at the version it restored.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class MappingSet(models.Model):
    flow = models.OneToOneField("sync.Flow", on_delete=models.CASCADE, related_name="mapping_set")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"mapping of {self.flow}"


class MappingVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        RETIRED = "retired", "Replaced"

    mapping_set = models.ForeignKey(MappingSet, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    rules = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 help_text="The version these rules were copied from (draft base, rollback source).")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["mapping_set", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["mapping_set", "number"], name="mappingversion_number_unique"),
            models.UniqueConstraint(fields=["mapping_set"], condition=models.Q(status="published"),
                                    name="mappingversion_one_published"),
            models.UniqueConstraint(fields=["mapping_set"], condition=models.Q(status="draft"),
                                    name="mappingversion_one_draft"),
        ]

    def __str__(self) -> str:
        return "draft" if self.status == self.Status.DRAFT else f"v{self.number} ({self.status})"
