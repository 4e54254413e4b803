#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft: combined broker + controller)
# for the integration tests.
#
#   kafka-broker.sh fetch                      download Kafka from Maven Central into the cache
#   kafka-broker.sh start STATE_DIR TOOL       format + start on free loopback ports; writes
#                                              STATE_DIR/bootstrap.txt once metadata answers
#   kafka-broker.sh stop STATE_DIR             stop the broker and remove STATE_DIR
#
# TOOL is the ib_test_tool binary (free ports, metadata probe through librdkafka).
# The cache is ${IB_CACHE_DIR:-~/.cache/invoice-bridge}/kafka-<version>; it outlives build folders.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
cache_root=${IB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/invoice-bridge}
kafka_home="$cache_root/kafka-$version"
log() { echo "kafka-broker: $*" >&2; }

fetch() {
  if [[ -f "$kafka_home/.complete" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || { log "mvn not found: run scripts/bootstrap.sh --kafka"; exit 1; }
  command -v java >/dev/null || { log "java not found: run scripts/bootstrap.sh --kafka"; exit 1; }
  log "fetching Apache Kafka $version from Maven Central into $kafka_home"
  local tmp="$kafka_home.tmp.$$"
  rm -rf "$tmp"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp/libs" >&2
  touch "$tmp/.complete"
  rm -rf "$kafka_home"
  mkdir -p "$cache_root"
  mv "$tmp" "$kafka_home"
}

stop() {
  local dir=$1
  if [[ -f "$dir/pid" ]]; then
    local pid
    pid=$(cat "$dir/pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir"
}

start_once() {
  local dir=$1 tool=$2
  read -r broker_port controller_port < <("$tool" free-ports 2)
  mkdir -p "$dir/data" "$dir/logs"
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$broker_port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$broker_port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=4
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=1
PROPS
  local cp="$kafka_home/libs/*"
  local java_opts=(-Xms256m -Xmx768m -XX:+UseSerialGC -Djava.awt.headless=true
    "-Dkafka.logs.dir=$dir/logs" "-Dlog4j2.configurationFile=$here/log4j2.properties")
  java "${java_opts[@]}" -cp "$cp" kafka.tools.StorageTool format \
    -t "$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null)" \
    -c "$dir/server.properties" >"$dir/logs/format.log" 2>&1
  # setsid: the broker must not die with the ctest process group of the fixture step.
  setsid java "${java_opts[@]}" -cp "$cp" kafka.Kafka "$dir/server.properties" \
    >"$dir/logs/stdout.log" 2>&1 </dev/null &
  echo $! > "$dir/pid"
  local pid
  pid=$(cat "$dir/pid")
  for _ in $(seq 1 30); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "broker exited during start-up"
      break
    fi
    if "$tool" kafka-ready "127.0.0.1:$broker_port" 2 2>/dev/null; then
      echo "127.0.0.1:$broker_port" > "$dir/bootstrap.txt"
      log "broker $version up at 127.0.0.1:$broker_port (pid $pid, state $dir)"
      return 0
    fi
  done
  log "broker did not answer metadata requests; last lines of its log:"
  tail -n 20 "$dir/logs/server.log" "$dir/logs/stdout.log" >&2 2>/dev/null || true
  stop "$dir"
  return 1
}

start() {
  local dir=$1 tool=$2
  fetch
  stop "$dir"  # a broker left over from an interrupted run
  for attempt in 1 2 3; do
    start_once "$dir" "$tool" && return 0
    log "start attempt $attempt failed"
  done
  exit 1
}

case "${1:-}" in
  fetch) fetch ;;
  start) [[ $# == 3 ]] || { log "usage: $0 start STATE_DIR TOOL"; exit 2; }; start "$2" "$3" ;;
  stop) [[ $# == 2 ]] || { log "usage: $0 stop STATE_DIR"; exit 2; }; stop "$2" ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
