"""The connect dialog's profile row: the config file's profiles (docs/profiles.md); picking one fills the fields.

The row shows only where a config file exists. A profile's password source is
resolved when the dialog connects (netrc and keyring are read then, never shown).
"""

from __future__ import annotations

import os
from dataclasses import replace

from textual.widgets import Checkbox, Input, Label, RadioButton, Select, Static

from smtpdbg.core.profiles import PASSWORD_VARIABLE, Profile, ProfileError, credentials, load_profiles


def read_profiles() -> tuple[dict[str, Profile], str | None]:
    """The profiles, or none and why the config file cannot be used."""
    try:
        return load_profiles(), None
    except ProfileError as error:
        return {}, str(error)


def profile_widgets(profiles: dict[str, Profile], error: str | None):
    """The grid row: a list of the profiles, or the config file's problem; nothing without a config file."""
    if error:
        yield Label("profiles")
        yield Static(error, id="profile-error", markup=False, classes="-warning")
    elif profiles:
        yield Label("profile")
        yield Select([(f"{name}  {profile.summary}", name) for name, profile in sorted(profiles.items())],
                     prompt="(none: fill in the fields)", id="profile", compact=True)


def fill(screen, profile: Profile) -> None:
    """Put the profile's target and TLS options into the dialog's fields."""
    text = profile.target_text() or ""
    if text:
        screen.query_one("#target", Input).value = text
    transport = text.split("://", 1)[0] if "://" in text else "smtp"
    if transport in ("smtp", "smtps", "lmtp"):
        screen.query_one(f"#transport-{transport}", RadioButton).value = True
    screen.query_one("#starttls", Checkbox).value = profile.tls == "starttls"
    screen.query_one("#ca", Input).value = profile.ca or ""
    screen.query_one("#verify", Checkbox).value = not profile.insecure
    if profile.timeout:
        screen.query_one("#timeout", Input).value = f"{profile.timeout:g}"
    if profile.local_hostname:
        screen.query_one("#local-hostname", Input).value = profile.local_hostname


def with_profile(request, profile: Profile | None):
    """The request with the profile's verify name and password source.

    Raises:
        ValueError: the password source cannot be read (no netrc entry, no keyring).
    """
    if profile is None:
        return request
    creds = credentials(profile)  # a ProfileError is a ValueError: the dialog shows it
    if creds.password is not None:
        os.environ[PASSWORD_VARIABLE] = creds.password  # named by password_env: masked in every export
    options = replace(request.options, tls_verify_name=profile.verify_name or request.options.tls_verify_name,
                      password_env=creds.password_env or request.options.password_env)
    return replace(request, options=options)
