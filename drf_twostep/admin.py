"""
Django admin for methods, profiles, policies and security events. Secrets are never shown, and
every change goes through ``services``, with the effects, events and emails of the API.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import services
from .exceptions import TwoStepError
from .methods import get_method_class, method_classes
from .models import OrganizationPolicy, SecurityEvent, TwoStepMethod, TwoStepProfile


@admin.register(TwoStepMethod)
class TwoStepMethodAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "kind_name",
        "name",
        "status",
        "is_default",
        "created_at",
        "last_used_at",
    ]
    list_filter = ["kind", "status", "is_default"]
    search_fields = ["user__username", "name"]
    raw_id_fields = ["user"]
    # The secret and the replay counter are not fields of this form at all.
    fields = [
        "user",
        "kind",
        "name",
        "status",
        "is_default",
        "created_at",
        "confirmed_at",
        "last_used_at",
    ]
    # The default is the user's choice (PATCH two-step/methods/{id}/): exactly one active method
    # is default, which a checkbox here could break.
    readonly_fields = [
        "user",
        "kind",
        "status",
        "is_default",
        "created_at",
        "confirmed_at",
        "last_used_at",
    ]

    def has_add_permission(self, request):
        # Methods are set up by their users, never typed in by an admin.
        return False

    @admin.display(description=_("kind"), ordering="kind")
    def kind_name(self, method):
        cls = get_method_class(method.kind)
        return cls.verbose_name if cls else method.kind

    def delete_model(self, request, obj):
        self.delete_queryset(request, [obj])

    def delete_queryset(self, request, queryset):
        for method in queryset:
            try:
                services.delete_method(request, method)
            except TwoStepError as exc:
                self.message_user(request, f"{method}: {exc}", messages.ERROR)


@admin.register(TwoStepProfile)
class TwoStepProfileAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "enabled",
        "enabled_at",
        "failed_attempts",
        "locked_until",
        "last_verified_at",
    ]
    list_filter = ["enabled"]
    search_fields = ["user__username"]
    fields = [
        "user",
        "enabled",
        "enabled_at",
        "failed_attempts",
        "locked_until",
        "last_verified_at",
    ]
    readonly_fields = ["user", "enabled", "enabled_at", "last_verified_at"]
    actions = ["unlock", "reset_two_step"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting a profile would turn 2SV off with no record: the reset action does it
        # with its event, email and revoked credentials.
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=_("Clear failed attempts and lockout"))
    def unlock(self, request, queryset):
        count = queryset.update(failed_attempts=0, locked_until=None)
        self.message_user(request, _("%(count)d unlocked.") % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Reset 2-Step Verification (lost device)"))
    def reset_two_step(self, request, queryset):
        profiles = list(queryset.select_related("user"))
        for profile in profiles:
            services.reset_two_step(profile.user, request, by=request.user)
        self.message_user(
            request, _("%(count)d reset.") % {"count": len(profiles)}, messages.SUCCESS
        )


class OrganizationPolicyForm(forms.ModelForm):
    """Allowed kinds as checkboxes of the enabled kinds; none ticked means any kind."""

    allowed_methods = forms.MultipleChoiceField(
        label=_("allowed methods"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every method kind counts."),
    )

    class Meta:
        model = OrganizationPolicy
        fields = ["organization", "required", "grace_period_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["allowed_methods"]
        field.choices = [(cls.kind, cls.verbose_name) for cls in method_classes().values()]
        field.initial = self.instance.allowed_methods

    def save(self, commit=True):
        self.instance.allowed_methods = self.cleaned_data["allowed_methods"]
        return super().save(commit)


@admin.register(OrganizationPolicy)
class OrganizationPolicyAdmin(admin.ModelAdmin):
    form = OrganizationPolicyForm
    list_display = ["organization", "required", "grace_period_days", "required_since"]
    list_filter = ["required"]
    readonly_fields = ["required_since", "updated_at"]
    fields = [
        "organization",
        "required",
        "grace_period_days",
        "allowed_methods",
        "required_since",
        "updated_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        # A policy stays with its organization; another organization gets its own.
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "organization"] if obj is not None else readonly

    def save_model(self, request, obj, form, change):
        saved = services.update_policy(
            request,
            request.user,
            obj.organization,
            required=obj.required,
            grace_period_days=obj.grace_period_days,
            allowed_methods=obj.allowed_methods,
        )
        obj.pk, obj.required_since = saved.pk, saved.required_since

    def delete_model(self, request, obj):
        services.delete_policy(request, request.user, obj)

    def delete_queryset(self, request, queryset):
        for policy in queryset:
            services.delete_policy(request, request.user, policy)


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "kind", "method_kind", "ip"]
    list_filter = ["kind"]
    search_fields = ["user__username", "ip"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
