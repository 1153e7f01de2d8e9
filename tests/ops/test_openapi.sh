#!/bin/sh
# tests/ops/test_openapi.sh - doc/openapi.yaml is a valid OpenAPI document:
# swagger-cli validate (npm's @apidevtools/swagger-cli, fetched by npx into
# a cache outside the tree) parses it strictly (a duplicated key is an
# error, as the specification's YAML says) and resolves every $ref; and
# every route the server's router answers appears under `paths`. Exit 77
# (skipped) without npx (the machines this runs on have Node.js and npm).
set -eu
src=${LF_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
spec="$src/doc/openapi.yaml"
command -v npx >/dev/null 2>&1 || { echo "SKIP: npx is not installed"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lf-openapi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
# npx writes its cache under $HOME/.npm; a private one keeps the tree clean
(cd "$tmp" && HOME="$tmp" npm_config_update_notifier=false \
	timeout 300 npx --yes @apidevtools/swagger-cli@4.0.4 validate "$spec")
# every route of src/http/router.c is documented
missing=0
for path in /api/accounts /api/accounts/{id} /api/accounts/{id}/ledger \
	/api/accounts/{id}/balance /api/payments /api/payments/batch /api/payments/{id} \
	/api/payments/{id}/capture /api/payments/{id}/void /api/payments/{id}/refunds \
	/api/currencies /api/events /healthz /readyz /metrics; do
	grep -q "^  $path:" "$spec" || { echo "FAIL: $path is not under paths"; missing=1; }
done
[ "$missing" -eq 0 ]
echo "ok: $spec"
