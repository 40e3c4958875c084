#!/bin/sh
# Idempotent set-up of the Dagster instance in deploy/dagster.yaml; safe to run on every
# deploy, before (or while) the webserver, daemon and code server run.
#   1. waits for PostgreSQL, then brings the instance's schema up to date
#      (`dagster instance migrate`: a no-op when it already is);
#   2. sets the pool limit of `secoda_api` (the steps that read the Secoda API), which
#      Dagster 1.13 cannot take from dagster.yaml per pool (`concurrency.pools.default_limit`
#      there covers every pool that has no limit of its own).
# Environment: DAGSTER_HOME (holding dagster.yaml); DAGSTER_POSTGRES_URL (when dagster.yaml
#   reads it, as deploy/dagster.yaml does); SECODA_API_POOL_LIMIT (default 4);
#   INIT_WAIT_SECONDS (default 120).
# docker-compose runs it as the one-shot service `dagster-init`. On Helm the chart migrates
# the schema itself (`migrate.enabled`) and the pool limit is the same one command, run in the
# daemon pod (docs/deployment.md).
# Connection errors are printed with any password in a URL masked.
set -eu

: "${DAGSTER_HOME:?DAGSTER_HOME must name the folder holding dagster.yaml}"
# deploy/dagster.yaml reads the URL from the environment (the Helm chart's instance does not).
if grep -q DAGSTER_POSTGRES_URL "$DAGSTER_HOME/dagster.yaml" 2>/dev/null &&
    [ -z "${DAGSTER_POSTGRES_URL:-}" ]; then
    echo "init_instance: DAGSTER_POSTGRES_URL is not set" >&2
    exit 2
fi

pool_limit="${SECODA_API_POOL_LIMIT:-4}"
case "$pool_limit" in
    '' | *[!0-9]*)
        echo "init_instance: SECODA_API_POOL_LIMIT must be a whole number, got '$pool_limit'" >&2
        exit 2
        ;;
esac
wait_seconds="${INIT_WAIT_SECONDS:-120}"

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Prints the captured output with URL passwords (scheme://user:PASSWORD@) masked.
show_log() {
    sed -E 's#(://[^:/@[:space:]]+):[^@[:space:]]*@#\1:***@#g' "$log" >&2
}

deadline=$(($(date +%s) + wait_seconds))
until dagster instance migrate >"$log" 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "init_instance: the instance did not migrate within ${wait_seconds}s:" >&2
        show_log
        exit 1
    fi
    sleep 3
done
echo "init_instance: instance schema up to date"

if ! dagster instance concurrency set secoda_api "$pool_limit" >"$log" 2>&1; then
    echo "init_instance: could not set the secoda_api pool limit:" >&2
    show_log
    exit 1
fi
echo "init_instance: pool secoda_api limited to $pool_limit concurrent steps"
