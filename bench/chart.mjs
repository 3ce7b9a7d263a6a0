// A dependency-free SVG chart of the side-by-side results: one horizontal bar panel per metric.
const WIDTH = 760;
const LABEL_WIDTH = 230;
const BAR_HEIGHT = 18;
const GAP = 6;
const PANEL_GAP = 34;
const COLORS = ["#f38020", "#fbad41", "#d62728", "#ff9896", "#1f77b4", "#2ca02c"];

const escapeXml = (text) => String(text).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
const format = (n) => (n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(2));

/**
 * @param {{ title: string, panels: { title: string, unit: string, bars: { label: string, value: number | null }[] }[] }} chart
 */
export function renderChart({ title, panels }) {
  let y = 40;
  let body = `<text x="16" y="24" font-size="16" font-weight="bold">${escapeXml(title)}</text>`;
  for (const panel of panels) {
    body += `<text x="16" y="${y + 14}" font-size="13" font-weight="bold">${escapeXml(panel.title)} (${escapeXml(panel.unit)})</text>`;
    y += 24;
    const max = Math.max(1e-9, ...panel.bars.map((b) => b.value ?? 0));
    panel.bars.forEach((bar, i) => {
      const width = bar.value === null ? 0 : ((WIDTH - LABEL_WIDTH - 120) * bar.value) / max;
      body += `<text x="16" y="${y + 13}" font-size="12">${escapeXml(bar.label)}</text>`;
      body += `<rect x="${LABEL_WIDTH}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${COLORS[i % COLORS.length]}"/>`;
      body += `<text x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${y + 13}" font-size="12">${bar.value === null ? "skipped" : format(bar.value)}</text>`;
      y += BAR_HEIGHT + GAP;
    });
    y += PANEL_GAP - GAP;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${body}
</svg>
`;
}
