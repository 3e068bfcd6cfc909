#!/usr/bin/env bash
# Installs the pinned agent CLIs that the end-to-end tests drive into the
# git-ignored folder .agents/ at the repository root:
#   @openai/codex@0.169.0            -> .agents/node_modules/.bin/codex
#   @anthropic-ai/claude-code@2.1.330 -> .agents/node_modules/.bin/claude
#   @google/gemini-cli@0.61.0         -> .agents/node_modules/.bin/gemini
#   @qwen-code/qwen-code@0.24.4       -> .agents/node_modules/.bin/qwen
#   @modelcontextprotocol/inspector-cli@1.0.3 -> .agents/node_modules/.bin/mcp-inspector-cli
#     (the MCP Inspector's command line, an independent client of `zwarm mcp`)
# Needs only Node/npm and the npm registry. Idempotent: when every pinned
# version is already installed and runs, it does nothing but check them.
set -euo pipefail

CODEX_PKG="@openai/codex"
CODEX_VERSION="0.169.0"
CLAUDE_PKG="@anthropic-ai/claude-code"
CLAUDE_VERSION="2.1.330"
GEMINI_PKG="@google/gemini-cli"
GEMINI_VERSION="0.61.0"
QWEN_PKG="@qwen-code/qwen-code"
QWEN_VERSION="0.24.4"
INSPECTOR_PKG="@modelcontextprotocol/inspector-cli"
INSPECTOR_VERSION="1.0.3"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AGENTS="$ROOT/.agents"
BIN="$AGENTS/node_modules/.bin"
# `codex --version` creates $CODEX_HOME/tmp; keep that out of ~/.codex.
export CODEX_HOME="$AGENTS/codex-home"
mkdir -p "$CODEX_HOME"
# `gemini --version` writes $GEMINI_CLI_HOME/.gemini (else ~/.gemini).
export GEMINI_CLI_HOME="$AGENTS/gemini-home"
mkdir -p "$GEMINI_CLI_HOME"

die() {
    echo "" >&2
    echo "install-agents.sh: ERROR: $*" >&2
    echo "" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || die "node is not on PATH (Node.js and npm are required)"
command -v npm >/dev/null 2>&1 || die "npm is not on PATH (Node.js and npm are required)"

# Prints the version recorded in node_modules/<pkg>/package.json, or nothing.
installed_version() {
    local manifest="$AGENTS/node_modules/$1/package.json"
    [ -f "$manifest" ] || return 0
    node -e 'try { process.stdout.write(String(require(process.argv[1]).version || "")) } catch (e) {}' "$manifest"
}

# Succeeds when every CLI is installed at its pinned version and runs.
agents_ok() {
    [ "$(installed_version "$CODEX_PKG")" = "$CODEX_VERSION" ] || return 1
    [ "$(installed_version "$CLAUDE_PKG")" = "$CLAUDE_VERSION" ] || return 1
    [ "$(installed_version "$GEMINI_PKG")" = "$GEMINI_VERSION" ] || return 1
    [ "$(installed_version "$QWEN_PKG")" = "$QWEN_VERSION" ] || return 1
    [ "$(installed_version "$INSPECTOR_PKG")" = "$INSPECTOR_VERSION" ] || return 1
    "$BIN/mcp-inspector-cli" --help </dev/null >/dev/null 2>&1 || return 1
    "$BIN/codex" --version </dev/null >/dev/null 2>&1 || return 1
    "$BIN/claude" --version </dev/null >/dev/null 2>&1 || return 1
    "$BIN/gemini" --version </dev/null >/dev/null 2>&1 || return 1
    "$BIN/qwen" --version </dev/null >/dev/null 2>&1 || return 1
}

if agents_ok; then
    echo "install-agents.sh: pinned agent CLIs already installed in .agents/"
else
    echo "install-agents.sh: installing $CODEX_PKG@$CODEX_VERSION, $CLAUDE_PKG@$CLAUDE_VERSION, $GEMINI_PKG@$GEMINI_VERSION, $QWEN_PKG@$QWEN_VERSION and $INSPECTOR_PKG@$INSPECTOR_VERSION into .agents/"
    mkdir -p "$AGENTS"
    cat >"$AGENTS/package.json" <<EOF
{
  "name": "zwarm-test-agents",
  "private": true,
  "description": "Pinned agent CLIs for the zwarm end-to-end tests (written by scripts/install-agents.sh)",
  "dependencies": {
    "$CODEX_PKG": "$CODEX_VERSION",
    "$CLAUDE_PKG": "$CLAUDE_VERSION",
    "$GEMINI_PKG": "$GEMINI_VERSION",
    "$QWEN_PKG": "$QWEN_VERSION",
    "$INSPECTOR_PKG": "$INSPECTOR_VERSION"
  }
}
EOF
    # A stale lockfile could pin other versions; package.json is the truth.
    rm -f "$AGENTS/package-lock.json"
    # Both packages ship their native binaries as optional platform packages,
    # and claude-code links its binary in a postinstall script: make sure a
    # user npm config that omits optional dependencies or disables scripts
    # cannot break the install.
    log="$(mktemp "${TMPDIR:-/tmp}/install-agents.XXXXXX")"
    trap 'rm -f "$log"' EXIT
    if ! npm install --no-audit --no-fund --include=optional --ignore-scripts=false \
        --prefix "$AGENTS" 2>&1 | tee "$log"; then
        die "npm install failed (output above)"
    fi
    if grep -Eiq '(^|[[:space:]])(npm )?(ERR!|error)' "$log"; then
        echo "install-agents.sh: warning: npm install printed errors (see above)" >&2
    fi
    # claude-code's postinstall (install.cjs) replaces the bin/claude.exe stub
    # with the native binary from the platform package (which comes from the
    # npm registry; nothing else is downloaded). Newer npm versions may hold
    # back install scripts that are not allow-listed, so run it ourselves
    # when the stub is still in place.
    claude_dir="$AGENTS/node_modules/$CLAUDE_PKG"
    if [ -f "$claude_dir/install.cjs" ] && ! "$BIN/claude" --version </dev/null >/dev/null 2>&1; then
        echo "install-agents.sh: running $CLAUDE_PKG postinstall (native binary not in place)"
        (cd "$claude_dir" && node install.cjs) || die "$CLAUDE_PKG postinstall (node install.cjs) failed"
    fi
fi

# Qwen Code's package ships its bundled ripgrep without the execute bit;
# qwen then says so on stderr at every run and falls back to a slower grep.
for rg in "$AGENTS/node_modules/$QWEN_PKG"/vendor/ripgrep/*-linux/rg; do
    if [ -f "$rg" ]; then chmod +x "$rg"; fi
done

# Verify: exact versions, and the CLIs actually run.
codex_installed="$(installed_version "$CODEX_PKG")"
claude_installed="$(installed_version "$CLAUDE_PKG")"
[ "$codex_installed" = "$CODEX_VERSION" ] ||
    die "$CODEX_PKG is '${codex_installed:-missing}', expected $CODEX_VERSION in $AGENTS/node_modules"
[ "$claude_installed" = "$CLAUDE_VERSION" ] ||
    die "$CLAUDE_PKG is '${claude_installed:-missing}', expected $CLAUDE_VERSION in $AGENTS/node_modules"
[ -e "$BIN/codex" ] || die "$BIN/codex is missing after npm install"
[ -e "$BIN/claude" ] || die "$BIN/claude is missing after npm install"
gemini_installed="$(installed_version "$GEMINI_PKG")"
[ "$gemini_installed" = "$GEMINI_VERSION" ] ||
    die "$GEMINI_PKG is '${gemini_installed:-missing}', expected $GEMINI_VERSION in $AGENTS/node_modules"
[ -e "$BIN/gemini" ] || die "$BIN/gemini is missing after npm install"
qwen_installed="$(installed_version "$QWEN_PKG")"
[ "$qwen_installed" = "$QWEN_VERSION" ] ||
    die "$QWEN_PKG is '${qwen_installed:-missing}', expected $QWEN_VERSION in $AGENTS/node_modules"
[ -e "$BIN/qwen" ] || die "$BIN/qwen is missing after npm install"
inspector_installed="$(installed_version "$INSPECTOR_PKG")"
[ "$inspector_installed" = "$INSPECTOR_VERSION" ] ||
    die "$INSPECTOR_PKG is '${inspector_installed:-missing}', expected $INSPECTOR_VERSION in $AGENTS/node_modules"
[ -e "$BIN/mcp-inspector-cli" ] || die "$BIN/mcp-inspector-cli is missing after npm install"
if ! "$BIN/mcp-inspector-cli" --help </dev/null >/dev/null 2>&1; then
    die "'$BIN/mcp-inspector-cli --help' failed"
fi

if ! codex_out="$("$BIN/codex" --version </dev/null 2>&1)"; then
    die "'$BIN/codex --version' failed: $codex_out"
fi
if ! claude_out="$("$BIN/claude" --version </dev/null 2>&1)"; then
    die "'$BIN/claude --version' failed: $claude_out"
fi
# Runs on Node 20 (the package asks for >=20).
if ! gemini_out="$("$BIN/gemini" --version </dev/null 2>&1)"; then
    die "'$BIN/gemini --version' failed: $gemini_out"
fi
# Qwen Code declares Node >= 22 but runs headless on Node 20.
if ! qwen_out="$("$BIN/qwen" --version </dev/null 2>&1)"; then
    die "'$BIN/qwen --version' failed: $qwen_out"
fi
echo "codex:  $codex_out  ($BIN/codex)"
echo "claude: $claude_out  ($BIN/claude)"
echo "gemini: $gemini_out  ($BIN/gemini)"
echo "qwen:   $qwen_out  ($BIN/qwen)"
echo "inspector-cli: $inspector_installed  ($BIN/mcp-inspector-cli)"
