"""Settings: one object that says how a voxweb server runs.

Values come from four places, each overriding the one before: built-in defaults, a TOML
config file (``--config``), ``VOXWEB_<NAME>`` environment variables, and command-line flags.
Every setting has the same name in all four (``--cors-origin`` / ``cors_origin`` /
``VOXWEB_CORS_ORIGIN``). This module only parses and validates; it starts nothing.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

ENV_PREFIX = "VOXWEB_"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


class ConfigError(ValueError):
    """A setting has a value voxweb cannot use; the message names the setting."""


def parse_size(text: str | int) -> int:
    """Parse a byte size such as ``2G``, ``512MiB`` or ``1048576``."""
    if isinstance(text, int):
        return text
    match = _SIZE_RE.match(str(text))
    if not match:
        raise ConfigError(f"not a size: {text!r} (use bytes, or a number with K, M, G or T)")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def is_loopback_host(host: str) -> bool:
    """True when binding ``host`` only accepts connections from this machine."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass
class Settings:
    """Everything ``voxweb serve`` can be told. Field names are the setting names."""

    host: str = "127.0.0.1"
    port: int = 2016
    port_tries: int = 50
    docroot: Path | None = None
    ohif: Path | None = None  # a prebuilt OHIF v3 dist/ served at /browse
    data_dir: Path | None = None
    auth: Literal["token", "none"] = "token"
    token: str | None = None
    new_token: bool = False  # make a new token instead of reusing the data dir's token file
    enable_exec: bool = False
    disable_slicer: bool = False
    disable_dicom: bool = False
    dicom_delete: bool = False  # DICOMweb DELETE of studies/series/instances (405 when off)
    disable_static: bool = False
    cors_origin: list[str] = dataclasses.field(default_factory=list)
    allowed_host: list[str] = dataclasses.field(default_factory=list)
    certfile: Path | None = None
    keyfile: Path | None = None
    log_console: bool = False
    open: bool = False
    static_auth: bool = False
    directory_listing: bool = False
    max_body_size: int = 4 << 30
    # Voxel bytes one volume (or segmentation, displacement field, DICOM series) may declare;
    # equal to voxweb.io.limits.DEFAULT_MAX_VOLUME_SIZE (not imported: config stays light).
    max_volume_size: int = 4 << 30
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    keepalive_timeout: float = 5.0
    log_buffer_size: int = 256 << 10
    file_root: list[Path] = dataclasses.field(default_factory=list)
    allow_url_fetch: bool = False
    allow_private_urls: bool = False
    url_private_host: list[str] = dataclasses.field(default_factory=list)
    url_fetch_max_size: int = 2 << 30
    exec_timeout: float = 60.0
    sample: list[str] = dataclasses.field(default_factory=list)
    sample_download: bool = True
    memory_reuse_size: int = 512 << 20
    ingest_processes: int | None = None  # STOW-RS worker processes (serve: cores + 1)
    # the DICOM index: postgresql://user@host:port/db (many processes or hosts); None: an
    # SQLite file in the data dir
    database_url: str | None = None
    render_backend: Literal["auto", "vtk", "numpy"] = "auto"
    auto_volume_rendering: bool = True

    # --- derived views -------------------------------------------------------------------

    @property
    def scheme(self) -> str:
        return "https" if self.certfile else "http"

    @property
    def token_required(self) -> bool:
        return self.auth == "token"

    def resolved_docroot(self) -> Path:
        if self.docroot is not None:
            return Path(self.docroot).expanduser().resolve()
        return (Path(__file__).parent / "docroot").resolve()

    def resolved_data_dir(self) -> Path:
        if self.data_dir is not None:
            return Path(self.data_dir).expanduser().resolve()
        import platformdirs

        return Path(platformdirs.user_data_dir("voxweb", appauthor=False))

    def resolved_ingest_processes(self) -> int:
        """Unset means none: ``voxweb serve`` sets cores + 1 itself (see cli)."""
        return self.ingest_processes or 0

    # --- validation ----------------------------------------------------------------------

    def validate(self) -> Settings:
        """Refuse combinations that would be unsafe or cannot work; return self."""
        if self.auth not in ("token", "none"):
            raise ConfigError(f"auth must be 'token' or 'none', not {self.auth!r}")
        if self.auth == "none" and not is_loopback_host(self.host):
            raise ConfigError(
                f"--auth none is only allowed when binding a loopback address; host is {self.host!r}"
            )
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be between 0 and 65535, not {self.port}")
        if self.port_tries < 1:
            raise ConfigError("port_tries must be at least 1")
        if self.database_url is not None:
            _check_database_url(self.database_url)
        if self.ingest_processes is not None and not 0 <= self.ingest_processes <= 64:
            raise ConfigError("ingest_processes must be between 0 and 64")
        if bool(self.certfile) != bool(self.keyfile):
            raise ConfigError("HTTPS needs both --certfile and --keyfile")
        for name in ("certfile", "keyfile"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                raise ConfigError(f"{name} {str(path)!r} is not a readable file")
        if self.max_volume_size < 1:
            raise ConfigError("max_volume_size must be positive")
        if self.token is not None and len(self.token) < 16:
            raise ConfigError("token must be at least 16 characters long")
        for origin in self.cors_origin:
            if origin != "*" and not re.match(r"^https?://[^/\s]+$", origin):
                raise ConfigError(
                    f"cors_origin {origin!r} must look like https://host[:port] (no path) or be '*'"
                )
        if "*" in self.cors_origin and self.auth == "none":
            # '*' lets a page in only with the token in a header; without a token every page
            # on the web could use the API, exec included.
            raise ConfigError(
                "cors_origin '*' needs token auth (with --auth none any web page could use the "
                "API); list the origins by name instead, e.g. --cors-origin https://host:port"
            )
        docroot = self.resolved_docroot()
        if not self.disable_static and not docroot.is_dir():
            raise ConfigError(f"docroot {str(docroot)!r} is not a directory")
        if self.ohif is not None and not (Path(self.ohif).expanduser() / "index.html").is_file():
            raise ConfigError(
                f"ohif {str(self.ohif)!r} must be a built OHIF viewer folder (with index.html), "
                "such as package/dist from `npm pack @ohif/app@3.13.2`"
            )
        for root in self.file_root:
            if not Path(root).is_dir():
                raise ConfigError(f"file_root {str(root)!r} is not a directory")
        for name in ("header_timeout", "body_timeout", "keepalive_timeout", "exec_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive")
        return self

    # --- loading -------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        flags: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        config_file: str | os.PathLike[str] | None = None,
    ) -> Settings:
        """Merge defaults < config file < environment < flags, then validate.

        ``flags`` holds only the flags the user gave (``None`` values are ignored).
        """
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        config_file = config_file or env.get(ENV_PREFIX + "CONFIG")
        if config_file:
            values.update(_read_toml(Path(config_file)))
        values.update(_read_env(env))
        values.update({k: v for k, v in (flags or {}).items() if v is not None})
        return cls.from_mapping(values).validate()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Build Settings from loosely typed values (strings from env, TOML types, ...)."""
        hints = get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {}
        for key, raw in values.items():
            name = key.replace("-", "_")
            if name not in known:
                raise ConfigError(f"unknown setting {key!r}")
            kwargs[name] = _coerce(name, raw, hints[name])
        return cls(**kwargs)


_DATABASE_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "sqlite")


def _check_database_url(url: str) -> None:
    """Refuse what cannot be an index URL, without repeating the URL (it may hold a password)."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in _DATABASE_SCHEMES:
        given = f", not a {scheme!r} URL" if sep else ""
        raise ConfigError(
            "database_url must look like postgresql://user@host:port/database "
            f"(or sqlite:///path){given}"
        )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    # Settings may sit at the top level or under a [serve] table.
    table = data.get("serve", data)
    return {k: v for k, v in table.items() if not isinstance(v, dict)}


def _read_env(env: Mapping[str, str]) -> dict[str, Any]:
    known = {f.name for f in dataclasses.fields(Settings)}
    out = {}
    for key, value in env.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX) :].lower()
            if name in known:
                out[name] = value
    return out


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _coerce(name: str, raw: Any, hint: Any) -> Any:
    """Turn ``raw`` into the type the Settings field ``name`` declares."""
    origin = get_origin(hint)
    args = [a for a in get_args(hint) if a is not type(None)]
    if raw is None:
        return None
    if origin is Literal:
        if raw not in get_args(hint):
            raise ConfigError(f"{name} must be one of {', '.join(get_args(hint))}, not {raw!r}")
        return raw
    if origin is list:
        item = get_args(hint)[0]
        if isinstance(raw, str):
            parts = [part.strip() for part in raw.split(",") if part.strip()]
        elif isinstance(raw, (list, tuple)):
            parts = [str(part) for part in raw]
        else:
            raise ConfigError(f"{name} must be a list of strings")
        return [Path(p).expanduser() for p in parts] if item is Path else parts
    target = args[0] if args else hint
    if target is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"{name} must be true or false, not {raw!r}")
    if target is int:
        if name.endswith("_size"):
            return parse_size(raw)
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be an integer, not {raw!r}") from None
    if target is float:
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if target is Path:
        return Path(str(raw)).expanduser()
    if target is str:
        return str(raw)
    return raw  # pragma: no cover - every field type is handled above
