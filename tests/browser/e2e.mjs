// tests/browser/e2e.mjs: the whole path from the neighbour's browser to a
// trade.  A real peerwatt-exchange (CURVE, ZAP, auction at gate closure), a
// real peerwatt-agent for the neighbour (reading peerwatt-sim, auto-sell off,
// dashboard on), and a seller household that offers energy with pw-client.
// The bid is placed through the page's Buy form; the exchange must ACK it
// (the order turns "acked" on the page) and, after the gate closes, clear it
// against the seller's offer: the trade appears in the page's trade list at
// the uniform price, pushed by SSE.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { launch, startProcess, stop, watchErrors, assert, test, finish, BUILD, TOP, SHOTS } from './lib.mjs';

const T = 90000; // clearing needs a few intervals; 2 cores, maybe sanitizers
const L = 8; // interval length, s
const tmp = mkdtempSync(path.join(BUILD, 'browser-e2e.'));
const bin = (n) => path.join(BUILD, n);
const run = (cmd, args) => execFileSync(bin(cmd), args).toString();
const freePort = () => run('pw-freeport', []).trim();

function waitPort(port, ms) {
	const until = Date.now() + ms;
	return new Promise((resolve, reject) => {
		const attempt = () => {
			const s = net.connect(Number(port), '127.0.0.1');
			s.once('connect', () => {
				s.destroy();
				resolve();
			});
			s.once('error', () => {
				s.destroy();
				if (Date.now() > until) reject(new Error(`port ${port} not open`));
				else setTimeout(attempt, 100);
			});
		};
		attempt();
	});
}

// Keys and registry: the neighbour (agent key) and the seller (pw-client key).
const xpk = run('peerwatt-exchange', ['keygen', '--out', path.join(tmp, 'ex.key')]).trim();
const buyerPk = /public key: ([0-9a-f]{64})/.exec(run('peerwatt-agent', ['keygen', '--out', path.join(tmp, 'buyer.key')]))[1];
const sellerPk = run('pw-client', ['keygen', path.join(tmp, 'seller.key')]).trim();
writeFileSync(path.join(tmp, 'households'),
    `nb neighbour ${buyerPk} SER-NB north 3600000 3600000\n` +
    `sl seller ${sellerPk} SER-SL north 3600000 3600000\n`);
const reqPort = freePort(), pubPort = freePort(), simPort = freePort(), dashPort = freePort();
writeFileSync(path.join(tmp, 'x.conf'), `[market]
name = browser-e2e
id = 77
interval_s = ${L}
gate_s = 2
grace_s = 8
feedin = 0.08
retail = 0.30
[fees]
same_zone = 0.01
default = 0.02
[network]
request = tcp://127.0.0.1:${reqPort}
publish = tcp://127.0.0.1:${pubPort}
depth_ms = 500
[files]
registry = ${tmp}/households
db = ${tmp}/x.db
key = ${tmp}/ex.key
[log]
level = info
`);
writeFileSync(path.join(tmp, 'agent.conf'), `[household]
key_file = ${tmp}/buyer.key
db = ${tmp}/agent.db
serial = SER-NB
max_export_w = 3600000
max_import_w = 3600000
[device]
modbus = tcp://127.0.0.1:${simPort}
rated_power_w = 1200000
poll_ms = 250
[exchange]
request = tcp://127.0.0.1:${reqPort}
pub = tcp://127.0.0.1:${pubPort}
public_key = ${xpk}
market_id = 77
interval_s = ${L}
gate_s = 2
feedin_price = 0.08
retail_price = 0.30
reply_timeout_ms = 3000
[policy]
auto_sell = no
[dashboard]
enabled = yes
listen = 127.0.0.1:${dashPort}
web_root = ${TOP}/agent/web
[log]
level = info
`);

const exchange = await startProcess(bin('peerwatt-exchange'), ['-c', path.join(tmp, 'x.conf')], /serving/);
await waitPort(reqPort, 30000);
const sim = await startProcess(bin('peerwatt-sim'), ['--listen', `tcp://127.0.0.1:${simPort}`, '--speed', '1',
	'--pv-peak', '0', '--load', '800', '--seed', '3'], /listening on/);
const agent = await startProcess(bin('peerwatt-agent'), ['-c', path.join(tmp, 'agent.conf')], /dashboard on (http:\/\/\S+)/);
const url = agent.match[1];

// The seller offers 1000 Wh at 0.10 for each of the next intervals, so
// whichever interval the page bids for has an offer to clear against (the
// current one +1 may already be past its gate: its REJECT is fine).
const client = ['-e', `tcp://127.0.0.1:${reqPort}`, '-s', xpk, '-k', path.join(tmp, 'seller.key'), '-m', '77', '-L', String(L), '-t', '20000'];
for (let k = 1; k <= 16; k++) {
	let out;
	try {
		out = run('pw-client', [...client, 'order', String(k), `+${k}`, 'sell', '1000', '100000', '+600']);
	} catch (e) {
		out = String(e.stdout || e);
	}
	assert(/^ACK /.test(out) || k === 1, `seller offer for +${k}: ${out}`);
}

const browser = await launch();

await test('e2e: a bid through the form is ACKed by the exchange, becomes a trade and a statement', async () => {
	const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	const page = await ctx.newPage();
	const errors = watchErrors(page);
	await page.goto(url);
	// Connected to the real exchange: the status turns green.
	await page.waitForSelector('[data-test=status].status-ok', { timeout: T });
	// The seller's offers show in the order book of the next intervals.
	await page.waitForFunction(() => /1000 Wh/.test(document.querySelector('#depth tbody')?.innerText || ''),
	    null, { timeout: T });
	// Every status an order row shows is recorded: "acked" may be short-lived
	// (after the gate the agent reports the interval's orders as done).
	await page.evaluate(() => {
		window.seenStatus = [];
		new MutationObserver(() => {
			for (const tr of document.querySelectorAll('[data-test=orders] tbody tr'))
				window.seenStatus.push(tr.dataset.seq + ':' + tr.dataset.status);
		}).observe(document.querySelector('[data-test=orders] tbody'), { childList: true, subtree: true });
	});
	await page.fill('[data-test=buy-qty]', '300');
	await page.fill('[data-test=buy-price]', '25');
	await page.click('[data-test=buy-submit]');
	await page.waitForFunction(() => /Bid placed|Not placed/.test(document.querySelector('[data-test=buy-message]').textContent),
	    null, { timeout: T });
	const msg = await page.locator('[data-test=buy-message]').innerText();
	assert(/Bid placed/.test(msg), 'bid not placed: ' + msg);
	const m = [null, await page.getAttribute('[data-test=buy-message]', 'data-seq')];
	// ACKed by the exchange (signed ACK verified by the agent).
	await page.waitForFunction((seq) => window.seenStatus.includes(seq + ':acked'), m[1], { timeout: T });
	// Cleared at gate closure: the trade arrives by SSE.
	await page.waitForFunction(() => [...document.querySelectorAll('[data-test=trades] tbody tr')]
	    .some((r) => /\bBought\b/.test(r.innerText) && /\b300 Wh/.test(r.innerText)), null, { timeout: T });
	const rows = await page.locator('[data-test=trades] tbody tr').allInnerTexts();
	const trade = rows.find((r) => /\bBought\b/.test(r) && /\b300 Wh/.test(r));
	// Uniform price between the offer (10 ct) and the bid (25 ct).
	const price = Number(/(\d+\.\d{1,2}) ct\/kWh/.exec(trade)[1]);
	assert(price >= 10 && price <= 25, 'clearing price outside the pair: ' + trade);
	await page.screenshot({ path: path.join(SHOTS, 'e2e-trade.png'), fullPage: true });
	// Settled against the meter readings after the interval and its grace:
	// the signed statement shows the 300 Wh bought and what was paid.
	await page.waitForFunction(() => [...document.querySelectorAll('[data-test=statements] tbody tr')]
	    .some((r) => /\b300 Wh/.test(r.innerText)), null, { timeout: T });
	const st = (await page.locator('[data-test=statements] tbody tr').allInnerTexts()).find((r) => /\b300 Wh/.test(r));
	assert(/[−-]\d+\.\d{2} EUR/.test(st), 'statement without a payment: ' + st);
	assert(!/–/.test(await page.locator('[data-test=total-paid]').innerText()), 'no total paid');
	await page.screenshot({ path: path.join(SHOTS, 'e2e-statement.png'), fullPage: true });
	assert(errors.length === 0, 'console errors: ' + errors.join('; '));
	await ctx.close();
});

await browser.close();
if (process.env.E2E_DEBUG) {
	console.log('# agent log:\n' + agent.output().split('\n').slice(-60).map((l) => '# ' + l).join('\n'));
	console.log('# exchange log:\n' + exchange.output().split('\n').slice(-40).map((l) => '# ' + l).join('\n'));
}
await stop(agent.proc);
await stop(sim.proc);
await stop(exchange.proc);
rmSync(tmp, { recursive: true, force: true });
finish();
