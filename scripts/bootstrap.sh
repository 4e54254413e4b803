#!/usr/bin/env bash
# Installs everything invoice-bridge needs on Debian bookworm, idempotently:
# a second run checks and returns in about a second.
#   scripts/bootstrap.sh            build + runtime packages (and prometheus: promtool and
#                                   the server for tests/ops; its system service is disabled)
#   scripts/bootstrap.sh --kafka    also Java 17 + Maven for the test Kafka broker
#   scripts/bootstrap.sh --deploy   also the offline checkers of deploy/ (systemd-analyze,
#                                   kubeconform + schemas: scripts/deploy-tools.sh)
set -euo pipefail

want_kafka=0
want_deploy=0
for arg in "$@"; do
  case "$arg" in
    --kafka) want_kafka=1 ;;
    --deploy) want_deploy=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "bootstrap: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates openssl
  libboost1.81-all-dev libboost-json1.81-dev libboost-url1.81-dev
  librdkafka-dev librocksdb-dev prometheus-cpp-dev
  libprotobuf-dev protobuf-compiler libssl-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libsystemd-dev
  catch2 libcli11-dev
  curl python3
  # clang++-14 (the second build of scripts/test.sh) and its libFuzzer + sanitizer runtimes
  clang-14 libclang-rt-14-dev
  prometheus
)
if [[ $want_kafka == 1 ]]; then
  command -v java >/dev/null 2>&1 || packages+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || packages+=(maven)
fi

if [[ $want_deploy == 1 ]]; then
  # systemd-analyze (verify, security), python3 + PyYAML for the schema conversion and
  # tests/deploy, pip to fetch the Kubernetes schemas package.
  packages+=(systemd python3 python3-yaml python3-pip)
  command -v go >/dev/null 2>&1 || [[ -x /usr/local/go/bin/go ]] || packages+=(golang-go)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The tests run promtool and their own prometheus server on free ports; the package's
  # system service (port 9090) is not wanted on a build machine: stop what we installed.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1 \
      && systemctl is-enabled prometheus >/dev/null 2>&1; then
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
else
  echo "bootstrap: all packages present"
fi

if [[ $want_deploy == 1 ]]; then
  "$(dirname "${BASH_SOURCE[0]}")/deploy-tools.sh"
fi
