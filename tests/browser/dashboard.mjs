// tests/browser/dashboard.mjs: the dashboard page in headless chromium
// against pw-dashdemo (fake household, in-memory orders).  Screenshots go to
// build/browser/.
import { launch, startDemo, stop, watchErrors, assert, test, finish, SHOTS } from './lib.mjs';
import path from 'node:path';

const T = 30000; // generous: 2 shared cores, maybe sanitizers
const browser = await launch();
const slow = await startDemo(['--interval-s', '60']);
const fast = await startDemo(['--interval-s', '2']);

async function openPage(url, viewport = { width: 1280, height: 900 }) {
	const ctx = await browser.newContext({ viewport });
	const page = await ctx.newPage();
	const errors = watchErrors(page);
	const requests = [];
	page.on('request', (r) => requests.push(r.method() + ' ' + new URL(r.url()).pathname));
	await page.goto(url);
	await page.waitForSelector('[data-test=status].status-ok', { timeout: T });
	return { ctx, page, errors, requests };
}

const text = (page, sel) => page.locator(sel).first().innerText();

await test('page loads with every element and no console error', async () => {
	const { ctx, page, errors } = await openPage(slow.url);
	for (const t of ['pv-power', 'house-power', 'grid-power', 'price-chart', 'buy-form', 'buy-qty',
		'buy-price', 'buy-submit', 'orders', 'trades', 'statements', 'status'])
		assert(await page.locator(`[data-test=${t}]`).count() === 1, `data-test=${t} missing`);
	assert(/\d+(\.\d+)? k?W/.test(await text(page, '[data-test=pv-power]')), 'pv-power has no value');
	// uPlot drew the price history.
	await page.waitForSelector('[data-test=price-chart] canvas', { timeout: T });
	const pts = await page.evaluate(() => document.querySelectorAll('#depth tbody tr').length);
	assert(pts === 4, `expected 4 depth rows, got ${pts}`);
	assert(/Live/.test(await text(page, '[data-test=status]')), 'status is not live');
	await page.waitForTimeout(1500); // let SSE events arrive too
	await page.screenshot({ path: path.join(SHOTS, 'dashboard.png'), fullPage: true });
	assert(errors.length === 0, 'console errors: ' + errors.join('; '));
	await ctx.close();
});

await test('live values change through SSE without refetching', async () => {
	const { ctx, page, errors, requests } = await openPage(slow.url);
	await page.waitForTimeout(500); // initial fetches settle
	const before = await text(page, '[data-test=pv-power]');
	const fetchesBefore = requests.filter((r) => r.endsWith('/api/state')).length;
	await page.waitForFunction((b) => document.querySelector('[data-test=pv-power]').textContent !== b,
	    before, { timeout: T });
	const fetchesAfter = requests.filter((r) => r.endsWith('/api/state')).length;
	assert(fetchesAfter === fetchesBefore, 'value changed by a refetch, not by SSE');
	assert(requests.some((r) => r.endsWith('/api/events')), 'no SSE stream opened');
	assert(errors.length === 0, 'console errors: ' + errors.join('; '));
	await ctx.close();
});

await test('bad input in the buy form gets a clear message and sends nothing', async () => {
	const { ctx, page, requests } = await openPage(slow.url);
	const cases = [
		['', '0.25', 'next', /Enter the energy/],
		['abc', '0.25', 'next', /whole number of Wh/],
		['0', '0.25', 'next', /whole number of Wh, at least 1/],
		['500', '', 'next', /Enter the maximum price/],
		['500', '0.2.5', 'next', /number like 0\.25/],
		['500', '1.50', 'next', /between 0\.0800 EUR\/kWh and 0\.3200 EUR\/kWh/],
		['500', '0.01', 'next', /feed-in and retail/],
	];
	for (const [qty, price, when, re] of cases) {
		await page.fill('[data-test=buy-qty]', qty);
		await page.fill('[data-test=buy-price]', price);
		await page.selectOption('[data-test=buy-when]', when);
		await page.click('[data-test=buy-submit]');
		const msg = await text(page, '[data-test=buy-message]');
		assert(re.test(msg), `qty=${qty} price=${price}: message "${msg}" does not match ${re}`);
		assert(await page.locator('[aria-invalid=true]').count() === 1, 'no field marked invalid');
	}
	await page.selectOption('[data-test=buy-when]', 'standing');
	await page.fill('[data-test=buy-qty]', '500');
	await page.fill('[data-test=buy-price]', '0.25');
	await page.fill('[data-test=buy-count]', '200');
	await page.click('[data-test=buy-submit]');
	assert(/1 to 96/.test(await text(page, '[data-test=buy-message]')), 'standing count not checked');
	await page.screenshot({ path: path.join(SHOTS, 'buy-validation.png') });
	assert(!requests.some((r) => r.startsWith('POST')), 'a bad form was sent: ' + requests.join(', '));
	await ctx.close();
});

await test('the agent refusing a bid shows its reason', async () => {
	const { ctx, page } = await openPage(slow.url);
	await page.fill('[data-test=buy-qty]', '30000');
	await page.fill('[data-test=buy-price]', '0.25');
	await page.click('[data-test=buy-submit]');
	await page.waitForFunction(() => /Not placed/.test(document.querySelector('[data-test=buy-message]').textContent),
	    null, { timeout: T });
	assert(/at most 20000 Wh per interval/.test(await text(page, '[data-test=buy-message]')), 'reason missing');
	await ctx.close();
});

await test('place a bid through the form, then cancel it', async () => {
	const { ctx, page, errors } = await openPage(slow.url);
	await page.fill('[data-test=buy-qty]', '750');
	await page.fill('[data-test=buy-price]', '0,30');
	await page.click('[data-test=buy-submit]');
	await page.waitForFunction(() => /Bid #\d+ placed/.test(document.querySelector('[data-test=buy-message]').textContent),
	    null, { timeout: T });
	const seq = /Bid #(\d+)/.exec(await text(page, '[data-test=buy-message]'))[1];
	const row = page.locator(`[data-test=orders] tr[data-seq="${seq}"]`);
	await row.waitFor({ timeout: T });
	assert(/750 Wh/.test(await row.innerText()), 'qty not shown');
	assert(/0\.3000 EUR\/kWh/.test(await row.innerText()), 'price not shown');
	await page.waitForSelector(`[data-test=orders] tr[data-seq="${seq}"][data-status=acked]`, { timeout: T });
	await page.screenshot({ path: path.join(SHOTS, 'bid-placed.png'), fullPage: true });
	await row.locator('button[data-test=cancel]').click();
	await page.waitForSelector(`[data-test=orders] tr[data-seq="${seq}"][data-status=cancelled]`, { timeout: T });
	assert(new RegExp(`Order #${seq} cancelled`).test(await text(page, '[data-test=orders-message]')), 'no cancel message');
	assert(await row.locator('button').count() === 0, 'cancelled order still has a cancel button');
	assert(errors.length === 0, 'console errors: ' + errors.join('; '));
	await ctx.close();
});

await test('a bid becomes a trade and a verified statement after clearing', async () => {
	const { ctx, page } = await openPage(fast.url);
	await page.fill('[data-test=buy-qty]', '400');
	await page.fill('[data-test=buy-price]', '0.32');
	await page.click('[data-test=buy-submit]');
	await page.waitForFunction(() => /Bid #\d+ placed/.test(document.querySelector('[data-test=buy-message]').textContent),
	    null, { timeout: T });
	const seq = /Bid #(\d+)/.exec(await text(page, '[data-test=buy-message]'))[1];
	await page.waitForSelector(`[data-test=orders] tr[data-seq="${seq}"][data-status=filled]`, { timeout: T });
	await page.waitForFunction(() => [...document.querySelectorAll('[data-test=trades] tbody tr')]
	    .some((r) => /\bbuy\b/.test(r.innerText) && /\b400 Wh/.test(r.innerText)), null, { timeout: T });
	const rows = await page.locator('[data-test=trades] tbody tr').allInnerTexts();
	assert(rows.some((r) => /\bbuy\b/.test(r) && /\b400 Wh/.test(r) && /EUR\/kWh/.test(r)),
	    'no buy trade of 400 Wh: ' + rows.join(' | '));
	await page.waitForFunction(() => /verified/.test(document.querySelector('[data-test=statements] tbody tr')?.textContent || ''),
	    null, { timeout: T });
	assert(!/–/.test(await text(page, '[data-test=total-paid]')), 'totals not shown');
	await page.screenshot({ path: path.join(SHOTS, 'trade.png'), fullPage: true });
	await ctx.close();
});

await test('auto-sell settings are saved and validated', async () => {
	const { ctx, page } = await openPage(slow.url);
	await page.fill('[data-test=set-min]', 'cheap');
	await page.click('[data-test=set-submit]');
	assert(/Minimum price must be a number/.test(await text(page, '[data-test=set-message]')), 'bad min price accepted');
	await page.fill('[data-test=set-min]', '0.15');
	await page.fill('[data-test=set-reserve]', '250');
	await page.click('[data-test=set-submit]');
	await page.waitForFunction(() => /Settings saved/.test(document.querySelector('[data-test=set-message]').textContent),
	    null, { timeout: T });
	const s = await page.evaluate(async () => (await fetch('api/settings')).json());
	assert(s.min_price_uper_kwh === 150000 && s.reserve_wh === 250, 'settings not stored: ' + JSON.stringify(s));
	await ctx.close();
});

await test('readable on a phone (no horizontal scrolling)', async () => {
	const { ctx, page } = await openPage(slow.url, { width: 390, height: 844 });
	const w = await page.evaluate(() => document.documentElement.scrollWidth);
	assert(w <= 391, `page is ${w} px wide on a 390 px screen`);
	await page.screenshot({ path: path.join(SHOTS, 'phone.png'), fullPage: true });
	await ctx.close();
});

await test('clear message when the exchange or the inverter is unreachable', async () => {
	for (const [flag, re] of [['--exchange-down', /Exchange unreachable/], ['--inverter-down', /Inverter unreachable/]]) {
		const demo = await startDemo(['--interval-s', '60', flag]);
		const ctx = await browser.newContext();
		const page = await ctx.newPage();
		await page.goto(demo.url);
		await page.waitForSelector('[data-test=status].status-bad', { timeout: T });
		assert(re.test(await text(page, '[data-test=status]')), `${flag}: ` + await text(page, '[data-test=status]'));
		if (flag === '--inverter-down')
			assert(await text(page, '[data-test=pv-power]') === '–', 'a power value shown while the inverter is down');
		await page.screenshot({ path: path.join(SHOTS, 'status' + flag + '.png') });
		await ctx.close();
		await stop(demo.proc);
	}
});

await test('token login when reachable from the network', async () => {
	const demo = await startDemo(['--interval-s', '60', '--token', 'a-long-enough-test-token']);
	const ctx = await browser.newContext();
	const page = await ctx.newPage();
	await page.goto(demo.url);
	await page.waitForSelector('#login:not([hidden])', { timeout: T });
	assert(await page.locator('#app[hidden]').count() === 1, 'dashboard visible before login');
	await page.fill('#login-token', 'wrong-wrong-wrong-wrong');
	await page.click('#login-form button');
	await page.waitForFunction(() => /wrong token/.test(document.querySelector('#login-message').textContent),
	    null, { timeout: T });
	await page.fill('#login-token', 'a-long-enough-test-token');
	await page.click('#login-form button');
	await page.waitForSelector('[data-test=status].status-ok', { timeout: T });
	const cookies = await ctx.cookies();
	const c = cookies.find((x) => x.name === 'pw_session');
	assert(c && c.httpOnly && c.sameSite === 'Strict', 'session cookie flags: ' + JSON.stringify(cookies));
	await ctx.close();
	await stop(demo.proc);
});

await browser.close();
await stop(slow.proc);
await stop(fast.proc);
finish();
