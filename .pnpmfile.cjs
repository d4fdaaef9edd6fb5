// Lets pnpm build the `zookeeper` addon (node-gyp) against the headers of the Node that runs
// the install — Node's Debian package, the official tarballs and nvm all ship them next to the
// binary, in <prefix>/include/node — instead of downloading them from nodejs.org, which CI
// cannot reach. pnpm hands its config to install scripts as npm_config_* variables, so the
// hook sets `nodedir` there; a `nodedir` from an .npmrc or npm_config_nodedir still wins.
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');

function updateConfig(config) {
  const prefix = dirname(dirname(process.execPath));
  const raw = config.rawConfig;
  if (raw !== undefined && !raw.nodedir && existsSync(join(prefix, 'include', 'node', 'common.gypi'))) {
    raw.nodedir = prefix;
  }
  return config;
}

module.exports = { hooks: { updateConfig } };
