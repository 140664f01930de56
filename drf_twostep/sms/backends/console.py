"""An SMS backend for development: messages are written to standard output."""

from __future__ import annotations

import sys
import threading

from .base import BaseSmsBackend


class SmsBackend(BaseSmsBackend):
    _lock = threading.Lock()

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, message):
        text = f"SMS to {message.to}" + (f" from {message.sender}" if message.sender else "")
        with self._lock:
            self.stream.write(f"{text}\n{message.body}\n{'-' * 40}\n")
            self.stream.flush()
