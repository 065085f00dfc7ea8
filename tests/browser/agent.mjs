// tests/browser/agent.mjs: the dashboard served by the real peerwatt-agent,
// reading the simulated inverter (peerwatt-sim).  No exchange runs here, so
// the page must say the exchange is unreachable while power values come from
// the device, and a bid through the form is stored by the agent (queued in
// its outbox, "not yet at the exchange") and can be cancelled.  A second
// agent talks to a real exchange with the wrong exchange key: its banner
// says the exchange refused it and names both causes (docs/agent.md "Status").
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { launch, startProcess, stop, watchErrors, assert, test, finish, BUILD, TOP, SHOTS } from './lib.mjs';

const T = 60000;
const tmp = mkdtempSync(path.join(BUILD, 'browser-agent.'));
const freePort = () => execFileSync(path.join(BUILD, 'pw-freeport')).toString().trim();
const agentBin = path.join(BUILD, 'peerwatt-agent');

const simPort = freePort();
const sim = await startProcess(path.join(BUILD, 'peerwatt-sim'),
    ['--listen', `tcp://127.0.0.1:${simPort}`, '--speed', '60', '--start-time', '11:00',
	'--pv-peak', '5000', '--load', '600', '--seed', '7'], /listening on/);
execFileSync(agentBin, ['keygen', '--out', path.join(tmp, 'h.key')]);
const xpk = /public key: ([0-9a-f]{64})/.exec(execFileSync(agentBin, ['keygen', '--out', path.join(tmp, 'x.key')]).toString())[1];
const dashPort = freePort();
writeFileSync(path.join(tmp, 'agent.conf'), `[household]
name = Lindenweg 4
key_file = ${tmp}/h.key
db = ${tmp}/agent.db
serial = BROWSER-1
max_export_w = 6000
max_import_w = 6000
[device]
modbus = tcp://127.0.0.1:${simPort}
rated_power_w = 1200000
poll_ms = 250
[exchange]
; nothing listens here
request = tcp://127.0.0.1:${freePort()}
pub = tcp://127.0.0.1:${freePort()}
public_key = ${xpk}
market_id = 9
interval_s = 120
gate_s = 10
feedin_price = 0.08
retail_price = 0.30
reply_timeout_ms = 1000
[policy]
auto_sell = no
[dashboard]
enabled = yes
listen = 127.0.0.1:${dashPort}
web_root = ${TOP}/agent/web
[log]
level = info
`);
const agent = await startProcess(agentBin, ['-c', path.join(tmp, 'agent.conf')], /dashboard on (http:\/\/\S+)/);
const url = agent.match[1];
const browser = await launch();

await test('real agent: page loads, power from the inverter, exchange unreachable', async () => {
	const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	const page = await ctx.newPage();
	const errors = watchErrors(page);
	await page.goto(url);
	await page.waitForFunction(() => /Exchange unreachable/.test(document.querySelector('[data-test=status]').textContent),
	    null, { timeout: T });
	await page.waitForFunction(() => /\d+(\.\d+)? k?W/.test(document.querySelector('[data-test=pv-power]').textContent),
	    null, { timeout: T });
	assert(/\d/.test(await page.locator('[data-test=grid-power]').innerText()), 'no grid power');
	assert(await page.locator('[data-test=household]').innerText() === 'Lindenweg 4', 'header without the name');
	await page.waitForSelector('[data-test=settings]:not([hidden])', { timeout: T }); /* the sim has PV */
	await page.screenshot({ path: path.join(SHOTS, 'agent-no-exchange.png'), fullPage: true });
	assert(errors.length === 0, 'console errors: ' + errors.join('; '));
	await ctx.close();
});

await test('real agent: a bid through the form is stored and can be cancelled', async () => {
	const ctx = await browser.newContext();
	const page = await ctx.newPage();
	await page.goto(url);
	await page.waitForSelector('#app:not([hidden])', { timeout: T });
	// The agent's own bounds come back through the market document.
	await page.waitForFunction(() => /30\.0 ct\/kWh \(retail\)/.test(document.querySelector('#buy-bounds').textContent),
	    null, { timeout: T });
	await page.fill('[data-test=buy-qty]', '200');
	await page.fill('[data-test=buy-price]', '25');
	await page.click('[data-test=buy-submit]');
	await page.waitForFunction(() => /Bid placed|Not placed/.test(document.querySelector('[data-test=buy-message]').textContent),
	    null, { timeout: T });
	const msg = await page.locator('[data-test=buy-message]').innerText();
	assert(/Bid placed/.test(msg), 'bid not placed: ' + msg);
	const m = [null, await page.getAttribute('[data-test=buy-message]', 'data-seq')];
	const row = page.locator(`[data-test=orders] tr[data-seq="${m[1]}"]`);
	await row.waitFor({ timeout: T });
	const text = await row.innerText();
	assert(/Buy/.test(text) && /200 Wh/.test(text) && /25\.0 ct\/kWh/.test(text), 'order row: ' + text);
	assert(/queued: not yet at the exchange/.test(text), 'order is not queued while the exchange is away: ' + text);
	await row.locator('button[data-test=cancel]').click();
	await page.waitForSelector(`[data-test=history] tr[data-seq="${m[1]}"][data-status=cancelled]`, { state: 'attached', timeout: T });
	await ctx.close();
});

await test('real agent API: today, paged orders, a minimum price below feed-in refused with the reason', async () => {
	const ctx = await browser.newContext();
	const page = await ctx.newPage();
	await page.goto(url);
	await page.waitForSelector('#app:not([hidden])', { timeout: T });
	const r = await page.evaluate(async () => {
		const get = async (p) => { const x = await fetch(p); return { status: x.status, body: await x.json() }; };
		const state = (await get('api/state')).body;
		const out = { state, today: await get('api/today'), orders: await get('api/orders') };
		out.older = await get('api/orders?before=' + (out.orders.body.before || 1));
		out.bad = await get('api/trades?before=x');
		const put = await fetch('api/settings', { method: 'PUT', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': state.csrf },
			body: JSON.stringify({ min_price_uper_kwh: 50000, reserve_wh: 0 }) });
		out.put = { status: put.status, body: await put.json() };
		out.settings = (await get('api/settings')).body;
		return out;
	});
	assert(r.state.household === 'Lindenweg 4' && r.state.has_pv === true, 'state: ' + JSON.stringify(r.state));
	const t = r.today.body;
	assert(r.today.status === 200 && Array.isArray(t.intervals) && t.all_time && 'net_u' in t && 'sold_wh' in t,
	    'today: ' + JSON.stringify(r.today));
	const now = r.state.now;
	assert(t.start <= now && now < t.start + 86400 + r.state.interval_s, 'today does not contain now: ' + t.start + ' ' + now);
	assert(r.orders.status === 200 && typeof r.orders.body.more === 'boolean', 'orders: ' + JSON.stringify(r.orders));
	assert(r.orders.body.orders.every((o) => !['cancelled', 'expired', 'filled'].includes(o.status)) ||
	    r.orders.body.before !== null, 'orders page: ' + JSON.stringify(r.orders.body));
	assert(r.older.status === 200 && Array.isArray(r.older.body.orders), 'older orders: ' + JSON.stringify(r.older));
	assert(r.bad.status === 400, 'bad cursor: ' + JSON.stringify(r.bad));
	assert(r.put.status === 400 && /below the feed-in tariff \(8\.00 ct\/kWh\)/.test(r.put.body.error), 'settings: ' + JSON.stringify(r.put));
	assert(r.settings.min_price_uper_kwh !== 50000, 'refused minimum price stored');
	await ctx.close();
});

await test('real agent: wrong [exchange] public_key, the banner says the exchange refused it', async () => {
	const reqPort = freePort(), pubPort = freePort(), dash2 = freePort();
	const hpk = /public key: ([0-9a-f]{64})/.exec(execFileSync(agentBin, ['keygen', '--out', path.join(tmp, 'h2.key')]).toString())[1];
	const wrong = /public key: ([0-9a-f]{64})/.exec(execFileSync(agentBin, ['keygen', '--out', path.join(tmp, 'y.key')]).toString())[1];
	writeFileSync(path.join(tmp, 'households'), `h2 h2 ${hpk} BROWSER-2 z1 6000 6000\n`);
	writeFileSync(path.join(tmp, 'x.conf'), `[market]
name = browser-status
id = 9
interval_s = 120
gate_s = 10
feedin = 0.08
retail = 0.30
[network]
request = tcp://127.0.0.1:${reqPort}
publish = tcp://127.0.0.1:${pubPort}
[files]
registry = ${tmp}/households
db = ${tmp}/x.db
key = ${tmp}/x.key
`);
	const exchange = await startProcess(path.join(BUILD, 'peerwatt-exchange'), ['-c', path.join(tmp, 'x.conf')], /serving/);
	writeFileSync(path.join(tmp, 'agent2.conf'), `[household]
key_file = ${tmp}/h2.key
db = ${tmp}/agent2.db
serial = BROWSER-2
max_export_w = 6000
max_import_w = 6000
[device]
modbus = tcp://127.0.0.1:${simPort}
rated_power_w = 1200000
poll_ms = 250
[exchange]
request = tcp://127.0.0.1:${reqPort}
pub = tcp://127.0.0.1:${pubPort}
public_key = ${wrong}
market_id = 9
interval_s = 120
gate_s = 10
[policy]
auto_sell = no
[dashboard]
enabled = yes
listen = 127.0.0.1:${dash2}
web_root = ${TOP}/agent/web
`);
	const agent2 = await startProcess(agentBin, ['-c', path.join(tmp, 'agent2.conf')], /dashboard on (http:\/\/\S+)/);
	const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
	const page = await ctx.newPage();
	await page.goto(agent2.match[1]);
	await page.waitForFunction(() => /refused/.test(document.querySelector('[data-test=status]').textContent),
	    null, { timeout: T });
	const banner = await page.locator('[data-test=status]').innerText();
	assert(/public_key/.test(banner) && /not registered/.test(banner) && /revoked/.test(banner),
	    'the banner does not name both causes: ' + banner);
	assert(await page.locator('[data-test=status].status-bad').count() === 1, 'the banner is not red');
	await page.screenshot({ path: path.join(SHOTS, 'agent-wrong-key.png'), fullPage: true });
	await ctx.close();
	await stop(agent2.proc);
	await stop(exchange.proc);
});

await browser.close();
await stop(agent.proc);
await stop(sim.proc);
rmSync(tmp, { recursive: true, force: true });
finish();
