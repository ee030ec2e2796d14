#!/usr/bin/env bash
# A real Neo4j Community server for tests and local use, without Docker.
#
#   scripts/neo4j.sh build       build tools/neo4j-server when its output is missing or stale
#   scripts/neo4j.sh start DIR   start a server on a free loopback port (data in DIR/data,
#                                log in DIR/neo4j.log), print its bolt:// URI once it answers
#   scripts/neo4j.sh stop DIR    stop it (SIGTERM, SIGKILL after 60 s); does nothing if stopped
#   scripts/neo4j.sh uri DIR     print the URI of the server running in DIR
#
# Environment: NEO4J_HEAP (JVM heap, default 1g), NEO4J_START_TIMEOUT (seconds, default 120),
# JAVA (the java binary, default $JAVA_HOME/bin/java or java), MVN (default mvn),
# NEO4J_PORT (bolt port for start; default a free one; set it to restart a server on its old port).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOL="$ROOT/tools/neo4j-server"
STAMP="$TOOL/target/.built"
MAIN_CLASS=dev.lineagegraph.neo4j.Neo4jServer
HEAP="${NEO4J_HEAP:-1g}"
START_TIMEOUT="${NEO4J_START_TIMEOUT:-120}"
STOP_TIMEOUT=60
if [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then
    JAVA="${JAVA:-$JAVA_HOME/bin/java}"
else
    JAVA="${JAVA:-java}"
fi
MVN="${MVN:-mvn}"

# Neo4j 5 reaches into these JDK internals (direct buffers, file descriptors for
# posix_fadvise, Netty); without them it logs warnings and falls back to slower paths.
JAVA_FLAGS=(
    "-Xms$HEAP" "-Xmx$HEAP"
    -XX:+ExitOnOutOfMemoryError
    --add-opens=java.base/java.nio=ALL-UNNAMED
    --add-opens=java.base/java.io=ALL-UNNAMED
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens=java.base/java.lang=ALL-UNNAMED
    -Dio.netty.tryReflectionSetAccessible=true
)

say() { echo "neo4j.sh: $*" >&2; }
die() {
    say "$*"
    exit 1
}

build() {
    if [[ -f "$STAMP" && -d "$TOOL/target/lib" && -d "$TOOL/target/classes" &&
        -z "$(find "$TOOL/pom.xml" "$TOOL/src" -newer "$STAMP" -print -quit)" ]]; then
        return 0
    fi
    command -v "$MVN" >/dev/null || die "Maven ($MVN) is needed to build $TOOL"
    say "building $TOOL (Maven caches in ~/.m2)"
    rm -rf "$TOOL/target/lib" "$STAMP" # no stale jars from an older Neo4j version
    (cd "$TOOL" && "$MVN" -q -B package -DskipTests) >&2 # stdout carries only URIs
    touch "$STAMP"
}

# Whether process $1 runs (a zombie, left by a parent that never reaps, does not).
alive() {
    local state
    { read -r _ _ state _ <"/proc/$1/stat"; } 2>/dev/null || return 1
    [[ "$state" != Z ]]
}

# The pid in DIR/pid if that process is alive and is our launcher, else nothing.
live_pid() {
    local pidfile="$1/pid" pid
    [[ -f "$pidfile" ]] || return 0
    pid="$(cat "$pidfile")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$MAIN_CLASS"; then
        echo "$pid"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

bolt_answers() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

show_log_tail() {
    local dir="$1"
    say "Neo4j did not start; last lines of $dir/neo4j.log:"
    tail -n 40 "$dir/neo4j.log" >&2 || true
    if [[ -f "$dir/data/logs/debug.log" ]]; then
        say "last lines of $dir/data/logs/debug.log:"
        tail -n 20 "$dir/data/logs/debug.log" >&2 || true
    fi
}

# Launch once on a fresh port; 0 when ready, 1 on failure, 2 when the port was taken meanwhile.
launch() {
    local dir="$1" port pid deadline
    port="${NEO4J_PORT:-$(free_port)}"
    nohup "$JAVA" "${JAVA_FLAGS[@]}" -cp "$TOOL/target/classes:$TOOL/target/lib/*" \
        "$MAIN_CLASS" "$dir/data" "$port" </dev/null >"$dir/neo4j.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/pid"
    echo "bolt://127.0.0.1:$port" >"$dir/uri"
    deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! alive "$pid"; then
            rm -f "$dir/pid" "$dir/uri"
            grep -q 'Address already in use' "$dir/neo4j.log" && return 2
            return 1
        fi
        if grep -q '^READY bolt://' "$dir/neo4j.log" && bolt_answers "$port"; then
            return 0
        fi
        sleep 0.2
    done
    say "no answer within ${START_TIMEOUT}s"
    stop "$dir"
    return 1
}

start() {
    local dir="$1" attempt rc
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [[ -n "$(live_pid "$dir")" ]]; then
        cat "$dir/uri"
        return 0
    fi
    rm -f "$dir/pid" "$dir/uri"
    build
    for attempt in 1 2 3; do
        rc=0
        launch "$dir" || rc=$?
        case "$rc" in
        0)
            cat "$dir/uri"
            return 0
            ;;
        2) say "port taken before Neo4j bound it (attempt $attempt), retrying" ;;
        *) break ;;
        esac
    done
    show_log_tail "$dir"
    return 1
}

stop() {
    local dir="$1" pid deadline
    pid="$(live_pid "$dir")"
    if [[ -n "$pid" ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$((SECONDS + STOP_TIMEOUT))
        while alive "$pid" && ((SECONDS < deadline)); do
            sleep 0.2
        done
        if alive "$pid"; then
            say "Neo4j (pid $pid) ignored SIGTERM for ${STOP_TIMEOUT}s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            deadline=$((SECONDS + 10))
            while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
        fi
    fi
    rm -f "$dir/pid" "$dir/uri"
}

uri() {
    local dir="$1"
    [[ -n "$(live_pid "$dir")" ]] || die "no Neo4j running in $dir"
    cat "$dir/uri"
}

usage() { die "usage: $0 build | start DIR | stop DIR | uri DIR"; }

cmd="${1:-}"
case "$cmd" in
build)
    [[ $# -eq 1 ]] || usage
    build
    ;;
start | stop | uri)
    [[ $# -eq 2 ]] || usage
    "$cmd" "$2"
    ;;
*) usage ;;
esac
