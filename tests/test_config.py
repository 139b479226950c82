"""Settings: precedence (defaults < file < env < flags), coercion and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxweb.config import ConfigError, Settings, is_loopback_host, parse_size


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults_are_safe():
    s = Settings().validate()
    assert s.host == "127.0.0.1"
    assert s.port == 2016
    assert s.auth == "token"
    assert s.enable_exec is False
    assert s.cors_origin == []


def test_precedence_file_env_flags(tmp_path):
    cfg = write_toml(tmp_path / "v.toml", 'port = 3001\nhost = "127.0.0.1"\nlog_console = true\n')
    s = Settings.load({}, env={}, config_file=cfg)
    assert s.port == 3001 and s.log_console is True
    s = Settings.load({}, env={"VOXWEB_PORT": "3002"}, config_file=cfg)
    assert s.port == 3002 and s.log_console is True
    s = Settings.load({"port": 3003}, env={"VOXWEB_PORT": "3002"}, config_file=cfg)
    assert s.port == 3003
    # A flag that was not given (None) does not hide the env value.
    s = Settings.load({"port": None}, env={"VOXWEB_PORT": "3002"}, config_file=cfg)
    assert s.port == 3002


def test_config_file_from_env_and_serve_table(tmp_path):
    cfg = write_toml(
        tmp_path / "v.toml", "[serve]\nport = 4000\ncors_origin = ['https://a.example']\n"
    )
    s = Settings.load({}, env={"VOXWEB_CONFIG": str(cfg)})
    assert s.port == 4000
    assert s.cors_origin == ["https://a.example"]


def test_env_lists_booleans_and_sizes():
    env = {
        "VOXWEB_CORS_ORIGIN": "https://a.example, https://b.example",
        "VOXWEB_ENABLE_EXEC": "yes",
        "VOXWEB_MAX_BODY_SIZE": "512M",
        "VOXWEB_HEADER_TIMEOUT": "2.5",
        "VOXWEB_UNRELATED": "ignored",
    }
    s = Settings.load({}, env=env)
    assert s.cors_origin == ["https://a.example", "https://b.example"]
    assert s.enable_exec is True
    assert s.max_body_size == 512 << 20
    assert s.header_timeout == 2.5
    assert Settings.load({}, env={"VOXWEB_WORKERS": "3"}).workers == 3


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"auth": "none", "host": "0.0.0.0"}, "only allowed when binding a loopback"),
        ({"auth": "maybe"}, "auth must be one of"),
        ({"port": 70000}, "port must be between"),
        ({"certfile": "/nonexistent.pem", "keyfile": "/nonexistent.key"}, "not a readable file"),
        ({"certfile": "/etc/hostname"}, "needs both"),
        ({"token": "short"}, "at least 16"),
        ({"cors_origin": ["https://ok.example/path"]}, "no path"),
        ({"enable_exec": "perhaps"}, "true or false"),
        ({"port": "eighty"}, "must be an integer"),
        ({"max_body_size": "lots"}, "not a size"),
        ({"no_such_setting": 1}, "unknown setting"),
        ({"docroot": "/nonexistent/dir"}, "is not a directory"),
        ({"workers": 0}, "workers must be between 1 and 64"),
    ],
)
def test_refusals_name_the_problem(values, message):
    with pytest.raises(ConfigError, match=message):
        Settings.load(values, env={})


def test_bad_toml_is_reported(tmp_path):
    cfg = write_toml(tmp_path / "bad.toml", "port = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load({}, env={}, config_file=cfg)
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load({}, env={}, config_file=tmp_path / "missing.toml")


def test_auth_none_allowed_on_loopback_forms():
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert Settings.load({"auth": "none", "host": host}, env={}).auth == "none"
    assert not is_loopback_host("0.0.0.0")
    assert not is_loopback_host("192.168.1.10")


def test_parse_size():
    assert parse_size("1024") == 1024
    assert parse_size("2K") == 2048
    assert parse_size("1.5GiB") == 3 << 29
    assert parse_size(7) == 7


def test_serve_options_come_from_the_settings_table():
    """Each flag, its help and its default are written once, on the Settings field."""
    import dataclasses

    from voxweb.cli import build_parser

    parser = build_parser()
    serve = parser._subparsers._group_actions[0].choices["serve"]  # noqa: SLF001
    options = {a.dest: a for a in serve._actions if a.option_strings}  # noqa: SLF001
    for field in dataclasses.fields(Settings):
        assert field.metadata.get("help"), f"{field.name} has no help"
        if not field.metadata["flag"]:
            assert field.name not in options
            continue
        action = options[field.name]
        assert action.default is None  # "not given": the file and VOXWEB_* keep their say
        assert action.option_strings[0] == "--" + field.name.replace("_", "-")
    assert "(default 2016)" in options["port"].help
    assert "(default 4G)" in options["max_body_size"].help
    assert "(default 10)" in options["header_timeout"].help
    assert options["render_backend"].choices == ["auto", "vtk", "numpy"]
    args = parser.parse_args(["serve", "--port", "8080", "--cors-origin", "https://a.example",
                              "--cors-origin", "https://b.example", "--no-sample-download"])  # fmt: skip
    assert (args.port, args.cors_origin, args.sample_download) == (
        8080, ["https://a.example", "https://b.example"], False,
    )  # fmt: skip
