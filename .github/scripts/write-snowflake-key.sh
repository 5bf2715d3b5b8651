#!/usr/bin/env bash
# Writes the PEM in $SNOWFLAKE_PRIVATE_KEY (a repository secret) to a file only
# this user can read and exports its path as SNOWFLAKE_PRIVATE_KEY_PATH, the
# name profiles.example.yml reads (docs/snowflake.md). Never a password.
set -euo pipefail
key_file="${RUNNER_TEMP:-/tmp}/snowflake_key.p8"
(umask 077 && printf '%s\n' "$SNOWFLAKE_PRIVATE_KEY" > "$key_file")
chmod 600 "$key_file"
echo "SNOWFLAKE_PRIVATE_KEY_PATH=$key_file" >> "$GITHUB_ENV"
