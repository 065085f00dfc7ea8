/*
 * power.js: the power view (solar, house, grid and surplus now, from
 * api/state) and the Today card (api/today: the day's sums and its energy
 * per interval on a uPlot chart).  Part of the dashboard page: core.js
 * first (docs/dashboard.md).
 */
'use strict';
(function (PW) {
	const { S, $, RENDER, stateViews, onStart, fmtW, fmtWh, fmtMoney, fmtSignedMoney, fmtTime, intervalS, hasBattery } = PW;

	function renderPower(s) {
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
	}

	/* Energy of today per interval (uPlot): solar, house, grid import and
	 * export as lines, energy traded as bars (+ bought, − sold); with a
	 * battery, what of the sold energy came from it as narrower bars inside
	 * the sold ones. */
	const SERIES = [
		{ key: 'pv_wh', label: 'Solar', stroke: '#e6a700' },
		{ key: 'house_wh', label: 'House', stroke: '#3b6fd8' },
		{ key: 'import_wh', label: 'Grid import', stroke: '#6b7785' },
		{ key: 'export_wh', label: 'Grid export', stroke: '#1f8a4c', dash: [6, 4] },
		{ key: 'traded', label: 'Traded (+ bought, − sold)', stroke: '#8e44ad', fill: 'rgba(142,68,173,0.35)', bars: true },
	];
	const BATTERY_SERIES = { key: 'battery_sold', label: 'Sold from the battery (−)', stroke: '#1b5e20',
		fill: 'rgba(31,138,76,0.75)', bars: true, narrow: true };
	/* the chart's series: the battery's only with a battery (the chart is
	 * made again when that changes, battery.js) */
	function series() {
		return hasBattery() ? SERIES.concat([BATTERY_SERIES]) : SERIES;
	}
	function chartHeight(box) {
		return box.clientWidth < 500 ? 220 : 260;
	}
	function ensureChart() {
		const box = $('energy-chart');
		if (S.chart || typeof uPlot === 'undefined' || box.clientWidth === 0) return;
		const fmtV = (u, v) => (v === null || v === undefined ? '–' : fmtWh(v));
		box.dataset.yUnit = 'Wh per interval';
		const bars = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined;
		const narrow = uPlot.paths && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.3, 20] }) : undefined;
		const list = series();
		S.chartBattery = list.length > SERIES.length;
		S.chart = new uPlot({
			width: box.clientWidth,
			height: chartHeight(box),
			series: [{ value: (u, v) => (v === null ? '–' : fmtTime(v)) }].concat(list.map((x) => ({
				label: x.label, stroke: x.stroke, width: 2, dash: x.dash, fill: x.fill, value: fmtV,
				paths: x.narrow ? narrow : x.bars ? bars : undefined, points: { show: false }, spanGaps: false,
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
		}, [[]].concat(list.map(() => [])), box);
		if (S.today) renderToday(S.today);
		if (S.chartObserved) return; /* once, also when the chart is made again */
		S.chartObserved = true;
		new ResizeObserver(() => {
			if (S.chart && box.clientWidth > 0) S.chart.setSize({ width: box.clientWidth, height: chartHeight(box) });
		}).observe(box);
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
		/* of what was sold, from the battery: only with a battery */
		const bat = hasBattery();
		$('today-battery').hidden = !bat;
		$('today-battery').textContent = bat ? fmtWh(t.battery_sold_wh || 0) + ' of it from the battery' : '';
		const a = t.all_time;
		$('alltime').textContent = a ? 'All time: sold ' + fmtWh(a.sold_wh) +
		    (bat ? ' (' + fmtWh(a.battery_sold_wh || 0) + ' from the battery)' : '') + ', bought ' + fmtWh(a.bought_wh) +
		    ', earned ' + fmtMoney(a.earned_u) + ', paid ' + fmtMoney(a.paid_u) + ', net ' + fmtSignedMoney(a.net_u) +
		    ', saved ' + fmtSignedMoney(a.saving_u) + '.' : '';
		const rows = t.intervals || [];
		$('energy-empty').hidden = rows.length > 0;
		$('energy-chart').hidden = rows.length === 0; /* no empty axes */
		if (S.chart && S.chartBattery !== hasBattery()) { /* a battery came or went */
			S.chart.destroy();
			S.chart = null;
		}
		S.chartData = [rows.map((r) => r.start !== undefined ? r.start : r.interval * intervalS())].concat(series().map((x) =>
			rows.map((r) => x.key === 'traded' ? (r.bought_wh || 0) - (r.sold_wh || 0)
			    : x.key === 'battery_sold' ? -(r.battery_sold_wh || 0)
			    : (r[x.key] === undefined ? null : r[x.key]))));
		ensureChart();
		if (S.chart) {
			S.chart.setData(S.chartData);
			if (rows.length === 1) {
				const x = S.chartData[0][0];
				S.chart.setScale('x', { min: x - 4 * intervalS(), max: x + intervalS() });
			}
		}
	}

	stateViews.push(renderPower);
	RENDER.today = renderToday;
	onStart.push(ensureChart);
})(window.PW);
