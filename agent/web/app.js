/*
 * app.js: the peerwatt dashboard page (vanilla JS, no build step).
 *
 * Reads the JSON documents of the agent (api/state, market, orders, trades,
 * statements, settings), keeps them current through the Server-Sent Events
 * stream api/events (one event per document, same JSON), and sends bids,
 * cancels and settings with the CSRF token from api/state.  All text goes
 * into the DOM through textContent: nothing from the network becomes HTML.
 * Units on the wire are integers (W, Wh, micro-units per kWh, micro-units);
 * this file only converts them for display and parses the form into them.
 */
'use strict';
(function () {
	const DOCS = ['state', 'market', 'orders', 'trades', 'statements', 'settings'];
	const OPEN_STATUSES = ['queued', 'pending', 'acked', 'partial'];
	const S = {
		csrf: '',
		state: null,
		market: null,
		live: false,
		es: null,
		chart: null,
		chartData: null,
		currency: 'EUR',
		retryTimer: null,
	};
	const $ = (id) => document.getElementById(id);

	/* ---- formatting ---------------------------------------------------- */
	function fmtW(w) {
		if (w === null || w === undefined) return '–';
		const a = Math.abs(w);
		if (a >= 1000) return (w / 1000).toFixed(a >= 10000 ? 1 : 2) + ' kW';
		return Math.round(w) + ' W';
	}
	function fmtWh(wh) {
		if (wh === null || wh === undefined) return '–';
		const a = Math.abs(wh);
		if (a >= 10000) return (wh / 1000).toFixed(1) + ' kWh';
		return wh + ' Wh';
	}
	function fmtPrice(p) {
		if (p === null || p === undefined) return '–';
		return (p / 1e6).toFixed(4) + ' ' + S.currency + '/kWh';
	}
	function fmtMoney(u) {
		if (u === null || u === undefined) return '–';
		const v = u / 1e6;
		const digits = Math.abs(v) < 1 && v !== 0 ? 4 : 2;
		return v.toFixed(digits) + ' ' + S.currency;
	}
	function intervalS() {
		return (S.state && S.state.interval_s) || 900;
	}
	function fmtTime(unix) {
		if (unix === null || unix === undefined) return '–';
		const d = new Date(unix * 1000);
		const withSec = intervalS() < 60;
		return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: withSec ? '2-digit' : undefined });
	}
	function fmtInterval(i) {
		return fmtTime(i * intervalS());
	}

	/* ---- parsing the forms (text -> integers, never floats) -------------- */
	function parseWhole(text) {
		const t = String(text).trim();
		if (!/^\d{1,12}$/.test(t)) return null;
		return Number(t);
	}
	/* "0.25" or "0,25" -> 250000 micro-units; null when malformed. */
	function parsePrice(text) {
		const m = /^\s*(\d{1,4})(?:[.,](\d{1,6}))?\s*$/.exec(String(text));
		if (!m) return null;
		const frac = (m[2] || '').padEnd(6, '0');
		return Number(m[1]) * 1e6 + Number(frac);
	}

	/* ---- DOM helpers ------------------------------------------------------- */
	function el(tag, text, cls) {
		const e = document.createElement(tag);
		if (text !== undefined && text !== null) e.textContent = text;
		if (cls) e.className = cls;
		return e;
	}
	function row(cells) {
		const tr = document.createElement('tr');
		for (const c of cells) {
			const td = document.createElement('td');
			if (c instanceof Node) td.appendChild(c);
			else td.textContent = c;
			tr.appendChild(td);
		}
		return tr;
	}
	function badge(verified) {
		if (verified === true) return el('span', '✓ verified', 'badge ok');
		if (verified === false) return el('span', '✗ proof failed', 'badge bad');
		return el('span', '… pending', 'badge');
	}
	function signed(u) {
		return el('span', fmtMoney(u), u > 0 ? 'pos' : u < 0 ? 'neg' : '');
	}
	function setMessage(id, text, ok) {
		const m = $(id);
		m.textContent = text;
		m.className = 'message ' + (ok ? 'ok' : 'error');
	}
	function fillTable(id, rows) {
		const tbody = $(id).querySelector('tbody');
		tbody.replaceChildren(...rows);
		const empty = $(id + '-empty');
		if (empty) empty.hidden = rows.length > 0;
	}

	/* ---- API ----------------------------------------------------------- */
	async function api(method, path, body) {
		const opt = { method, headers: {}, credentials: 'same-origin', cache: 'no-store' };
		if (method !== 'GET') opt.headers['X-CSRF-Token'] = S.csrf;
		if (body !== undefined) {
			opt.headers['Content-Type'] = 'application/json';
			opt.body = JSON.stringify(body);
		}
		let r;
		try {
			r = await fetch(path, opt);
		} catch (e) {
			return { status: 0, ok: false, body: { error: 'Your agent cannot be reached.' } };
		}
		let j = null;
		try {
			j = await r.json();
		} catch (e) {
			j = null;
		}
		if (r.status === 401) showLogin();
		return { status: r.status, ok: r.ok, body: j || {} };
	}

	/* ---- renderers, one per document ------------------------------------- */
	function renderStatus() {
		const st = $('status');
		const s = S.state;
		const problems = [];
		if (!S.live) problems.push('Connection to your agent lost — retrying…');
		/* the agent names each problem, its cause and what to do (docs/dashboard.md) */
		if (s && Array.isArray(s.problems))
			s.problems.forEach((p) => problems.push(p.message + ' ' + p.action));
		if (problems.length) {
			st.textContent = problems.join(' ');
			st.className = 'status status-bad';
		} else if (s && ((s.exchange && !s.exchange.reachable) || (s.inverter && !s.inverter.reachable))) {
			st.textContent = 'Connecting to ' + (s.exchange && !s.exchange.reachable ? 'the exchange' : 'the inverter') + '…';
			st.className = 'status status-wait';
		} else if (s) {
			st.textContent = 'Live · exchange and inverter connected' +
			    (s.interval !== undefined ? ' · interval ' + fmtInterval(s.interval) : '');
			st.className = 'status status-ok';
		}
	}

	function renderState(s) {
		if (s.csrf) S.csrf = s.csrf;
		S.state = s;
		if (s.household) $('household').textContent = '· ' + s.household;
		$('pv-power').textContent = fmtW(s.pv_w);
		$('house-power').textContent = fmtW(s.house_w);
		const g = s.grid_w;
		$('grid-label').textContent = g === null || g === undefined ? 'Grid' : g >= 0 ? 'Grid import' : 'Grid export';
		$('grid-power').textContent = g === null || g === undefined ? '–' : fmtW(Math.abs(g));
		$('surplus').textContent = fmtW(s.surplus_w);
		$('forecast').textContent = s.forecast_wh !== null && s.forecast_wh !== undefined
		    ? 'Forecast surplus for the next interval: ' + fmtWh(s.forecast_wh) : '';
		renderStatus();
	}

	function ensureChart() {
		const box = $('price-chart');
		if (S.chart || typeof uPlot === 'undefined' || box.clientWidth === 0) return;
		S.chart = new uPlot({
			width: box.clientWidth,
			height: 220,
			series: [
				{},
				{ label: 'Clearing price', stroke: '#2364c4', width: 2, fill: 'rgba(35,100,196,0.08)',
				  value: (u, v) => (v === null || v === undefined ? '–' : v.toFixed(4) + ' ' + S.currency + '/kWh') },
			],
			axes: [{}, { values: (u, vals) => vals.map((v) => v.toFixed(2)), size: 50 }],
			scales: { x: { time: true } },
			legend: { show: true },
		}, [[], []], box);
		if (S.market) renderMarket(S.market);
		new ResizeObserver(() => {
			if (S.chart && box.clientWidth > 0) S.chart.setSize({ width: box.clientWidth, height: 220 });
		}).observe(box);
	}

	function renderMarket(m) {
		S.market = m;
		if (m.currency) {
			S.currency = m.currency;
			for (const c of document.querySelectorAll('.cur')) c.textContent = m.currency;
		}
		/* An interval without a trade has no clearing price: leave it out
		 * rather than draw a price of zero. */
		const prices = (m.prices || []).filter((p) => p.price_uper_kwh > 0 && p.volume_wh !== 0)
		    .sort((a, b) => a.interval - b.interval);
		S.chartData = [prices.map((p) => p.start !== undefined ? p.start : p.interval * intervalS()),
			prices.map((p) => p.price_uper_kwh / 1e6)];
		ensureChart();
		if (S.chart) {
			S.chart.setData(S.chartData);
			/* one point alone would spread the time axis over years */
			if (prices.length === 1) {
				const t = S.chartData[0][0];
				S.chart.setScale('x', { min: t - 8 * intervalS(), max: t + 2 * intervalS() });
			}
		}
		const last = prices[prices.length - 1];
		$('last-price').textContent = last
		    ? 'Last clearing price: ' + fmtPrice(last.price_uper_kwh) + ' for ' + fmtInterval(last.interval) +
		      ' (' + fmtWh(last.volume_wh || 0) + ' traded)'
		    : 'No clearing yet.';
		const rows = (m.depth || []).slice().sort((a, b) => a.interval - b.interval).map((d) => {
			const bids = d.bids || [], asks = d.asks || [];
			const sum = (xs) => xs.reduce((a, x) => a + (x.qty_wh || 0), 0);
			const bestBid = bids.length ? Math.max(...bids.map((x) => x.price_uper_kwh)) : null;
			const bestAsk = asks.length ? Math.min(...asks.map((x) => x.price_uper_kwh)) : null;
			return row([fmtTime(d.start !== undefined ? d.start : d.interval * intervalS()),
				d.gate_close !== undefined ? fmtTime(d.gate_close) : '–', fmtWh(sum(bids)),
				bestBid === null ? '–' : fmtPrice(bestBid), fmtWh(sum(asks)),
				bestAsk === null ? '–' : fmtPrice(bestAsk)]);
		});
		fillTable('depth', rows);
		if (m.feed_in_uper_kwh !== undefined && m.retail_uper_kwh !== undefined)
			$('buy-bounds').textContent = 'Allowed: ' + fmtPrice(m.feed_in_uper_kwh) + ' (feed-in) to ' +
			    fmtPrice(m.retail_uper_kwh) + ' (retail).';
	}

	function renderOrders(o) {
		const list = (o.orders || []).slice().sort((a, b) => b.seq - a.seq);
		fillTable('orders', list.map((x) => {
			let action = '';
			if (OPEN_STATUSES.includes(x.status)) {
				const b = el('button', 'Cancel');
				b.type = 'button';
				b.dataset.cancel = String(x.seq);
				b.dataset.test = 'cancel';
				b.setAttribute('aria-label', 'Cancel order ' + x.seq);
				action = b;
			}
			const st = el('span', x.status + (x.reason ? ': ' + x.reason : ''),
			    'badge ' + (x.status === 'rejected' ? 'bad' : x.status === 'filled' ? 'ok' : OPEN_STATUSES.includes(x.status) ? 'warn' : ''));
			const tr = row([String(x.seq), (x.auto ? 'auto ' : '') + x.side, fmtInterval(x.interval), fmtWh(x.qty_wh),
				fmtPrice(x.price_uper_kwh), st, badge(x.verified), action]);
			tr.dataset.seq = String(x.seq);
			tr.dataset.status = x.status;
			return tr;
		}));
	}

	function renderTrades(t) {
		const list = (t.trades || []).slice().sort((a, b) => b.interval - a.interval);
		fillTable('trades', list.map((x) => row([fmtInterval(x.interval), x.side, fmtWh(x.qty_wh),
			fmtPrice(x.price_uper_kwh), signed(x.side === 'buy' ? -x.amount_u : x.amount_u),
			x.fee_u === undefined || x.fee_u === null ? '–' : fmtMoney(x.fee_u), badge(x.verified)])));
	}

	function renderStatements(s) {
		const list = (s.statements || []).slice().sort((a, b) => b.interval - a.interval);
		fillTable('statements', list.map((x) => {
			const tr = row([fmtInterval(x.interval), fmtWh(x.traded_wh), fmtWh(x.delivered_wh),
				fmtWh(x.imbalance_wh), fmtMoney(x.fees_u), signed(x.net_u), signed(x.baseline_u),
				signed(x.saving_u), badge(x.verified)]);
			if (x.flagged) tr.title = 'Settled without a meter reading (conservative rule)';
			return tr;
		}));
		const t = s.totals || {};
		$('tot-earned').textContent = fmtMoney(t.earned_u || 0);
		$('tot-paid').textContent = fmtMoney(t.paid_u || 0);
		$('tot-saving').textContent = fmtMoney(t.saving_u || 0);
	}

	function renderSettings(s) {
		const form = $('settings-form');
		if (form.contains(document.activeElement)) return; /* do not overwrite what the user types */
		$('set-auto').checked = !!s.auto_sell;
		$('set-min').value = (s.min_price_uper_kwh / 1e6).toFixed(4);
		$('set-reserve').value = String(s.reserve_wh);
	}

	const RENDER = {
		state: renderState,
		market: renderMarket,
		orders: renderOrders,
		trades: renderTrades,
		statements: renderStatements,
		settings: renderSettings,
	};

	/* A fetch answered before an SSE event of the same document may arrive
	 * after it: keep the newer one (the event) by counting events. */
	const sseCount = {};
	async function refresh(name) {
		const before = sseCount[name] || 0;
		const r = await api('GET', 'api/' + name);
		if (r.ok && (sseCount[name] || 0) === before) RENDER[name](r.body);
		return r;
	}
	async function refreshAll() {
		await refresh('state');
		await Promise.all(DOCS.filter((d) => d !== 'state').map(refresh));
	}

	/* ---- live updates ---------------------------------------------------- */
	function connectEvents() {
		if (S.es) S.es.close();
		const es = new EventSource('api/events');
		S.es = es;
		es.onopen = () => {
			S.live = true;
			refreshAll(); /* catch up on whatever happened while away */
			renderStatus();
		};
		es.onerror = () => {
			S.live = false;
			renderStatus();
			if (es.readyState === EventSource.CLOSED && !S.retryTimer)
				S.retryTimer = setTimeout(() => {
					S.retryTimer = null;
					connectEvents();
				}, 3000);
		};
		for (const name of DOCS) {
			es.addEventListener(name, (ev) => {
				let doc;
				try {
					doc = JSON.parse(ev.data);
				} catch (e) {
					return;
				}
				sseCount[name] = (sseCount[name] || 0) + 1;
				RENDER[name](doc);
				/* A clearing changes the orders' statuses too. */
				if (name === 'trades') refresh('orders');
			});
		}
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
		const price = parsePrice(pt);
		if (price === null || price < 1)
			return invalid(priceIn, 'buy-message', 'Maximum price must be a number like 0.25 (' + S.currency + ' per kWh, at most 6 decimals).');
		const m = S.market;
		if (m && m.feed_in_uper_kwh !== undefined && m.retail_uper_kwh !== undefined &&
		    (price < m.feed_in_uper_kwh || price > m.retail_uper_kwh))
			return invalid(priceIn, 'buy-message', 'Maximum price must be between ' + fmtPrice(m.feed_in_uper_kwh) +
			    ' and ' + fmtPrice(m.retail_uper_kwh) + ' (the feed-in and retail tariffs).');
		if (price > 100e6) return invalid(priceIn, 'buy-message', 'Maximum price is too high.');
		const bid = { qty_wh: qty, max_price_uper_kwh: price };
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
			setMessage('buy-message', 'Bid #' + r.body.seq + ' placed: ' + fmtWh(bid.qty_wh) + ' at up to ' +
			    fmtPrice(bid.max_price_uper_kwh) + (bid.intervals > 1 ? ' for ' + bid.intervals + ' intervals' : '') +
			    '.' + (r.body.message ? ' ' + r.body.message : ''), true);
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
		const r = await api('DELETE', 'api/orders/' + encodeURIComponent(seq));
		if (r.ok) setMessage('orders-message', 'Order #' + seq + ' cancelled.', true);
		else {
			b.disabled = false;
			setMessage('orders-message', 'Order #' + seq + ' not cancelled: ' + (r.body.error || 'error ' + r.status), false);
		}
		refresh('orders');
	}

	async function onSettings(ev) {
		ev.preventDefault();
		const minIn = $('set-min'), resIn = $('set-reserve');
		minIn.removeAttribute('aria-invalid');
		resIn.removeAttribute('aria-invalid');
		const min = parsePrice(minIn.value);
		if (min === null) return invalid(minIn, 'set-message', 'Minimum price must be a number like 0.12 (' + S.currency + ' per kWh).');
		const res = parseWhole(resIn.value);
		if (res === null) return invalid(resIn, 'set-message', 'Reserve must be a whole number of Wh (0 or more).');
		const r = await api('PUT', 'api/settings', { min_price_uper_kwh: min, reserve_wh: res, auto_sell: $('set-auto').checked });
		if (r.ok) {
			setMessage('set-message', 'Settings saved.', true);
			document.activeElement.blur();
			renderSettings(r.body);
		} else {
			setMessage('set-message', 'Not saved: ' + (r.body.error || 'error ' + r.status), false);
		}
	}

	/* ---- login (only when the agent is reachable from the network) -------- */
	function showLogin() {
		$('app').hidden = true;
		$('login').hidden = false;
		const st = $('status');
		st.textContent = 'Log in to see your dashboard.';
		st.className = 'status status-wait';
		if (S.es) {
			S.es.close();
			S.es = null;
		}
	}

	async function onLogin(ev) {
		ev.preventDefault();
		const r = await api('POST', 'api/login', { token: $('login-token').value });
		if (r.ok) {
			$('login-token').value = '';
			start();
		} else {
			setMessage('login-message', r.body.error || 'Login failed.', false);
		}
	}

	async function start() {
		const r = await refresh('state');
		if (r.status === 401) return;
		if (!r.ok) {
			const st = $('status');
			st.textContent = 'Your agent does not answer (' + (r.body.error || r.status) + '). Retrying…';
			st.className = 'status status-bad';
			setTimeout(start, 3000);
			return;
		}
		$('login').hidden = true;
		$('app').hidden = false;
		ensureChart();
		await Promise.all(DOCS.filter((d) => d !== 'state').map(refresh));
		connectEvents();
	}

	document.addEventListener('DOMContentLoaded', () => {
		$('buy-form').addEventListener('submit', onBuy);
		$('buy-when').addEventListener('change', () => {
			$('buy-count-row').hidden = $('buy-when').value !== 'standing';
		});
		$('orders').addEventListener('click', onCancel);
		$('settings-form').addEventListener('submit', onSettings);
		$('login-form').addEventListener('submit', onLogin);
		start();
	});
})();
