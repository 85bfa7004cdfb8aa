#!/usr/bin/env bash
# kube.sh install|start|stop|status
#
# A REAL kube-apiserver (Debian's `kubernetes` source package v1.20.2, built offline) backed by a
# real etcd, for the chart/operator integration tests. There is no scheduler, controller-manager or
# kubelet (like envtest): objects are stored and validated, nothing runs Pods.
#
#   install  apt packages + build kube-apiserver once; the binary is cached under
#            ${ELYSIA_CACHE_DIR:-$HOME/.cache/elysia}/kube/ so later runs skip the ~5 min build.
#            Also `go install` kustomize v5.0.3 (the last v5 that builds with Debian's Go 1.19)
#            into ${ELYSIA_CACHE_DIR:-$HOME/.cache/elysia}/bin/ for the k8s/ overlay tests.
#   start    etcd on 127.0.0.1:2379, kube-apiserver on 127.0.0.1:6443 (token auth, RBAC,
#            service-account keys made with openssl); writes <repo>/.elysia/kubeconfig. Idempotent.
#   stop     kills only the PIDs recorded under <repo>/.elysia/.
#   status   prints whether each process is alive and the API answers.
#
# Recipe: /work/shared/infra/README.md ("kube-apiserver").
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${REPO}/.elysia"
KUBE_STATE="${STATE}/kube"
CACHE="${ELYSIA_CACHE_DIR:-$HOME/.cache/elysia}/kube"
APISERVER_BIN="${CACHE}/kube-apiserver"
TOOLS_BIN="${ELYSIA_CACHE_DIR:-$HOME/.cache/elysia}/bin"
KUSTOMIZE_VERSION="v5.0.3"
ETCD_PORT="${ELYSIA_ETCD_PORT:-2379}"
ETCD_PEER_PORT="${ELYSIA_ETCD_PEER_PORT:-2380}"
API_PORT="${ELYSIA_KUBE_API_PORT:-6443}"
ETCD_PID="${STATE}/etcd.pid"
API_PID="${STATE}/kube-apiserver.pid"
KUBECONFIG_OUT="${STATE}/kubeconfig"
KUBE_VERSION="1.20.2"

log() { printf '[kube.sh] %s\n' "$*" >&2; }

need_root_or_sudo() {
    if [ "$(id -u)" -eq 0 ]; then echo ""; else echo "sudo"; fi
}

apt_packages() {
    local pkgs=(golang-go golang-1.19-go rsync golang-github-modern-go-reflect2-dev etcd-server openssl curl)
    local missing=()
    for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        log "apt-get install ${missing[*]}"
        local s
        s="$(need_root_or_sudo)"
        DEBIAN_FRONTEND=noninteractive $s apt-get install -y --no-install-recommends "${missing[@]}" >&2
    fi
}

go119_bin() {
    dpkg -L golang-1.19-go | grep '/bin$' | head -n1
}

fetch_source() {
    # Private apt config so the system's sources stay untouched (deb-src only for this download).
    local work="$1"
    local srcdir="${work}/apt"
    mkdir -p "${srcdir}/lists/partial"
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"${srcdir}/sources.sources"
    # apt wants a .list style file for sourcelist; deb822 needs sourceparts. Use a parts dir.
    mkdir -p "${srcdir}/parts"
    cp "${srcdir}/sources.sources" "${srcdir}/parts/debian-src.sources"
    local aptopts=(-o "Dir::Etc::sourcelist=/dev/null" -o "Dir::Etc::sourceparts=${srcdir}/parts"
        -o "Dir::State::Lists=${srcdir}/lists")
    apt-get "${aptopts[@]}" update >&2
    (cd "${work}" && apt-get "${aptopts[@]}" source --download-only kubernetes >&2)
    local tarball
    tarball="$(ls "${work}"/kubernetes_*.orig.tar.gz | head -n1)"
    mkdir -p "${work}/src"
    tar -xzf "${tarball}" -C "${work}/src"
}

install_kustomize() {
    if [ -x "${TOOLS_BIN}/kustomize" ]; then
        log "cached: ${TOOLS_BIN}/kustomize"
        return 0
    fi
    mkdir -p "${TOOLS_BIN}"
    local gobin
    gobin="$(go119_bin)"
    log "go install sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION} (Go module proxy)"
    local modcache="${CACHE}/gomod"
    (cd /tmp && env -u GOFLAGS GOBIN="${TOOLS_BIN}" GOMODCACHE="${modcache}" GOFLAGS=-mod=mod \
        GOCACHE="${CACHE}/gocache-kustomize" \
        "${gobin}/go" install "sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}" >&2)
    chmod -R u+w "${modcache}" 2>/dev/null || true
    rm -rf "${modcache}" "${CACHE}/gocache-kustomize"
}

do_install() {
    apt_packages
    install_kustomize
    if [ -x "${APISERVER_BIN}" ]; then
        log "cached: ${APISERVER_BIN}"
        return 0
    fi
    mkdir -p "${CACHE}"
    local work="${CACHE}/build"
    rm -rf "${work}"
    mkdir -p "${work}"
    fetch_source "${work}"
    local src
    src="$(find "${work}/src" -maxdepth 2 -name Makefile -path '*kubernetes*' -printf '%h\n' | head -n1)"
    [ -z "${src}" ] && src="$(find "${work}/src" -mindepth 1 -maxdepth 1 -type d | head -n1)"
    log "source: ${src}"
    # reflect2 v1.0.1 (vendored) crashes under Go >= 1.18: use Debian's v1.0.2 files.
    local r2
    r2="$(dpkg -L golang-github-modern-go-reflect2-dev | grep '/github.com/modern-go/reflect2$' | head -n1)"
    rm -rf "${src}/vendor/github.com/modern-go/reflect2"
    mkdir -p "${src}/vendor/github.com/modern-go/reflect2"
    cp -a "${r2}/." "${src}/vendor/github.com/modern-go/reflect2/"
    find "${src}/vendor/github.com/modern-go/reflect2" -name '*_test.go' -delete
    local gobin
    gobin="$(go119_bin)"
    log "building kube-apiserver with $("${gobin}/go" version) (about 5 minutes on 2 cores)"
    (cd "${src}" && PATH="${gobin}:${PATH}" env -u GOFLAGS CGO_ENABLED=0 \
        GOCACHE="${work}/gocache" \
        KUBE_GIT_VERSION="v${KUBE_VERSION}" KUBE_GIT_TREE_STATE=clean KUBE_GIT_COMMIT=debian \
        make WHAT=cmd/kube-apiserver >&2)
    cp "${src}/_output/bin/kube-apiserver" "${APISERVER_BIN}.tmp"
    mv "${APISERVER_BIN}.tmp" "${APISERVER_BIN}"
    log "built ${APISERVER_BIN}; removing the 1.8 GB build tree"
    rm -rf "${work}"
}

alive() {
    local pidfile="$1"
    [ -f "${pidfile}" ] && kill -0 "$(cat "${pidfile}")" 2>/dev/null
}

make_credentials() {
    mkdir -p "${KUBE_STATE}"
    chmod 700 "${KUBE_STATE}"
    if [ ! -f "${KUBE_STATE}/token" ]; then
        openssl rand -hex 24 >"${KUBE_STATE}/token"
    fi
    if [ ! -f "${KUBE_STATE}/sa.key" ]; then
        openssl genrsa -out "${KUBE_STATE}/sa.key" 2048 2>/dev/null
        openssl rsa -in "${KUBE_STATE}/sa.key" -pubout -out "${KUBE_STATE}/sa.pub" 2>/dev/null
    fi
    # Token file: token,user,uid,"groups". system:masters bypasses RBAC for the admin user.
    printf '%s,elysia-admin,elysia-admin,"system:masters"\n' "$(cat "${KUBE_STATE}/token")" \
        >"${KUBE_STATE}/tokens.csv"
}

write_kubeconfig() {
    local token
    token="$(cat "${KUBE_STATE}/token")"
    umask 077
    cat >"${KUBECONFIG_OUT}" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: elysia-local
  cluster:
    server: https://127.0.0.1:${API_PORT}
    insecure-skip-tls-verify: true
contexts:
- name: elysia-local
  context:
    cluster: elysia-local
    user: elysia-admin
    namespace: default
current-context: elysia-local
users:
- name: elysia-admin
  user:
    token: ${token}
EOF
}

api_ready() {
    local token
    token="$(cat "${KUBE_STATE}/token" 2>/dev/null || true)"
    [ -n "${token}" ] || return 1
    curl -fsk -H "Authorization: Bearer ${token}" "https://127.0.0.1:${API_PORT}/readyz" >/dev/null 2>&1
}

do_start() {
    if [ ! -x "${APISERVER_BIN}" ]; then
        log "kube-apiserver not built yet: running install"
        do_install
    fi
    command -v etcd >/dev/null || apt_packages
    [ -x "${TOOLS_BIN}/kustomize" ] || install_kustomize
    mkdir -p "${STATE}"
    make_credentials
    if ! alive "${ETCD_PID}"; then
        log "starting etcd on 127.0.0.1:${ETCD_PORT}"
        mkdir -p "${KUBE_STATE}/etcd"
        nohup etcd --name elysia --data-dir "${KUBE_STATE}/etcd" \
            --listen-client-urls "http://127.0.0.1:${ETCD_PORT}" \
            --advertise-client-urls "http://127.0.0.1:${ETCD_PORT}" \
            --listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORT}" \
            --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORT}" \
            --initial-cluster "elysia=http://127.0.0.1:${ETCD_PEER_PORT}" \
            >"${KUBE_STATE}/etcd.log" 2>&1 &
        echo $! >"${ETCD_PID}"
        for _ in $(seq 1 50); do
            curl -fs "http://127.0.0.1:${ETCD_PORT}/health" >/dev/null 2>&1 && break
            sleep 0.2
        done
    fi
    if ! alive "${API_PID}"; then
        log "starting kube-apiserver on 127.0.0.1:${API_PORT}"
        mkdir -p "${KUBE_STATE}/certs"
        nohup "${APISERVER_BIN}" \
            --etcd-servers="http://127.0.0.1:${ETCD_PORT}" \
            --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
            --secure-port="${API_PORT}" --insecure-port=0 \
            --cert-dir="${KUBE_STATE}/certs" \
            --token-auth-file="${KUBE_STATE}/tokens.csv" \
            --authorization-mode=RBAC \
            --service-account-issuer=https://kubernetes.default.svc.cluster.local \
            --service-account-key-file="${KUBE_STATE}/sa.pub" \
            --service-account-signing-key-file="${KUBE_STATE}/sa.key" \
            --service-cluster-ip-range=10.96.0.0/24 \
            --allow-privileged=false \
            >"${KUBE_STATE}/kube-apiserver.log" 2>&1 &
        echo $! >"${API_PID}"
    fi
    write_kubeconfig
    for _ in $(seq 1 150); do
        if api_ready; then
            log "ready: KUBECONFIG=${KUBECONFIG_OUT}"
            return 0
        fi
        alive "${API_PID}" || { log "kube-apiserver exited; see ${KUBE_STATE}/kube-apiserver.log"; return 1; }
        sleep 0.2
    done
    log "kube-apiserver not ready after 30 s; see ${KUBE_STATE}/kube-apiserver.log"
    return 1
}

stop_pid() {
    local name="$1" pidfile="$2"
    if alive "${pidfile}"; then
        local pid
        pid="$(cat "${pidfile}")"
        log "stopping ${name} (pid ${pid})"
        kill "${pid}" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.2; done
        kill -0 "${pid}" 2>/dev/null && kill -9 "${pid}" 2>/dev/null || true
    fi
    rm -f "${pidfile}"
}

do_stop() {
    stop_pid kube-apiserver "${API_PID}"
    stop_pid etcd "${ETCD_PID}"
}

do_status() {
    local rc=0
    if alive "${ETCD_PID}"; then echo "etcd: running (pid $(cat "${ETCD_PID}"))"; else echo "etcd: stopped"; rc=1; fi
    if alive "${API_PID}"; then echo "kube-apiserver: running (pid $(cat "${API_PID}"))"; else echo "kube-apiserver: stopped"; rc=1; fi
    if api_ready; then echo "api: ready (KUBECONFIG=${KUBECONFIG_OUT})"; else echo "api: not ready"; rc=1; fi
    [ -x "${APISERVER_BIN}" ] && echo "binary: ${APISERVER_BIN}" || echo "binary: not built (run: $0 install)"
    [ -x "${TOOLS_BIN}/kustomize" ] && echo "kustomize: ${TOOLS_BIN}/kustomize" || echo "kustomize: not installed"
    return "${rc}"
}

case "${1:-}" in
    install) do_install ;;
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
