# cell-host: a server that carries cells, driven as root. Args: ACTION ...
#   prepare FIREWALL NODE_SOURCE NODE_VERSION REGISTRY NPM_VERSION OPENCLAW_VERSION IMAGE
#   image   NODE_SOURCE NODE_VERSION REGISTRY NPM_VERSION OPENCLAW_VERSION IMAGE
#   stats                      every cell's CPU (sampled over a second), memory and state
#   facts                      CPUs and memory of the server
# IMAGE is the image cells run; "-" builds localhost/clawops-openclaw:VERSION here from the
# pinned npm package (Node and OpenClaw in a minimal rootfs: no registry needed).
if [ "$(id -u)" != 0 ]; then
  echo "a cell host is driven as root (rootful podman applies the limits); this login is $(id -un)" >&2
  exit 3
fi
R=/var/lib/clawops
RT="$R/runtime"
action="$1"; shift
facts() {
  echo "cpus=$(nproc 2>/dev/null || echo 1) memory_mb=$(awk '/^MemTotal:/{print int($2/1024)}' /proc/meminfo)"
}
packages() {
  missing=""
  command -v podman >/dev/null 2>&1 || missing="$missing podman"
  command -v runc >/dev/null 2>&1 || missing="$missing runc"
  [ -x /bin/busybox ] || missing="$missing busybox-static"
  command -v curl >/dev/null 2>&1 || missing="$missing curl"
  [ -e /etc/ssl/certs/ca-certificates.crt ] || missing="$missing ca-certificates"
  if [ -n "$missing" ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
      echo "missing$missing and no apt-get to install them: install them by hand" >&2
      exit 3
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -q $missing >/dev/null
    echo "installed$missing"
  fi
  # Containers come back after a reboot (podman has no daemon to restart them).
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl enable podman-restart.service >/dev/null 2>&1 || true
  fi
}
# Node and OpenClaw VERSION under $RT (node.sh and openclaw.sh, with D=$RT).
runtime() {
  src="$1"; nv="$2"; reg="$3"; npmv="$4"; ov="$5"
  mkdir -p "$RT"
  # npm trusts what the host trusts (a registry mirror behind the operator's own CA).
  [ -e /etc/ssl/certs/ca-certificates.crt ] && export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
  if [ "$("$RT/node/bin/node" --version 2>/dev/null)" != "v$nv" ]; then
    CLAWOPS_D="$RT" sh -c "$NODE_SCRIPT" node "$src" "$nv" "$reg" "$npmv" >/dev/null
  fi
  CLAWOPS_D="$RT" PATH="$RT/node/bin:$PATH" npm_config_registry="$reg" sh -c "$OPENCLAW_SCRIPT" openclaw "$ov" >/dev/null
  echo "Node $("$RT/node/bin/node" --version), OpenClaw $ov in $RT"
}
# The image cells of VERSION run: built here unless the operator named one.
image() {
  ov="$5"; img="$6"
  if [ "$img" != "-" ]; then
    podman image exists "$img" || podman pull -q "$img" >/dev/null
    echo "image $img"
    return
  fi
  img="localhost/clawops-openclaw:$ov"
  if podman image exists "$img"; then
    echo "image $img (built before)"
    return
  fi
  runtime "$@"
  t=$(mktemp -d "$R/.rootfs.XXXXXX")
  trap 'rm -rf "$t"' EXIT
  mkdir -p "$t/bin" "$t/usr/bin" "$t/opt" "$t/etc/ssl/certs" "$t/tmp" "$t/lib64" "$t/lib/x86_64-linux-gnu" "$t/lib/aarch64-linux-gnu"
  cp -a "$(readlink -f "$RT/node")" "$t/opt/node"
  rm -rf "$t/opt/node/lib/node_modules/npm" "$t/opt/node/include" "$t/opt/node/share"
  cp -a "$(readlink -f "$RT/openclaw-$ov")" "$t/opt/openclaw"
  for lib in $(ldd "$t/opt/node/bin/node" | grep -o '/[^ ]*'); do
    mkdir -p "$t$(dirname "$lib")"
    cp -L "$lib" "$t$lib"
  done
  cp /bin/busybox "$t/bin/busybox"
  for app in sh ls cat ps kill tar gzip env sleep id; do ln -s /bin/busybox "$t/bin/$app"; done
  ln -s /bin/busybox "$t/usr/bin/env"
  cp /etc/ssl/certs/ca-certificates.crt "$t/etc/ssl/certs/"
  printf 'root:x:0:0::/root:/bin/sh\n' > "$t/etc/passwd"
  printf 'root:x:0:\n' > "$t/etc/group"
  chmod 1777 "$t/tmp"
  tar -C "$t" -c . | podman import -q \
    --change 'ENV=PATH=/opt/node/bin:/opt/openclaw/bin:/bin:/usr/bin' \
    --change 'ENV=NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    - "$img" >/dev/null
  rm -rf "$t"
  trap - EXIT
  echo "image $img built from openclaw@$ov ($(podman image inspect --format '{{.Size}}' "$img" | awk '{printf "%d MB", $1/1000000}'))"
}
case "$action" in
  facts) facts ;;
  prepare)
    firewall="$1"; shift
    packages
    mkdir -p "$R/cells"; chmod 711 "$R/cells"
    image "$@"
    if [ "$firewall" = yes ]; then
      command -v ufw >/dev/null 2>&1 || { DEBIAN_FRONTEND=noninteractive apt-get install -y -q ufw >/dev/null; }
      ufw allow 22/tcp >/dev/null
      ufw --force enable >/dev/null
      echo "ufw allows 22/tcp only (cells publish on loopback)"
    fi
    touch "$R/cell-host"
    facts ;;
  image) image "$@" ;;
  stats)
    # name cpu_ns before, one second, after: CPU over that second, not since the start.
    f="{{.Name}} {{.CPUNano}} {{.MemPerc}} {{.PIDs}}"
    a=$(podman stats --no-stream --format "$f" 2>/dev/null | grep '^clawops-cell-' || true)
    t0=$(date +%s%N); sleep 1
    b=$(podman stats --no-stream --format "$f" 2>/dev/null | grep '^clawops-cell-' || true)
    t1=$(date +%s%N)
    printf '%s\n' "$a" | awk -v b="$b" -v dt="$((t1 - t0))" '
      BEGIN { n = split(b, lines, "\n"); for (i = 1; i <= n; i++) { split(lines[i], f, " "); cpu[f[1]] = f[2]; mem[f[1]] = f[3]; pids[f[1]] = f[4] } }
      NF >= 2 && ($1 in cpu) { gsub("%", "", mem[$1]); printf "%s cpu=%.1f mem=%s pids=%s\n", $1, (cpu[$1] - $2) * 100 / dt, mem[$1], pids[$1] }'
    podman ps -a --format '{{.Names}} state={{.State}}' | grep '^clawops-cell-' || true
    echo "host load=$(cut -d' ' -f1 /proc/loadavg) disk=$(df -P "$R" | awk 'NR==2{gsub("%","",$5); print $5}')"
    facts ;;
  reboot)
    # Answers first: the session ends with the reboot.
    nohup sh -c 'sleep 2; systemctl reboot 2>/dev/null || reboot' >/dev/null 2>&1 &
    echo "rebooting" ;;
  *) echo "unknown cell-host action $action" >&2; exit 2 ;;
esac
