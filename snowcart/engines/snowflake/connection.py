"""The one place a Snowflake connection is opened: connection settings from
the environment the dbt profile reads (key-pair or password), and `connect()`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from snowcart.errors import ConfigError

FAKESNOW_DEFAULT_PORT = 8085


@dataclass(frozen=True)
class SnowflakeConfig:
    """Connection settings, from the same environment variables the dbt profile reads."""

    account: str
    user: str
    password: str | None
    private_key_path: str | None
    private_key_passphrase: str | None
    role: str
    warehouse: str
    database: str
    reporter_role: str = "SNOWCART_REPORTER"
    host: str | None = None
    port: int | None = None
    protocol: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SnowflakeConfig:
        env = dict(os.environ if env is None else env)
        missing = [name for name in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER") if not env.get(name)]
        if not env.get("SNOWFLAKE_PASSWORD") and not env.get("SNOWFLAKE_PRIVATE_KEY_PATH"):
            missing.append("SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH")
        if missing:
            raise ConfigError(
                "missing Snowflake setting(s): "
                + ", ".join(missing)
                + " (see profiles.example.yml)"
            )
        key_path = env.get("SNOWFLAKE_PRIVATE_KEY_PATH") or None
        if key_path and not Path(key_path).is_file():
            raise ConfigError(f"SNOWFLAKE_PRIVATE_KEY_PATH {key_path} is not a readable file")
        return cls(
            account=env["SNOWFLAKE_ACCOUNT"],
            user=env["SNOWFLAKE_USER"],
            password=env.get("SNOWFLAKE_PASSWORD") or None,
            private_key_path=key_path,
            private_key_passphrase=env.get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE") or None,
            role=env.get("SNOWFLAKE_ROLE", "SNOWCART_LOADER"),
            warehouse=env.get("SNOWFLAKE_WAREHOUSE", "SNOWCART_WH"),
            database=env.get("SNOWFLAKE_DATABASE", "SNOWCART"),
            reporter_role=env.get("SNOWFLAKE_REPORTER_ROLE", "SNOWCART_REPORTER"),
        )

    @classmethod
    def for_target(cls, target: str) -> SnowflakeConfig:
        """`fakesnow`: the local server the tests start ($FAKESNOW_PORT); else the environment."""
        if target == "fakesnow":
            return cls.for_fakesnow(int(os.environ.get("FAKESNOW_PORT", FAKESNOW_DEFAULT_PORT)))
        return cls.from_env()

    @classmethod
    def for_fakesnow(cls, port: int) -> SnowflakeConfig:
        """The local fakesnow server the tests start (the profile's fakesnow target)."""
        return cls(
            account="fakesnow",
            user="fake",
            password="snow",
            private_key_path=None,
            private_key_passphrase=None,
            role="SNOWCART_TRANSFORMER",
            warehouse="SNOWCART_WH",
            database="SNOWCART",
            host="localhost",
            port=port,
            protocol="http",
        )

    def connect_args(self, schema: str) -> dict:
        args = {
            "schema": schema,
            "account": self.account,
            "user": self.user,
            "role": self.role,
            "warehouse": self.warehouse,
            "database": self.database,
        }
        if self.private_key_path:
            args["private_key"] = load_private_key(
                self.private_key_path, self.private_key_passphrase
            )
        else:
            args["password"] = self.password
        if self.host:
            args.update(host=self.host, port=self.port, protocol=self.protocol)
        return args

    def streaming_properties(self) -> dict[str, str]:
        """The Snowpipe Streaming SDK's connection properties (the keys its
        client reads: account, user, url, role, private_key_file, ...). The SDK
        signs in with a key pair only; fakesnow has no Snowpipe Streaming."""
        if self.host:
            raise ConfigError(
                "Kafka topics load into Snowflake through Snowpipe Streaming, which fakesnow "
                "does not have: use --target snowflake with an account"
            )
        if not self.private_key_path:
            raise ConfigError(
                "Snowpipe Streaming signs in with a key pair: set SNOWFLAKE_PRIVATE_KEY_PATH "
                "(see docs/snowflake.md)"
            )
        properties = {
            "account": self.account,
            "user": self.user,
            "url": f"https://{self.account}.snowflakecomputing.com",
            "role": self.role,
            "authorization_type": "JWT",
            "private_key_file": self.private_key_path,
        }
        if self.private_key_passphrase:
            properties["private_key_passphrase"] = self.private_key_passphrase
        return properties


def load_private_key(path: str, passphrase: str | None) -> bytes:
    """A PEM private key as the DER bytes the connector's key-pair auth takes."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(
            Path(path).read_bytes(), password=passphrase.encode() if passphrase else None
        )
    except (ValueError, TypeError) as error:
        raise ConfigError(f"cannot read private key {path}: {error}") from error
    return key.private_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def connect(
    config: SnowflakeConfig,
    *,
    schema: str | None = None,
    role: str | None = None,
    qualified_names_only: bool = False,
    paramstyle: str | None = None,
):
    """A snowflake.connector connection. `qualified_names_only`: connect without
    a database, schema or warehouse (setup creates them; every name it uses is
    fully qualified). `paramstyle="qmark"` for readers that bind `?` values."""
    import snowflake.connector

    args = config.connect_args(schema or "")
    if role:
        args["role"] = role
    if qualified_names_only:
        for key in ("database", "schema", "warehouse"):
            args.pop(key, None)
    if paramstyle:
        args["paramstyle"] = paramstyle
    try:
        return snowflake.connector.connect(**args)
    except snowflake.connector.errors.Error as error:
        raise ConfigError(f"cannot connect to Snowflake: {error.msg or error}") from error
