# Shared by the scripts: install steps (idempotent) and small helpers. Source it; do not run it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/selfheal/target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# Scripts build each crate once: incremental caches only fill the disk (tens of GB over a few runs).
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# need_apt PACKAGE...: installs the Debian packages that are missing.
need_apt() {
  local missing=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# need_rust: a Rust toolchain with rustfmt and clippy (the machine has rustup).
need_rust() {
  if ! command -v cargo >/dev/null; then
    need_apt curl ca-certificates
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
  fi
  if command -v rustup >/dev/null; then
    rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
  fi
}

# need_pip PACKAGE_SPEC...: installs Python packages that are missing (pip decides, quietly).
need_pip() {
  need_apt python3-pip
  python3 -m pip install --quiet --disable-pip-version-check "$@" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$@"
}

# need_venv NAME PACKAGE_SPEC...: installs a tool whose pins would fight the tests' packages
# (checkov pins boto3) into its own virtualenv, $HOME/.cache/selfheal/venv/NAME; its command is
# that venv's bin/NAME. Skipped when the command is there.
need_venv() {
  local name=$1; shift
  local venv=$HOME/.cache/selfheal/venv/$name
  # Installed: its command is there, or (a library venv) the specs it was made with.
  [ -x "$venv/bin/$name" ] && return 0
  [ "$(cat "$venv/.specs" 2>/dev/null)" = "$*" ] && return 0
  python3 -m venv "$venv" 2>/dev/null || { need_apt python3-venv; python3 -m venv "$venv"; }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
  echo "$*" > "$venv/.specs"
}

# need_npm PACKAGE_SPEC...: installs npm packages under $HOME/.cache/selfheal/npm (outside the
# clone, reused across runs); their commands land in $NPM_BIN.
NPM_PREFIX=${NPM_PREFIX:-$HOME/.cache/selfheal/npm}
NPM_BIN=$NPM_PREFIX/node_modules/.bin
need_npm() {
  command -v npm >/dev/null || need_apt nodejs npm
  local missing=()
  for spec in "$@"; do
    # The version follows the last @, unless that @ opens a scoped name (@scope/name).
    local name=$spec
    case $spec in ?*@*) name=${spec%@*} ;; esac
    [ -d "$NPM_PREFIX/node_modules/$name" ] || missing+=("$spec")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "npm install ${missing[*]}"
  mkdir -p "$NPM_PREFIX"
  npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --silent "${missing[@]}" >/dev/null
}

# free_ports [N]: prints N (default 1) distinct free loopback ports. One call for all the ports a
# script needs: the kernel may hand a just-closed port out again, so two calls can collide.
free_ports() {
  python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "${1:-1}"
}

# wait_http URL [SECONDS]: waits until URL answers.
wait_http() {
  local url=$1 deadline=$((SECONDS + ${2:-20}))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && { echo "timed out waiting for $url" >&2; return 1; }
    sleep 0.2
  done
}

# wait_port PORT [SECONDS]: waits until something listens on 127.0.0.1:PORT.
wait_port() {
  local deadline=$((SECONDS + ${2:-60}))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && { echo "nothing listens on port $1" >&2; return 1; }
    sleep 0.2
  done
}

# wait_until SECONDS WHAT COMMAND...: runs COMMAND until it succeeds; after SECONDS, says it timed
# out waiting for WHAT and fails. Scripts wait on a condition, never for a fixed time.
wait_until() {
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && { echo "timed out waiting for $what" >&2; return 1; }
    sleep 0.2
  done
}

# need_selfheal: builds the CLI once per run and sets $SELFHEAL to its path. Call it in the
# script itself, not in a $(...) subshell: SELFHEAL_BUILT is exported from here, so the scripts
# this one runs do not build again.
need_selfheal() {
  SELFHEAL=$CARGO_TARGET_DIR/debug/selfheal
  if [ -z "${SELFHEAL_BUILT:-}" ]; then
    # The sample app too: kube-sim runs it for scenarios whose containers are processes.
    cargo build -q -p selfheal-cli -p selfheal-sample-app --manifest-path "$ROOT/Cargo.toml"
    export SELFHEAL_BUILT=1
  fi
}

# selfheal ARGS...: the CLI (run "$SELFHEAL" directly when it goes to the background, so a kill
# reaches it and not a subshell).
selfheal() {
  need_selfheal
  "$SELFHEAL" "$@"
}
