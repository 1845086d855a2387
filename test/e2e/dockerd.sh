#!/usr/bin/env bash
# A hermetic dockerd for the end-to-end tests: its own socket, data root, exec root, pidfile and config
# file, so it never touches or collides with a system dockerd (or its containerd namespace).
#
#   test/e2e/dockerd.sh start    start it and wait until it answers (prints the daemon log on failure)
#   test/e2e/dockerd.sh stop     stop it (containers included) and unmount what it left; keeps the data root
#   test/e2e/dockerd.sh purge    stop, then delete its data root too
#   test/e2e/dockerd.sh status   exit 0 if it answers
#   test/e2e/dockerd.sh env      print the DOT_TEST_DOCKER_HOST line to eval
#
# Then run the tests against it:  DOT_TEST_DOCKER_HOST=unix:///run/dot-e2e/docker.sock npm test
#
# Plugins are discovered in /run/docker/plugins whatever the exec root is (docs/plugin-protocol.md §1.1), which is
# why the tests give their plugin a random name. Needs root, docker.io (dockerd, containerd, runc).
set -euo pipefail

RUN_DIR=${DOT_E2E_RUN_DIR:-/run/dot-e2e}
DATA_ROOT=${DOT_E2E_DATA_ROOT:-/var/lib/dot-e2e/docker}
SOCKET=$RUN_DIR/docker.sock
PIDFILE=$RUN_DIR/dockerd.pid
EXEC_ROOT=$RUN_DIR/exec
LOG=${DOT_E2E_DOCKERD_LOG:-$RUN_DIR/dockerd.log}
START_TIMEOUT=${DOT_E2E_START_TIMEOUT:-60}
STOP_TIMEOUT=${DOT_E2E_STOP_TIMEOUT:-30}
HOST=unix://$SOCKET

log() { echo "dockerd.sh: $*" >&2; }

pid_alive() {
  [[ -s $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

answers() {
  DOCKER_HOST=$HOST timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# Unmounts everything below a directory, deepest first (overlay2 layers, netns files, shm).
unmount_below() {
  local dir=$1
  [[ -d $dir ]] || return 0
  local mp
  while read -r mp; do
    umount -l "$mp" 2>/dev/null || true
  done < <(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | sort -r)
}

start() {
  if pid_alive && answers; then
    log "already running (pid $(cat "$PIDFILE")) at $HOST"
    return 0
  fi
  if pid_alive; then
    log "dockerd (pid $(cat "$PIDFILE")) runs but does not answer at $HOST; run '$0 stop' first"
    return 1
  fi
  command -v dockerd >/dev/null || { log "dockerd not found; install docker.io"; return 1; }
  mkdir -p "$RUN_DIR" "$DATA_ROOT" "$EXEC_ROOT" /run/docker/plugins
  # An empty config file: a system /etc/docker/daemon.json (hosts, data-root...) must not leak in.
  echo '{}' >"$RUN_DIR/daemon.json"
  rm -f "$SOCKET" "$PIDFILE"
  : >"$LOG"
  # --iptables=false --bridge=none: no host network changes; the tests use --network none.
  # Own containerd namespaces: if a system containerd runs, dockerd uses it, and these keep the
  # test containers apart from a system dockerd's ("moby"). If none runs, dockerd starts its own
  # containerd below the exec root.
  setsid dockerd \
    --config-file "$RUN_DIR/daemon.json" \
    --host "$HOST" \
    --data-root "$DATA_ROOT" \
    --exec-root "$EXEC_ROOT" \
    --pidfile "$PIDFILE" \
    --containerd-namespace dot-e2e \
    --containerd-plugins-namespace dot-e2e-plugins \
    --iptables=false --ip-forward=false --ip-masq=false --bridge=none \
    --log-level info \
    </dev/null >>"$LOG" 2>&1 &
  local pid=$! waited=0
  while ! answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "dockerd exited while starting; its log ($LOG):"
      cat "$LOG" >&2
      return 1
    fi
    if ((waited >= START_TIMEOUT)); then
      log "dockerd did not answer at $HOST within ${START_TIMEOUT}s; its log ($LOG):"
      cat "$LOG" >&2
      kill -TERM "$pid" 2>/dev/null || true
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "dockerd $(DOCKER_HOST=$HOST docker version --format '{{.Server.Version}}') answers at $HOST (pid $pid, data root $DATA_ROOT, log $LOG)"
}

stop() {
  if pid_alive; then
    local pid waited=0
    pid=$(cat "$PIDFILE")
    # SIGTERM: dockerd stops its containers (sending the plugins their Unmounts) and its own containerd.
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do
      if ((waited >= STOP_TIMEOUT)); then
        log "dockerd (pid $pid) still running after ${STOP_TIMEOUT}s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 1
      waited=$((waited + 1))
    done
    log "dockerd stopped"
  fi
  # A killed dockerd leaves its supervised containerd and shims behind: they run from the exec root.
  local leftover
  for leftover in $(pgrep -f -- "$EXEC_ROOT/" || true); do
    [[ $leftover != "$$" ]] && kill -KILL "$leftover" 2>/dev/null || true
  done
  unmount_below "$EXEC_ROOT"
  unmount_below "$DATA_ROOT"
  rm -f "$SOCKET" "$PIDFILE"
}

purge() {
  stop
  unmount_below "$DATA_ROOT"
  rm -rf "$DATA_ROOT" "$EXEC_ROOT"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  purge) purge ;;
  status) answers ;;
  env) echo "DOT_TEST_DOCKER_HOST=$HOST" ;;
  *)
    echo "usage: $0 start|stop|purge|status|env" >&2
    exit 2
    ;;
esac
