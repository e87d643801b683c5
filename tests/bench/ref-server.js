// Reference server for `make bench`: LINE's official Node.js SDK webhook middleware on
// express 5, answering 200 after the SDK's signature check and JSON parse, with the
// events handed to a no-op. The same load as shokaid's, so the ratio is fair.
//
//   node tests/bench/ref-server.js [PORT]      (or PORT=..., default 0 = any free port)
//   LINE_CHANNEL_SECRET=... or LINE_CHANNEL_SECRET_FILE=path
//   BENCH_NODE_DIR=build/bench-node            where npm installed the dependencies
//
// Prints "listening PORT" on stdout once it accepts connections.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

const nodeDir = path.resolve(process.env.BENCH_NODE_DIR ||
  path.join(__dirname, '..', '..', 'build', 'bench-node'));
const requireDep = createRequire(path.join(nodeDir, 'package.json'));
const express = requireDep('express');
const { middleware } = requireDep('@line/bot-sdk');

let channelSecret = process.env.LINE_CHANNEL_SECRET;
if (!channelSecret && process.env.LINE_CHANNEL_SECRET_FILE) {
  channelSecret = fs.readFileSync(process.env.LINE_CHANNEL_SECRET_FILE, 'utf8').trim();
}
if (!channelSecret) {
  console.error('ref-server: set LINE_CHANNEL_SECRET or LINE_CHANNEL_SECRET_FILE');
  process.exit(2);
}
const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const host = process.env.HOST || '127.0.0.1';

function handleEvent(_event) {
  // no-op: the benchmark measures the webhook path, not a bot
}

const app = express();
app.post('/line/main', middleware({ channelSecret }), (req, res) => {
  for (const ev of req.body.events) handleEvent(ev);
  res.sendStatus(200);
});
// The SDK's errors (bad signature, bad JSON) would otherwise render as 500 HTML pages.
app.use((err, _req, res, _next) => {
  res.status(err.name === 'SignatureValidationFailed' ? 401 : 400).end();
});

const server = app.listen(port, host, (err) => {
  if (err) {
    console.error(`ref-server: ${err.message}`);
    process.exit(1);
  }
  console.log(`listening ${server.address().port}`);
});
server.keepAliveTimeout = 5000;
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => { server.close(); process.exit(0); });
}
