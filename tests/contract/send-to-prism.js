#!/usr/bin/env node
// send-to-prism.js BASE_URL FILE...: replays each dumped request file against a running Prism
// mock and prints one JSON line per file: {"file","name","status","ok","reason"}.
// ok = Prism answered 2xx. reason = Prism's violations (sl-violations header or problem+json
// body) for a non-2xx answer, or the transport error. Used by check.sh.
//
// Request file: {"method","path","headers",{"body": JSON value|null},"body_base64"?,"host"?}
//  * body_base64 (raw bytes, e.g. a rich-menu image) wins over body;
//  * host ("api-data.line.me" or "https://api-data.line.me") is passed to Prism as the
//    `__server` query parameter, so Prism also checks that the operation lives on that server.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');

const TIMEOUT_MS = Number(process.env.CONTRACT_REQUEST_TIMEOUT_MS || 10000);

function violations(res, text) {
	const out = [];
	const h = res.headers['sl-violations'];
	let list = null;
	if (h) {
		try {
			list = JSON.parse(h);
		} catch (e) {
			out.push(h);
		}
	}
	if (!list && /json/.test(res.headers['content-type'] || '')) {
		try {
			const b = JSON.parse(text);
			if (b && Array.isArray(b.validation)) list = b.validation;
			else if (b && (b.title || b.detail)) out.push([b.title, b.detail].filter(Boolean).join(': '));
		} catch (e) { /* not JSON */ }
	}
	for (const v of list || []) {
		const loc = Array.isArray(v.location) ? v.location.join('.') : '';
		out.push(loc ? `${loc}: ${v.message}` : String(v.message));
	}
	if (!out.length && text) out.push(text.slice(0, 200));
	return out.join('; ');
}

function send(base, file) {
	return new Promise((resolve) => {
		const name = path.basename(file);
		const done = (o) => resolve({ file: path.resolve(file), name, ...o });
		let req;
		try {
			req = JSON.parse(fs.readFileSync(file, 'utf8'));
		} catch (e) {
			done({ status: 0, ok: false, reason: `cannot read request file: ${e.message}` });
			return;
		}
		// A full URL in "path" (https://api.line.me/v2/...) is split into host + path: requests
		// only ever go to the local Prism.
		if (req && typeof req.path === 'string' && /^https?:\/\//i.test(req.path)) {
			const u = new URL(req.path);
			if (req.host === undefined) req.host = u.origin;
			req.path = u.pathname + u.search;
		}
		if (!req || typeof req.path !== 'string' || !req.path.startsWith('/') || typeof req.method !== 'string') {
			done({ status: 0, ok: false, reason: 'request file needs "method" and a "path" starting with "/"' });
			return;
		}
		let body = null;
		if (typeof req.body_base64 === 'string') body = Buffer.from(req.body_base64, 'base64');
		else if (req.body !== undefined && req.body !== null) body = Buffer.from(JSON.stringify(req.body), 'utf8');
		const headers = {};
		for (const [k, v] of Object.entries(req.headers || {})) {
			const lk = k.toLowerCase();
			if (lk === 'host' || lk === 'content-length' || lk === 'transfer-encoding' || lk === 'connection') continue;
			headers[k] = String(v);
		}
		if (body) headers['content-length'] = String(body.length);
		let p = req.path;
		if (req.host !== undefined) {
			let h = String(req.host).replace(/\/+$/, '');
			if (!/^[a-z]+:\/\//i.test(h)) h = `https://${h}`;
			p += `${p.includes('?') ? '&' : '?'}__server=${encodeURIComponent(h)}`;
		}
		const url = new URL(base.replace(/\/+$/, '') + p); // p starts with "/": never another origin
		const r = http.request(url, { method: req.method.toUpperCase(), headers, timeout: TIMEOUT_MS }, (res) => {
			const chunks = [];
			res.on('data', (c) => chunks.push(c));
			res.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				const ok = res.statusCode >= 200 && res.statusCode < 300;
				done({ status: res.statusCode, ok, reason: ok ? '' : violations(res, text) });
			});
		});
		r.on('timeout', () => r.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
		r.on('error', (e) => done({ status: 0, ok: false, reason: `request failed: ${e.message}` }));
		if (body) r.write(body);
		r.end();
	});
}

async function main() {
	const [base, ...files] = process.argv.slice(2);
	if (!base || !files.length) {
		console.error('usage: send-to-prism.js BASE_URL FILE...');
		process.exit(2);
	}
	for (const f of files) console.log(JSON.stringify(await send(base, f)));
}

main();
