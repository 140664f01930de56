// @hey-api/openapi-ts's settings for the generated TypeScript client (make test-clients):
// the schema and the output folder come from the environment the test sets.
export default {
  input: process.env.TWOSTEP_SCHEMA,
  output: process.env.TWOSTEP_TS_OUTPUT,
  plugins: ["@hey-api/client-fetch", "@hey-api/typescript", "@hey-api/sdk"],
  // The generator checks the schema too, and says what it finds.
  parser: { validate_EXPERIMENTAL: true },
  logs: { file: false },
};
