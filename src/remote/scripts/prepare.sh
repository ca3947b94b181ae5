# prepare-host: hardening that needs root. Args: none.
if [ "$(id -u)" != 0 ]; then
  echo "skipped: $(id -un) is not root, so the firewall, fail2ban, unattended upgrades, Docker and a separate service user are left to the host's owner; the gateway runs as $(id -un) and binds loopback only"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "skipped: no apt-get on this host (clawops hardens Debian and Ubuntu hosts); the gateway binds loopback only"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q ufw fail2ban unattended-upgrades docker.io curl ca-certificates tar xz-utils >/dev/null
id openclaw >/dev/null 2>&1 || useradd --create-home --shell /bin/sh openclaw
loginctl enable-linger openclaw 2>/dev/null || echo "note: loginctl enable-linger failed; the gateway will run supervised instead of as a systemd user unit"
ufw allow 22/tcp >/dev/null
ufw --force enable >/dev/null
if command -v systemctl >/dev/null 2>&1; then
  systemctl enable --now fail2ban docker unattended-upgrades >/dev/null 2>&1 || echo "note: some services did not start under systemd: $(systemctl is-active fail2ban docker unattended-upgrades | tr '\n' ' ')"
fi
mkdir -p /var/lib/clawops && touch /var/lib/clawops/prepared
echo "user openclaw; ufw allows 22/tcp only; fail2ban, unattended-upgrades and Docker installed"
