#!/usr/bin/env node
// validate-messages.js: checks dumped outbound LINE requests against LINE's contract, beyond
// what Prism checks.
//
//   node validate-messages.js [options] PATH...      (PATH = request file or directory of *.json)
//     --prism-results FILE  JSON lines {file,status,ok,reason} from send-to-prism.js; a request
//                           that Prism rejected fails too, and its reason comes first
//     --strict              warnings (properties unknown to the spec, missing retry key, ...)
//                           count as failures (also CONTRACT_STRICT=1)
//     --count=utf16         count every length limit in UTF-16 code units (stricter than LINE,
//                           which counts labels, postback data, template texts... in grapheme
//                           clusters; also CONTRACT_COUNT=utf16)
//     --json                one JSON object per request instead of the text report
//
// Output: "PASS name" or "PASS name (warning: ...)" / "FAIL name: reason; reason" per request,
// then "N passed, N failed". Exit 0 if all passed, 1 if any failed, 2 on usage/setup errors,
// 3 when the npm tooling is missing ("contract: SKIPPED (...)").
//
// What is checked, per request file {method, path, headers, body, body_base64?, host?}:
//  * the operation exists in messaging-api.yml (method + path template), the host (if the file
//    says which) is the operation's server (api.line.me vs api-data.line.me);
//  * headers: Bearer token, JSON content type, X-Line-Retry-Key only where LINE supports it and
//    in UUID form;
//  * path parameters: the spec's schema plus LINE's ID formats (U/C/R + 32 hex);
//  * the JSON body against the operation's request schema, with every `discriminator` resolved
//    (Prism and generic validators ignore it): each message by its `type` (TextMessage,
//    TemplateMessage, FlexMessage, ...), each action by its `type`, template subtypes, Flex
//    components, narrowcast recipients/filters, batch operations...;
//  * the prose limits of shared/docs/line-messaging-api.md (§0, §4, §5, §6, §7, §9) that the
//    OpenAPI file does not carry (see LIMITS below);
//  * binary uploads (rich-menu image): content type, magic bytes, size, pixel dimensions.
'use strict';

const fs = require('fs');
const path = require('path');

const HERE = __dirname;
const TOP = path.resolve(HERE, '..', '..');
const NODE_DIR = process.env.CONTRACT_NODE_DIR || path.join(TOP, 'build', 'contract-node');
const SHARED = process.env.SHOKAI_SHARED || path.resolve(TOP, '..', 'shared');
const SPEC = process.env.CONTRACT_SPEC || path.join(SHARED, 'line-openapi', 'messaging-api.yml');

function need(mod) {
	try {
		return require(path.join(NODE_DIR, 'node_modules', mod));
	} catch (e) {
		console.log(`contract: SKIPPED (${mod} is not installed in ${NODE_DIR}; run tests/contract/setup.sh)`);
		process.exit(3);
	}
}

// ---------------------------------------------------------------------------------------------
// Limits from shared/docs/line-messaging-api.md. "g" = counted in grapheme clusters, "u16" = in
// UTF-16 code units (digest §5 "Character counting"). Byte sizes use decimal MB/KB (1 MB =
// 1,000,000 bytes), which is the conservative reading.
const LIMITS = {
	bodyBytes: 2000000, // §0: request bodies over 2 MB -> 413
	messagesPerCall: 5, // §4.1-4.4, §5
	textU16: 5000, // §5 text / textV2 `text`, UTF-16 units
	textEmojis: 20, // §5 text emojis[]
	v2Substitutions: 100, // §5 textV2
	v2Mentions: 20,
	v2Emojis: 20,
	v2KeyPattern: /^[0-9a-zA-Z_]{1,20}$/,
	senderName: 20, // §5 sender
	urlChars: 2000, // §5 image URL / sender iconUrl / quick reply imageUrl
	altText: 400, // §5 template and flex altText (the task brief said 1500; the digest says 400)
	buttonsTextPlain: 160, // §5 buttons text without image and title
	buttonsTextWithImageOrTitle: 60,
	buttonsTitle: 40,
	buttonsActions: 4,
	confirmText: 240,
	confirmActions: 2,
	carouselColumns: 10,
	carouselColumnActions: 3,
	carouselTextPlain: 120,
	carouselTextWithImageOrTitle: 60,
	carouselTitle: 40, // LINE reference (same as buttons); the digest lists "column text" only
	imageCarouselColumns: 10,
	imageCarouselLabel: 12, // §6
	flexBubbleBytes: 30000, // §5 bubble JSON <= 30 KB
	flexCarouselBytes: 50000, // §5 carousel JSON <= 50 KB
	flexCarouselBubbles: 12,
	quickReplyItems: 13, // §5
	label: 20, // §6 template / quick reply / rich menu labels
	flexLabel: 40, // §6 Flex button (required) and other Flex components (optional)
	postbackData: 300, // §6
	postbackDisplayText: 300,
	fillInText: 300,
	messageActionText: 300,
	uri: 1000, // §6 uri action, altUri.desktop
	clipboardText: 1000,
	datetimeData: 300,
	richMenuWidthMin: 800, // §7.1
	richMenuWidthMax: 2500,
	richMenuHeightMin: 250,
	richMenuRatioMin: 1.45,
	richMenuChatBarText: 14,
	richMenuName: 300,
	richMenuAreas: 20,
	richMenuImageBytes: 1000000, // §7.2 <= 1 MB
	multicastTo: 500, // §4.4
	bulkUserIds: 500, // §7.2
	aliasPattern: /^[a-z0-9_-]{1,32}$/, // §7.3
	webhookEndpoint: 500, // §1
};
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ID_RE = {
	user: /^U[0-9a-f]{32}$/,
	group: /^C[0-9a-f]{32}$/,
	room: /^R[0-9a-f]{32}$/,
	to: /^[UCR][0-9a-f]{32}$/,
};
// Where each action type may appear (§5 quickReply, §6).
const ACTIONS_ALLOWED = {
	template: ['postback', 'message', 'uri', 'datetimepicker', 'clipboard'],
	quickReply: ['postback', 'message', 'uri', 'datetimepicker', 'camera', 'cameraRoll', 'location', 'clipboard'],
	richmenu: ['postback', 'message', 'uri', 'datetimepicker', 'richmenuswitch', 'clipboard'],
	flex: ['postback', 'message', 'uri', 'datetimepicker', 'clipboard'],
};
const URI_SCHEMES = ['http', 'https', 'line', 'tel'];
const MESSAGE_OPS = new Set(['replyMessage', 'pushMessage', 'multicast', 'narrowcast', 'broadcast',
	'validateReply', 'validatePush', 'validateMulticast', 'validateNarrowcast', 'validateBroadcast',
	'pushMessagesByPhone']);
const RETRY_KEY_OPS = new Set(['pushMessage', 'multicast', 'narrowcast', 'broadcast']);

// ---------------------------------------------------------------------------------------------
// Spec loading: OpenAPI 3.0 components -> one JSON-schema document for Ajv (draft 2019-09, for
// unevaluatedProperties), with discriminators turned into if/then dispatchers.

const SCHEMA_PREFIX = '#/components/schemas/';
const IGNORED_KEYS = new Set(['discriminator', 'example', 'examples', 'externalDocs', 'xml', 'nullable']);

function refName(ref) {
	return ref.startsWith(SCHEMA_PREFIX) ? ref.slice(SCHEMA_PREFIX.length) : null;
}

function loadSpec(file) {
	const yaml = need('js-yaml');
	let spec;
	try {
		spec = yaml.load(fs.readFileSync(file, 'utf8'));
	} catch (e) {
		console.error(`contract: cannot read the OpenAPI spec ${file}: ${e.message}`);
		process.exit(2);
	}
	const src = (spec.components && spec.components.schemas) || {};
	const disc = {}; // base name -> {prop, mapping {value: subtype name}}
	for (const [name, s] of Object.entries(src)) {
		if (s && s.discriminator && s.discriminator.mapping) {
			const mapping = {};
			for (const [k, ref] of Object.entries(s.discriminator.mapping)) mapping[k] = refName(ref);
			disc[name] = { prop: s.discriminator.propertyName, mapping };
		}
	}
	const formats = new Set();

	// convert(node, inAllOf): a deep copy with OpenAPI-only keywords removed; `allOf` entries
	// that point at a discriminated base point at its non-dispatching copy NAME__base instead.
	function convert(node, isAllOfEntry) {
		if (Array.isArray(node)) return node.map((x) => convert(x, false));
		if (!node || typeof node !== 'object') return node;
		const out = {};
		for (const [k, v] of Object.entries(node)) {
			if (IGNORED_KEYS.has(k)) continue;
			if (k === '$ref' && typeof v === 'string') {
				const n = refName(v);
				out.$ref = n && isAllOfEntry && disc[n] ? `${SCHEMA_PREFIX}${n}__base` : v;
			} else if (k === 'properties' || k === 'patternProperties' || k === 'definitions') {
				out[k] = {};
				for (const [pk, pv] of Object.entries(v)) out[k][pk] = convert(pv, false);
			} else if (k === 'allOf' && Array.isArray(v)) {
				out.allOf = v.map((x) => convert(x, true));
			} else if (k === 'format' && typeof v === 'string') {
				formats.add(v);
				out.format = v;
			} else {
				out[k] = convert(v, false);
			}
		}
		if (node.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
		return out;
	}

	const schemas = {};
	for (const [name, s] of Object.entries(src)) {
		const c = convert(s, false);
		if (disc[name]) {
			const { prop, mapping } = disc[name];
			schemas[`${name}__base`] = c;
			schemas[name] = {
				type: 'object',
				required: [prop],
				properties: { [prop]: { type: 'string', enum: Object.keys(mapping), 'x-discriminator-of': name } },
				allOf: Object.entries(mapping).map(([k, sub]) => ({
					if: { properties: { [prop]: { const: k } }, required: [prop] },
					then: { $ref: SCHEMA_PREFIX + sub },
				})),
			};
		} else {
			// Named object schemas reject properties the spec does not define; the resulting
			// errors are reported as warnings (typos like "lable"), not failures, unless --strict.
			if (c && typeof c === 'object' && (c.properties || c.allOf) && c.additionalProperties === undefined &&
				(c.type === undefined || c.type === 'object')) {
				c.unevaluatedProperties = false;
			}
			schemas[name] = c;
		}
	}
	const ops = [];
	for (const [p, item] of Object.entries(spec.paths || {})) {
		const shared = item.parameters || [];
		for (const [m, op] of Object.entries(item)) {
			if (!op || typeof op !== 'object' || !op.operationId) continue;
			const params = [...shared, ...(op.parameters || [])];
			const servers = (op.servers || item.servers || spec.servers || []).map((s) => s.url);
			ops.push({
				method: m.toUpperCase(), template: p, segs: p.split('/'), op, params, servers,
				literal: p.split('/').filter((s) => !s.startsWith('{')).length,
			});
		}
	}
	// Formats used anywhere (parameters too), so Ajv knows them all.
	(function walk(n) {
		if (Array.isArray(n)) n.forEach(walk);
		else if (n && typeof n === 'object') {
			if (typeof n.format === 'string' && (n.type === 'string' || n.type === 'integer' || n.type === 'number')) formats.add(n.format);
			Object.values(n).forEach(walk);
		}
	}(spec.paths));
	return { spec, schemas, disc, ops, formats };
}

function buildAjv(model) {
	const Ajv2019 = need('ajv/dist/2019');
	const addFormats = need('ajv-formats');
	const Ajv = Ajv2019.default || Ajv2019;
	const ajv = new Ajv({ strict: false, allErrors: true, verbose: true, validateFormats: true });
	(addFormats.default || addFormats)(ajv);
	for (const f of model.formats) {
		if (ajv.formats[f]) continue;
		if (f === 'int32') ajv.addFormat(f, { type: 'number', validate: (n) => Number.isInteger(n) && n >= -2147483648 && n <= 2147483647 });
		else if (f === 'int64') ajv.addFormat(f, { type: 'number', validate: (n) => Number.isInteger(n) });
		else if (f.startsWith('^')) ajv.addFormat(f, new RegExp(f)); // the spec uses a regex as a format once
		else ajv.addFormat(f, true); // double, float, binary, byte...
	}
	ajv.addSchema({ $id: 'line', components: { schemas: model.schemas } });
	return ajv;
}

// ---------------------------------------------------------------------------------------------
// Helpers

let COUNT_MODE = process.env.CONTRACT_COUNT === 'utf16' ? 'utf16' : 'line';
const segmenter = new Intl.Segmenter('und', { granularity: 'grapheme' });

function graphemes(s) {
	let n = 0;
	for (const _ of segmenter.segment(s)) n++; // eslint-disable-line no-unused-vars
	return n;
}

// jp(path, key): JSON-path-ish join: messages[1].template.actions[0].label
function jp(base, key) {
	if (typeof key === 'number') return `${base}[${key}]`;
	const k = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : JSON.stringify(key);
	if (!base) return /^[A-Za-z_$]/.test(k) ? k : `[${k}]`;
	return /^[A-Za-z_$]/.test(k) ? `${base}.${k}` : `${base}[${k}]`;
}

function pointerToPath(ptr, prefix) {
	let p = prefix || '';
	if (!ptr) return p || '(body)';
	for (const raw of ptr.split('/').slice(1)) {
		const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
		p = jp(p, /^\d+$/.test(seg) ? Number(seg) : seg);
	}
	return p;
}

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v) => {
	const s = JSON.stringify(v);
	return s && s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

class Report {
	constructor() {
		this.errors = [];
		this.warnings = [];
		this.errorPaths = new Set();
	}
	err(p, msg) {
		this.errors.push(p ? `${p}: ${msg}` : msg);
		if (p) this.errorPaths.add(p);
	}
	warn(p, msg) {
		this.warnings.push(p ? `${p}: ${msg}` : msg);
	}
	// maxLen(path, value, max, unit): unit "u16" (always UTF-16) or "g" (grapheme clusters,
	// or UTF-16 with --count=utf16).
	maxLen(p, v, max, unit) {
		if (typeof v !== 'string') return;
		const u16 = unit === 'u16' || COUNT_MODE === 'utf16';
		const n = u16 ? v.length : graphemes(v);
		if (n > max) this.err(p, `${n} ${u16 ? 'UTF-16 units' : 'grapheme clusters'} > ${max}`);
	}
	required(obj, key, p, what) {
		const v = obj[key];
		if (v === undefined || v === null || v === '') {
			this.err(jp(p, key), `required${what ? ` (${what})` : ''}`);
			return false;
		}
		return true;
	}
}

// checkUrl: percent-encoded UTF-8, allowed schemes, length in characters.
function checkUrl(r, p, v, { max = LIMITS.urlChars, https = true, schemes = null } = {}) {
	if (typeof v !== 'string') return;
	if (v.length > max) r.err(p, `URL of ${v.length} characters > ${max}`);
	const m = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(v);
	if (!m) {
		r.err(p, `not an absolute URL: ${show(v)}`);
		return;
	}
	const scheme = m[1].toLowerCase();
	if (https && scheme !== 'https') r.err(p, `must be an https URL, got ${show(v)}`);
	if (schemes && !schemes.includes(scheme)) r.err(p, `URI scheme "${scheme}" not allowed (allowed: ${schemes.join(', ')})`);
	if (schemes && scheme === 'line') r.warn(p, 'line:// URLs are deprecated; use https://line.me/R/...');
	// eslint-disable-next-line no-control-regex
	if (/[^\x21-\x7e]/.test(v)) r.err(p, 'URL must be percent-encoded (spaces or non-ASCII characters found)');
	else {
		try {
			decodeURI(v.replace(/%(?![0-9A-Fa-f]{2})/g, '%25'));
			if (/%(?![0-9A-Fa-f]{2})/.test(v)) r.err(p, 'stray "%" not followed by two hex digits');
		} catch (e) {
			r.err(p, 'percent-encoding is not valid UTF-8');
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Actions (§6)

const DT_RE = {
	date: /^(\d{4})-(\d{2})-(\d{2})$/,
	time: /^(\d{2}):(\d{2})$/,
	datetime: /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})$/,
};

function checkDatetime(r, p, a) {
	const re = DT_RE[a.mode];
	if (!re) return; // mode errors come from the schema (enum) or the required check
	const norm = {};
	for (const k of ['initial', 'min', 'max']) {
		const v = a[k];
		if (v === undefined) continue;
		if (typeof v !== 'string' || !re.test(v)) {
			r.err(jp(p, k), `${show(v)} is not a ${a.mode} value (${a.mode === 'date' ? 'YYYY-MM-DD' : a.mode === 'time' ? 'HH:mm' : 'YYYY-MM-DDTHH:mm'})`);
			continue;
		}
		const n = v.replace('t', 'T');
		if (a.mode !== 'time') {
			const [, y, mo, d] = re.exec(v).map(Number);
			const dt = new Date(Date.UTC(y, mo - 1, d));
			if (dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) r.err(jp(p, k), `${v} is not a calendar date`);
			if (n.slice(0, 10) < '1900-01-01' || n.slice(0, 10) > '2100-12-31') r.err(jp(p, k), `${v} outside 1900-01-01..2100-12-31`);
		}
		const t = a.mode === 'date' ? null : n.slice(-5);
		if (t && (Number(t.slice(0, 2)) > 23 || Number(t.slice(3)) > 59)) r.err(jp(p, k), `${v}: time outside 00:00..23:59`);
		norm[k] = n;
	}
	if (norm.min && norm.max && norm.min >= norm.max) r.err(jp(p, 'min'), `min ${norm.min} must be before max ${norm.max}`);
	if (norm.initial && norm.min && norm.initial < norm.min) r.err(jp(p, 'initial'), `initial ${norm.initial} is before min ${norm.min}`);
	if (norm.initial && norm.max && norm.initial > norm.max) r.err(jp(p, 'initial'), `initial ${norm.initial} is after max ${norm.max}`);
}

// checkAction(r, path, action, where, labelRule): where in ACTIONS_ALLOWED; labelRule =
// {required, max}.
function checkAction(r, p, a, where, labelRule) {
	if (!isObj(a)) return; // schema reports it
	const t = a.type;
	if (typeof t !== 'string') return;
	const known = ACTIONS_ALLOWED.quickReply.includes(t) || ACTIONS_ALLOWED.richmenu.includes(t);
	if (known && !ACTIONS_ALLOWED[where].includes(t)) { // unknown types: the schema dispatcher reports them
		const extra = t === 'richmenuswitch' ? ' (rich menus only)' : ['camera', 'cameraRoll', 'location'].includes(t) ? ' (quick reply only)' : '';
		r.err(jp(p, 'type'), `action type "${t}" is not allowed in ${where === 'richmenu' ? 'a rich menu' : where === 'quickReply' ? 'a quick reply' : `a ${where}`}${extra}`);
	}
	if (labelRule) {
		if (labelRule.required && (a.label === undefined || a.label === '')) r.err(jp(p, 'label'), `required (${labelRule.why})`);
		r.maxLen(jp(p, 'label'), a.label, labelRule.max, 'g');
	}
	switch (t) {
	case 'postback':
		r.required(a, 'data', p);
		r.maxLen(jp(p, 'data'), a.data, LIMITS.postbackData, 'g');
		r.maxLen(jp(p, 'displayText'), a.displayText, LIMITS.postbackDisplayText, 'g');
		if (a.displayText !== undefined && a.text !== undefined) r.err(p, 'displayText and text cannot be used together');
		if (a.text !== undefined) r.warn(jp(p, 'text'), 'postback "text" is deprecated; use displayText');
		r.maxLen(jp(p, 'fillInText'), a.fillInText, LIMITS.fillInText, 'g');
		if (a.fillInText !== undefined && a.inputOption !== 'openKeyboard') r.err(jp(p, 'fillInText'), 'only allowed with inputOption "openKeyboard"');
		break;
	case 'message':
		r.required(a, 'text', p);
		r.maxLen(jp(p, 'text'), a.text, LIMITS.messageActionText, 'g');
		break;
	case 'uri':
		if (r.required(a, 'uri', p)) checkUrl(r, jp(p, 'uri'), a.uri, { max: LIMITS.uri, https: false, schemes: URI_SCHEMES });
		if (a.altUri !== undefined) {
			if (where !== 'flex') r.warn(jp(p, 'altUri'), 'altUri is only honoured in Flex messages');
			if (isObj(a.altUri) && a.altUri.desktop !== undefined) {
				checkUrl(r, jp(jp(p, 'altUri'), 'desktop'), a.altUri.desktop, { max: LIMITS.uri, https: false, schemes: URI_SCHEMES });
			}
		}
		break;
	case 'datetimepicker':
		r.required(a, 'data', p);
		r.maxLen(jp(p, 'data'), a.data, LIMITS.datetimeData, 'g');
		r.required(a, 'mode', p);
		checkDatetime(r, p, a);
		break;
	case 'richmenuswitch':
		if (r.required(a, 'richMenuAliasId', p) && typeof a.richMenuAliasId === 'string' && !LIMITS.aliasPattern.test(a.richMenuAliasId)) {
			r.err(jp(p, 'richMenuAliasId'), `${show(a.richMenuAliasId)} does not match ^[a-z0-9_-]{1,32}$`);
		}
		r.required(a, 'data', p);
		r.maxLen(jp(p, 'data'), a.data, LIMITS.postbackData, 'g');
		break;
	case 'clipboard':
		r.required(a, 'clipboardText', p);
		r.maxLen(jp(p, 'clipboardText'), a.clipboardText, LIMITS.clipboardText, 'g');
		break;
	default:
		break;
	}
}

// ---------------------------------------------------------------------------------------------
// Messages (§5)

function checkQuickReply(r, p, qr) {
	if (!isObj(qr)) return;
	if (!Array.isArray(qr.items)) {
		r.err(jp(p, 'items'), 'required (array of 1..13 quick reply buttons)');
		return;
	}
	if (qr.items.length > LIMITS.quickReplyItems) r.err(jp(p, 'items'), `${qr.items.length} items > ${LIMITS.quickReplyItems}`);
	if (qr.items.length === 0) r.err(jp(p, 'items'), 'empty (1..13 items)');
	qr.items.forEach((it, i) => {
		const ip = jp(jp(p, 'items'), i);
		if (!isObj(it)) return;
		if (it.type !== 'action') r.err(jp(ip, 'type'), `must be "action", got ${show(it.type)}`);
		if (it.imageUrl !== undefined) checkUrl(r, jp(ip, 'imageUrl'), it.imageUrl, { max: LIMITS.urlChars });
		if (!r.required(it, 'action', ip)) return;
		checkAction(r, jp(ip, 'action'), it.action, 'quickReply', { required: true, max: LIMITS.label, why: 'quick reply button label' });
	});
}

function checkTemplate(r, p, t) {
	if (!isObj(t)) return;
	const tplLabel = { required: true, max: LIMITS.label, why: 'template action label' };
	const defLabel = { required: false, max: LIMITS.label };
	const enums = (o, op) => {
		if (o.imageAspectRatio !== undefined && !['rectangle', 'square'].includes(o.imageAspectRatio)) r.err(jp(op, 'imageAspectRatio'), `must be "rectangle" or "square", got ${show(o.imageAspectRatio)}`);
		if (o.imageSize !== undefined && !['cover', 'contain'].includes(o.imageSize)) r.err(jp(op, 'imageSize'), `must be "cover" or "contain", got ${show(o.imageSize)}`);
	};
	const actionList = (o, op, min, max, what) => {
		if (!Array.isArray(o.actions)) return;
		const n = o.actions.length;
		if (n > max) r.err(jp(op, 'actions'), `${n} actions > ${max} (${what})`);
		if (n < min) r.err(jp(op, 'actions'), min === max ? `${n} actions, must be exactly ${min} (${what})` : `${n} actions, needs at least ${min}`);
		o.actions.forEach((a, i) => checkAction(r, jp(jp(op, 'actions'), i), a, 'template', tplLabel));
	};
	switch (t.type) {
	case 'buttons': {
		const withImg = t.thumbnailImageUrl !== undefined || t.title !== undefined;
		r.maxLen(jp(p, 'text'), t.text, withImg ? LIMITS.buttonsTextWithImageOrTitle : LIMITS.buttonsTextPlain, 'g');
		r.maxLen(jp(p, 'title'), t.title, LIMITS.buttonsTitle, 'g');
		if (t.thumbnailImageUrl !== undefined) checkUrl(r, jp(p, 'thumbnailImageUrl'), t.thumbnailImageUrl);
		enums(t, p);
		if (t.defaultAction !== undefined) checkAction(r, jp(p, 'defaultAction'), t.defaultAction, 'template', defLabel);
		actionList(t, p, 1, LIMITS.buttonsActions, 'buttons template');
		break;
	}
	case 'confirm':
		r.maxLen(jp(p, 'text'), t.text, LIMITS.confirmText, 'g');
		actionList(t, p, LIMITS.confirmActions, LIMITS.confirmActions, 'confirm template');
		break;
	case 'carousel': {
		enums(t, p);
		if (!Array.isArray(t.columns)) break;
		if (t.columns.length > LIMITS.carouselColumns) r.err(jp(p, 'columns'), `${t.columns.length} columns > ${LIMITS.carouselColumns}`);
		if (t.columns.length === 0) r.err(jp(p, 'columns'), 'empty (1..10 columns)');
		const counts = new Set();
		t.columns.forEach((c, i) => {
			const cp = jp(jp(p, 'columns'), i);
			if (!isObj(c)) return;
			const withImg = c.thumbnailImageUrl !== undefined || c.title !== undefined;
			r.maxLen(jp(cp, 'text'), c.text, withImg ? LIMITS.carouselTextWithImageOrTitle : LIMITS.carouselTextPlain, 'g');
			r.maxLen(jp(cp, 'title'), c.title, LIMITS.carouselTitle, 'g');
			if (c.thumbnailImageUrl !== undefined) checkUrl(r, jp(cp, 'thumbnailImageUrl'), c.thumbnailImageUrl);
			if (c.defaultAction !== undefined) checkAction(r, jp(cp, 'defaultAction'), c.defaultAction, 'template', defLabel);
			actionList(c, cp, 1, LIMITS.carouselColumnActions, 'carousel column');
			if (Array.isArray(c.actions)) counts.add(c.actions.length);
		});
		if (counts.size > 1) r.err(jp(p, 'columns'), `every column must have the same number of actions (found ${[...counts].join(', ')})`);
		const titled = new Set(t.columns.filter(isObj).map((c) => c.title !== undefined));
		const imaged = new Set(t.columns.filter(isObj).map((c) => c.thumbnailImageUrl !== undefined));
		if (titled.size > 1) r.warn(jp(p, 'columns'), 'title is set on some columns only (LINE requires it on all or none)');
		if (imaged.size > 1) r.warn(jp(p, 'columns'), 'thumbnailImageUrl is set on some columns only (LINE requires it on all or none)');
		break;
	}
	case 'image_carousel':
		if (!Array.isArray(t.columns)) break;
		if (t.columns.length > LIMITS.imageCarouselColumns) r.err(jp(p, 'columns'), `${t.columns.length} columns > ${LIMITS.imageCarouselColumns}`);
		if (t.columns.length === 0) r.err(jp(p, 'columns'), 'empty (1..10 columns)');
		t.columns.forEach((c, i) => {
			const cp = jp(jp(p, 'columns'), i);
			if (!isObj(c)) return;
			checkUrl(r, jp(cp, 'imageUrl'), c.imageUrl);
			checkAction(r, jp(cp, 'action'), c.action, 'template', { required: false, max: LIMITS.imageCarouselLabel });
		});
		break;
	default:
		break; // unknown template types are reported by the schema dispatcher
	}
}

function walkFlex(r, p, comp, depth) {
	if (!isObj(comp) || depth > 50) return;
	if (comp.action !== undefined) {
		const isButton = comp.type === 'button';
		checkAction(r, jp(p, 'action'), comp.action, 'flex',
			{ required: isButton, max: LIMITS.flexLabel, why: 'Flex button label' });
	}
	for (const k of ['url', 'previewUrl']) if (typeof comp[k] === 'string') checkUrl(r, jp(p, k), comp[k]);
	if (Array.isArray(comp.contents)) comp.contents.forEach((c, i) => walkFlex(r, jp(jp(p, 'contents'), i), c, depth + 1));
	if (isObj(comp.altContent)) walkFlex(r, jp(p, 'altContent'), comp.altContent, depth + 1);
}

function checkFlexBubble(r, p, b) {
	if (!isObj(b)) return;
	for (const block of ['header', 'hero', 'body', 'footer']) if (isObj(b[block])) walkFlex(r, jp(p, block), b[block], 0);
	if (b.action !== undefined) checkAction(r, jp(p, 'action'), b.action, 'flex', { required: false, max: LIMITS.flexLabel });
}

function checkFlex(r, p, m) {
	r.maxLen(jp(p, 'altText'), m.altText, LIMITS.altText, 'g');
	const c = m.contents;
	if (!isObj(c)) return;
	const cp = jp(p, 'contents');
	const bytes = Buffer.byteLength(JSON.stringify(c), 'utf8');
	if (c.type === 'bubble') {
		if (bytes > LIMITS.flexBubbleBytes) r.err(cp, `bubble JSON is ${bytes} bytes > ${LIMITS.flexBubbleBytes} (30 KB)`);
		checkFlexBubble(r, cp, c);
	} else if (c.type === 'carousel') {
		if (bytes > LIMITS.flexCarouselBytes) r.err(cp, `carousel JSON is ${bytes} bytes > ${LIMITS.flexCarouselBytes} (50 KB)`);
		if (!Array.isArray(c.contents)) return;
		if (c.contents.length > LIMITS.flexCarouselBubbles) r.err(jp(cp, 'contents'), `${c.contents.length} bubbles > ${LIMITS.flexCarouselBubbles}`);
		if (c.contents.length === 0) r.err(jp(cp, 'contents'), 'empty (1..12 bubbles)');
		const sizes = new Set(c.contents.filter(isObj).map((b) => b.size || 'mega'));
		if (sizes.size > 1) r.err(jp(cp, 'contents'), `bubbles of one carousel must have the same size (found ${[...sizes].join(', ')})`);
		c.contents.forEach((b, i) => {
			const bp = jp(jp(cp, 'contents'), i);
			const bb = isObj(b) ? Buffer.byteLength(JSON.stringify(b), 'utf8') : 0;
			if (bb > LIMITS.flexBubbleBytes) r.err(bp, `bubble JSON is ${bb} bytes > ${LIMITS.flexBubbleBytes} (30 KB)`);
			checkFlexBubble(r, bp, b);
		});
	}
}

function checkTextV2(r, p, m) {
	r.maxLen(jp(p, 'text'), m.text, LIMITS.textU16, 'u16');
	if (!isObj(m.substitution)) return;
	const sp = jp(p, 'substitution');
	const keys = Object.keys(m.substitution);
	if (keys.length > LIMITS.v2Substitutions) r.err(sp, `${keys.length} substitution objects > ${LIMITS.v2Substitutions}`);
	let mentions = 0;
	let emojis = 0;
	for (const k of keys) {
		if (!LIMITS.v2KeyPattern.test(k)) r.err(jp(sp, k), 'substitution key must match [0-9a-zA-Z_]{1,20}');
		const v = m.substitution[k];
		if (isObj(v) && v.type === 'mention') mentions++;
		if (isObj(v) && v.type === 'emoji') emojis++;
	}
	if (mentions > LIMITS.v2Mentions) r.err(sp, `${mentions} mentions > ${LIMITS.v2Mentions}`);
	if (emojis > LIMITS.v2Emojis) r.err(sp, `${emojis} emoji > ${LIMITS.v2Emojis}`);
	if (typeof m.text === 'string') {
		const used = new Set();
		const stripped = m.text.replace(/\{\{|\}\}/g, '');
		for (const mm of stripped.matchAll(/\{([^{}]*)\}/g)) used.add(mm[1]);
		for (const k of used) if (!keys.includes(k)) r.warn(jp(p, 'text'), `placeholder {${k}} has no substitution`);
	}
}

function checkMessage(r, p, m, isLast, anyQuickReplyLater) {
	if (!isObj(m)) return;
	if (m.quickReply !== undefined) {
		checkQuickReply(r, jp(p, 'quickReply'), m.quickReply);
		if (!isLast && anyQuickReplyLater) r.warn(jp(p, 'quickReply'), 'only the last message\'s quickReply is shown');
	}
	if (isObj(m.sender)) {
		const sp = jp(p, 'sender');
		r.maxLen(jp(sp, 'name'), m.sender.name, LIMITS.senderName, 'g');
		if (typeof m.sender.name === 'string' && /\bLINE\b/i.test(m.sender.name)) r.warn(jp(sp, 'name'), 'words such as "LINE" are not allowed in sender names');
		if (m.sender.iconUrl !== undefined) checkUrl(r, jp(sp, 'iconUrl'), m.sender.iconUrl);
	}
	switch (m.type) {
	case 'text':
		if (typeof m.text === 'string') {
			if (m.text.length === 0) r.err(jp(p, 'text'), 'may not be empty');
			r.maxLen(jp(p, 'text'), m.text, LIMITS.textU16, 'u16');
		}
		if (Array.isArray(m.emojis)) {
			if (m.emojis.length > LIMITS.textEmojis) r.err(jp(p, 'emojis'), `${m.emojis.length} emojis > ${LIMITS.textEmojis}`);
			m.emojis.forEach((e, i) => {
				const ep = jp(jp(p, 'emojis'), i);
				if (!isObj(e)) return;
				r.required(e, 'productId', ep);
				r.required(e, 'emojiId', ep);
				if (Number.isInteger(e.index) && typeof m.text === 'string' && m.text[e.index] !== '$') {
					r.err(jp(ep, 'index'), `UTF-16 position ${e.index} of text is ${show(m.text[e.index] === undefined ? null : m.text[e.index])}, not a "$" placeholder`);
				}
			});
		}
		break;
	case 'textV2':
		checkTextV2(r, p, m);
		break;
	case 'image':
	case 'video':
		if (m.originalContentUrl !== undefined) checkUrl(r, jp(p, 'originalContentUrl'), m.originalContentUrl);
		if (m.previewImageUrl !== undefined) checkUrl(r, jp(p, 'previewImageUrl'), m.previewImageUrl);
		break;
	case 'audio':
		if (m.originalContentUrl !== undefined) checkUrl(r, jp(p, 'originalContentUrl'), m.originalContentUrl);
		break;
	case 'imagemap':
		if (m.baseUrl !== undefined) checkUrl(r, jp(p, 'baseUrl'), m.baseUrl);
		r.maxLen(jp(p, 'altText'), m.altText, LIMITS.altText, 'g');
		if (Array.isArray(m.actions)) {
			m.actions.forEach((a, i) => {
				if (isObj(a) && a.type === 'uri' && typeof a.linkUri === 'string') {
					checkUrl(r, jp(jp(jp(p, 'actions'), i), 'linkUri'), a.linkUri, { max: LIMITS.uri, https: false, schemes: URI_SCHEMES });
				}
			});
		}
		break;
	case 'template':
		r.maxLen(jp(p, 'altText'), m.altText, LIMITS.altText, 'g');
		checkTemplate(r, jp(p, 'template'), m.template);
		break;
	case 'flex':
		checkFlex(r, p, m);
		break;
	default:
		break;
	}
}

function checkMessages(r, msgs) {
	if (!Array.isArray(msgs)) return;
	if (msgs.length > LIMITS.messagesPerCall) r.err('messages', `${msgs.length} messages > ${LIMITS.messagesPerCall} per call`);
	if (msgs.length === 0) r.err('messages', 'empty (1..5 messages per call)');
	msgs.forEach((m, i) => {
		const later = msgs.slice(i + 1).some((x) => isObj(x) && x.quickReply !== undefined);
		checkMessage(r, jp('messages', i), m, i === msgs.length - 1, later);
	});
}

// ---------------------------------------------------------------------------------------------
// Rich menus (§7)

function checkRichMenu(r, b) {
	if (!isObj(b)) return;
	for (const k of ['size', 'selected', 'name', 'chatBarText', 'areas']) {
		if (b[k] === undefined) r.err(k, 'required (all five top-level rich menu fields are)');
	}
	const s = b.size;
	if (isObj(s) && Number.isInteger(s.width) && Number.isInteger(s.height)) {
		if (s.width < LIMITS.richMenuWidthMin || s.width > LIMITS.richMenuWidthMax) r.err('size.width', `${s.width} outside ${LIMITS.richMenuWidthMin}..${LIMITS.richMenuWidthMax}`);
		if (s.height < LIMITS.richMenuHeightMin) r.err('size.height', `${s.height} < ${LIMITS.richMenuHeightMin}`);
		if (s.height > 0 && s.width / s.height < LIMITS.richMenuRatioMin) r.err('size', `width/height ${(s.width / s.height).toFixed(3)} < ${LIMITS.richMenuRatioMin}`);
	}
	r.maxLen('name', b.name, LIMITS.richMenuName, 'g');
	r.maxLen('chatBarText', b.chatBarText, LIMITS.richMenuChatBarText, 'g');
	if (!Array.isArray(b.areas)) return;
	if (b.areas.length > LIMITS.richMenuAreas) r.err('areas', `${b.areas.length} areas > ${LIMITS.richMenuAreas}`);
	b.areas.forEach((a, i) => {
		const ap = jp('areas', i);
		if (!isObj(a)) return;
		r.required(a, 'bounds', ap);
		const bo = a.bounds;
		if (isObj(bo)) {
			for (const k of ['x', 'y', 'width', 'height']) if (bo[k] === undefined) r.err(jp(jp(ap, 'bounds'), k), 'required');
			if (isObj(s) && [bo.x, bo.y, bo.width, bo.height, s.width, s.height].every(Number.isInteger) &&
				(bo.x + bo.width > s.width || bo.y + bo.height > s.height)) {
				r.warn(jp(ap, 'bounds'), `area ${bo.x},${bo.y} ${bo.width}x${bo.height} extends past the ${s.width}x${s.height} menu`);
			}
		}
		if (r.required(a, 'action', ap)) checkAction(r, jp(ap, 'action'), a.action, 'richmenu', { required: false, max: LIMITS.label });
	});
}

// ---------------------------------------------------------------------------------------------
// Binary bodies: rich-menu image (§7.2)

function imageInfo(buf) {
	if (buf.length >= 24 && buf.slice(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
		return { type: 'image/png', width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
	}
	if (buf.length >= 4 && buf[0] === 0xff && buf[1] === 0xd8) {
		let i = 2;
		while (i + 9 < buf.length) {
			if (buf[i] !== 0xff) return { type: 'image/jpeg' };
			const marker = buf[i + 1];
			if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01 || marker === 0xff) {
				i += marker === 0xff ? 1 : 2;
				continue;
			}
			const len = buf.readUInt16BE(i + 2);
			if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
				return { type: 'image/jpeg', height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
			}
			i += 2 + len;
		}
		return { type: 'image/jpeg' };
	}
	return { type: null };
}

function checkRichMenuImage(r, req, headers) {
	const ct = (headers['content-type'] || '').split(';')[0].trim().toLowerCase();
	if (ct !== 'image/jpeg' && ct !== 'image/png') r.err('header content-type', `must be image/jpeg or image/png for a rich-menu image (LINE answers 415), got ${show(headers['content-type'] || null)}`);
	if (typeof req.body_base64 !== 'string') {
		r.err('body_base64', 'a rich-menu image upload needs the raw image bytes (body_base64)');
		return;
	}
	const buf = Buffer.from(req.body_base64, 'base64');
	if (buf.length === 0) {
		r.err('body_base64', 'empty image');
		return;
	}
	if (buf.length > LIMITS.richMenuImageBytes) r.err('body_base64', `image of ${buf.length} bytes > ${LIMITS.richMenuImageBytes} (1 MB)`);
	const info = imageInfo(buf);
	if (!info.type) {
		r.err('body_base64', 'not a JPEG or PNG image');
		return;
	}
	if ((ct === 'image/jpeg' || ct === 'image/png') && info.type !== ct) r.err('header content-type', `says ${ct} but the bytes are ${info.type}`);
	if (info.width && info.height) {
		const { width: w, height: h } = info;
		if (w < LIMITS.richMenuWidthMin || w > LIMITS.richMenuWidthMax) r.err('body_base64', `image width ${w} px outside ${LIMITS.richMenuWidthMin}..${LIMITS.richMenuWidthMax}`);
		if (h < LIMITS.richMenuHeightMin) r.err('body_base64', `image height ${h} px < ${LIMITS.richMenuHeightMin}`);
		if (w / h < LIMITS.richMenuRatioMin) r.err('body_base64', `image ratio ${(w / h).toFixed(3)} < ${LIMITS.richMenuRatioMin}`);
	} else {
		r.warn('body_base64', `could not read the ${info.type} pixel size`);
	}
}

// ---------------------------------------------------------------------------------------------
// One request

function findOperation(model, method, pathname) {
	const segs = pathname.split('/');
	let best = null;
	let pathOnly = false;
	for (const o of model.ops) {
		if (o.segs.length !== segs.length) continue;
		const params = {};
		let ok = true;
		for (let i = 0; i < segs.length && ok; i++) {
			const t = o.segs[i];
			if (t.startsWith('{') && t.endsWith('}')) {
				if (segs[i] === '') ok = false;
				else params[t.slice(1, -1)] = decodeURIComponent(segs[i]);
			} else if (t !== segs[i]) ok = false;
		}
		if (!ok) continue;
		pathOnly = true;
		if (o.method !== method) continue;
		if (!best || o.literal > best.o.literal) best = { o, params };
	}
	return { best, pathOnly };
}

function checkIdParam(r, name, v) {
	const p = `path ${name}`;
	if (name === 'userId' && !ID_RE.user.test(v)) r.err(p, `${show(v)} is not a user ID (U + 32 hex)`);
	if (name === 'groupId' && !ID_RE.group.test(v)) r.err(p, `${show(v)} is not a group ID (C + 32 hex)`);
	if (name === 'roomId' && !ID_RE.room.test(v)) r.err(p, `${show(v)} is not a room ID (R + 32 hex)`);
	if (name === 'richMenuAliasId' && !LIMITS.aliasPattern.test(v)) r.err(p, `${show(v)} does not match ^[a-z0-9_-]{1,32}$`);
	if (name === 'richMenuId' && !/^richmenu-[0-9a-zA-Z]+$/.test(v)) r.warn(p, `${show(v)} does not look like a rich menu ID (richmenu-...)`);
}

function formatAjvError(e, model) {
	const p = pointerToPath(e.instancePath, '');
	const ps = e.parentSchema || {};
	if (e.keyword === 'enum' && ps['x-discriminator-of']) {
		return [p, `unknown ${ps['x-discriminator-of']} type ${show(e.data)} (one of: ${e.params.allowedValues.join(', ')})`];
	}
	switch (e.keyword) {
	case 'required':
		return [jp(p === '(body)' ? '' : p, e.params.missingProperty), 'required property missing'];
	case 'unevaluatedProperties':
		return [jp(p === '(body)' ? '' : p, e.params.unevaluatedProperty), 'property not defined in the spec'];
	case 'maxLength':
	case 'minLength':
		return [p, `${e.message} (spec ${e.keyword} ${e.params.limit}, got ${typeof e.data === 'string' ? [...e.data].length : '?'})`];
	case 'maxItems':
	case 'minItems':
		return [p, `${e.message} (got ${Array.isArray(e.data) ? e.data.length : '?'})`];
	case 'enum':
		return [p, `${show(e.data)} is not one of: ${e.params.allowedValues.join(', ')}`];
	case 'type':
		return [p, `must be ${e.params.type}, got ${e.data === null ? 'null' : Array.isArray(e.data) ? 'array' : typeof e.data}`];
	case 'format':
		return [p, `${show(e.data)} is not a valid ${e.params.format}`];
	case 'pattern':
		return [p, `${show(e.data)} does not match ${e.params.pattern}`];
	default:
		return [p, e.message];
	}
}

function validateRequest(model, ajv, validators, req, name) {
	const r = new Report();
	if (!isObj(req)) {
		r.err('', 'request file must hold a JSON object');
		return r;
	}
	const method = typeof req.method === 'string' ? req.method.toUpperCase() : null;
	if (!method) r.err('method', 'required');
	if (typeof req.path === 'string' && /^https?:\/\//i.test(req.path)) {
		const u = new URL(req.path);
		if (req.host === undefined) req.host = u.origin;
		req.path = u.pathname + u.search;
	}
	if (typeof req.path !== 'string' || !req.path.startsWith('/')) {
		r.err('path', 'required, must start with "/"');
		return r;
	}
	if (req.method !== undefined && req.method !== method) r.warn('method', 'should be upper case');
	const headers = {};
	if (req.headers !== undefined && !isObj(req.headers)) r.err('headers', 'must be an object');
	for (const [k, v] of Object.entries(isObj(req.headers) ? req.headers : {})) headers[k.toLowerCase()] = String(v);
	const [pathname] = req.path.split('?');
	if (!method) return r;
	const { best, pathOnly } = findOperation(model, method, pathname);
	if (!best) {
		r.err('', pathOnly ? `${method} is not defined for ${pathname} in the spec` : `no operation ${method} ${pathname} in the spec`);
		return r;
	}
	const { o, params } = best;
	const opId = o.op.operationId;

	// Host: only when the dump says which base URL was used.
	if (req.host !== undefined) {
		let host = String(req.host);
		if (!/^[a-z]+:\/\//i.test(host)) host = `https://${host}`;
		host = host.replace(/\/+$/, '');
		if (!o.servers.includes(host)) r.err('host', `${opId} is served by ${o.servers.join(' ')}, not ${host}`);
	}

	// Headers.
	if (!/^Bearer \S+$/.test(headers.authorization || '')) r.err('header authorization', 'must be "Bearer <channel access token>"');
	const rk = headers['x-line-retry-key'];
	if (rk !== undefined) {
		if (!RETRY_KEY_OPS.has(opId)) r.err('header x-line-retry-key', `not supported by ${opId} (LINE answers 400; only push, multicast, narrowcast, broadcast)`);
		else if (!UUID_RE.test(rk)) r.err('header x-line-retry-key', `${show(rk)} is not a UUID in hex form`);
	} else if (RETRY_KEY_OPS.has(opId)) {
		r.warn('header x-line-retry-key', 'missing: this request cannot be retried safely (digest §4.3)');
	}

	// Path parameters.
	for (const prm of o.params) {
		if (prm.in !== 'path') continue;
		const v = params[prm.name];
		if (v === undefined) continue;
		checkIdParam(r, prm.name, v);
	}

	// Query parameters (Prism checks them too, but e.g. not the spec's regex-as-format).
	const query = new URLSearchParams(req.path.includes('?') ? req.path.slice(req.path.indexOf('?') + 1) : '');
	const known = new Set();
	for (const prm of o.params) {
		if (prm.in !== 'query') continue;
		known.add(prm.name);
		const raw = query.get(prm.name);
		if (raw === null) {
			if (prm.required) r.err(`query ${prm.name}`, 'required');
			continue;
		}
		const sch = prm.schema || {};
		const val = (sch.type === 'integer' || sch.type === 'number') && raw.trim() !== '' && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
		const key = `param:${JSON.stringify(sch)}`;
		let pv = validators.get(key);
		if (!pv) {
			pv = ajv.compile(sch);
			validators.set(key, pv);
		}
		if (/yyyyMMdd/.test(prm.description || '') && !/^[0-9]{8}$/.test(raw)) {
			r.err(`query ${prm.name}`, `${show(raw)} is not yyyyMMdd (spec description)`);
		} else if (!pv(val)) {
			for (const e of pv.errors) {
				const [, msg] = formatAjvError(e, model);
				r.err(`query ${prm.name}`, msg);
			}
		}
	}
	for (const k of query.keys()) if (!known.has(k)) r.warn(`query ${k}`, 'parameter not defined in the spec');

	// Body.
	const rb = o.op.requestBody;
	const jsonSchema = rb && rb.content && rb.content['application/json'] && rb.content['application/json'].schema;
	const hasBody = req.body !== undefined && req.body !== null;
	if (jsonSchema) {
		const ct = (headers['content-type'] || '').split(';')[0].trim().toLowerCase();
		if (ct !== 'application/json') r.err('header content-type', `must be application/json, got ${show(headers['content-type'] || null)}`);
		let bytes;
		if (typeof req.body_base64 === 'string') {
			// The exact bytes sent win over "body" (as in send-to-prism.js).
			const buf = Buffer.from(req.body_base64, 'base64');
			bytes = buf.length;
			const text = new TextDecoder('utf-8', { fatal: false }).decode(buf);
			if (!buf.equals(Buffer.from(text, 'utf8'))) r.err('body_base64', 'JSON body is not valid UTF-8');
			try {
				const parsed = JSON.parse(text);
				if (hasBody && JSON.stringify(parsed) !== JSON.stringify(req.body)) r.warn('body', 'differs from body_base64; body_base64 (what was sent) is checked');
				req = { ...req, body: parsed };
			} catch (e) {
				r.err('body_base64', `not valid JSON (LINE answers 400 "could not be parsed as JSON"): ${e.message}`);
				return r;
			}
		} else if (!hasBody) {
			if (rb.required) r.err('body', 'required');
			return r;
		} else bytes = Buffer.byteLength(JSON.stringify(req.body), 'utf8');
		if (bytes > LIMITS.bodyBytes) r.err('body', `${bytes} bytes > ${LIMITS.bodyBytes} (2 MB; LINE answers 413)`);

		// Prose limits first, so the schema's duplicate length errors at the same path can be dropped.
		const b = req.body;
		if (isObj(b)) {
			if (MESSAGE_OPS.has(opId)) checkMessages(r, b.messages);
			if (opId === 'createRichMenu' || opId === 'validateRichMenuObject') checkRichMenu(r, b);
			if (opId === 'pushMessage' && typeof b.to === 'string' && !ID_RE.to.test(b.to)) r.err('to', `${show(b.to)} is not a user, group or room ID (U/C/R + 32 hex)`);
			if (opId === 'multicast' && Array.isArray(b.to)) {
				b.to.forEach((id, i) => {
					if (typeof id === 'string' && !ID_RE.user.test(id)) r.err(jp('to', i), `${show(id)} is not a user ID (multicast is for users only)`);
				});
				if (new Set(b.to).size !== b.to.length) r.warn('to', 'duplicate user IDs');
			}
			if ((opId === 'linkRichMenuIdToUsers' || opId === 'unlinkRichMenuIdFromUsers') && Array.isArray(b.userIds)) {
				b.userIds.forEach((id, i) => {
					if (typeof id === 'string' && !ID_RE.user.test(id)) r.err(jp('userIds', i), `${show(id)} is not a user ID`);
				});
			}
			if (opId === 'showLoadingAnimation') {
				if (typeof b.chatId === 'string' && !ID_RE.user.test(b.chatId)) r.err('chatId', 'loading animation works in 1:1 chats only (user ID)');
				if (Number.isInteger(b.loadingSeconds) && b.loadingSeconds % 5 !== 0) r.err('loadingSeconds', `${b.loadingSeconds} is not a multiple of 5`);
			}
			if (opId === 'setWebhookEndpoint' && typeof b.endpoint === 'string') checkUrl(r, 'endpoint', b.endpoint, { max: LIMITS.webhookEndpoint });
			if ((opId === 'createRichMenuAlias' || opId === 'updateRichMenuAlias') && typeof b.richMenuId === 'string' && !/^richmenu-[0-9a-zA-Z]+$/.test(b.richMenuId)) {
				r.warn('richMenuId', `${show(b.richMenuId)} does not look like a rich menu ID (richmenu-...)`);
			}
		}

		const key = JSON.stringify(jsonSchema);
		let v = validators.get(key);
		if (!v) {
			v = ajv.compile({ $ref: `line${(jsonSchema.$ref || '').replace(/^#/, '#')}` });
			validators.set(key, v);
		}
		if (!v(req.body)) {
			const seen = new Set();
			for (const e of v.errors) {
				if (e.keyword === 'if') continue; // "must match then schema": the real error is reported too
				const [p, msg] = formatAjvError(e, model);
				const line = `${p}: ${msg}`;
				if (seen.has(line)) continue;
				seen.add(line);
				if (e.keyword === 'unevaluatedProperties') {
					r.warn(p, msg);
					continue;
				}
				if (['maxLength', 'maxItems', 'minItems'].includes(e.keyword) && r.errorPaths.has(p)) continue;
				r.err(p, msg);
			}
		}
	} else if (opId === 'setRichMenuImage') {
		if (hasBody) r.err('body', 'the rich-menu image goes in body_base64, not as JSON');
		checkRichMenuImage(r, req, headers);
	} else if (rb && rb.required && !hasBody && req.body_base64 === undefined) {
		r.err('body', 'required');
	} else if (!rb && (hasBody || req.body_base64 !== undefined)) {
		r.err('body', `${method} ${o.template} takes no body (Prism answers 415)`);
	}
	return r;
}

// ---------------------------------------------------------------------------------------------
// CLI

function listFiles(args) {
	const files = [];
	for (const a of args) {
		let st;
		try {
			st = fs.statSync(a);
		} catch (e) {
			console.error(`contract: no such file or directory: ${a}`);
			process.exit(2);
		}
		if (st.isDirectory()) {
			for (const f of fs.readdirSync(a).sort()) if (f.endsWith('.json')) files.push(path.join(a, f));
		} else files.push(a);
	}
	return files;
}

function main(argv) {
	let prismFile = null;
	let strict = process.env.CONTRACT_STRICT === '1';
	let json = false;
	const paths = [];
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		if (a === '--prism-results') prismFile = argv[++i];
		else if (a === '--strict') strict = true;
		else if (a === '--json') json = true;
		else if (a === '--count=utf16') COUNT_MODE = 'utf16';
		else if (a === '-h' || a === '--help') {
			console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 20).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
			return 0;
		} else if (a.startsWith('--')) {
			console.error(`contract: unknown option ${a}`);
			return 2;
		} else paths.push(a);
	}
	if (paths.length === 0) {
		console.error('usage: validate-messages.js [--prism-results FILE] [--strict] [--count=utf16] [--json] PATH...');
		return 2;
	}
	if (!fs.existsSync(SPEC)) {
		console.error(`contract: OpenAPI spec not found: ${SPEC} (set SHOKAI_SHARED or CONTRACT_SPEC)`);
		return 2;
	}
	const files = listFiles(paths);
	const prism = new Map();
	if (prismFile) {
		for (const line of fs.readFileSync(prismFile, 'utf8').split('\n')) {
			if (!line.trim()) continue;
			const o = JSON.parse(line);
			prism.set(path.resolve(o.file), o);
		}
	}
	const model = loadSpec(SPEC);
	const ajv = buildAjv(model);
	const validators = new Map();
	let passed = 0;
	let failed = 0;
	for (const f of files) {
		const name = path.basename(f);
		let r;
		let req;
		try {
			req = JSON.parse(fs.readFileSync(f, 'utf8'));
		} catch (e) {
			r = new Report();
			r.err('', `not a JSON request file: ${e.message}`);
		}
		if (!r) r = validateRequest(model, ajv, validators, req, name);
		const pr = prism.get(path.resolve(f));
		if (prismFile && !pr) r.errors.unshift('prism: no result recorded');
		else if (pr && !pr.ok) r.errors.unshift(`prism ${pr.status}: ${pr.reason}`);
		if (strict && r.warnings.length) {
			r.errors.push(...r.warnings.map((w) => `(strict) ${w}`));
			r.warnings = [];
		}
		const ok = r.errors.length === 0;
		if (ok) passed++;
		else failed++;
		if (json) {
			console.log(JSON.stringify({ name, file: f, ok, prism: pr || null, errors: r.errors, warnings: r.warnings }));
		} else if (ok) {
			console.log(`PASS ${name}${r.warnings.length ? ` (warning: ${r.warnings.join('; ')})` : ''}`);
		} else {
			console.log(`FAIL ${name}: ${r.errors.join('; ')}${r.warnings.length ? ` (warning: ${r.warnings.join('; ')})` : ''}`);
		}
	}
	if (!json) console.log(`${passed} passed, ${failed} failed`);
	return failed ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

module.exports = { loadSpec, buildAjv, validateRequest, LIMITS };
