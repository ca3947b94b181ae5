# cell: one instance's container on a cell host, driven as root.
# Args: ACTION NAME PORT UID CPUS MEMORY_MB PIDS DISK_MB IMAGE GATEWAY_PORT VERSION
# ACTION: home | start | restart | hard-restart | stop | status | remove | logs | switch
# The cell's home (/var/lib/clawops/cells/NAME/home) is its only volume, mounted at the same
# path; clawops' files for it (.clawops: the Node and OpenClaw it runs) sit beside it, out
# of the container's reach. Its own user id, its own network (isolated from the others),
# its gateway published on the host's loopback only.
action="$1"; name="$2"; port="$3"; uid="$4"; cpus="$5"; mem="$6"; pids="$7"; disk="$8"
img="$9"; gw="${10}"; version="${11}"
R=/var/lib/clawops
H="$R/cells/$name"
C="clawops-cell-$name"
N="clawops-cell-$name"
exists() { podman container exists "$C"; }
running() { [ "$(podman inspect --format '{{.State.Running}}' "$C" 2>/dev/null)" = true ]; }
# The version the cell runs: its .clawops/openclaw link (set by `switch`).
current() { basename "$(readlink "$H/.clawops/openclaw" 2>/dev/null)" | sed 's/^openclaw-//'; }
image_for() {
  if [ "$img" = "-" ]; then echo "localhost/clawops-openclaw:$1"; else echo "$img" | sed "s/{version}/$1/g"; fi
}
home() {
  mkdir -p "$H/home" "$H/.clawops"
  chmod 755 "$H"
  chown "$uid:$uid" "$H/home" "$H/.clawops"
  chmod 700 "$H/home" "$H/.clawops"
  ln -sfn "$R/runtime/node" "$H/.clawops/node"
  [ -L "$H/.clawops/openclaw" ] || ln -sfn "$R/runtime/openclaw-$version" "$H/.clawops/openclaw"
}
create() {
  v=$(current); [ -n "$v" ] || v="$version"
  podman network exists "$N" || podman network create --opt isolate=true "$N" >/dev/null
  set -- --name "$C" --runtime runc --user "$uid:$uid" \
    --label managed-by=clawops --label "instance=$name" \
    --memory "${mem}m" --memory-swap "${mem}m" --cpus "$cpus" --pids-limit "$pids" \
    --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 \
    --cap-drop all --security-opt no-new-privileges --read-only --tmpfs /tmp:rw,size=64m \
    --network "$N" -p "127.0.0.1:$port:$gw" \
    -e "HOME=$H/home" -w "$H/home" -v "$H/home:$H/home" --restart unless-stopped
  [ "$disk" = "-" ] || set -- "$@" --storage-opt "size=${disk}m"
  podman create -q "$@" "$(image_for "$v")" \
    node /opt/openclaw/lib/node_modules/openclaw/openclaw.mjs gateway run --port "$gw" --bind lan >/dev/null
  echo "container $C from $(image_for "$v"): ${cpus} CPU, ${mem} MB, ${pids} processes, 127.0.0.1:$port"
}
# The container runs the image its version wants; otherwise it is made again.
fresh() {
  v=$(current); [ -n "$v" ] || v="$version"
  if exists && [ "$(podman inspect --format '{{.ImageName}}' "$C")" != "$(image_for "$v")" ]; then
    podman rm -f -t 30 "$C" >/dev/null
  fi
  exists || create
}
case "$action" in
  home) home; echo "home $H/home (user $uid)" ;;
  start)
    home; rm -f "$H/suspended"; fresh
    running || podman start "$C" >/dev/null
    echo "cell $C started" ;;
  restart)
    home; rm -f "$H/suspended"; fresh
    podman restart -t 30 "$C" >/dev/null
    echo "cell $C restarted" ;;
  hard-restart)
    home; rm -f "$H/suspended"; fresh
    podman kill "$C" >/dev/null 2>&1 || true
    podman start "$C" >/dev/null
    echo "cell $C killed and started" ;;
  stop)
    touch "$H/suspended"
    if exists; then podman stop -t 30 "$C" >/dev/null; fi
    echo "cell $C stopped (kept stopped)" ;;
  status)
    r=no; running && r=yes
    s=no; [ -e "$H/suspended" ] && s=yes
    echo "mode=cell running=$r suspended=$s restarts=$(podman inspect --format '{{.RestartCount}}' "$C" 2>/dev/null || echo 0)" ;;
  switch)
    # The cell runs VERSION from its next start (the runtime holds it: cellhost.sh image).
    [ -d "$R/runtime/openclaw-$version" ] || { echo "OpenClaw $version is not on this host" >&2; exit 3; }
    ln -sfn "$R/runtime/openclaw-$version" "$H/.clawops/openclaw"
    echo "cell $C set to $version" ;;
  logs) podman logs --tail "${version:-50}" "$C" 2>&1 || true ;;
  remove)
    podman rm -f -t 30 "$C" >/dev/null 2>&1 || true
    podman network rm "$N" >/dev/null 2>&1 || true
    rm -rf "$H"
    echo "cell $C, its network and its volume removed" ;;
  *) echo "unknown cell action $action" >&2; exit 2 ;;
esac
