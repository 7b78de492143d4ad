"""Named connection profiles from a TOML config file, and where their passwords come from.

The file lives at ``$SMTPDBG_CONFIG``, else ``$XDG_CONFIG_HOME/smtpdbg/config.toml``
(``~/.config/smtpdbg/config.toml``); ``--config FILE`` points elsewhere. Each
``[profiles.NAME]`` table names a target, TLS options, a user and *where* the
password comes from (``password_from``: ``env:NAME``, ``netrc[:MACHINE]`` via the
stdlib :mod:`netrc`, ``keyring[:SERVICE]`` via the optional ``keyring`` package).
A file that holds a password itself is refused: it is never read into a session.
The file is read only when a profile is asked for (``--profile`` or the connect
dialog), with the stdlib :mod:`tomllib`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV_CONFIG = "SMTPDBG_CONFIG"
PASSWORD_VARIABLE = "SMTPDBG_PROFILE_PASSWORD"
"""The variable a netrc or keyring password is handed to the session in (its value is masked in every export)."""
TLS_MODES = ("starttls", "tls-on-connect", "none")
KEYS = ("target", "tls", "ca", "insecure", "verify_name", "user", "password_from", "timeout", "local_hostname",
        "description")
SECRET_KEYS = ("password", "pass", "passwd", "secret", "token", "auth_password", "api_key")
KEYRING_SERVICE = "smtpdbg"


class ProfileError(ValueError):
    """A config file or profile that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Profile:
    """One ``[profiles.NAME]`` table, checked."""

    name: str
    target: str | None = None
    tls: str | None = None
    """``starttls`` (required), ``tls-on-connect`` (SMTPS) or ``none``; unset: as the target says."""
    ca: str | None = None
    insecure: bool = False
    verify_name: str | None = None
    user: str | None = None
    password_from: str | None = None
    timeout: float | None = None
    local_hostname: str | None = None
    description: str = ""

    @property
    def summary(self) -> str:
        """One line for a list: the target and how TLS and AUTH go (never a secret: the file holds none)."""
        parts = [self.target or "(no target)"]
        if self.tls:
            parts.append(self.tls)
        if self.insecure:
            parts.append("UNVERIFIED TLS")
        if self.user:
            parts.append(f"user {self.user}" + (f" ({self.password_from.split(':', 1)[0]})" if self.password_from else ""))
        return " · ".join(parts)

    def startup(self, transport: str) -> tuple[str, ...] | None:
        """What the app runs on opening a session with this profile: STARTTLS too for ``tls = "starttls"``."""
        return ("connect", "ehlo", "starttls", "ehlo") if self.tls == "starttls" and transport == "smtp" else None

    def target_text(self) -> str | None:
        """The target with the transport ``tls`` implies (``tls-on-connect``: smtps:// when no scheme is given)."""
        if self.target and self.tls == "tls-on-connect" and "://" not in self.target \
                and not self.target.startswith(("/", "mx:")):
            return f"smtps://{self.target}"
        return self.target


def config_path(explicit: str | None = None, environ=None) -> str:
    """Where the config file is: ``explicit``, ``$SMTPDBG_CONFIG``, ``$XDG_CONFIG_HOME/smtpdbg/config.toml``."""
    environ = os.environ if environ is None else environ
    if explicit:
        return os.path.expanduser(explicit)
    if environ.get(ENV_CONFIG):
        return os.path.expanduser(environ[ENV_CONFIG])
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "smtpdbg", "config.toml")


MAX_CONFIG = 1 << 20
"""Most bytes read from a config file (``/dev/zero`` is not one)."""


def load_profiles(path: str | None = None, *, missing_ok: bool = True) -> dict[str, Profile]:
    """Every profile in the config file (none when it does not exist and ``missing_ok``).

    Raises:
        ProfileError: the file cannot be read or parsed, holds a password, or a value is wrong.
    """
    import tomllib

    path = config_path(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG + 1)
        if len(raw) > MAX_CONFIG or b"\0" in raw:
            raise ProfileError(f"config file {path}: binary data or over {MAX_CONFIG:,} bytes, not a config file")
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProfileError(f"config file {path}: not UTF-8 text, not a config file") from None
    except FileNotFoundError:
        if missing_ok:
            return {}
        raise ProfileError(f"config file {path}: no such file (its format: docs/profiles.md)") from None
    except OSError as exc:
        raise ProfileError(f"config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"config file {path}: not valid TOML ({exc})") from None
    _refuse_secrets(data, path, "")
    tables = data.get("profiles", {})
    if not isinstance(tables, dict):
        raise ProfileError(f"config file {path}: `profiles` must be a table of [profiles.NAME] tables")
    return {name: _profile(name, table, path) for name, table in tables.items()}


def find_profile(name: str, path: str | None = None) -> Profile:
    """The profile called ``name``.

    Raises:
        ProfileError: no such profile (the message lists the ones there are), or the file is unusable.
    """
    profiles = load_profiles(path, missing_ok=False)
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ProfileError(f"no profile {name!r} in {config_path(path)} (profiles: {known})")
    return profiles[name]


def _refuse_secrets(data: dict, path: str, where: str) -> None:
    for key, value in data.items():
        if key.lower() in SECRET_KEYS:
            place = f"[{where}]" if where else "the top level"
            raise ProfileError(
                f"config file {path}: {place} holds a `{key}`: the config file keeps no secrets, so it is not used. "
                "Remove it and say where the password comes from instead: password_from = \"env:NAME\", "
                "\"netrc\" or \"keyring\" (docs/profiles.md)")
        if isinstance(value, dict):
            _refuse_secrets(value, path, f"{where}.{key}" if where else key)


def _profile(name: str, table, path: str) -> Profile:
    where = f"config file {path}: [profiles.{name}]"
    if not isinstance(table, dict):
        raise ProfileError(f"{where}: must be a table")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ProfileError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    for key in ("target", "tls", "ca", "verify_name", "user", "password_from", "local_hostname", "description"):
        if key in table and not isinstance(table[key], str):
            raise ProfileError(f"{where}: {key} must be a string")
    if "insecure" in table and not isinstance(table["insecure"], bool):
        raise ProfileError(f"{where}: insecure must be true or false")
    if "timeout" in table and (isinstance(table["timeout"], bool) or not isinstance(table["timeout"], (int, float))
                               or table["timeout"] <= 0):
        raise ProfileError(f"{where}: timeout must be a number of seconds above 0")
    tls = table.get("tls")
    if tls is not None and tls not in TLS_MODES:
        raise ProfileError(f"{where}: tls = {tls!r}: use one of {', '.join(TLS_MODES)}")
    source = table.get("password_from")
    if source is not None:
        kind, _, detail = source.partition(":")
        if kind not in ("env", "netrc", "keyring") or (kind == "env" and not detail):
            raise ProfileError(f"{where}: password_from = {source!r}: use \"env:NAME\", \"netrc\", \"netrc:MACHINE\", "
                               "\"keyring\" or \"keyring:SERVICE\"")
    ca = table.get("ca")
    return Profile(name=name, target=table.get("target"), tls=tls, ca=os.path.expanduser(ca) if ca else None,
                   insecure=table.get("insecure", False), verify_name=table.get("verify_name"), user=table.get("user"),
                   password_from=source, timeout=float(table["timeout"]) if "timeout" in table else None,
                   local_hostname=table.get("local_hostname"), description=table.get("description", ""))


def host_of(profile: Profile) -> str | None:
    """The target's host name (the netrc machine by default), or ``None`` for a socket or no target."""
    text = profile.target_text()
    if not text:
        return None
    from smtpdbg.core import values

    try:
        target = values.target(text)
    except ValueError:
        return None
    return None if target.unix else target.host


@dataclass(frozen=True)
class Credentials:
    """Where a profile's password is, for the session: a variable name and (netrc, keyring) its value to set."""

    user: str | None
    password_env: str | None
    password: str | None = None
    """Read from netrc or a keyring; the caller puts it in :data:`PASSWORD_VARIABLE` and never shows it."""


def credentials(profile: Profile, *, netrc_file: str | None = None) -> Credentials:
    """Resolve the profile's password source.

    ``env:NAME`` only names the variable (it is read when AUTH needs it); netrc and
    keyring are read now.

    Raises:
        ProfileError: the netrc file or keyring has no entry, or ``keyring`` is not installed.
    """
    source = profile.password_from
    if not source:
        return Credentials(profile.user, None)
    kind, _, detail = source.partition(":")
    if kind == "env":
        return Credentials(profile.user, detail)
    if kind == "netrc":
        return _from_netrc(profile, detail or host_of(profile), netrc_file)
    service = detail or KEYRING_SERVICE
    if not profile.user:
        raise ProfileError(f"profile {profile.name}: password_from = \"keyring\" needs a user (the keyring entry's name)")
    try:
        import keyring
    except ImportError:
        raise ProfileError(f"profile {profile.name}: password_from = \"keyring\" needs the keyring package "
                           "(pip install keyring); or use \"env:NAME\" or \"netrc\"") from None
    try:
        password = keyring.get_password(service, profile.user)
    except Exception as exc:  # any keyring backend's failure: no usable keyring
        raise ProfileError(f"profile {profile.name}: the keyring could not be read ({type(exc).__name__})") from None
    if password is None:
        raise ProfileError(f"profile {profile.name}: the keyring holds no password for service {service!r}, "
                           f"user {profile.user!r} (keyring set {service} {profile.user})")
    return Credentials(profile.user, PASSWORD_VARIABLE, password)


def _from_netrc(profile: Profile, machine: str | None, netrc_file: str | None) -> Credentials:
    import netrc

    if not machine:
        raise ProfileError(f"profile {profile.name}: password_from = \"netrc\" needs a host target, "
                           "or name the machine: \"netrc:MACHINE\"")
    path = netrc_file or os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    try:
        entry = netrc.netrc(path).authenticators(machine)
    except FileNotFoundError:
        raise ProfileError(f"profile {profile.name}: password_from = \"netrc\": {path}: no such file") from None
    except netrc.NetrcParseError as exc:  # its message may quote a token of the file: only the line is named
        raise ProfileError(f"profile {profile.name}: {path} is not a netrc file (line {exc.lineno})") from None
    except OSError as exc:
        raise ProfileError(f"profile {profile.name}: {path} cannot be read: {exc.strerror or exc}") from None
    if entry is None or not entry[2]:
        raise ProfileError(f"profile {profile.name}: {path} has no password for machine {machine!r}")
    login, _, password = entry
    return Credentials(profile.user or login or None, PASSWORD_VARIABLE, password)
