#!/usr/bin/env bash
# Build the web UI's pinned front-end assets (the Makefile's `ui` target).
#
# 1. `npm ci` in web/ when node_modules is missing or package-lock.json changed since the
#    last install (a hash of the lockfile is kept in web/node_modules/.lockfile.sha256).
# 2. Copy the pinned release files into src/lineagegraph/api/static/vendor/ together with
#    their licences and a VENDOR.md naming each file's package, version and licence.
#
# Files are only rewritten when their content differs, so a second run changes nothing
# and takes well under a second. The vendor files are committed, so an installed wheel or
# a Docker image serves the UI without Node; this script keeps them in step with the lockfile.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
web="$root/web"
vendor="$root/src/lineagegraph/api/static/vendor"

die() {
    echo "build-ui: $*" >&2
    exit 1
}

# Without Node the committed vendor files serve as they are; Node is needed only to
# refresh them from the lockfile.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    for file in cytoscape.esm.min.js cytoscape-dagre.esm.min.js graphiql.min.js VENDOR.md; do
        [ -f "$vendor/$file" ] || die "missing $vendor/$file and no node/npm to build it; install Node.js 18+ with npm (Debian: apt-get install nodejs npm)"
    done
    echo "build-ui: node/npm not found; using the committed vendor files (see VENDOR.md)"
    exit 0
fi
[ -f "$web/package-lock.json" ] || die "missing $web/package-lock.json"

stamp="$web/node_modules/.lockfile.sha256"
want="$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)"
if [ ! -d "$web/node_modules" ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "build-ui: npm ci in web/"
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $web"
    echo "$want" >"$stamp"
fi

mkdir -p "$vendor"
changed=0

# install_if_changed SOURCE DEST: copy only when the content differs.
install_if_changed() {
    if ! cmp -s "$1" "$2"; then
        cp "$1" "$2"
        chmod 644 "$2"
        changed=$((changed + 1))
    fi
}

# package, file inside the package, name under vendor/, what it is
files=(
    "cytoscape|dist/cytoscape.esm.min.mjs|cytoscape.esm.min.js|graph rendering, pan and zoom (ES module build)"
    "cytoscape-dagre|dist/cytoscape-dagre.min.mjs|cytoscape-dagre.esm.min.js|layered left-to-right layout; bundles @dagrejs/dagre and @dagrejs/graphlib (MIT)"
    # GraphiQL at /graphql, as strawberry's page loads it (the same files, so its
    # integrity hashes hold), served from here instead of unpkg.com
    "react|umd/react.production.min.js|react.production.min.js|GraphiQL: React"
    "react-dom|umd/react-dom.production.min.js|react-dom.production.min.js|GraphiQL: React DOM"
    "js-cookie|dist/js.cookie.min.js|js.cookie.min.js|GraphiQL page: reads a CSRF cookie"
    "graphiql|graphiql.min.js|graphiql.min.js|GraphiQL: the IDE (bundles its editor and GraphQL libraries)"
    "graphiql|graphiql.min.css|graphiql.min.css|GraphiQL: its styles"
    "@graphiql/plugin-explorer|dist/index.umd.js|graphiql-plugin-explorer.umd.js|GraphiQL: the query explorer"
    "@graphiql/plugin-explorer|dist/style.css|graphiql-plugin-explorer.css|GraphiQL: the query explorer's styles"
)

manifest="$(mktemp)"
trap 'rm -f "$manifest"' EXIT
{
    echo "# Vendored front-end files"
    echo
    echo "Copied from the npm packages pinned in \`web/package-lock.json\` by \`scripts/build-ui.sh\`"
    echo "(\`make ui\`). Do not edit by hand: change the version in \`web/package.json\`, run"
    echo "\`npm install\` in \`web/\`, then \`make ui\`."
    echo
    echo "| file | package | version | licence | source file | purpose |"
    echo "|---|---|---|---|---|---|"
} >"$manifest"

for entry in "${files[@]}"; do
    IFS='|' read -r package source target purpose <<<"$entry"
    dir="$web/node_modules/$package"
    [ -f "$dir/$source" ] || die "$package does not ship $source; was the version changed?"
    version="$(node -p "require(process.argv[1]).version" "$dir/package.json")"
    licence="$(node -p "require(process.argv[1]).license" "$dir/package.json")"
    install_if_changed "$dir/$source" "$vendor/$target"
    notice="${package//\//-}.LICENSE.txt"
    notice="${notice#@}"
    if [ -f "$dir/LICENSE" ]; then
        install_if_changed "$dir/LICENSE" "$vendor/$notice"
    else  # the package ships no licence file: its package.json names the licence
        printf '%s %s is licensed %s (its package.json; the package ships no licence file).\n' \
            "$package" "$version" "$licence" >"$manifest.notice"
        install_if_changed "$manifest.notice" "$vendor/$notice"
        rm -f "$manifest.notice"
    fi
    echo "| \`$target\` | $package | $version | $licence (\`$notice\`) | \`$source\` | $purpose |" >>"$manifest"
done
install_if_changed "$manifest" "$vendor/VENDOR.md"

if [ "$changed" -gt 0 ]; then
    echo "build-ui: updated $changed file(s) in ${vendor#"$root"/}"
else
    echo "build-ui: vendor files up to date"
fi
