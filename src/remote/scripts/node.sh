# install-node: Node.js for the service user, without root. Args: SOURCE VERSION REGISTRY NPM_VERSION
src="$1"; v="$2"; reg="${3%/}"; npmv="$4"
case "$(uname -m)" in
  x86_64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "unsupported CPU $(uname -m): clawops installs Node.js for x86_64 and arm64" >&2; exit 3 ;;
esac
fetch() {
  if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 3 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then wget -q -O "$2" "$1"
  else echo "neither curl nor wget on the host: install one of them" >&2; exit 3; fi
}
mkdir -p "$D"
t=$(mktemp -d "$D/.node.XXXXXX")
trap 'rm -rf "$t"' EXIT
mkdir "$t/node"
if [ "$src" = npm ]; then
  fetch "$reg/node-linux-$arch/-/node-linux-$arch-$v.tgz" "$t/node.tgz"
  tar xzf "$t/node.tgz" -C "$t/node" --strip-components=1
  mkdir -p "$t/node/lib/node_modules/npm"
  fetch "$reg/npm/-/npm-$npmv.tgz" "$t/npm.tgz"
  tar xzf "$t/npm.tgz" -C "$t/node/lib/node_modules/npm" --strip-components=1
  printf '#!/bin/sh\nexec "$(dirname "$0")/node" "$(dirname "$0")/../lib/node_modules/npm/bin/npm-cli.js" "$@"\n' > "$t/node/bin/npm"
  chmod 755 "$t/node/bin/npm"
else
  fetch "https://nodejs.org/dist/v$v/node-v$v-linux-$arch.tar.xz" "$t/node.tar.xz"
  tar xJf "$t/node.tar.xz" -C "$t/node" --strip-components=1
fi
"$t/node/bin/node" --version >/dev/null
rm -rf "$D/node-$v"
mv "$t/node" "$D/node-$v"
ln -sfn "node-$v" "$D/node"
echo "node $("$D/node/bin/node" --version), npm $("$D/node/bin/npm" --version) in $D/node-$v"
