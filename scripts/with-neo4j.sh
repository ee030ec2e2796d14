#!/usr/bin/env bash
# Run a command against a fresh, throwaway Neo4j:
#
#   scripts/with-neo4j.sh CMD [ARGS...]
#
# Builds the launcher if needed, starts Neo4j under .neo4j/test-<pid> (wiped first),
# exports LINEAGEGRAPH_TEST_NEO4J_URI and LINEAGEGRAPH_REQUIRE_NEO4J=1 (so Neo4j tests
# fail rather than skip), runs CMD, always stops Neo4j, and exits with CMD's status.
# The folder is removed when CMD succeeds and kept (with its logs) when it fails.
set -euo pipefail

[[ $# -gt 0 ]] || {
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NEO4J="$ROOT/scripts/neo4j.sh"
DIR="$ROOT/.neo4j/test-$$"

# shellcheck disable=SC2317 # invoked by the traps below
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    "$NEO4J" stop "$DIR" || true
    if [[ $rc -eq 0 ]]; then
        rm -rf "$DIR"
    else
        echo "with-neo4j.sh: exit $rc; Neo4j logs kept in $DIR" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$DIR"
mkdir -p "$DIR"
"$NEO4J" build
URI="$("$NEO4J" start "$DIR")"
echo "with-neo4j.sh: Neo4j at $URI" >&2

export LINEAGEGRAPH_TEST_NEO4J_URI="$URI"
export LINEAGEGRAPH_REQUIRE_NEO4J=1

rc=0
"$@" || rc=$?
exit "$rc"
