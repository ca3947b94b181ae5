# probe: load, memory, disk, Docker, the gateway service's state and restart count, and
# the installed OpenClaw version, as key=value.
# Args: none. One exec per sweep: no Node start (the version is read from package.json).
cores=$(nproc 2>/dev/null || echo 1)
echo "load=$(cut -d' ' -f1 /proc/loadavg) cores=$cores"
awk '/^MemTotal:/{t=$2} /^MemAvailable:/{a=$2} END{print "mem_total=" t " mem_avail=" a}' /proc/meminfo
echo "disk=$(df -P "$HOME" | awk 'NR==2{gsub("%","",$5); print $5}')"
# Docker counts only where its engine is installed; its socket tells whether it runs
# (the service user may not be allowed to talk to it).
if [ -S /var/run/docker.sock ]; then
  echo "docker=up"
elif command -v dockerd >/dev/null 2>&1; then
  echo "docker=down"
else
  echo "docker=absent"
fi
pkg="$D/openclaw/lib/node_modules/openclaw/package.json"
if [ -r "$pkg" ]; then
  echo "version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg" | head -n 1)"
fi
# The gateway service: a systemd user unit, or clawops' supervisor (which logs each
# restart it makes in gateway.out).
restarts=""
if command -v systemctl >/dev/null 2>&1 && systemctl --user show-environment >/dev/null 2>&1 \
  && [ -f "$HOME/.config/systemd/user/openclaw-gateway.service" ]; then
  state=$(systemctl --user is-active openclaw-gateway.service 2>/dev/null) || true
  restarts=$(systemctl --user show -p NRestarts --value openclaw-gateway.service 2>/dev/null) || true
else
  state=inactive
  if [ -s "$D/gateway.pid" ] && kill -0 "$(cat "$D/gateway.pid")" 2>/dev/null; then
    state=active
  fi
  if [ -e "$D/gateway.out" ]; then
    restarts=$(grep -c 'gateway exited' "$D/gateway.out" 2>/dev/null) || true
  fi
fi
echo "service=${state:-unknown} restarts=${restarts:-0}"
# The host's boot: a new id after every reboot (what changed before an incident).
echo "boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null | tr -d '-' | cut -c1-12)"
