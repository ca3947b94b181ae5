# forget-key: remove the instance's key from the login user's authorized_keys, the file
# authorize-key added it to (root's, when clawops logs in as root). Args: PUBLIC_KEY
k="$1"
f="$HOME/.ssh/authorized_keys"
if [ -f "$f" ]; then
  t="$f.clawops.$$"
  grep -vxF "$k" "$f" > "$t" || true
  chmod 600 "$t"
  mv "$t" "$f"
fi
echo "the instance's SSH key removed from ~$(id -un)/.ssh/authorized_keys"
