// tests/browser/dashboard.mjs: the dashboard page in headless chromium
// against pw-dashdemo (fake household, in-memory orders).  Screenshots go to
// build/browser/.
import { launch, startDemo, stop, watchErrors, assert, test, finish, SHOTS } from './lib.mjs';
import path from 'node:path';

const T = 60000; // generous: 2 shared cores, many helpers, maybe sanitizers
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
		'buy-price', 'buy-submit', 'orders', 'trades', 'statements', 'status', 'today-sold', 'today-bought',
		'today-net', 'energy-chart', 'household'])
		assert(await page.locator(`[data-test=${t}]`).count() === 1, `data-test=${t} missing`);
	assert(/\d+(\.\d+)? k?W/.test(await text(page, '[data-test=pv-power]')), 'pv-power has no value');
	// uPlot drew the price history.
	await page.waitForSelector('[data-test=price-chart] canvas', { timeout: T });
	await page.waitForSelector('[data-test=energy-chart] canvas', { timeout: T });
	assert(await text(page, '[data-test=household]') === 'Demo household', 'no household name in the header');
	// units on the chart axes (drawn on the canvas; the page names them)
	assert(/Wh per interval/.test(await page.getAttribute('[data-test=energy-chart]', 'data-y-unit')), 'energy axis without a unit');
	assert(/ct\/kWh/.test(await page.getAttribute('[data-test=price-chart]', 'data-y-unit')), 'price axis without a unit');
	assert(/All time/.test(await text(page, '[data-test=all-time]')), 'all-time totals not labelled');
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
		['500', '0.2.5', 'next', /number of cents per kWh like 25/],
		['500', '150', 'next', /between 8\.0 ct\/kWh and 32\.0 ct\/kWh/],
		['500', '1', 'next', /feed-in and retail/],
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
	await page.fill('[data-test=buy-price]', '25');
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
	await page.fill('[data-test=buy-price]', '25');
	await page.click('[data-test=buy-submit]');
	await page.waitForFunction(() => /Not placed/.test(document.querySelector('[data-test=buy-message]').textContent),
	    null, { timeout: T });
	assert(/at most 20000 Wh per interval/.test(await text(page, '[data-test=buy-message]')), 'reason missing');
	await ctx.close();
});

async function placeBid(page, qty, price, count) {
	await page.fill('[data-test=buy-qty]', String(qty));
	await page.fill('[data-test=buy-price]', String(price));
	await page.selectOption('[data-test=buy-when]', count ? 'standing' : 'next');
	if (count) await page.fill('[data-test=buy-count]', String(count));
	await page.click('[data-test=buy-submit]');
	await page.waitForFunction(() => /Bid placed/.test(document.querySelector('[data-test=buy-message]').textContent),
	    null, { timeout: T });
	return page.getAttribute('[data-test=buy-message]', 'data-seq');
}

await test('place a bid through the form, then cancel it', async () => {
	const { ctx, page, errors } = await openPage(slow.url);
	const seq = await placeBid(page, 750, '30');
	const row = page.locator(`[data-test=orders] tr[data-seq="${seq}"]`);
	await row.waitFor({ timeout: T });
	const rt = await row.innerText();
	assert(/750 Wh/.test(rt), 'qty not shown');
	assert(/30\.0 ct\/kWh/.test(rt), 'price not shown: ' + rt);
	assert(!new RegExp('\\b' + seq + '\\b').test(rt), 'the order number is shown as a label: ' + rt);
	await page.waitForSelector(`[data-test=orders] tr[data-seq="${seq}"][data-status=acked]`, { timeout: T });
	await page.screenshot({ path: path.join(SHOTS, 'bid-placed.png'), fullPage: true });
	await row.locator('button[data-test=cancel]').click();
	// a cancelled order is no longer open: it moves to the history
	await page.waitForSelector(`[data-test=history] tr[data-seq="${seq}"][data-status=cancelled]`, { state: 'attached', timeout: T });
	assert(await page.locator(`[data-test=orders] tr[data-seq="${seq}"]`).count() === 0, 'cancelled order still listed as open');
	assert(/Cancelled: buy of 750 Wh/.test(await text(page, '[data-test=orders-message]')), 'no cancel message');
	assert(await page.locator(`[data-test=history] tr[data-seq="${seq}"] button`).count() === 0, 'cancelled order has a button');
	assert(errors.length === 0, 'console errors: ' + errors.join('; '));
	await ctx.close();
});

await test('a bid becomes a trade, a verified statement and today\'s figures after clearing', async () => {
	const { ctx, page } = await openPage(fast.url);
	const before = await text(page, '[data-test=today-bought]');
	const seq = await placeBid(page, 400, '32');
	await page.waitForSelector(`[data-test=history] tr[data-seq="${seq}"][data-status=filled]`, { state: 'attached', timeout: T });
	await page.waitForFunction(() => [...document.querySelectorAll('[data-test=trades] tbody tr')]
	    .some((r) => /\bBought\b/.test(r.innerText) && /\b400 Wh/.test(r.innerText)), null, { timeout: T });
	const rows = await page.locator('[data-test=trades] tbody tr').allInnerTexts();
	assert(rows.some((r) => /\bBought\b/.test(r) && /\b400 Wh/.test(r) && /ct\/kWh/.test(r) && /−0\.\d\d EUR/.test(r)),
	    'no buy trade of 400 Wh paid with two decimals: ' + rows.join(' | '));
	assert(!rows.some((r) => /pending/.test(r)), 'a trade shows a badge that never resolves');
	// the statement of the trade's interval: + energy to the household
	const when = rows.find((r) => /\bBought\b/.test(r) && /\b400 Wh/.test(r)).split('\t')[0].trim();
	await page.waitForFunction((w) => [...document.querySelectorAll('[data-test=statements] tbody tr')]
	    .some((r) => r.cells[0].textContent === w && /in the log/.test(r.textContent)), when, { timeout: T });
	const st = (await page.locator('[data-test=statements] tbody tr').allInnerTexts()).find((r) => r.startsWith(when));
	assert(/^\S+ \S+\s+\+\d+ Wh\s+\+\d+ Wh/.test(st), 'a purchase is not + energy to the household: ' + st);
	assert(!/–/.test(await text(page, '[data-test=total-paid]')), 'totals not shown');
	// the Today card follows
	await page.waitForFunction((b) => document.querySelector('[data-test=today-bought]').textContent !== b, before, { timeout: T });
	assert(/[−+]?\d+\.\d\d EUR/.test(await text(page, '[data-test=today-net]')), 'net today: ' + await text(page, '[data-test=today-net]'));
	await page.screenshot({ path: path.join(SHOTS, 'trade.png'), fullPage: true });
	await ctx.close();
});

await test('auto-sell settings are saved and validated', async () => {
	const { ctx, page } = await openPage(slow.url);
	await page.fill('[data-test=set-min]', 'cheap');
	await page.click('[data-test=set-submit]');
	assert(/Minimum price must be a number/.test(await text(page, '[data-test=set-message]')), 'bad min price accepted');
	// below the feed-in tariff: refused with the reason, nothing sent
	await page.fill('[data-test=set-min]', '5');
	await page.click('[data-test=set-submit]');
	assert(/at least the feed-in tariff 8\.0 ct\/kWh/.test(await text(page, '[data-test=set-message]')),
	    'min price below feed-in: ' + await text(page, '[data-test=set-message]'));
	// and the agent's side says why too
	const r = await page.evaluate(async () => {
		const s = await (await fetch('api/state')).json();
		const res = await fetch('api/settings', { method: 'PUT', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf },
			body: JSON.stringify({ min_price_uper_kwh: 50000, reserve_wh: 0 }) });
		return { status: res.status, body: await res.json() };
	});
	assert(r.status === 400 && /feed-in tariff/.test(r.body.error), 'agent stored a min price below feed-in: ' + JSON.stringify(r));
	await page.fill('[data-test=set-min]', '15');
	await page.fill('[data-test=set-reserve]', '250');
	await page.click('[data-test=set-submit]');
	await page.waitForFunction(() => /Settings saved/.test(document.querySelector('[data-test=set-message]').textContent),
	    null, { timeout: T });
	const s = await page.evaluate(async () => (await fetch('api/settings')).json());
	assert(s.min_price_uper_kwh === 150000 && s.reserve_wh === 250, 'settings not stored: ' + JSON.stringify(s));
	await ctx.close();
});

// Nothing wider than the screen: the page, every table and every cell.
async function overflow(page) {
	return page.evaluate(() => {
		const w = document.documentElement.clientWidth;
		const bad = [];
		if (document.documentElement.scrollWidth > w) bad.push('page ' + document.documentElement.scrollWidth);
		for (const t of document.querySelectorAll('table')) {
			if (t.offsetParent === null) continue; /* hidden */
			const r = t.getBoundingClientRect();
			if (t.scrollWidth > t.clientWidth + 1 || r.right > w + 0.5) bad.push(t.id + ' ' + t.scrollWidth + '/' + t.clientWidth);
			for (const td of t.querySelectorAll('td'))
				if (td.getBoundingClientRect().right > w + 0.5) {
					bad.push(t.id + ' cell "' + td.innerText + '"');
					break;
				}
		}
		return bad;
	});
}

for (const width of [390, 1280]) {
	await test(`readable at ${width} px: no table cut off, nothing scrolls sideways, Today and the energy chart update`, async () => {
		const { ctx, page, errors } = await openPage(fast.url, { width, height: 844 });
		await placeBid(page, 300, '32', 20);
		await page.waitForSelector('[data-test=energy-chart] canvas', { timeout: T });
		const n0 = await page.evaluate(() => document.querySelectorAll('[data-test=history] tbody tr').length);
		const t0 = await text(page, '[data-test=today-bought]');
		// two more intervals clear: the card and the chart follow by themselves
		await page.waitForFunction((b) => document.querySelector('[data-test=today-bought]').textContent !== b, t0, { timeout: T });
		await page.click('#history-box summary');
		await page.click('#statements-card details summary');
		const bad = await overflow(page);
		assert(bad.length === 0, 'wider than the screen: ' + bad.join('; '));
		assert(await page.locator('[data-test=today]').isVisible(), 'no Today card');
		assert(await page.locator('[data-test=energy-chart] canvas').isVisible(), 'no energy chart');
		void n0;
		await page.screenshot({ path: path.join(SHOTS, `dashboard-${width}.png`), fullPage: true });
		assert(errors.length === 0, 'console errors: ' + errors.join('; '));
		await ctx.close();
	});
}

await test('page height stays bounded while a standing bid runs for many intervals (390 px)', async () => {
	const { ctx, page } = await openPage(fast.url, { width: 390, height: 844 });
	await placeBid(page, 200, '32', 90);
	await page.click('#history-box summary'); /* the history open too */
	const height = () => page.evaluate(() => document.documentElement.scrollHeight);
	const clearings = async (k) => {
		for (let i = 0; i < k; i++) {
			const b = await text(page, '[data-test=today-bought]');
			await page.waitForFunction((x) => document.querySelector('[data-test=today-bought]').textContent !== x, b, { timeout: T });
		}
	};
	await clearings(3);
	const h1 = await height();
	await clearings(12);
	const h2 = await height();
	const rows = await page.evaluate(() => ['orders', 'history', 'trades', 'statements']
		.map((t) => document.querySelectorAll(`[data-test=${t}] tbody tr`).length));
	assert(rows.every((n) => n <= 20), 'a table shows more than 20 rows: ' + rows.join(','));
	assert(h2 <= h1 + 200, `page grew from ${h1} to ${h2} px over 12 intervals`);
	assert(h2 < 9000, `page is ${h2} px tall`);
	// "more" loads older rows
	await page.click('[data-test=trades-more]');
	await page.waitForFunction(() => document.querySelectorAll('[data-test=trades] tbody tr').length > 10, null, { timeout: T });
	await ctx.close();
});

await test('no auto-sell card for a household without PV', async () => {
	const demo = await startDemo(['--interval-s', '60', '--no-pv']);
	const { ctx, page } = await openPage(demo.url);
	await page.waitForFunction(() => document.querySelector('[data-test=pv-power]').textContent !== '–', null, { timeout: T });
	assert(await page.locator('[data-test=settings]').isHidden(), 'auto-sell card shown without PV');
	await ctx.close();
	await stop(demo.proc);
	const { ctx: c2, page: p2 } = await openPage(slow.url);
	await p2.waitForSelector('[data-test=settings]:not([hidden])', { timeout: T });
	await c2.close();
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

await test('a market below zero: negative tariff, clearing price and bid shown with a minus sign', async () => {
	const neg = await startDemo(['--interval-s', '60', '--negative']);
	const { ctx, page, errors } = await openPage(neg.url);
	await page.waitForFunction(() => /Last clearing price/.test(document.querySelector('#last-price').textContent),
	    null, { timeout: T });
	const tariffs = await text(page, '#tariffs');
	assert(/feed-in tariff −5\.0 ct\/kWh \(what the grid charges to take your surplus\)/.test(tariffs),
	    'negative feed-in tariff: ' + tariffs);
	const last = await text(page, '#last-price');
	assert(/^Last clearing price −[123]\.\d+ ct\/kWh/.test(last), 'negative clearing price: ' + last);
	assert(/Allowed: −5\.0 ct\/kWh \(feed-in\) to 32\.0 ct\/kWh/.test(await text(page, '#buy-bounds')),
	    'bounds: ' + await text(page, '#buy-bounds'));
	// a bid below zero (paid to take energy) is accepted and listed with its sign
	const seq = await placeBid(page, 300, '-2.5');
	const row = page.locator(`[data-test=orders] tr[data-seq="${seq}"]`);
	await row.waitFor({ timeout: T });
	const rt = await row.innerText();
	assert(/−2\.5 ct\/kWh/.test(rt), 'negative bid price not shown: ' + rt);
	// below the negative feed-in: refused in the page, nothing sent
	await page.fill('[data-test=buy-qty]', '300');
	await page.fill('[data-test=buy-price]', '-6');
	await page.selectOption('[data-test=buy-when]', 'next');
	await page.click('[data-test=buy-submit]');
	const msg = await text(page, '[data-test=buy-message]');
	assert(/between −5\.0 ct\/kWh and 32\.0 ct\/kWh/.test(msg), 'bid below a negative feed-in: ' + msg);
	// export limited (curtailment): when and why, and what it saved, an estimate
	const cur = await text(page, '[data-test=curtailment]');
	assert(/^Export limited \d\d:\d\d-\d\d:\d\d: feed-in -5\.00 ct\/kWh \(now: at most .+ W\)$/.test(cur),
	    'curtailment line: ' + cur);
	await page.waitForFunction(() => !document.querySelector('[data-test=curtailed]').hidden, null, { timeout: T });
	const saved = await text(page, '[data-test=curtailed]');
	assert(/Export limited .*: saved about .+ \(estimate: 250 Wh not exported\)/.test(saved), 'curtailed: ' + saved);
	await page.screenshot({ path: path.join(SHOTS, 'negative.png'), fullPage: true });
	assert(errors.length === 0, 'console errors: ' + errors.join('; '));
	await ctx.close();
	await stop(neg.proc);
});

await browser.close();
await stop(slow.proc);
await stop(fast.proc);
finish();
