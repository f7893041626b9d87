// Test harness for the MCP SDK end-to-end test (sdk_e2e.mjs): check/note reporting and its
// pass/fail counters, starting and stopping a real `kiln serve` (temporary data directory,
// admin token) and cleaning up after it, REST helpers for the admin and account APIs, and MCP
// client helpers built on the official SDK (@modelcontextprotocol/sdk) for the Streamable HTTP
// and stdio (`kiln mcp --url <base>`) transports.
//
// Importing this module reads KILN_BINARY (an absolute path, else exit 2) and creates the
// temporary directory; call cleanup() before exiting.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { isDeepStrictEqual } from "node:util";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CallToolResultSchema, McpError } from "@modelcontextprotocol/sdk/types.js";

export const KILN_BINARY = process.env.KILN_BINARY;
if (!KILN_BINARY || !path.isAbsolute(KILN_BINARY)) {
  console.error("usage: KILN_BINARY=/abs/path/to/build/kiln node tests/mcp_sdk/sdk_e2e.mjs");
  process.exit(2);
}

const REQUEST_TIMEOUT_MS = 90_000; // get_job may wait 60 s on the server
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const GIF_MAGIC = Buffer.from("GIF89a", "latin1");

// ---------------------------------------------------------------- reporting

let failures = 0;
let checks = 0;

export function check(cond, what, detail) {
  checks++;
  if (cond) {
    console.log(`ok - ${what}`);
  } else {
    failures++;
    console.log(`not ok - ${what}`);
    if (detail !== undefined) console.log(`    got: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
  }
  return !!cond;
}

export const failureCount = () => failures;

/** Prints the closing `N passed, M failed` line. */
export function summary() {
  console.log(`\n${checks - failures} passed, ${failures} failed`);
}

export const note = (line) => console.log(`# ${line}`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const errText = (e) => (e instanceof Error ? `${e.constructor.name}: ${e.message}${e.code !== undefined ? ` (code ${e.code})` : ""}` : String(e));

// ---------------------------------------------------------------- the server

const tmp = mkdtempSync(path.join(tmpdir(), "kiln-mcp-sdk-"));
const adminToken = randomBytes(16).toString("hex");
let server = null;
let serverExited = null;
let base = null;
const openClients = new Set();

/** This process's environment without KILN_* variables (kiln refuses unknown ones), plus `add`. */
function cleanEnv(add) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("KILN_")) env[k] = v;
  return { ...env, ...add };
}

export async function startServer() {
  const stderrPath = path.join(tmp, "kiln.stderr");
  const stderrFile = createWriteStream(stderrPath);
  server = spawn(KILN_BINARY, ["serve", "--listen", "127.0.0.1:0", "--data-dir", path.join(tmp, "data")], {
    env: cleanEnv({
      KILN_ADMIN_TOKEN: adminToken,
      KILN_DEMO_ACCOUNT: "false",
      KILN_DURABILITY: "fsync",
      KILN_VERIFY: "1",
    }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stderr.pipe(stderrFile);
  serverExited = new Promise((resolve) => server.on("exit", (code, signal) => resolve({ code, signal })));
  let printed = "";
  const ready = new Promise((resolve, reject) => {
    const lines = createInterface({ input: server.stdout });
    lines.on("line", (line) => {
      printed += line + "\n";
      const m = /^kiln listening on (http:\/\/127\.0\.0\.1:\d+)\s*$/.exec(line);
      if (m) resolve(m[1]);
    });
    server.on("error", reject);
    serverExited.then(({ code, signal }) => reject(new Error(`kiln exited (code ${code}, signal ${signal}) before listening`)));
    setTimeout(() => reject(new Error("kiln did not print its listening line within 20 s")), 20_000);
  });
  try {
    base = await ready;
  } catch (e) {
    console.log(`kiln stdout:\n${printed}`);
    console.log(`kiln stderr:\n${readStderr()}`);
    throw e;
  }
  note(`kiln listening on ${base} (data in ${tmp})`);
}

/** Whether the kiln server started by startServer() is still running. */
export function serverRunning() {
  return server !== null && server.exitCode === null && server.signalCode === null;
}

export function readStderr() {
  try {
    return readFileSync(path.join(tmp, "kiln.stderr"), "utf8").split("\n").slice(-40).join("\n");
  } catch {
    return "";
  }
}

async function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  server.kill("SIGTERM");
  const done = await Promise.race([serverExited.then(() => true), sleep(10_000).then(() => false)]);
  if (!done) {
    note("kiln did not stop within 10 s of SIGTERM: SIGKILL");
    server.kill("SIGKILL");
    await serverExited;
  }
}

// However this process ends (an uncaught error, a closed stdout), the server must not outlive it.
process.on("exit", () => {
  if (server && server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
});
process.stdout.on("error", () => {}); // EPIPE when the reader went away: keep running, clean up

export async function cleanup() {
  for (const c of openClients) await c.close().catch(() => {});
  openClients.clear();
  await stopServer();
  rmSync(tmp, { recursive: true, force: true });
}

// ---------------------------------------------------------------- REST helpers

async function rest(method, urlPath, token, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(base + urlPath, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}

export async function createAccount(name, credits) {
  const r = await rest("POST", "/admin/v1/accounts", adminToken, { name, plan: "pro", credits });
  if (r.status !== 201 || !r.json?.api_key?.startsWith("kiln_sk_") || !r.json?.account?.id) {
    throw new Error(`POST /admin/v1/accounts: ${r.status} ${r.text}`);
  }
  return { id: r.json.account.id, key: r.json.api_key };
}

export async function grant(account, amount) {
  const r = await rest("POST", `/admin/v1/accounts/${account.id}/credits`, adminToken, { amount, reason: "x" });
  check(r.status >= 200 && r.status < 300, `admin grant of ${amount} credits to ${account.id}`, `${r.status} ${r.text}`);
}

async function restBalance(account) {
  const r = await rest("GET", "/v1/balance", account.key);
  if (r.status !== 200) throw new Error(`GET /v1/balance: ${r.status} ${r.text}`);
  return r.json;
}

// ---------------------------------------------------------------- MCP helpers

export async function connectHttp(key) {
  const client = new Client({ name: "kiln-sdk-e2e", version: "1.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(base + "/mcp"), {
    requestInit: { headers: { Authorization: "Bearer " + key } },
  });
  await client.connect(transport, { timeout: 20_000 });
  openClients.add(client);
  return client;
}

export async function connectStdio(key) {
  const client = new Client({ name: "kiln-sdk-e2e", version: "1.0.0" });
  const transport = new StdioClientTransport({
    command: KILN_BINARY,
    args: ["mcp", "--url", base],
    env: { ...process.env, KILN_API_KEY: key },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr.on("data", (d) => (stderr += d.toString()));
  client.kilnStderr = () => stderr;
  try {
    await client.connect(transport, { timeout: 20_000 });
  } catch (e) {
    e.kilnStderr = stderr;
    await client.close().catch(() => {});
    throw e;
  }
  openClients.add(client);
  return client;
}

export async function closeClient(client) {
  openClients.delete(client);
  await client.close().catch(() => {});
}

const READ_ONLY_TOOLS = new Set(["list_models", "get_job", "list_jobs", "estimate_job", "get_balance"]);

/**
 * tools/call through the SDK's callTool (which validates structuredContent against the tool's
 * outputSchema, error results included). If the SDK itself throws because of that validation,
 * the check fails and, where asking again changes nothing (read-only tools, idempotent or
 * expected-to-fail calls), the raw result is fetched again without validation so the remaining
 * checks can go on. Returns {result} or {error}.
 */
export async function callTool(client, name, args, label, repeatable = READ_ONLY_TOOLS.has(name) || args.idempotency_key !== undefined) {
  try {
    return { result: await client.callTool({ name, arguments: args }, undefined, { timeout: REQUEST_TIMEOUT_MS }) };
  } catch (e) {
    if (e instanceof McpError && /output schema|structured content/i.test(e.message)) {
      check(false, `${label}: the SDK accepts the ${name} result against the tool's outputSchema`, e.message);
      if (!repeatable) return { error: e };
      const raw = await client.request({ method: "tools/call", params: { name, arguments: args } }, CallToolResultSchema, { timeout: REQUEST_TIMEOUT_MS });
      note(`raw ${name} result: ${JSON.stringify(raw).slice(0, 600)}`);
      return { result: raw, schemaRejected: true };
    }
    return { error: e };
  }
}

/** A successful tool result: checks it is not an error and that its text content is its structuredContent. */
export async function callOk(client, name, args, label) {
  const { result, error } = await callTool(client, name, args, label);
  if (error) {
    check(false, `${label}: ${name} ${JSON.stringify(args)} answers a result`, errText(error));
    return null;
  }
  if (!check(!result.isError, `${label}: ${name} ${JSON.stringify(args)} is not an error`, result.structuredContent ?? result.content)) return null;
  check(result.structuredContent && typeof result.structuredContent === "object", `${label}: ${name} has structuredContent`, result);
  const texts = (result.content ?? []).filter((c) => c.type === "text");
  let parsed;
  try {
    parsed = JSON.parse(texts[0]?.text);
  } catch {}
  check(texts.length === 1 && isDeepStrictEqual(parsed, result.structuredContent), `${label}: ${name}'s one text content is the JSON of its structuredContent`, result.content);
  return result;
}

/** An error result: isError with structuredContent.error.code == `code`. */
export async function callErr(client, name, args, code, label) {
  const { result, error } = await callTool(client, name, args, label, true); // an error binds nothing
  if (error) {
    check(false, `${label}: ${name} ${JSON.stringify(args)} answers an isError result with code ${code}`, errText(error));
    return null;
  }
  check(result.isError === true && result.structuredContent?.error?.code === code,
    `${label}: ${name} ${JSON.stringify(args)} -> isError, error.code ${code}`, { isError: result.isError, structuredContent: result.structuredContent });
  return result;
}

/** The balance over REST and over MCP get_balance, with the invariant checked on both. */
export async function balance(client, account, label, step) {
  const r = await restBalance(account);
  check(r.granted === r.available + r.held + r.used, `${label}: REST balance invariant after ${step}`, r);
  const res = await callOk(client, "get_balance", {}, label);
  const m = res?.structuredContent;
  if (m) {
    check(m.granted === m.available + m.held + m.used, `${label}: MCP get_balance invariant after ${step}`, m);
    // held may move to used between the two reads when a job finishes; granted and available may not.
    check(m.granted === r.granted && m.available === r.available, `${label}: MCP get_balance agrees with GET /v1/balance after ${step}`, { rest: r, mcp: m });
  }
  return r;
}

/** get_job until terminal (server-side wait of up to 30 s per call, 90 s in all). */
export async function waitTerminal(client, id, label) {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const res = await callOk(client, "get_job", { id, wait_seconds: 30 }, label);
    const job = res?.structuredContent;
    if (!job || ["succeeded", "failed", "canceled"].includes(job.status) || Date.now() > deadline) return res;
  }
}

/** Checks a succeeded job's resource links and downloads every output file. */
/** The first bytes of each kind of file a job makes. */
const MAGIC = {
  "image/png": PNG_MAGIC,
  "image/gif": GIF_MAGIC,
  "video/webm": Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), // EBML
};

/** Checks a succeeded job's resource links and downloads every output: `expected` lists each
 *  output's content type in order (a string for a single output). */
export async function checkOutputs(res, label, expected) {
  const mimes = Array.isArray(expected) ? expected : [expected];
  const job = res.structuredContent;
  const links = (res.content ?? []).filter((c) => c.type === "resource_link");
  const texts = (res.content ?? []).filter((c) => c.type === "text");
  check(texts.length === 1, `${label}: get_job content has exactly one text item`, res.content);
  check(Array.isArray(job.output) && links.length === job.output.length, `${label}: one resource_link per output (${links.length} for ${job.output?.length})`, res.content);
  check(job.output?.length === mimes.length, `${label}: ${mimes.length} output(s): ${mimes.join(", ")}`, job.output);
  for (let i = 0; i < Math.min(links.length, job.output?.length ?? 0); i++) {
    const link = links[i];
    const out = job.output[i];
    const expectedMime = mimes[i];
    check(typeof link.uri === "string" && typeof link.name === "string" && link.name.length > 0 && typeof link.mimeType === "string",
      `${label}: resource_link ${i} has uri, name and mimeType`, link);
    check(link.mimeType === out.content_type && link.mimeType === expectedMime, `${label}: resource_link ${i} mimeType ${link.mimeType} == output content_type == ${expectedMime}`, { link, out });
    let url;
    try {
      url = new URL(link.uri);
    } catch {}
    if (!check(url, `${label}: resource_link ${i} uri is an absolute URL`, link.uri)) url = new URL(link.uri, base);
    check(link.uri === out.url, `${label}: resource_link ${i} uri is the output's url`, { uri: link.uri, url: out.url });
    const resp = await fetch(url); // signed URL: no Authorization
    const bytes = Buffer.from(await resp.arrayBuffer());
    check(resp.status === 200, `${label}: GET output ${i} without a key answers 200`, `${resp.status} ${bytes.subarray(0, 200).toString()}`);
    const magic = MAGIC[expectedMime] ?? PNG_MAGIC;
    check(bytes.subarray(0, magic.length).equals(magic), `${label}: output ${i} starts like a real ${expectedMime} file`, bytes.subarray(0, 16).toString("hex"));
    check(bytes.length === out.bytes, `${label}: output ${i} is ${out.bytes} bytes as the job says`, bytes.length);
  }
}
