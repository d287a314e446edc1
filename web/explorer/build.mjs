// Builds the explorer's static files into DIR (default ../../build/explorer): the bundled
// ES module (esbuild), the page and its style sheet. No inline script or style: the page runs
// under a Content-Security-Policy of 'self' (index.html).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, '../../build/explorer'));
mkdirSync(out, { recursive: true });
await build({
    entryPoints: [join(here, 'src/main.js')],
    outfile: join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    minify: true,
    target: ['es2020'],
    legalComments: 'linked',
    logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) {
    copyFileSync(join(here, 'src', f), join(out, f));
}
