# remove: after the service is removed, delete the gateway's data and the runtime clawops
# installed, and the instance's key from authorized_keys. Args: PUBLIC_KEY
k="$1"
rm -rf "$HOME/.openclaw" "$D"
if [ -f "$HOME/.ssh/authorized_keys" ]; then
  grep -vxF "$k" "$HOME/.ssh/authorized_keys" > "$HOME/.ssh/authorized_keys.clawops" || true
  mv "$HOME/.ssh/authorized_keys.clawops" "$HOME/.ssh/authorized_keys"
fi
echo "removed ~/.openclaw, ~/.clawops and the instance's SSH key"
