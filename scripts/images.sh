#!/usr/bin/env bash
# Build the local stand-in images the compose stack runs on under podman, from Debian packages only
# (no container registry is needed): a Debian 12 base made with mmdebstrap, then Python, Redis,
# Toxiproxy, Prometheus, Alertmanager and HAProxy images whose versions match the compose file's tags.
# Names come from docker/podman/images.env; an image that exists is skipped (FORCE=1 rebuilds all).
# Last, the app image (caplab-app:latest, the project's Dockerfile on the Python stand-in) is
# built every time, as compose's `up --build` would: podman's layer cache makes that quick.
# Usage: scripts/images.sh            (after `scripts/setup.sh podman toxiproxy`)
set -euo pipefail
cd "$(dirname "$0")/.."

export CONTAINERS_CONF="$PWD/docker/podman/containers.conf"
export BUILDAH_FORMAT=docker   # the OCI format drops HEALTHCHECK; docker's keeps it
BASE_IMAGE="localhost/caplab/debian:bookworm"
TOXIPROXY_VERSION="2.12.0"
# The host's own CA certificates (those it adds to Debian's bundle). On machines whose outbound TLS
# is re-signed by a proxy that only the host trusts, pip inside a build needs them; elsewhere the
# folder is empty and nothing is added. EXTRA_CA_DIR= (empty) leaves them out.
EXTRA_CA_DIR="${EXTRA_CA_DIR-/usr/local/share/ca-certificates}"
# shellcheck source=../docker/podman/images.env
. docker/podman/images.env

say() { printf '[images] %s\n' "$*"; }
die() { printf '[images] ERROR: %s\n' "$*" >&2; exit 1; }

command -v podman >/dev/null || die "podman is not installed: run 'scripts/setup.sh podman'."
[ "$(id -u)" = 0 ] || die "the compose stack uses rootful podman: run as root."
WORK=$(mktemp -d /tmp/caplab-images.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

have() {  # have <image>: true (and says so) when the image exists and FORCE is unset
    if [ -z "${FORCE:-}" ] && podman image exists "$1"; then say "$1: present"; return 0; fi
    return 1
}

timed() {  # timed <what> <command...>: run, say how long it took
    local what="$1" t0=$SECONDS; shift
    "$@" || die "$what failed (see above)."
    say "$what: done in $((SECONDS - t0)) s"
}

quietly() { "$@" >/dev/null; }  # podman build --quiet still prints the image id

check_version() {  # check_version <image> <expected substring> <command...>
    local image="$1" want="$2" got; shift 2
    got=$(podman run --rm --entrypoint "$1" "$image" "${@:2}" 2>&1 | head -n 3) || true
    grep -qF -- "$want" <<<"$got" || die "$image: expected version $want, got: $got"
    say "$image: \"$want\" confirmed"
}

debian_sources() {  # the host's Debian sources, so the base comes from the mirror apt already uses
    if [ -n "${DEBIAN_SOURCES:-}" ]; then echo "$DEBIAN_SOURCES"
    elif [ -f /etc/apt/sources.list.d/debian.sources ]; then echo /etc/apt/sources.list.d/debian.sources
    elif [ -f /etc/apt/sources.list ]; then echo /etc/apt/sources.list
    else die "no apt sources found; set DEBIAN_SOURCES to a sources.list or deb822 .sources file."; fi
}

build_base() {
    have "$BASE_IMAGE" && return
    command -v mmdebstrap >/dev/null || die "mmdebstrap is not installed: run 'scripts/setup.sh podman'."
    local hooks=() certs=()
    if [ -n "$EXTRA_CA_DIR" ] && [ -d "$EXTRA_CA_DIR" ]; then
        mapfile -t certs < <(find "$EXTRA_CA_DIR" -maxdepth 1 -name '*.crt' -type f)
    fi
    if [ ${#certs[@]} -gt 0 ]; then
        say "base: adding the host's ${#certs[@]} extra CA certificate(s) from $EXTRA_CA_DIR"
        hooks=(--customize-hook="copy-in ${certs[*]} /usr/local/share/ca-certificates/"
               --customize-hook='chroot "$1" update-ca-certificates')
    fi
    timed "base (mmdebstrap)" mmdebstrap --quiet --variant=minbase \
        --include=python3,python3-venv,ca-certificates "${hooks[@]}" \
        bookworm "$WORK/rootfs.tar" "$(debian_sources)"
    timed "base (import)" quietly podman import --quiet "$WORK/rootfs.tar" "$BASE_IMAGE"
    rm -f "$WORK/rootfs.tar"
}

build() {  # build <image> <Containerfile> [podman build args...]
    local image="$1" file="docker/podman/$2"; shift 2
    have "$image" && return 1
    timed "$image" quietly podman build --quiet --build-arg "BASE=$BASE_IMAGE" -f "$file" -t "$image" "$@" \
        "${CONTEXT:-$WORK}"
}

build_toxiproxy() {
    have "$TOXIPROXY_IMAGE" && return
    command -v go >/dev/null || die "Go is needed to build Toxiproxy (see scripts/setup.sh toxiproxy)."
    # Static binaries (no cgo) for a FROM scratch image, like upstream's; the project's own
    # toxiproxy-server is linked against the host's libc.
    local mod="github.com/Shopify/toxiproxy/v2"
    timed "toxiproxy $TOXIPROXY_VERSION (go install)" env CGO_ENABLED=0 GOBIN="$WORK/bin" go install \
        -ldflags "-X $mod.Version=$TOXIPROXY_VERSION" \
        "$mod/cmd/server@v$TOXIPROXY_VERSION" "$mod/cmd/cli@v$TOXIPROXY_VERSION"
    mkdir -p "$WORK/toxiproxy"
    mv "$WORK/bin/server" "$WORK/toxiproxy/toxiproxy"; mv "$WORK/bin/cli" "$WORK/toxiproxy/toxiproxy-cli"
    CONTEXT="$WORK/toxiproxy" build "$TOXIPROXY_IMAGE" toxiproxy.Containerfile
    check_version "$TOXIPROXY_IMAGE" "$TOXIPROXY_VERSION" /toxiproxy -version
}

main() {
    local t0=$SECONDS
    build_base
    build "$APP_BASE_IMAGE" python.Containerfile \
        && check_version "$APP_BASE_IMAGE" "Python 3.11" python --version
    build "$REDIS_IMAGE" redis.Containerfile \
        && check_version "$REDIS_IMAGE" "v=${REDIS_IMAGE##*:}." redis-server --version
    build_toxiproxy
    build "$PROMETHEUS_IMAGE" monitoring.Containerfile --target prometheus \
        && check_version "$PROMETHEUS_IMAGE" "version ${PROMETHEUS_IMAGE##*:v}" /usr/bin/prometheus --version
    build "$ALERTMANAGER_IMAGE" monitoring.Containerfile --target alertmanager \
        && check_version "$ALERTMANAGER_IMAGE" "version ${ALERTMANAGER_IMAGE##*:v}" \
            /usr/bin/prometheus-alertmanager --version
    build "$HAPROXY_IMAGE" haproxy.Containerfile \
        && check_version "$HAPROXY_IMAGE" "version ${HAPROXY_IMAGE##*:}." haproxy -v
    timed "caplab-app:latest (Dockerfile)" quietly podman build --quiet \
        --build-arg "BASE_IMAGE=$APP_BASE_IMAGE" -t localhost/caplab-app:latest .
    say "all images ready in $((SECONDS - t0)) s"
}

main
