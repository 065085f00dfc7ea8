// tests/browser/battery.mjs: the home battery on the page against
// pw-dashdemo --battery (docs/dashboard.md "Battery"): the state of charge
// and power in the power view with the reserve marked, the Battery plan
// card (the actions of the next 24 hours with their symbols, words and
// reasons, the planned charge as a line, tap for an interval's reason, what
// the plan is expected to earn over the battery on its own), "from the
// battery" in Today and the statements; nothing of it without a battery;
// the "off" message with --battery-off; paused sales said with
// --battery-paused.  At 1280 and 390 px; screenshots
// in build/browser/battery-*.png.  Last, the real peerwatt-agent with
// peerwatt-sim's battery (no exchange): the page shows the agent's own
// battery and plan documents.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { launch, startDemo, startProcess, stop, watchErrors, assert, test, finish, SHOTS, BUILD, TOP } from './lib.mjs';
import path from 'node:path';

const T = 60000;
const browser = await launch();
/* The battery's figures move with each interval (60 s here): each test
 * starts its own demo with at least 30 s of its interval left, so that the
 * battery stays at 19:00 of its fake day while the test looks. */
async function freshBatteryDemo() {
	const left = 60 - (Date.now() / 1000) % 60;
	if (left < 30) await new Promise((r) => setTimeout(r, left * 1000 + 500));
	return startDemo(['--interval-s', '60', '--battery']);
}
const off = await startDemo(['--interval-s', '60', '--battery-off']);
const none = await startDemo(['--interval-s', '60']);

async function openPage(url, viewport, ready = '[data-test=status].status-ok') {
	const ctx = await browser.newContext({ viewport });
	const page = await ctx.newPage();
	const errors = watchErrors(page);
	await page.goto(url);
	await page.waitForSelector(ready, { timeout: T });
	return { ctx, page, errors };
}
const text = (page, sel) => page.locator(sel).first().innerText();
const api = (page, name) => page.evaluate(async (n) => (await fetch('api/' + n)).json(), name);
const fits = (page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

for (const [w, h] of [[1280, 900], [390, 844]]) {
	await test(`battery at ${w} px: charge, power, reserve, plan with reasons, value, from the battery`, async () => {
		const bat = await freshBatteryDemo();
		const { ctx, page, errors } = await openPage(bat.url, { width: w, height: h });
		await page.waitForSelector('[data-test=battery-now]:not([hidden])', { timeout: T });
		await page.waitForSelector('[data-test=plan-runs] .run', { timeout: T });
		const st = (await api(page, 'state')).battery;
		const plan = await api(page, 'plan');
		assert(st && plan.state === 'planned' && plan.steps.length === 48, 'demo: ' + JSON.stringify(st) + ' ' + plan.state);

		// power view: the state of charge, the power in words, the reserve
		const soc = await text(page, '[data-test=battery-soc]');
		assert(soc === Math.round(st.soc_pct) + ' %', `soc ${soc} vs ${st.soc_pct}`);
		const pw = await text(page, '[data-test=battery-power]');
		assert(pw === 'discharging ' + (st.power_w / 1000).toFixed(2) + ' kW' && st.power_w === 1600, 'power: ' + pw);
		assert(/discharging/.test(await text(page, '[data-test=battery-setpoint]')), 'setpoint words');
		assert(st.offers_paused === null && await page.locator('[data-test=battery-paused]').isHidden(), 'paused shown');
		const detail = await text(page, '[data-test=battery-detail]');
		assert(/^10\.0 kWh usable; the reserve of 10 % is kept for the home\./.test(detail), 'detail: ' + detail);
		assert(/Today: charged 4800 Wh, discharged 3200 Wh, of it 2000 Wh sold to neighbours\./.test(detail), 'today: ' + detail);
		const geo = await page.evaluate(() => {
			const r = (id) => document.getElementById(id).getBoundingClientRect();
			return { bar: r('soc-bar'), fill: r('soc-fill'), res: r('soc-reserve') };
		});
		const fillPct = geo.fill.width / geo.bar.width * 100, resPct = (geo.res.left - geo.bar.left) / geo.bar.width * 100;
		assert(Math.abs(fillPct - st.soc_pct) < 2, `fill ${fillPct} % vs ${st.soc_pct}`);
		assert(Math.abs(resPct - 10) < 2, `reserve mark at ${resPct} %`);
		assert(/▲ reserve 10 %/.test(await text(page, '[data-test=battery-reserve-label]')), 'reserve label');

		// the plan: heading, value, every action by symbol and word
		assert(/over the next 24 hours, and why/.test(await text(page, '[data-test=plan-state]')), 'plan state text');
		const diff = ((plan.value_u - plan.self_value_u) / 1e6).toFixed(2);
		const val = await text(page, '[data-test=plan-value]');
		assert(val === `Over the next 24 hours the plan is expected to earn ${diff} EUR more than the battery on its own.`,
		    'value: ' + val);
		const runs = await page.locator('[data-test=plan-runs] .run').evaluateAll((xs) => xs.map((x) => x.className));
		for (const a of ['store', 'sell', 'cover', 'hold'])
			assert(runs.some((c) => c.includes('act-' + a)), `no ${a} run: ${runs}`);
		const legend = await text(page, '[data-test=plan-legend]');
		for (const l of ['+', 'Store', '→', 'Sell', '⌂', 'Cover', '‖', 'Hold'])
			assert(legend.includes(l), `legend lacks ${l}: ${legend}`);
		// the next intervals listed with their reasons
		const next = await page.locator('[data-test=plan-step]').allInnerTexts();
		assert(next.length === 6, 'next: ' + next.length);
		assert(/^19:00–19:30\s+→\s*Sell\s+500 Wh to neighbours \(and 300 Wh for the home\)\s+battery 58 % after\s+Neighbours are expected to pay 0\.31\/kWh, more than the 0\.24\/kWh this energy is worth kept\.$/.test(next[0]),
		    'first step: ' + JSON.stringify(next[0]));
		assert(/21:00–21:30.*Cover\s+250 Wh for the home.*The home's load at retail 0\.30\/kWh\./s.test(next[4]), 'cover step: ' + next[4]);
		// the whole plan, by runs: store at midday with where it goes
		const all = (await page.locator('[data-test=plan-run]').allTextContents()).join('\n');
		assert(/10:00–14:00.*Store\s*1200 Wh into the battery.*The surplus would fetch only 0\.09\/kWh now; kept for 17:00 when neighbours are expected to pay 0\.31\/kWh\./.test(all), 'store run: ' + all);
		assert(/02:00–10:00.*Hold.*At the reserve \(10 %\)\./.test(all), 'hold run: ' + all);
		// the planned charge as a line: the start and one point per interval
		assert(await page.locator('#plan-svg').getAttribute('data-points') === '49', 'soc line points');
		assert(await page.locator('#plan-svg line.reserve').count() === 1, 'reserve line');
		// tap an interval: its reason
		const band = page.locator('#plan-svg rect.band').nth(20);
		await band.click();
		const picked = await text(page, '[data-test=plan-pick]');
		assert(/^05:00–05:30 · ‖ Hold · battery 10 % after · At the reserve \(10 %\)\.$/.test(picked), 'picked: ' + picked);

		// "from the battery": Today and the statements
		const today = await api(page, 'today');
		assert(today.battery_sold_wh === 2000, 'demo today ' + today.battery_sold_wh);
		assert(await text(page, '[data-test=today-battery]') === '2000 Wh of it from the battery', 'today tile');
		const legend2 = await page.locator('#energy-chart .u-legend').innerText();
		assert(legend2.includes('Sold from the battery'), 'energy chart legend: ' + legend2);
		assert(/All time: sold \d+ Wh \(2000 Wh from the battery\)/.test(await text(page, '[data-test=all-time]')), 'all time');
		const labels = await page.locator('#statements thead th').evaluateAll((xs) => xs.filter((x) => !x.hidden).map((x) => x.textContent));
		assert(labels[2] === 'From battery', 'statement columns: ' + labels);
		const cells = await page.locator('#statements tbody tr td:nth-child(3)').allTextContents();
		assert(cells.filter((c) => c === '500 Wh').length === 4, 'from battery cells: ' + cells);

		assert(await fits(page), 'the page scrolls sideways');
		await page.locator('#power').screenshot({ path: path.join(SHOTS, `battery-power-${w}.png`) });
		await page.locator('#battery-plan').scrollIntoViewIfNeeded();
		await page.locator('#battery-plan').screenshot({ path: path.join(SHOTS, `battery-${w}.png`) });
		assert(errors.length === 0, 'console errors: ' + errors.join('; '));
		await ctx.close();
		await stop(bat.proc);
	});
}

await test('battery off: the message said plainly, no plan drawn, nothing from the battery sold', async () => {
	const { ctx, page, errors } = await openPage(off.url, { width: 390, height: 844 });
	await page.waitForSelector('[data-test=battery-plan][data-state=off]:not([hidden])', { timeout: T });
	const t = await text(page, '[data-test=plan-state]');
	assert(t === 'The battery is left to its own controller ([battery] control = off): the agent writes nothing to it and makes no plan.',
	    'off text: ' + t);
	assert(await page.locator('[data-test=plan-chart]').isHidden(), 'a plan drawn while off');
	assert(await page.locator('[data-test=plan-value]').isHidden(), 'a value while off');
	assert(/own controller: the agent does not control it/.test(await text(page, '[data-test=battery-setpoint]')), 'setpoint off');
	assert(await text(page, '[data-test=today-battery]') === '0 Wh of it from the battery', 'today tile off');
	assert(await fits(page), 'the page scrolls sideways');
	await page.locator('#battery-plan').screenshot({ path: path.join(SHOTS, 'battery-off.png') });
	assert(errors.length === 0, 'console errors: ' + errors.join('; '));
	await ctx.close();
});

for (const [w, h] of [[1280, 900], [390, 844]]) {
	await test(`battery offers paused at ${w} px: said on the battery card, with why and that the plan's sales wait`, async () => {
		const paused = await startDemo(['--interval-s', '60', '--battery-paused']);
		const { ctx, page, errors } = await openPage(paused.url, { width: w, height: h });
		await page.waitForSelector('[data-test=battery-paused]:not([hidden])', { timeout: T });
		const st = (await api(page, 'state')).battery;
		assert(st && st.offers_paused === 'battery_failed' && st.setpoint === null, 'demo: ' + JSON.stringify(st));
		const t = await text(page, '[data-test=battery-paused]');
		assert(t === 'Sales from the battery are paused: the battery does not hold the agent’s setpoint. The plan’s sales wait until this clears.',
		    'paused text: ' + t);
		assert(/no setpoint in force/.test(await text(page, '[data-test=battery-setpoint]')), 'setpoint words');
		assert(await fits(page), 'the page scrolls sideways');
		await page.locator('#power').screenshot({ path: path.join(SHOTS, `battery-paused-${w}.png`) });
		assert(errors.length === 0, 'console errors: ' + errors.join('; '));
		await ctx.close();
		await stop(paused.proc);
	});
}

await test('no battery: no battery in the power view, no plan card, no "from the battery"', async () => {
	const { ctx, page, errors } = await openPage(none.url, { width: 1280, height: 900 });
	await page.waitForFunction(() => /^All time/.test(document.querySelector('[data-test=all-time]').textContent), null, { timeout: T });
	const plan = await api(page, 'plan');
	assert(plan.state === 'none', 'demo plan ' + plan.state);
	assert(await page.locator('[data-test=battery-now]').isHidden(), 'battery shown');
	assert(await page.locator('[data-test=battery-plan]').isHidden(), 'plan card shown');
	assert(await page.locator('[data-test=today-battery]').isHidden(), 'today battery shown');
	assert(!/battery/.test(await text(page, '[data-test=all-time]')), 'all time names the battery');
	await page.waitForSelector('[data-test=energy-chart] .u-legend', { timeout: T });
	assert(!/battery/.test(await page.locator('#energy-chart .u-legend').innerText()), 'energy chart names the battery');
	assert(await page.locator('#st-battery-h').isHidden(), 'statements column shown');
	const n = await page.locator('#statements thead th').evaluateAll((xs) => xs.filter((x) => !x.hidden).length);
	assert(n === 9, 'statement columns ' + n);
	assert(errors.length === 0, 'console errors: ' + errors.join('; '));
	await ctx.close();
});

await test('real agent with a battery: its state of charge and its plan on the page', async () => {
	const tmp = mkdtempSync(path.join(BUILD, 'browser-battery.'));
	const freePort = () => execFileSync(path.join(BUILD, 'pw-freeport')).toString().trim();
	const agentBin = path.join(BUILD, 'peerwatt-agent');
	const simPort = freePort(), dashPort = freePort();
	const epoch = Math.floor(Date.now() / 5000) * 5;
	/* 5 s intervals of 30 simulated minutes from 16:00 ([sim]), 13.5 kWh at 60 % */
	await startProcess(path.join(BUILD, 'peerwatt-sim'), ['--listen', `tcp://127.0.0.1:${simPort}`, '--epoch', String(epoch),
		'--speed', '360', '--start-time', '16:00', '--pv-peak', '3000', '--load', '400', '--seed', '7',
		'--battery-wh', '13500', '--battery-charge-w', '4000', '--battery-discharge-w', '4600',
		'--battery-reserve', '15', '--battery-soc', '60'], /listening on/);
	execFileSync(agentBin, ['keygen', '--out', path.join(tmp, 'h.key')]);
	const xpk = /public key: ([0-9a-f]{64})/.exec(execFileSync(agentBin, ['keygen', '--out', path.join(tmp, 'x.key')]).toString())[1];
	writeFileSync(path.join(tmp, 'agent.conf'), `[household]
name = Battery house
key_file = ${tmp}/h.key
db = ${tmp}/agent.db
serial = BROWSER-BAT
max_export_w = 6000
max_import_w = 6000
[device]
modbus = tcp://127.0.0.1:${simPort}
rated_power_w = 100000000
poll_ms = 250
[exchange]
; nothing listens here
request = tcp://127.0.0.1:${freePort()}
pub = tcp://127.0.0.1:${freePort()}
public_key = ${xpk}
market_id = 9
interval_s = 5
gate_s = 1
feedin_price = 0.08
retail_price = 0.30
reply_timeout_ms = 1000
[sim]
epoch = ${epoch}
start = 16:00
speed = 360
[battery]
control = on
reserve_pct = 30
horizon_h = 6
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
	const { ctx, page, errors } = await openPage(agent.match[1], { width: 390, height: 844 }, '#app:not([hidden])');
	await page.waitForSelector('[data-test=battery-now]:not([hidden])', { timeout: T });
	await page.waitForSelector('[data-test=battery-plan]:not([hidden])', { timeout: T });
	const st = (await api(page, 'state')).battery;
	assert(st.capacity_wh === 13500 && st.reserve_pct === 30 && st.control === true, 'agent battery: ' + JSON.stringify(st));
	/* auto_sell = no: the agent offers nothing from the battery, nothing paused */
	assert(st.offers_paused === null && await page.locator('[data-test=battery-paused]').isHidden(),
	    'offers_paused: ' + st.offers_paused);
	const soc = Number((await text(page, '[data-test=battery-soc]')).replace(' %', ''));
	assert(Math.abs(soc - st.soc_pct) <= 2, `soc ${soc} vs ${st.soc_pct}`);
	assert(/13\.5 kWh usable; the reserve of 30 % is kept for the home\./.test(await text(page, '[data-test=battery-detail]')), 'detail');
	assert(/▲ reserve 30 %/.test(await text(page, '[data-test=battery-reserve-label]')), 'reserve label');
	/* planned once the agent made its first plan; each step with its reason */
	await page.waitForSelector('[data-test=battery-plan][data-state=planned] [data-test=plan-step]', { timeout: T });
	const plan = await api(page, 'plan');
	const steps = await page.locator('[data-test=plan-step]').allInnerTexts();
	assert(steps.length === Math.min(6, plan.steps.length), 'steps ' + steps.length);
	for (const x of steps) assert(/^\d\d:\d\d–\d\d:\d\d\s[\s\S]*(Store|Sell|Cover|Hold)[\s\S]*\.$/.test(x), 'step: ' + x);
	/* the agent says how many hours its figures cover ([battery] horizon_h = 6) */
	assert(plan.horizon_h === 6, 'horizon_h ' + plan.horizon_h);
	const value = await text(page, '[data-test=plan-value]');
	assert(/^Over the next 6 hours the plan is expected to earn /.test(value), 'value: ' + value);
	assert(await fits(page), 'the page scrolls sideways');
	await page.locator('#battery-plan').screenshot({ path: path.join(SHOTS, 'battery-agent.png') });
	assert(errors.length === 0, 'console errors: ' + errors.join('; '));
	await ctx.close();
});

await browser.close();
finish();
