# The gateway service: a systemd user unit where systemd runs for this user, otherwise a
# supervised process that restarts the gateway with back-off. Args: ACTION PORT
# ACTION: start | restart | hard-restart | stop | status | remove
action="$1"; port="${2:-18789}"
unit_dir="$HOME/.config/systemd/user"
unit="openclaw-gateway.service"
if command -v systemctl >/dev/null 2>&1 && systemctl --user show-environment >/dev/null 2>&1; then
  mode=systemd
else
  mode=supervisor
fi
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
stop_gateway() {
  if alive "$D/gateway.pid"; then
    g=$(cat "$D/gateway.pid")
    kill -TERM -- "-$g" 2>/dev/null || kill -TERM "$g" 2>/dev/null || true
    i=0
    while kill -0 "$g" 2>/dev/null && [ "$i" -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
    if kill -0 "$g" 2>/dev/null; then
      echo "the gateway did not stop within 30s: killed"
      kill -KILL -- "-$g" 2>/dev/null || kill -KILL "$g" 2>/dev/null || true
    fi
  fi
}
write_supervisor() {
  mkdir -p "$D"
  echo "$port" > "$D/gateway.port"
  cat > "$D/supervise.sh" <<'SUP'
#!/bin/sh
# Written by clawops: keeps the OpenClaw gateway running, restarting it with back-off
# (1s doubling to 60s; reset after a minute of uptime). Stops when ~/.clawops/suspended exists.
D="$HOME/.clawops"
export PATH="$D/node/bin:$D/openclaw/bin:$PATH"
echo $$ > "$D/supervisor.pid"
delay=1
while [ ! -e "$D/suspended" ]; do
  started=$(date +%s)
  setsid openclaw gateway run --port "$(cat "$D/gateway.port")" --bind loopback >> "$D/gateway.out" 2>&1 &
  echo $! > "$D/gateway.pid"
  wait $!
  code=$?
  rm -f "$D/gateway.pid"
  [ -e "$D/suspended" ] && break
  if [ -e "$D/restart" ]; then rm -f "$D/restart"; delay=1; continue; fi
  [ $(( $(date +%s) - started )) -ge 60 ] && delay=1
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) gateway exited ($code); restarting in ${delay}s" >> "$D/gateway.out"
  sleep "$delay"
  delay=$((delay * 2)); [ "$delay" -gt 60 ] && delay=60
done
rm -f "$D/supervisor.pid"
SUP
  chmod 755 "$D/supervise.sh"
}
write_unit() {
  mkdir -p "$unit_dir"
  cat > "$unit_dir/$unit" <<UNIT
[Unit]
Description=OpenClaw gateway (managed by clawops)
After=network-online.target

[Service]
ExecStart=$D/node/bin/node $D/openclaw/bin/openclaw gateway run --port $port --bind loopback
Environment=PATH=$D/node/bin:$D/openclaw/bin:/usr/bin:/bin
Restart=always
RestartSec=2
TimeoutStopSec=330

[Install]
WantedBy=default.target
UNIT
}
case "$mode:$action" in
  systemd:start)
    write_unit
    systemctl --user daemon-reload
    systemctl --user enable --now "$unit"
    loginctl enable-linger "$(id -un)" 2>/dev/null || true
    echo "systemd user unit $unit active" ;;
  systemd:restart) write_unit; systemctl --user daemon-reload; systemctl --user restart "$unit"; echo "$unit restarted" ;;
  systemd:hard-restart)
    write_unit; systemctl --user daemon-reload
    systemctl --user kill -s KILL "$unit" 2>/dev/null || true
    systemctl --user restart "$unit"; echo "$unit killed and restarted" ;;
  systemd:stop) systemctl --user disable --now "$unit"; echo "$unit stopped and disabled" ;;
  systemd:status)
    active=no; systemctl --user is-active --quiet "$unit" && active=yes
    enabled=no; systemctl --user is-enabled --quiet "$unit" && enabled=yes
    echo "mode=systemd running=$active suspended=$([ "$enabled" = yes ] && echo no || echo yes)" ;;
  systemd:remove)
    systemctl --user disable --now "$unit" 2>/dev/null || true
    rm -f "$unit_dir/$unit"; systemctl --user daemon-reload
    echo "$unit removed" ;;
  supervisor:start)
    rm -f "$D/suspended" "$D/restart"
    write_supervisor
    if alive "$D/supervisor.pid"; then
      echo "supervised gateway already running"
    else
      nohup setsid sh "$D/supervise.sh" </dev/null >/dev/null 2>&1 &
      echo "supervised gateway started (no systemd user session on this host)"
    fi ;;
  supervisor:restart)
    write_supervisor
    if alive "$D/supervisor.pid"; then
      touch "$D/restart"; stop_gateway; echo "gateway restarted by its supervisor"
    else
      rm -f "$D/suspended" "$D/restart"
      nohup setsid sh "$D/supervise.sh" </dev/null >/dev/null 2>&1 &
      echo "supervised gateway started"
    fi ;;
  supervisor:hard-restart)
    write_supervisor
    if alive "$D/gateway.pid"; then
      g=$(cat "$D/gateway.pid")
      touch "$D/restart"
      kill -KILL -- "-$g" 2>/dev/null || kill -KILL "$g" 2>/dev/null || true
    fi
    if ! alive "$D/supervisor.pid"; then
      rm -f "$D/suspended" "$D/restart"
      nohup setsid sh "$D/supervise.sh" </dev/null >/dev/null 2>&1 &
    fi
    echo "gateway killed and restarted by its supervisor" ;;
  supervisor:stop|supervisor:remove)
    mkdir -p "$D"; touch "$D/suspended"; stop_gateway
    i=0; while alive "$D/supervisor.pid" && [ "$i" -lt 20 ]; do sleep 0.5; i=$((i + 1)); done
    if alive "$D/supervisor.pid"; then kill -KILL "$(cat "$D/supervisor.pid")" 2>/dev/null || true; fi
    rm -f "$D/supervisor.pid" "$D/gateway.pid"
    echo "gateway stopped" ;;
  supervisor:status)
    running=no; alive "$D/gateway.pid" && running=yes
    suspended=no; [ -e "$D/suspended" ] && suspended=yes
    echo "mode=supervisor running=$running suspended=$suspended" ;;
  *) echo "unknown service action $action" >&2; exit 2 ;;
esac
