// Builds native/ (the malloc_trim addon, see native/trim.c) with the node-gyp that npm provides to
// install scripts. Optional: when it cannot be built (no compiler, no headers), cordon runs without
// it and says so in its log; installation does not fail.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');
const out = join(dir, 'build', 'Release', 'cordon_trim.node');
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const r = spawnSync(cmd, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (r.status === 0 && existsSync(out)) {
  console.log('native/: built cordon_trim.node (malloc_trim)');
} else {
  const why = r.error ? r.error.message : (r.stderr || '').trim().split('\n').slice(-3).join(' | ');
  console.warn(`native/: cordon_trim.node not built (${why || `exit ${r.status}`}); cordon will run without malloc_trim`);
}
