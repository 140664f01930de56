"""Django admin for methods, profiles and security events. Secrets are never shown."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .models import SecurityEvent, TwoStepMethod, TwoStepProfile


@admin.register(TwoStepMethod)
class TwoStepMethodAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "name", "status", "is_default", "created_at", "last_used_at"]
    list_filter = ["kind", "status", "is_default"]
    search_fields = ["user__username", "name"]
    raw_id_fields = ["user"]
    # The secret and the replay counter are not fields of this form at all.
    fields = ["user", "kind", "name", "status", "is_default", "created_at", "confirmed_at", "last_used_at"]
    # The default is the user's choice (PATCH two-step/methods/{id}/): exactly one active method
    # is default, which a checkbox here could break.
    readonly_fields = ["user", "kind", "status", "is_default", "created_at", "confirmed_at", "last_used_at"]

    def has_add_permission(self, request):
        # Methods are set up by their users, never typed in by an admin.
        return False


@admin.register(TwoStepProfile)
class TwoStepProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "enabled", "enabled_at", "failed_attempts", "locked_until", "last_verified_at"]
    list_filter = ["enabled"]
    search_fields = ["user__username"]
    fields = ["user", "enabled", "enabled_at", "failed_attempts", "locked_until", "last_verified_at"]
    readonly_fields = ["user", "enabled", "enabled_at", "last_verified_at"]
    actions = ["unlock"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Clear failed attempts and lockout"))
    def unlock(self, request, queryset):
        count = queryset.update(failed_attempts=0, locked_until=None)
        self.message_user(request, _("%(count)d unlocked.") % {"count": count}, messages.SUCCESS)


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
