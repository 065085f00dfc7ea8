// tests/browser/outlook.mjs: the price outlook card (api/outlook) against
// pw-dashdemo: a dynamic day of retail and feed-in tariffs with a negative
// feed-in stretch, the recent clearing prices, the cheapest and dearest
// interval marked on the chart and named in words; an outdated outlook
// (exchange unreachable) and none at all said so.  At 1280 and 390 px;
// screenshots in build/browser/outlook-*.png.
import { launch, startDemo, watchErrors, assert, test, finish, SHOTS } from './lib.mjs';
import path from 'node:path';

const T = 60000;
const browser = await launch();
const live = await startDemo(['--interval-s', '60']);
const down = await startDemo(['--interval-s', '60', '--exchange-down']);
const none = await startDemo(['--interval-s', '60', '--no-outlook']);

async function openPage(url, viewport, ready = '[data-test=status]') {
	const ctx = await browser.newContext({ viewport });
	const page = await ctx.newPage();
	const errors = watchErrors(page);
	await page.goto(url);
	await page.waitForSelector(ready, { timeout: T });
	return { ctx, page, errors };
}
const text = (page, sel) => page.locator(sel).first().innerText();

for (const [w, h] of [[1280, 900], [390, 844]]) {
	await test(`outlook at ${w} px: tariffs ahead, clearing prices, cheapest and dearest named`, async () => {
		const { ctx, page, errors } = await openPage(live.url, { width: w, height: h });
		await page.waitForSelector('[data-test=outlook-chart] canvas', { timeout: T });
		await page.waitForSelector('[data-test=outlook-chart][data-zero-y]', { timeout: T });
		const st = page.locator('[data-test=outlook-state]');
		assert(await st.getAttribute('data-state') === 'current', 'state is not current');
		assert(/Tariffs of the next 24 intervals as the exchange signed them/.test(await st.innerText()),
		    'state text: ' + await st.innerText());
		// the words below the chart: the cheapest (retail 12.0) and dearest (41.0)
		const cheap = await text(page, '[data-test=outlook-cheapest]');
		const dear = await text(page, '[data-test=outlook-dearest]');
		assert(/^Cheapest: .+–.+, retail 12\.0 ct\/kWh, feed-in −5\.0 ct\/kWh$/.test(cheap), 'cheapest: ' + cheap);
		assert(/^Dearest: .+–.+, retail 41\.0 ct\/kWh, feed-in 7\.0 ct\/kWh$/.test(dear), 'dearest: ' + dear);
		// the legend names every line
		const legend = await page.locator('#outlook-chart .u-legend').innerText();
		for (const l of ['Retail (ceiling)', 'Feed-in (floor)', 'Clearing price', 'Cheapest', 'Dearest'])
			assert(legend.includes(l), `legend lacks ${l}: ${legend}`);
		// a negative feed-in is drawn below the zero line (y grows downwards)
		const box = page.locator('[data-test=outlook-chart]');
		const zeroY = Number(await box.getAttribute('data-zero-y'));
		const floorY = Number(await box.getAttribute('data-min-floor-y'));
		assert(Number(await box.getAttribute('data-min-floor')) === -5, 'lowest floor is not -5 ct/kWh');
		assert(floorY > zeroY + 5, `negative floor at y=${floorY} not below zero at y=${zeroY}`);
		// the chart fits the card: no horizontal scrolling of the page
		const fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
		assert(fits, 'the page scrolls sideways');
		const cw = await page.evaluate(() => document.querySelector('#outlook-chart canvas').getBoundingClientRect().width);
		assert(cw > 250 && cw <= w, `chart width ${cw}`);
		await page.locator('#outlook').scrollIntoViewIfNeeded();
		await page.locator('#outlook').screenshot({ path: path.join(SHOTS, `outlook-${w}.png`) });
		assert(errors.length === 0, 'console errors: ' + errors.join('; '));
		await ctx.close();
	});
}

await test('outlook outdated when the exchange is unreachable: said so, chart dimmed', async () => {
	const { ctx, page, errors } = await openPage(down.url, { width: 1280, height: 900 });
	await page.waitForSelector('[data-test=outlook-state][data-state=stale]', { timeout: T });
	const t = await text(page, '[data-test=outlook-state]');
	assert(/^Outdated: .*exchange is unreachable/.test(t), 'stale text: ' + t);
	assert(await page.locator('[data-test=outlook-chart].stale').count() === 1, 'chart not marked stale');
	await page.locator('#outlook').screenshot({ path: path.join(SHOTS, 'outlook-stale.png') });
	assert(errors.length === 0, 'console errors: ' + errors.join('; '));
	await ctx.close();
});

await test('no outlook: said so, no invented tariffs, no marks', async () => {
	const { ctx, page, errors } = await openPage(none.url, { width: 390, height: 844 });
	await page.waitForSelector('[data-test=outlook-state][data-state=none]', { timeout: T });
	assert(/^No price outlook yet/.test(await text(page, '[data-test=outlook-state]')), 'no-outlook text');
	assert(await page.locator('[data-test=outlook-cheapest]').count() === 0, 'a cheapest mark without an outlook');
	assert(await page.locator('[data-test=outlook-dearest]').count() === 0, 'a dearest mark without an outlook');
	assert(errors.length === 0, 'console errors: ' + errors.join('; '));
	await ctx.close();
});

await test('relative bid: "retail minus" sent with its base, confirmed in words', async () => {
	const { ctx, page, errors } = await openPage(live.url, { width: 1280, height: 900 }, '[data-test=status].status-ok');
	let body = null;
	page.on('request', (r) => {
		if (r.method() === 'POST' && r.url().endsWith('/api/orders')) body = r.postDataJSON();
	});
	await page.fill('[data-test=buy-qty]', '500');
	await page.fill('[data-test=buy-price]', '5');
	await page.selectOption('[data-test=buy-base]', 'retail');
	await page.click('[data-test=buy-submit]');
	await page.waitForFunction(() => /Bid placed|Not placed/.test(document.querySelector('[data-test=buy-message]').textContent), null, { timeout: T });
	assert(body && body.max_price_uper_kwh === -50000 && body.price_base === 'retail', 'sent: ' + JSON.stringify(body));
	const msg = await text(page, '[data-test=buy-message]');
	assert(/the retail tariff minus 5\.0 ct\/kWh/.test(msg), 'message: ' + msg);
	assert(errors.length === 0, 'console errors: ' + errors.join('; '));
	await ctx.close();
});

await browser.close();
finish();
