# install-openclaw: OpenClaw at a pinned version in its own prefix, then selected. Args: VERSION
v="$1"; p="$D/openclaw-$v"
installed=$(node -p "require('$p/lib/node_modules/openclaw/package.json').version" 2>/dev/null || true)
if [ "$installed" != "$v" ]; then
  rm -rf "$p.partial"
  npm install --global --prefix "$p.partial" --no-audit --no-fund --loglevel=error "openclaw@$v"
  rm -rf "$p"
  mv "$p.partial" "$p"
fi
ln -sfn "openclaw-$v" "$D/openclaw"
echo "openclaw $v in $p"
