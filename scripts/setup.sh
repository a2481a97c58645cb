#!/usr/bin/env bash
# Install everything caplab needs, idempotently: the venv and pinned Python packages, Debian's
# redis-server, the Toxiproxy server at a pinned version, and the Porcupine cross-check (Go).
# Each step skips what is there.
# Usage: scripts/setup.sh [python|redis|toxiproxy|crosscheck|haproxy|prometheus|chromium|wrk|podman|podman_compose ...]   (default: the core set)
set -euo pipefail
cd "$(dirname "$0")/.."

TOXIPROXY_VERSION="2.12.0"
TOOLS_BIN="$PWD/.tools/bin"
VENV="$PWD/.venv"
PYTHON="${PYTHON:-python3}"

say()  { printf '[setup] %s\n' "$*"; }
die()  { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

apt_install() {  # apt_install <command-to-check> <debian-package>
    local cmd="$1" pkg="$2"
    if command -v "$cmd" >/dev/null 2>&1; then say "$pkg: present ($(command -v "$cmd"))"; return; fi
    if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
        die "$pkg is missing and this user cannot run apt-get. Install it by hand: 'apt-get install -y $pkg' (as root)."
    fi
    local SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo -n"
    say "$pkg: installing with apt-get"
    # Debian's packages may try to start their own service on install; we never use those.
    export DEBIAN_FRONTEND=noninteractive
    local log; log=$(mktemp /tmp/caplab-apt.XXXXXX.log)
    # Wait for another apt/dpkg run (a concurrent set-up) instead of failing on its lock.
    local APT=($SUDO apt-get -o DPkg::Lock::Timeout=300 -y -q)
    if ! "${APT[@]}" install --no-install-recommends "$pkg" >"$log" 2>&1; then
        "${APT[@]}" update >>"$log" 2>&1 || true
        "${APT[@]}" install --no-install-recommends "$pkg" >>"$log" 2>&1 \
            || die "apt-get install $pkg failed (log: $log). Install it by hand: 'apt-get install -y $pkg'."
    fi
    command -v "$cmd" >/dev/null 2>&1 || die "$pkg installed but '$cmd' is not on PATH."
}

step_python() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "python3 not found. Install Python 3.11 ('apt-get install -y python3 python3-venv')."
    "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
        || die "Python >= 3.11 is needed; found $("$PYTHON" --version 2>&1)."
    if [ ! -x "$VENV/bin/python" ]; then
        say "venv: creating $VENV"
        "$PYTHON" -m venv "$VENV" || die "could not create a venv. Install 'python3-venv' ('apt-get install -y python3-venv')."
    fi
    local stamp="$VENV/.caplab-lock-sha"
    local want; want=$(cat requirements.lock pyproject.toml ctk/pyproject.toml | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        say "python packages: up to date with requirements.lock"
    else
        say "python packages: installing requirements.lock"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements.lock \
            || die "pip install failed; see the output above."
        # caplab itself and the Chaos Toolkit extension (docs/ctk.md, its own distribution so that
        # `chaos discover` finds it), editable: `.venv/bin/chaos run` imports both from any folder.
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e . -e ./ctk \
            || die "pip install -e . -e ./ctk failed; see the output above."
        echo "$want" > "$stamp"
    fi
}

step_redis() { apt_install redis-server redis-server; }

step_toxiproxy() {
    local bin="$TOOLS_BIN/toxiproxy-server"
    if [ -x "$bin" ] && "$bin" -version 2>/dev/null | grep -q "$TOXIPROXY_VERSION"; then
        say "toxiproxy-server $TOXIPROXY_VERSION: present ($bin)"; return
    fi
    command -v go >/dev/null 2>&1 || die "Go is needed to build the Toxiproxy server. Install Go >= 1.22, or put toxiproxy-server $TOXIPROXY_VERSION at $bin."
    say "toxiproxy-server $TOXIPROXY_VERSION: building with go install"
    local gobin; gobin=$(mktemp -d)
    GOBIN="$gobin" go install \
        -ldflags "-X github.com/Shopify/toxiproxy/v2.Version=$TOXIPROXY_VERSION" \
        "github.com/Shopify/toxiproxy/v2/cmd/server@v$TOXIPROXY_VERSION" \
        || die "go install of Toxiproxy $TOXIPROXY_VERSION failed (see above)."
    mkdir -p "$TOOLS_BIN"
    mv "$gobin/server" "$bin"; rmdir "$gobin"
    say "toxiproxy-server: installed at $bin"
}

step_crosscheck() {  # Porcupine, pinned in crosscheck/go.sum, behind caplab's small Go program
    local bin="$TOOLS_BIN/caplab-crosscheck" stamp="$TOOLS_BIN/.caplab-crosscheck-sha" want
    want=$(cat crosscheck/go.mod crosscheck/go.sum crosscheck/*.go | sha256sum | cut -d' ' -f1)
    if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        say "caplab-crosscheck: present ($bin)"; return
    fi
    command -v go >/dev/null 2>&1 || die "Go is needed to build the Porcupine cross-check. Install Go >= 1.22."
    say "caplab-crosscheck: building with go build"
    mkdir -p "$TOOLS_BIN"
    (cd crosscheck && go build -mod=readonly -trimpath -buildvcs=false -o "$bin.tmp" .) \
        || die "go build of crosscheck/ failed (see above)."
    mv "$bin.tmp" "$bin"; echo "$want" > "$stamp"
    say "caplab-crosscheck: installed at $bin"
}

step_prometheus() { apt_install prometheus prometheus; apt_install promtool prometheus; }
step_alertmanager() { apt_install prometheus-alertmanager prometheus-alertmanager; }
step_chromium() { apt_install chromium chromium; }
step_wrk() { apt_install wrk wrk; }
step_haproxy() { apt_install haproxy haproxy; }  # the balancer in front of several instances (docs/scaling.md)
# The compose stack under rootful podman (docs/compose.md): runc, because crun fails on hybrid
# cgroups; mmdebstrap builds the local base image (scripts/images.sh). podman-compose is pinned in
# its own venv, so the project's venv and the app image's requirements.lock stay as they are.
step_podman() {
    apt_install podman podman; apt_install runc runc; apt_install mmdebstrap mmdebstrap
    # Not on PATH, so checked by package: netavark + aardvark-dns give compose's network its DNS.
    local pkg; for pkg in netavark aardvark-dns; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || apt_install "/usr/lib/podman/$pkg" "$pkg"
    done
}
step_podman_compose() {
    local venv="$PWD/.tools/podman-compose" pins="docker/podman/requirements.txt"
    local stamp="$venv/.caplab-pins-sha" want; want=$(sha256sum "$pins" | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then say "podman-compose: up to date with $pins"; return; fi
    say "podman-compose: installing $pins into $venv"
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv" || die "could not create $venv ('apt-get install -y python3-venv')."
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$pins" || die "pip install of $pins failed; see above."
    echo "$want" > "$stamp"
}

steps=("$@"); [ ${#steps[@]} -eq 0 ] && steps=(python redis toxiproxy crosscheck haproxy)
for s in "${steps[@]}"; do
    declare -F "step_$s" >/dev/null || die "unknown step '$s' (python redis toxiproxy crosscheck haproxy prometheus alertmanager chromium wrk podman podman_compose)"
    "step_$s"
done
