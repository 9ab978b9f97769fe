// Peer for attest_peer.sh: Phala's dcap-qvl (npm @phala/dcap-qvl, pure JavaScript, and
// @phala/dcap-qvl-web, its Rust core compiled to WebAssembly) verifying the same quote with the
// same collateral at the same time as attest_bench, with warm state (modules loaded, inputs
// parsed once). Prints "js <verifies/s>" and "wasm <verifies/s>", median of 5 blocks each.
// Usage: node dcap_qvl_peer.mjs MODULES_DIR QUOTE COLLATERAL_JSON UNIX_SECONDS
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [modules, quotePath, collateralPath, nowText] = process.argv.slice(2);
const require = createRequire(join(modules, 'package.json'));
const quote = new Uint8Array(readFileSync(quotePath));
const collateral = JSON.parse(readFileSync(collateralPath, 'utf8'));
const now = Number(nowText);

function rate(fn) {
  const rates = [];
  for (let rep = 0; rep < 5; rep++) {
    let n = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < 0.4) {
      fn();
      n++;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    }
    rates.push(n / elapsed);
  }
  rates.sort((a, b) => a - b);
  return rates[2];
}

const js = require('@phala/dcap-qvl');
const jsReport = js.verify(quote, collateral, now);
if (!jsReport || !jsReport.status) throw new Error('dcap-qvl (js) did not verify the quote');
console.log(`js ${rate(() => js.verify(quote, collateral, now)).toFixed(1)} ${jsReport.status}`);

const webDir = join(modules, 'node_modules', '@phala', 'dcap-qvl-web');
const web = await import(pathToFileURL(join(webDir, 'dcap-qvl-web.js')).href);
web.initSync({ module: readFileSync(join(webDir, 'dcap-qvl-web_bg.wasm')) });
const wasmReport = web.js_verify(quote, collateral, BigInt(now));
const status = wasmReport.status ?? (wasmReport instanceof Map ? wasmReport.get('status') : '?');
console.log(`wasm ${rate(() => web.js_verify(quote, collateral, BigInt(now))).toFixed(1)} ${status}`);
