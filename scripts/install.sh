#!/usr/bin/env bash
# Installs docker-on-top and starts its Docker volume plugin (`dot serve`) on its defaults; stops,
# restarts and uninstalls it. Run as root:
#
#   sudo scripts/install.sh                      build, install, (re)start
#   sudo scripts/install.sh --restart            restart the installed plugin (no build)
#   sudo scripts/install.sh --stop               stop it (no systemd: the background dot serve)
#   sudo scripts/install.sh --uninstall          remove everything the install put on the system;
#                                                volumes (the root, /var/lib/docker-on-top) are kept
#   sudo scripts/install.sh --uninstall --purge  also unmount and delete every volume, then the root
#
# The install copies this script to /opt/docker-on-top/scripts/install.sh, so --restart, --stop and
# --uninstall work from there once the checkout is gone.
#
# Install:
#   1. npm ci + build in the checkout;
#   2. installs the package (production dependencies only) to /opt/docker-on-top, replacing an older one;
#   3. puts `dot` on the PATH as /usr/local/bin/dot (a tiny wrapper that pins the node it was built with);
#   4. with systemd: installs docker-on-top.service, enables it (before docker.service) and (re)starts it;
#      without systemd: (re)starts `dot serve` in the background, logging to /var/log/docker-on-top.log,
#      its pid in /run/docker-on-top.pid (removed when it exits).
#
# Idempotent: run it again to upgrade. Restarting the plugin never unmounts volumes that containers use.
# Overrides (for testing or packaging), remembered for --restart/--stop/--uninstall in
# $PREFIX/install.env: DOT_PREFIX, DOT_BIN, DOT_UNIT_DIR, DOT_LOG, DOT_PIDFILE, DOT_ROOT and DOT_SOCKET
# (background mode), DOT_SERVE_ARGS (extra `dot serve` flags, background mode only), DOT_NO_START=1
# (install only), DOT_NO_BUILD=1 (use the checkout's existing build), DOT_NO_SYSTEMD=1 (background mode
# even where systemd runs).
set -euo pipefail

UNIT=docker-on-top.service
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

ACTION=install
PURGE=
for arg in "$@"; do
  case "$arg" in
    --uninstall) ACTION=uninstall ;;
    --purge) PURGE=1 ;;
    --restart) ACTION=restart ;;
    --stop) ACTION=stop ;;
    -h | --help) usage; exit 0 ;;
    *) printf 'install: error: unknown argument %s\n' "$arg" >&2; usage >&2; exit 2 ;;
  esac
done
[ -z "$PURGE" ] || [ "$ACTION" = uninstall ] || { printf 'install: error: --purge goes with --uninstall\n' >&2; exit 2; }

[ "$(id -u)" = 0 ] || die "run as root (sudo $0): the plugin mounts overlays and listens in /run/docker/plugins"

# Run from an installed copy, the prefix is where it lives; its install.env has the other paths.
if [ -f "$HERE/install.env" ] && [ -z "${DOT_PREFIX:-}" ]; then PREFIX=$HERE; else PREFIX=${DOT_PREFIX:-/opt/docker-on-top}; fi
if [ -f "$PREFIX/install.env" ]; then
  # shellcheck disable=SC1091 # written by this script: SAVED_* assignments, %q-quoted
  . "$PREFIX/install.env"
fi
BIN=${DOT_BIN:-${SAVED_BIN:-/usr/local/bin/dot}}
UNIT_DIR=${DOT_UNIT_DIR:-${SAVED_UNIT_DIR:-/etc/systemd/system}}
LOG=${DOT_LOG:-${SAVED_LOG:-/var/log/docker-on-top.log}}
PIDFILE=${DOT_PIDFILE:-${SAVED_PIDFILE:-/run/docker-on-top.pid}}
ROOT=${DOT_ROOT:-${SAVED_ROOT:-}}
SOCKET=${DOT_SOCKET:-${SAVED_SOCKET:-}}
SERVE_ARGS=${DOT_SERVE_ARGS:-${SAVED_SERVE_ARGS:-}}
# No "update available" notices from npm or oclif in the install's output.
export npm_config_update_notifier=false OCLIF_SKIP_NEW_VERSION_CHECK=true

use_systemd() { [ "${DOT_NO_SYSTEMD:-}" != 1 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; }

# ---- the background dot serve (no systemd) ----

serve_pid() {
  local pid
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q 'serve' "/proc/$pid/cmdline" 2>/dev/null && printf '%s\n' "$pid"
}

stop_background() {
  local pid
  if pid=$(serve_pid); then
    say "stopping dot serve (pid $pid); volumes in use stay mounted"
    kill -TERM "$pid"
    # dot serve finishes requests in flight first (up to 2 minutes for a Mount stuck on a busy volume).
    for _ in $(seq 1500); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && die "dot serve (pid $pid) did not stop within 150 s"
  fi
  rm -f "$PIDFILE" # dot serve removes it on exit; this is for one that was killed
}

start_background() {
  [ -x "$BIN" ] || die "$BIN is not installed; run scripts/install.sh first"
  stop_background
  mkdir -p "$(dirname "$LOG")" "$(dirname "$PIDFILE")"
  local ready_before pid ready=
  ready_before=$(grep -c "listening on " "$LOG" 2>/dev/null || true)
  # dot serve writes the pidfile once it listens and removes it when it exits.
  # shellcheck disable=SC2086 # SERVE_ARGS is a list of flags
  env ${ROOT:+DOT_ROOT="$ROOT"} ${SOCKET:+DOT_SOCKET="$SOCKET"} setsid "$BIN" serve --pidfile "$PIDFILE" $SERVE_ARGS >>"$LOG" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 200); do
    if [ "$(grep -c "listening on " "$LOG" || true)" -gt "${ready_before:-0}" ]; then ready=1; break; fi
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$LOG" >&2; die "dot serve exited; see $LOG"; }
    sleep 0.1
  done
  [ -n "$ready" ] || die "dot serve (pid $pid) is not listening after 20 s; see $LOG"
  say "dot serve running in the background (pid $pid, pidfile $PIDFILE), logging to $LOG"
  say "it will not start at boot without systemd: add \`$PREFIX/scripts/install.sh --restart\` to your init system"
  say "stop: $PREFIX/scripts/install.sh --stop (or kill \$(cat $PIDFILE)); restart: $PREFIX/scripts/install.sh --restart"
}

# ---- the service ----

start_service() {
  if use_systemd; then
    systemctl daemon-reload
    systemctl enable docker-on-top.service >/dev/null
    # restart, not start: an upgrade must run the new code. Volumes in use stay mounted.
    systemctl restart docker-on-top.service
    say "docker-on-top.service enabled and running (logs: journalctl -u docker-on-top)"
  else
    say "systemd is not running; starting dot serve in the background instead"
    start_background
  fi
}

stop_service() {
  if use_systemd; then
    systemctl stop docker-on-top.service 2>/dev/null || true
    say "docker-on-top.service stopped; volumes in use stay mounted"
  else
    stop_background
  fi
}

# ---- install ----

install() {
  command -v node >/dev/null || die "node not found; install Node.js 20 or newer"
  command -v npm >/dev/null || die "npm not found; install npm (it comes with Node.js)"
  local node major src=$HERE
  node=$(readlink -f "$(command -v node)")
  major=$("$node" -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "Node.js $("$node" --version) is too old; docker-on-top needs 20 or newer"
  # Both go single-quoted into the dot wrapper (spaces are fine there); a quote would break out of it.
  case "$node$PREFIX" in *"'"*) die "paths with a single quote are not supported: $node, $PREFIX" ;; esac
  [ -f "$src/package.json" ] && [ -f "$src/$UNIT" ] && [ -d "$src/src" ] || die "$src does not look like a docker-on-top checkout"

  if [ "${DOT_NO_BUILD:-}" = 1 ]; then
    [ -f "$src/dist/src/cli/run-serve.js" ] || die "DOT_NO_BUILD=1 but $src has no build (npm run build)"
  else
    say "building in $src"
    (cd "$src" && npm ci --no-audit --no-fund --no-update-notifier --loglevel=error && npm run build --silent >/dev/null)
  fi

  # Build the new tree next to the old one, then swap: a half-copied install is never live.
  say "installing to $PREFIX"
  local stage="$PREFIX.new"
  rm -rf "$stage"
  mkdir -p "$stage/dist" "$stage/scripts" "$(dirname "$PREFIX")"
  cp -a "$src/package.json" "$src/package-lock.json" "$src/bin" "$src/oclif.manifest.json" "$src/$UNIT" "$stage/"
  cp -a "$src/scripts/install.sh" "$stage/scripts/"
  cp -a "$src/dist/src" "$stage/dist/src"
  cp -a "$src/node_modules" "$stage/node_modules"
  (cd "$stage" && npm prune --omit=dev --no-audit --no-fund --no-update-notifier --loglevel=error >/dev/null)
  {
    printf '# written by scripts/install.sh: where it put things, for --restart, --stop and --uninstall\n'
    for key in BIN UNIT_DIR LOG PIDFILE ROOT SOCKET SERVE_ARGS; do printf 'SAVED_%s=%q\n' "$key" "${!key}"; done
  } >"$stage/install.env"
  rm -rf "$PREFIX.old"
  [ -e "$PREFIX" ] && mv "$PREFIX" "$PREFIX.old"
  mv "$stage" "$PREFIX"
  rm -rf "$PREFIX.old"

  # A wrapper rather than a symlink: `#!/usr/bin/env node` would depend on PATH, which differs under
  # systemd and sudo (nvm, /usr/local).
  mkdir -p "$(dirname "$BIN")"
  local tmp_bin
  tmp_bin=$(mktemp "$BIN.XXXXXX")
  printf '#!/bin/sh\n# docker-on-top CLI, installed by scripts/install.sh\nexec '"'%s' '%s'"' "$@"\n' "$node" "$PREFIX/bin/run.js" >"$tmp_bin"
  chmod 0755 "$tmp_bin"
  mv -f "$tmp_bin" "$BIN"
  say "$BIN -> $PREFIX ($("$BIN" --version | head -n1))"

  mkdir -p "$UNIT_DIR"
  sed "s|^ExecStart=.*|ExecStart=$BIN serve|" "$src/$UNIT" >"$UNIT_DIR/$UNIT"
  chmod 0644 "$UNIT_DIR/$UNIT"
  say "installed $UNIT_DIR/$UNIT"

  if [ "${DOT_NO_START:-}" = 1 ]; then
    say "DOT_NO_START=1: not starting the plugin"
    return
  fi
  start_service
  say "try: docker volume create --driver docker-on-top myvol -o base=/some/dir"
}

# ---- uninstall ----

# Mountpoints at or below $1 (mountinfo escapes spaces and such as octal; our paths have none).
mounts_below() { awk -v dir="$1" '$5 == dir || index($5, dir "/") == 1 { print $5 }' /proc/self/mountinfo; }

purge_volumes() {
  local root=${ROOT:-/var/lib/docker-on-top} names
  [ -d "$root" ] || { say "no volumes to purge ($root does not exist)"; return; }
  root=$(readlink -f "$root")
  [ -x "$BIN" ] || die "cannot purge: $BIN is gone, and it is what unmounts the volumes; reinstall, then --uninstall --purge"
  names=$("$BIN" ls -q --root "$root")
  if [ -n "$names" ]; then
    say "purging $(printf '%s\n' "$names" | wc -l) volume(s) in $root (unmounting each first)"
    # shellcheck disable=SC2086 # one volume name a line; names have no spaces
    "$BIN" rm --force --root "$root" $names >/dev/null || die "removing the volumes failed; nothing else was deleted"
  fi
  "$BIN" gc --root "$root" >/dev/null || true
  local left
  left=$(mounts_below "$root")
  [ -z "$left" ] || die "still mounted below $root, so it was not deleted: $left"
  rm -rf "$root"
  say "deleted $root"
}

uninstall() {
  [ -e "$PREFIX" ] || [ -e "$BIN" ] || [ -e "$UNIT_DIR/$UNIT" ] || say "nothing of docker-on-top is installed at $PREFIX, $BIN, $UNIT_DIR/$UNIT"
  if use_systemd; then
    systemctl disable --now docker-on-top.service >/dev/null 2>&1 || true
  fi
  stop_background
  [ -z "$PURGE" ] || purge_volumes
  if [ -f "$BIN" ]; then
    grep -q 'installed by scripts/install.sh' "$BIN" || die "$BIN is not the wrapper this script installs; left it and everything else alone"
    rm -f "$BIN"
  fi
  rm -f "$UNIT_DIR/$UNIT"
  # Drop-ins made with `systemctl edit docker-on-top` configure only this service.
  rm -rf "$UNIT_DIR/$UNIT.d"
  if use_systemd; then systemctl daemon-reload; fi
  rm -f "$LOG" "$PIDFILE"
  rm -rf "$PREFIX" "$PREFIX.new" "$PREFIX.old"
  say "removed $PREFIX, $BIN, $UNIT_DIR/$UNIT and $LOG"
  if [ -z "$PURGE" ]; then
    local root=${ROOT:-/var/lib/docker-on-top}
    [ -d "$root" ] && say "kept the volumes in $root (mounted ones stay mounted); --uninstall --purge deletes them"
  fi
  return 0
}

case "$ACTION" in
  install) install ;;
  uninstall) uninstall ;;
  restart) start_service ;;
  stop) stop_service ;;
esac
