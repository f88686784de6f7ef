// Which test262 module tests Node passes, as the reference for zako's runner.
//
//   node tests/conformance/node_baseline.mjs [SUITE] > tests/conformance/node20_passes.txt
//
// SUITE defaults to $ZAKO_TEST262 or <repo>/../shared/test262. Each test runs
// in its own node process (a module graph cannot be unloaded), harness files
// as global scripts first, as INTERPRETING.md says; the output is the sorted
// list of passing paths relative to SUITE/test.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import vm from "node:vm";

const DIRS = ["language", "staging"];

function meta(src) {
  const m = /\/\*---([\s\S]*?)---\*\//.exec(src);
  const text = m ? m[1] : "";
  const list = (key) => {
    const inline = new RegExp(`^${key}:\\s*\\[([^\\]]*)\\]`, "m").exec(text);
    if (inline) return inline[1].split(",").map((s) => s.trim()).filter(Boolean);
    const block = new RegExp(`^${key}:\\s*\\n((?:\\s+-.*\\n?)+)`, "m").exec(text);
    return block ? block[1].split("\n").map((s) => s.replace(/^\s*-\s*/, "").trim()).filter(Boolean) : [];
  };
  const neg = /^negative:\s*\n\s+phase:\s*(\w+)\s*\n\s+type:\s*(\w+)/m.exec(text)
    || /^negative:\s*\n\s+type:\s*(\w+)\s*\n\s+phase:\s*(\w+)/m.exec(text);
  let negative = null;
  if (neg) negative = /phase:\s*\w+\s*\n\s+type/.test(neg[0]) ? { phase: neg[1], type: neg[2] } : { type: neg[1], phase: neg[2] };
  return { flags: list("flags"), includes: list("includes"), features: list("features"), negative };
}

async function runOne(suite, file) {
  const src = fs.readFileSync(file, "utf8");
  const md = meta(src);
  const isAsync = md.flags.includes("async");
  let done;
  const finished = new Promise((r) => (done = r));
  globalThis.print = (msg) => {
    msg = String(msg);
    if (msg.startsWith("Test262:AsyncTest")) done(msg);
  };
  if (!md.flags.includes("raw")) {
    const names = ["assert.js", "sta.js", ...(isAsync ? ["doneprintHandle.js"] : []), ...md.includes];
    for (const n of names) {
      const p = path.join(suite, "harness", n);
      vm.runInThisContext(fs.readFileSync(p, "utf8"), { filename: p });
    }
  }
  try {
    await import(pathToFileURL(file).href);
  } catch (e) {
    const name = e && e.constructor && e.constructor.name;
    if (md.negative && name === md.negative.type) return "PASS";
    return `FAIL threw ${name}: ${e && e.message}`;
  }
  if (md.negative) return `FAIL expected ${md.negative.type}`;
  if (!isAsync) return "PASS";
  const msg = await Promise.race([finished, new Promise((r) => setTimeout(() => r("timeout"), 5000))]);
  return msg === "Test262:AsyncTestComplete" ? "PASS" : `FAIL ${msg}`;
}

function tests(suite) {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".js") && !e.name.includes("_FIXTURE")) {
        if (meta(fs.readFileSync(p, "utf8")).flags.includes("module")) out.push(p);
      }
    }
  };
  for (const d of DIRS) walk(path.join(suite, "test", d));
  return out.sort();
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === "--one") {
    const verdict = await runOne(args[1], args[2]);
    process.stdout.write(verdict + "\n");
    process.exit(0);
  }
  const here = path.dirname(fileURLToPath(import.meta.url));
  const suite = path.resolve(args[0] || process.env.ZAKO_TEST262 || path.join(here, "../../../shared/test262"));
  const all = tests(suite);
  const passed = [];
  let next = 0;
  const worker = async () => {
    while (next < all.length) {
      const file = all[next++];
      const verdict = await new Promise((resolve) => {
        // Test files are .js without a package.json: without this flag node
        // would load them as CommonJS (where top-level `return` is fine).
        execFile(process.execPath, ["--experimental-default-type=module", fileURLToPath(import.meta.url), "--one", suite, file], { timeout: 15000 },
          (err, stdout) => resolve(String(stdout).trim().split("\n").pop() || (err ? `FAIL ${err.message}` : "FAIL")));
      });
      if (verdict === "PASS") passed.push(path.relative(path.join(suite, "test"), file));
    }
  };
  await Promise.all([worker(), worker()]);
  process.stderr.write(`node ${process.version}: ${passed.length} of ${all.length} module tests pass\n`);
  process.stdout.write(`# node ${process.version} passes these test262 module tests; regenerate with\n`);
  process.stdout.write(`#   node tests/conformance/node_baseline.mjs > tests/conformance/node20_passes.txt\n`);
  process.stdout.write(passed.sort().join("\n") + "\n");
}

main();
