/*
 * app.js: the peerwatt dashboard page (vanilla JS, no build step).
 *
 * Reads the JSON documents of the agent (api/state, market, orders, trades,
 * statements, settings, today, outlook), keeps them current through the Server-Sent Events
 * stream api/events (one event per document, same JSON), and sends bids,
 * cancels and settings with the CSRF token from api/state.  All text goes
 * into the DOM through textContent: nothing from the network becomes HTML.
 * Units on the wire are integers (W, Wh, micro-units per kWh, micro-units);
 * this file only converts them for display (prices in ct/kWh, money with two
 * decimals) and parses the forms (ct/kWh) into them.  Orders, trades and
 * statements come in pages of 20 rows; "more" fetches older pages with
 * ?before=CURSOR.
 */
'use strict';
(function () {
	const DOCS = ['state', 'market', 'orders', 'trades', 'statements', 'settings', 'today', 'outlook'];
	const SHOW_OPEN = 10; /* open orders shown before "Show all" */
	const SHOW_ROWS = 10; /* history rows shown at first; "more" adds as many */
	const OPEN_STATUSES = ['queued', 'pending', 'acked'];
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
		today: null,
		showAllOpen: false,
		/* older pages of the paged documents, loaded by "more" */
		older: { orders: [], trades: [], statements: [] },
		cursor: { orders: null, trades: null, statements: null },
		latest: { orders: null, trades: null, statements: null },
		shown: { orders: SHOW_ROWS, trades: SHOW_ROWS, statements: SHOW_ROWS },
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
	/* Prices as people read them: ct/kWh (1 EUR/kWh = 1 000 000 micro-units).
	 * Prices may be negative (a negative feed-in tariff; sellers paying):
	 * ctPerKwh gives "-3.5" (the form's text, which parsePrice reads back),
	 * fmtPrice "−3.5 ct/kWh" with the minus sign money uses. */
	function ctPerKwh(p) {
		const a = Math.abs(p);
		const t = (a / 1e4).toFixed(Math.round(a) % 1000 === 0 ? 1 : 2);
		return p < 0 && Number(t) !== 0 ? '-' + t : t;
	}
	function fmtPrice(p) {
		if (p === null || p === undefined) return '–';
		return ctPerKwh(p).replace(/^-/, '−') + ' ct/kWh';
	}
	/* Money always with two decimals. */
	function fmtMoney(u) {
		if (u === null || u === undefined) return '–';
		return (u / 1e6).toFixed(2) + ' ' + S.currency;
	}
	function fmtSignedMoney(u) {
		if (u === null || u === undefined) return '–';
		const t = fmtMoney(Math.abs(u));
		return u > 0 ? '+' + t : u < 0 ? '−' + t : t;
	}
	function fmtSignedWh(wh) {
		if (wh === null || wh === undefined) return '–';
		const t = fmtWh(Math.abs(wh));
		return wh > 0 ? '+' + t : wh < 0 ? '−' + t : t;
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
	/* Cents per kWh: "25", "25.5" or "25,5" -> 255000 micro-units, "-3.5" (or
	 * with the sign "−") -> -35000; null when malformed (at most 4 decimals:
	 * 1 micro-unit is 0.0001 ct). */
	function parsePrice(text) {
		const m = /^\s*([-−]?)(\d{1,5})(?:[.,](\d{1,4}))?\s*$/.exec(String(text));
		if (!m) return null;
		const frac = (m[3] || '').padEnd(4, '0');
		const v = Number(m[2]) * 1e4 + Number(frac);
		return m[1] && v !== 0 ? -v : v;
	}

	/* ---- DOM helpers ------------------------------------------------------- */
	function el(tag, text, cls) {
		const e = document.createElement(tag);
		if (text !== undefined && text !== null) e.textContent = text;
		if (cls) e.className = cls;
		return e;
	}
	/* A table row; each cell carries its column's name (data-label) for the
	 * stacked layout of narrow screens. */
	function row(cells, labels) {
		const tr = document.createElement('tr');
		for (const [i, c] of cells.entries()) {
			const td = document.createElement('td');
			if (labels && labels[i]) td.dataset.label = labels[i];
			if (c instanceof Node) td.appendChild(c);
			else td.textContent = c;
			tr.appendChild(td);
		}
		return tr;
	}
	function badge(verified) {
		/* the proof shows the entry is in the exchange's log, not that it is
		 * right: what is refused as wrong never gets a row (docs/agent.md) */
		if (verified === true) return el('span', '✓ in the log', 'badge ok');
		if (verified === false) return el('span', '✗ proof failed', 'badge bad');
		return el('span', '… pending', 'badge');
	}
	function signed(u) {
		return el('span', fmtSignedMoney(u), u > 0 ? 'pos' : u < 0 ? 'neg' : '');
	}
	function labelsOf(id) {
		return [...$(id).querySelectorAll('thead th')].map((th) => th.textContent);
	}
	function setMessage(id, text, ok) {
		const m = $(id);
		m.textContent = text;
		m.className = 'message ' + (ok ? 'ok' : 'error');
	}
	function fillTable(id, rows) {
		const tbody = $(id).querySelector('tbody');
		tbody.replaceChildren(...rows);
		$(id).hidden = rows.length === 0;
		const empty = $(id + '-empty');
		if (empty) empty.hidden = rows.length > 0;
	}
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
		if (s.household) {
			$('household').textContent = s.household;
			document.title = s.household + ' · peerwatt';
		}
		/* neighbours who cosigned the log (docs/dashboard.md) */
		const wit = $('witnesses');
		if (s.witnesses && s.witnesses.text) {
			wit.textContent = s.witnesses.text;
			wit.hidden = false;
		}
		renderCurtailment(s.curtailment);
		/* our own registry entry as the exchange's log holds it (docs/dashboard.md) */
		const reg = $('registry');
		if (s.registry && s.registry.text) {
			reg.textContent = s.registry.text;
			reg.className = 'registry' + (s.registry.proven && !s.registry.mismatch && !s.registry.revoked ? ' registry-ok' : '');
			reg.hidden = false;
		} else {
			reg.hidden = true;
		}
		/* auto-sell only where there is PV to sell */
		const hasPv = s.has_pv !== undefined ? !!s.has_pv : s.pv_w !== null && s.pv_w !== undefined;
		$('settings').hidden = !hasPv;
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

	/* Energy of today per interval (uPlot): solar, house, grid import and
	 * export as lines, energy traded as bars (+ bought, − sold). */
	const SERIES = [
		{ key: 'pv_wh', label: 'Solar', stroke: '#e6a700' },
		{ key: 'house_wh', label: 'House', stroke: '#3b6fd8' },
		{ key: 'import_wh', label: 'Grid import', stroke: '#6b7785' },
		{ key: 'export_wh', label: 'Grid export', stroke: '#1f8a4c', dash: [6, 4] },
		{ key: 'traded', label: 'Traded (+ bought, − sold)', stroke: '#8e44ad', fill: 'rgba(142,68,173,0.35)', bars: true },
	];
	function chartHeight(box) {
		return box.clientWidth < 500 ? 220 : 260;
	}
	function ensureChart() {
		const box = $('energy-chart');
		if (S.chart || typeof uPlot === 'undefined' || box.clientWidth === 0) return;
		const fmtV = (u, v) => (v === null || v === undefined ? '–' : fmtWh(v));
		box.dataset.yUnit = 'Wh per interval';
		const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined;
		S.chart = new uPlot({
			width: box.clientWidth,
			height: chartHeight(box),
			series: [{ value: (u, v) => (v === null ? '–' : fmtTime(v)) }].concat(SERIES.map((x) => ({
				label: x.label, stroke: x.stroke, width: 2, dash: x.dash, fill: x.fill, value: fmtV,
				paths: x.bars ? bars : undefined, points: { show: false }, spanGaps: false,
			}))),
			axes: [
				{ label: 'Time of day', labelSize: 20, space: intervalS() < 60 ? 100 : 70,
				  values: (u, vals) => vals.map((v) => fmtTime(v)) },
				{ label: 'Wh per interval', labelSize: 20, size: 56, space: 30,
				  values: (u, vals) => vals.map((v) => String(Math.round(v))) },
			],
			scales: { x: { time: true } },
			legend: { show: true, live: false },
			cursor: { points: { show: false } },
		}, [[]].concat(SERIES.map(() => [])), box);
		if (S.today) renderToday(S.today);
		new ResizeObserver(() => {
			if (S.chart && box.clientWidth > 0) S.chart.setSize({ width: box.clientWidth, height: chartHeight(box) });
		}).observe(box);
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

	/* The price outlook (api/outlook): retail (ceiling) and feed-in (floor)
	 * of the coming intervals as steps, each holding until the next
	 * interval; recent clearing prices as dots; a zero line, so negative
	 * prices show below it; the cheapest and dearest interval marked on the
	 * chart and named in words below it. */
	const OUTLOOK = [
		{ label: 'Retail (ceiling)', stroke: '#c0392b', step: true },
		{ label: 'Feed-in (floor)', stroke: '#1f8a4c', step: true },
		{ label: 'Clearing price', stroke: '#2364c4', dots: true },
		{ label: 'Cheapest', stroke: '#1f8a4c', mark: '▼' },
		{ label: 'Dearest', stroke: '#c0392b', mark: '▲' },
		{ label: 'Zero', stroke: '#8a949e', dash: [4, 4], zero: true },
	];
	function outlookHeight(box) {
		return box.clientWidth < 500 ? 200 : 240;
	}
	function ensureOutlookChart() {
		const box = $('outlook-chart');
		if (S.ochart || typeof uPlot === 'undefined' || box.clientWidth === 0 || box.hidden) return;
		box.dataset.yUnit = 'ct/kWh';
		const stepped = uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined;
		const fmtV = (u, v) => (v === null || v === undefined ? '–' : fmtPrice(Math.round(v * 1e4)));
		S.ochart = new uPlot({
			width: box.clientWidth,
			height: outlookHeight(box),
			series: [{ value: (u, v) => (v === null ? '–' : fmtTime(v)) }].concat(OUTLOOK.map((x) => ({
				label: x.label, stroke: x.stroke, width: x.zero ? 1 : 2, dash: x.dash, value: fmtV,
				paths: x.step ? stepped : x.dots || x.mark ? () => null : undefined,
				points: x.dots ? { show: true, size: 6, fill: x.stroke }
				    : x.mark ? { show: true, size: 13, width: 3, fill: '#fff' } : { show: false },
				spanGaps: !!x.zero,
			}))),
			axes: [
				{ space: intervalS() < 60 ? 100 : 70, values: (u, vals) => vals.map((v) => fmtTime(v)) },
				{ label: 'ct/kWh', labelSize: 20, size: 48, space: 28, values: (u, vals) => vals.map((v) => v.toFixed(0)) },
			],
			scales: { x: { time: true } },
			legend: { show: true, live: false },
			cursor: { points: { show: false } },
		}, [[]].concat(OUTLOOK.map(() => [])), box);
		if (S.outlook) renderOutlook(S.outlook);
		new ResizeObserver(() => {
			if (S.ochart && box.clientWidth > 0) S.ochart.setSize({ width: box.clientWidth, height: outlookHeight(box) });
		}).observe(box);
	}
	function markText(word, x, o) {
		const L = o.interval_s || intervalS();
		const start = x.start !== undefined ? x.start : x.interval * L;
		const iv = (o.intervals || []).find((r) => r.interval === x.interval);
		return word + ': ' + fmtTime(start) + '–' + fmtTime(start + L) + ', retail ' + fmtPrice(x.retail_uper_kwh) +
		    (iv ? ', feed-in ' + fmtPrice(iv.feedin_uper_kwh) : '');
	}
	function renderOutlook(o) {
		S.outlook = o;
		const L = o.interval_s || intervalS();
		const ivs = (o.intervals || []).slice().sort((a, b) => a.interval - b.interval);
		const recent = (o.recent || []).filter((p) => p.volume_wh > 0);
		const st = $('outlook-state');
		const n = ivs.length;
		if (o.state === 'none') st.textContent = o.message || 'No price outlook yet.';
		else if (o.state === 'stale') st.textContent = o.message || 'Outdated price outlook.';
		else st.textContent = 'Tariffs of the next ' + n + ' interval' + (n === 1 ? '' : 's') +
		    ' as the exchange signed them' + (o.received ? ' (received ' + fmtTime(o.received) + ')' : '') + '.' +
		    (o.message ? ' ' + o.message : '');
		st.className = 'outlook-state ' + (o.state || 'none');
		st.dataset.state = o.state || 'none';
		/* one row per time: the steps hold to the end of the last interval */
		const rows = new Map();
		const at = (t) => {
			if (!rows.has(t)) rows.set(t, [null, null, null, null, null]);
			return rows.get(t);
		};
		for (const r of ivs) {
			const t = r.start !== undefined ? r.start : r.interval * L;
			const v = at(t);
			v[0] = r.retail_uper_kwh / 1e4;
			v[1] = r.feedin_uper_kwh / 1e4;
			if (o.cheapest && o.cheapest.interval === r.interval) v[3] = v[0];
			if (o.dearest && o.dearest.interval === r.interval) v[4] = v[0];
		}
		if (n > 0) {
			const last = ivs[n - 1];
			const v = at((last.start !== undefined ? last.start : last.interval * L) + L);
			v[0] = last.retail_uper_kwh / 1e4;
			v[1] = last.feedin_uper_kwh / 1e4;
		}
		for (const p of recent) at(p.start !== undefined ? p.start : p.interval * L)[2] = p.price_uper_kwh / 1e4;
		const xs = Array.from(rows.keys()).sort((a, b) => a - b);
		S.outlookData = [xs].concat([0, 1, 2, 3, 4].map((k) => xs.map((x) => rows.get(x)[k])), [xs.map(() => 0)]);
		const box = $('outlook-chart');
		box.hidden = xs.length === 0;
		box.classList.toggle('stale', o.state === 'stale');
		const marks = $('outlook-marks');
		marks.replaceChildren();
		if (o.cheapest) {
			const li = el('li', markText('Cheapest', o.cheapest, o), 'cheap');
			li.dataset.test = 'outlook-cheapest';
			marks.appendChild(li);
		}
		if (o.dearest) {
			const li = el('li', markText('Dearest', o.dearest, o), 'dear');
			li.dataset.test = 'outlook-dearest';
			marks.appendChild(li);
		}
		ensureOutlookChart();
		if (S.ochart) {
			S.ochart.setData(S.outlookData);
			/* where zero and the lowest floor are drawn (CSS px from the
			 * top): the browser test checks a negative feed-in lies below
			 * the zero line */
			const floors = S.outlookData[2].filter((v) => v !== null);
			if (floors.length) {
				box.dataset.zeroY = String(Math.round(S.ochart.valToPos(0, 'y')));
				box.dataset.minFloorY = String(Math.round(S.ochart.valToPos(Math.min(...floors), 'y')));
				box.dataset.minFloor = String(Math.min(...floors));
			}
		}
	}

	function renderToday(t) {
		S.today = t;
		$('today-sold').textContent = fmtWh(t.sold_wh || 0);
		$('today-bought').textContent = fmtWh(t.bought_wh || 0);
		$('today-earned').textContent = 'earned ' + fmtMoney(t.earned_u || 0);
		$('today-paid').textContent = 'paid ' + fmtMoney(t.paid_u || 0);
		const net = $('today-net');
		net.textContent = fmtSignedMoney(t.net_u || 0);
		net.className = 'value ' + (t.net_u > 0 ? 'pos' : t.net_u < 0 ? 'neg' : '');
		$('today-saving').textContent = fmtSignedMoney(t.saving_u || 0);
		if (t.start !== undefined)
			$('today-date').textContent = new Date(t.start * 1000).toLocaleDateString([], { weekday: 'long', day: 'numeric', month: 'long' });
		const waiting = (t.unsettled_sold_wh || 0) + (t.unsettled_bought_wh || 0);
		$('today-note').textContent = 'From ' + (t.settled || 0) + ' settled interval' + (t.settled === 1 ? '' : 's') +
		    ' (signed statements)' + (waiting ? '; ' + fmtWh(waiting) + ' traded is waiting for its statement.' : '.') +
		    ' Earned and paid add up each interval\'s net money: neighbours, grid and fees together.';
		const a = t.all_time;
		$('alltime').textContent = a ? 'All time: sold ' + fmtWh(a.sold_wh) + ', bought ' + fmtWh(a.bought_wh) +
		    ', earned ' + fmtMoney(a.earned_u) + ', paid ' + fmtMoney(a.paid_u) + ', net ' + fmtSignedMoney(a.net_u) +
		    ', saved ' + fmtSignedMoney(a.saving_u) + '.' : '';
		const rows = t.intervals || [];
		$('energy-empty').hidden = rows.length > 0;
		$('energy-chart').hidden = rows.length === 0; /* no empty axes */
		S.chartData = [rows.map((r) => r.start !== undefined ? r.start : r.interval * intervalS())].concat(SERIES.map((x) =>
			rows.map((r) => x.key === 'traded' ? (r.bought_wh || 0) - (r.sold_wh || 0) : (r[x.key] === undefined ? null : r[x.key]))));
		ensureChart();
		if (S.chart) {
			S.chart.setData(S.chartData);
			if (rows.length === 1) {
				const x = S.chartData[0][0];
				S.chart.setScale('x', { min: x - 4 * intervalS(), max: x + intervalS() });
			}
		}
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
		const labels = labelsOf('statements');
		showRows('statements', 'statements', list.map((x) => {
			/* positive = energy or money to you: bought and imported are + */
			const tr = row([fmtInterval(x.interval), fmtSignedWh(x.traded_wh), fmtSignedWh(-x.delivered_wh),
				fmtWh(x.imbalance_wh), fmtMoney(x.fees_u), signed(x.net_u), signed(x.baseline_u),
				signed(x.saving_u), badge(x.verified)], labels);
			if (x.flagged) tr.title = 'Settled without a meter reading (conservative rule)';
			return tr;
		}));
		const t = s.totals || {};
		$('tot-earned').textContent = fmtMoney(t.earned_u || 0);
		$('tot-paid').textContent = fmtMoney(t.paid_u || 0);
		$('tot-saving').textContent = fmtSignedMoney(t.saving_u || 0);
		renderCurtailed(s.curtailed);
	}

	/* export curtailment (docs/agent-energy.md "Curtailment"): when and why export
	 * was limited, and what it saved (an estimate) */
	function renderCurtailment(c) {
		const el = $('curtailment');
		const e = c && c.events && c.events[0];
		if (!e) { el.hidden = true; return; }
		el.textContent = (c.limiting ? e.text + ' (now: at most ' + fmtW(c.limit_w) + ')' : e.text) +
		    (e.ok ? '' : ' (the inverter did not confirm the limit)');
		el.hidden = false;
	}

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

	const RENDER = {
		state: renderState,
		market: renderMarket,
		orders: renderOrders,
		trades: renderTrades,
		statements: renderStatements,
		settings: renderSettings,
		today: renderToday,
		outlook: renderOutlook,
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
				if (name === 'trades' || name === 'statements') refresh('today');
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
		ensurePriceChart();
		ensureOutlookChart();
		await Promise.all(DOCS.filter((d) => d !== 'state').map(refresh));
		connectEvents();
	}

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
		$('login-form').addEventListener('submit', onLogin);
		start();
	});
})();
