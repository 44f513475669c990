// Small uPlot time-series charts for the routes view. Each cluster gets a
// colour and a dash pattern, and uPlot's legend names it with its value, so
// the lines can be told apart without relying on colour.
/* global uPlot */

export const PALETTE = ['#4c9aff', '#36b37e', '#ffab00', '#c377e0', '#ff5630', '#00b8d9', '#8993a4'];
const DASHES = [[], [8, 4], [2, 3], [12, 3, 3, 3], [4, 4], [1, 2], [16, 4]];

/** Indices of values whose neighbours are both missing. */
function isolated(values) {
  const out = [];
  for (let i = 0; i < values.length; i++) if (values[i] != null && values[i - 1] == null && values[i + 1] == null) out.push(i);
  return out;
}

/** 24-hour wall-clock time of a uPlot x value (seconds). */
function clock(t) {
  return new Date(t * 1000).toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function clusterStyle(i) {
  return { stroke: PALETTE[i % PALETTE.length], dash: DASHES[i % DASHES.length] };
}

const AXIS = { stroke: '#9aa5b5', grid: { stroke: 'rgba(255,255,255,0.07)', width: 1 }, ticks: { stroke: 'rgba(255,255,255,0.12)', width: 1 }, font: '11px system-ui, sans-serif' };

/**
 * A line chart of one value per cluster over time.
 * `max`: the y axis is 0..max (share charts), or 0..max(floor, data) when `floor` is given.
 */
export function lineChart(container, { clusters, unit, max, floor, label }) {
  const width = Math.max(240, container.clientWidth || 320);
  const opts = {
    width,
    height: 150,
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    legend: { live: true },
    scales: {
      x: { time: true },
      y: { range: (_u, _min, dataMax) => [0, max ?? Math.max(floor ?? 1, Math.ceil((dataMax ?? 0) * 1.15))] },
    },
    axes: [
      { ...AXIS, space: 70, values: (_u, ticks) => ticks.map((t) => clock(t)) },
      { ...AXIS, size: 46, values: (_u, ticks) => ticks.map((v) => `${+v.toFixed(1)}${unit}`), label, labelFont: AXIS.font, labelSize: 14 },
    ],
    series: [
      { value: (_u, v) => (v == null ? '—' : clock(v)) },
      ...clusters.map((c, i) => ({
        label: c,
        ...clusterStyle(i),
        width: 2,
        spanGaps: false,
        // Lines join neighbouring samples; a sample with no neighbour (a burst of traffic) would draw nothing, so it gets a dot.
        points: { show: true, size: 6, filter: (u, si) => isolated(u.data[si]) },
        value: (_u, v) => (v == null ? '—' : `${v.toFixed(1)}${unit}`),
      })),
    ],
  };
  const chart = new uPlot(opts, [[], ...clusters.map(() => [])], container);
  // Follow the card's width (1280 px desktop down to a phone).
  const ro = new ResizeObserver(() => {
    const w = Math.max(240, container.clientWidth);
    if (Math.abs(w - chart.width) > 2) chart.setSize({ width: w, height: 150 });
  });
  ro.observe(container);
  return {
    setData: (data) => chart.setData(data),
    destroy: () => {
      ro.disconnect();
      chart.destroy();
    },
  };
}
