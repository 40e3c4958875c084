#!/bin/sh
# Entrypoint of the secoda-pipelines image. For each VAR below whose VAR_FILE is set (a
# Docker or Compose secret mounted as a file), exports VAR with the file's contents, so
# secrets need not travel as plain environment in the container's definition. Then runs
# the command (the code server by default). Values are never printed.
set -eu
for var in SECODA_API_KEY SECODA_WAREHOUSE_URL DAGSTER_POSTGRES_URL; do
    eval "file=\${${var}_FILE:-}"
    if [ -n "$file" ]; then
        if [ ! -r "$file" ]; then
            echo "entrypoint: ${var}_FILE names a file that cannot be read: $file" >&2
            exit 2
        fi
        value=$(cat "$file")
        export "$var=$value"
    fi
done
exec "$@"
