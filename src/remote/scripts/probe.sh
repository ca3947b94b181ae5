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
# The instance's end users: the senders OpenClaw approved through pairing, read-only from
# its state database (no RPC lists them; OpenClaw 2026.9.6 keeps state schema 18), and
# the bot's command owner from its config. Node runs only when either file changed since
# the last look; otherwise the last answer is repeated.
st="$HOME/.openclaw/state/openclaw.sqlite"
cfg="$HOME/.openclaw/openclaw.json"
count_users() {
  "$D/node/bin/node" --no-warnings - "$st" "$cfg" 2>/dev/null <<'JS'
const [, , path, cfgPath] = process.argv;
const EXPECTED = 18;
let db;
try {
  db = new (require('node:sqlite').DatabaseSync)(path, { readOnly: true });
} catch (e) {
  console.log('users=unknown why=state-unreadable');
  process.exit(0);
}
const published = db.prepare('PRAGMA user_version').get().user_version;
let version = published;
try {
  const row = db.prepare("SELECT value_json FROM config_machine_state WHERE state_key = 'state.schema.contentVersion'").get();
  if (row) version = Math.max(published, JSON.parse(row.value_json));
} catch (e) { /* no such table: the published version stands */ }
if (version !== EXPECTED) {
  console.log(`users=unknown why=state-schema-${version}-(clawops-reads-${EXPECTED})`);
  process.exit(0);
}
let senders;
try {
  senders = new Set(db.prepare('SELECT channel_key, entry FROM channel_pairing_allow_entries').all()
    .map((r) => `${r.channel_key}:${r.entry}`));
} catch (e) {
  console.log('users=unknown why=no-approved-senders-table');
  process.exit(0);
}
let owner = '';
try {
  const list = JSON.parse(require('node:fs').readFileSync(cfgPath, 'utf8'))?.commands?.ownerAllowFrom;
  if (Array.isArray(list) && list.length) owner = String(list[0]).replace(/[^A-Za-z0-9:_@.+-]/g, '');
} catch (e) { /* no config or not JSON: no owner known */ }
console.log(`users=${senders.size}${owner ? ` owner=${owner}` : ''}`);
JS
}
if [ -x "$D/node/bin/node" ] && [ -f "$st" ]; then
  stamp=$(stat -c '%.9Y.%s' "$st" "$st-wal" "$cfg" 2>/dev/null | tr '\n' ' ') || true
  if [ -s "$D/users.line" ] && [ "$(cat "$D/users.stamp" 2>/dev/null)" = "$stamp" ]; then
    cat "$D/users.line"; echo
  else
    line=$(count_users) || line="users=unknown why=state-unreadable"
    echo "$line"
    printf '%s' "$line" > "$D/users.line"
    printf '%s' "$stamp" > "$D/users.stamp"
  fi
fi
