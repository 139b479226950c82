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

from voxweb.booleans import parse_bool

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


def setting(
    default: Any = None,
    help: str = "",  # noqa: A002 - argparse's word
    group: str = "other",
    *,
    flag: bool = True,
    metavar: str | None = None,
    list_default: bool = False,
    show_default: bool = True,
) -> Any:
    """A Settings field with what ``voxweb serve --help`` says about it (one table, as
    Datasette does). ``flag=False``: a config-file and environment setting only;
    ``show_default=False`` when the help says the default in words."""
    meta = {"help": help, "group": group, "flag": flag, "metavar": metavar}
    meta["show_default"] = show_default
    if list_default:
        return dataclasses.field(default_factory=list, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass
class Settings:
    """Everything ``voxweb serve`` can be told. Field names are the setting names; each
    field's help, group and flag live here, and ``cli.py`` builds the options from them."""

    # --- network
    host: str = setting("127.0.0.1", "address to bind", "network")
    port: int = setting(2016, "port; the next free one is used if busy", "network")
    port_tries: int = setting(50, "how many ports to try from --port", "network")
    certfile: Path | None = setting(None, "TLS certificate (PEM) for HTTPS", "network")
    keyfile: Path | None = setting(None, "TLS private key (PEM) for HTTPS", "network")
    allowed_host: list[str] = setting(
        help="another Host name this server answers to (repeatable)",
        group="network",
        metavar="NAME",
        list_default=True,
    )
    # --- security
    auth: Literal["token", "none"] = setting(
        "token", "token or none; none is refused unless --host is loopback", "security"
    )
    token: str | None = setting(
        None,
        "API token (default: the data dir's token file, else a new random 256-bit token)",
        "security",
    )
    new_token: bool = setting(
        False, "make a new token instead of reusing the data dir's token file", "security"
    )
    cors_origin: list[str] = setting(
        help="allow this browser origin, e.g. https://volview.netlify.app (repeatable)",
        group="security",
        metavar="ORIGIN",
        list_default=True,
    )
    static_auth: bool = setting(False, "require the token for static pages too", "security")
    max_body_size: int = setting(4 << 30, "largest request body, e.g. 4G", "security")
    max_volume_size: int = setting(
        4 << 30,  # = voxweb.io.limits.DEFAULT_MAX_VOLUME_SIZE (not imported: config stays light)
        "most voxel data one volume, segmentation, displacement field or DICOM series may "
        "declare, e.g. 8G; larger files are refused before any memory is used",
        "security",
    )
    header_timeout: float = setting(10.0, "seconds to receive a request header", "security")
    body_timeout: float = setting(60.0, "seconds a request body may stall", "security")
    keepalive_timeout: float = setting(
        5.0, "seconds an idle keep-alive connection stays open", "security", flag=False
    )
    # --- APIs
    enable_exec: bool = setting(False, "allow /slicer/exec (remote Python); off by default", "APIs")
    exec_timeout: float = setting(60.0, "seconds an exec script may run", "APIs")
    disable_slicer: bool = setting(False, "turn off the /slicer API", "APIs")
    disable_dicom: bool = setting(False, "turn off the /dicom API", "APIs")
    disable_static: bool = setting(False, "turn off static pages", "APIs")
    dicom_delete: bool = setting(
        False, "allow DICOMweb DELETE of studies, series and instances (off: 405)", "APIs"
    )
    # --- files
    docroot: Path | None = setting(
        None, "static pages (default: the packaged control panel)", "files", metavar="DIR"
    )
    ohif: Path | None = setting(
        None,
        "serve this prebuilt OHIF v3 viewer (the dist/ folder of @ohif/app) at /browse",
        "files",
        metavar="DIR",
    )
    data_dir: Path | None = setting(
        None, "database, caches and token file (default: per-user)", "files", metavar="DIR"
    )
    database_url: str | None = setting(
        None,
        "DICOM index on PostgreSQL, e.g. postgresql://voxweb@dbhost:5432/voxweb, shared by "
        "several servers (default: an SQLite file in the data dir)",
        "files",
        metavar="URL",
    )
    storage: Path | None = setting(
        None,
        "folder of the DICOM instance files, shared by all hosts of one database "
        "(default: <data-dir>/dicom/store)",
        "files",
        metavar="DIR",
    )
    directory_listing: bool = setting(False, "list docroot folders without index.html", "files")
    file_root: list[Path] = setting(
        help="a folder clients may read and write by path (repeatable; none by default)",
        group="files",
        metavar="DIR",
        list_default=True,
    )
    allow_url_fetch: bool = setting(False, "let clients load data from http(s) URLs", "files")
    allow_private_urls: bool = setting(
        False, "with --allow-url-fetch, also fetch from loopback/private addresses", "files"
    )
    url_private_host: list[str] = setting(
        help="a host that may be fetched although it resolves to a private address",
        group="files",
        metavar="HOST",
        list_default=True,
    )
    url_fetch_max_size: int = setting(
        2 << 30, "largest download of --allow-url-fetch", "files", flag=False
    )
    sample: list[str] = setting(
        help="load this sample data set at start, e.g. MRHead (repeatable)",
        group="files",
        metavar="NAME",
        list_default=True,
    )
    sample_download: bool = setting(
        True, "download sample data when online (offline copies otherwise)", "files"
    )
    # --- rendering
    render_backend: Literal["auto", "vtk", "numpy"] = setting(
        "auto",
        "3-D renderer: VTK offscreen (EGL), the numpy ray caster, or auto (VTK when a GL "
        "context can be made)",
        "rendering",
    )
    auto_volume_rendering: bool = setting(
        True, "show the first volume of an empty scene in the 3-D views", "rendering"
    )
    # --- performance
    memory_reuse_size: int = setting(
        512 << 20,
        "freed memory kept for reuse instead of returned to the OS, e.g. 512M (0 = off; "
        "Linux). Saves the page faults of every large upload and render buffer",
        "performance",
    )
    ingest_processes: int | None = setting(
        None,
        "worker processes that store STOW-RS uploads in parallel (default: one per core, "
        "counting at most 4, plus one; 0 = in the server process)",
        "performance",
    )
    workers: int = setting(
        1,
        "HTTP processes sharing the port; the first holds the scene and the others pass scene "
        "requests to it, while all of them serve /dicom and static files",
        "performance",
    )
    # --- other
    log_console: bool = setting(False, "print the access log to the console")
    log_buffer_size: int = setting(
        256 << 10, "size of the in-memory log the control panel shows", flag=False
    )
    open: bool = setting(False, "open the control panel in the system browser")

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
        if not 1 <= self.workers <= 64:
            raise ConfigError("workers must be between 1 and 64")
        if self.workers > 1 and not sys.platform.startswith("linux"):
            raise ConfigError("workers above 1 need Linux (shared memory and inherited sockets)")
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
        try:
            return parse_bool(str(raw))
        except ValueError:
            raise ConfigError(f"{name} must be true or false, not {raw!r}") from None
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
