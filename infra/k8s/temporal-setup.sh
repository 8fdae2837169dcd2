#!/bin/sh
# Prepares a Temporal namespace for Cédille Workflows: creates it if missing, then registers the
# custom search attributes of interpreter runs (keep the list equal to workflows/search-attributes.ts;
# test/infra/deploy.test.ts checks it). Idempotent, so it runs on every deploy. Needs the `temporal`
# CLI (temporalio/admin-tools image), TEMPORAL_ADDRESS and optionally TEMPORAL_NAMESPACE, and the
# TLS/token settings of the worker and the API (TEMPORAL_TLS_*, TEMPORAL_API_KEY_FILE: see
# infra/temporal-connection.ts); TEMPORAL_TLS and TEMPORAL_TLS_SERVER_NAME are the CLI's own names.
set -eu
[ -z "${TEMPORAL_TLS_CA:-}" ] || export TEMPORAL_TLS_SERVER_CA_CERT_PATH="$TEMPORAL_TLS_CA"
[ -z "${TEMPORAL_TLS_CERT:-}" ] || export TEMPORAL_TLS_CLIENT_CERT_PATH="$TEMPORAL_TLS_CERT"
[ -z "${TEMPORAL_TLS_KEY:-}" ] || export TEMPORAL_TLS_CLIENT_KEY_PATH="$TEMPORAL_TLS_KEY"
if [ -n "${TEMPORAL_API_KEY_FILE:-}" ]; then
  TEMPORAL_API_KEY="$(cat "$TEMPORAL_API_KEY_FILE")"
  export TEMPORAL_API_KEY
fi
address="${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
namespace="${TEMPORAL_NAMESPACE:-default}"

# retry CMD...: the server may still be starting, and a new namespace takes seconds to be visible.
retry() {
  tries=0
  until "$@"; do
    tries=$((tries + 1))
    [ "$tries" -lt 60 ] || { echo "gave up: $*" >&2; return 1; }
    sleep 2
  done
}

retry temporal operator cluster health --address "$address" >/dev/null
if ! temporal operator namespace describe --address "$address" --namespace "$namespace" >/dev/null 2>&1; then
  temporal operator namespace create --address "$address" --namespace "$namespace" --retention 720h
fi
for attribute in CedilleDefinition:Keyword CedilleDefinitionHash:Keyword CedilleStatus:Keyword CedilleInitiator:Keyword; do
  retry temporal operator search-attribute create --address "$address" --namespace "$namespace" \
    --name "${attribute%%:*}" --type "${attribute#*:}"
done
echo "namespace $namespace ready"
