#!/usr/bin/env node
// Run before `npm test` and `npm start`: stop at once, with a way out, when Node is older than the
// engines field asks (Debian 12 and Ubuntu ship Node 18-20, and the tests would otherwise fail or be
// skipped in ways that say nothing about the cause). Written in syntax Node 12+ parses: no ?., no ??.
'use strict';

var fs = require('fs');
var path = require('path');

/** "22.12.3" -> [22, 12, 3]; missing parts are 0. */
function parseVersion(text) {
  var parts = String(text).replace(/^v/, '').split('.');
  return [0, 1, 2].map(function (i) { return parseInt(parts[i], 10) || 0; });
}

/** The minimum of an engines range like ">=22.12" (the only form this project uses). */
function minimumFromEngines(range) {
  var m = /^\s*>=\s*v?(\d+(?:\.\d+){0,2})\s*$/.exec(String(range));
  if (!m) throw new Error('package.json engines.node must be ">=X.Y[.Z]", got "' + range + '"');
  return m[1];
}

function isOlder(found, minimum) {
  var a = parseVersion(found);
  var b = parseVersion(minimum);
  for (var i = 0; i < 3; i++) {
    if (a[i] !== b[i]) return a[i] < b[i];
  }
  return false;
}

/** How to get a newer Node on this platform, in three ways. */
function howToGetNode(major, platform, arch) {
  var pkg = 'node-' + (platform === 'win32' ? 'win' : platform) + '-' + arch + '@' + major;
  var dir = "$HOME/.cache/node" + major;
  var bin = platform === 'win32' ? dir + '/node_modules/node-win-' + arch : dir + '/node_modules/node-' + platform + '-' + arch + '/bin';
  return [
    '  - nvm (https://github.com/nvm-sh/nvm):  nvm install ' + major + ' && nvm use ' + major,
    '  - Debian/Ubuntu, NodeSource packages (https://github.com/nodesource/distributions):',
    '      curl -fsSL https://deb.nodesource.com/setup_' + major + '.x | sudo -E bash - && sudo apt-get install -y nodejs',
    '  - without root, the official build from the npm registry:',
    '      npm install --prefix ' + dir + ' ' + pkg + ' && export PATH="' + bin + ':$PATH"',
  ].join('\n');
}

/** The message for a Node older than `minimum`, or null when it is recent enough. */
function nodeVersionProblem(found, minimum, platform, arch) {
  if (!isOlder(found, minimum)) return null;
  var major = parseVersion(minimum)[0];
  return 'Node \u2265 ' + minimum + ' required, found ' + String(found).replace(/^v/, '') + '.\n'
    + 'Get Node ' + major + ' in one of these ways, then run the command again:\n'
    + howToGetNode(major, platform, arch);
}

module.exports = { parseVersion: parseVersion, minimumFromEngines: minimumFromEngines, isOlder: isOlder, nodeVersionProblem: nodeVersionProblem };

if (require.main === module) {
  var pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8'));
  var problem = nodeVersionProblem(process.versions.node, minimumFromEngines(pkg.engines.node), process.platform, process.arch);
  if (problem) {
    process.stderr.write(problem + '\n');
    process.exit(1);
  }
}
