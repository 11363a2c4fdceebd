#!/usr/bin/env bash
# A real Apache Kafka broker (3.9.x, KRaft, single node) without Docker: the broker and
# its dependencies come from Maven Central into .cache/kafka/libs (git-ignored).
#   scripts/kafka.sh fetch   download the jars (needs Maven and Java 17); idempotent
#   scripts/kafka.sh up      start a broker on a free 127.0.0.1 port; prints KAFKA_ENDPOINT=...
#   scripts/kafka.sh down    stop the one `up` started
# The tests start their own broker the same way (test/setup/kafka-server.ts) unless
# OPLOG_TEST_KAFKA=host:port points elsewhere. kafkajs predates Kafka 4.0's protocol
# clean-up, hence 3.9 (scripts/kafka/pom.xml pins 3.9.1).
set -euo pipefail
cd "$(dirname "$0")/.."
libs=.cache/kafka/libs
state=.cache/kafka/run

fetch() {
  if ls "$libs"/kafka_2.13-3.9.*.jar >/dev/null 2>&1; then echo "kafka jars present in $libs"; return; fi
  command -v mvn >/dev/null || { echo "Maven is needed to fetch Kafka (apt-get install maven)" >&2; exit 1; }
  mvn -q -B -f scripts/kafka/pom.xml dependency:copy-dependencies \
    -DoutputDirectory="$PWD/$libs" -DincludeScope=runtime
  echo "kafka jars fetched into $libs ($(ls "$libs" | wc -l) files)"
}

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

up() {
  fetch >/dev/null
  if [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
    echo "KAFKA_ENDPOINT=$(cat "$state/endpoint")"; return
  fi
  rm -rf "$state" && mkdir -p "$state"
  local port controller; port=$(free_port); controller=$(free_port)
  cat >"$state/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$PWD/$state/logs
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
message.max.bytes=2097152
PROPS
  printf 'log4j.rootLogger=WARN, file\nlog4j.appender.file=org.apache.log4j.FileAppender\nlog4j.appender.file.File=%s\nlog4j.appender.file.layout=org.apache.log4j.PatternLayout\nlog4j.appender.file.layout.ConversionPattern=[%%d] %%p %%m (%%c)%%n\n' \
    "$PWD/$state/server.log" >"$state/log4j.properties"
  local jvm=(-Xms256m -Xmx768m -Dlog4j.configuration="file:$PWD/$state/log4j.properties" -cp "$PWD/$libs/*")
  java "${jvm[@]}" kafka.tools.StorageTool format -t b3Bsb2ctZGV2LWNsdXN0ZXI -c "$state/server.properties" >/dev/null
  java "${jvm[@]}" kafka.Kafka "$state/server.properties" >"$state/stdout.log" 2>&1 &
  echo $! >"$state/pid"
  echo "127.0.0.1:$port" >"$state/endpoint"
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "KAFKA_ENDPOINT=127.0.0.1:$port"; return; fi
    sleep 0.2
  done
  echo "kafka did not start; see $state/server.log" >&2
  down; exit 1
}

down() {
  if [ -f "$state/pid" ]; then kill "$(cat "$state/pid")" 2>/dev/null || true; rm -f "$state/pid"; fi
}

case "${1:-}" in
  fetch) fetch ;;
  up) up ;;
  down) down ;;
  *) echo "usage: $0 fetch|up|down" >&2; exit 2 ;;
esac
