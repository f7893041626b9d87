// End-to-end test of Kiln's MCP server with the official MCP TypeScript SDK (@modelcontextprotocol/sdk).
//
// Starts the real server (`kiln serve` on a free port, temporary data directory), creates accounts
// over the admin REST API, and runs one scenario over each client transport of the SDK:
// Streamable HTTP straight to <base>/mcp, and stdio through the `kiln mcp --url <base>` proxy.
// The scenario checks the handshake, the tool list, every tool (list_models, create_job with
// idempotency, get_job with a wait, the output files behind the resource links, list_jobs,
// estimate_job, cancel_job with its refund, get_balance), the error results (insufficient
// credits, reused idempotency key, unknown tool), a wrong API key, and the balance invariant
// granted == available + held + used after every step, over REST and over MCP.
//
// Run (after `npm ci` in tests/mcp_sdk, which scripts/install-deps.sh does):
//   KILN_BINARY=/abs/path/to/build/kiln node tests/mcp_sdk/sdk_e2e.mjs
// Prints one `ok - ...` / `not ok - ...` line per check; exits 1 if any check failed.

import { isDeepStrictEqual } from "node:util";

import { McpError, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/sdk/types.js";

import {
  KILN_BINARY,
  balance,
  callErr,
  callOk,
  callTool,
  check,
  checkOutputs,
  cleanup,
  closeClient,
  connectHttp,
  connectStdio,
  createAccount,
  errText,
  failureCount,
  grant,
  note,
  readStderr,
  serverRunning,
  startServer,
  summary,
  waitTerminal,
} from "./harness.mjs";

const EXPECTED_TOOLS = ["list_models", "create_job", "get_job", "list_jobs", "cancel_job", "estimate_job", "get_balance"];

// ---------------------------------------------------------------- the scenario

const stats = { cancelsWithRefund: 0 };

async function scenario(client, label, account) {
  console.log(`\n# ---- scenario over ${label} (account ${account.id})`);

  const info = client.getServerVersion();
  check(info?.name === "kiln", `${label}: serverInfo.name is "kiln"`, info);
  note(`${label}: serverInfo ${JSON.stringify(info)}, capabilities ${JSON.stringify(client.getServerCapabilities())}`);
  check(client.getServerCapabilities()?.tools !== undefined, `${label}: server declares the tools capability`, client.getServerCapabilities());

  // tools/list
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  check(isDeepStrictEqual([...names].sort(), [...EXPECTED_TOOLS].sort()), `${label}: tools/list is exactly ${EXPECTED_TOOLS.join(", ")}`, names);
  for (const t of tools) {
    check(typeof t.description === "string" && t.description.length > 0 && t.inputSchema?.type === "object" && t.outputSchema?.type === "object",
      `${label}: tool ${t.name} has a description, an inputSchema and an outputSchema`, t);
  }

  // list_models
  let b = await balance(client, account, label, "connect");
  const models = (await callOk(client, "list_models", {}, label))?.structuredContent?.models;
  if (check(Array.isArray(models), `${label}: list_models -> models array`, models)) {
    const flux = models.find((m) => m.id === "flux2-turbo");
    check(flux?.type === "image" && flux?.credits === 1, `${label}: flux2-turbo is an image model at 1 credit`, flux);
    const seedance = models.find((m) => m.id === "seedance");
    check(seedance?.type === "video", `${label}: seedance is a video model`, seedance);
  }

  // create_job, its replay, and the same key with another request
  const createArgs = { type: "image", model: "flux2-turbo", prompt: "a red fox", idempotency_key: "k1" };
  const job1 = (await callOk(client, "create_job", createArgs, label))?.structuredContent;
  const jobIds = [];
  if (job1) {
    jobIds.push(job1.id);
    check(typeof job1.id === "string" && job1.id.startsWith("job_"), `${label}: create_job -> id job_...`, job1.id);
    check(["queued", "processing", "succeeded"].includes(job1.status), `${label}: create_job -> status queued|processing|succeeded`, job1.status);
    check(job1.object === "job" && job1.model === "flux2-turbo" && job1.prompt === "a red fox", `${label}: create_job -> the job object`, job1);
  }
  let b1 = await balance(client, account, label, "create_job");
  check(b1.available === b.available - 1, `${label}: create_job holds 1 credit (available ${b.available} -> ${b1.available})`, b1);
  const replay = (await callOk(client, "create_job", createArgs, label))?.structuredContent;
  check(replay && job1 && replay.id === job1.id, `${label}: create_job replayed with the same idempotency_key -> the same job`, replay?.id);
  let b2 = await balance(client, account, label, "create_job replay");
  check(b2.available === b.available - 1 && b2.held + b2.used === b.held + b.used + 1, `${label}: the replay holds nothing more (one hold of 1 credit in all)`, { before: b, after: b2 });
  await callErr(client, "create_job", { ...createArgs, prompt: "a blue fox" }, "idempotency_key_reused", label);
  await balance(client, account, label, "reused idempotency key");

  // get_job with a wait, and the output files
  if (job1) {
    const res = await callOk(client, "get_job", { id: job1.id, wait_seconds: 30 }, label);
    const job = res?.structuredContent;
    if (check(job?.status === "succeeded", `${label}: get_job wait_seconds 30 -> succeeded`, job?.status)) {
      check(Array.isArray(job.output) && job.output.length === 1, `${label}: the job has 1 output`, job.output);
      check(job.credits_used === 1, `${label}: the job used 1 credit`, job);
      await checkOutputs(res, label, "image/png");
    }
    const b3 = await balance(client, account, label, "the image job succeeded");
    check(b3.used === b.used + 1 && b3.held === b.held, `${label}: the hold was captured (used +1, held back)`, { before: b, after: b3 });
  }

  // a video job: a VP9 WebM and its first-frame thumbnail
  await grant(account, 150);
  b = await balance(client, account, label, "grant 150");
  const video = (await callOk(client, "create_job", { type: "video", model: "seedance", prompt: "waves at night", params: { duration_seconds: 5 } }, label))?.structuredContent;
  if (video) {
    jobIds.push(video.id);
    check(video.credits_held === 150, `${label}: seedance 5 s holds 150 credits`, video.credits_held);
    const bv = await balance(client, account, label, "create_job video");
    check(bv.available === b.available - 150, `${label}: available down by 150`, { before: b, after: bv });
    const res = await waitTerminal(client, video.id, label);
    if (check(res?.structuredContent?.status === "succeeded", `${label}: the video job succeeded`, res?.structuredContent?.status)) {
      const out = res.structuredContent.output ?? [];
      check(out[0]?.role === "primary" && out[1]?.role === "thumbnail", `${label}: the video's outputs are its primary file and a thumbnail`, out);
      await checkOutputs(res, label, ["video/webm", "image/png"]);
    }
    await balance(client, account, label, "the video job ended");
  }

  // list_jobs
  const list = (await callOk(client, "list_jobs", { limit: 10 }, label))?.structuredContent;
  if (check(Array.isArray(list?.data), `${label}: list_jobs -> data array`, list)) {
    const listed = list.data.map((j) => j.id);
    check(jobIds.every((id) => listed.includes(id)), `${label}: list_jobs contains the created jobs ${jobIds.join(", ")}`, listed);
    check(typeof list.has_more === "boolean", `${label}: list_jobs -> has_more is a boolean`, list.has_more);
  }

  // estimate_job
  b = await balance(client, account, label, "list_jobs");
  const est = (await callOk(client, "estimate_job", { type: "image", model: "seedream", prompt: "x", n: 2 }, label))?.structuredContent;
  check(est?.credits === 6 && est?.sufficient === true && est?.available === b.available,
    `${label}: estimate_job seedream n=2 -> {credits: 6, available: ${b.available}, sufficient: true}`, est);
  const be = await balance(client, account, label, "estimate_job");
  check(be.available === b.available && be.held === b.held, `${label}: estimate_job holds nothing`, { before: b, after: be });

  // cancel_job: a long video job canceled at once; a job that already ended answers cannot_cancel
  let canceled = false;
  for (let attempt = 1; attempt <= 6 && !canceled; attempt++) {
    await grant(account, 450);
    const before = await balance(client, account, label, `grant 450 (cancel attempt ${attempt})`);
    const job = (await callOk(client, "create_job", { type: "video", model: "seedance", prompt: `a long take ${attempt}`, params: { duration_seconds: 15 } }, label))?.structuredContent;
    if (!job) break;
    const { result, error } = await callTool(client, "cancel_job", { id: job.id }, label);
    if (error) {
      check(false, `${label}: cancel_job answers a result`, errText(error));
      break;
    }
    if (!result.isError) {
      const c = result.structuredContent;
      note(`${label}: cancel_job ${job.id} (status was ${job.status}) -> ${JSON.stringify(c)}`);
      check(c?.id === job.id && c?.status === "canceled", `${label}: cancel_job -> status canceled`, c);
      check(c?.credits_refunded === job.credits_held && job.credits_held === 450, `${label}: cancel_job -> credits_refunded ${job.credits_held}`, c);
      check(c?.refund_pending === false, `${label}: cancel_job -> refund_pending false`, c);
      const after = await balance(client, account, label, "cancel_job");
      check(after.available === before.available && after.held === before.held && after.used === before.used, `${label}: the cancel gave every credit back`, { before, after });
      const got = (await callOk(client, "get_job", { id: job.id }, label))?.structuredContent;
      check(got?.status === "canceled" && got?.credits_refunded === 450, `${label}: get_job of the canceled job -> canceled, credits_refunded 450`, got);
      canceled = true;
      stats.cancelsWithRefund++;
    } else {
      note(`${label}: cancel attempt ${attempt}: the job had already ended: ${JSON.stringify(result.structuredContent)}`);
      check(result.structuredContent?.error?.code === "cannot_cancel", `${label}: cancel_job of an ended job -> error.code cannot_cancel`, result.structuredContent);
      await waitTerminal(client, job.id, label);
      await balance(client, account, label, "cancel_job refused");
    }
  }
  if (job1) await callErr(client, "cancel_job", { id: job1.id }, "cannot_cancel", label);
  await callErr(client, "get_job", { id: "job_doesnotexist" }, "not_found", label);
  await callErr(client, "cancel_job", { id: "job_doesnotexist" }, "not_found", label);

  // unknown tool, and a wrong argument type
  try {
    const r = await client.callTool({ name: "nope", arguments: {} });
    note(`${label}: unknown tool answered a result: ${JSON.stringify(r)}`);
    check(r.isError === true, `${label}: unknown tool -> isError result`, r);
  } catch (e) {
    note(`${label}: unknown tool rejected: ${errText(e)}`);
    check(e instanceof McpError && e.code === -32602, `${label}: unknown tool -> McpError -32602`, errText(e));
  }
  try {
    const r = await client.callTool({ name: "get_job", arguments: { id: 5 } });
    check(false, `${label}: get_job {id: 5} -> JSON-RPC error -32602`, r);
  } catch (e) {
    check(e instanceof McpError && e.code === -32602, `${label}: get_job {id: 5} -> JSON-RPC error -32602`, errText(e));
  }

  await balance(client, account, label, "the scenario");
}

/** An account with no credits: create_job -> insufficient_credits, and nothing is created. */
async function noCredits(connect, label) {
  console.log(`\n# ---- no credits over ${label}`);
  const poor = await createAccount(`sdk-poor-${label}`, 0);
  const client = await connect(poor.key);
  await callErr(client, "create_job", { type: "image", model: "flux2-turbo", prompt: "a red fox" }, "insufficient_credits", label);
  const list = (await callOk(client, "list_jobs", {}, label))?.structuredContent;
  check(Array.isArray(list?.data) && list.data.length === 0, `${label}: nothing was created (list_jobs empty)`, list);
  const b = await balance(client, poor, label, "insufficient_credits");
  check(b.available === 0 && b.held === 0 && b.used === 0 && b.granted === 0, `${label}: the balance is all zero`, b);
  await closeClient(client);
}

async function badKey() {
  console.log("\n# ---- a wrong API key");
  try {
    const c = await connectHttp("kiln_sk_wrong");
    await closeClient(c);
    check(false, "http: connect with a wrong key is refused", "connect resolved");
  } catch (e) {
    note(`http: connect with a wrong key rejected: ${errText(e)}`);
    check(e.code === 401 || /401/.test(e.message), "http: connect with a wrong key rejects with 401", errText(e));
  }
  try {
    const c = await connectStdio("kiln_sk_wrong");
    await closeClient(c);
    check(false, "stdio: connect with a wrong KILN_API_KEY is refused", "connect resolved");
  } catch (e) {
    note(`stdio: connect with a wrong key rejected: ${errText(e)}`);
    if (e.kilnStderr) note(`stdio: kiln mcp stderr: ${e.kilnStderr.trim().slice(0, 500)}`);
    check(true, "stdio: connect with a wrong KILN_API_KEY rejects");
    check(e instanceof McpError, "stdio: the refusal is a JSON-RPC error (McpError), not a closed connection", errText(e));
  }
}

// ---------------------------------------------------------------- main

async function main() {
  note(`SDK SUPPORTED_PROTOCOL_VERSIONS: ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")}`);
  note(`KILN_BINARY=${KILN_BINARY}`);
  await startServer();

  for (const [label, connect] of [["http", connectHttp], ["stdio", connectStdio]]) {
    const account = await createAccount(`sdk-${label}`, 100);
    let client;
    try {
      client = await connect(account.key);
    } catch (e) {
      check(false, `${label}: connect`, errText(e) + (e.kilnStderr ? `\n    kiln mcp stderr: ${e.kilnStderr}` : ""));
      continue;
    }
    check(true, `${label}: connect (initialize handshake)`);
    if (label === "http") note(`http: negotiated protocol version ${client.transport?.protocolVersion}`);
    try {
      await scenario(client, label, account);
    } catch (e) {
      check(false, `${label}: the scenario ran to its end`, e.stack ?? errText(e));
      if (client.kilnStderr) note(`kiln mcp stderr: ${client.kilnStderr()}`);
    }
    await closeClient(client);
    try {
      await noCredits(connect, label);
    } catch (e) {
      check(false, `${label}: the no-credits scenario ran to its end`, e.stack ?? errText(e));
    }
  }
  await badKey();
  check(stats.cancelsWithRefund >= 1, `at least one cancel_job succeeded with a refund (${stats.cancelsWithRefund})`);
  check(serverRunning(), "kiln is still running at the end");
}

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    console.log(`# ${sig}: stopping`);
    await cleanup();
    process.exit(130);
  });
}
try {
  await main();
} catch (e) {
  check(false, "the test ran to its end", e.stack ?? errText(e));
}
if (failureCount() > 0) note(`kiln stderr (last lines):\n${readStderr()}`);
await cleanup();
summary();
process.exit(failureCount() === 0 ? 0 : 1);
