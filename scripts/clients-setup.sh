#!/usr/bin/env bash
# Installs the real coding assistants the client tests drive (npm run test:clients), once per
# machine and version: Claude Code and Codex CLI from npm, both native binaries (about 240 MB and
# 420 MB unpacked). They live in ~/.cache/daidai-clients/<versions>/ (outside the clone), not in
# devDependencies: every `npm ci` (CI, each developer, the packaging) would otherwise download
# 660 MB that only this one suite uses, and the platform packages they pull in would sit in the
# lock file. The versions are pinned: the tests assert what these versions send
# (shared/clients.md). A second run only checks and takes a second. Logs go to stderr; the last
# line on stdout is the cache folder.
#
# Usage: scripts/clients-setup.sh        (env DAIDAI_CLIENTS_CACHE overrides ~/.cache/daidai-clients)
set -euo pipefail

CLAUDE_CODE_VERSION=2.1.197
CODEX_VERSION=0.171.0

KEY="claude-code-${CLAUDE_CODE_VERSION}_codex-${CODEX_VERSION}_$(uname -s)-$(uname -m)"
CACHE_ROOT="${DAIDAI_CLIENTS_CACHE:-$HOME/.cache/daidai-clients}"
DIR="$CACHE_ROOT/$KEY"
DONE_MARK="$DIR/.daidai-install-complete"

main() {
  log() { printf '[clients-setup] %s\n' "$*" >&2; }
  die() { printf '[clients-setup] FAILED: %s\n' "$*" >&2; exit 1; }

  mkdir -p "$CACHE_ROOT"
  # Two runs at once must not install into the same folder.
  exec 9>"$CACHE_ROOT/.lock"
  if command -v flock >/dev/null; then
    flock -w 900 9 || die "another clients setup held $CACHE_ROOT/.lock for 15 minutes; remove it if none is running"
  fi

  if [ -f "$DONE_MARK" ] && [ -x "$DIR/node_modules/.bin/claude" ] && [ -x "$DIR/node_modules/.bin/codex" ]; then
    log "cached: $DIR"
    printf '%s\n' "$DIR"
    return
  fi

  log "installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION and @openai/codex@$CODEX_VERSION into $DIR"
  rm -rf "$DIR"
  mkdir -p "$DIR"
  printf '{ "name": "daidai-clients", "private": true }\n' > "$DIR/package.json"
  # Claude Code's postinstall copies its platform binary into place; --foreground-scripts shows it.
  (cd "$DIR" && npm install --no-audit --no-fund --foreground-scripts \
    "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" "@openai/codex@$CODEX_VERSION" >&2) \
    || die "npm install failed (is the npm registry reachable?)"
  "$DIR/node_modules/.bin/claude" --version >&2 || die "claude does not run"
  "$DIR/node_modules/.bin/codex" --version >&2 || die "codex does not run"
  touch "$DONE_MARK"
  log "done: $DIR"
  printf '%s\n' "$DIR"
}

main "$@"
