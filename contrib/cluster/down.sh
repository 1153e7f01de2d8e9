#!/usr/bin/env bash
# contrib/cluster/down.sh - stop what contrib/cluster/up.sh started:
#   contrib/cluster/down.sh STATE_DIR
exec "$(dirname "$0")/up.sh" stop "${1:?usage: $0 STATE_DIR}"
