#!/usr/bin/env bash
# Builds docker-on-top as a managed (v2) Docker plugin, offline, from what this machine has, and
# registers it with `docker plugin create` (disabled; `docker plugin enable NAME` starts it).
#
#   npm run plugin                                  # build, then docker plugin create docker-on-top:<version>
#   scripts/build-plugin.sh [--name NAME] [--dir DIR] [--no-create] [--force]
#
# No image is pulled and no registry is asked. The plugin's rootfs is assembled by hand:
#   /usr/bin/node                 this machine's node binary (readlink -f $(command -v node))
#   /lib..., /usr/lib...          the shared libraries node and koffi's native module need (ldd)
#   /opt/docker-on-top/           the built package with its production node_modules
#   /run/docker/plugins/          where the plugin listens (docker-on-top.sock)
#   /var/lib/docker-on-top/       the propagatedMount: the volumes' root (overlays must live below it)
#   /host/                        the host's / (the `bases` mount), so -o base= takes host paths
# and config.json is written next to it (see plugin_config below).
#
#   --name NAME   plugin name [default: docker-on-top:<package version>]
#   --dir DIR     where to build [default: build/plugin]; DIR is replaced
#   --no-create   only build DIR; do not call docker
#   --force       remove an existing (disabled) plugin of that name first
# Uses $DOCKER_HOST like the docker CLI. Needs node >= 20 and npm; run `npm ci` first.
set -euo pipefail

say() { printf 'build-plugin: %s\n' "$*" >&2; }
die() { printf 'build-plugin: error: %s\n' "$*" >&2; exit "${2:-1}"; }

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=$(node -p "require('$SRC/package.json').version")
NAME=docker-on-top:$VERSION
DIR=$SRC/build/plugin
CREATE=1
FORCE=
while (($#)); do
  case $1 in
    --name) NAME=${2:?--name needs a value}; shift 2 ;;
    --dir) DIR=${2:?--dir needs a value}; shift 2 ;;
    --no-create) CREATE=; shift ;;
    --force) FORCE=1; shift ;;
    -h | --help) sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (allowed: --name NAME, --dir DIR, --no-create, --force)" 2 ;;
  esac
done
[[ -d $SRC/node_modules ]] || die "no node_modules in $SRC: run npm ci first"
command -v ldd >/dev/null || die "ldd not found (libc-bin): it finds the libraries node needs"
NODE=$(readlink -f "$(command -v node)")
ARCH=$(node -p process.arch)

say "building the package in $SRC"
(cd "$SRC" && npm run build --silent >/dev/null)

rm -rf "$DIR"
ROOTFS=$DIR/rootfs
APP=$ROOTFS/opt/docker-on-top
mkdir -p "$ROOTFS"/{usr/bin,proc,sys,dev,tmp,etc,root,host,run/docker/plugins,var/lib/docker-on-top} "$APP/dist"
chmod 1777 "$ROOTFS/tmp"
echo 'root:x:0:0:root:/root:/usr/sbin/nologin' >"$ROOTFS/etc/passwd"
echo 'root:x:0:' >"$ROOTFS/etc/group"

say "copying the package (production dependencies only)"
cp -a "$SRC/package.json" "$SRC/package-lock.json" "$SRC/bin" "$SRC/oclif.manifest.json" "$APP/"
cp -a "$SRC/dist/src" "$APP/dist/src"
cp -a "$SRC/node_modules" "$APP/node_modules"
(cd "$APP" && npm prune --omit=dev --offline --no-audit --no-fund --loglevel=error >/dev/null)
# koffi ships prebuilt modules for every platform; only this one can run here.
if [[ -d $APP/node_modules/koffi/build/koffi ]]; then
  find "$APP/node_modules/koffi/build/koffi" -mindepth 1 -maxdepth 1 ! -name "linux_$ARCH" -exec rm -rf {} +
fi
rm -f "$APP/package-lock.json"

# Debian's merged /usr: /lib and /lib64 are links into /usr. The same links in the rootfs, made before
# anything is copied, so a library lands once whichever path ldd names.
for dir in lib lib64; do
  if [[ -L /$dir ]]; then
    mkdir -p "$ROOTFS/$(readlink -f "/$dir")"
    ln -s "$(readlink "/$dir")" "$ROOTFS/$dir"
  fi
done

say "copying node ($NODE, $("$NODE" --version)) and the libraries it needs"
cp -L "$NODE" "$ROOTFS/usr/bin/node"
# Every library ldd resolves (and the dynamic loader), at the same path as on this machine.
copy_libs() {
  local lib
  ldd "$1" 2>/dev/null | grep -oE '(/[^ ]+\.so[^ ]*)' | sort -u | while read -r lib; do
    [[ -e $ROOTFS$lib ]] && continue
    mkdir -p "$ROOTFS$(dirname "$lib")"
    cp -L "$lib" "$ROOTFS$lib"
  done
}
copy_libs "$NODE"
while read -r module; do copy_libs "$module"; done < <(find "$APP/node_modules" -name '*.node' -type f)
# koffi loads libc by its soname at run time (dlopen, which ldd of node does not list).
copy_libs "$(command -v ls)"

# The plugin config (docs.docker.com/engine/extend/config). Settable with `docker plugin set` while
# the plugin is disabled: DOT_LOG_LEVEL, DOT_ROOT, and the `bases` mount with DOT_HOST_DIR together.
cat >"$DIR/config.json" <<EOF
{
  "description": "docker-on-top $VERSION: copy-on-write volumes over host directories (overlayfs)",
  "documentation": "https://github.com/kolayne/docker-on-top",
  "entrypoint": ["/usr/bin/node", "/opt/docker-on-top/bin/run.js", "serve"],
  "workdir": "/",
  "interface": {"types": ["docker.volumedriver/1.0"], "socket": "docker-on-top.sock"},
  "network": {"type": ""},
  "propagatedMount": "/var/lib/docker-on-top",
  "linux": {"capabilities": ["CAP_SYS_ADMIN"]},
  "mounts": [
    {
      "name": "bases",
      "description": "the host directory volume bases live under, seen by the plugin at /host; set DOT_HOST_DIR to the same path",
      "source": "/",
      "destination": "/host",
      "type": "bind",
      "options": ["rbind", "ro", "rslave"],
      "settable": ["source"]
    }
  ],
  "env": [
    {"name": "DOT_LOG_LEVEL", "description": "debug, info, warn or error", "value": "info", "settable": ["value"]},
    {"name": "DOT_ROOT", "description": "the volumes' root inside the plugin: /var/lib/docker-on-top or a directory below it", "value": "/var/lib/docker-on-top", "settable": ["value"]},
    {"name": "DOT_HOST_DIR", "description": "the host path the bases mount shows (its source)", "value": "/", "settable": ["value"]},
    {"name": "DOT_HOST_MOUNT", "description": "where the bases mount is inside the plugin", "value": "/host"},
    {"name": "DOT_PROPAGATED_MOUNT", "description": "the propagatedMount: DOT_ROOT must lie at or below it", "value": "/var/lib/docker-on-top"},
    {"name": "DOT_SOCKET", "description": "the plugin's socket (interface.socket)", "value": "/run/docker/plugins/docker-on-top.sock"},
    {"name": "HOME", "description": "", "value": "/root"},
    {"name": "NO_COLOR", "description": "", "value": "1"}
  ]
}
EOF
node -e "JSON.parse(require('fs').readFileSync('$DIR/config.json', 'utf8'))" || die "config.json is not valid JSON"

# The rootfs must run on its own: the node inside it, with only its own libraries.
if ! out=$(env -i "$(command -v chroot)" "$ROOTFS" /usr/bin/node /opt/docker-on-top/bin/run.js --version 2>&1); then
  die "the plugin rootfs does not run node on its own: $out"
fi
say "built $DIR ($(du -sh "$DIR" | cut -f1)); in the rootfs: $out"

[[ -n $CREATE ]] || exit 0
command -v docker >/dev/null || die "docker CLI not found (build only with --no-create)"
if docker plugin inspect "$NAME" >/dev/null 2>&1; then
  [[ -n $FORCE ]] || die "plugin $NAME already exists: disable and remove it first, or --force (which removes a disabled one)" 4
  docker plugin rm "$NAME" >/dev/null || die "could not remove the existing plugin $NAME (still enabled? docker plugin disable $NAME)"
fi
docker plugin create "$NAME" "$DIR" >/dev/null
say "created plugin $NAME (disabled): docker plugin enable $NAME"
printf '%s\n' "$NAME"
