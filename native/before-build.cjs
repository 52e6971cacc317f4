// electron-builder `beforeBuild` hook: (re)builds the native addon for the target platform and
// architecture before packaging. Returning true keeps electron-builder's own dependency rebuild.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

module.exports = async function beforeBuild(context) {
  spawnSync(process.execPath, [path.join(__dirname, 'install.mjs')], {
    stdio: 'inherit',
    env: { ...process.env, npm_config_arch: context.arch },
  });
  return true;
};
