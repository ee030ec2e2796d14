#!/usr/bin/env bash
# Run the test suite as two pytest processes side by side, one per core:
#
#   scripts/test-halves.sh PYTHON [PYTEST_ARGS...]
#
# The Neo4j tests (marker `neo4j`) share one server and wipe it between tests, so they
# run in one process, whose output shows as it goes. The other tests run beside them
# (with the Neo4j tests that start a server of their own, marker `own_neo4j`);
# their output is kept in a log and printed once the Neo4j half is done. Both halves get
# PYTEST_ARGS (so `-k` and `-x` work, each half stopping on its own) and keep their own
# pytest cache (`.pytest_cache/neo4j`, `.pytest_cache/others`), so `--lf` reruns what
# either half failed. PYTEST_ARGS with a `-m` of their own run as one pytest instead.
#
# Exits with the first failing half's status. A half that the arguments leave empty
# (pytest's "no tests ran", 5) is not a failure unless both are empty. Ctrl-C stops both
# halves, each running its teardown.
set -uo pipefail

[[ $# -ge 1 ]] || {
    echo "usage: $0 PYTHON [PYTEST_ARGS...]" >&2
    exit 2
}
PY="$1"
shift

for arg in "$@"; do
    if [[ $arg == -m* ]]; then
        exec "$PY" -m pytest "$@"
    fi
done

LOG="$(mktemp -t lineagegraph-tests.XXXXXX)"
OTHER=""
# shellcheck disable=SC2317 # invoked by the traps below
stop_other() {
    # the other half runs in a process group of its own (set -m below): signal all of it
    if [[ -n $OTHER ]]; then
        kill "-$1" -- "-$OTHER" 2>/dev/null || true
        wait "$OTHER" 2>/dev/null || true
        OTHER=""
    fi
}
# shellcheck disable=SC2317
show_others() {
    echo
    echo "============ the tests that do not use the shared Neo4j ============"
    cat "$LOG"
}
# shellcheck disable=SC2317
cleanup() {
    stop_other TERM
    rm -f "$LOG"
}
trap cleanup EXIT
trap 'stop_other INT; show_others; exit 130' INT
trap 'stop_other TERM; exit 143' TERM

# A background job of a script ignores Ctrl-C; in a process group of its own it does not
# (and the terminal's Ctrl-C reaches it through the INT trap above).
set -m
"$PY" -m pytest -m 'not neo4j or own_neo4j' -o cache_dir=.pytest_cache/others "$@" >"$LOG" 2>&1 &
OTHER=$!
set +m

echo "test-halves.sh: the tests that share the test Neo4j here; the others run beside them (pid $OTHER)" >&2
neo4j=0
"$PY" -m pytest -m 'neo4j and not own_neo4j' -o cache_dir=.pytest_cache/neo4j "$@" || neo4j=$?
others=0
wait "$OTHER" || others=$?
OTHER=""
show_others

if [[ $neo4j -eq 5 && $others -eq 5 ]]; then
    exit 5
fi
for rc in "$neo4j" "$others"; do
    if [[ $rc -ne 0 && $rc -ne 5 ]]; then
        echo "test-halves.sh: a half failed (the shared Neo4j tests: exit $neo4j, the others: exit $others)" >&2
        exit "$rc"
    fi
done
echo "test-halves.sh: both halves passed" >&2
