#!/usr/bin/env bash
# Imports the e2e test image into the daemon at $DOCKER_HOST if it is missing: a tiny rootfs made from
# the host's busybox-static (no registry needed), tagged dot-test-busybox:latest.
#
#   DOCKER_HOST=unix:///run/dot-e2e/docker.sock test/e2e/test-image.sh [--force]
#   DOT_TEST_ENGINE='podman --root DIR --runroot DIR' test/e2e/test-image.sh    # the same image into Podman
set -euo pipefail

IMAGE=${DOT_TEST_IMAGE:-dot-test-busybox:latest}
# A command line: word-split on purpose (podman's global flags).
read -r -a ENGINE <<<"${DOT_TEST_ENGINE:-docker}"

if [[ ${1:-} != --force ]] && "${ENGINE[@]}" image inspect "$IMAGE" >/dev/null 2>&1; then
  exit 0
fi

BUSYBOX=$(command -v busybox || true)
# A dynamically linked busybox would not run in a rootfs without its libraries (ldd fails on static ones).
if [[ -z $BUSYBOX ]] || ldd "$BUSYBOX" >/dev/null 2>&1; then
  echo "test-image.sh: needs a statically linked busybox on PATH (apt-get install busybox-static)" >&2
  exit 1
fi

rootfs=$(mktemp -d /tmp/dot-test-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,etc,tmp,proc,sys,dev,root}
chmod 1777 "$rootfs/tmp"
cp "$BUSYBOX" "$rootfs/bin/busybox"
# Relative links, so they resolve inside the container (busybox --install would write host paths).
for applet in $("$BUSYBOX" --list); do
  [[ $applet == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
echo 'root:x:0:' >"$rootfs/etc/group"

tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -c . |
  "${ENGINE[@]}" import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - "$IMAGE" >/dev/null
echo "test-image.sh: imported $IMAGE into ${ENGINE[0]}" >&2
