#!/usr/bin/env bash
# Run the test suite as two pytest processes side by side, one per core:
#
#   scripts/test-halves.sh PYTHON [PYTEST_ARGS...]
#
# The Neo4j tests (marker `neo4j`) share one server and wipe it between tests, so they
# run in one process, whose output shows as it goes. The other tests run beside them;
# their output is kept in a log and printed once the Neo4j half is done. Both halves get
# PYTEST_ARGS (so `-k` and `-x` work; a `-m` of your own replaces the split).
#
# Exits with the first failing half's status. A half that the arguments leave empty
# (pytest's "no tests ran", 5) is not a failure unless both are empty.
set -uo pipefail

[[ $# -ge 1 ]] || {
    echo "usage: $0 PYTHON [PYTEST_ARGS...]" >&2
    exit 2
}
PY="$1"
shift

LOG="$(mktemp -t lineagegraph-tests.XXXXXX)"
"$PY" -m pytest -m 'not neo4j' "$@" >"$LOG" 2>&1 &
OTHER=$!
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
    kill "$OTHER" 2>/dev/null || true
    rm -f "$LOG"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "test-halves.sh: the Neo4j tests here; the others run beside them (pid $OTHER)" >&2
neo4j=0
"$PY" -m pytest -m neo4j "$@" || neo4j=$?
others=0
wait "$OTHER" || others=$?
echo
echo "==================== the tests that do not use Neo4j ===================="
cat "$LOG"

if [[ $neo4j -eq 5 && $others -eq 5 ]]; then
    exit 5
fi
for rc in "$neo4j" "$others"; do
    if [[ $rc -ne 0 && $rc -ne 5 ]]; then
        echo "test-halves.sh: a half failed (Neo4j tests: exit $neo4j, the others: exit $others)" >&2
        exit "$rc"
    fi
done
echo "test-halves.sh: both halves passed" >&2
