"""Signals sent by ``services``."""

from django.dispatch import Signal

# Sent once for every security event, after its SecurityEvent row is written.
# kwargs: user, kind (an EventKind value), event (the SecurityEvent), request (or None)
security_event = Signal()
