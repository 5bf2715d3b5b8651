"""Snowflake settings from the environment (password and key-pair) and the SQL
the backend sends, checked with sqlglot's Snowflake dialect."""

import pytest
import sqlglot
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from snowcart.engines.snowflake.connection import SnowflakeConfig
from snowcart.errors import ConfigError

BASE = {"SNOWFLAKE_ACCOUNT": "acme-xy12345", "SNOWFLAKE_USER": "loader"}


def test_password_auth():
    config = SnowflakeConfig.from_env({**BASE, "SNOWFLAKE_PASSWORD": "from-env"})
    args = config.connect_args("raw")
    assert args["password"] == "from-env" and "private_key" not in args
    assert (args["account"], args["user"], args["schema"]) == ("acme-xy12345", "loader", "raw")


@pytest.mark.parametrize("passphrase", [None, "correct horse"])
def test_key_pair_auth_loads_the_key_as_der(tmp_path, passphrase):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    pem_path = tmp_path / "rsa_key.p8"
    pem_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    env = {**BASE, "SNOWFLAKE_PRIVATE_KEY_PATH": str(pem_path)}
    if passphrase:
        env["SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"] = passphrase
    args = SnowflakeConfig.from_env(env).connect_args("raw")
    assert "password" not in args
    loaded = serialization.load_der_private_key(args["private_key"], password=None)
    assert loaded.private_numbers() == key.private_numbers()


def test_wrong_passphrase_is_a_config_error(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem_path = tmp_path / "rsa_key.p8"
    pem_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"right"),
        )
    )
    config = SnowflakeConfig.from_env(
        {
            **BASE,
            "SNOWFLAKE_PRIVATE_KEY_PATH": str(pem_path),
            "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "wrong",
        }
    )
    with pytest.raises(ConfigError, match="cannot read private key"):
        config.connect_args("raw")


@pytest.mark.parametrize(
    "env, missing",
    [
        ({}, "SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH"),
        ({"SNOWFLAKE_ACCOUNT": "a", "SNOWFLAKE_PASSWORD": "p"}, "SNOWFLAKE_USER"),
    ],
)
def test_missing_settings_are_named(env, missing):
    with pytest.raises(ConfigError) as raised:
        SnowflakeConfig.from_env(env)
    assert (
        str(raised.value) == f"missing Snowflake setting(s): {missing} (see profiles.example.yml)"
    )


def test_missing_key_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="is not a readable file"):
        SnowflakeConfig.from_env({**BASE, "SNOWFLAKE_PRIVATE_KEY_PATH": str(tmp_path / "none.p8")})


def test_put_and_pipe_refresh_sql(tmp_path):
    from snowcart.engines.snowflake.warehouse import put_sql, refresh_pipe_sql
    from snowcart.stages.local import StagedFile

    put = put_sql("raw", StagedFile("orders", tmp_path / "batch-0000000001.ndjson"))
    assert put == (
        f"put 'file://{tmp_path}/batch-0000000001.ndjson' @raw.landing/orders/ "
        "auto_compress = true overwrite = false"
    )
    refresh = sqlglot.parse_one(refresh_pipe_sql("raw", "orders"), read="snowflake")
    assert refresh.sql(dialect="snowflake").upper() == "ALTER PIPE RAW.ORDERS_PIPE REFRESH"


def test_put_quotes_the_home_path_and_checks_names(tmp_path):
    import sqlglot

    from snowcart.engines.snowflake.warehouse import put_sql
    from snowcart.stages.local import StagedFile

    home = tmp_path / "o'brien's home"
    put = put_sql("raw", StagedFile("orders", home / "batch-0000000001.ndjson"))
    assert "'file://" + str(home).replace("'", "''") + "/batch-0000000001.ndjson'" in put
    sqlglot.parse_one(put.replace("put ", "select ", 1).split(" @")[0], read="snowflake")
    with pytest.raises(ConfigError, match="raw schema"):
        put_sql("raw; drop table x", StagedFile("orders", home / "b.ndjson"))
