// The whole journey through the generated TypeScript client (@hey-api/openapi-ts), against the
// live example project: compiled by tsc (tsconfig.json), then run with node in the environment
// that test_journeys.py sets (TWOSTEP_BASE_URL, TWOSTEP_SERVER_LOG, TWOSTEP_JOURNEY). Every
// request goes through the client; the codes come from oathtool (authenticator app) and from the
// server's log, where the console SMS backend writes the text messages. docs/clients.md shows
// parts of this file.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

import { createClient, createConfig } from "../build/clients/typescript/client/client";
import {
  organizationMemberResetTwoStep,
  organizationMembersList,
  twoStepLogin,
  twoStepLoginSendCode,
  twoStepLoginVerify,
  twoStepLogout,
  twoStepMethodsConfirm,
  twoStepMethodsCreate,
  twoStepMethodsDestroy,
  twoStepMethodsUpdate,
  twoStepRecoveryCodesPdf,
  twoStepStatus,
} from "../build/clients/typescript/client/sdk.gen";
import type { ErrorCode } from "../build/clients/typescript/client/types.gen";

const BASE_URL = required("TWOSTEP_BASE_URL");
const SERVER_LOG = required("TWOSTEP_SERVER_LOG");
const JOURNEY = JSON.parse(required("TWOSTEP_JOURNEY")) as Record<string, string>;
const errorsChecked: ErrorCode[] = [];

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function check(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`failed: ${what}`);
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The body of a successful answer of `status`. */
function ok<T>(answer: Answer<T>, status: number): T {
  check(
    answer.response.status === status && answer.data !== undefined,
    `HTTP ${status} expected, got ${answer.response.status} ${JSON.stringify(answer.error)}`,
  );
  return answer.data;
}

/** An answer without a body, of `status`. */
function empty(answer: Answer<unknown>, status: number): void {
  check(answer.response.status === status, `HTTP ${status}, got ${answer.response.status}`);
}

/** An error answer of `status` whose typed `code` is `code`. */
function failed<E extends { code: ErrorCode; detail: string }>(
  answer: { error?: E; response: Response },
  status: number,
  code: E["code"],
): void {
  check(answer.response.status === status, `HTTP ${status}, got ${answer.response.status}`);
  check(answer.error !== undefined, "an error body");
  check(answer.error.code === code, `code ${code}, got ${answer.error.code}`);
  check(answer.error.detail.length > 0, "a detail");
  errorsChecked.push(code);
}

function totp(secret: string): string {
  return execFileSync("oathtool", ["--totp", "--base32", secret], { encoding: "utf8" }).trim();
}

function logSize(): number {
  return readFileSync(SERVER_LOG, "utf8").length;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The code of the first text message to `phone` in the server's log past `after`. */
async function smsCode(phone: string, after: number): Promise<string> {
  const escaped = phone.replace(/[+]/g, "\\+");
  const pattern = new RegExp(`^SMS to ${escaped}\\n(\\d{6}) `, "m");
  for (let tries = 0; tries < 100; tries++) {
    const found = pattern.exec(readFileSync(SERVER_LOG, "utf8").slice(after));
    if (found) return found[1];
    await sleep(100);
  }
  throw new Error(`no text message to ${phone} in ${SERVER_LOG}`);
}

/** A client that sends `Authorization: Token <token>` (the token issuer gives one always). */
function signedIn(token: string | null) {
  check(token, "a credential");
  return createClient(createConfig({ baseUrl: BASE_URL, auth: () => `Token ${token}` }));
}

async function main(): Promise<void> {
  // [sign-in]
  const anonymous = createClient(createConfig({ baseUrl: BASE_URL }));
  const { username, password } = JOURNEY;
  const credentials = { username, password };

  // Sign in: the clinic requires 2SV and the admin has none yet.
  failed(
    await twoStepLogin({ client: anonymous, body: { username, password: password + "x" } }),
    400,
    "invalid_credentials",
  );
  const setup = ok(await twoStepLogin({ client: anonymous, body: credentials }), 200);
  check(setup.status === "setup_required", "setup_required");
  check(setup.two_step.required && !setup.two_step.enabled, "2SV required, not on");
  const setupClient = signedIn(setup.token);
  // [/sign-in]

  // An authenticator app: step one (the key) and step two (a code from it).
  failed(
    await twoStepMethodsCreate({
      client: setupClient,
      body: { kind: "authenticator_app", password: "wrong" },
    }),
    400,
    "password_incorrect",
  );
  failed(
    await twoStepMethodsCreate({ client: setupClient, body: { kind: "sms", password } }),
    400,
    "invalid",
  );
  const app = ok(
    await twoStepMethodsCreate({
      client: setupClient,
      body: { kind: "authenticator_app", password },
    }),
    201,
  );
  check(app.otpauth_uri, "an otpauth URI");
  const secret = new URL(app.otpauth_uri).searchParams.get("secret");
  check(secret, "a secret in the URI");
  const code = totp(secret);
  const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
  const path = { id: app.id };
  failed(
    await twoStepMethodsConfirm({ client: setupClient, path, body: { code: wrong } }),
    400,
    "invalid_code",
  );
  const confirmed = ok(
    await twoStepMethodsConfirm({ client: setupClient, path, body: { code } }),
    200,
  );
  check(confirmed.method.status === "active", "the method is active");
  const recoveryCodes = confirmed.recovery_codes;
  check(recoveryCodes && recoveryCodes.length === 1, "one recovery code");
  check(confirmed.token, "a new credential");
  // 2SV turned on: the setup credential was revoked, the new one works.
  failed(await twoStepStatus({ client: setupClient }), 401, "authentication_failed");
  let client = signedIn(confirmed.token);
  check(ok(await twoStepStatus({ client }), 200).enabled, "2SV is on");

  // Sign out, then in with a recovery code: a replacement comes back.
  empty(await twoStepLogout({ client }), 204);
  let challenge = ok(await twoStepLogin({ client: anonymous, body: credentials }), 200);
  check(challenge.status === "verification_required", "verification_required");
  check(challenge.default_method === app.id, "the app is the default method");
  failed(
    await twoStepLoginVerify({ client: anonymous, body: { challenge: "not-a-challenge", code } }),
    400,
    "invalid_challenge",
  );
  failed(
    await twoStepLoginVerify({ client: anonymous, body: { challenge: challenge.challenge, code } }),
    400,
    "code_already_used",
  );
  failed(
    await twoStepLoginVerify({
      client: anonymous,
      body: { challenge: challenge.challenge, recovery_code: "AAAA-BBBB-CCCC-DDDD" },
    }),
    400,
    "invalid_recovery_code",
  );
  failed(
    await twoStepLoginSendCode({
      client: anonymous,
      body: { challenge: challenge.challenge, method: app.id },
    }),
    400,
    "method_does_not_send",
  );
  const recovered = ok(
    await twoStepLoginVerify({
      client: anonymous,
      body: { challenge: challenge.challenge, recovery_code: recoveryCodes[0] },
    }),
    200,
  );
  const replacement = recovered.recovery_codes;
  check(replacement && replacement.length === 1, "a replacement code");
  check(replacement[0] !== recoveryCodes[0], "a new code");
  client = signedIn(recovered.token);

  // The PDF of the replacement code.
  failed(
    await twoStepRecoveryCodesPdf({ client, body: { recovery_codes: recoveryCodes } }),
    400,
    "invalid_recovery_code",
  );
  const pdf = ok(await twoStepRecoveryCodesPdf({ client, body: { recovery_codes: replacement } }), 200);
  const head = Buffer.from(await pdf.arrayBuffer()).subarray(0, 4).toString("latin1");
  check(head === "%PDF", `a PDF, got ${JSON.stringify(head)}`);

  // A second method, SMS: the code arrives in a text message.
  const phone = JOURNEY.phone_number;
  let offset = logSize();
  const sms = ok(
    await twoStepMethodsCreate({ client, body: { kind: "sms", password, phone_number: phone } }),
    201,
  );
  check(sms.status === "pending", "the SMS method is pending");
  const smsConfirmed = ok(
    await twoStepMethodsConfirm({
      client,
      path: { id: sms.id },
      body: { code: await smsCode(phone, offset) },
    }),
    200,
  );
  // 2SV was on already: no new recovery codes, no new credential.
  check(!smsConfirmed.recovery_codes?.length && smsConfirmed.token === null, "nothing new");

  // SMS becomes the default method.
  const updated = ok(
    await twoStepMethodsUpdate({ client, path: { id: sms.id }, body: { is_default: true } }),
    200,
  );
  check(updated.is_default, "SMS is the default");
  check(ok(await twoStepStatus({ client }), 200).default_method === sms.id, "status says so");

  // [second-step]
  // Sign out, then in with a code of the authenticator app (a new one: the next time step).
  empty(await twoStepLogout({ client }), 204);
  await sleep((30 - (Date.now() / 1000) % 30 + 0.5) * 1000);
  challenge = ok(await twoStepLogin({ client: anonymous, body: credentials }), 200);
  check(challenge.status === "verification_required", "verification_required");
  check(challenge.default_method === sms.id, "SMS is the default method");
  let signed = ok(
    await twoStepLoginVerify({
      client: anonymous,
      body: { challenge: challenge.challenge, code: totp(secret), method: app.id },
    }),
    200,
  );
  client = signedIn(signed.token);
  // [/second-step]

  // Delete the authenticator app; the last method cannot go while the clinic requires 2SV.
  failed(
    await twoStepMethodsDestroy({ client, path, body: { password: "wrong" } }),
    400,
    "password_incorrect",
  );
  empty(await twoStepMethodsDestroy({ client, path, body: { password } }), 204);
  failed(
    await twoStepMethodsDestroy({ client, path: { id: sms.id }, body: { password } }),
    409,
    "method_required_by_organization",
  );
  const status = ok(await twoStepStatus({ client }), 200);
  check(status.methods.length === 1 && status.methods[0].id === sms.id, "only SMS is left");
  check(status.default_method === sms.id, "and it is the default");
  empty(await twoStepLogout({ client }), 204);

  // The clinic's admin, signed in afresh (with the SMS code), resets a member.
  challenge = ok(await twoStepLogin({ client: anonymous, body: credentials }), 200);
  check(challenge.status === "verification_required", "verification_required");
  offset = logSize();
  const sent = ok(
    await twoStepLoginSendCode({
      client: anonymous,
      body: { challenge: challenge.challenge, method: sms.id },
    }),
    202,
  );
  check(sent.expires_in > 0, "the code expires");
  signed = ok(
    await twoStepLoginVerify({
      client: anonymous,
      body: { challenge: challenge.challenge, code: await smsCode(phone, offset) },
    }),
    200,
  );
  const admin = signedIn(signed.token);
  const orgId = JOURNEY.organization;
  const member = JOURNEY.member;
  failed(
    await organizationMembersList({ client: admin, path: { org_id: JOURNEY.other_organization } }),
    404,
    "not_found",
  );
  let members = ok(await organizationMembersList({ client: admin, path: { org_id: orgId } }), 200);
  const before = members.results.find((m) => m.user.id === member);
  check(before && before.enabled && before.compliant, "the member has 2SV on");
  empty(
    await organizationMemberResetTwoStep({
      client: admin,
      path: { org_id: orgId, user_id: member },
    }),
    204,
  );
  members = ok(
    await organizationMembersList({
      client: admin,
      path: { org_id: orgId },
      query: { compliant: false },
    }),
    200,
  );
  check(members.results.length === 1 && members.results[0].user.id === member, "reset member");
  check(!members.results[0].enabled && members.results[0].methods.length === 0, "2SV is off");

  check(new Set(errorsChecked).size >= 5, `errors checked: ${errorsChecked.join(", ")}`);
  console.log(`typescript journey: passed, ${errorsChecked.length} error answers checked by code`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
