#!/usr/bin/env node
// JS smoke-test runner: starts `sluice serve` on a free port with a fresh
// temporary data directory, runs every *.test.mjs here with `node --test`
// (SLUICE_ENDPOINT=http://ADDR in its environment), stops the server with
// SIGTERM, and fails if a test failed or the server did not exit 0. The
// temporary directory is removed at the end; the server log is printed
// first when anything failed.
//
// Usage: node tests/smoke-js/run.mjs --binary bin/sluice [node --test flags...]
// e.g.   node tests/smoke-js/run.mjs --binary bin/sluice --test-name-pattern=FIFO

import { spawn } from "node:child_process";
import { accessSync, constants, createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 45_000;
const SUITE_TIMEOUT_MS = 300_000;

function parseArgs(argv) {
  let binary = "bin/sluice";
  const passthrough = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--binary") binary = argv[++i];
    else if (argv[i].startsWith("--binary=")) binary = argv[i].slice("--binary=".length);
    else passthrough.push(argv[i]);
  }
  return { binary: resolve(binary), passthrough };
}

// Static test credentials and region; no user config or profile, no
// metadata service, no CA bundle.
function isolatedEnv(extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("AWS_")) env[key] = value;
  }
  return {
    ...env,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
    AWS_EC2_METADATA_DISABLED: "true",
    ...extra,
  };
}

function startServer(binary, dataDir, logPath) {
  const log = createWriteStream(logPath);
  const proc = spawn(binary, ["serve", "--addr", "127.0.0.1:0", "--data", dataDir, "--log-level", "debug"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: isolatedEnv({}),
  });
  const exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  const address = new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`sluice did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    proc.stderr.on("data", (chunk) => {
      log.write(chunk);
      if (buffered === null) return;
      buffered += chunk.toString("utf8");
      const match = /msg="sluice: serving" addr=(\S+)/.exec(buffered);
      if (match) {
        buffered = null;
        clearTimeout(timer);
        resolve(match[1]);
      } else if (buffered.length > 1 << 20) {
        buffered = buffered.slice(-4096);
      }
    });
    proc.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`sluice exited before serving (code ${code}, signal ${signal})`));
    });
  });
  const logClosed = new Promise((resolve) => proc.stderr.once("close", () => log.end(resolve)));
  return { proc, address, exited, logClosed };
}

// SIGTERM, then wait; the exit code, or null if it had to be killed.
async function stopServer(server) {
  if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill("SIGTERM");
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), STOP_TIMEOUT_MS);
  });
  const result = await Promise.race([server.exited, timeout]);
  clearTimeout(timer);
  if (result === null) {
    server.proc.kill("SIGKILL");
    await server.exited;
    await server.logClosed;
    return null;
  }
  await server.logClosed;
  return result.signal ? `signal ${result.signal}` : result.code;
}

function runTests(endpoint, passthrough) {
  const files = readdirSync(HERE)
    .filter((f) => f.endsWith(".test.mjs"))
    .sort()
    .map((f) => join(HERE, f));
  if (files.length === 0) {
    console.error("smoke-js: no tests found");
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--test", ...passthrough, ...files], {
      cwd: HERE,
      stdio: ["ignore", "inherit", "inherit"],
      env: isolatedEnv({ SLUICE_ENDPOINT: endpoint }),
    });
    const timer = setTimeout(() => {
      console.error(`smoke-js: tests still running after ${SUITE_TIMEOUT_MS} ms; killing them`);
      child.kill("SIGKILL");
    }, SUITE_TIMEOUT_MS);
    child.once("error", (err) => {
      clearTimeout(timer);
      console.error(`smoke-js: cannot run node --test: ${err.message}`);
      resolve(false);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

async function main() {
  const { binary, passthrough } = parseArgs(process.argv.slice(2));
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    console.error(`smoke-js: ${binary} is not an executable; run \`make build\` first`);
    return 2;
  }

  const work = mkdtempSync(join(tmpdir(), "sluice-smoke-js-"));
  const logPath = join(work, "server.log");
  const server = startServer(binary, join(work, "data"), logPath);
  let ok = false;
  try {
    const address = await server.address;
    const endpoint = `http://${address}`;
    console.error(`smoke-js: sluice serving on ${address}, data in ${work}, node ${process.version}`);
    ok = await runTests(endpoint, passthrough);
  } catch (err) {
    console.error(`smoke-js: ${err.message}`);
  } finally {
    const code = await stopServer(server);
    if (code !== 0) {
      console.error(`smoke-js: sluice exited with ${code} after SIGTERM (want 0)`);
      ok = false;
    }
    if (!ok) {
      console.error("---- sluice log ----");
      try {
        console.error(readFileSync(logPath, "utf8"));
      } catch (err) {
        console.error(`(no log: ${err.message})`);
      }
    }
    rmSync(work, { recursive: true, force: true });
  }
  return ok ? 0 : 1;
}

process.exitCode = await main();
