// Lets pnpm build the `zookeeper` addon (node-gyp) against the headers of the Node that runs
// the install — Node's Debian package, the official tarballs and nvm all ship them next to the
// binary, in <prefix>/include/node — instead of downloading them from nodejs.org, which CI
// cannot reach. An explicit npm_config_nodedir (or `nodedir` in an .npmrc) still wins.
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');

const prefix = dirname(dirname(process.execPath));
if (process.env.npm_config_nodedir === undefined && existsSync(join(prefix, 'include', 'node', 'common.gypi'))) {
  process.env.npm_config_nodedir = prefix;
}

module.exports = {};
