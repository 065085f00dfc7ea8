/*
 * market.js: the market's cards: the price now (api/market: clearing price
 * history, tariffs, order book depth), the buy form, my open orders and their
 * history (api/orders), my trades (api/trades), the statements
 * (api/statements) and the auto-sell settings (api/settings) with their
 * forms.  Orders, trades and statements come in pages of 20 rows; "more"
 * fetches older pages with ?before=CURSOR.  Part of the dashboard page:
 * core.js first (docs/dashboard.md).
 */
'use strict';
(function (PW) {
	const { S, $, RENDER, onStart, api, refresh, fmtWh, fmtPrice, ctPerKwh, fmtMoney, fmtSignedMoney, fmtSignedWh, fmtTime, fmtInterval, intervalS, parseWhole, parsePrice, el, row, badge, signed, labelsOf, setMessage, fillTable, hasBattery, SHOW_ROWS } = PW;
	const SHOW_OPEN = 10; /* open orders shown before "Show all" */
	const OPEN_STATUSES = ['queued', 'pending', 'acked'];

	/* The latest page of a paged document plus the older pages loaded by
	 * "more" (only the rows below the latest page's cursor, so nothing
	 * shows twice), and the "more" button. */
	function pagedRows(name, key, doc) {
		const prev = S.latest[name];
		S.latest[name] = doc;
		if (S.cursor[name] === null) S.cursor[name] = { before: doc.before, more: !!doc.more };
		if (!S.older[name].length) {
			S.cursor[name] = { before: doc.before, more: !!doc.more };
			return [];
		}
		/* older pages are loaded: the rows that left the latest page join
		 * them, so that nothing falls between the two */
		const bound = doc.before;
		const rows = ((prev && prev[name]) || []).filter((x) => name !== 'orders' || !OPEN_STATUSES.includes(x.status))
		    .concat(S.older[name]);
		const seen = new Set();
		S.older[name] = bound === null || bound === undefined ? [] : rows.filter((x) => {
			const id = name === 'orders' ? x.seq : name === 'statements' ? x.interval :
			    [x.interval, x.side, x.qty_wh, x.price_uper_kwh].join('/');
			if (x[key] >= bound || seen.has(id)) return false;
			seen.add(id);
			return true;
		});
		return S.older[name];
	}
	/* Shows the first S.shown[name] of the rows, and "more" while there are
	 * more loaded or older pages at the agent. */
	function showRows(name, id, rows) {
		const shown = rows.slice(0, S.shown[name]);
		fillTable(id, shown);
		$(id + '-more').hidden = !(rows.length > shown.length || (S.cursor[name] && S.cursor[name].more));
	}
	async function showMore(name) {
		S.shown[name] += SHOW_ROWS;
		let have = ((S.latest[name] || {})[name] || []).length + S.older[name].length;
		if (name === 'orders') /* open orders are not part of the history */
			have -= ((S.latest.orders || {}).orders || []).filter((x) => OPEN_STATUSES.includes(x.status)).length;
		const c = S.cursor[name];
		if (have < S.shown[name] && c && c.more && c.before !== null && c.before !== undefined) {
			const r = await api('GET', 'api/' + name + '?before=' + encodeURIComponent(c.before));
			if (r.ok) {
				S.older[name] = S.older[name].concat(r.body[name] || []);
				S.cursor[name] = { before: r.body.before, more: !!r.body.more };
			}
		}
		RENDER[name](S.latest[name]);
	}

	/* Clearing price history (uPlot, ct/kWh); intervals without a trade
	 * have no price and are left out. */
	function ensurePriceChart() {
		const box = $('price-chart');
		if (S.pchart || typeof uPlot === 'undefined' || box.clientWidth === 0) return;
		box.dataset.yUnit = 'ct/kWh';
		S.pchart = new uPlot({
			width: box.clientWidth,
			height: 160,
			series: [{ value: (u, v) => (v === null ? '–' : fmtTime(v)) },
				{ label: 'Clearing price', stroke: '#2364c4', width: 2, fill: 'rgba(35,100,196,0.08)',
				  value: (u, v) => (v === null || v === undefined ? '–' : v.toFixed(2) + ' ct/kWh') }],
			axes: [
				{ space: intervalS() < 60 ? 100 : 70, values: (u, vals) => vals.map((v) => fmtTime(v)) },
				{ label: 'ct/kWh', labelSize: 20, size: 44, space: 24, values: (u, vals) => vals.map((v) => v.toFixed(0)) },
			],
			scales: { x: { time: true } },
			legend: { show: false },
		}, [[], []], box);
		if (S.market) renderMarket(S.market);
		new ResizeObserver(() => {
			if (S.pchart && box.clientWidth > 0) S.pchart.setSize({ width: box.clientWidth, height: 160 });
		}).observe(box);
	}
	function renderMarket(m) {
		S.market = m;
		if (m.currency) S.currency = m.currency;
		/* An interval without a trade has no clearing price (a price of 0 or
		 * below with volume is one). */
		const prices = (m.prices || []).filter((p) => p.volume_wh > 0)
		    .sort((a, b) => a.interval - b.interval);
		S.priceData = [prices.map((p) => p.start !== undefined ? p.start : p.interval * intervalS()),
			prices.map((p) => p.price_uper_kwh / 1e4)];
		$('price-chart').hidden = prices.length === 0;
		ensurePriceChart();
		if (S.pchart) {
			S.pchart.setData(S.priceData);
			if (prices.length === 1) {
				const x = S.priceData[0][0];
				S.pchart.setScale('x', { min: x - 8 * intervalS(), max: x + 2 * intervalS() });
			}
		}
		const last = prices[prices.length - 1];
		$('last-price').textContent = last
		    ? 'Last clearing price ' + fmtPrice(last.price_uper_kwh) + ' at ' + fmtInterval(last.interval) +
		      ' (' + fmtWh(last.volume_wh || 0) + ' traded)'
		    : 'No clearing price yet.';
		const known = m.feed_in_uper_kwh !== undefined && m.retail_uper_kwh !== undefined;
		const surplus = known && m.feed_in_uper_kwh < 0 ? 'what the grid charges to take your surplus'
		    : 'what the grid pays for your surplus';
		$('tariffs').textContent = known ? 'Now a price lies between the feed-in tariff ' + fmtPrice(m.feed_in_uper_kwh) +
		    ' (' + surplus + ') and the retail tariff ' + fmtPrice(m.retail_uper_kwh) +
		    ' (what the grid charges).' : '';
		const labels = labelsOf('depth');
		const rows = (m.depth || []).slice().sort((a, b) => a.interval - b.interval).map((d) => {
			const bids = d.bids || [], asks = d.asks || [];
			const sum = (xs) => xs.reduce((a, x) => a + (x.qty_wh || 0), 0);
			const bestBid = bids.length ? Math.max(...bids.map((x) => x.price_uper_kwh)) : null;
			const bestAsk = asks.length ? Math.min(...asks.map((x) => x.price_uper_kwh)) : null;
			return row([fmtTime(d.start !== undefined ? d.start : d.interval * intervalS()),
				d.gate_close !== undefined ? fmtTime(d.gate_close) : '–', fmtWh(sum(bids)),
				bestBid === null ? '–' : fmtPrice(bestBid), fmtWh(sum(asks)),
				bestAsk === null ? '–' : fmtPrice(bestAsk)], labels);
		});
		fillTable('depth', rows);
		if (known) {
			$('buy-bounds').textContent = 'Allowed: ' + fmtPrice(m.feed_in_uper_kwh) + ' (feed-in) to ' +
			    fmtPrice(m.retail_uper_kwh) + ' (retail).';
			$('set-bounds').textContent = 'At least the feed-in tariff ' + fmtPrice(m.feed_in_uper_kwh) +
			    (m.feed_in_uper_kwh < 0 ? ': the grid charges that for your surplus; a negative minimum pays a neighbour to take it.'
			        : ': the grid pays that for your surplus anyway.');
			if (S.settings) renderSettings(S.settings);
		}
	}

	function sideText(x) {
		return (x.side === 'buy' ? 'Buy' : 'Sell') + (x.auto ? ' (auto)' : '');
	}
	function statusBadge(x) {
		const cls = x.status === 'rejected' ? 'bad' : x.status === 'filled' ? 'ok' :
		    OPEN_STATUSES.includes(x.status) ? 'warn' : '';
		return el('span', x.status + (x.reason ? ': ' + x.reason : ''), 'badge ' + cls);
	}
	function orderRow(x, labels, open) {
		let action = '';
		if (open) {
			const b = el('button', 'Cancel');
			b.type = 'button';
			b.dataset.cancel = String(x.seq);
			b.dataset.test = 'cancel';
			b.setAttribute('aria-label', 'Cancel ' + x.side + ' of ' + fmtWh(x.qty_wh) + ' for ' + fmtInterval(x.interval));
			action = b;
		}
		const tr = row([sideText(x), fmtInterval(x.interval), fmtWh(x.qty_wh), fmtPrice(x.price_uper_kwh),
			statusBadge(x), open ? action : badge(x.verified)], labels);
		tr.dataset.seq = String(x.seq);
		tr.dataset.status = x.status;
		return tr;
	}

	function renderOrders(o) {
		const all = o.orders || [];
		const open = all.filter((x) => OPEN_STATUSES.includes(x.status)).sort((a, b) => a.interval - b.interval || a.seq - b.seq);
		const closed = all.filter((x) => !OPEN_STATUSES.includes(x.status)).sort((a, b) => b.interval - a.interval || b.seq - a.seq);
		const older = pagedRows('orders', 'interval', o);
		const lo = labelsOf('orders'), lh = labelsOf('history');
		const shown = S.showAllOpen ? open : open.slice(0, SHOW_OPEN);
		fillTable('orders', shown.map((x) => orderRow(x, lo, true)));
		const more = $('orders-more');
		more.hidden = open.length <= SHOW_OPEN;
		more.textContent = S.showAllOpen ? 'Show fewer' : 'Show all ' + open.length + ' open orders';
		showRows('orders', 'history', closed.concat(older).map((x) => orderRow(x, lh, false)));
	}

	function renderTrades(t) {
		const list = (t.trades || []).concat(pagedRows('trades', 'interval', t));
		const labels = labelsOf('trades');
		showRows('trades', 'trades', list.map((x) => row([fmtInterval(x.interval), x.side === 'buy' ? 'Bought' : 'Sold',
			fmtWh(x.qty_wh), fmtPrice(x.price_uper_kwh), signed(x.side === 'buy' ? -x.amount_u : x.amount_u),
			x.fee_u === undefined || x.fee_u === null ? 'not known yet' : fmtMoney(x.fee_u)], labels)));
	}

	function renderStatements(s) {
		const list = (s.statements || []).concat(pagedRows('statements', 'interval', s));
		const bat = hasBattery();
		for (const id of ['st-battery-h', 'st-battery-dt', 'st-battery-dd']) $(id).hidden = !bat;
		const labels = labelsOf('statements');
		showRows('statements', 'statements', list.map((x) => {
			/* positive = energy or money to you: bought and imported are + */
			const cells = [fmtInterval(x.interval), fmtSignedWh(x.traded_wh), fmtSignedWh(-x.delivered_wh),
				fmtWh(x.imbalance_wh), fmtMoney(x.fees_u), signed(x.net_u), signed(x.baseline_u),
				signed(x.saving_u), badge(x.verified)];
			/* of what was sold, from the battery: only with a battery */
			if (bat) cells.splice(2, 0, fmtWh(x.battery_sold_wh || 0));
			const tr = row(cells, labels);
			if (x.flagged) tr.title = 'Settled without a meter reading (conservative rule)';
			return tr;
		}));
		const t = s.totals || {};
		$('tot-earned').textContent = fmtMoney(t.earned_u || 0);
		$('tot-paid').textContent = fmtMoney(t.paid_u || 0);
		$('tot-saving').textContent = fmtSignedMoney(t.saving_u || 0);
		renderCurtailed(s.curtailed);
	}

	/* export curtailment (docs/agent-energy.md "Curtailment"): the limits of
	 * the statements' intervals and what they saved (an estimate) */
	function renderCurtailed(list) {
		const ul = $('curtailed');
		ul.textContent = '';
		for (const e of list || []) {
			const li = document.createElement('li');
			li.textContent = e.text + ': ' + (e.saved_u === null || e.saved_u === undefined
			    ? 'saving not known (no forecast)'
			    : 'saved about ' + fmtSignedMoney(e.saved_u) + ' (estimate: ' + fmtWh(e.not_exported_wh) + ' not exported)');
			ul.appendChild(li);
		}
		ul.hidden = ul.childElementCount === 0;
	}

	function renderSettings(s) {
		S.settings = s;
		const form = $('settings-form');
		if (form.contains(document.activeElement)) return; /* do not overwrite what the user types */
		$('set-auto').checked = !!s.auto_sell;
		const base = s.min_price_base || 'abs';
		$('set-base').value = base;
		if (base === 'retail') {
			$('set-min').value = ctPerKwh(-s.min_price_uper_kwh); /* "2 below retail" */
		} else if (base === 'feedin') {
			$('set-min').value = ctPerKwh(s.min_price_uper_kwh);
		} else {
			/* a minimum below feed-in (0: not set) sells at feed-in: show that */
			const m = S.market;
			const floor = m && m.feed_in_uper_kwh !== undefined ? m.feed_in_uper_kwh : 0;
			$('set-min').value = ctPerKwh(Math.max(s.min_price_uper_kwh, floor));
		}
		$('set-reserve').value = String(s.reserve_wh);
	}

	/* ---- forms --------------------------------------------------------- */
	function invalid(input, id, text) {
		input.setAttribute('aria-invalid', 'true');
		input.focus();
		setMessage(id, text, false);
		return null;
	}

	function readBid() {
		const qtyIn = $('buy-qty'), priceIn = $('buy-price'), countIn = $('buy-count');
		for (const i of [qtyIn, priceIn, countIn]) i.removeAttribute('aria-invalid');
		const qt = qtyIn.value.trim();
		if (qt === '') return invalid(qtyIn, 'buy-message', 'Enter the energy to buy, in Wh.');
		const qty = parseWhole(qt);
		if (qty === null || qty < 1)
			return invalid(qtyIn, 'buy-message', 'Energy must be a whole number of Wh, at least 1 (for example 500).');
		if (qty > 1e9) return invalid(qtyIn, 'buy-message', 'Energy is too large (at most 1 000 000 000 Wh).');
		const pt = priceIn.value.trim();
		if (pt === '') return invalid(priceIn, 'buy-message', 'Enter the maximum price you will pay per kWh.');
		const typed = parsePrice(pt);
		if (typed === null)
			return invalid(priceIn, 'buy-message', 'Maximum price must be a number of cents per kWh like 25 or 25.5.');
		const base = $('buy-base').value;
		if (base !== 'abs' && typed < 0)
			return invalid(priceIn, 'buy-message', 'Enter how many cents per kWh ' + (base === 'retail' ? 'below the retail' : 'above the feed-in') +
			    ' tariff, 0 or more.');
		/* relative: each interval's own tariff, checked by the agent */
		const price = base === 'retail' ? -typed : typed;
		const m = base === 'abs' ? S.market : null;
		if (m && m.feed_in_uper_kwh !== undefined && m.retail_uper_kwh !== undefined &&
		    (price < m.feed_in_uper_kwh || price > m.retail_uper_kwh))
			return invalid(priceIn, 'buy-message', 'Maximum price must be between ' + fmtPrice(m.feed_in_uper_kwh) +
			    ' and ' + fmtPrice(m.retail_uper_kwh) + ' (the feed-in and retail tariffs).');
		if (price > 100e6) return invalid(priceIn, 'buy-message', 'Maximum price is too high.');
		if (price < -100e6) return invalid(priceIn, 'buy-message', 'Maximum price is too low.');
		const bid = { qty_wh: qty, max_price_uper_kwh: price };
		if (base !== 'abs') bid.price_base = base;
		if ($('buy-when').value === 'standing') {
			const n = parseWhole(countIn.value);
			if (n === null || n < 1 || n > 96)
				return invalid(countIn, 'buy-message', 'Number of intervals must be a whole number from 1 to 96.');
			bid.intervals = n;
		}
		return bid;
	}

	async function onBuy(ev) {
		ev.preventDefault();
		const bid = readBid();
		if (!bid) return;
		const btn = $('buy-submit');
		btn.disabled = true;
		setMessage('buy-message', 'Sending…', true);
		const r = await api('POST', 'api/orders', bid);
		btn.disabled = false;
		if (r.ok) {
			const limit = !bid.price_base ? fmtPrice(bid.max_price_uper_kwh)
			    : bid.price_base === 'retail' ? 'the retail tariff minus ' + fmtPrice(-bid.max_price_uper_kwh)
			    : 'the feed-in tariff plus ' + fmtPrice(bid.max_price_uper_kwh);
			setMessage('buy-message', 'Bid placed: ' + fmtWh(bid.qty_wh) + ' at up to ' +
			    limit + (bid.intervals > 1 ? ' for ' + bid.intervals + ' intervals' : '') +
			    '.' + (r.body.message ? ' ' + r.body.message : ''), true);
			$('buy-message').dataset.seq = String(r.body.seq); /* for tests, not shown */
			$('buy-qty').value = '';
			refresh('orders');
		} else {
			setMessage('buy-message', 'Not placed: ' + (r.body.error || 'error ' + r.status), false);
		}
	}

	async function onCancel(ev) {
		const b = ev.target.closest('button[data-cancel]');
		if (!b) return;
		b.disabled = true;
		const seq = b.dataset.cancel;
		const what = b.getAttribute('aria-label').replace(/^Cancel /, '');
		const r = await api('DELETE', 'api/orders/' + encodeURIComponent(seq));
		if (r.ok) setMessage('orders-message', 'Cancelled: ' + what + '.', true);
		else {
			b.disabled = false;
			setMessage('orders-message', 'Not cancelled (' + what + '): ' + (r.body.error || 'error ' + r.status), false);
		}
		refresh('orders');
	}

	async function onSettings(ev) {
		ev.preventDefault();
		const minIn = $('set-min'), resIn = $('set-reserve');
		minIn.removeAttribute('aria-invalid');
		resIn.removeAttribute('aria-invalid');
		const typed = parsePrice(minIn.value);
		if (typed === null) return invalid(minIn, 'set-message', 'Minimum price must be a number of cents per kWh like 12 or 12.5.');
		const base = $('set-base').value;
		/* relative: an amount above feed-in or below retail, each interval's own */
		if (base !== 'abs' && typed < 0)
			return invalid(minIn, 'set-message', 'Enter how many cents per kWh ' + (base === 'retail' ? 'below the retail' : 'above the feed-in') +
			    ' tariff, 0 or more.');
		const min = base === 'retail' ? -typed : typed;
		const m = base === 'abs' ? S.market : null;
		if (m && m.feed_in_uper_kwh !== undefined && min < m.feed_in_uper_kwh)
			return invalid(minIn, 'set-message', 'Minimum price must be at least the feed-in tariff ' + fmtPrice(m.feed_in_uper_kwh) +
			    ': below it you would sell to a neighbour for less than the grid pays you for the same energy.');
		if (m && m.retail_uper_kwh && min > m.retail_uper_kwh)
			return invalid(minIn, 'set-message', 'Minimum price must be at most the retail tariff ' + fmtPrice(m.retail_uper_kwh) +
			    ': no neighbour pays more than the grid charges.');
		const res = parseWhole(resIn.value);
		if (res === null) return invalid(resIn, 'set-message', 'Reserve must be a whole number of Wh (0 or more).');
		const r = await api('PUT', 'api/settings', { min_price_uper_kwh: min, min_price_base: base, reserve_wh: res, auto_sell: $('set-auto').checked });
		if (r.ok) {
			setMessage('set-message', 'Settings saved.', true);
			document.activeElement.blur();
			renderSettings(r.body);
		} else {
			setMessage('set-message', 'Not saved: ' + (r.body.error || 'error ' + r.status), false);
		}
	}

	RENDER.market = renderMarket;
	RENDER.orders = renderOrders;
	RENDER.trades = renderTrades;
	RENDER.statements = renderStatements;
	RENDER.settings = renderSettings;
	onStart.push(ensurePriceChart);

	document.addEventListener('DOMContentLoaded', () => {
		$('buy-form').addEventListener('submit', onBuy);
		$('buy-when').addEventListener('change', () => {
			$('buy-count-row').hidden = $('buy-when').value !== 'standing';
		});
		$('orders').addEventListener('click', onCancel);
		$('orders-more').addEventListener('click', () => {
			S.showAllOpen = !S.showAllOpen;
			if (S.latest.orders) renderOrders(S.latest.orders);
		});
		for (const name of ['trades', 'statements']) $(name + '-more').addEventListener('click', () => showMore(name));
		$('history-more').addEventListener('click', () => showMore('orders'));
		$('settings-form').addEventListener('submit', onSettings);
	});
})(window.PW);
