#!/usr/bin/env bash
# Installs docker-on-top and starts its Docker volume plugin (`dot serve`) on its defaults.
# Run as root from a checkout:   sudo scripts/install.sh
#
#   1. npm ci + build in the checkout;
#   2. installs the package (production dependencies only) to /opt/docker-on-top, replacing an older one;
#   3. puts `dot` on the PATH as /usr/local/bin/dot (a tiny wrapper that pins the node it was built with);
#   4. with systemd: installs docker-on-top.service, enables it (before docker.service) and (re)starts it;
#      without systemd: (re)starts `dot serve` in the background, logging to /var/log/docker-on-top.log.
#
# Idempotent: run it again to upgrade. Restarting the plugin never unmounts volumes that containers use.
# Overrides (for testing or packaging): DOT_PREFIX, DOT_BIN, DOT_UNIT_DIR, DOT_LOG, DOT_PIDFILE,
# DOT_SERVE_ARGS (extra `dot serve` flags, background mode only), DOT_NO_START=1 (install only).
set -euo pipefail

PREFIX=${DOT_PREFIX:-/opt/docker-on-top}
BIN=${DOT_BIN:-/usr/local/bin/dot}
UNIT_DIR=${DOT_UNIT_DIR:-/etc/systemd/system}
LOG=${DOT_LOG:-/var/log/docker-on-top.log}
PIDFILE=${DOT_PIDFILE:-/run/docker-on-top.pid}
SERVE_ARGS=${DOT_SERVE_ARGS:-}
UNIT=docker-on-top.service

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (sudo $0): the plugin mounts overlays and listens in /run/docker/plugins"
command -v node >/dev/null || die "node not found; install Node.js 20 or newer"
command -v npm >/dev/null || die "npm not found; install npm (it comes with Node.js)"
NODE=$(command -v node)
NODE=$(readlink -f "$NODE")
major=$("$NODE" -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || die "Node.js $("$NODE" --version) is too old; docker-on-top needs 20 or newer"
# Both go single-quoted into the dot wrapper (spaces are fine there); a quote would break out of it.
case "$NODE$PREFIX" in *"'"*) die "paths with a single quote are not supported: $NODE, $PREFIX" ;; esac

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ -f "$SRC/package.json" ] && [ -f "$SRC/$UNIT" ] || die "$SRC does not look like a docker-on-top checkout"

say "building in $SRC"
(cd "$SRC" && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent >/dev/null)

# Build the new tree next to the old one, then swap: a half-copied install is never live.
say "installing to $PREFIX"
STAGE="$PREFIX.new"
rm -rf "$STAGE"
mkdir -p "$STAGE" "$(dirname "$PREFIX")"
cp -a "$SRC/package.json" "$SRC/package-lock.json" "$SRC/bin" "$SRC/oclif.manifest.json" "$SRC/$UNIT" "$STAGE/"
mkdir -p "$STAGE/dist"
cp -a "$SRC/dist/src" "$STAGE/dist/src"
cp -a "$SRC/node_modules" "$STAGE/node_modules"
(cd "$STAGE" && npm prune --omit=dev --no-audit --no-fund --loglevel=error >/dev/null)
rm -rf "$PREFIX.old"
[ -e "$PREFIX" ] && mv "$PREFIX" "$PREFIX.old"
mv "$STAGE" "$PREFIX"
rm -rf "$PREFIX.old"

# A wrapper rather than a symlink: `#!/usr/bin/env node` would depend on PATH, which differs under
# systemd and sudo (nvm, /usr/local).
mkdir -p "$(dirname "$BIN")"
tmp_bin=$(mktemp "$BIN.XXXXXX")
printf '#!/bin/sh\n# docker-on-top CLI, installed by scripts/install.sh\nexec '"'%s' '%s'"' "$@"\n' "$NODE" "$PREFIX/bin/run.js" >"$tmp_bin"
chmod 0755 "$tmp_bin"
mv -f "$tmp_bin" "$BIN"
say "$BIN -> $PREFIX ($("$BIN" --version | head -n1))"

mkdir -p "$UNIT_DIR"
sed "s|^ExecStart=.*|ExecStart=$BIN serve|" "$SRC/$UNIT" >"$UNIT_DIR/$UNIT"
chmod 0644 "$UNIT_DIR/$UNIT"
say "installed $UNIT_DIR/$UNIT"

if [ "${DOT_NO_START:-}" = 1 ]; then
  say "DOT_NO_START=1: not starting the plugin"
  exit 0
fi

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
  systemctl enable docker-on-top.service >/dev/null
  # restart, not start: an upgrade must run the new code. Volumes in use stay mounted.
  systemctl restart docker-on-top.service
  say "docker-on-top.service enabled and running (logs: journalctl -u docker-on-top)"
  say "try: docker volume create --driver docker-on-top myvol -o base=/some/dir"
  exit 0
fi

# No systemd (a container, WSL, a minimal VM): run it in the background ourselves.
say "systemd is not running; starting dot serve in the background instead"
if [ -f "$PIDFILE" ]; then
  old=$(cat "$PIDFILE")
  if [ -n "$old" ] && kill -0 "$old" 2>/dev/null && grep -q 'serve' "/proc/$old/cmdline" 2>/dev/null; then
    say "stopping the running dot serve (pid $old)"
    kill -TERM "$old"
    for _ in $(seq 150); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$old" 2>/dev/null && die "dot serve (pid $old) did not stop within 15 s"
  fi
  rm -f "$PIDFILE"
fi
mkdir -p "$(dirname "$LOG")"
ready_before=$(grep -c "listening on " "$LOG" 2>/dev/null || true)
# shellcheck disable=SC2086 # SERVE_ARGS is a list of flags
setsid "$BIN" serve $SERVE_ARGS >>"$LOG" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PIDFILE"
ready=
for _ in $(seq 200); do
  if [ "$(grep -c "listening on " "$LOG" || true)" -gt "${ready_before:-0}" ]; then ready=1; break; fi
  kill -0 "$pid" 2>/dev/null || { tail -n 20 "$LOG" >&2; die "dot serve exited; see $LOG"; }
  sleep 0.1
done
[ -n "$ready" ] || die "dot serve (pid $pid) is not listening after 20 s; see $LOG"
say "dot serve running in the background (pid $pid, pidfile $PIDFILE), logging to $LOG"
say "it will not start at boot without systemd: add \`$BIN serve >>$LOG 2>&1 &\` to your init system"
say "stop it with: kill \$(cat $PIDFILE)"
