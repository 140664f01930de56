"""
The client a sign-in comes from, as new-device notifications compare it: the user agent's
family (a browser and an operating system, not their versions) and the IP address's network
(``/24`` for IPv4, ``/64`` for IPv6). ``client_key`` is a digest of both that the sign-in's
security event stores.

The family is read from the user agent by a few fixed rules, in order, so that the same
browser on the same system gives the same family whatever its version:

- the browser: ``Edge`` (``Edg/``, ``EdgA/``, ``EdgiOS/``), ``Opera`` (``OPR/``, ``Opera``),
  ``Samsung Internet`` (``SamsungBrowser/``), ``Firefox`` (``Firefox/``, ``FxiOS/``),
  ``Chrome`` (``CriOS/``, ``Chrome/``, ``Chromium/``), ``Safari`` (``Safari/``); else the
  user agent's first product name (``curl``, ``python-requests``, ``okhttp``), else none;
- the system: ``iOS`` (``iPhone``, ``iPad``, ``iPod``), ``Android``, ``ChromeOS``
  (``CrOS``), ``Windows``, ``macOS`` (``Macintosh``, ``Mac OS X``), ``Linux``; else none.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

# The prefix length of an address's network, by IP version.
NETWORK_PREFIX = {4: 24, 6: 64}
# The length of a client key: the start of a SHA-256 hex digest (128 bits).
CLIENT_KEY_LENGTH = 32

BROWSERS = [
    ("Edge", ("Edg/", "EdgA/", "EdgiOS/")),
    ("Opera", ("OPR/", "Opera")),
    ("Samsung Internet", ("SamsungBrowser/",)),
    ("Firefox", ("Firefox/", "FxiOS/")),
    ("Chrome", ("CriOS/", "Chrome/", "Chromium/")),
    ("Safari", ("Safari/",)),
]
SYSTEMS = [
    ("iOS", ("iPhone", "iPad", "iPod")),
    ("Android", ("Android",)),
    ("ChromeOS", ("CrOS",)),
    ("Windows", ("Windows",)),
    ("macOS", ("Macintosh", "Mac OS X")),
    ("Linux", ("Linux",)),
]
_PRODUCT = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,39}")


def _first(rules, user_agent) -> str:
    return next((name for name, marks in rules if any(m in user_agent for m in marks)), "")


def user_agent_family(user_agent: str) -> tuple[str, str]:
    """``(browser, system)`` of ``user_agent`` by the rules above; ``""`` for what is not
    known."""
    user_agent = user_agent or ""
    browser = _first(BROWSERS, user_agent)
    if not browser:
        product = _PRODUCT.match(user_agent.strip())
        browser = product.group(0) if product and product.group(0) != "Mozilla" else ""
    return browser, _first(SYSTEMS, user_agent)


def ip_network(ip: str | None) -> str:
    """The network of ``ip`` (``"203.0.113.0/24"``, ``"2001:db8:1:2::/64"``; an IPv4
    address mapped into IPv6 counts as IPv4), ``""`` when there is none."""
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return ""
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = NETWORK_PREFIX[address.version]
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def client_key(browser: str, system: str, network: str) -> str:
    """The digest that the sign-in's event stores, of the family (case-insensitive) and the
    network."""
    raw = f"{browser.lower()}|{system.lower()}|{network}".encode()
    return hashlib.sha256(raw).hexdigest()[:CLIENT_KEY_LENGTH]
